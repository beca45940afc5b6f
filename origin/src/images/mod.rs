//! Product images: originals stored content-addressed (BLAKE3 of the bytes), so uploading
//! the same file twice yields the same id and the bytes are never duplicated, and thumbnails
//! made from them on demand.
//!
//! The bytes go to an [`ObjectStore`] (a folder by default; an S3-compatible store can
//! implement the same trait), the metadata to the `images` table. An original is accepted only
//! when `common`'s pipeline [`probe`] accepts its header — the same sniffing and limits the
//! thumbnailer applies — so nothing is stored that could not later be resized, and a refusal
//! carries the pipeline's reason and status code (413 too large, 415 unsupported, 422 corrupt).
//!
//! [`thumbs`] makes thumbnails (bounded CPU pool, memory budget, coalescing), [`cache`] keeps
//! them on disk, [`urls`] builds signed `/img` URLs.

pub mod batch;
pub mod cache;
pub mod store;
pub mod thumbs;
pub mod urls;

use std::sync::Arc;

use vitrine_common::{
    api::ImageId,
    thumbnail::{Limits, PipelineError, SourceFormat, probe},
};

use crate::db::{Db, images::ImageRecord, products::now};
use store::ObjectStore;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The pipeline refused the bytes (empty, too large, unknown format, corrupt header…).
    #[error(transparent)]
    Refused(#[from] PipelineError),
    #[error(transparent)]
    Storage(anyhow::Error),
}

#[derive(Clone)]
pub struct Images {
    pub store: Arc<dyn ObjectStore>,
    pub db: Db,
    /// What an original may be (bytes, pixels, side, frames), checked from its header.
    pub limits: Limits,
}

impl std::fmt::Debug for Images {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Images")
    }
}

/// The limits an original is held to: `IMAGE_MAX_BYTES`, `IMAGE_MAX_PIXELS`, and the
/// pipeline's defaults for side length and animation frames.
pub fn limits_from(settings: &crate::config::Settings) -> Limits {
    Limits {
        max_bytes: settings.images.max_bytes,
        max_pixels: settings.images.max_pixels,
        ..Limits::default()
    }
}

pub fn format_name(format: SourceFormat) -> &'static str {
    format.as_str()
}

pub fn content_type(format: &str) -> &'static str {
    match format {
        "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        _ => "application/octet-stream",
    }
}

/// The hex BLAKE3 id of `bytes` (the content address).
pub fn content_id(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

impl Images {
    /// Stores an original (idempotent) and returns its record, and whether it was new.
    pub async fn ingest(&self, bytes: Vec<u8>) -> Result<(ImageRecord, bool), IngestError> {
        let info = probe(&bytes, &self.limits)?;
        // Hashing 32 MiB takes ~10 ms: off the async workers.
        let (id, bytes) = tokio::task::spawn_blocking(move || (content_id(&bytes), bytes))
            .await
            .map_err(|e| IngestError::Storage(e.into()))?;
        if let Ok(Some(existing)) = self.db.get_image(&id).await {
            return Ok((existing, false));
        }
        let len = bytes.len();
        self.store
            .put(&id, bytes)
            .await
            .map_err(IngestError::Storage)?;
        let record = ImageRecord {
            id,
            width: info.width as i32,
            height: info.height as i32,
            format: format_name(info.format).to_owned(),
            bytes: len as i64,
            created_at: now(),
        };
        self.db
            .insert_image(&record)
            .await
            .map_err(|e| IngestError::Storage(e.into()))?;
        Ok((record, true))
    }

    /// Stores bytes whose validity is not known yet (a batch item) under their content id,
    /// without a database row: the job worker [`Images::ingest`]s them later, so a bad item
    /// fails in its job, not in the request that submitted it.
    pub async fn stage(&self, bytes: Vec<u8>) -> anyhow::Result<String> {
        let (id, bytes) = tokio::task::spawn_blocking(move || (content_id(&bytes), bytes)).await?;
        self.store.put(&id, bytes).await?;
        Ok(id)
    }

    /// The bytes stored under `id` (staged or ingested).
    pub async fn bytes(&self, id: &str) -> anyhow::Result<Option<Vec<u8>>> {
        self.store.get(id).await
    }

    pub async fn original(&self, id: &ImageId) -> anyhow::Result<Option<(ImageRecord, Vec<u8>)>> {
        let Some(record) = self.db.get_image(id.as_str()).await? else {
            return Ok(None);
        };
        Ok(self
            .store
            .get(id.as_str())
            .await?
            .map(|bytes| (record, bytes)))
    }
}
