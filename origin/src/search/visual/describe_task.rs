//! The handler for `describe` items: one product image's visual descriptor, computed from its
//! original, stored, and indexed (see [`crate::search::visual`] for who submits them and how
//! other instances learn of the result).

use futures::{FutureExt, future::BoxFuture};
use serde::Deserialize;

use super::VisualSearch;
use crate::jobs::{ItemError, Task, TaskError, TaskHandler};

pub const KIND: &str = "describe";

#[derive(Debug, Deserialize)]
struct DescribeItem {
    image_id: String,
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
            self.visual.describe_job(&item.image_id).await
        }
        .boxed()
    }
}
