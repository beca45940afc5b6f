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
//! | jobs (`jobs::worker`; `queued` read from the queue at scrape time) | [`Metrics::jobs_queued`]`(n)`, [`Metrics::jobs_running`]`(n)`, [`Metrics::job_completed`]`(secs)`, [`Metrics::job_failed`]`(secs)`, [`Metrics::job_dead_lettered`]`()` |
//!
//! The same calls feed the five-minute windows behind `GET /api/performance`
//! ([`window`], [`performance`]). With `MONITORING_ENABLED=false` every call returns at once.
//! Gauges that describe state owned elsewhere (database pool, cache hit rate) are refreshed
//! when Prometheus scrapes, in [`Metrics::render`].

pub mod performance;
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

use crate::{
    cache::{
        stats::{Operation, Status, Tier},
        striped::{STRIPES, stripe},
    },
    config::Settings,
    db::PoolStats,
};
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
/// `common/src/thumbnail/pipeline.rs`).
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
    memory_budget: IntGauge,
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

fn counter_vec(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<IntCounterVec> {
    let c = IntCounterVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(c.clone()))?;
    Ok(c)
}

fn histogram_vec(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: &[f64],
) -> prometheus::Result<HistogramVec> {
    let h = HistogramVec::new(
        HistogramOpts::new(name, help).buckets(buckets.to_vec()),
        labels,
    )?;
    r.register(Box::new(h.clone()))?;
    Ok(h)
}

fn int_gauge(r: &Registry, name: &str, help: &str) -> prometheus::Result<IntGauge> {
    let g = IntGauge::new(name, help)?;
    r.register(Box::new(g.clone()))?;
    Ok(g)
}

