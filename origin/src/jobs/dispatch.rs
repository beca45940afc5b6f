//! Routing a task to the handler of its kind. The kinds are registered by whoever starts the
//! workers (the domain modules own their handlers: image batches in `images::batch`, visual
//! descriptors in `search::visual::describe_task`), so the queue knows no domain.

use std::sync::Arc;

use futures::{FutureExt, future::BoxFuture};

use super::{ItemError, Task, TaskError, TaskHandler};

/// The kind every queue accepts without a handler: it succeeds with `null` (used by tests
/// and to check a deployment's workers end to end).
pub const NOOP: &str = "noop";

/// Dispatches tasks by kind; an unknown kind fails permanently (`unknown_kind`).
#[derive(Clone, Default)]
pub struct Dispatcher {
    handlers: Vec<(&'static str, Arc<dyn TaskHandler>)>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kinds: Vec<&str> = self.handlers.iter().map(|(k, _)| *k).collect();
        f.debug_struct("Dispatcher").field("kinds", &kinds).finish()
    }
}

impl Dispatcher {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the handler of `kind` (a later registration of the same kind wins).
    pub fn with(mut self, kind: &'static str, handler: impl TaskHandler + 'static) -> Self {
        self.handlers.retain(|(k, _)| *k != kind);
        self.handlers.push((kind, Arc::new(handler)));
        self
    }
}

impl TaskHandler for Dispatcher {
    fn handle<'a>(&'a self, task: &'a Task) -> BoxFuture<'a, Result<serde_json::Value, TaskError>> {
        if let Some((_, handler)) = self.handlers.iter().find(|(k, _)| *k == task.kind) {
            return handler.handle(task);
        }
        if task.kind == NOOP {
            return async { Ok(serde_json::Value::Null) }.boxed();
        }
        let e = TaskError::Permanent(ItemError::new(
            "unknown_kind",
            format!("no handler for job kind {:?}", task.kind),
        ));
        async move { Err(e) }.boxed()
    }
}
