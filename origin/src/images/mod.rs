//! Product images: originals stored content-addressed (BLAKE3 of the bytes), so uploading
//! the same file twice yields the same id and the bytes are never duplicated, and thumbnails
//! made from them on demand.
//!
//! The bytes go to an [`ObjectStore`] (a folder by default, or an S3-compatible bucket), the
//! metadata to the `images` table; [`orphans`] removes objects that never got a row. An original is accepted only
//! when `common`'s pipeline [`probe`] accepts its header — the same sniffing and limits the
//! thumbnailer applies — so nothing is stored that could not later be resized, and a refusal
//! carries the pipeline's reason and status code (413 too large, 415 unsupported, 422 corrupt).
//!
//! [`thumbs`] makes thumbnails (bounded CPU pool, memory budget, coalescing) and is the one
//! ingest path (upload, batch items, demo catalog: decoded once, which also yields the
//! image's placeholder), [`cache`] keeps them on disk, [`urls`] builds signed `/img` URLs,
//! [`backfill`] computes the placeholders of images stored before they existed.

pub mod backfill;
pub mod batch;
pub mod cache;
pub mod orphans;
pub mod pool;
pub mod store;
pub mod thumbs;
pub mod urls;

use std::sync::Arc;

use vitrine_common::{
    api::ImageId,
    placeholder::Placeholder,
    thumbnail::{Limits, PipelineError, SourceFormat, probe},
};

use crate::db::{Db, DbError, images::ImageRecord, products::now};
use store::{ObjectStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The pipeline refused the bytes (empty, too large, unknown format, corrupt header…).
    #[error(transparent)]
    Refused(#[from] PipelineError),
    /// The object store failed: nothing was acknowledged, the client may retry.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The row could not be written (the object may be stored: harmless, see [`orphans`]).
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Internal(String),
}

/// Why an original could not be read (a missing row or object is `Ok(None)`, not an error).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Db(#[from] DbError),
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
    /// The largest object a read accepts (`IMAGE_MAX_BYTES`): nothing larger was ever stored.
    fn max_bytes(&self) -> u64 {
        self.limits.max_bytes as u64
    }

    /// Stores an original (idempotent) with the `placeholder` its decode produced, and returns
    /// its record, and whether it was new. Only [`thumbs::Thumbnailer::ingest_checked`] calls
    /// it: that is where an original is decoded before it is accepted.
    ///
    /// The object is stored first and the row committed second, and only then is the upload
    /// acknowledged: a row always has its object, while a crash between the two leaves an
    /// object without a row, which nothing reads and the orphan sweep removes. Known bytes
    /// whose row predates placeholders get this one (the decode was done anyway).
    pub(crate) async fn ingest(
        &self,
        bytes: Vec<u8>,
        placeholder: &Placeholder,
    ) -> Result<(ImageRecord, bool), IngestError> {
        let info = probe(&bytes, &self.limits)?;
        let (id, bytes) = hash_off_thread(bytes).await?;
        if let Ok(Some(mut existing)) = self.db.get_image(id.as_str()).await {
            // Known bytes: put them back only if the object went missing.
            if let Err(StoreError::NotFound) = self.store.head(&id).await {
                self.store.put(&id, bytes.into()).await?;
            }
            if existing.placeholder_color.is_none() {
                let (thumbhash, color) = (placeholder.thumbhash_base64(), placeholder.color_hex());
                // Unchanged when the background pass got there first, with the same result.
                self.db
                    .set_placeholder(&existing.id, &thumbhash, &color)
                    .await?;
                existing = existing.with_placeholder(placeholder);
            }
            return Ok((existing, false));
        }
        let len = bytes.len();
        self.store.put(&id, bytes.into()).await?;
        let record = ImageRecord {
            id: id.as_str().to_owned(),
            width: info.width as i32,
            height: info.height as i32,
            format: format_name(info.format).to_owned(),
            bytes: len as i64,
            created_at: now(),
            placeholder_thumbhash: None,
            placeholder_color: None,
        }
        .with_placeholder(placeholder);
        self.db.insert_image(&record).await?;
        Ok((record, true))
    }

    /// Stores bytes whose validity is not known yet (a batch item) under their content id,
    /// without a database row: the job worker [`Images::ingest`]s them later, so a bad item
    /// fails in its job, not in the request that submitted it. Until then the object is an
    /// orphan, kept for `OBJECT_STORE_ORPHAN_GRACE`.
    pub async fn stage(&self, bytes: Vec<u8>) -> Result<String, IngestError> {
        let (id, bytes) = hash_off_thread(bytes).await?;
        self.store.put(&id, bytes.into()).await?;
        Ok(id.as_str().to_owned())
    }

    /// The bytes stored under `id` (staged or ingested); `None` when there are none (or `id`
    /// is not a content id, under which nothing can be stored).
    pub async fn bytes(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let Ok(id) = ImageId::parse(id) else {
            return Ok(None);
        };
        match self.store.get(&id, self.max_bytes()).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// An ingested original: its row and its bytes; `None` when either is missing.
    pub async fn original(
        &self,
        id: &ImageId,
    ) -> Result<Option<(ImageRecord, Vec<u8>)>, ReadError> {
        let Some(record) = self.db.get_image(id.as_str()).await? else {
            return Ok(None);
        };
        match self.store.get(id, self.max_bytes()).await {
            Ok(bytes) => Ok(Some((record, bytes))),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// The content id of `bytes`, hashed on the blocking pool (32 MiB takes ~10 ms).
async fn hash_off_thread(bytes: Vec<u8>) -> Result<(ImageId, Vec<u8>), IngestError> {
    let (id, bytes) = tokio::task::spawn_blocking(move || (content_id(&bytes), bytes))
        .await
        .map_err(|e| IngestError::Internal(format!("hashing task: {e}")))?;
    let id = ImageId::parse(&id).map_err(|e| IngestError::Internal(e.to_string()))?;
    Ok((id, bytes))
}
