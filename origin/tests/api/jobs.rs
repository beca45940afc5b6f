//! Batch jobs: the HTTP lifecycle, idempotency, cancel, bad requests, and the queue's
//! semantics on both backends (retry → dead letter, visibility timeout with exactly-once
//! results, priorities), plus the at-least-once test with two real origin processes sharing
//! one Redis, one of them killed mid-batch, and a restart that loses no queued job.
//!
//! Redis is the real one at `TEST_REDIS_URL` (default `redis://127.0.0.1:6379`); each test uses
//! its own `QUEUE_PREFIX`, so tests run in parallel and leave nothing behind.

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use base64::Engine as _;
use futures::{FutureExt, future::BoxFuture};
use vitrine_origin::jobs::{
    ItemError, JobQueue, JobState, JobStats, NewJob, Priority, QueueConfig, Task, TaskError,
    TaskHandler, memory::MemoryQueue, redis_queue::RedisQueue, worker::Workers,
};
use vitrine_origin::observability::Snapshot;

use vitrine_testkit::{OriginProcess, Stdout, fresh_postgres};

use crate::helpers::{API_KEY, Backend, TestApp, spawn_app_with};
use crate::images::{jpeg, random_bytes, upload};

/// The Redis the tests use; fails with instructions when it cannot be reached.
pub async fn redis_url() -> String {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let ping = async {
        let client = redis::Client::open(url.as_str())?;
        let mut c = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut c).await
    };
    if let Err(e) = ping.await {
        panic!(
            "cannot reach Redis at {url}: {e}\n\
             start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save \"\" --appendonly no\n\
             (or set TEST_REDIS_URL); scripts/test.sh does this for you"
        );
    }
    url
}

