//! Placeholders for images stored before placeholders existed.
//!
//! New images get theirs at ingest. A database from before has rows without one; their
//! products keep serving meanwhile (the `images` object simply has no `placeholder`). Each
//! instance runs a pass at start and every [`INTERVAL`]: it reads the rows without a
//! placeholder in batches of [`BATCH`], decodes each original in the CPU pool under the
//! memory budget (a decode just large enough for a 100 px rendition), stores the result, and
//! then drops the cached responses of the products showing those images (the same
//! invalidation a product write makes, so search pages are recomputed too). An original that
//! cannot be read as an image is marked ('' in both columns) and not tried again; one whose
//! object is missing here is skipped (another instance's store may have it); a store or
//! database failure ends the pass, and the next one resumes.
//!
//! Images are decoded one at a time, so a pass holds at most one CPU permit of the pool that
//! thumbnails share. Several instances may pass over the same rows at once: the result is the
//! same, the update only fills a row that is still empty, and the cost is one extra decode per
//! image — once.
//! Rows written later by an older binary (a rolling deploy) are found by the next pass.

use std::time::Duration;

use vitrine_common::placeholder::Placeholder;

use super::thumbs::{RenderError, Thumbnailer};
use crate::{cache::Cache, db::DbError};

/// Images looked at per batch (one database read, then one invalidation).
pub const BATCH: u32 = 32;
/// Time between passes.
pub const INTERVAL: Duration = Duration::from_secs(60);

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PassReport {
    /// Placeholders computed and stored.
    pub filled: u64,
    /// Originals that are not readable images: marked, never retried.
    pub unreadable: u64,
    /// Rows whose object is not in this instance's store: left for a later pass.
    pub missing: u64,
    /// Products whose cached responses were dropped.
    pub products: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error(transparent)]
    Db(#[from] DbError),
    /// Reading or decoding failed for a reason that may pass (the object store is down, the
    /// pool's task failed): the pass stops here, the next one resumes.
    #[error("computing a placeholder: {0}")]
    Interrupted(String),
}

/// One pass over every image without a placeholder.
pub async fn run_pass(thumbs: &Thumbnailer, cache: &Cache) -> Result<PassReport, PassError> {
    let db = &thumbs.images.db;
    let mut report = PassReport::default();
    let mut after = String::new();
    loop {
        let ids = db.images_without_placeholder(&after, BATCH).await?;
        let Some(last) = ids.last() else {
            return Ok(report);
        };
        after = last.clone();
        let mut changed = Vec::with_capacity(ids.len());
        for id in &ids {
            let (thumbhash, color) = match placeholder(thumbs, id).await? {
                Found::Placeholder(p) => {
                    report.filled += 1;
                    (p.thumbhash_base64(), p.color_hex())
                }
                Found::Unreadable => {
                    report.unreadable += 1;
                    (String::new(), String::new())
                }
                Found::Missing => {
                    report.missing += 1;
                    continue;
                }
            };
            if db.set_placeholder(id, &thumbhash, &color).await? {
                changed.push(id.as_str());
            }
        }
        let products = db.products_showing(&changed).await?;
        report.products += products.len() as u64;
        cache.invalidate_products(&products).await;
    }
}

/// What became of one row.
enum Found {
    Placeholder(Placeholder),
    Unreadable,
    Missing,
}

/// The placeholder of `id`'s original.
async fn placeholder(thumbs: &Thumbnailer, id: &str) -> Result<Found, PassError> {
    let bytes = match thumbs.load(id).await {
        Ok(bytes) => bytes,
        Err(RenderError::NotFound(_)) => return Ok(Found::Missing),
        Err(e) => return Err(PassError::Interrupted(e.to_string())),
    };
    match thumbs.placeholder_of(bytes).await {
        Ok(p) => Ok(Found::Placeholder(p)),
        Err(RenderError::Pipeline(e)) => {
            tracing::warn!(image_id = id, error = %e, "placeholder backfill: not a readable image");
            Ok(Found::Unreadable)
        }
        Err(e) => Err(PassError::Interrupted(e.to_string())),
    }
}

/// Runs a pass at start and every [`INTERVAL`] until `stop` turns true.
pub async fn backfill_loop(
    thumbs: Thumbnailer,
    cache: Cache,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        // A pass over a large old catalog can be long: shutdown does not wait for it (each
        // row's update is atomic; the decode in flight finishes in the pool by itself).
        let outcome = tokio::select! {
            outcome = run_pass(&thumbs, &cache) => outcome,
            _ = stop.changed() => return,
        };
        match outcome {
            Ok(r) if r.filled + r.unreadable > 0 => tracing::info!(
                filled = r.filled,
                unreadable = r.unreadable,
                products = r.products,
                "placeholder backfill pass"
            ),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "placeholder backfill pass stopped; retrying later")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(INTERVAL) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}
