//! Image metadata rows. The bytes live in the object store (`images::store`); the row says
//! what the original is (format, size) so requests can be answered without reading it.

use chrono::{DateTime, Utc};
use futures::TryFutureExt;

use super::{Db, DbResult};

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
}
