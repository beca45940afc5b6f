//! The write operations: each writes the database, then hands what changed to
//! [`Catalog::propagate`] (which owns the order). A write the database refuses propagates
//! nothing.

use vitrine_common::api::{NewProduct, Product};

use super::{Catalog, CatalogError, propagate::Written};
use crate::db::products::UpsertSummary;

impl Catalog {
    /// Creates a product.
    pub async fn create(&self, new: &NewProduct) -> Result<Product, CatalogError> {
        let product = self.db.create_product(new).await?;
        self.propagate(Written::upserted(vec![product.clone()]))
            .await?;
        Ok(product)
    }

    /// Replaces product `id`; `None` when there is no such product.
    pub async fn update(&self, id: i64, new: &NewProduct) -> Result<Option<Product>, CatalogError> {
        let Some(product) = self.db.update_product(id, new).await? else {
            return Ok(None);
        };
        self.propagate(Written::upserted(vec![product.clone()]))
            .await?;
        Ok(Some(product))
    }

    /// Deletes product `id`; `false` when there is no such product.
    pub async fn delete(&self, id: i64) -> Result<bool, CatalogError> {
        if !self.db.delete_product(id).await? {
            return Ok(false);
        }
        self.propagate(Written::deleted(vec![id])).await?;
        Ok(true)
    }

    /// Upserts `rows` by sku (bulk requests, the import, demo seeding); only the rows that
    /// changed propagate.
    pub async fn upsert_many(&self, rows: &[NewProduct]) -> Result<UpsertSummary, CatalogError> {
        let summary = self.db.upsert_many(rows).await?;
        self.propagate(Written::upserted(summary.changed.clone()))
            .await?;
        Ok(summary)
    }
}
