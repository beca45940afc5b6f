//! Stored visual descriptors (see `search::visual`).

use futures::TryFutureExt;
use std::collections::HashMap;

use chrono::Utc;
use sqlx::QueryBuilder;

use super::{Db, DbResult, Pool};

/// A product with a stored descriptor, as loaded into the visual index.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IndexedRow {
    pub id: i64,
    pub category: String,
    pub brand: String,
    pub price: i64,
    pub image_id: String,
    pub vector: Vec<u8>,
    pub phash: i64,
}

/// One image's visual row as written: the vector and hash of `version`, which model made
/// them, and the model's top labels as JSON text (`[]` without a classifier).
#[derive(Debug, Clone)]
pub struct NewVisualRow<'a> {
    pub image_id: &'a str,
    pub version: i32,
    pub model: &'a str,
    pub vector: &'a [u8],
    pub dims: i32,
    pub phash: u64,
    pub labels_json: &'a str,
}

/// What `GET /api/images/{id}` tells about an image's visual row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VisualMeta {
    pub version: i32,
    pub model: String,
    pub labels: String,
}

impl Db {
    pub async fn put_visual(&self, row: &NewVisualRow<'_>) -> DbResult<()> {
        let sql = "INSERT INTO image_descriptors (image_id, version, dims, vector, phash, created_at, model, labels) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                   ON CONFLICT (image_id, version) DO UPDATE SET dims = excluded.dims, vector = excluded.vector, \
                   phash = excluded.phash, model = excluded.model, labels = excluded.labels";
        // Stored as the signed bit pattern: both backends have signed 64-bit integers only.
        let phash = row.phash as i64;
        let now = Utc::now();
        dispatch!(self, "descriptor_put", |p| sqlx::query(sql)
            .bind(row.image_id)
            .bind(row.version)
            .bind(row.dims)
            .bind(row.vector)
            .bind(phash)
            .bind(now)
            .bind(row.model)
            .bind(row.labels_json)
            .execute(p)
            .map_ok(|_| ()))?;
        Ok(())
    }

    /// The model and labels of `image_id`'s row of `version` when there is one, else of its
    /// newest row of any model; `None` when the image was never analysed.
    pub async fn visual_meta(&self, image_id: &str, version: i32) -> DbResult<Option<VisualMeta>> {
        let sql = "SELECT version, model, labels FROM image_descriptors WHERE image_id = $1 \
                   ORDER BY CASE WHEN version = $2 THEN 0 ELSE 1 END, created_at DESC LIMIT 1";
        dispatch!(self, "descriptor_meta", |p| sqlx::query_as(sql)
            .bind(image_id)
            .bind(version)
            .fetch_optional(p))
    }

    /// Products (id > `after`, in id order) whose image has no row of `version` but one of
    /// another version with `dims` floats: what the index serves while a model change is
    /// re-indexed (a product can appear once per such row; the last one wins).
    pub async fn stale_indexed_products(
        &self,
        version: i32,
        dims: i32,
        after: i64,
        limit: u32,
    ) -> DbResult<Vec<IndexedRow>> {
        let sql = "SELECT p.id, p.category, p.brand, p.price, p.image_id, d.vector, d.phash \
                   FROM products p JOIN image_descriptors d ON d.image_id = p.image_id AND d.version <> $1 AND d.dims = $2 \
                   WHERE p.id > $3 AND NOT EXISTS \
                   (SELECT 1 FROM image_descriptors c WHERE c.image_id = p.image_id AND c.version = $1) \
                   ORDER BY p.id LIMIT $4";
        let limit = i64::from(limit);
        dispatch!(self, "descriptor_stale_products", |p| sqlx::query_as(sql)
            .bind(version)
            .bind(dims)
            .bind(after)
            .bind(limit)
            .fetch_all(p))
    }

    /// How many distinct product images have no row of `version`.
    pub async fn count_images_missing_descriptors(&self, version: i32) -> DbResult<i64> {
        let sql = "SELECT COUNT(DISTINCT p.image_id) FROM products p \
                   LEFT JOIN image_descriptors d ON d.image_id = p.image_id AND d.version = $1 \
                   WHERE p.image_id IS NOT NULL AND d.image_id IS NULL";
        let (n,): (i64,) = dispatch!(self, "descriptor_missing_count", |p| sqlx::query_as(sql)
            .bind(version)
            .fetch_one(p))?;
        Ok(n)
    }

