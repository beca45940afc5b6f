//! Image metadata rows. The bytes live in the object store (`images::store`); the row says
//! what the original is (format, size) so requests can be answered without reading it.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use futures::TryFutureExt;
use sqlx::QueryBuilder;

use super::{Db, DbResult, Pool};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct ImageRecord {
    pub id: String,
    pub width: i32,
    pub height: i32,
    pub format: String,
    pub bytes: i64,
    pub created_at: DateTime<Utc>,
}

impl Db {
    /// Records an image; a second insert of the same content is a no-op.
    pub async fn insert_image(&self, image: &ImageRecord) -> DbResult<()> {
        let sql = "INSERT INTO images (id, width, height, format, bytes, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING";
        dispatch!(self, "image_insert", |p| sqlx::query(sql)
            .bind(&image.id)
            .bind(image.width)
            .bind(image.height)
            .bind(&image.format)
            .bind(image.bytes)
            .bind(image.created_at)
            .execute(p)
            .map_ok(|_| ()))?;
        Ok(())
    }

    pub async fn get_image(&self, id: &str) -> DbResult<Option<ImageRecord>> {
        let sql = "SELECT id, width, height, format, bytes, created_at FROM images WHERE id = $1";
        dispatch!(self, "image_get", |p| sqlx::query_as(sql)
            .bind(id)
            .fetch_optional(p))
    }

    /// Which of `ids` something still refers to: an `images` row, or a product's `image_id`
    /// (the orphan sweep keeps those objects). One query per 400 ids (SQLite binds each id twice).
    pub async fn referenced_image_ids(&self, ids: &[&str]) -> DbResult<HashSet<String>> {
        let mut found = HashSet::with_capacity(ids.len());
        for chunk in ids.chunks(400) {
            // Postgres binds the ids as one array; SQLite has no arrays, so one bind per id.
            let rows: Vec<(String,)> = match &self.pool {
                Pool::Postgres(p) => {
                    self.timed(
                        "image_referenced",
                        sqlx::query_as(
                            "SELECT id FROM images WHERE id = ANY($1) \
                             UNION SELECT image_id FROM products WHERE image_id = ANY($1)",
                        )
                        .bind(chunk)
                        .fetch_all(p),
                    )
                    .await?
                }
                Pool::Sqlite(p) => {
                    let mut qb = QueryBuilder::new("SELECT id FROM images WHERE id IN (");
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(*id);
                    }
                    qb.push(") UNION SELECT image_id FROM products WHERE image_id IN (");
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(*id);
                    }
                    qb.push(")");
                    self.timed("image_referenced", qb.build_query_as().fetch_all(p))
                        .await?
                }
            };
            found.extend(rows.into_iter().map(|(id,)| id));
        }
        Ok(found)
    }

    /// The (displayed) width and height of each of `ids` that has an `images` row, one query
    /// per 400 ids.
    pub async fn image_sizes(&self, ids: &[&str]) -> DbResult<HashMap<String, (u32, u32)>> {
        let mut found = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(400) {
            let rows: Vec<(String, i32, i32)> = match &self.pool {
                Pool::Postgres(p) => {
                    self.timed(
                        "image_sizes",
                        sqlx::query_as("SELECT id, width, height FROM images WHERE id = ANY($1)")
                            .bind(chunk)
                            .fetch_all(p),
                    )
                    .await?
                }
                Pool::Sqlite(p) => {
                    let mut qb =
                        QueryBuilder::new("SELECT id, width, height FROM images WHERE id IN (");
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(*id);
                    }
                    qb.push(")");
                    self.timed("image_sizes", qb.build_query_as().fetch_all(p))
                        .await?
                }
            };
            found.extend(rows.into_iter().map(|(id, w, h)| {
                (
                    id,
                    (u32::try_from(w).unwrap_or(0), u32::try_from(h).unwrap_or(0)),
                )
            }));
        }
        Ok(found)
    }
}
