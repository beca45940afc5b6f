//! The handler for `POST /api/images/batch` items: ingest the original (base64 items were
//! staged by content id at submission) and make its preset thumbnails in one decode, writing
//! them to the thumbnail cache so the returned `/img` URLs are served without rendering again.
//!
//! Bad input (not an image, too large, unknown id) is a permanent item error; storage and
//! internal failures are transient and retried.

use futures::{FutureExt, future::BoxFuture};
use serde::{Deserialize, Serialize};
use vitrine_common::thumbnail::{Format, OutputFormat, Preset};

use super::{IngestError, thumbs::RenderError, thumbs::Thumbnailer, urls};
use crate::jobs::{ItemError, Task, TaskError, TaskHandler};

pub const KIND: &str = "image_batch";

/// One batch item as queued.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageItem {
    /// Content id of the original (staged or already ingested).
    pub image: String,
    /// True when the bytes came in the batch body and still need ingesting.
    pub staged: bool,
    pub thumbnails: bool,
    pub sizes: Vec<String>,
    pub format: String,
}

#[derive(Debug, Clone)]
pub struct ImageBatchHandler {
    pub thumbs: Thumbnailer,
}

fn permanent(code: &str, message: impl Into<String>) -> TaskError {
    TaskError::Permanent(ItemError::new(code, message))
}

impl ImageBatchHandler {
    async fn run(&self, item: ImageItem) -> Result<serde_json::Value, TaskError> {
        let images = &self.thumbs.images;
        let record = if item.staged {
            let bytes = images
                .bytes(&item.image)
                .await
                .map_err(|e| TaskError::Transient(ItemError::new("storage", e.to_string())))?
                .ok_or_else(|| permanent("not_found", "the staged image is gone"))?;
            match self.thumbs.ingest_checked(bytes).await {
                Ok((record, _)) => record,
                Err(IngestError::Refused(p)) => return Err(permanent(p.code(), p.to_string())),
                Err(e) => {
                    return Err(TaskError::Transient(ItemError::new(
                        "storage",
                        e.to_string(),
                    )));
                }
            }
        } else {
            images
                .db
                .get_image(&item.image)
                .await
                .map_err(|e| TaskError::Transient(ItemError::new("database", e.to_string())))?
                .ok_or_else(|| permanent("not_found", format!("no image with id {}", item.image)))?
        };
        let mut result = serde_json::json!({
            "image_id": record.id,
            "width": record.width,
            "height": record.height,
            "format": record.format,
            "bytes": record.bytes,
            "url": format!("/api/images/{}", record.id),
            "placeholder": record.placeholder(),
        });
        if item.thumbnails && !item.sizes.is_empty() {
            let format = match vitrine_common::thumbnail::Format::parse(&item.format) {
                Ok(Format::Fixed(f)) => f,
                _ => OutputFormat::Jpeg,
            };
            let mut presets = Vec::new();
            for s in &item.sizes {
                presets
                    .push(Preset::parse(s).map_err(|e| permanent("invalid_size", e.to_string()))?);
            }
            let jobs = presets
                .iter()
                .map(|p| {
                    let mut spec = p.spec();
                    spec.format = Format::Fixed(format);
                    (spec, format)
                })
                .collect();
            let outputs = self
                .thumbs
                .render_set(&record.id, jobs)
                .await
                .map_err(|e| match e {
                    RenderError::Pipeline(p) => permanent(p.code(), p.to_string()),
                    RenderError::NotFound(m) => permanent("not_found", m),
                    RenderError::Store(e) => {
                        TaskError::Transient(ItemError::new("storage", e.to_string()))
                    }
                    RenderError::Internal(m) => TaskError::Transient(ItemError::new("internal", m)),
                })?;
            let mut thumbs = serde_json::Map::new();
            for (preset, out) in presets.iter().zip(outputs) {
                thumbs.insert(
                    preset.as_str().to_owned(),
                    serde_json::json!({
                        "url": urls::preset_url(&self.thumbs.keys, *preset, Some(format), &record.id),
                        "width": out.width,
                        "height": out.height,
                        "format": out.format.as_str(),
                        "bytes": out.bytes.len(),
                    }),
                );
            }
            result["thumbnails"] = serde_json::Value::Object(thumbs);
        }
        Ok(result)
    }
}

impl TaskHandler for ImageBatchHandler {
    fn handle<'a>(&'a self, task: &'a Task) -> BoxFuture<'a, Result<serde_json::Value, TaskError>> {
        async move {
            let item: ImageItem = serde_json::from_value(task.payload.clone())
                .map_err(|e| permanent("invalid_item", e.to_string()))?;
            self.run(item).await
        }
        .boxed()
    }
}
