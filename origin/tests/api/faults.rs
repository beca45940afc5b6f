//! Fault injection, in process: each test owns the fault it injects (a `redis-server` of its
//! own on a free port, a TCP proxy in front of the real Postgres that it cuts or slows down)
//! and never touches the machine's shared services. Every test polls with a deadline instead
//! of asserting on timings, and counts every response its load saw: the contract is "no 5xx
//! except the documented 503/504", so one stray 500 fails the test.
//!
//! The process-level scenario (two origin binaries on one Redis, one SIGKILLed mid-batch) is in
//! `tests/tests/faults.rs`; the edge scenarios are in `tests/edge/e2e.mjs`.

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use base64::Engine as _;
use serde_json::json;

use vitrine_testkit::{FaultProxy, OwnRedis, free_port, fresh_postgres, upstream_of};

use crate::helpers::{API_KEY, Backend, TestApp, product_json, spawn_app_with, spawn_on};
use crate::images::{jpeg, upload};

/// Status codes seen by a background load, by code.
#[derive(Default, Clone)]
struct Tally(Arc<Mutex<BTreeMap<u16, u64>>>);

impl Tally {
    fn add(&self, status: u16) {
        *self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(status)
            .or_default() += 1;
    }
    fn snapshot(&self) -> BTreeMap<u16, u64> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    fn count(&self, pred: impl Fn(u16) -> bool) -> u64 {
        self.snapshot()
            .iter()
            .filter(|(s, _)| pred(**s))
            .map(|(_, n)| n)
            .sum()
    }
}

