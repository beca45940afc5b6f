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

/// An index folder written with an older schema (here: one without the sort fields) fails to
/// open with today's, is recreated empty, and reads as stale, so start-up rebuilds it.
#[test]
fn an_index_of_an_older_schema_is_recreated_and_rebuilt() {
    use tantivy::schema::{FAST, INDEXED, STORED, Schema};
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let mut b = Schema::builder();
        let id = b.add_u64_field("id", INDEXED | FAST | STORED);
        let old = tantivy::Index::create_in_dir(dir.path(), b.build()).expect("old index");
        let mut w: tantivy::IndexWriter =
            old.writer_with_num_threads(1, 15_000_000).expect("writer");
        w.add_document(tantivy::doc!(id => 1u64)).expect("add");
        let mut prepared = w.prepare_commit().expect("prepare");
        prepared.set_payload(r#"{"schema_version":1,"max_updated_at":null}"#);
        prepared.commit().expect("commit");
    }
    let index = SearchIndex::open(Some(dir.path())).expect("reopened");
    assert_eq!(index.num_docs(), 0);
    let empty = crate::db::products::Fingerprint {
        count: 0,
        max_updated_at: None,
    };
    assert!(
        !index.is_fresh(&empty),
        "no payload of this schema version: rebuilt at start"
    );
    index
        .apply_blocking(&[product("Walnut teapot", Utc::now())], &[])
        .expect("the new schema takes documents");
    assert_eq!(titles(&index, "teapot"), vec!["Walnut teapot".to_owned()]);
}