pub fn unique_prefix() -> String {
    format!("vt-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// Deletes every key under `prefix`.
pub(crate) async fn cleanup(url: &str, prefix: &str) {
    let Ok(client) = redis::Client::open(url) else {
        return;
    };
    let Ok(mut c) = client.get_multiplexed_async_connection().await else {
        return;
    };
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut c)
        .await
        .unwrap_or_default();
    if !keys.is_empty() {
        let _: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query_async(&mut c).await;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Q {
    Memory,
    Redis,
}

async fn queue_env(q: Q) -> Vec<(String, String)> {
    match q {
        Q::Memory => vec![],
        Q::Redis => vec![
            ("REDIS_URL".into(), redis_url().await),
            ("QUEUE_PREFIX".into(), unique_prefix()),
        ],
    }
}

pub(crate) async fn app_on(q: Q, extra: &[(&str, &str)]) -> TestApp {
    let env = queue_env(q).await;
    let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    all.extend_from_slice(extra);
    spawn_app_with(Backend::Sqlite, &all).await
}

async fn wait_terminal(app: &TestApp, id: &str, within: Duration) -> serde_json::Value {
    let deadline = Instant::now() + within;
    loop {
        let r = app
            .client
            .get(app.url(&format!("/api/jobs/{id}")))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: serde_json::Value = r.json().await.unwrap();
        let state = v["state"].as_str().unwrap_or_default().to_owned();
        if matches!(state.as_str(), "completed" | "failed" | "cancelled") {
            return v;
        }
        assert!(Instant::now() < deadline, "job did not finish: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn batch_lifecycle(q: Q) {
    let app = app_on(q, &[]).await;
    let (_, up) = upload(&app, jpeg(500, 400)).await;
    let uploaded = up["id"].as_str().unwrap().to_owned();
    let body = serde_json::json!({
        "images": [
            b64(&jpeg(900, 600)),
            uploaded,
            "!!! not base64 !!!",
            b64(&random_bytes(3000)),
            format!("data:image/png;base64,{}", b64(&crate::images::png(64, 64))),
            "f".repeat(64),
        ],
        "generate_thumbnails": true,
        "thumbnail_sizes": ["small", "medium", "large"],
        "priority": "high",
    });
    let (status, accepted) = app.post_json("/api/images/batch", &body).await;
    assert_eq!(status, 202, "{accepted}");
    let id = accepted["job_id"].as_str().unwrap().to_owned();
    assert_eq!(accepted["status_url"], format!("/api/jobs/{id}"));
    let job = wait_terminal(&app, &id, Duration::from_secs(60)).await;
    assert_eq!(job["state"], "completed", "{job}");
    assert_eq!(job["priority"], "high");
    let p = &job["progress"];
    assert_eq!(
        (p["total"].as_u64(), p["done"].as_u64()),
        (Some(6), Some(6)),
        "{job}"
    );
    assert_eq!(
        (p["succeeded"].as_u64(), p["failed"].as_u64()),
        (Some(3), Some(3)),
        "{job}"
    );
    let items = job["items"].as_array().unwrap();
    let code = |i: usize| items[i]["error"]["code"].as_str().unwrap_or("-").to_owned();
    assert_eq!(items[0]["status"], "succeeded");
    assert_eq!(items[1]["status"], "succeeded");
    assert_eq!(items[1]["result"]["image_id"], uploaded.as_str());
    assert_eq!(code(2), "invalid_base64");
    assert_eq!(code(3), "unknown_format");
    assert_eq!(items[4]["status"], "succeeded", "{}", items[4]);
    assert_eq!(code(5), "not_found");
    // Thumbnails: presets as asked, servable at once from the cache.
    let thumbs = &items[0]["result"]["thumbnails"];
    assert_eq!(thumbs["large"]["width"], 600);
    assert_eq!(thumbs["large"]["height"], 400);
    assert_eq!(thumbs["small"]["width"], 150);
    assert_eq!(thumbs["medium"]["format"], "webp");
    for size in ["small", "medium", "large"] {
        let url = thumbs[size]["url"].as_str().unwrap();
        let r = app.get(url).await;
        assert_eq!(r.status(), 200, "{url}");
        assert_eq!(r.headers()["x-image-cache"], "hit", "{url}");
        assert_eq!(r.headers()["content-type"], "image/webp");
    }
    // The original of the base64 item was ingested.
    let new_id = items[0]["result"]["image_id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/api/images/{new_id}")).await.status(),
        200
    );
    // /result once finished.
    let (status, result) = app_get(&app, &format!("/api/jobs/{id}/result")).await;
    assert_eq!(status, 200);
    assert_eq!(result["results"].as_array().unwrap().len(), 6);
    // Finished jobs cannot be cancelled.
    let r = app
        .client
        .delete(app.url(&format!("/api/jobs/{id}")))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let stats = app.state.jobs.stats.snapshot();
    assert_eq!(stats["items_succeeded"], 3, "{stats}");
    app.stop().await;
}

pub(crate) async fn app_get(app: &TestApp, path: &str) -> (u16, serde_json::Value) {
    let r = app
        .client
        .get(app.url(path))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or_default())
}

async fn idempotency_and_cancel(q: Q) {
    // No workers: jobs stay queued, so cancel has something to cancel.
    let app = app_on(q, &[("ASYNC_WORKERS", "0")]).await;
    let key = format!("order-{}", uuid::Uuid::new_v4().simple());
    let body = serde_json::json!({
        "images": [b64(&jpeg(64, 64)), b64(&jpeg(65, 64))],
        "idempotency_key": key,
        "priority": "low",
    });
    let (s1, first) = app.post_json("/api/images/batch", &body).await;
    assert_eq!(s1, 202, "{first}");
    let (s2, second) = app.post_json("/api/images/batch", &body).await;
    assert_eq!(s2, 200, "{second}");
    assert_eq!(second["duplicate"], true);
    assert_eq!(first["job_id"], second["job_id"]);
    let id = first["job_id"].as_str().unwrap();

    let (status, job) = app_get(&app, &format!("/api/jobs/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(job["state"], "queued");
    // The queue's depth reaches the gauge and the performance report when they are read.
    let metrics = app
        .client
        .get(app.url("/api/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.lines().any(|l| l == "jobs_queued 2"),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("jobs_"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let (_, report) = app_get(&app, "/api/performance").await;
    assert_eq!(report["jobs"]["queued"], 2, "{}", report["jobs"]);
    let (status, _) = app_get(&app, &format!("/api/jobs/{id}/result")).await;
    assert_eq!(status, 409, "no result before the job finishes");

    let r = app
        .client
        .delete(app.url(&format!("/api/jobs/{id}")))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, job) = app_get(&app, &format!("/api/jobs/{id}")).await;
    assert_eq!(job["state"], "cancelled");
    let (status, result) = app_get(&app, &format!("/api/jobs/{id}/result")).await;
    assert_eq!(status, 200);
    assert_eq!(result["state"], "cancelled");

    // Workers that pick the items up later skip them.
    let workers = vitrine_origin::startup::start_workers_n(&app.state, 1);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, job) = app_get(&app, &format!("/api/jobs/{id}")).await;
        if job["progress"]["skipped"] == 2 {
            assert_eq!(job["state"], "cancelled");
            break;
        }
        assert!(Instant::now() < deadline, "{job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    workers.shutdown(Duration::from_secs(5)).await;

    // Unknown and malformed ids.
    let (status, _) = app_get(&app, &format!("/api/jobs/{}", "0".repeat(32))).await;
    assert_eq!(status, 404);
    let (status, _) = app_get(&app, "/api/jobs/../../etc").await;
    assert!(status == 404 || status == 400);
    app.stop().await;
}

mod lifecycle {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memory() {
        batch_lifecycle(Q::Memory).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis() {
        batch_lifecycle(Q::Redis).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn idempotency_and_cancel_memory() {
        idempotency_and_cancel(Q::Memory).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn idempotency_and_cancel_redis() {
        idempotency_and_cancel(Q::Redis).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_batch_requests_are_4xx_problems() {
    let app = app_on(
        Q::Memory,
        &[("BATCH_MAX_ITEMS", "3"), ("BATCH_MAX_BYTES", "100000")],
    )
    .await;
    let cases = [
        (serde_json::json!({"images": []}), 422, "images"),
        (serde_json::json!({"images": ["a", "b", "c", "d"]}), 413, ""),
        (
            serde_json::json!({"images": ["a"], "thumbnail_sizes": ["huge"]}),
            422,
            "thumbnail_sizes",
        ),
        (
            serde_json::json!({"images": ["a"], "priority": "urgent"}),
            422,
            "priority",
        ),
        (
            serde_json::json!({"images": ["a"], "idempotency_key": "has spaces"}),
            422,
            "idempotency_key",
        ),
        (
            serde_json::json!({"images": ["a"], "format": "bmp"}),
            422,
            "format",
        ),
        (serde_json::json!({"images": "nope"}), 422, ""),
        (
            serde_json::json!({"images": ["x".repeat(200_000)]}),
            413,
            "",
        ),
    ];
    for (body, status, field) in cases {
        let (got, problem) = app.post_json("/api/images/batch", &body).await;
        assert_eq!(got, status, "{problem}");
        if !field.is_empty() {
            assert_eq!(problem["field"], field, "{problem}");
        }
    }
    let r = app
        .client
        .post(app.url("/api/images/batch"))
        .json(&serde_json::json!({"images": ["a"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Queue semantics, straight on the library, on both backends.

pub(crate) fn fast_config() -> QueueConfig {
    QueueConfig {
        visibility_timeout: Duration::from_millis(300),
        max_attempts: 3,
        retry_base: Duration::from_millis(20),
        ttl: Duration::from_secs(600),
    }
}

pub(crate) async fn make_queue(q: Q) -> (Arc<dyn JobQueue>, Option<(String, String)>) {
    match q {
        Q::Memory => (Arc::new(MemoryQueue::new(fast_config())), None),
        Q::Redis => {
            let url = redis_url().await;
            let prefix = unique_prefix();
            let queue = RedisQueue::connect(&url, &prefix, fast_config())
                .await
                .unwrap();
            (Arc::new(queue), Some((url, prefix)))
        }
    }
}

fn job(items: usize, priority: Priority) -> NewJob {
    NewJob {
        kind: "test".into(),
        priority,
        idempotency_key: None,
        unique: None,
        items: (0..items).map(|i| serde_json::json!({ "i": i })).collect(),
        prefailed: vec![],
        meta: serde_json::Value::Null,
    }
}

/// Fails item 0 transiently every time; succeeds on the others.
struct Flaky {
    calls_on_zero: AtomicU32,
}

impl TaskHandler for Flaky {
    fn handle<'a>(&'a self, task: &'a Task) -> BoxFuture<'a, Result<serde_json::Value, TaskError>> {
        async move {
            if task.index == 0 {
                self.calls_on_zero.fetch_add(1, Ordering::SeqCst);
                Err(TaskError::Transient(ItemError::new(
                    "flaky",
                    "storage hiccup",
                )))
            } else {
                Ok(serde_json::json!({"ok": task.index}))
            }
        }
        .boxed()
    }
}

pub(crate) async fn wait_job(queue: &Arc<dyn JobQueue>, id: &str) -> vitrine_origin::jobs::JobView {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = queue.job(id).await.unwrap().unwrap();
        if v.state.is_terminal() {
            return v;
        }
        assert!(Instant::now() < deadline, "{v:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn retry_then_dead_letter(q: Q) {
    let (queue, redis) = make_queue(q).await;
    let handler = Arc::new(Flaky {
        calls_on_zero: AtomicU32::new(0),
    });
    let stats = Arc::new(JobStats::default());
    let workers = Workers::start(queue.clone(), handler.clone(), stats.clone(), 2, 4);
    let id = queue.submit(job(3, Priority::Normal)).await.unwrap();
    let view = wait_job(&queue, id.id()).await;
    workers.shutdown(Duration::from_secs(5)).await;
    assert_eq!(view.state, JobState::Completed, "{view:?}");
    assert_eq!(view.progress.succeeded, 2);
    assert_eq!(view.progress.failed, 1);
    let failed = &view.items[0];
    let e = failed.error.as_ref().unwrap();
    assert_eq!(e.code, "dead_lettered");
    assert!(
        e.message.contains("3 attempts") && e.message.contains("storage hiccup"),
        "{e:?}"
    );
    assert_eq!(failed.attempts, 3);
    assert_eq!(
        handler.calls_on_zero.load(Ordering::SeqCst),
        3,
        "retried up to the limit"
    );
    let dead = queue.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].task.index, 0);
    assert_eq!(dead[0].attempts, 3);
    assert_eq!(stats.snapshot()["retries"], 3);
    if let Some((url, prefix)) = redis {
        cleanup(&url, &prefix).await;
    }
}

async fn visibility_timeout_and_exactly_once(q: Q) {
    let (queue, redis) = make_queue(q).await;
    let id = queue.submit(job(1, Priority::Normal)).await.unwrap();
    let first = queue.fetch("a", 1, Duration::ZERO).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].attempt, 1);
    // Not finished in time (the worker "died"): another consumer gets it.
    assert!(
        queue
            .fetch("b", 1, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    tokio::time::sleep(Duration::from_millis(450)).await;
    let second = queue
        .fetch("b", 1, Duration::from_millis(200))
        .await
        .unwrap();
    assert_eq!(second.len(), 1, "redelivered after the visibility timeout");
    assert_eq!(second[0].task, first[0].task);
    assert_eq!(second[0].attempt, 2);
    let ok = |n| vitrine_origin::jobs::ItemOutcome::succeeded(0, serde_json::json!({"by": n}), 1);
    assert!(queue.finish(&second[0], ok("b")).await.unwrap());
    // The slow first worker finishes too: its result does not count again.
    assert!(!queue.finish(&first[0], ok("a")).await.unwrap());
    let view = queue.job(id.id()).await.unwrap().unwrap();
    assert_eq!(view.state, JobState::Completed);
    assert_eq!(view.progress.done, 1);
    assert_eq!(view.items.len(), 1);
    assert_eq!(view.items[0].result.as_ref().unwrap()["by"], "b");
    // Nothing left to deliver.
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert!(
        queue
            .fetch("c", 5, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    if let Some((url, prefix)) = redis {
        cleanup(&url, &prefix).await;
    }
}

async fn high_priority_first(q: Q) {
    let (queue, redis) = make_queue(q).await;
    let low = queue.submit(job(2, Priority::Low)).await.unwrap();
    let normal = queue.submit(job(1, Priority::Normal)).await.unwrap();
    let high = queue.submit(job(1, Priority::High)).await.unwrap();
    let mut order = Vec::new();
    for _ in 0..4 {
        let d = queue
            .fetch("w", 1, Duration::from_millis(100))
            .await
            .unwrap();
        assert_eq!(d.len(), 1);
        order.push(d[0].task.job_id.clone());
        let o = vitrine_origin::jobs::ItemOutcome::succeeded(
            d[0].task.index,
            serde_json::Value::Null,
            1,
        );
        queue.finish(&d[0], o).await.unwrap();
    }
    assert_eq!(
        order,
        vec![
            high.id().to_owned(),
            normal.id().to_owned(),
            low.id().to_owned(),
            low.id().to_owned()
        ]
    );
    if let Some((url, prefix)) = redis {
        cleanup(&url, &prefix).await;
    }
}

mod queue {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn retry_then_dead_letter_memory() {
        retry_then_dead_letter(Q::Memory).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn retry_then_dead_letter_redis() {
        retry_then_dead_letter(Q::Redis).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn visibility_timeout_and_exactly_once_memory() {
        visibility_timeout_and_exactly_once(Q::Memory).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn visibility_timeout_and_exactly_once_redis() {
        visibility_timeout_and_exactly_once(Q::Redis).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn high_priority_first_memory() {
        high_priority_first(Q::Memory).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn high_priority_first_redis() {
        high_priority_first(Q::Redis).await
    }
}

// ---------------------------------------------------------------------------------------------
// At-least-once with real processes.

/// An origin process with the settings these tests share, plus `env`.
fn start_origin(env: &[(&str, &str)]) -> OriginProcess {
    let mut all = vec![
        ("API_KEYS", API_KEY),
        ("SEARCH_INDEX_DIR", "memory"),
        ("SEED_DEMO", "false"),
        ("LOG_LEVEL", "warn"),
        ("CONNECTION_POOL_MIN", "1"),
        ("CONNECTION_POOL_SIZE", "5"),
    ];
    all.extend_from_slice(env);
    OriginProcess::start(
        Path::new(env!("CARGO_BIN_EXE_vitrine-origin")),
        &all,
        Stdout::Discard,
    )
}

/// How long an origin process may take to become ready.
const READY: Duration = Duration::from_secs(60);

async fn job_status(client: &reqwest::Client, base: &str, id: &str) -> serde_json::Value {
    client
        .get(format!("{base}/api/jobs/{id}"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Distinct photos-sized JPEGs (distinct bytes: no dedupe between items).
fn distinct_jpegs(n: usize, w: u32, h: u32) -> Vec<String> {
    (0..n)
        .map(|i| {
            let img = image::RgbImage::from_fn(w, h, |x, y| {
                image::Rgb([
                    ((x + i as u32 * 7) % 256) as u8,
                    ((y * 3 + i as u32) % 256) as u8,
                    ((x ^ y) % 256) as u8,
                ])
            });
            let mut out = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
                .encode(&img, w, h, image::ExtendedColorType::Rgb8)
                .unwrap();
            b64(&out)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_worker_process_mid_batch_loses_no_item() {
    let redis = redis_url().await;
    let prefix = unique_prefix();
    let database = fresh_postgres().await;
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap().to_owned();
    let env = [
        ("DATABASE_URL", database.as_str()),
        ("DATA_DIR", data_dir.as_str()),
        ("REDIS_URL", redis.as_str()),
        ("QUEUE_PREFIX", prefix.as_str()),
        ("JOB_VISIBILITY_TIMEOUT", "2s"),
        ("ASYNC_WORKERS", "2"),
        ("THREAD_POOL_SIZE", "1"),
    ];
    let client = reqwest::Client::new();
    let mut a = start_origin(&env);
    let b = start_origin(&env);
    a.wait_ready(&client, READY).await;
    b.wait_ready(&client, READY).await;

    let total = 40;
    let body = serde_json::json!({ "images": distinct_jpegs(total, 1600, 1200) });
    let r = client
        .post(format!("{}/api/images/batch", a.base))
        .bearer_auth(API_KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let id = r.json::<serde_json::Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Kill A (SIGKILL: no graceful anything) once the batch is under way.
    let deadline = Instant::now() + Duration::from_secs(60);
    let done_at_kill = loop {
        let s = job_status(&client, &b.base, &id).await;
        let done = s["progress"]["done"].as_u64().unwrap_or(0);
        if done >= 4 {
            break done;
        }
        assert!(Instant::now() < deadline, "the batch did not start: {s}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    assert!(
        done_at_kill < total as u64,
        "the batch finished before the kill; make it bigger"
    );

    // B finishes the job, including what A held.
    let deadline = Instant::now() + Duration::from_secs(180);
    let job = loop {
        let s = job_status(&client, &b.base, &id).await;
        if s["state"] == "completed" || s["state"] == "failed" {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the job did not complete: {}",
            s["progress"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(job["state"], "completed", "{}", job["progress"]);
    assert_eq!(job["progress"]["succeeded"], total, "{}", job["progress"]);
    assert_eq!(job["progress"]["done"], total);
    let items = job["items"].as_array().unwrap();
    let indices: Vec<u64> = items.iter().map(|i| i["index"].as_u64().unwrap()).collect();
    assert_eq!(
        indices,
        (0..total as u64).collect::<Vec<_>>(),
        "each item exactly once"
    );
    for item in items {
        assert_eq!(item["status"], "succeeded", "{item}");
        assert!(
            item["result"]["thumbnails"]["large"]["url"].is_string(),
            "{item}"
        );
    }
    let redelivered = items
        .iter()
        .filter(|i| i["attempts"].as_u64() > Some(1))
        .count();
    eprintln!(
        "killed A at {done_at_kill}/{total} items; {redelivered} items were redelivered to B"
    );
    drop(b);
    cleanup(&redis, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_the_origin_loses_no_queued_job() {
    let redis = redis_url().await;
    let prefix = unique_prefix();
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap().to_owned();
    let db = format!("sqlite:{}", data.path().join("v.db").display());
    let mut env = vec![
        ("DATABASE_URL", db.as_str()),
        ("DATA_DIR", data_dir.as_str()),
        ("REDIS_URL", redis.as_str()),
        ("QUEUE_PREFIX", prefix.as_str()),
        ("ASYNC_WORKERS", "0"),
    ];
    let client = reqwest::Client::new();
    let mut first = start_origin(&env);
    first.wait_ready(&client, READY).await;
    let body = serde_json::json!({ "images": distinct_jpegs(5, 300, 200) });
    let r = client
        .post(format!("{}/api/images/batch", first.base))
        .bearer_auth(API_KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let id = r.json::<serde_json::Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        job_status(&client, &first.base, &id).await["state"],
        "queued"
    );
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    env.retain(|(k, _)| *k != "ASYNC_WORKERS");
    env.push(("ASYNC_WORKERS", "2"));
    let second = start_origin(&env);
    second.wait_ready(&client, READY).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = job_status(&client, &second.base, &id).await;
        if s["state"] == "completed" {
            assert_eq!(s["progress"]["succeeded"], 5, "{s}");
            break;
        }
        assert!(Instant::now() < deadline, "{s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(second);
    cleanup(&redis, &prefix).await;
}
