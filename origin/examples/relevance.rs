//! Relevance of text search, measured: nDCG@10 of the judged queries of
//! `origin/tests/relevance/judged.json` over the demo catalog (300 products), with the
//! synonym set of `synonyms.json` installed.
//!
//! `cargo run -p vitrine-origin --example relevance`
//!
//! Indexes the demo products in memory (the same index and query building the origin
//! serves with), runs every query for its first ten results, and prints the mean nDCG@10
//! (all, tuning part, held-back part), the mean per kind of query, and each query under 0.8
//! with what it found. `tests/api/relevance.rs` keeps a floor under the same figure through
//! the HTTP API.
#![allow(clippy::unwrap_used)]

#[path = "../tests/relevance/judge.rs"]
mod judge;

use chrono::{Duration, Utc};
use vitrine_common::api::{Product, SearchFilters};
use vitrine_origin::{
    catalog::demo,
    search::{
        SearchIndex, SearchQuery, analyser,
        synonyms::{Synonyms, SynonymsBody},
    },
};

fn main() -> anyhow::Result<()> {
    let index = SearchIndex::open(None)?;
    let t0 = Utc::now();
    let mut products = Vec::new();
    let mut items = Vec::new();
    for i in 0..demo::DEFAULT_PRODUCTS {
        let p = demo::product(i)?;
        items.push(judge::Item::of(&p));
        let at = t0 + Duration::seconds(i as i64);
        products.push(Product {
            id: i as i64 + 1,
            sku: p.sku.as_str().to_owned(),
            title: p.title.as_str().to_owned(),
            description: p.description.as_str().to_owned(),
            brand: p.brand.as_str().to_owned(),
            category: p.category.as_str().to_owned(),
            price: p.price.minor_units(),
            currency: p.currency.as_str().to_owned(),
            attributes: serde_json::Value::Object(p.attributes.as_map().clone()),
            image_id: None,
            created_at: at,
            updated_at: at,
            images: None,
        });
    }
    index.apply_blocking(&products, &[])?;
    let body: SynonymsBody = serde_json::from_str(judge::SYNONYMS)?;
    index.set_synonyms(Synonyms::compile(&body.synonyms, &analyser())?);

    let mut scored = Vec::new();
    for judged in judge::queries() {
        let outcome = index.search_blocking(&SearchQuery {
            text: judged.q.clone(),
            filters: SearchFilters::default(),
            sort: Default::default(),
            limit: 10,
            offset: 0,
        })?;
        let results: Vec<String> = outcome.hits.into_iter().map(|h| h.product.sku).collect();
        let ndcg = judge::ndcg_at_10(&judged, &results, &items);
        scored.push(judge::Scored {
            judged,
            ndcg,
            results,
        });
    }
    print!("{}", judge::report(&scored));
    Ok(())
}
