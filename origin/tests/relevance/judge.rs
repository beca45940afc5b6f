//! The judged relevance set over the demo catalog and its nDCG@10, shared by the relevance
//! example (`cargo run -p vitrine-origin --example relevance`) and the integration test
//! that keeps a floor under it (`tests/api/relevance.rs`).
//!
//! `judged.json` holds the queries and, for each, criteria saying which demo products are
//! relevant and how much (a grade); `synonyms.json` the synonym set the synonym queries
//! assume. nDCG@10 per query: DCG of the first ten results (gain 2^grade − 1, discount
//! log2(rank + 1)) over the DCG of the best possible ten. A query with no criteria must find
//! nothing: 1 when it does, else 0.

#![allow(dead_code)]

use serde::Deserialize;
use vitrine_common::api::NewProduct;

pub const JUDGED: &str = include_str!("judged.json");
pub const SYNONYMS: &str = include_str!("synonyms.json");

#[derive(Debug, Clone, Deserialize)]
pub struct Criterion {
    pub sku: Option<String>,
    pub brand: Option<String>,
    pub category: Option<String>,
    pub colour: Option<String>,
    pub adjective: Option<String>,
    #[serde(default = "one")]
    pub grade: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Deserialize)]
pub struct Judged {
    pub q: String,
    pub kind: String,
    pub relevant: Vec<Criterion>,
    #[serde(default)]
    pub held_back: bool,
}

#[derive(Debug, Deserialize)]
struct File {
    queries: Vec<Judged>,
}

pub fn queries() -> Vec<Judged> {
    serde_json::from_str::<File>(JUDGED)
        .expect("judged.json is valid")
        .queries
}

/// What the criteria look at in a demo product.
#[derive(Debug, Clone)]
pub struct Item {
    pub sku: String,
    pub brand: String,
    pub category: String,
    pub colour: String,
    pub adjective: String,
}

impl Item {
    pub fn of(p: &NewProduct) -> Item {
        let attr = |k: &str| {
            p.attributes
                .as_map()
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        Item {
            sku: p.sku.as_str().to_owned(),
            brand: p.brand.as_str().to_owned(),
            category: p.category.as_str().to_owned(),
            colour: attr("colour"),
            adjective: attr("variant"),
        }
    }
}

impl Criterion {
    fn admits(&self, item: &Item) -> bool {
        let is = |want: &Option<String>, got: &str| want.as_deref().is_none_or(|w| w == got);
        is(&self.sku, &item.sku)
            && is(&self.brand, &item.brand)
            && is(&self.category, &item.category)
            && is(&self.colour, &item.colour)
            && is(&self.adjective, &item.adjective)
    }
}

impl Judged {
    /// The grade of `item` for this query (0: not relevant).
    pub fn grade(&self, item: &Item) -> u32 {
        self.relevant
            .iter()
            .filter(|c| c.admits(item))
            .map(|c| c.grade)
            .max()
            .unwrap_or(0)
    }
}

fn dcg(grades: impl Iterator<Item = u32>) -> f64 {
    grades
        .take(10)
        .enumerate()
        .map(|(i, g)| (2f64.powi(g as i32) - 1.0) / ((i + 2) as f64).log2())
        .fold(0.0, |sum, gain| sum + gain)
}

/// nDCG@10 of `results` (skus, best first) for `judged` over `catalog`.
pub fn ndcg_at_10(judged: &Judged, results: &[String], catalog: &[Item]) -> f64 {
    if judged.relevant.is_empty() {
        return if results.is_empty() { 1.0 } else { 0.0 };
    }
    let grade_of = |sku: &String| {
        catalog
            .iter()
            .find(|i| &i.sku == sku)
            .map_or(0, |i| judged.grade(i))
    };
    let mut ideal: Vec<u32> = catalog.iter().map(|i| judged.grade(i)).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let best = dcg(ideal.into_iter());
    if best == 0.0 {
        return 0.0;
    }
    dcg(results.iter().map(grade_of)) / best
}

/// One query's outcome.
pub struct Scored {
    pub judged: Judged,
    pub ndcg: f64,
    pub results: Vec<String>,
}

/// Mean nDCG of `scored`, or of the part `pick` keeps.
pub fn mean(scored: &[Scored], pick: impl Fn(&Scored) -> bool) -> f64 {
    let kept: Vec<f64> = scored.iter().filter(|s| pick(s)).map(|s| s.ndcg).collect();
    if kept.is_empty() {
        return 0.0;
    }
    kept.iter().sum::<f64>() / kept.len() as f64
}

/// The report: overall, tuning and held-back means, per kind, and each query under 0.8.
pub fn report(scored: &[Scored]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "nDCG@10 over {} queries: {:.3} (tuning part {:.3}, held-back part {:.3})",
        scored.len(),
        mean(scored, |_| true),
        mean(scored, |s| !s.judged.held_back),
        mean(scored, |s| s.judged.held_back)
    );
    let mut kinds: Vec<&str> = scored.iter().map(|s| s.judged.kind.as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    for kind in kinds {
        let n = scored.iter().filter(|s| s.judged.kind == kind).count();
        let _ = writeln!(
            out,
            "  {kind:<12} {:.3} ({n} queries)",
            mean(scored, |s| s.judged.kind == kind)
        );
    }
    let _ = writeln!(out, "failures (nDCG@10 < 0.8):");
    for s in scored.iter().filter(|s| s.ndcg < 0.8) {
        let top: Vec<&str> = s.results.iter().take(5).map(String::as_str).collect();
        let _ = writeln!(
            out,
            "  {:.3} [{}] {:?} -> {}",
            s.ndcg,
            s.judged.kind,
            s.judged.q,
            if top.is_empty() {
                "(nothing)".to_owned()
            } else {
                top.join(", ")
            }
        );
    }
    out
}