async fn poll<T>(what: &str, within: Duration, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn health_cache(app: &TestApp) -> serde_json::Value {
    app.get_json("/api/health/cache").await.1
}

fn small_batch(n: usize, seed: u32) -> serde_json::Value {
    let images: Vec<String> = (0..n)
        .map(|i| {
            let mut bytes = jpeg(48 + i as u32, 32 + seed);
            // Distinct content per item and per batch.
            bytes.extend_from_slice(format!("{seed}-{i}").as_bytes());
            base64::engine::general_purpose::STANDARD.encode(bytes)
        })
        .collect();
    json!({ "images": images, "thumbnail_sizes": ["small"] })
}

async fn wait_job(app: &TestApp, id: &str, within: Duration) -> serde_json::Value {
    poll(&format!("job {id} to finish"), within, async || {
        let (s, v) = app.get_json_auth(&format!("/api/jobs/{id}")).await;
        (s == 200 && v["state"] == "completed").then_some(v)
    })
    .await
}

/// Redis killed under load, then restarted on the same port (empty: no persistence).
///
/// While it is down: product reads and text searches keep answering 200 from L1 and the
/// database (zero 5xx), `/api/health/cache` says degraded, and the job queue refuses new work
/// with 503 + `Retry-After` (it cannot be made durable; the client retries with its
/// idempotency key). After the restart the breaker closes, and a batch submitted then is
/// processed: the workers recreate the consumer group Redis lost and reconnect their blocking
/// connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_killed_under_load_then_restarted() {
    let port = free_port();
    let mut redis = OwnRedis::start(port);
    let url = format!("redis://127.0.0.1:{port}");
    let app = Arc::new(
        spawn_app_with(
            Backend::Sqlite,
            &[
                ("REDIS_URL", url.as_str()),
                ("CACHE_REDIS_TIMEOUT", "50ms"),
                ("CACHE_BREAKER_COOLDOWN", "300ms"),
                ("CACHE_BREAKER_FAILURES", "2"),
                ("ASYNC_WORKERS", "2"),
                ("THREAD_POOL_SIZE", "1"),
                ("JOB_VISIBILITY_TIMEOUT", "2s"),
            ],
        )
        .await,
    );
    let mut ids = Vec::new();
    for i in 0..12 {
        let p = app
            .create_product(product_json(
                &format!("R-{i}"),
                &format!("Desk Lamp {i}"),
                "Lamps",
                "Lumen",
                1000 + i,
            ))
            .await;
        ids.push(p["id"].as_i64().unwrap());
    }
    // The queue works before the fault.
    let (s, v) = app.post_json("/api/images/batch", &small_batch(2, 1)).await;
    assert_eq!(s, 202, "{v}");
    wait_job(&app, v["job_id"].as_str().unwrap(), Duration::from_secs(30)).await;

    // Load: product GETs and searches (cached and not) from 4 tasks until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Tally::default();
    let mut load = Vec::new();
    for t in 0..4u64 {
        let (app, stop, tally, ids) = (app.clone(), stop.clone(), tally.clone(), ids.clone());
        load.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let path = match (n + t) % 3 {
                    0 => format!("/api/products/{}", ids[(n as usize) % ids.len()]),
                    1 => "/api/search/text?q=desk+lamp".to_owned(),
                    // A different query every time: always computed, never cached.
                    _ => format!("/api/search/text?q=lamp&offset={}", n % 7),
                };
                let r = app.client.get(app.url(&path)).send().await;
                tally.add(r.map(|r| r.status().as_u16()).unwrap_or(599));
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    redis.kill();
    poll(
        "the cache to report degraded",
        Duration::from_secs(10),
        async || (health_cache(&app).await["status"] == "degraded").then_some(()),
    )
    .await;

    // The queue cannot take work it could not keep: 503 + Retry-After, a problem body.
    let asked = Instant::now();
    let r = app
        .client
        .post(app.url("/api/images/batch"))
        .bearer_auth(API_KEY)
        .json(&small_batch(2, 2))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503, "a batch submitted while Redis is down");
    println!("batch refused after {:?} with Redis down", asked.elapsed());
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], 503, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("queue"), "{body}");
    let (s, _) = app
        .get_json_auth("/api/jobs/0123456789abcdef0123456789abcdef")
        .await;
    assert_eq!(s, 503, "job status while Redis is down");
    // A write still succeeds (the database is fine) and invalidates locally.
    let r = app
        .client
        .put(app.url(&format!("/api/products/{}", ids[0])))
        .bearer_auth(API_KEY)
        .json(&product_json(
            "R-0",
            "Renamed Desk Lamp",
            "Lamps",
            "Lumen",
            1000,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let down_served = tally.count(|s| s == 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        tally.count(|s| s == 200) > down_served,
        "the load kept being served while Redis was down"
    );

    let _redis = OwnRedis::start(port);
    poll(
        "the breaker to close",
        Duration::from_secs(15),
        async || (health_cache(&app).await["status"] == "ok").then_some(()),
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    for h in load {
        h.await.unwrap();
    }
    let seen = tally.snapshot();
    println!("load while Redis was killed and restarted: {seen:?}");
    assert_eq!(
        tally.count(|s| s >= 500),
        0,
        "5xx (or transport errors, 599) under load: {seen:?}"
    );
    assert!(tally.count(|s| s == 200) > 20, "{seen:?}");

    // The queue resumes: a batch submitted now completes, on the same workers.
    let (s, v) = poll(
        "the queue to accept a batch",
        Duration::from_secs(15),
        async || {
            let (s, v) = app.post_json("/api/images/batch", &small_batch(3, 3)).await;
            (s != 503).then_some((s, v))
        },
    )
    .await;
    assert_eq!(s, 202, "{v}");
    let job = wait_job(&app, v["job_id"].as_str().unwrap(), Duration::from_secs(30)).await;
    assert_eq!(job["progress"]["succeeded"], 3, "{job}");
    let (_, p) = app.get_json(&format!("/api/products/{}", ids[0])).await;
    assert_eq!(p["title"], "Renamed Desk Lamp");
    match Arc::try_unwrap(app) {
        Ok(app) => app.stop().await,
        Err(_) => panic!("load tasks still hold the app"),
    }
}

/// Postgres cut off (a proxy the test owns drops every connection and refuses new ones), then
/// restored, while writers and readers keep going.
///
/// Contract: `/api/health/ready` → 503 within a few seconds; reads already in the response
/// cache → 200; writes and uncached reads → 503 with `Retry-After` and a problem body; never
/// a 500; after the database returns everything recovers by itself, and every write that was
/// acknowledged (2xx) is in the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_cut_off_then_restored() {
    let real = fresh_postgres().await;
    let proxy = FaultProxy::start(upstream_of(&real)).await;
    let dir = tempfile::tempdir().unwrap();
    let app = Arc::new(
        spawn_on(
            proxy.rewrite(&real),
            dir,
            &[
                ("ACQUIRE_TIMEOUT", "1s"),
                ("QUERY_TIMEOUT", "2s"),
                ("CONNECTION_POOL_MIN", "1"),
                ("CONNECTION_POOL_SIZE", "4"),
            ],
        )
        .await,
    );
    let mut ids = Vec::new();
    for i in 0..8 {
        let p = app
            .create_product(product_json(
                &format!("PG-{i}"),
                &format!("Walnut Chair {i}"),
                "Chairs",
                "Oakline",
                5000 + i,
            ))
            .await;
        ids.push(p["id"].as_i64().unwrap());
    }
    let (s, image) = upload(&app, jpeg(40, 30)).await;
    assert_eq!(s, 201, "{image}");
    let image_path = format!("/api/images/{}", image["id"].as_str().unwrap());
    assert_eq!(app.get(&image_path).await.status(), 200);
    let cached_search = "/api/search/text?q=walnut+chair";
    // Into the response cache.
    for id in &ids {
        assert_eq!(app.get(&format!("/api/products/{id}")).await.status(), 200);
    }
    assert_eq!(app.get(cached_search).await.status(), 200);

    // Writers: one create after another; every acknowledged SKU is remembered.
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Tally::default();
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let refused = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for w in 0..2 {
        let (app, stop, tally, acked, refused) = (
            app.clone(),
            stop.clone(),
            tally.clone(),
            acknowledged.clone(),
            refused.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let sku = format!("W{w}-{n}");
                let r = app
                    .client
                    .post(app.url("/api/products"))
                    .bearer_auth(API_KEY)
                    .json(&product_json(&sku, "Stool", "Chairs", "Oakline", 700))
                    .send()
                    .await;
                let Ok(r) = r else {
                    tally.add(599);
                    continue;
                };
                let status = r.status().as_u16();
                tally.add(status);
                if r.status().is_success() {
                    acked.lock().unwrap().push(sku);
                } else if status == 503 {
                    assert!(
                        r.headers().contains_key("retry-after"),
                        "503 without Retry-After"
                    );
                    assert_eq!(r.headers()["content-type"], "application/problem+json");
                    refused.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }));
    }
    // A reader of cached pages.
    {
        let (app, stop, tally, ids) = (app.clone(), stop.clone(), tally.clone(), ids.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let path = if n % 2 == 0 {
                    cached_search.to_owned()
                } else {
                    format!("/api/products/{}", ids[n % ids.len()])
                };
                let r = app.client.get(app.url(&path)).send().await;
                let status = r.map(|r| r.status().as_u16()).unwrap_or(599);
                tally.add(status);
                assert_eq!(status, 200, "cached read {path}");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    proxy.cut();
    let cut_at = Instant::now();
    poll(
        "/api/health/ready to say 503",
        Duration::from_secs(10),
        async || (app.get("/api/health/ready").await.status() == 503).then_some(()),
    )
    .await;
    println!("ready → 503 after {:?}", cut_at.elapsed());

    // Cached reads still 200 (the reader task asserts it continuously too).
    for id in &ids {
        let r = app.get(&format!("/api/products/{id}")).await;
        assert_eq!(
            r.status(),
            200,
            "cached product {id} with the database down"
        );
    }
    // Uncached reads (a product, an original image) and writes (create, delete, upload):
    // 503, Retry-After, problem+json. Never 500.
    for r in [
        app.get(&image_path).await,
        app.client
            .post(app.url("/api/images"))
            .bearer_auth(API_KEY)
            .header("content-type", "application/octet-stream")
            .body(jpeg(41, 31))
            .send()
            .await
            .unwrap(),
        app.get(&format!("/api/products/{}", ids[ids.len() - 1] + 10_000))
            .await,
        app.client
            .post(app.url("/api/products"))
            .bearer_auth(API_KEY)
            .json(&product_json("DOWN-1", "Never", "Chairs", "Oakline", 1))
            .send()
            .await
            .unwrap(),
        app.client
            .delete(app.url(&format!("/api/products/{}", ids[0])))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(r.status(), 503, "{}", r.url());
        assert!(r.headers().contains_key("retry-after"));
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["status"], 503, "{body}");
    }
    poll(
        "writers to be refused",
        Duration::from_secs(10),
        async || (refused.load(Ordering::Relaxed) >= 2).then_some(()),
    )
    .await;

    proxy.restore();
    poll(
        "/api/health/ready to recover",
        Duration::from_secs(15),
        async || (app.get("/api/health/ready").await.status() == 200).then_some(()),
    )
    .await;
    let acked_before = acknowledged.lock().unwrap().len();
    poll(
        "writes to succeed again",
        Duration::from_secs(15),
        async || (acknowledged.lock().unwrap().len() > acked_before + 2).then_some(()),
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let seen = tally.snapshot();
    println!(
        "statuses with Postgres cut and restored: {seen:?}; {} refused writes",
        refused.load(Ordering::Relaxed)
    );
    assert_eq!(
        tally.count(|s| s >= 500 && s != 503),
        0,
        "only 503 may be a 5xx: {seen:?}"
    );

    // No acknowledged write was lost: each is in the real database (read directly, not
    // through the origin or its cache).
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&real)
        .await
        .unwrap();
    let stored: std::collections::HashSet<String> =
        sqlx::query_scalar::<_, String>("SELECT sku FROM products")
            .fetch_all(&mut conn)
            .await
            .unwrap()
            .into_iter()
            .collect();
    let acked = acknowledged.lock().unwrap().clone();
    let lost: Vec<&String> = acked.iter().filter(|s| !stored.contains(*s)).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    assert!(!stored.contains("DOWN-1"));
    // The cached product deleted-while-down is still there (the delete was refused).
    assert_eq!(
        app.get(&format!("/api/products/{}", ids[0])).await.status(),
        200
    );
    match Arc::try_unwrap(app) {
        Ok(app) => app.stop().await,
        Err(_) => panic!("load tasks still hold the app"),
    }
}

/// A slow database (every packet to and from Postgres delayed by the proxy) makes the origin
/// slow: the request is cut at `REQUEST_TIMEOUT` with a 504 problem when that comes first, or
/// at `QUERY_TIMEOUT` with a 503 + `Retry-After` when that does. Both recover when the delay
/// goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_database_times_out_at_the_configured_limits() {
    let real = fresh_postgres().await;
    let proxy = FaultProxy::start(upstream_of(&real)).await;
    let url = proxy.rewrite(&real);
    let request_bound = spawn_on(
        url.clone(),
        tempfile::tempdir().unwrap(),
        &[
            ("REQUEST_TIMEOUT", "1s"),
            ("QUERY_TIMEOUT", "20s"),
            ("ACQUIRE_TIMEOUT", "20s"),
            ("CACHE_ENABLED", "false"),
        ],
    )
    .await;
    let query_bound = spawn_on(
        url,
        tempfile::tempdir().unwrap(),
        &[
            ("REQUEST_TIMEOUT", "20s"),
            ("QUERY_TIMEOUT", "1s"),
            ("ACQUIRE_TIMEOUT", "1s"),
            ("CACHE_ENABLED", "false"),
        ],
    )
    .await;
    let p = request_bound
        .create_product(product_json(
            "SLOW-1",
            "Slow Sofa",
            "Sofas",
            "Velvet",
            90000,
        ))
        .await;
    let path = format!("/api/products/{}", p["id"]);
    assert_eq!(request_bound.get(&path).await.status(), 200);
    assert_eq!(query_bound.get(&path).await.status(), 200);

    proxy.set_delay(Duration::from_millis(1500));
    for (app, status, kind) in [
        (&request_bound, 504, "timeout"),
        (&query_bound, 503, "unavailable"),
    ] {
        let r = app.get(&path).await;
        assert_eq!(r.status(), status);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        assert_eq!(r.headers().contains_key("retry-after"), status == 503);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["status"], status, "{body}");
        assert_eq!(
            body["type"],
            format!("https://vitrine.dev/problems/{kind}"),
            "{body}"
        );
    }

    proxy.set_delay(Duration::ZERO);
    for app in [&request_bound, &query_bound] {
        poll("reads to recover", Duration::from_secs(20), async || {
            (app.get(&path).await.status() == 200).then_some(())
        })
        .await;
    }
    request_bound.stop().await;
    query_bound.stop().await;
}

