//! The order of propagation, in one place: database (already written by the caller) → text
//! index → visual search → response cache invalidation (which also announces the change to
//! other instances).
//!
//! Why this order: a read that misses the cache computes from the indexes and caches the
//! result under the current generation. Invalidating before an index has the write would let
//! a read in between cache the old answer under the new generation, where it would stay
//! until its TTL. So the indexes catch up first and the cache is invalidated last; another
//! instance that hears the announcement catches its own indexes up before it drops its
//! entries (`remote.rs`).

use vitrine_common::{api::Product, cache_key::Namespace};

use super::{Catalog, CatalogError};
use crate::{
    db::Db,
    search::{SearchIndex, visual::VisualSearch},
};

/// Rows a write changed, as the database returned them.
#[derive(Debug, Default)]
pub(super) struct Written {
    pub upserts: Vec<Product>,
    pub deletes: Vec<i64>,
}

impl Written {
    pub fn upserted(upserts: Vec<Product>) -> Written {
        Written {
            upserts,
            deletes: Vec::new(),
        }
    }

    pub fn deleted(deletes: Vec<i64>) -> Written {
        Written {
            upserts: Vec::new(),
            deletes,
        }
    }

    fn is_empty(&self) -> bool {
        self.upserts.is_empty() && self.deletes.is_empty()
    }

    fn ids(&self) -> Vec<i64> {
        self.upserts
            .iter()
            .map(|p| p.id)
            .chain(self.deletes.iter().copied())
            .collect()
    }
}

/// What the indexes must catch up with.
#[derive(Debug)]
pub(super) enum Change {
    /// Rows this process wrote: applied as given.
    Rows(Written),
    /// Whatever the database holds that the text index lacks (another instance's writes,
    /// the import command): read from the database.
    FromDatabase,
}

/// What the indexes caught up with, so the cache can drop exactly that.
#[derive(Debug)]
pub(super) enum CaughtUp {
    Rows(Written),
    /// Another synonym set was loaded (and these rows caught up): every cached search may
    /// be stale.
    Synonyms(Written),
    /// The text index was rebuilt (rows were deleted elsewhere): anything may have changed.
    Rebuilt,
}

/// The text index and visual search, with the database they catch up from.
#[derive(Clone, Debug)]
pub(super) struct Indexes {
    pub db: Db,
    pub search: SearchIndex,
    pub visual: VisualSearch,
}

impl Indexes {
    /// Steps 1 and 2: the text index, then visual search.
    pub async fn catch_up(&self, change: Change) -> Result<CaughtUp, CatalogError> {
        let caught = match change {
            Change::Rows(written) => {
                if !written.is_empty() {
                    self.search
                        .apply(written.upserts.clone(), written.deletes.clone())
                        .await
                        .map_err(CatalogError::Index)?;
                }
                CaughtUp::Rows(written)
            }
            Change::FromDatabase => {
                let outcome = self
                    .search
                    .sync(&self.db)
                    .await
                    .map_err(CatalogError::Index)?;
                if outcome.rebuilt {
                    CaughtUp::Rebuilt
                } else if outcome.synonyms_changed {
                    CaughtUp::Synonyms(Written::upserted(outcome.changed))
                } else {
                    CaughtUp::Rows(Written::upserted(outcome.changed))
                }
            }
        };
        match &caught {
            CaughtUp::Rows(written) | CaughtUp::Synonyms(written) => {
                if !written.upserts.is_empty() {
                    self.visual.on_products_changed(&written.upserts).await;
                }
                if !written.deletes.is_empty() {
                    self.visual.on_products_deleted(&written.deletes);
                }
            }
            CaughtUp::Rebuilt => {
                if let Err(e) = self.visual.load().await {
                    tracing::warn!(error = %e, "visual index reload failed");
                }
            }
        }
        Ok(caught)
    }
}

impl Catalog {
    /// Propagates a change in the one order: indexes first, then the cache (and with it the
    /// announcement to other instances). A database-only catalog has nothing to propagate to.
    pub(super) async fn propagate(&self, change: impl Into<Change>) -> Result<(), CatalogError> {
        let Some(serving) = &self.serving else {
            return Ok(());
        };
        match serving.indexes.catch_up(change.into()).await? {
            CaughtUp::Rows(written) => serving.cache.invalidate_products(&written.ids()).await,
            CaughtUp::Synonyms(written) => {
                serving.cache.invalidate_products(&written.ids()).await;
                serving.cache.invalidate_namespace(Namespace::Search).await;
            }
            CaughtUp::Rebuilt => {
                serving.cache.invalidate_namespace(Namespace::Product).await;
                serving.cache.invalidate_namespace(Namespace::Search).await;
            }
        }
        Ok(())
    }
}

impl From<Written> for Change {
    fn from(written: Written) -> Change {
        Change::Rows(written)
    }
}