    /// Product images without a row of `version`, in id order after `after` (keyset pages:
    /// an image that never gets a row, such as a corrupt original, is visited once a pass).
    pub async fn images_missing_descriptors_after(
        &self,
        version: i32,
        after: &str,
        limit: u32,
    ) -> DbResult<Vec<String>> {
        let sql = "SELECT DISTINCT p.image_id FROM products p \
                   LEFT JOIN image_descriptors d ON d.image_id = p.image_id AND d.version = $1 \
                   WHERE p.image_id IS NOT NULL AND d.image_id IS NULL AND p.image_id > $2 \
                   ORDER BY p.image_id LIMIT $3";
        let limit = i64::from(limit);
        let rows: Vec<(String,)> = dispatch!(self, "descriptor_missing", |p| sqlx::query_as(sql)
            .bind(version)
            .bind(after)
            .bind(limit)
            .fetch_all(p))?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    pub async fn get_descriptor(
        &self,
        image_id: &str,
        version: i32,
    ) -> DbResult<Option<(Vec<u8>, u64)>> {
        let sql =
            "SELECT vector, phash FROM image_descriptors WHERE image_id = $1 AND version = $2";
        let row: Option<(Vec<u8>, i64)> =
            dispatch!(self, "descriptor_get", |p| sqlx::query_as(sql)
                .bind(image_id)
                .bind(version)
                .fetch_optional(p))?;
        Ok(row.map(|(v, h)| (v, h as u64)))
    }

    /// The stored descriptors of `version` for each of `image_ids` that has one, in one query
    /// per 500 ids (a bulk write of a thousand products is two queries, not a thousand).
    pub async fn get_descriptors(
        &self,
        image_ids: &[&str],
        version: i32,
    ) -> DbResult<HashMap<String, (Vec<u8>, u64)>> {
        let mut found = HashMap::with_capacity(image_ids.len());
        for chunk in image_ids.chunks(500) {
            // Postgres binds the ids as one array; SQLite has no arrays, so it gets one bind
            // per id.
            let rows: Vec<(String, Vec<u8>, i64)> = match &self.pool {
                Pool::Postgres(p) => {
                    self.timed(
                        "descriptor_get_many",
                        sqlx::query_as(
                            "SELECT image_id, vector, phash FROM image_descriptors \
                             WHERE image_id = ANY($1) AND version = $2",
                        )
                        .bind(chunk)
                        .bind(version)
                        .fetch_all(p),
                    )
                    .await?
                }
                Pool::Sqlite(p) => {
                    let mut qb = QueryBuilder::new(
                        "SELECT image_id, vector, phash FROM image_descriptors WHERE version = ",
                    );
                    qb.push_bind(version).push(" AND image_id IN (");
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(*id);
                    }
                    qb.push(")");
                    self.timed("descriptor_get_many", qb.build_query_as().fetch_all(p))
                        .await?
                }
            };
            found.extend(rows.into_iter().map(|(id, v, h)| (id, (v, h as u64))));
        }
        Ok(found)
    }

    /// Products (id > `after`, in id order) whose image has a descriptor of `version`.
    pub async fn indexed_products(
        &self,
        version: i32,
        after: i64,
        limit: u32,
    ) -> DbResult<Vec<IndexedRow>> {
        let sql = "SELECT p.id, p.category, p.brand, p.price, p.image_id, d.vector, d.phash \
                   FROM products p JOIN image_descriptors d ON d.image_id = p.image_id AND d.version = $1 \
                   WHERE p.id > $2 ORDER BY p.id LIMIT $3";
        let limit = i64::from(limit);
        dispatch!(self, "descriptor_indexed_products", |p| sqlx::query_as(sql)
            .bind(version)
            .bind(after)
            .bind(limit)
            .fetch_all(p))
    }

    /// Ids of products that show `image_id`.
    pub async fn products_with_image(&self, image_id: &str) -> DbResult<Vec<i64>> {
        let sql = "SELECT id FROM products WHERE image_id = $1 ORDER BY id";
        let rows: Vec<(i64,)> = dispatch!(self, "product_by_image", |p| sqlx::query_as(sql)
            .bind(image_id)
            .fetch_all(p))?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }
}
