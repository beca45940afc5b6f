//! Monitoring overhead: requests/s of a cheap endpoint (`GET /api/health/live`) with the
//! metrics and logging middleware on versus off, in one run, printed as a ratio (target
//! ≥ 0.9).
//!
//! `cargo bench -p vitrine-origin --bench monitoring`
//! (`BENCH_SECONDS` per measurement, default 3; `BENCH_ROUNDS`, default 5;
//! `BENCH_CONCURRENCY`, default 32; `BENCH_LOGGING=false` to measure the metrics alone;
//! `BENCH_ONLY=on|off` to run one side only, for a profiler).
//!
//! *On* is production's observability: `MONITORING_ENABLED=true` (Prometheus counters and
//! histogram, the `/api/performance` window) and the per-request JSON log line at `info`,
//! formatted in full and written to a sink. *Off* is `MONITORING_ENABLED=false` with
//! `LOG_LEVEL=warn`, so neither is done. Both apps run side by side in this process; rounds
//! alternate which goes first, and the medians are compared, so drift on a shared machine
//! hits both alike. Over HTTP the one global subscriber's filter is switched between the
//! sides (hyper's connection tasks use the global subscriber); in-process each side's tasks
//! carry a subscriber of their own. Two figures: over HTTP on loopback — requests/s of the
//! endpoint as a client sees them, hyper and the client's own cost included: the figure the
//! target is for — and in-process through the router (`oneshot`, no network), a diagnostic:
//! there the middleware's share is at its largest, and it grows whenever the rest of a request
//! gets cheaper (making the variant cache's state an `Arc` sped the "off" side up 15 % and
//! lowered this ratio by about as much).
//! Prints figures; asserts nothing about time.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{Router, body::Body};
use tower::ServiceExt;
use tracing::instrument::WithSubscriber;
use tracing_subscriber::{prelude::*, reload};
use vitrine_origin::{
    config::Settings,
    http::{self as routes, AppState},
    observability::logging::{self as telemetry, json_lines::JsonLines},
    startup,
};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn app(dir: &std::path::Path, monitoring: bool) -> AppState {
    let vars: Vec<(&str, String)> = vec![
        (
            "DATABASE_URL",
            format!("sqlite:{}", dir.join("bench.db").display()),
        ),
        ("DATA_DIR", dir.display().to_string()),
        ("SEARCH_INDEX_DIR", "memory".into()),
        ("SEED_DEMO", "false".into()),
        ("SEARCH_SYNC_INTERVAL", "0".into()),
        ("MONITORING_ENABLED", monitoring.to_string()),
        ("STRUCTURED_LOGGING", "true".into()),
    ];
    let settings = Settings::from_lookup(|k| {
        vars.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| v.clone())
    })
    .expect("bench settings");
    startup::build_state(settings)
        .await
        .expect("building the app")
}

