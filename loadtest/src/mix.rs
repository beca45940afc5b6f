//! The shopper mix: what a virtual user does next, and how each action becomes a request.
//!
//! The catalog is read from the target before the run (product ids, image ids, the words
//! of titles, categories and brands), so the same harness works against the demo catalog
//! or a real one, directly on the origin or through the edge.

use std::{collections::BTreeMap, str::FromStr};

use rand::{Rng, rngs::StdRng};
use vitrine_common::signature::SigningKeys;

use crate::zipf::Zipf;

/// One kind of request in the mix; its name is the report's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// `GET /api/products/{id}`.
    Product,
    /// `GET /api/products?limit=20`, or a category page
    /// (`GET /api/search/text?q=&category=…&limit=20`).
    List,
    /// `GET /api/search/text?q=…&limit=20`, query drawn from a Zipf law.
    Search,
    /// `GET /img/…` at a random width, format and fit.
    Thumbnail,
    /// `GET /api/products/{id}/similar?limit=12`.
    Similar,
    /// `POST /api/search/image` with a catalog photo.
    ImageSearch,
    /// `POST /api/images/batch` with two image ids (needs an API key).
    Batch,
}

impl Action {
    pub const ALL: [Action; 7] = [
        Action::Product,
        Action::List,
        Action::Search,
        Action::Thumbnail,
        Action::Similar,
        Action::ImageSearch,
        Action::Batch,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Action::Product => "product",
            Action::List => "list",
            Action::Search => "search",
            Action::Thumbnail => "thumbnail",
            Action::Similar => "similar",
            Action::ImageSearch => "image_search",
            Action::Batch => "batch",
        }
    }
}

/// Relative weights of the actions, e.g. `product=25,search=35,thumbnail=20`.
#[derive(Debug, Clone)]
pub struct Mix(pub Vec<(Action, u32)>);

impl Default for Mix {
    fn default() -> Self {
        Mix(vec![
            (Action::Product, 25),
            (Action::List, 10),
            (Action::Search, 35),
            (Action::Thumbnail, 20),
            (Action::Similar, 5),
            (Action::ImageSearch, 4),
            (Action::Batch, 1),
        ])
    }
}

impl FromStr for Mix {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?}: expected name=weight"))?;
            let action = Action::ALL
                .into_iter()
                .find(|a| a.name() == name.trim())
                .ok_or_else(|| {
                    let names: Vec<_> = Action::ALL.iter().map(|a| a.name()).collect();
                    format!("unknown action {name:?}; one of {}", names.join(", "))
                })?;
            let weight: u32 = weight
                .trim()
                .parse()
                .map_err(|_| format!("{part:?}: the weight must be a whole number"))?;
            out.push((action, weight));
        }
        if out.iter().map(|(_, w)| *w).sum::<u32>() == 0 {
            return Err("the mix needs at least one positive weight".into());
        }
        Ok(Mix(out))
    }
}

impl Mix {
    pub fn pick(&self, rng: &mut StdRng) -> Action {
        let total: u32 = self.0.iter().map(|(_, w)| *w).sum();
        let mut x = rng.random_range(0..total.max(1));
        for (a, w) in &self.0 {
            if x < *w {
                return *a;
            }
            x -= w;
        }
        Action::Product
    }
}

/// What the harness knows about the catalog.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub product_ids: Vec<i64>,
    /// Products that have an image: (product id, image id).
    pub images: Vec<(i64, String)>,
    /// Image ids the thumbnail action draws from (the products' and any extra ones).
    pub thumb_images: Vec<String>,
    pub categories: Vec<String>,
    /// Queries, most popular first (drawn with [`Zipf`]).
    pub queries: Vec<String>,
    /// A few catalog photos for image search.
    pub photos: Vec<Vec<u8>>,
}

