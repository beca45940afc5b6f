//! Unique jobs and per-kind concurrency limits on both queue backends, with real workers.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use futures::{FutureExt, future::BoxFuture};
use vitrine_origin::jobs::{
    JobQueue, JobState, JobStats, NewJob, Priority, Submitted, Task, TaskError, TaskHandler,
    Unique, limits::Limits, redis_queue::RedisQueue, worker::Workers,
};

use crate::helpers::API_KEY;
use crate::jobs::{Q, app_on, cleanup, fast_config, make_queue, redis_url, wait_job};

fn job(kind: &str, items: usize, unique: Option<&str>) -> NewJob {
    NewJob {
        kind: kind.into(),
        priority: Priority::Normal,
        idempotency_key: None,
        unique: unique.map(|k| Unique {
            key: k.to_owned(),
            ttl: Duration::from_secs(600),
        }),
        items: (0..items).map(|i| serde_json::json!({ "i": i })).collect(),
        prefailed: vec![],
        meta: serde_json::Value::Null,
    }
}

async fn unique_jobs(q: Q) {
    let (queue, redis) = make_queue(q).await;
    // Concurrent submissions with one key: exactly one job is made.
    let subs =
        futures::future::join_all((0..8).map(|_| queue.submit(job("noop", 2, Some("k1"))))).await;
    let subs: Vec<Submitted> = subs.into_iter().map(Result::unwrap).collect();
    let news: Vec<&Submitted> = subs
        .iter()
        .filter(|s| matches!(s, Submitted::New(_)))
        .collect();
    assert_eq!(news.len(), 1, "{subs:?}");
    let first = news[0].id().to_owned();
    assert!(subs.iter().all(|s| s.id() == first), "{subs:?}");
    // Another key is another job.
    let other = queue.submit(job("noop", 1, Some("k2"))).await.unwrap();
    assert!(matches!(other, Submitted::New(ref id) if *id != first));
    // Once the first job finished, the key makes a new job.
    let workers = Workers::start(
        queue.clone(),
        Arc::new(vitrine_origin::jobs::dispatch::Dispatcher::new()),
        Arc::new(JobStats::default()),
        2,
        2,
    );
    assert_eq!(wait_job(&queue, &first).await.state, JobState::Completed);
    let again = queue.submit(job("noop", 1, Some("k1"))).await.unwrap();
    assert!(
        matches!(again, Submitted::New(ref id) if *id != first),
        "{again:?}"
    );
    wait_job(&queue, again.id()).await;
    workers.shutdown(Duration::from_secs(5)).await;
    // A cancelled job releases its key too.
    let queued = queue.submit(job("noop", 1, Some("k3"))).await.unwrap();
    assert_eq!(
        queue.submit(job("noop", 1, Some("k3"))).await.unwrap(),
        Submitted::Existing(queued.id().to_owned())
    );
    queue.cancel(queued.id()).await.unwrap();
    assert!(matches!(
        queue.submit(job("noop", 1, Some("k3"))).await.unwrap(),
        Submitted::New(_)
    ));
    // After the key's TTL a new job is made even while the first is queued.
    let mut short = job("noop", 1, Some("k4"));
    short.unique.as_mut().unwrap().ttl = Duration::from_millis(1);
    let a = queue.submit(short.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let b = queue.submit(short).await.unwrap();
    assert!(matches!(b, Submitted::New(ref id) if id != a.id()), "{b:?}");
    if let Some((url, prefix)) = redis {
        cleanup(&url, &prefix).await;
    }
}

/// `unique_key` on `POST /api/images/batch`: the live batch while it is queued, a new one once
/// it ended (here: cancelled).
async fn batch_unique_key(q: Q) {
    let app = app_on(q, &[("ASYNC_WORKERS", "0")]).await;
    let key = format!("nightly-{}", uuid::Uuid::new_v4().simple());
    let body = serde_json::json!({"images": ["f".repeat(64)], "unique_key": key});
    let (s1, first) = app.post_json("/api/images/batch", &body).await;
    assert_eq!(s1, 202, "{first}");
    let (s2, second) = app.post_json("/api/images/batch", &body).await;
    assert_eq!(
        (s2, &second["job_id"], &second["duplicate"]),
        (200, &first["job_id"], &serde_json::json!(true)),
        "{second}"
    );
    let id = first["job_id"].as_str().unwrap();
    let r = app
        .client
        .delete(app.url(&format!("/api/jobs/{id}")))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (s3, third) = app.post_json("/api/images/batch", &body).await;
    assert_eq!(s3, 202, "{third}");
    assert_ne!(third["job_id"], first["job_id"]);
    let bad = serde_json::json!({"images": ["a"], "unique_key": "has spaces"});
    let (status, problem) = app.post_json("/api/images/batch", &bad).await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (422, Some("unique_key")),
        "{problem}"
    );
    let prefix = app.state.settings.jobs.queue_prefix.clone();
    app.stop().await;
    if q == Q::Redis {
        cleanup(&redis_url().await, &prefix).await;
    }
}

/// Records how many tasks run at once (the most seen), each taking a little while.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
    ran: AtomicUsize,
}

