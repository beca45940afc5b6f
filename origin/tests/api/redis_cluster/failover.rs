//! A cluster master SIGKILLed under load: the one serving the job queue's hash tag (and a
//! third of the cache's slots).
//!
//! Contract, as when a single Redis dies: product reads and text searches answer 200 (L1 and
//! the database) throughout; job routes answer 2xx/4xx or the documented 503 + `Retry-After`;
//! nothing else is 5xx. The cluster promotes the dead master's replica (`cluster_state:ok`
//! again, the dead node serving no slot), and the origin recovers by itself: the cache's L2
//! is written and read again (a second instance reads an entry from L2) and a batch is
//! accepted and completes. The counts of requests served and failed while the cluster was
//! failing over are printed, not asserted on.

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use base64::Engine as _;
use serde_json::json;
use vitrine_testkit::unique_prefix;

use super::{cluster_conn, header, start_cluster, wait_until};
use crate::helpers::{API_KEY, Backend, TestApp, product_json, spawn_app_with, spawn_on};
use crate::images::jpeg;

/// Status codes seen, by route kind and code (599: transport error or a 503 without
/// `Retry-After`).
#[derive(Default, Clone)]
struct Tally(Arc<Mutex<BTreeMap<(&'static str, u16), u64>>>);

impl Tally {
    fn add(&self, kind: &'static str, status: u16) {
        *self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((kind, status))
            .or_default() += 1;
    }
    fn snapshot(&self) -> BTreeMap<(&'static str, u16), u64> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// What happened between two snapshots.
fn since(
    before: &BTreeMap<(&'static str, u16), u64>,
    after: &BTreeMap<(&'static str, u16), u64>,
) -> BTreeMap<(&'static str, u16), u64> {
    after
        .iter()
        .map(|(k, n)| (*k, n - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

pub(crate) fn small_batch(n: usize, seed: u32) -> serde_json::Value {
    let images: Vec<String> = (0..n)
        .map(|i| {
            let mut bytes = jpeg(48 + i as u32, 32 + seed);
            bytes.extend_from_slice(format!("{seed}-{i}").as_bytes());
            base64::engine::general_purpose::STANDARD.encode(bytes)
        })
        .collect();
    json!({ "images": images, "thumbnail_sizes": ["small"] })
}

pub(crate) async fn wait_job(app: &TestApp, id: &str, within: Duration) -> serde_json::Value {
    let deadline = Instant::now() + within;
    loop {
        let (s, v) = app.get_json_auth(&format!("/api/jobs/{id}")).await;
        if s == 200 && v["state"] == "completed" {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "job {id} did not complete: {s} {v}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads from 3 tasks (product by id, a cached search, an uncached search) and one task that
/// submits small batches and reads their status, until `stop`.
fn start_load(
    app: &Arc<TestApp>,
    ids: &[i64],
    stop: &Arc<AtomicBool>,
    tally: &Tally,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut load = Vec::new();
    for t in 0..3u64 {
        let (app, stop, tally, ids) = (app.clone(), stop.clone(), tally.clone(), ids.to_vec());
        load.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let path = match (n + t) % 3 {
                    0 => format!("/api/products/{}", ids[(n as usize) % ids.len()]),
                    1 => "/api/search/text?q=desk+lamp".to_owned(),
                    _ => format!("/api/search/text?q=lamp&offset={}", n % 7),
                };
                let r = app.client.get(app.url(&path)).send().await;
                tally.add("read", r.map(|r| r.status().as_u16()).unwrap_or(599));
            }
        }));
    }
    let (app, stop, tally) = (app.clone(), stop.clone(), tally.clone());
    load.push(tokio::spawn(async move {
        let mut seed = 100u32;
        let mut last_job: Option<String> = None;
        while !stop.load(Ordering::Relaxed) {
            seed += 1;
            let r = app
                .client
                .post(app.url("/api/images/batch"))
                .bearer_auth(API_KEY)
                .json(&small_batch(1, seed))
                .send()
                .await;
            let status = job_status(r.as_ref().ok());
            tally.add("job", status);
            if status == 202
                && let Ok(r) = r
                && let Ok(v) = r.json::<serde_json::Value>().await
            {
                last_job = v["job_id"].as_str().map(str::to_owned);
            }
            if let Some(id) = &last_job {
                let r = app
                    .client
                    .get(app.url(&format!("/api/jobs/{id}")))
                    .bearer_auth(API_KEY)
                    .send()
                    .await;
                tally.add("job", job_status(r.as_ref().ok()));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }));
    load
}

/// A job route's status, 599 for a transport error or a 503 without `Retry-After`.
fn job_status(r: Option<&reqwest::Response>) -> u16 {
    match r {
        Some(r) if r.status() == 503 && !r.headers().contains_key("retry-after") => 599,
        Some(r) => r.status().as_u16(),
        None => 599,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failover_under_load_serves_reads_and_recovers() {
    let mut cluster = start_cluster().await;
    let url = cluster.url();
    let prefix = unique_prefix();
    let queue = format!("q-{}", prefix.trim_end_matches(':'));
    let extra = [
        ("REDIS_URL", url.as_str()),
        ("CACHE_KEY_PREFIX", prefix.as_str()),
        ("QUEUE_PREFIX", queue.as_str()),
        ("CACHE_REDIS_TIMEOUT", "200ms"),
        ("CACHE_BREAKER_COOLDOWN", "300ms"),
        ("CACHE_BREAKER_FAILURES", "2"),
        ("ASYNC_WORKERS", "2"),
        ("THREAD_POOL_SIZE", "1"),
        ("JOB_VISIBILITY_TIMEOUT", "2s"),
    ];
    let app = Arc::new(spawn_app_with(Backend::Sqlite, &extra).await);
    let mut ids = Vec::new();
    for i in 0..12 {
        let p = app
            .create_product(product_json(
                &format!("F-{i}"),
                &format!("Desk Lamp {i}"),
                "Lamps",
                "Lumen",
                1000 + i,
            ))
            .await;
        ids.push(p["id"].as_i64().unwrap());
    }
    let (s, v) = app.post_json("/api/images/batch", &small_batch(2, 1)).await;
    assert_eq!(s, 202, "{v}");
    wait_job(&app, v["job_id"].as_str().unwrap(), Duration::from_secs(60)).await;

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Tally::default();
    let load = start_load(&app, &ids, &stop, &tally);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let victim = cluster
        .master_of(&format!("{{{queue}}}:q:normal"))
        .expect("the queue's master");
    let before_kill = tally.snapshot();
    let killed_at = Instant::now();
    cluster.kill(victim);
    let cluster = tokio::task::spawn_blocking(move || {
        let ok = cluster.wait_failed_over(victim, Duration::from_secs(60));
        assert!(ok, "no replica took over:\n{}", cluster.nodes_table());
        cluster
    })
    .await
    .unwrap();
    let failover_took = killed_at.elapsed();
    let in_window = since(&before_kill, &tally.snapshot());

    // The origin recovers by itself: the breaker closes, jobs are accepted again.
    wait_until("the cache to report ok", async || {
        app.get_json("/api/health/cache").await.1["status"] == "ok"
    })
    .await;
    let accepted = {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (s, v) = app.post_json("/api/images/batch", &small_batch(3, 3)).await;
            if s != 503 {
                assert_eq!(s, 202, "{v}");
                break v;
            }
            assert!(
                Instant::now() < deadline,
                "the queue never took a batch again"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let recovered_after = killed_at.elapsed();
    let job = wait_job(
        &app,
        accepted["job_id"].as_str().unwrap(),
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(job["progress"]["succeeded"], 3, "{job}");

    stop.store(true, Ordering::Relaxed);
    for h in load {
        h.await.unwrap();
    }
    let total = tally.snapshot();
    println!(
        "master on port {victim} SIGKILLed; replica promoted after {failover_took:?}, \
         origin took a batch again after {recovered_after:?}"
    );
    println!("requests while the cluster failed over ((route, status) → count): {in_window:?}");
    println!("requests over the whole test: {total:?}");
    let served = |m: &BTreeMap<(&str, u16), u64>, kind: &str| -> u64 {
        m.iter()
            .filter(|((k, s), _)| *k == kind && *s < 500)
            .map(|(_, n)| n)
            .sum()
    };
    let failed = |m: &BTreeMap<(&str, u16), u64>, kind: &str| -> u64 {
        m.iter()
            .filter(|((k, s), _)| *k == kind && *s >= 500)
            .map(|(_, n)| n)
            .sum()
    };
    println!(
        "failover window: reads served {} failed {}; job requests served {} refused with 503 {}",
        served(&in_window, "read"),
        failed(&in_window, "read"),
        served(&in_window, "job"),
        failed(&in_window, "job"),
    );
    let bad: Vec<_> = total
        .iter()
        .filter(|((kind, s), _)| match *kind {
            "read" => *s != 200,
            _ => *s >= 500 && *s != 503,
        })
        .collect();
    assert!(
        bad.is_empty(),
        "unexpected statuses under failover: {bad:?} of {total:?}"
    );
    assert!(served(&in_window, "read") > 0, "{in_window:?}");

    // L2 works again: an entry A writes now is read by a second instance from L2.
    let b = spawn_on(
        app.database_url.clone(),
        tempfile::tempdir().unwrap(),
        &extra,
    )
    .await;
    let p = app
        .create_product(product_json("F-new", "Table Lamp", "Lamps", "Lumen", 700))
        .await;
    let path = format!("/api/products/{}", p["id"]);
    assert_eq!(header(&app.get(&path).await, "x-cache"), "MISS");
    let mut conn = cluster_conn(&cluster).await;
    let key = format!("{prefix}v1:product:{}", p["id"]);
    wait_until("the new entry in the cluster", async || {
        redis::cmd("EXISTS")
            .arg(&key)
            .query_async::<bool>(&mut conn)
            .await
            .unwrap_or(false)
    })
    .await;
    assert_eq!(header(&b.get(&path).await, "x-cache"), "HIT-L2");
    b.stop().await;
    match Arc::try_unwrap(app) {
        Ok(app) => app.stop().await,
        Err(_) => panic!("load tasks still hold the app"),
    }
}
