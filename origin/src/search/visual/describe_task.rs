//! The handler for `describe` items: one product image's visual descriptor, computed from its
//! original, stored, and indexed (see [`crate::search::visual`] for who submits them and how
//! other instances learn of the result).
//!
//! Each item names the model it is for (`model`, `version`). An instance running another
//! model (a rollout, with old and new instances on one queue) does not compute it: its own
//! output would be stored under its own version, not the one the submitter waits for. It
//! fails the attempt as transient (`model_mismatch`), so the queue re-queues the item with
//! backoff and a later attempt can reach an instance running that model; after
//! `JOB_MAX_ATTEMPTS` it is dead-lettered and the submitter's next start asks again. Items
//! without a version (from submitters older than the field) are computed with the running
//! model.

use futures::{FutureExt, future::BoxFuture};
use serde::Deserialize;

use super::VisualSearch;
use crate::jobs::{ItemError, Task, TaskError, TaskHandler};

pub const KIND: &str = "describe";

#[derive(Debug, Deserialize)]
struct DescribeItem {
    image_id: String,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    version: Option<i32>,
}

#[derive(Debug, Clone)]
pub struct DescribeHandler {
    pub visual: VisualSearch,
}

impl TaskHandler for DescribeHandler {
    fn handle<'a>(&'a self, task: &'a Task) -> BoxFuture<'a, Result<serde_json::Value, TaskError>> {
        async move {
            let item: DescribeItem = serde_json::from_value(task.payload.clone())
                .map_err(|e| TaskError::Permanent(ItemError::new("invalid_item", e.to_string())))?;
            let running = self.visual.embedder.version();
            if let Some(version) = item.version
                && version != running
            {
                return Err(TaskError::Transient(ItemError::new(
                    "model_mismatch",
                    format!(
                        "the item is for model {} (version {version}); this instance runs {} (version {running})",
                        item.model.as_deref().unwrap_or("?"),
                        self.visual.embedder.model_id()
                    ),
                )));
            }
            self.visual.describe_job(&item.image_id).await
        }
        .boxed()
    }
}
