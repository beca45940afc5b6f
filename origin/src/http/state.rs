//! The one application state every handler receives, with sub-states that handlers can
//! extract on their own through `FromRef`.
//!
//! Why one `Arc` around all of it: the state is cloned for every request by every layer
//! that takes it (`State` extractors, `from_fn_with_state` middleware). Cloning a struct of
//! a dozen `Arc`s meant a dozen atomic increments and decrements on counters every core
//! shares, which a profile of cached searches under load showed at ~18 % of CPU; one `Arc`
//! makes a clone a single increment. Fields are reached through `Deref` (`state.db`).

use std::{sync::Arc, time::Instant};

use axum::extract::FromRef;

use crate::{
    cache::Cache,
    catalog::Catalog,
    config::Settings,
    db::Db,
    http::auth::ApiKeys,
    http::middleware::compression::CompressionStats,
    images::{Images, thumbs::Thumbnailer},
    jobs::{Jobs, schedule::Scheduler},
    observability::Metrics,
    observability::RequestStats,
    rate_limit::RateLimiter,
    search::{SearchIndex, visual::VisualSearch},
};

/// A cheap handle on [`AppParts`] (one `Arc`).
#[derive(Clone, Debug)]
pub struct AppState(Arc<AppParts>);

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

impl From<AppParts> for AppState {
    fn from(parts: AppParts) -> Self {
        AppState(Arc::new(parts))
    }
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct AppParts {
    pub settings: Arc<Settings>,
    pub db: Db,
    /// The only way products change (reads go to `db` and `search` directly).
    pub catalog: Catalog,
    pub search: SearchIndex,
    pub visual: VisualSearch,
    pub images: Images,
    /// Thumbnails: bounded CPU pool, memory budget, disk cache, coalescing.
    pub thumbs: Thumbnailer,
    /// The job queue (Redis Streams or in-process) and its counters.
    pub jobs: Jobs,
    /// Periodic jobs: what is scheduled, the next occurrence, the runs fired.
    pub schedules: Arc<Scheduler>,
    pub api_keys: ApiKeys,
    pub stats: Arc<RequestStats>,
    /// Prometheus metrics and the windows behind `/api/performance`.
    pub metrics: Arc<Metrics>,
    pub started_at: Instant,
    /// The two-tier response cache (L1 moka, L2 Redis).
    pub cache: Cache,
    /// Per-client GCRA limits (Redis-shared, in-process fallback).
    pub rate_limiter: Arc<RateLimiter>,
    /// Bytes in/out and time per compression algorithm.
    pub compression: Arc<CompressionStats>,
}

impl FromRef<AppState> for Db {
    fn from_ref(state: &AppState) -> Self {
        state.db.clone()
    }
}

impl FromRef<AppState> for SearchIndex {
    fn from_ref(state: &AppState) -> Self {
        state.search.clone()
    }
}

impl FromRef<AppState> for ApiKeys {
    fn from_ref(state: &AppState) -> Self {
        state.api_keys.clone()
    }
}