fn int_counter(r: &Registry, name: &str, help: &str) -> prometheus::Result<IntCounter> {
    let c = IntCounter::new(name, help)?;
    r.register(Box::new(c.clone()))?;
    Ok(c)
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
    /// Declares every metric in a fresh registry.
    pub fn new(settings: &Settings) -> prometheus::Result<Metrics> {
        let r = Registry::new();
        let m = Metrics {
            enabled: settings.monitoring_enabled,
            http_requests: counter_vec(
                &r,
                "http_requests_total",
                "HTTP requests answered, by method, route template and status code.",
                &["method", "endpoint", "status"],
            )?,
            http_duration: histogram_vec(
                &r,
                "http_request_duration_seconds",
                "Time from receiving a request to its response head, by method and route template.",
                &["method", "endpoint"],
                HTTP_BUCKETS,
            )?,
            cache_operations: counter_vec(
                &r,
                "cache_operations_total",
                "Cache operations by operation (get, set, invalidate), outcome (hit, miss, ok, error) and tier (l1 in-process, l2 Redis). An l2 get is counted only after an l1 miss.",
                &["operation", "status", "tier"],
            )?,
            cache_children: Default::default(),
            cache_window: Default::default(),
            cache_hit_rate: {
                let g = Gauge::new(
                    "cache_hit_rate",
                    "Share of cache lookups answered by either tier over the last 5 minutes (0 when there were none).",
                )?;
                r.register(Box::new(g.clone()))?;
                g
            },
            db_connections_active: int_gauge(
                &r,
                "db_connections_active",
                "Database connections checked out of the pool (open minus idle).",
            )?,
            db_connections_max: int_gauge(
                &r,
                "db_connections_max",
                "Largest number of connections the database pool may open (CONNECTION_POOL_SIZE).",
            )?,
            db_query_duration: histogram_vec(
                &r,
                "db_query_duration_seconds",
                "Database query time including waiting for a pooled connection, by query type.",
                &["query_type"],
                DB_BUCKETS,
            )?,
            image_duration: histogram_vec(
                &r,
                "image_processing_duration_seconds",
                "Time spent in each image pipeline stage.",
                &["stage"],
                IMAGE_BUCKETS,
            )?,
            images_processed: counter_vec(
                &r,
                "images_processed_total",
                "Images processed successfully, by output format.",
                &["format"],
            )?,
            images_failed: counter_vec(
                &r,
                "images_failed_total",
                "Images that could not be processed, by reason.",
                &["reason"],
            )?,
            jobs_queued: int_gauge(
                &r,
                "jobs_queued",
                "Job items waiting in the queue (ready, or delayed for a retry).",
            )?,
            jobs_running: int_gauge(&r, "jobs_running", "Jobs being worked on now.")?,
            jobs_completed: int_counter(&r, "jobs_completed_total", "Jobs that completed.")?,
            jobs_failed: int_counter(
                &r,
                "jobs_failed_total",
                "Job attempts that failed (a failed job may be retried).",
            )?,
            jobs_dead_lettered: int_counter(
                &r,
                "jobs_dead_lettered_total",
                "Jobs given up on after their last retry and moved to the dead-letter queue.",
            )?,
            job_duration: {
                let h = Histogram::with_opts(
                    HistogramOpts::new(
                        "job_duration_seconds",
                        "Time a job attempt ran, completed or failed.",
                    )
                    .buckets(JOB_BUCKETS.to_vec()),
                )?;
                r.register(Box::new(h.clone()))?;
                h
            },
            compression_in: counter_vec(
                &r,
                "compression_bytes_in_total",
                "Response bytes before compression, by algorithm.",
                &["algorithm"],
            )?,
            compression_out: counter_vec(
                &r,
                "compression_bytes_out_total",
                "Response bytes after compression, by algorithm.",
                &["algorithm"],
            )?,
            rate_limit: counter_vec(
                &r,
                "rate_limit_decisions_total",
                "Rate-limit decisions: allowed or limited (answered 429).",
                &["decision"],
            )?,
            memory_budget: int_gauge(
                &r,
                "vitrine_memory_budget_bytes",
                "Memory this instance is meant to stay within (MEMORY_BUDGET_BYTES); alerts compare the resident set size with it.",
            )?,
            registry: r,
            clock: Instant::now(),
            windows: Mutex::new(Windows::default()),
            request_series: (0..STRIPES).map(|_| CachePadded::default()).collect(),
        };
        #[cfg(target_os = "linux")]
        m.registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;

        // Series known in advance exist at zero from the first scrape.
        let mut tiers = vec!["l1"];
        if settings.redis_url.is_some() {
            tiers.push("l2");
        }
        for tier in tiers {
            for (op, status) in CACHE_PRESET {
                m.cache_operations.with_label_values(&[op, status, tier]);
            }
        }
        for stage in IMAGE_STAGES {
            m.image_duration.with_label_values(&[stage]);
        }
        for format in IMAGE_FORMATS {
            m.images_processed.with_label_values(&[format]);
        }
        for reason in IMAGE_FAILURES {
            m.images_failed.with_label_values(&[reason]);
        }
        for e in Encoding::PREFERENCE {
            m.compression_in.with_label_values(&[e.as_str()]);
            m.compression_out.with_label_values(&[e.as_str()]);
        }
        for decision in ["allowed", "limited"] {
            m.rate_limit.with_label_values(&[decision]);
        }
        m.db_query_duration.with_label_values(&["ping"]);
        m.memory_budget
            .set(i64::try_from(settings.memory_budget_bytes).unwrap_or(i64::MAX));
        m.db_connections_max.set(i64::from(settings.pool_max));
        Ok(m)
    }

    /// False when `MONITORING_ENABLED=false`: nothing is recorded.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whole seconds on the windows' clock.
    fn now(&self) -> u64 {
        self.clock.elapsed().as_secs()
    }

    /// One answered HTTP request. `endpoint` is the route template (`MatchedPath`), `None`
    /// for requests no route matched.
    pub fn record_request(
        &self,
        method: &Method,
        endpoint: Option<&str>,
        status: StatusCode,
        elapsed: Duration,
    ) {
        if !self.enabled {
            return;
        }
        let method = method_label(method);
        let endpoint = endpoint.unwrap_or(UNMATCHED_ENDPOINT);
        let secs = elapsed.as_secs_f64();
        let now = self.now();
        // This thread's stripe: the lock is uncontended, and the endpoint's Prometheus
        // children were resolved on its first request (no label hashing per request).
        let mut stripe = self.request_series[stripe() % STRIPES]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let routes = stripe.entry(method).or_default();
        let series = match routes.get_mut(endpoint) {
            Some(s) => s,
            None => routes
                .entry(endpoint.to_owned())
                .or_insert_with(|| EndpointSeries {
                    window: Rolling::default(),
                    duration: self.http_duration.with_label_values(&[method, endpoint]),
                    by_status: Vec::new(),
                }),
        };
        series.duration.observe(secs);
        match series.by_status.iter().find(|(s, _)| *s == status) {
            Some((_, counter)) => counter.inc(),
            None => {
                let counter =
                    self.http_requests
                        .with_label_values(&[method, endpoint, status.as_str()]);
                counter.inc();
                series.by_status.push((status, counter));
            }
        }
        series.window.at(now).record(secs, status.as_u16());
    }

    /// One database query of kind `query_type` (a fixed name per call site).
    pub fn db_query(&self, query_type: &'static str, seconds: f64) {
        if !self.enabled {
            return;
        }
        self.db_query_duration
            .with_label_values(&[query_type])
            .observe(seconds);
        let now = self.now();
        lock(&self.windows)
            .queries
            .entry(query_type)
            .or_default()
            .at(now)
            .record(seconds);
    }

    /// `n` cache operations (`cache_operations_total{operation, status, tier}`). Lookups
    /// should use [`Metrics::cache_get`], which also feeds the hit rates by namespace.
    pub fn cache_ops(&self, op: Operation, status: Status, tier: Tier, n: u64) {
        if !self.enabled {
            return;
        }
        self.cache_children[op.index()][status.index()][tier.index()]
            .get_or_init(|| {
                self.cache_operations.with_label_values(&[
                    op.as_str(),
                    status.as_str(),
                    tier.as_str(),
                ])
            })
            .inc_by(n);
    }

    /// One cache lookup in `tier`. Call it for `l1` on every lookup and for `l2` only after
    /// an `l1` miss: the hit rate is hits of either tier over `l1` lookups. L1 hits, the hot
    /// path, go through [`Metrics::cache_l1_hit`] instead.
    pub fn cache_get(&self, namespace: Namespace, tier: Tier, hit: bool) {
        if !self.enabled {
            return;
        }
        let status = if hit { Status::Hit } else { Status::Miss };
        self.cache_ops(Operation::Get, status, tier, 1);
        self.cache_window[stripe()][namespace.index()].add(
            self.now(),
            Counts {
                a: u64::from(tier == Tier::L1),
                b: u64::from(hit),
                c: 0,
            },
        );
    }

    /// One L1 hit, into the hit-rate window of the caller's `stripe` only (no shared
    /// write); its `cache_operations_total` count is added at read time
    /// (`CacheStats::report_l1_hits`).
    pub fn cache_l1_hit(&self, namespace: Namespace, stripe: usize) {
        if self.enabled {
            self.cache_window[stripe % STRIPES][namespace.index()]
                .add(self.now(), Counts { a: 1, b: 1, c: 0 });
        }
    }

    /// One compressed response body: `algorithm` is the `Content-Encoding` token.
    pub fn compression(&self, algorithm: &'static str, bytes_in: u64, bytes_out: u64) {
        if !self.enabled {
            return;
        }
        self.compression_in
            .with_label_values(&[algorithm])
            .inc_by(bytes_in);
        self.compression_out
            .with_label_values(&[algorithm])
            .inc_by(bytes_out);
        let now = self.now();
        let mut w = lock(&self.windows);
        let slot = w.compression.entry(algorithm).or_default().at(now);
        slot.a += bytes_in;
        slot.b += bytes_out;
    }

    /// One rate-limit decision.
    pub fn rate_limit(&self, allowed: bool) {
        if !self.enabled {
            return;
        }
        self.rate_limit
            .with_label_values(&[if allowed { "allowed" } else { "limited" }])
            .inc();
    }

    /// Time spent in one image pipeline stage (see [`IMAGE_STAGES`]).
    pub fn image_stage(&self, stage: &'static str, seconds: f64) {
        if self.enabled {
            self.image_duration
                .with_label_values(&[stage])
                .observe(seconds);
        }
    }

    /// One image produced, by output format (`OutputFormat::as_str()`).
    pub fn image_processed(&self, format: &'static str) {
        if self.enabled {
            self.images_processed.with_label_values(&[format]).inc();
        }
    }

    /// One image that could not be processed (`PipelineError::code()`, or `internal`).
    pub fn image_failed(&self, reason: &'static str) {
        if self.enabled {
            self.images_failed.with_label_values(&[reason]).inc();
        }
    }

    /// Items waiting in the queue (read from the queue when metrics are read:
    /// [`crate::jobs::Jobs::refresh_queued`]).
    pub fn jobs_queued(&self, queued: u64) {
        if self.enabled {
            self.jobs_queued
                .set(i64::try_from(queued).unwrap_or(i64::MAX));
        }
    }

    /// Item attempts in progress in this process.
    pub fn jobs_running(&self, running: usize) {
        if self.enabled {
            self.jobs_running
                .set(i64::try_from(running).unwrap_or(i64::MAX));
        }
    }

    /// A job attempt that completed after `seconds`.
    pub fn job_completed(&self, seconds: f64) {
        if self.enabled {
            self.jobs_completed.inc();
            self.job_duration.observe(seconds);
            let now = self.now();
            lock(&self.windows).jobs.at(now).a += 1;
        }
    }

    /// A job attempt that failed after `seconds` (it may be retried).
    pub fn job_failed(&self, seconds: f64) {
        if self.enabled {
            self.jobs_failed.inc();
            self.job_duration.observe(seconds);
            let now = self.now();
            lock(&self.windows).jobs.at(now).b += 1;
        }
    }

    /// A job given up on and moved to the dead-letter queue.
    pub fn job_dead_lettered(&self) {
        if self.enabled {
            self.jobs_dead_lettered.inc();
            let now = self.now();
            lock(&self.windows).jobs.at(now).c += 1;
        }
    }

    /// Refreshes the gauges that mirror state owned elsewhere, then renders every metric in
    /// the text exposition format.
    pub fn render(&self, pool: PoolStats) -> prometheus::Result<String> {
        self.db_connections_active.set(i64::from(pool.active));
        self.db_connections_max.set(i64::from(pool.max));
        let cache = self.snapshot(pool).cache_total;
        self.cache_hit_rate.set(if cache.a == 0 {
            0.0
        } else {
            (cache.b as f64 / cache.a as f64).min(1.0)
        });
        TextEncoder::new().encode_to_string(&self.registry.gather())
    }

    /// Everything `/api/performance` reports, read at once.
    pub fn snapshot(&self, pool: PoolStats) -> performance::Snapshot {
        let now = self.now();
        let mut merged: HashMap<(&'static str, String), Requests> = HashMap::new();
        for stripe in self.request_series.iter() {
            let stripe = stripe.lock().unwrap_or_else(|e| e.into_inner());
            for (method, routes) in stripe.iter() {
                for (endpoint, series) in routes {
                    window::Merge::merge(
                        merged.entry((*method, endpoint.clone())).or_default(),
                        &series.window.total(now),
                    );
                }
            }
        }
        let mut requests: Vec<_> = merged
            .into_iter()
            .filter(|(_, r)| r.latency.count > 0)
            .map(|((method, endpoint), r)| (method.to_owned(), endpoint, r))
            .collect();
        requests.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        let w = lock(&self.windows);
        let queries = w
            .queries
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.total(now)))
            .filter(|(_, h)| h.count > 0)
            .collect();
        let mut cache_total = Counts::default();
        let cache = Namespace::ALL
            .iter()
            .enumerate()
            .map(|(i, ns)| {
                let mut c = Counts::default();
                for stripe in self.cache_window.iter() {
                    window::Merge::merge(&mut c, &stripe[i].total(now));
                }
                (ns.as_str().to_owned(), c)
            })
            .filter(|(_, c)| *c != Counts::default())
            .inspect(|(_, c)| window::Merge::merge(&mut cache_total, c))
            .collect();
        let compression = w
            .compression
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.total(now)))
            .collect();
        let jobs = w.jobs.total(now);
        drop(w);
        performance::Snapshot {
            elapsed_secs: now,
            monitoring_enabled: self.enabled,
            requests,
            queries,
            cache,
            cache_total,
            cache_lifetime: self.cache_lifetime(),
            jobs,
            jobs_lifetime: Counts {
                a: self.jobs_completed.get(),
                b: self.jobs_failed.get(),
                c: self.jobs_dead_lettered.get(),
            },
            jobs_queued: self.jobs_queued.get(),
            jobs_running: self.jobs_running.get(),
            compression,
            compression_lifetime: self.compression_lifetime(),
            pool,
        }
    }

    /// (l1 lookups, hits of either tier) since start, from the counters.
    fn cache_lifetime(&self) -> Counts {
        let mut out = Counts::default();
        for mf in self.cache_operations.collect() {
            for m in mf.get_metric() {
                let label = |name: &str| {
                    m.get_label()
                        .iter()
                        .find(|l| l.name() == name)
                        .map(|l| l.value().to_owned())
                        .unwrap_or_default()
                };
                if label("operation") != "get" {
                    continue;
                }
                let n = m.get_counter().get_value() as u64;
                let status = label("status");
                if label("tier") == "l1" && (status == "hit" || status == "miss") {
                    out.a += n;
                }
                if status == "hit" {
                    out.b += n;
                }
            }
        }
        out
    }

    /// algorithm → (bytes in, bytes out) since start, from the counters.
    fn compression_lifetime(&self) -> Vec<(String, Counts)> {
        Encoding::PREFERENCE
            .iter()
            .map(|e| {
                let name = e.as_str();
                (
                    name.to_owned(),
                    Counts {
                        a: self.compression_in.with_label_values(&[name]).get(),
                        b: self.compression_out.with_label_values(&[name]).get(),
                        c: 0,
                    },
                )
            })
            .collect()
    }
}
