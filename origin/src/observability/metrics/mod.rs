//! Every Prometheus metric the origin exports, declared in one place with its help text, and
//! the small recording functions the rest of the origin calls.
//!
//! Why one place: the alert rules and the Grafana dashboard under `deploy/` read these names
//! (`scripts/ci/check-deploy.sh --list-metrics` prints them), so a name or label changed here
//! must be changed there, and a test scrapes a running origin to check that every one of them
//! is exported. Labels are bounded by construction: the HTTP `endpoint` is the route
//! *template* (`/api/products/{id}`, never `/api/products/123`), `method` is one of the
//! standard methods or `OTHER`, and every other label value is a `&'static str` chosen by
//! the code, never by a client.
//!
//! Each [`Metrics`] has its own [`Registry`] (not the process-global default) so that tests
//! can run several apps in one process. Label values the origin knows in advance (cache
//! operations, image stages and failure reasons, compression algorithms, rate-limit
//! decisions) are created at start, so every series exists at zero from the first scrape and
//! `rate()` works from the start.
//!
//! # Recording, one line per event
//!
//! | where | call |
//! |---|---|
//! | HTTP middleware (`routes::record`) | [`Metrics::record_request`] |
//! | `Db::timed` | [`Metrics::db_query`] with a `query_type` such as `"product_get"` |
//! | cache lookups (`cache::stats`) | [`Metrics::cache_get`]`(Namespace::Search, "l1", hit)`; an `l2` get only after an `l1` miss |
//! | other cache operations (`cache::stats`) | [`Metrics::cache_op`]`("set", "ok", "l2")` |
//! | response compression (`compression`) | [`Metrics::compression`]`("br", bytes_in, bytes_out)` |
//! | rate limiting (`rate_limit::middleware`) | [`Metrics::rate_limit`]`(allowed)` |
//! | image pipeline (`images::thumbs`) | [`Metrics::image_stage`]`("pipeline", secs)`, [`Metrics::image_processed`]`("webp")`, [`Metrics::image_failed`]`(err.code())` |
//! | connections (`http::serve`) | [`connections::ConnectionMetrics`]`::opened()`, `ended()`, `capped()`, `closed(reason)` |
//! | visual re-index progress (read at scrape time) | [`Metrics::visual_reindex`]`(queued, done)` |
//! | jobs (`jobs::worker`; `queued` read from the queue at scrape time) | [`Metrics::jobs_queued`]`(n)`, [`Metrics::jobs_running`]`(n)`, [`Metrics::job_completed`]`(secs)`, [`Metrics::job_failed`]`(secs)`, [`Metrics::job_dead_lettered`]`()` |
//!
//! The same calls feed the five-minute windows behind `GET /api/performance`
//! ([`window`], [`performance`]). With `MONITORING_ENABLED=false` every call returns at once.
//! Gauges that describe state owned elsewhere (database pool, cache hit rate) are refreshed
//! when Prometheus scrapes, in [`Metrics::render`].

pub mod connections;
pub mod performance;
mod record;
mod registry;
mod report;
pub mod window;

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard, OnceLock},
    time::{Duration, Instant},
};

use http::{Method, StatusCode};
use prometheus::{
    Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder, core::Collector,
};
use vitrine_common::{cache_key::Namespace, negotiate::Encoding};

use super::{
    PoolStats,
    cache_labels::{Operation, Status, Tier},
    striped::{STRIPES, stripe},
};
use crate::config::Settings;
use crossbeam_utils::CachePadded;
use window::{AtomicRolling, Counts, LatencyHist, Requests, Rolling};

/// The `endpoint` label of requests that matched no route (404s from the fallback), so that
/// scanners probing random paths cannot create series.
pub const UNMATCHED_ENDPOINT: &str = "unmatched";

/// The content type of the Prometheus text exposition format.
pub const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// HTTP latency buckets: 1 ms to 10 s, with bounds at the KPIs (500 ms p95, 1 s p99) and at
/// the 2 s "High Response Time" threshold.
const HTTP_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0,
];
/// Database query buckets: 0.5 ms to 30 s (`QUERY_TIMEOUT`'s default), with a bound at the
/// 100 ms p95 KPI.
const DB_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Image pipeline stage buckets: 1 ms (a small resize) to 30 s (a huge decode).
const IMAGE_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Job buckets: 10 ms to 10 minutes (batch image jobs).
const JOB_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