impl TaskHandler for Gauge {
    fn handle<'a>(
        &'a self,
        _task: &'a Task,
    ) -> BoxFuture<'a, Result<serde_json::Value, TaskError>> {
        async move {
            let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.max.fetch_max(n, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(30)).await;
            self.now.fetch_sub(1, Ordering::SeqCst);
            self.ran.fetch_add(1, Ordering::SeqCst);
            Ok(serde_json::Value::Null)
        }
        .boxed()
    }
}

fn limits(local: &[(&str, u32)], cluster: &[(&str, u32)]) -> Limits {
    let map = |l: &[(&str, u32)]| {
        l.iter()
            .map(|(k, n)| ((*k).to_owned(), *n))
            .collect::<BTreeMap<_, _>>()
    };
    Limits::new(&map(local), &map(cluster))
}

/// Runs 8 items of a limited kind on `pools` worker pools (4 workers each) and returns the
/// most that ran at once, after checking every item succeeded at its first counted attempt.
async fn most_at_once(queues: &[Arc<dyn JobQueue>], limit: impl Fn() -> Limits) -> usize {
    let gauge = Arc::new(Gauge::default());
    let stats = Arc::new(JobStats::default());
    let pools: Vec<Workers> = queues
        .iter()
        .map(|q| Workers::start_limited(q.clone(), gauge.clone(), stats.clone(), 4, 2, limit()))
        .collect();
    let id = queues[0].submit(job("slow", 8, None)).await.unwrap();
    let view = wait_job(&queues[0], id.id()).await;
    for p in pools {
        p.shutdown(Duration::from_secs(5)).await;
    }
    assert_eq!(view.state, JobState::Completed, "{view:?}");
    assert_eq!(view.progress.succeeded, 8, "{view:?}");
    // Deferrals are not attempts (the queue allows 3): every item ran on its first.
    assert!(view.items.iter().all(|o| o.attempts == 1), "{view:?}");
    assert_eq!(gauge.ran.load(Ordering::SeqCst), 8);
    eprintln!(
        "8 items: at most {} at once, {} deferrals",
        gauge.max.load(Ordering::SeqCst),
        stats.deferred.load(Ordering::SeqCst)
    );
    gauge.max.load(Ordering::SeqCst)
}

/// A fresh queue per phase: on Redis, a stopped pool's blocking reads stay registered on the
/// server for up to their wait and would take the next phase's first entries.
async fn concurrency_limits(q: Q) {
    // Per process: one at a time, though 4 workers are free.
    let (queue, redis) = make_queue(q).await;
    let max = most_at_once(&[queue], || limits(&[("slow", 1)], &[])).await;
    assert_eq!(max, 1);
    let (queue, redis2) = make_queue(q).await;
    let max = most_at_once(&[queue], || limits(&[("slow", 2)], &[])).await;
    assert!(max <= 2, "{max}");
    // Across instances: two pools (on Redis, two connections as two processes would have)
    // share one slot.
    let (queue, redis3) = make_queue(q).await;
    let second: Arc<dyn JobQueue> = match &redis3 {
        Some((url, prefix)) => Arc::new(
            RedisQueue::connect(url, prefix, fast_config())
                .await
                .unwrap(),
        ),
        None => queue.clone(),
    };
    let max = most_at_once(&[queue, second], || limits(&[], &[("slow", 1)])).await;
    assert_eq!(max, 1);
    // Unlimited, the same work runs side by side.
    let (queue, redis4) = make_queue(q).await;
    let max = most_at_once(&[queue], || limits(&[("other", 1)], &[])).await;
    assert!(max > 1, "{max}");
    for (url, prefix) in [redis, redis2, redis3, redis4].into_iter().flatten() {
        cleanup(&url, &prefix).await;
    }
}

/// A slot held by a process that died (never released) comes back once its lease expires
/// (the visibility timeout: 300 ms here); a released one at once.
async fn leases_expire(q: Q) {
    let (queue, redis) = make_queue(q).await;
    assert!(queue.lease("k", "crashed", 1).await.unwrap());
    assert!(
        !queue.lease("k", "other", 1).await.unwrap(),
        "the slot is held"
    );
    assert!(
        queue.lease("k", "crashed", 1).await.unwrap(),
        "a holder renews its own"
    );
    assert!(
        queue.lease("j", "other", 1).await.unwrap(),
        "kinds are counted apart"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        queue.lease("k", "other", 1).await.unwrap(),
        "the dead holder's lease expired"
    );
    queue.release("k", "other").await.unwrap();
    assert!(queue.lease("k", "third", 1).await.unwrap(), "released");
    if let Some((url, prefix)) = redis {
        cleanup(&url, &prefix).await;
    }
}

mod unique {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memory() {
        unique_jobs(Q::Memory).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis() {
        unique_jobs(Q::Redis).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn batch_memory() {
        batch_unique_key(Q::Memory).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn batch_redis() {
        batch_unique_key(Q::Redis).await
    }
}

mod concurrency {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn leases_memory() {
        leases_expire(Q::Memory).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn leases_redis() {
        leases_expire(Q::Redis).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memory() {
        concurrency_limits(Q::Memory).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis() {
        concurrency_limits(Q::Redis).await
    }
}
