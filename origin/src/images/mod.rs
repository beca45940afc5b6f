//! Product images: originals stored content-addressed (BLAKE3 of the bytes), so uploading
//! the same file twice yields the same id and the bytes are never duplicated.
//!
//! The bytes go to an [`ObjectStore`] (a folder by default; an S3-compatible store can
//! implement the same trait), the metadata to the `images` table.

pub mod store;

use std::{io::Cursor, sync::Arc};

use vitrine_common::api::ImageId;

use crate::db::{Db, images::ImageRecord, products::now};
use store::ObjectStore;

/// Header-only limits applied before an original is accepted.
pub const MAX_ORIGINAL_BYTES: usize = 32 * 1024 * 1024;
pub const MAX_ORIGINAL_PIXELS: u64 = 50_000_000;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("the body is empty")]
    Empty,
    #[error("the image is {0} bytes; the limit is {MAX_ORIGINAL_BYTES}")]
    TooManyBytes(usize),
    #[error("not a supported image (JPEG, PNG, GIF or WebP): {0}")]
    Unsupported(String),
    #[error("the image is {width}x{height}; the limit is {MAX_ORIGINAL_PIXELS} pixels")]
    TooManyPixels { width: u32, height: u32 },
    #[error(transparent)]
    Storage(anyhow::Error),
}

#[derive(Clone)]
pub struct Images {
    pub store: Arc<dyn ObjectStore>,
    pub db: Db,
}

impl std::fmt::Debug for Images {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Images")
    }
}

/// Format and dimensions read from the header only (no pixel decoding).
pub fn probe(bytes: &[u8]) -> Result<(image::ImageFormat, u32, u32), IngestError> {
    if bytes.is_empty() {
        return Err(IngestError::Empty);
    }
    if bytes.len() > MAX_ORIGINAL_BYTES {
        return Err(IngestError::TooManyBytes(bytes.len()));
    }
    let format = image::guess_format(bytes).map_err(|e| IngestError::Unsupported(e.to_string()))?;
    if !matches!(
        format,
        image::ImageFormat::Jpeg
            | image::ImageFormat::Png
            | image::ImageFormat::Gif
            | image::ImageFormat::WebP
    ) {
        return Err(IngestError::Unsupported(format!("{format:?}")));
    }
    let (width, height) = image::ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|e| IngestError::Unsupported(e.to_string()))?;
    if u64::from(width) * u64::from(height) > MAX_ORIGINAL_PIXELS {
        return Err(IngestError::TooManyPixels { width, height });
    }
    Ok((format, width, height))
}

pub fn format_name(format: image::ImageFormat) -> &'static str {
    match format {
        image::ImageFormat::Jpeg => "jpeg",
        image::ImageFormat::Png => "png",
        image::ImageFormat::Gif => "gif",
        image::ImageFormat::WebP => "webp",
        _ => "unknown",
    }
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

impl Images {
    /// Stores an original (idempotent) and returns its record.
    pub async fn ingest(&self, bytes: Vec<u8>) -> Result<ImageRecord, IngestError> {
        let (format, width, height) = probe(&bytes)?;
        let id = blake3::hash(&bytes).to_hex().to_string();
        if let Ok(Some(existing)) = self.db.get_image(&id).await {
            return Ok(existing);
        }
        let len = bytes.len();
        self.store
            .put(&id, bytes)
            .await
            .map_err(IngestError::Storage)?;
        let record = ImageRecord {
            id,
            width: width as i32,
            height: height as i32,
            format: format_name(format).to_owned(),
            bytes: len as i64,
            created_at: now(),
        };
        self.db
            .insert_image(&record)
            .await
            .map_err(|e| IngestError::Storage(anyhow::anyhow!(e)))?;
        Ok(record)
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
