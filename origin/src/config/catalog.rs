//! The catalog: demo seeding on first start, and the bounds of a bulk upsert.

use super::{
    ConfigError,
    parse::{Lookup, parse_bool, parse_num},
};

#[derive(Debug, Clone)]
pub struct CatalogSettings {
    /// `SEED_DEMO`: seed the demo catalog on first start with the embedded database.
    pub seed_demo: bool,
    /// `DEMO_PRODUCTS`: how many demo products that creates.
    pub demo_products: usize,
    /// `BULK_MAX_BYTES`: largest NDJSON bulk body.
    pub bulk_max_bytes: usize,
    /// `BULK_MAX_ITEMS`: most products in one bulk request.
    pub bulk_max_items: usize,
}

impl CatalogSettings {
    pub(super) fn from_lookup(get: &impl Lookup) -> Result<Self, ConfigError> {
        Ok(Self {
            seed_demo: parse_bool(get, "SEED_DEMO", true)?,
            demo_products: parse_num(get, "DEMO_PRODUCTS", 300, 1, 100_000)?,
            bulk_max_bytes: parse_num(get, "BULK_MAX_BYTES", 64 * 1024 * 1024, 1024, 1 << 31)?,
            bulk_max_items: parse_num(get, "BULK_MAX_ITEMS", 10_000, 1, 1_000_000)?,
        })
    }
}