impl Catalog {
    /// Builds the ranked query set from product JSON: whole titles, single words, brands,
    /// categories, prefixes (as typed) and a misspelling, deterministically ordered.
    pub fn queries_from(products: &[serde_json::Value]) -> Vec<String> {
        let mut freq: BTreeMap<String, usize> = BTreeMap::new();
        for p in products {
            let title = p["title"].as_str().unwrap_or_default().to_lowercase();
            for w in title.split_whitespace().filter(|w| w.len() >= 3) {
                *freq.entry(w.to_owned()).or_default() += 3;
                if w.len() >= 5 {
                    *freq.entry(w[..3].to_owned()).or_default() += 1;
                    // A transposition, as typed in a hurry (the search tolerates it).
                    let mut typo: Vec<char> = w.chars().collect();
                    typo.swap(1, 2);
                    *freq.entry(typo.into_iter().collect()).or_default() += 1;
                }
            }
            *freq.entry(title).or_default() += 1;
            for field in ["brand", "category"] {
                if let Some(v) = p[field].as_str() {
                    *freq.entry(v.to_lowercase()).or_default() += 2;
                }
            }
        }
        let mut ranked: Vec<(String, usize)> = freq.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        ranked.into_iter().map(|(q, _)| q).collect()
    }
}

/// The thumbnail widths a storefront asks for (DPR 1–3 of its card sizes).
const WIDTHS: [u32; 8] = [96, 150, 200, 300, 400, 450, 600, 900];
const FORMATS: [&str; 3] = ["auto", "webp", "jpeg"];

/// A signed `/img` path for `image_id`.
pub fn thumbnail_path(keys: &SigningKeys, image_id: &str, rng: &mut StdRng) -> String {
    let w = WIDTHS[rng.random_range(0..WIDTHS.len())];
    let f = FORMATS[rng.random_range(0..FORMATS.len())];
    let options = if rng.random_bool(0.5) {
        format!("w:{w}/h:{w}/fit:cover/f:{f}")
    } else {
        format!("w:{w}/f:{f}")
    };
    let signed = format!("/{options}/{image_id}");
    format!("/img/{}{signed}", keys.sign(&signed))
}

/// A text-search path for a query of rank drawn from `zipf`.
pub fn search_path(catalog: &Catalog, zipf: &Zipf, rng: &mut StdRng) -> String {
    let q = &catalog.queries[zipf.sample(rng.random())];
    format!("/api/search/text?q={}&limit=20", encode(q))
}

/// Percent-encodes a query value (unreserved characters kept).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn mix_parses_and_picks_by_weight() {
        let m: Mix = "search=3, thumbnail=1".parse().unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        let n = 40_000;
        let searches = (0..n)
            .filter(|_| m.pick(&mut rng) == Action::Search)
            .count();
        assert!(
            (searches as f64 / n as f64 - 0.75).abs() < 0.02,
            "{searches}"
        );
        assert!("nope=1".parse::<Mix>().is_err());
        assert!("search=0".parse::<Mix>().is_err());
        assert!("search".parse::<Mix>().is_err());
    }

    #[test]
    fn queries_are_ranked_and_deterministic() {
        let products = vec![
            serde_json::json!({"title": "Wireless Headphones", "brand": "Acme", "category": "Audio"}),
            serde_json::json!({"title": "Wired Headphones", "brand": "Acme", "category": "Audio"}),
        ];
        let q = Catalog::queries_from(&products);
        assert_eq!(q[0], "headphones");
        assert!(q.contains(&"acme".to_owned()));
        assert!(q.contains(&"wireless headphones".to_owned()));
        assert_eq!(q, Catalog::queries_from(&products));
    }

    #[test]
    fn thumbnail_paths_verify() {
        let keys = SigningKeys::from_keys(&["k-0123456789abcdef"]);
        let mut rng = StdRng::seed_from_u64(1);
        let id = "b".repeat(64);
        for _ in 0..20 {
            let p = thumbnail_path(&keys, &id, &mut rng);
            let rest = p.strip_prefix("/img/").unwrap();
            let (sig, signed) = rest.split_once('/').unwrap();
            keys.verify(sig, &format!("/{signed}")).unwrap();
        }
        assert_eq!(encode("a b&c"), "a%20b%26c");
    }
}
