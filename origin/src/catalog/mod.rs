//! The catalog: the only way products change.
//!
//! Every product write (create, update, delete, bulk upsert, import, demo seeding) and every
//! change another instance made goes through [`Catalog`], because a write is not done when the
//! database has it: the text index, visual search and the response cache (with the
//! announcement to other instances) must follow, in that order. The order is a correctness
//! rule: an index must have caught up before anything can re-cache a read, or a search
//! computed from the old index would be cached under the new generation. `propagate.rs` is
//! the one place that order is written down; the other files only say what changed.
//!
//! The catalog holds what it needs, not the router's state: the database, the text index,
//! visual search and the response cache (whose invalidations are also the announcements
//! other instances hear).
//!
//! * `write.rs`: the write operations (database first, then [`propagate`]).
//! * `propagate.rs`: the order of propagation.
//! * `remote.rs`: changes made elsewhere (another instance's announcement, the sync loop).
//! * `synonyms.rs`: replacing the search synonyms (database, index, cache, in the same order).
//! * `import.rs`, `demo/`: bulk loads from a file and the demo catalog, written through here.

pub mod demo;
pub mod import;
mod propagate;
mod remote;
mod synonyms;
mod write;

use crate::{
    cache::Cache,
    db::Db,
    search::{SearchIndex, visual::VisualSearch},
};

use self::propagate::Indexes;

/// The catalog handle: cheap to clone (handles with `Arc`s inside).
#[derive(Clone, Debug)]
pub struct Catalog {
    db: Db,
    /// What a write propagates to; `None` in a process that serves nothing (the import
    /// command), whose writes reach serving instances through their sync loop.
    serving: Option<Serving>,
}

/// The serving side a write propagates to.
#[derive(Clone, Debug)]
struct Serving {
    indexes: Indexes,
    cache: Cache,
}

/// Why a catalog write failed.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The database refused or failed the write (nothing changed).
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    /// The database has the write but an index could not follow it.
    #[error(transparent)]
    Index(anyhow::Error),
}

impl Catalog {
    /// A serving catalog: writes propagate to `search`, `visual` and `cache`, and the cache's
    /// remote invalidations first catch this instance's indexes up (see `remote.rs`).
    pub fn new(db: Db, search: SearchIndex, visual: VisualSearch, cache: Cache) -> Catalog {
        let indexes = Indexes {
            db: db.clone(),
            search,
            visual,
        };
        remote::install_hook(&cache, indexes.clone());
        Catalog {
            db,
            serving: Some(Serving { indexes, cache }),
        }
    }

    /// A catalog that writes the database only, for a process that serves nothing (the
    /// import command): serving instances pick its writes up in their sync loop.
    pub fn database_only(db: Db) -> Catalog {
        Catalog { db, serving: None }
    }
}
