//! What a filter needs to know about a product, kept compactly: category and brand as
//! small interned ids, price and the perceptual hash inline (about 40 bytes a product).

use std::collections::HashMap;

/// What a filter needs to know about a product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemMeta {
    pub category: String,
    pub brand: String,
    pub price: i64,
}

/// A filter over [`ItemMeta`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetaFilter {
    /// Any of these categories (all when empty).
    pub category: Vec<String>,
    /// Any of these brands (all when empty).
    pub brand: Vec<String>,
    pub price_min: Option<i64>,
    pub price_max: Option<i64>,
    /// A product to leave out (the query product itself, for "similar products").
    pub exclude: Option<i64>,
}

impl MetaFilter {
    pub fn is_empty(&self) -> bool {
        *self == MetaFilter::default()
    }
}

/// Strings stored once, named by their position.
#[derive(Debug, Default)]
pub(super) struct Interner {
    names: Vec<String>,
    ids: HashMap<String, u32>,
}

impl Interner {
    pub(super) fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_owned());
        self.ids.insert(name.to_owned(), id);
        id
    }

    pub(super) fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }
}

/// One indexed product (or the tombstone of one).
#[derive(Debug, Clone, Copy)]
pub(super) struct Slot {
    pub product_id: i64,
    pub price: i64,
    pub phash: u64,
    pub category: u32,
    pub brand: u32,
    pub alive: bool,
}

/// A [`MetaFilter`] with its strings resolved to interned ids (`None`: any; the requests bound
/// how many values a facet may list, so `contains` stays a short scan).
#[derive(Debug, Clone)]
pub(super) struct SlotFilter {
    category: Option<Vec<u32>>,
    brand: Option<Vec<u32>>,
    price_min: Option<i64>,
    price_max: Option<i64>,
    exclude: Option<i64>,
    pub empty: bool,
}

impl SlotFilter {
    /// `None` when the filter names only categories (or only brands) no product has
    /// (nothing matches).
    pub(super) fn resolve(
        f: &MetaFilter,
        categories: &Interner,
        brands: &Interner,
    ) -> Option<Self> {
        let category = resolve_any(&f.category, categories)?;
        let brand = resolve_any(&f.brand, brands)?;
        Some(Self {
            category,
            brand,
            price_min: f.price_min,
            price_max: f.price_max,
            exclude: f.exclude,
            empty: f.is_empty(),
        })
    }

    /// True for a live slot the filter lets through.
    #[inline]
    pub(super) fn admits(&self, s: &Slot) -> bool {
        s.alive
            && (self.empty
                || (self.exclude != Some(s.product_id)
                    && self
                        .category
                        .as_ref()
                        .is_none_or(|c| c.contains(&s.category))
                    && self.brand.as_ref().is_none_or(|b| b.contains(&s.brand))
                    && self.price_min.is_none_or(|p| s.price >= p)
                    && self.price_max.is_none_or(|p| s.price <= p)))
    }
}

/// The ids of `names` that some product has: `Some(None)` for no names (any), `None` when
/// names were given and none is known (nothing can match).
fn resolve_any(names: &[String], interner: &Interner) -> Option<Option<Vec<u32>>> {
    if names.is_empty() {
        return Some(None);
    }
    let ids: Vec<u32> = names.iter().filter_map(|n| interner.get(n)).collect();
    if ids.is_empty() {
        None
    } else {
        Some(Some(ids))
    }
}