/// The pipeline's stages, as `image_processing_duration_seconds{stage}` (see
/// `common/src/thumbnail/pipeline/`).
///
/// `wait`: queued for the memory budget and a CPU permit; `pipeline`: the pure pipeline
/// (probe, decode with shrink-on-load, orientation, resize, encode) in one blocking call.
/// `common` never reads the clock, so the pipeline's own steps are not timed separately.
pub const IMAGE_STAGES: &[&str] = &["wait", "pipeline"];
/// Output formats, as `images_processed_total{format}`.
pub const IMAGE_FORMATS: &[&str] = &["jpeg", "webp", "png"];
/// Failure reasons, as `images_failed_total{reason}`: `PipelineError::code()` plus
/// `internal` for anything else (a panicked or cancelled worker).
pub const IMAGE_FAILURES: &[&str] = &[
    "empty_input",
    "too_many_bytes",
    "unknown_format",
    "unsupported_format",
    "too_large",
    "too_many_frames",
    "truncated",
    "corrupt",
    "unsupported_output",
    "encode_failed",
    "internal",
];

/// Cache (operation, status) pairs created at start for each tier.
/// These are the pairs `cache::stats` records.
const CACHE_PRESET: &[(&str, &str)] = &[
    ("get", "hit"),
    ("get", "miss"),
    ("get", "error"),
    ("get", "skipped"),
    ("set", "ok"),
    ("set", "error"),
    ("set", "skipped"),
    ("delete", "ok"),
    ("delete", "error"),
    ("delete", "skipped"),
];

/// The origin's metrics. Cheap to share (`Arc<Metrics>` in `AppState`); every method takes
/// `&self`.
pub struct Metrics {
    enabled: bool,
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    cache_operations: IntCounterVec,
    /// `cache_operations` children by (operation, status, tier) index, resolved on first use
    /// so a hit costs one atomic add, not a label hash and a lock.
    cache_children: [[[OnceLock<IntCounter>; 2]; 5]; 3],
    /// Per thread stripe and namespace (in `Namespace::ALL` order): a: l1 lookups, b: hits
    /// of either tier. Striped so that L1 hits on different cores never write one line.
    cache_window: Box<[[AtomicRolling; Namespace::ALL.len()]; STRIPES]>,
    cache_hit_rate: Gauge,
    db_connections_active: IntGauge,
    db_connections_max: IntGauge,
    db_query_duration: HistogramVec,
    image_duration: HistogramVec,
    images_processed: IntCounterVec,
    images_failed: IntCounterVec,
    jobs_queued: IntGauge,
    jobs_running: IntGauge,
    jobs_completed: IntCounter,
    jobs_failed: IntCounter,
    jobs_dead_lettered: IntCounter,
    job_duration: Histogram,
    compression_in: IntCounterVec,
    compression_out: IntCounterVec,
    rate_limit: IntCounterVec,
    visual_reindex_queued: IntGauge,
    visual_reindex_done: IntGauge,
    memory_budget: IntGauge,
    /// Client connections (the accept loop in `http::serve`).
    pub connections: connections::ConnectionMetrics,
    /// The windows' clock: seconds since this struct was made.
    clock: Instant,
    windows: Mutex<Windows>,
    /// Per thread stripe: each endpoint's window and its Prometheus children, so a request
    /// takes an uncontended lock and no label hashing (see [`Metrics::record_request`]).
    request_series: Box<[CachePadded<Mutex<RequestSeries>>]>,
}

/// method → route template → that endpoint's series, in one thread stripe.
type RequestSeries = HashMap<&'static str, HashMap<String, EndpointSeries>>;

/// One endpoint's five-minute window and its resolved Prometheus children.
struct EndpointSeries {
    window: Rolling<Requests>,
    duration: prometheus::Histogram,
    /// `http_requests_total` children by status code (a handful per endpoint).
    by_status: Vec<(StatusCode, IntCounter)>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// The five-minute windows behind `/api/performance`.
#[derive(Default)]
pub(crate) struct Windows {
    pub(crate) queries: HashMap<&'static str, Rolling<LatencyHist>>,
    /// (a: completed, b: failed, c: dead-lettered).
    pub(crate) jobs: Rolling<Counts>,
    /// algorithm → (a: bytes in, b: bytes out).
    pub(crate) compression: HashMap<&'static str, Rolling<Counts>>,
}

/// The `method` label: standard methods by name, anything else as `OTHER` (a client can
/// send any token as a method).
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

fn lock(m: &Mutex<Windows>) -> MutexGuard<'_, Windows> {
    // A panic while holding the lock leaves at worst a half-counted sample: keep going.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Metrics {
    /// False when `MONITORING_ENABLED=false`: nothing is recorded.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whole seconds on the windows' clock.
    fn now(&self) -> u64 {
        self.clock.elapsed().as_secs()
    }
}