/// An origin started while its Redis is down starts anyway (reads work; the cache runs on
/// L1 with its breaker open; job requests answer 503), and the queue comes up by itself when
/// Redis does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origin_starts_with_redis_down_and_the_queue_comes_up_later() {
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let app = spawn_app_with(
        Backend::Sqlite,
        &[
            ("REDIS_URL", url.as_str()),
            ("CACHE_BREAKER_COOLDOWN", "300ms"),
            ("ASYNC_WORKERS", "1"),
            ("THREAD_POOL_SIZE", "1"),
        ],
    )
    .await;
    let p = app
        .create_product(product_json("EARLY-1", "Early Lamp", "Lamps", "Lumen", 10))
        .await;
    assert_eq!(
        app.get(&format!("/api/products/{}", p["id"]))
            .await
            .status(),
        200
    );
    let (s, v) = app.post_json("/api/images/batch", &small_batch(1, 7)).await;
    assert_eq!(s, 503, "{v}");

    let _redis = OwnRedis::start(port);
    let (s, v) = poll(
        "the queue to accept a batch",
        Duration::from_secs(15),
        async || {
            let (s, v) = app.post_json("/api/images/batch", &small_batch(2, 8)).await;
            (s != 503).then_some((s, v))
        },
    )
    .await;
    assert_eq!(s, 202, "{v}");
    let job = wait_job(&app, v["job_id"].as_str().unwrap(), Duration::from_secs(30)).await;
    assert_eq!(job["progress"]["succeeded"], 2, "{job}");
    poll(
        "the cache to recover",
        Duration::from_secs(10),
        async || (health_cache(&app).await["status"] == "ok").then_some(()),
    )
    .await;
    app.stop().await;
}
