//! Product queries for both backends.
//!
//! Bulk writes (`upsert_many`) are the import path: Postgres gets one `INSERT … SELECT FROM
//! UNNEST(…)` per batch (one round trip for thousands of rows), SQLite a multi-row
//! `VALUES` list inside one transaction. Both skip rows whose content did not change, so
//! re-importing the same file is a no-op that leaves `updated_at` (and the search index)
//! alone.

use chrono::{DateTime, SubsecRound, Utc};
use futures::TryFutureExt;
use sqlx::{AssertSqlSafe, QueryBuilder, types::Json};
use vitrine_common::api::{NewProduct, Product};

use super::{Db, DbError, DbResult, Pool};

const COLUMNS: &str = "id, sku, title, description, brand, category, price, currency, attributes, image_id, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct ProductRow {
    id: i64,
    sku: String,
    title: String,
    description: String,
    brand: String,
    category: String,
    price: i64,
    currency: String,
    attributes: Json<serde_json::Value>,
    image_id: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<ProductRow> for Product {
    fn from(r: ProductRow) -> Self {
        Product {
            id: r.id,
            sku: r.sku,
            title: r.title,
            description: r.description,
            brand: r.brand,
            category: r.category,
            price: r.price,
            currency: r.currency,
            attributes: r.attributes.0,
            image_id: r.image_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
            images: None,
        }
    }
}

/// Now, truncated to microseconds (Postgres' precision) so both backends round-trip it.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Outcome of a bulk upsert.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct UpsertSummary {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// The rows that were inserted or changed, for the search index.
    #[serde(skip)]
    pub changed: Vec<Product>,
}

/// A fingerprint of the catalog, used to tell whether the search index is stale.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fingerprint {
    pub count: i64,
    pub max_updated_at: Option<DateTime<Utc>>,
}

/// Binds a product's nine writable columns, in `COLUMNS` order after `id`.
macro_rules! bind_fields {
    ($query:expr, $p:expr) => {
        $query
            .bind($p.sku.as_str())
            .bind($p.title.as_str())
            .bind($p.description.as_str())
            .bind($p.brand.as_str())
            .bind($p.category.as_str())
            .bind($p.price.minor_units())
            .bind($p.currency.as_str())
            .bind(attrs($p))
            .bind($p.image_id.as_ref().map(|i| i.as_str()))
    };
}

fn attrs(p: &NewProduct) -> Json<serde_json::Value> {
    Json(serde_json::Value::Object(p.attributes.as_map().clone()))
}

const CHANGED_GUARD: &str = "(products.title, products.description, products.brand, products.category, products.price, products.currency, products.attributes, products.image_id) IS DISTINCT FROM (excluded.title, excluded.description, excluded.brand, excluded.category, excluded.price, excluded.currency, excluded.attributes, excluded.image_id)";

const UPDATE_SET: &str = "title = excluded.title, description = excluded.description, brand = excluded.brand, category = excluded.category, price = excluded.price, currency = excluded.currency, attributes = excluded.attributes, image_id = excluded.image_id, updated_at = excluded.updated_at";

impl Db {
    pub async fn get_product(&self, id: i64) -> DbResult<Option<Product>> {
        let sql = AssertSqlSafe(format!("SELECT {COLUMNS} FROM products WHERE id = $1"));
        let row: Option<ProductRow> = dispatch!(self, "product_get", |p| sqlx::query_as(sql)
            .bind(id)
            .fetch_optional(p))?;
        Ok(row.map(Product::from))
    }

