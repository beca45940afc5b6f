//! Changes made elsewhere: another instance's writes (announced over the cache's pub/sub) and
//! writes no announcement covers (the import command, an instance without Redis), which the
//! sync loop finds in the database.
//!
//! Both read the database for what the text index lacks and propagate it in the order of
//! `propagate.rs`. The announcement path stops after the indexes: the cache applies the other
//! instance's invalidation itself right after the hook returns, so it never re-caches a search
//! from an index that does not have the write yet.

use std::time::Duration;

use vitrine_common::cache_key::Namespace;

use super::{
    Catalog,
    propagate::{Change, Indexes},
};
use crate::cache::Cache;

/// Makes `cache` catch `indexes` up before it applies another instance's `search`
/// invalidation. The hook holds the indexes, not the catalog, so the cache does not end up
/// holding itself.
pub(super) fn install_hook(cache: &Cache, indexes: Indexes) {
    cache.set_remote_hook(std::sync::Arc::new(move |ns| {
        let indexes = indexes.clone();
        Box::pin(async move {
            if ns != Namespace::Search {
                return;
            }
            if let Err(e) = indexes.catch_up(Change::FromDatabase).await {
                tracing::warn!(error = %e, "search index sync before invalidation failed");
            }
        })
    }));
}

impl Catalog {
    /// Every `every` until `stop` changes, propagates what the database holds that the text
    /// index lacks: writes made outside this process's catalog reach the cache only through
    /// here. Returns at once when `every` is zero.
    pub async fn sync_loop(self, every: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
        if every.is_zero() {
            return;
        }
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => return,
            }
            if let Err(e) = self.propagate(Change::FromDatabase).await {
                tracing::warn!(error = %e, "search index sync failed; will retry");
            }
        }
    }
}
