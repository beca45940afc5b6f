//! Removing objects nothing refers to.
//!
//! An object without an `images` row is harmless — nothing reads it — but it costs storage:
//! an upload whose row insert failed after the put, a batch item staged and never ingested.
//! Every `OBJECT_STORE_ORPHAN_INTERVAL` a periodic job ([`KIND`], fired once per interval
//! across the instances sharing the database: `jobs::schedule`) lists the store and removes
//! objects older than `OBJECT_STORE_ORPHAN_GRACE` that neither an `images` row nor a
//! product's `image_id` names. Should two sweeps overlap anyway (a redelivered job), that is
//! harmless: deletes are idempotent.
//!
//! Races with a new upload of the same bytes: a put refreshes the object's time, and the
//! sweep looks at the time again (a `HEAD`) right before it deletes, after the database said
//! "unreferenced"; an upload that commits its row between those two steps would have put
//! first, and is seen as young. What remains is the window of one `HEAD` to `DELETE` round
//! trip. The grace period must also outlast the longest a staged batch item waits for its
//! job (`JOB_TTL` by default is the same 24 h).

use std::time::{Duration, SystemTime};

use futures::{FutureExt, StreamExt, future::BoxFuture};

use super::{
    Images,
    store::{ObjectMeta, StoreError},
};
use crate::{
    db::DbError,
    jobs::{ItemError, Task, TaskError, TaskHandler},
};

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    /// Objects listed.
    pub scanned: u64,
    /// Of those, older than the grace period.
    pub old: u64,
    /// Old, unreferenced and removed.
    pub removed: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Candidates are checked against the database this many at a time.
const BATCH: usize = 400;

/// One sweep as of `now`: removes objects last put before `now - grace` that nothing
/// refers to. Tests pass a `now` in the future to age objects without waiting.
pub async fn sweep(
    images: &Images,
    grace: Duration,
    now: SystemTime,
) -> Result<SweepReport, SweepError> {
    let cutoff = now.checked_sub(grace).unwrap_or(SystemTime::UNIX_EPOCH);
    let mut report = SweepReport::default();
    let mut old: Vec<ObjectMeta> = Vec::with_capacity(BATCH);
    let mut listing = images.store.list();
    while let Some(item) = listing.next().await {
        let meta = item?;
        report.scanned += 1;
        if meta.last_modified < cutoff {
            report.old += 1;
            old.push(meta);
        }
        if old.len() == BATCH {
            report.removed += remove_unreferenced(images, &old, cutoff).await?;
            old.clear();
        }
    }
    report.removed += remove_unreferenced(images, &old, cutoff).await?;
    Ok(report)
}

async fn remove_unreferenced(
    images: &Images,
    old: &[ObjectMeta],
    cutoff: SystemTime,
) -> Result<u64, SweepError> {
    if old.is_empty() {
        return Ok(0);
    }
    let ids: Vec<&str> = old.iter().map(|m| m.id.as_str()).collect();
    let referenced = images.db.referenced_image_ids(&ids).await?;
    let mut removed = 0;
    for meta in old.iter().filter(|m| !referenced.contains(m.id.as_str())) {
        // Put again since the listing (the same bytes uploaded anew): keep it.
        match images.store.head(&meta.id).await {
            Ok(now) if now.last_modified >= cutoff => continue,
            Ok(_) => {}
            Err(StoreError::NotFound) => continue,
            Err(e) => return Err(e.into()),
        }
        images.store.delete(&meta.id).await?;
        tracing::info!(
            image_id = meta.id.as_str(),
            bytes = meta.size,
            "removed an unreferenced object"
        );
        removed += 1;
    }
    Ok(removed)
}

/// The periodic job's task kind (and its schedule's name).
pub const KIND: &str = "object_store_orphans";

/// Runs one sweep per task; its report is the task's result. A store that fails is a
/// transient error (retried with backoff, like any job).
#[derive(Debug, Clone)]
pub struct OrphanSweepHandler {
    pub images: Images,
    pub grace: Duration,
}

impl TaskHandler for OrphanSweepHandler {
    fn handle<'a>(
        &'a self,
        _task: &'a Task,
    ) -> BoxFuture<'a, Result<serde_json::Value, TaskError>> {
        async move {
            let location = self.images.store.describe();
            match sweep(&self.images, self.grace, SystemTime::now()).await {
                Ok(r) => {
                    tracing::info!(
                        store = %location,
                        scanned = r.scanned,
                        old = r.old,
                        removed = r.removed,
                        "orphan sweep done"
                    );
                    Ok(serde_json::json!(r))
                }
                Err(e) => Err(TaskError::Transient(ItemError::new(
                    "sweep_failed",
                    format!("sweeping {location}: {e}"),
                ))),
            }
        }
        .boxed()
    }
}
