//! The text index applied out of order, as two overlapping catch-ups apply it.

use chrono::{DateTime, Duration, Utc};
use vitrine_common::api::{Product, SearchFilters};

use super::{SearchIndex, SearchQuery};

fn product(title: &str, updated_at: DateTime<Utc>) -> Product {
    Product {
        id: 7,
        sku: "SKU-7".into(),
        title: title.into(),
        description: String::new(),
        brand: "Acme".into(),
        category: "Kitchen".into(),
        price: 1200,
        currency: "USD".into(),
        attributes: serde_json::json!({}),
        image_id: None,
        created_at: updated_at,
        updated_at,
        images: None,
    }
}

fn titles(index: &SearchIndex, text: &str) -> Vec<String> {
    let q = SearchQuery {
        text: text.into(),
        filters: SearchFilters::default(),
        sort: Default::default(),
        limit: 10,
        offset: 0,
    };
    let outcome = index.search_blocking(&q).expect("search");
    outcome.hits.into_iter().map(|h| h.product.title).collect()
}

#[test]
fn an_older_row_applied_after_a_newer_one_is_ignored() {
    let index = SearchIndex::open(None).expect("in-memory index");
    let t0 = Utc::now();
    let newer = product("Walnut teapot", t0 + Duration::seconds(1));
    let older = product("Copper kettle", t0);
    index.apply_blocking(&[newer], &[]).expect("apply newer");
    index.apply_blocking(&[older], &[]).expect("apply older");
    assert_eq!(titles(&index, "teapot"), vec!["Walnut teapot".to_owned()]);
    assert!(titles(&index, "kettle").is_empty());
    assert_eq!(index.num_docs(), 1);
}

#[test]
fn a_newer_row_replaces_the_indexed_one_and_the_same_row_again_is_harmless() {
    let index = SearchIndex::open(None).expect("in-memory index");
    let t0 = Utc::now();
    index
        .apply_blocking(&[product("Copper kettle", t0)], &[])
        .expect("apply first");
    let newer = product("Walnut teapot", t0 + Duration::seconds(1));
    index
        .apply_blocking(std::slice::from_ref(&newer), &[])
        .expect("apply newer");
    index.apply_blocking(&[newer], &[]).expect("apply again");
    assert_eq!(titles(&index, "teapot"), vec!["Walnut teapot".to_owned()]);
    assert!(titles(&index, "kettle").is_empty());
    assert_eq!(index.num_docs(), 1);
}