    pub async fn get_products(&self, ids: &[i64]) -> DbResult<Vec<Product>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // Postgres binds the ids as one array; SQLite has no arrays, so it gets one bind per id.
        let rows: Vec<ProductRow> = match &self.pool {
            Pool::Postgres(p) => {
                let sql = format!("SELECT {COLUMNS} FROM products WHERE id = ANY($1)");
                self.timed(
                    "product_get_many",
                    sqlx::query_as(AssertSqlSafe(sql.as_str()))
                        .bind(ids)
                        .fetch_all(p),
                )
                .await?
            }
            Pool::Sqlite(p) => {
                let mut qb =
                    QueryBuilder::new(format!("SELECT {COLUMNS} FROM products WHERE id IN ("));
                let mut sep = qb.separated(", ");
                for id in ids {
                    sep.push_bind(*id);
                }
                qb.push(")");
                self.timed("product_get_many", qb.build_query_as().fetch_all(p))
                    .await?
            }
        };
        Ok(rows.into_iter().map(Product::from).collect())
    }

    /// Products with `id > after`, in id order (keyset pagination).
    pub async fn list_products(&self, after: i64, limit: u32) -> DbResult<Vec<Product>> {
        let sql = AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM products WHERE id > $1 ORDER BY id LIMIT $2"
        ));
        let limit = i64::from(limit);
        let rows: Vec<ProductRow> = dispatch!(self, "product_list", |p| sqlx::query_as(sql)
            .bind(after)
            .bind(limit)
            .fetch_all(p))?;
        Ok(rows.into_iter().map(Product::from).collect())
    }

    /// Products changed at or after `since`, for incremental index sync.
    pub async fn products_changed_since(
        &self,
        since: DateTime<Utc>,
        after_id: i64,
        limit: u32,
    ) -> DbResult<Vec<Product>> {
        let sql = AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM products WHERE updated_at >= $1 AND id > $2 ORDER BY id LIMIT $3"
        ));
        let limit = i64::from(limit);
        let rows: Vec<ProductRow> =
            dispatch!(self, "product_changed_since", |p| sqlx::query_as(sql)
                .bind(since)
                .bind(after_id)
                .bind(limit)
                .fetch_all(p))?;
        Ok(rows.into_iter().map(Product::from).collect())
    }

    pub async fn fingerprint(&self) -> DbResult<Fingerprint> {
        let sql = "SELECT COUNT(*) AS count, MAX(updated_at) AS max_updated_at FROM products";
        // Same SQL, but the result is read differently: see the SQLite arm.
        let (count, max_updated_at): (i64, Option<DateTime<Utc>>) = match &self.pool {
            Pool::Postgres(p) => {
                self.timed("catalog_fingerprint", sqlx::query_as(sql).fetch_one(p))
                    .await?
            }
            Pool::Sqlite(p) => {
                // SQLite's MAX() loses the column's declared type, so read it as text.
                let (count, max): (i64, Option<String>) = self
                    .timed("catalog_fingerprint", sqlx::query_as(sql).fetch_one(p))
                    .await?;
                let max = max
                    .map(|s| DateTime::parse_from_rfc3339(&s).map(|d| d.with_timezone(&Utc)))
                    .transpose()
                    .map_err(|e| DbError::Other(e.into()))?;
                (count, max)
            }
        };
        Ok(Fingerprint {
            count,
            max_updated_at,
        })
    }

    pub async fn create_product(&self, p: &NewProduct) -> DbResult<Product> {
        let sql = AssertSqlSafe(format!(
            "INSERT INTO products (sku, title, description, brand, category, price, currency, attributes, image_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING {COLUMNS}"
        ));
        let now = now();
        let row = dispatch!(self, "product_insert", |pool| bind_fields!(
            sqlx::query_as::<_, ProductRow>(sql),
            p
        )
        .bind(now)
        .fetch_one(pool));
        match row {
            Ok(r) => Ok(r.into()),
            Err(DbError::Conflict(_)) => Err(DbError::Conflict(format!(
                "a product with sku {:?} already exists",
                p.sku.as_str()
            ))),
            Err(e) => Err(e),
        }
    }

    /// Replaces every field of product `id`; `None` when it does not exist.
    pub async fn update_product(&self, id: i64, p: &NewProduct) -> DbResult<Option<Product>> {
        let sql = AssertSqlSafe(format!(
            "UPDATE products SET sku = $1, title = $2, description = $3, brand = $4, category = $5, price = $6, \
             currency = $7, attributes = $8, image_id = $9, updated_at = $10 WHERE id = $11 RETURNING {COLUMNS}"
        ));
        let now = now();
        let row = dispatch!(self, "product_update", |pool| bind_fields!(
            sqlx::query_as::<_, ProductRow>(sql),
            p
        )
        .bind(now)
        .bind(id)
        .fetch_optional(pool));
        match row {
            Ok(r) => Ok(r.map(Product::from)),
            Err(DbError::Conflict(_)) => Err(DbError::Conflict(format!(
                "another product already has sku {:?}",
                p.sku.as_str()
            ))),
            Err(e) => Err(e),
        }
    }

    pub async fn delete_product(&self, id: i64) -> DbResult<bool> {
        let sql = "DELETE FROM products WHERE id = $1";
        let affected = dispatch!(self, "product_delete", |p| sqlx::query(sql)
            .bind(id)
            .execute(p)
            .map_ok(|r| r.rows_affected()))?;
        Ok(affected > 0)
    }

    /// Inserts or updates by SKU (last row wins within `rows`), skipping unchanged rows.
    pub async fn upsert_many(&self, rows: &[NewProduct]) -> DbResult<UpsertSummary> {
        // Deduplicate by SKU, keeping the last occurrence: one statement may not touch a row twice.
        let mut seen = std::collections::HashSet::new();
        let mut unique: Vec<&NewProduct> = rows
            .iter()
            .rev()
            .filter(|p| seen.insert(p.sku.as_str()))
            .collect();
        unique.reverse();
        let duplicates = (rows.len() - unique.len()) as u64;
        let now = now();
        let mut summary = UpsertSummary {
            unchanged: duplicates,
            ..Default::default()
        };
        // Postgres sends each batch as column arrays through UNNEST (one round trip per 5,000
        // rows); SQLite has no arrays, so it binds a multi-row VALUES list per batch inside
        // one transaction, sized to its limit on binds per statement.
        match &self.pool {
            Pool::Postgres(pool) => {
                for chunk in unique.chunks(5_000) {
                    let changed = self.upsert_chunk_pg(pool, chunk, now).await?;
                    tally(&mut summary, chunk.len(), changed, now);
                }
            }
            Pool::Sqlite(pool) => {
                let mut tx = self.timed("bulk_begin", pool.begin()).await?;
                // 12 binds per row, SQLite allows 32766 per statement.
                for chunk in unique.chunks(2_000) {
                    let mut qb = QueryBuilder::new(
                        "INSERT INTO products (sku, title, description, brand, category, price, currency, attributes, image_id, created_at, updated_at) ",
                    );
                    qb.push_values(chunk, |mut b, p| {
                        b.push_bind(p.sku.as_str())
                            .push_bind(p.title.as_str())
                            .push_bind(p.description.as_str())
                            .push_bind(p.brand.as_str())
                            .push_bind(p.category.as_str())
                            .push_bind(p.price.minor_units())
                            .push_bind(p.currency.as_str())
                            .push_bind(attrs(p))
                            .push_bind(p.image_id.as_ref().map(|i| i.as_str()))
                            .push_bind(now)
                            .push_bind(now);
                    });
                    qb.push(format!(
                        " ON CONFLICT (sku) DO UPDATE SET {UPDATE_SET} WHERE {CHANGED_GUARD} RETURNING {COLUMNS}"
                    ));
                    let changed: Vec<ProductRow> = self
                        .timed("bulk_upsert", qb.build_query_as().fetch_all(&mut *tx))
                        .await?;
                    tally(&mut summary, chunk.len(), changed, now);
                }
                self.timed("bulk_commit", tx.commit()).await?;
            }
        }
        Ok(summary)
    }

    async fn upsert_chunk_pg(
        &self,
        pool: &sqlx::PgPool,
        chunk: &[&NewProduct],
        now: DateTime<Utc>,
    ) -> DbResult<Vec<ProductRow>> {
        let n = chunk.len();
        let mut sku = Vec::with_capacity(n);
        let mut title = Vec::with_capacity(n);
        let mut description = Vec::with_capacity(n);
        let mut brand = Vec::with_capacity(n);
        let mut category = Vec::with_capacity(n);
        let mut price = Vec::with_capacity(n);
        let mut currency = Vec::with_capacity(n);
        let mut attributes = Vec::with_capacity(n);
        let mut image_id = Vec::with_capacity(n);
        for p in chunk {
            sku.push(p.sku.as_str());
            title.push(p.title.as_str());
            description.push(p.description.as_str());
            brand.push(p.brand.as_str());
            category.push(p.category.as_str());
            price.push(p.price.minor_units());
            currency.push(p.currency.as_str());
            attributes.push(
                serde_json::to_string(p.attributes.as_map())
                    .map_err(|e| DbError::Other(e.into()))?,
            );
            image_id.push(p.image_id.as_ref().map(|i| i.as_str()));
        }
        let sql = format!(
            "INSERT INTO products (sku, title, description, brand, category, price, currency, attributes, image_id, created_at, updated_at) \
             SELECT t.sku, t.title, t.description, t.brand, t.category, t.price, t.currency, t.attributes::jsonb, t.image_id, $10, $10 \
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::text[], $8::text[], $9::text[]) \
               AS t(sku, title, description, brand, category, price, currency, attributes, image_id) \
             ON CONFLICT (sku) DO UPDATE SET {UPDATE_SET} WHERE {CHANGED_GUARD} RETURNING {COLUMNS}"
        );
        self.timed(
            "bulk_upsert",
            sqlx::query_as(AssertSqlSafe(sql.as_str()))
                .bind(sku)
                .bind(title)
                .bind(description)
                .bind(brand)
                .bind(category)
                .bind(price)
                .bind(currency)
                .bind(attributes)
                .bind(image_id)
                .bind(now)
                .fetch_all(pool),
        )
        .await
    }
}

fn tally(
    summary: &mut UpsertSummary,
    chunk_len: usize,
    changed: Vec<ProductRow>,
    now: DateTime<Utc>,
) {
    let touched = changed.len() as u64;
    for row in changed {
        if row.created_at == now {
            summary.inserted += 1;
        } else {
            summary.updated += 1;
        }
        summary.changed.push(row.into());
    }
    summary.unchanged += chunk_len as u64 - touched;
}