/// Requests per second over HTTP with `concurrency` keep-alive connections.
async fn http_rps(url: &str, secs: u64, concurrency: u64) -> f64 {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency as usize)
        .build()
        .expect("client");
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, url, done, stop) =
                (client.clone(), url.to_owned(), done.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let r = client.get(&url).send().await.expect("request");
                    assert!(r.status().is_success());
                    let _ = r.bytes().await;
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// Requests per second through the router in-process.
async fn router_rps(
    router: &Router,
    dispatch: &tracing::Dispatch,
    secs: u64,
    concurrency: u64,
) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (router, done, stop) = (router.clone(), done.clone(), stop.clone());
            let task = async move {
                while !stop.load(Ordering::Relaxed) {
                    let req = http::Request::get("/api/health/live")
                        .body(Body::empty())
                        .expect("request");
                    let r = router.clone().oneshot(req).await.expect("infallible");
                    assert!(r.status().is_success());
                    let _ = axum::body::to_bytes(r.into_body(), 1 << 16).await;
                    done.fetch_add(1, Ordering::Relaxed);
                    // The router answers without ever returning Pending; without a yield the
                    // workers never park, and the timer that ends the measurement never fires.
                    tokio::task::yield_now().await;
                }
            };
            tokio::spawn(task.with_subscriber(dispatch.clone()))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    let secs = env_num("BENCH_SECONDS", 3);
    let rounds = env_num("BENCH_ROUNDS", 5).max(1);
    let concurrency = env_num("BENCH_CONCURRENCY", 32).max(1);

    // JSON logs to a sink through production's filter and layer: every line is formatted, none is
    // written anywhere. The filter is swapped between the on and off measurements.
    let (filter, filter_handle) = reload::Layer::new(telemetry::filter("info"));
    tracing_subscriber::registry()
        .with(filter)
        .with(JsonLines::new(std::io::sink))
        .init();
    // BENCH_LOGGING=false keeps the log filter at warn in both modes, to separate the
    // metrics' share of the overhead from the log line's.
    let logging = std::env::var("BENCH_LOGGING").map_or(true, |v| v != "false");
    // BENCH_ONLY=on|off measures one side only (to profile it, e.g. under `perf record`).
    let only = match std::env::var("BENCH_ONLY").as_deref() {
        Ok("on") => Some(0),
        Ok("off") => Some(1),
        _ => None,
    };
    let set_logging = |on: bool| {
        let on = on && logging;
        filter_handle
            .reload(telemetry::filter(if on { "info" } else { "warn" }))
            .expect("reloading the log filter");
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir_on = tempfile::tempdir().expect("tempdir");
        let dir_off = tempfile::tempdir().expect("tempdir");
        let on = app(dir_on.path(), true).await;
        let off = app(dir_off.path(), false).await;
        let mut urls = Vec::new();
        for state in [&on, &off] {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            urls.push(format!(
                "http://{}/api/health/live",
                listener.local_addr().expect("addr")
            ));
            tokio::spawn(startup::run(
                listener,
                state.clone(),
                std::future::pending::<()>(),
            ));
        }
        let routers = [routes::router(on.clone()), routes::router(off.clone())];
        // In-process, each side's tasks run under a subscriber of their own (logging on at
        // info / off at warn), so the two share no filter state and nothing is reloaded.
        let dispatch = |level: &str| {
            let level = if logging { level } else { "warn" };
            tracing::Dispatch::new(
                tracing_subscriber::registry()
                    .with(telemetry::filter(level))
                    .with(JsonLines::new(std::io::sink)),
            )
        };
        let dispatches = [dispatch("info"), dispatch("warn")];

        println!(
            "monitoring overhead: GET /api/health/live, {rounds} rounds × {secs} s per mode, \
             {concurrency} concurrent, {} CPUs",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        for (label, over_http) in [("HTTP (loopback)", true), ("router (in-process)", false)] {
            // Warm-up: connections, allocator, caches.
            set_logging(true);
            if over_http {
                http_rps(&urls[0], 1, concurrency).await;
                http_rps(&urls[1], 1, concurrency).await;
            } else {
                router_rps(&routers[0], &dispatches[0], 1, concurrency).await;
                router_rps(&routers[1], &dispatches[1], 1, concurrency).await;
            }
            let (mut rps_on, mut rps_off, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
            for round in 0..rounds {
                let mut measured = [f64::NAN; 2];
                let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
                for i in order.into_iter().filter(|i| only.is_none_or(|o| o == *i)) {
                    set_logging(i == 0);
                    measured[i] = if over_http {
                        http_rps(&urls[i], secs, concurrency).await
                    } else {
                        router_rps(&routers[i], &dispatches[i], secs, concurrency).await
                    };
                }
                println!(
                    "  {label:<20} round {}: on {:>9.0} req/s   off {:>9.0} req/s   ratio {:.3}",
                    round + 1,
                    measured[0],
                    measured[1],
                    measured[0] / measured[1]
                );
                rps_on.push(measured[0]);
                rps_off.push(measured[1]);
                ratios.push(measured[0] / measured[1]);
            }
            let (m_on, m_off) = (median(&mut rps_on), median(&mut rps_off));
            let ratio = m_on / m_off;
            let verdict = match (over_http, ratio >= 0.9) {
                (true, true) => "target >= 0.9: met",
                (true, false) => "target >= 0.9: NOT met",
                (false, _) => "diagnostic, no target (the middleware's share without the network)",
            };
            println!(
                "{label}: monitoring on {m_on:.0} req/s, off {m_off:.0} req/s (medians); \
                 ratio on/off = {ratio:.3} (median of per-round ratios {:.3}); {verdict}",
                median(&mut ratios),
            );
        }
        let requests = on
            .metrics
            .snapshot(on.db.pool_stats())
            .requests
            .iter()
            .map(|(_, _, r)| r.latency.count)
            .sum::<u64>();
        println!("(the monitored app's 5-minute window holds {requests} requests)");
    });
}
