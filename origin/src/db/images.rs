//! Image metadata rows. The bytes live in the object store (`images::store`); the row says
//! what the original is (format, size) so requests can be answered without reading it.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use futures::TryFutureExt;
use sqlx::QueryBuilder;
use vitrine_common::{api::ImagePlaceholder, placeholder::Placeholder};

use super::{Db, DbResult, Pool};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct ImageRecord {
    pub id: String,
    pub width: i32,
    pub height: i32,
    pub format: String,
    pub bytes: i64,
    pub created_at: DateTime<Utc>,
    /// The ThumbHash, base64 (NULL before the background pass reached an older image; ''
    /// when its original could not be read).
    pub placeholder_thumbhash: Option<String>,
    /// The dominant colour, `#rrggbb` (NULL and '' as for the ThumbHash).
    pub placeholder_color: Option<String>,
}

impl ImageRecord {
    /// The placeholder the API shows, when this image has one.
    pub fn placeholder(&self) -> Option<ImagePlaceholder> {
        placeholder_from(
            self.placeholder_thumbhash.as_deref(),
            self.placeholder_color.as_deref(),
        )
    }

    /// Sets the placeholder columns from a computed placeholder.
    pub fn with_placeholder(mut self, placeholder: &Placeholder) -> Self {
        self.placeholder_thumbhash = Some(placeholder.thumbhash_base64());
        self.placeholder_color = Some(placeholder.color_hex());
        self
    }
}

/// The API's placeholder from the two columns: none while either is NULL or '' (not computed
/// yet, or not computable).
fn placeholder_from(thumbhash: Option<&str>, color: Option<&str>) -> Option<ImagePlaceholder> {
    match (thumbhash, color) {
        (Some(t), Some(c)) if !t.is_empty() && !c.is_empty() => Some(ImagePlaceholder {
            thumbhash: t.to_owned(),
            color: c.to_owned(),
        }),
        _ => None,
    }
}

/// What product responses need of an image: its displayed size (to cap the srcset) and its
/// placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFacts {
    pub width: u32,
    pub height: u32,
    pub placeholder: Option<ImagePlaceholder>,
}

impl Db {
    /// Records an image; a second insert of the same content is a no-op.
    pub async fn insert_image(&self, image: &ImageRecord) -> DbResult<()> {
        let sql = "INSERT INTO images (id, width, height, format, bytes, created_at, \
                   placeholder_thumbhash, placeholder_color) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING";
        dispatch!(self, "image_insert", |p| sqlx::query(sql)
            .bind(&image.id)
            .bind(image.width)
            .bind(image.height)
            .bind(&image.format)
            .bind(image.bytes)
            .bind(image.created_at)
            .bind(&image.placeholder_thumbhash)
            .bind(&image.placeholder_color)
            .execute(p)
            .map_ok(|_| ()))?;
        Ok(())
    }

    pub async fn get_image(&self, id: &str) -> DbResult<Option<ImageRecord>> {
        let sql = "SELECT id, width, height, format, bytes, created_at, placeholder_thumbhash, \
                   placeholder_color FROM images WHERE id = $1";
        dispatch!(self, "image_get", |p| sqlx::query_as(sql)
            .bind(id)
            .fetch_optional(p))
    }

    /// Stores the placeholder of an image that has none yet (`thumbhash` and `color` '' mark
    /// one that cannot be computed). True when a row changed; a row that has one keeps it.
    pub async fn set_placeholder(&self, id: &str, thumbhash: &str, color: &str) -> DbResult<bool> {
        let sql = "UPDATE images SET placeholder_thumbhash = $1, placeholder_color = $2 \
                   WHERE id = $3 AND placeholder_color IS NULL";
        let changed = dispatch!(self, "image_set_placeholder", |p| sqlx::query(sql)
            .bind(thumbhash)
            .bind(color)
            .bind(id)
            .execute(p)
            .map_ok(|r| r.rows_affected()))?;
        Ok(changed > 0)
    }

    /// Up to `limit` ids of images without a placeholder, in id order after `after` (the
    /// background pass's cursor: a row that keeps failing is not looked at again in a pass).
    pub async fn images_without_placeholder(
        &self,
        after: &str,
        limit: u32,
    ) -> DbResult<Vec<String>> {
        let sql = "SELECT id FROM images WHERE placeholder_color IS NULL AND id > $1 \
                   ORDER BY id LIMIT $2";
        let rows: Vec<(String,)> = dispatch!(self, "image_without_placeholder", |p| {
            sqlx::query_as(sql)
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(p)
        })?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// The ids of the products showing one of `image_ids` (whose cached responses change when
    /// the image's placeholder does), one query per 400 ids.
    pub async fn products_showing(&self, image_ids: &[&str]) -> DbResult<Vec<i64>> {
        let mut found = Vec::new();
        for chunk in image_ids.chunks(400) {
            let rows: Vec<(i64,)> = match &self.pool {
                Pool::Postgres(p) => {
                    self.timed(
                        "products_showing",
                        sqlx::query_as("SELECT id FROM products WHERE image_id = ANY($1)")
                            .bind(chunk)
                            .fetch_all(p),
                    )
                    .await?
                }
                Pool::Sqlite(p) => {
                    let mut qb = QueryBuilder::new("SELECT id FROM products WHERE image_id IN (");
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(*id);
                    }
                    qb.push(")");
                    self.timed("products_showing", qb.build_query_as().fetch_all(p))
                        .await?
                }
            };
            found.extend(rows.into_iter().map(|(id,)| id));
        }
        Ok(found)
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

    /// The displayed size and placeholder of each of `ids` that has an `images` row, one
    /// query per 400 ids.
    pub async fn image_facts(&self, ids: &[&str]) -> DbResult<HashMap<String, ImageFacts>> {
        type Row = (String, i32, i32, Option<String>, Option<String>);
        let mut found = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(400) {
            let rows: Vec<Row> = match &self.pool {
                Pool::Postgres(p) => {
                    self.timed(
                        "image_facts",
                        sqlx::query_as(
                            "SELECT id, width, height, placeholder_thumbhash, placeholder_color \
                             FROM images WHERE id = ANY($1)",
                        )
                        .bind(chunk)
                        .fetch_all(p),
                    )
                    .await?
                }
                Pool::Sqlite(p) => {
                    let mut qb = QueryBuilder::new(
                        "SELECT id, width, height, placeholder_thumbhash, placeholder_color \
                         FROM images WHERE id IN (",
                    );
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(*id);
                    }
                    qb.push(")");
                    self.timed("image_facts", qb.build_query_as().fetch_all(p))
                        .await?
                }
            };
            found.extend(rows.into_iter().map(|(id, w, h, thumbhash, color)| {
                let facts = ImageFacts {
                    width: u32::try_from(w).unwrap_or(0),
                    height: u32::try_from(h).unwrap_or(0),
                    placeholder: placeholder_from(thumbhash.as_deref(), color.as_deref()),
                };
                (id, facts)
            }));
        }
        Ok(found)
    }
}
