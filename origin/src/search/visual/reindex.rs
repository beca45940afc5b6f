//! Re-indexing after a model change, in the background.
//!
//! At start the index is loaded from the rows of the running model; a product whose image
//! has only rows of another model is loaded from one of those when its vector has the
//! running model's length (a new descriptor version or new weights of the same network), so
//! search keeps answering with the old vectors until each is replaced. Vectors of another
//! length cannot be compared with the running model's queries; those products join the
//! index when their new row lands.
//!
//! Then every product image without a row of the running model is queued as `describe`
//! jobs on the shared queue, [`BATCH`] images at a time: the next batch is queued once every
//! image of the previous one is resolved (indexed, or given up on), so a large catalog never
//! floods the queue ahead of shoppers' batches. Progress is in `/api/health/detailed`
//! (`components.search.visual.reindex`) and the `vitrine_visual_reindex_*_images` gauges.

use std::{
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    time::Duration,
};

use super::{VisualSearch, WeakVisual};

/// Images per re-index batch (one `describe` job).
pub const BATCH: u32 = 500;
/// How often a batch's progress is looked at.
const POLL: Duration = Duration::from_millis(100);
/// How long to wait before trying again when the database fails.
const RETRY: Duration = Duration::from_secs(5);

/// How far the re-index of this start has come.
#[derive(Debug, Default)]
pub struct Progress {
    /// Product images found without a row of the running model (and more found later).
    queued: AtomicU64,
    /// Of those, images resolved: indexed with the running model, or given up on.
    done: AtomicU64,
    running: AtomicBool,
}

impl Progress {
    pub fn queued(&self) -> u64 {
        self.queued.load(Ordering::Relaxed)
    }
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }
    pub fn running(&self) -> bool {
        self.running.load(Ordering::Relaxed)
    }
}

impl VisualSearch {
    /// Loads the rows of other models whose vectors have the running model's length for
    /// products without a row of the running model. Returns how many products.
    pub(super) async fn load_stale(&self) -> anyhow::Result<usize> {
        let (version, dims) = (self.embedder.version(), self.embedder.dims() as i32);
        let (mut after, mut loaded) = (0, 0);
        loop {
            let rows = self
                .shared
                .db
                .stale_indexed_products(version, dims, after, 5_000)
                .await?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            for r in rows {
                if self.load_row(r) {
                    loaded += 1;
                }
            }
        }
        Ok(loaded)
    }

    /// Starts the background re-index (see the module docs); serving does not wait for it.
    /// A reload while one runs (the text index was rebuilt) leaves it to the running one,
    /// whose pages reach images added since.
    pub(super) fn spawn_reindex(&self) {
        if self.shared.reindex.running.swap(true, Ordering::Relaxed) {
            return;
        }
        let task = tokio::spawn(reindex(self.downgrade()));
        if let Ok(mut t) = self.shared.tasks.lock() {
            t.push(task);
        }
    }

    /// The re-index's progress.
    pub fn reindex_progress(&self) -> &Progress {
        &self.shared.reindex
    }
}

async fn reindex(weak: WeakVisual) {
    let mut after = String::new();
    let mut done_before = 0u64;
    let mut counted = false;
    loop {
        let Some(visual) = weak.upgrade() else { return };
        let (db, progress) = (&visual.shared.db, &visual.shared.reindex);
        let version = visual.embedder.version();
        if !counted {
            match db.count_images_missing_descriptors(version).await {
                Ok(n) => {
                    progress.queued.store(n as u64, Ordering::Relaxed);
                    counted = true;
                    if n > 0 {
                        tracing::info!(
                            images = n,
                            model = %visual.embedder.model_id(),
                            "re-indexing product images for the running visual model"
                        );
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "visual re-index: counting failed; retrying");
                    drop(visual);
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            }
        }
        let batch = match db
            .images_missing_descriptors_after(version, &after, BATCH)
            .await
        {
            Ok(batch) => batch,
            Err(e) => {
                tracing::warn!(error = %e, "visual re-index: listing failed; retrying");
                drop(visual);
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        let Some(last) = batch.last() else {
            progress.running.store(false, Ordering::Relaxed);
            tracing::info!(images = done_before, "visual re-index finished");
            return;
        };
        after = last.clone();
        let n = batch.len() as u64;
        progress
            .queued
            .fetch_max(done_before + n, Ordering::Relaxed);
        visual.request(batch.clone()).await;
        drop(visual);
        // Resolved: no longer awaited (indexed, failed for good, or given up on).
        loop {
            let Some(visual) = weak.upgrade() else { return };
            let left = batch.iter().filter(|id| visual.is_awaited(id)).count() as u64;
            visual
                .shared
                .reindex
                .done
                .store(done_before + n - left, Ordering::Relaxed);
            if left == 0 {
                break;
            }
            drop(visual);
            tokio::time::sleep(POLL).await;
        }
        done_before += n;
    }
}
