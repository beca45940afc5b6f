//! The `/api/performance` report: latency percentiles per endpoint, cache hit rates by
//! namespace, pool usage, job queue and rates, compression savings, and the seed's two
//! in-process alert rules, all over the last five minutes.
//!
//! Built from a [`Snapshot`] (plain data, read from [`super::Metrics`] under one lock) by
//! pure functions, so the alert rules are tested with injected samples and no clock. The
//! report is honest about what it does not know: a figure with no samples in the window is
//! `null`, an alert with nothing to judge is `no_data`, and a section whose layer has
//! recorded nothing since start says so in `note`.
//!
//! The alert rules mirror `deploy/prometheus/alert_rules.yml`: *High Response Time* is the
//! mean request duration over the window above 2.0 s (`VitrineHighResponseTime`), *Low Cache
//! Hit Rate* is the share of lookups answered by either tier below 0.7
//! (`VitrineLowCacheHitRate`). Prometheus adds a `for:` duration; here the state is
//! instantaneous, which is what an operator asking "is it slow now?" wants.

use std::collections::BTreeMap;

use serde::Serialize;

use super::window::{Counts, LatencyHist, Merge, Requests, WINDOW_SECS};
use crate::observability::PoolStats;

/// *High Response Time*: mean request duration above this many seconds.
pub const HIGH_RESPONSE_TIME_SECS: f64 = 2.0;
/// *Low Cache Hit Rate*: hit rate below this share.
pub const LOW_CACHE_HIT_RATE: f64 = 0.7;

/// What the report is built from.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Seconds the metrics have been collecting (rates divide by this while it is shorter
    /// than the window).
    pub elapsed_secs: u64,
    pub monitoring_enabled: bool,
    /// (method, route template, requests in the window).
    pub requests: Vec<(String, String, Requests)>,
    /// (query type, latencies in the window).
    pub queries: Vec<(String, LatencyHist)>,
    /// (namespace, a: lookups, b: hits) in the window.
    pub cache: Vec<(String, Counts)>,
    pub cache_total: Counts,
    /// a: lookups, b: hits, since start.
    pub cache_lifetime: Counts,
    /// a: completed, b: failed, c: dead-lettered, in the window.
    pub jobs: Counts,
    pub jobs_lifetime: Counts,
    pub jobs_queued: i64,
    pub jobs_running: i64,
    /// (algorithm, a: bytes in, b: bytes out) in the window.
    pub compression: Vec<(String, Counts)>,
    pub compression_lifetime: Vec<(String, Counts)>,
    pub pool: PoolStats,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Ok,
    Firing,
    NoData,
}

#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    pub name: &'static str,
    pub severity: &'static str,
    pub state: AlertState,
    /// The value the rule compared, `null` with no data.
    pub value: Option<f64>,
    pub threshold: f64,
    pub condition: &'static str,
    /// The matching Prometheus alert in `deploy/prometheus/alert_rules.yml`.
    pub prometheus_alert: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub requests: u64,
    pub requests_per_second: f64,
    pub server_errors: u64,
    /// Share of requests answered with a 5xx.
    pub error_rate: Option<f64>,
    pub mean_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Endpoint {
    pub method: String,
    pub endpoint: String,
    #[serde(flatten)]
    pub latency: Latency,
}

#[derive(Debug, Clone, Serialize)]
pub struct RequestsReport {
    pub overall: Latency,
    /// Busiest first.
    pub endpoints: Vec<Endpoint>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PoolReport {
    pub open: u32,
    pub idle: u32,
    pub active: u32,
    pub max: u32,
    pub usage_ratio: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueryReport {
    pub query_type: String,
    pub count: u64,
    pub mean_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DatabaseReport {
    pub pool: PoolReport,
    pub queries: Vec<QueryReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HitRate {
    pub lookups: u64,
    pub hits: u64,
    pub hit_rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CacheReport {
    #[serde(flatten)]
    pub window: HitRate,
    pub namespaces: BTreeMap<String, HitRate>,
    pub since_start: HitRate,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobCounts {
    pub completed: u64,
    pub failed: u64,
    pub dead_lettered: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobsReport {
    pub queued: i64,
    pub running: i64,
    #[serde(flatten)]
    pub window: JobCounts,
    pub completed_per_second: f64,
    pub failed_per_second: f64,
    pub since_start: JobCounts,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Savings {
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// 1 − out/in: the share of bytes compression saved.
    pub savings_ratio: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CompressionReport {
    pub algorithms: BTreeMap<String, Savings>,
    pub since_start: BTreeMap<String, Savings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `degraded` when an alert fires, else `ok`.
    pub status: &'static str,
    pub window_seconds: u64,
    pub monitoring_enabled: bool,
    pub requests: RequestsReport,
    pub database: DatabaseReport,
    pub cache: CacheReport,
    pub jobs: JobsReport,
    pub compression: CompressionReport,
    pub alerts: Vec<Alert>,
}

fn ms(secs: Option<f64>) -> Option<f64> {
    // Three decimals (microseconds) keep the JSON readable.
    secs.map(|s| (s * 1_000_000.0).round() / 1000.0)
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

fn latency(r: &Requests, span_secs: f64) -> Latency {
    let h = &r.latency;
    Latency {
        requests: h.count,
        requests_per_second: h.count as f64 / span_secs,
        server_errors: r.server_errors,
        error_rate: ratio(r.server_errors, h.count),
        mean_ms: ms(h.mean()),
        p50_ms: ms(h.quantile(0.50)),
        p95_ms: ms(h.quantile(0.95)),
        p99_ms: ms(h.quantile(0.99)),
        max_ms: ms((h.count > 0).then_some(h.max)),
    }
}

fn hit_rate(c: Counts) -> HitRate {
    HitRate {
        lookups: c.a,
        hits: c.b,
        hit_rate: ratio(c.b, c.a).map(|r| r.min(1.0)),
    }
}

fn savings(c: Counts) -> Savings {
    Savings {
        bytes_in: c.a,
        bytes_out: c.b,
        savings_ratio: ratio(c.b, c.a).map(|r| 1.0 - r),
    }
}

/// *High Response Time* over all requests in the window.
pub fn high_response_time(all: &Requests) -> Alert {
    let value = all.latency.mean();
    Alert {
        name: "High Response Time",
        severity: "warning",
        state: match value {
            None => AlertState::NoData,
            Some(v) if v > HIGH_RESPONSE_TIME_SECS => AlertState::Firing,
            Some(_) => AlertState::Ok,
        },
        value,
        threshold: HIGH_RESPONSE_TIME_SECS,
        condition: "mean request duration over the last 5 minutes > 2.0 s",
        prometheus_alert: "VitrineHighResponseTime",
    }
}

/// *Low Cache Hit Rate* over the lookups in the window (a: lookups, b: hits).
pub fn low_cache_hit_rate(cache: Counts) -> Alert {
    let value = hit_rate(cache).hit_rate;
    Alert {
        name: "Low Cache Hit Rate",
        severity: "warning",
        state: match value {
            None => AlertState::NoData,
            Some(v) if v < LOW_CACHE_HIT_RATE => AlertState::Firing,
            Some(_) => AlertState::Ok,
        },
        value,
        threshold: LOW_CACHE_HIT_RATE,
        condition: "cache hit rate over the last 5 minutes < 0.7",
        prometheus_alert: "VitrineLowCacheHitRate",
    }
}

/// Builds the report.
pub fn report(s: &Snapshot) -> Report {
    let span = s.elapsed_secs.clamp(1, WINDOW_SECS) as f64;

    let mut all = Requests::default();
    let mut endpoints: Vec<Endpoint> = s
        .requests
        .iter()
        .map(|(method, endpoint, r)| {
            all.merge(r);
            Endpoint {
                method: method.clone(),
                endpoint: endpoint.clone(),
                latency: latency(r, span),
            }
        })
        .collect();
    endpoints.sort_by(|a, b| {
        b.latency
            .requests
            .cmp(&a.latency.requests)
            .then_with(|| a.endpoint.cmp(&b.endpoint))
            .then_with(|| a.method.cmp(&b.method))
    });

    let mut queries: Vec<QueryReport> = s
        .queries
        .iter()
        .map(|(kind, h)| QueryReport {
            query_type: kind.clone(),
            count: h.count,
            mean_ms: ms(h.mean()),
            p50_ms: ms(h.quantile(0.50)),
            p95_ms: ms(h.quantile(0.95)),
            p99_ms: ms(h.quantile(0.99)),
        })
        .collect();
    queries.sort_by(|a, b| b.count.cmp(&a.count).then(a.query_type.cmp(&b.query_type)));

    let alerts = vec![high_response_time(&all), low_cache_hit_rate(s.cache_total)];
    let firing = alerts.iter().any(|a| a.state == AlertState::Firing);

    Report {
        status: if firing { "degraded" } else { "ok" },
        window_seconds: WINDOW_SECS,
        monitoring_enabled: s.monitoring_enabled,
        requests: RequestsReport {
            overall: latency(&all, span),
            endpoints,
        },
        database: DatabaseReport {
            pool: PoolReport {
                open: s.pool.open,
                idle: s.pool.idle,
                active: s.pool.active,
                max: s.pool.max,
                usage_ratio: ratio(u64::from(s.pool.active), u64::from(s.pool.max)),
            },
            queries,
        },
        cache: CacheReport {
            window: hit_rate(s.cache_total),
            namespaces: s
                .cache
                .iter()
                .filter(|(_, c)| c.a > 0 || c.b > 0)
                .map(|(ns, c)| (ns.clone(), hit_rate(*c)))
                .collect(),
            since_start: hit_rate(s.cache_lifetime),
            note: (s.cache_lifetime.a == 0).then_some(
                "no cache lookups have been recorded since start: either no cacheable request \
                 came in or the cache layer does not report to Metrics::cache_get",
            ),
        },
        jobs: JobsReport {
            queued: s.jobs_queued,
            running: s.jobs_running,
            window: JobCounts {
                completed: s.jobs.a,
                failed: s.jobs.b,
                dead_lettered: s.jobs.c,
            },
            completed_per_second: s.jobs.a as f64 / span,
            failed_per_second: s.jobs.b as f64 / span,
            since_start: JobCounts {
                completed: s.jobs_lifetime.a,
                failed: s.jobs_lifetime.b,
                dead_lettered: s.jobs_lifetime.c,
            },
            note: (s.jobs_lifetime == Counts::default()
                && s.jobs_queued == 0
                && s.jobs_running == 0)
                .then_some(
                    "no jobs have been recorded since start: either none ran or the job queue \
                     does not report to Metrics::job_*",
                ),
        },
        compression: CompressionReport {
            algorithms: s
                .compression
                .iter()
                .filter(|(_, c)| c.a > 0)
                .map(|(alg, c)| (alg.clone(), savings(*c)))
                .collect(),
            since_start: s
                .compression_lifetime
                .iter()
                .filter(|(_, c)| c.a > 0)
                .map(|(alg, c)| (alg.clone(), savings(*c)))
                .collect(),
            note: s
                .compression_lifetime
                .iter()
                .all(|(_, c)| c.a == 0)
                .then_some(
                    "no compressed responses have been recorded since start: either none were \
                     compressed or the compression layer does not report to Metrics::compression",
                ),
        },
        alerts,
    }
}

/// The short form `/api/health/performance` answers with.
pub fn summary(r: &Report) -> serde_json::Value {
    let o = &r.requests.overall;
    serde_json::json!({
        "status": r.status,
        "window_seconds": r.window_seconds,
        "monitoring_enabled": r.monitoring_enabled,
        "requests": o.requests,
        "requests_per_second": o.requests_per_second,
        "error_rate": o.error_rate,
        "p50_ms": o.p50_ms,
        "p95_ms": o.p95_ms,
        "p99_ms": o.p99_ms,
        "cache_hit_rate": r.cache.window.hit_rate,
        "db_pool_usage": r.database.pool.usage_ratio,
        "jobs_queued": r.jobs.queued,
        "alerts": r.alerts.iter().map(|a| serde_json::json!({
            "name": a.name,
            "severity": a.severity,
            "state": a.state,
        })).collect::<Vec<_>>(),
        "detail": "/api/performance",
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::observability::metrics::window::Rolling;

    fn requests(samples: &[(f64, u16)]) -> Requests {
        let mut r: Rolling<Requests> = Rolling::default();
        for (i, (secs, status)) in samples.iter().enumerate() {
            r.at(i as u64).record(*secs, *status);
        }
        r.total(samples.len() as u64)
    }

    fn snapshot(requests_by_route: Vec<(&str, Requests)>, cache: Counts) -> Snapshot {
        Snapshot {
            elapsed_secs: 600,
            monitoring_enabled: true,
            requests: requests_by_route
                .into_iter()
                .map(|(route, r)| ("GET".to_owned(), route.to_owned(), r))
                .collect(),
            cache: vec![("search".to_owned(), cache)],
            cache_total: cache,
            cache_lifetime: cache,
            pool: PoolStats {
                open: 4,
                idle: 3,
                active: 1,
                max: 20,
            },
            ..Snapshot::default()
        }
    }

    #[test]
    fn nothing_recorded_is_no_data_not_ok() {
        let r = report(&snapshot(vec![], Counts::default()));
        assert_eq!(r.status, "ok");
        assert!(r.alerts.iter().all(|a| a.state == AlertState::NoData));
        assert_eq!(r.requests.overall.requests, 0);
        assert_eq!(r.requests.overall.p95_ms, None);
        assert_eq!(r.cache.window.hit_rate, None);
        assert!(r.cache.note.is_some());
        assert!(r.jobs.note.is_some());
        assert!(r.compression.note.is_some());
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["alerts"][0]["state"], "no_data");
        assert_eq!(json["alerts"][0]["value"], serde_json::Value::Null);
    }

    #[test]
    fn slow_samples_fire_high_response_time() {
        // Mean (3 × 3 s + 20 ms) / 4 = 2.255 s: firing; the fast endpoint alone would be fine.
        let slow = requests(&[(3.0, 200), (3.0, 200), (3.0, 200)]);
        let fast = requests(&[(0.020, 200); 1]);
        let r = report(&snapshot(
            vec![("/api/search/text", slow), ("/api/products/{id}", fast)],
            Counts::default(),
        ));
        let alert = &r.alerts[0];
        assert_eq!(alert.name, "High Response Time");
        assert_eq!(alert.state, AlertState::Firing, "{alert:?}");
        assert!((alert.value.unwrap() - 2.255).abs() < 1e-9);
        assert_eq!(r.status, "degraded");
        // Per-endpoint percentiles, busiest first.
        assert_eq!(r.requests.endpoints[0].endpoint, "/api/search/text");
        let p99 = r.requests.endpoints[0].latency.p99_ms.unwrap();
        assert!((p99 / 3000.0 - 1.0).abs() < 0.04, "{p99}");
        assert_eq!(r.requests.overall.requests, 4);
    }

    #[test]
    fn high_response_time_boundaries() {
        let ok = high_response_time(&requests(&[(2.0, 200), (2.0, 200)]));
        assert_eq!(ok.state, AlertState::Ok, "2.0 s is not above 2.0 s");
        let firing = high_response_time(&requests(&[(2.0, 200), (2.2, 200)]));
        assert_eq!(firing.state, AlertState::Firing);
        assert!((firing.value.unwrap() - 2.1).abs() < 1e-9);
        let fast = high_response_time(&requests(&[(0.05, 200); 100]));
        assert_eq!(fast.state, AlertState::Ok);
    }

    #[test]
    fn cache_hit_rate_alert_and_namespaces() {
        let low = Counts { a: 10, b: 6, c: 0 };
        let r = report(&snapshot(vec![], low));
        assert_eq!(r.alerts[1].name, "Low Cache Hit Rate");
        assert_eq!(r.alerts[1].state, AlertState::Firing);
        assert_eq!(r.alerts[1].value, Some(0.6));
        assert_eq!(r.cache.namespaces["search"].hit_rate, Some(0.6));
        assert!(r.cache.note.is_none());
        let good = low_cache_hit_rate(Counts { a: 10, b: 7, c: 0 });
        assert_eq!(good.state, AlertState::Ok, "0.7 is not below 0.7");
    }

    #[test]
    fn rates_errors_pool_and_savings() {
        let mut s = snapshot(
            vec![(
                "/api/products",
                requests(&[(0.01, 200), (0.01, 500), (0.01, 200), (0.01, 200)]),
            )],
            Counts::default(),
        );
        s.elapsed_secs = 2; // young process: rates over 2 s, not 300
        s.compression = vec![(
            "br".into(),
            Counts {
                a: 1000,
                b: 250,
                c: 0,
            },
        )];
        s.compression_lifetime = s.compression.clone();
        s.jobs = Counts { a: 4, b: 2, c: 1 };
        s.jobs_lifetime = s.jobs;
        let r = report(&s);
        assert_eq!(r.requests.overall.requests_per_second, 2.0);
        assert_eq!(r.requests.overall.error_rate, Some(0.25));
        assert_eq!(r.database.pool.usage_ratio, Some(0.05));
        assert_eq!(r.compression.algorithms["br"].savings_ratio, Some(0.75));
        assert_eq!(r.jobs.completed_per_second, 2.0);
        assert_eq!(r.jobs.window.dead_lettered, 1);
        assert!(r.jobs.note.is_none() && r.compression.note.is_none());
        let summary = summary(&r);
        assert_eq!(summary["status"], "ok");
        assert_eq!(summary["alerts"][0]["state"], "ok");
        assert_eq!(summary["alerts"][1]["state"], "no_data");
    }
}
