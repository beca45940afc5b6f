//! The origin on a Redis Cluster (`REDIS_URL=redis+cluster://…`): each test starts a local
//! cluster of its own (3 masters, 3 replicas, `vitrine_testkit::RedisCluster`), so it can
//! kill nodes without touching the shared Redis.
//!
//! Covered: the cache's L2 and its invalidations across two instances (tag sets whose members
//! live in other slots), rate limits shared by two instances, a batch job (the queue's keys
//! under one hash tag), visual-search announcements over pub/sub, and a master killed under
//! load (`failover_under_load_*`).

use std::time::{Duration, Instant};

use redis::{AsyncCommands, cluster::ClusterClient, cluster_routing::Slot};
use serde_json::json;
use vitrine_testkit::{RedisCluster, unique_prefix};

use crate::helpers::{API_KEY, Backend, TestApp, product_json, spawn_app_with, spawn_on};

mod failover;
mod jobs;

/// Starts a cluster off the async runtime (it takes a few seconds of polling `redis-cli`).
pub(super) async fn start_cluster() -> RedisCluster {
    tokio::task::spawn_blocking(RedisCluster::start)
        .await
        .expect("starting the cluster")
}

/// A connection to the cluster, for looking at the keys the origin wrote.
pub(super) async fn cluster_conn(
    cluster: &RedisCluster,
) -> redis::cluster_async::ClusterConnection {
    let nodes: Vec<String> = cluster
        .live_ports()
        .iter()
        .map(|p| format!("redis://127.0.0.1:{p}"))
        .collect();
    ClusterClient::new(nodes)
        .unwrap()
        .get_async_connection()
        .await
        .unwrap()
}

pub(super) fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Two instances on the cluster, both ways: an entry written by A is read by B from L2; the
/// admin endpoint on A empties the product's tag set and its members (other slots) in the
/// cluster and drops B's L1 copy over pub/sub; an update on A reaches B.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cache_l2_and_invalidation_across_two_instances() {
    let cluster = start_cluster().await;
    let url = cluster.url();
    let prefix = unique_prefix();
    let extra = [
        ("REDIS_URL", url.as_str()),
        ("CACHE_KEY_PREFIX", prefix.as_str()),
        ("CACHE_REDIS_TIMEOUT", "500ms"),
        ("SEARCH_SYNC_INTERVAL", "1h"),
    ];
    let a = spawn_app_with(Backend::Sqlite, &extra).await;
    let b = spawn_on(a.database_url.clone(), tempfile::tempdir().unwrap(), &extra).await;
    let mut conn = cluster_conn(&cluster).await;
    let p = a
        .create_product(product_json("C-1", "Desk Lamp", "Lamps", "Lumen", 4_900))
        .await;
    let id = p["id"].as_i64().unwrap();
    let path = format!("/api/products/{id}");
    let key = format!("{prefix}v1:product:{id}");
    let tag_set = format!("{prefix}v1:tag:product:{id}");
    println!(
        "entry in slot {:?}, its tag set in slot {:?}",
        Slot::for_key(&key),
        Slot::for_key(&tag_set)
    );

    assert_eq!(header(&a.get(&path).await, "x-cache"), "MISS");
    wait_until("A's entry and its tag set in the cluster", async || {
        let n: u32 = redis::cmd("EXISTS")
            .arg(&key)
            .arg(&tag_set)
            .query_async(&mut conn)
            .await
            .unwrap();
        n == 2
    })
    .await;
    assert_eq!(header(&b.get(&path).await, "x-cache"), "HIT-L2");
    assert_eq!(header(&b.get(&path).await, "x-cache"), "HIT-L1");

    let (s, v) = a
        .post_json(
            "/api/cache/invalidate",
            &json!({"tag": format!("product:{id}")}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let n: u32 = redis::cmd("EXISTS")
        .arg(&key)
        .arg(&tag_set)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        n, 0,
        "the invalidation left the entry or its tag set in the cluster"
    );
    // Only the pub/sub message can drop B's L1 copy (it would live for an hour).
    wait_until("B to drop its L1 copy", async || {
        header(&b.get(&path).await, "x-cache") != "HIT-L1"
    })
    .await;

    let r = a
        .client
        .put(a.url(&path))
        .bearer_auth(API_KEY)
        .json(&product_json("C-1", "Floor Lamp", "Lamps", "Lumen", 5_900))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    wait_until("B to see the update", async || {
        b.get_json(&path).await.1["title"] == "Floor Lamp"
    })
    .await;
    // The namespace generations are shared counters in the cluster.
    let generation: Option<u64> = conn.get(format!("{prefix}v1:gen:search")).await.unwrap();
    assert!(generation.unwrap_or(0) >= 1, "{generation:?}");
    let (_, h) = b.get_json("/api/health/cache").await;
    assert_eq!(h["status"], "ok", "{h}");
    assert!(
        h["stats"]["remote_invalidations"].as_u64().unwrap() >= 2,
        "{h}"
    );
    a.stop().await;
    b.stop().await;
}

/// Two instances share one GCRA bucket per client in the cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limits_are_shared_by_two_instances() {
    let cluster = start_cluster().await;
    let url = cluster.url();
    let prefix = unique_prefix();
    let extra = [
        ("RATE_LIMIT_ENABLED", "true"),
        ("RATE_LIMIT_READ", "4:1/m"),
        ("REDIS_URL", url.as_str()),
        ("CACHE_KEY_PREFIX", prefix.as_str()),
        ("CACHE_REDIS_TIMEOUT", "500ms"),
    ];
    let a = spawn_app_with(Backend::Sqlite, &extra).await;
    let b = spawn_on(a.database_url.clone(), tempfile::tempdir().unwrap(), &extra).await;
    let statuses = [
        a.get("/api/products").await.status(),
        b.get("/api/products").await.status(),
        a.get("/api/products").await.status(),
        b.get("/api/products").await.status(),
        a.get("/api/products").await.status(),
        b.get("/api/products").await.status(),
    ];
    assert_eq!(statuses.map(|s| s.as_u16()), [200, 200, 200, 200, 429, 429]);
    let in_redis = |app: &TestApp| {
        app.state
            .rate_limiter
            .stats
            .redis_decisions
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    assert_eq!((in_redis(&a), in_redis(&b)), (3, 3));
    a.stop().await;
    b.stop().await;
}

/// A batch completes over the cluster, its keys under the queue's hash tag (one slot), and
/// the idempotency key still finds the first job.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_completes_with_the_queue_under_one_hash_tag() {
    let cluster = start_cluster().await;
    let url = cluster.url();
    let prefix = unique_prefix();
    let queue = format!("q-{}", prefix.trim_end_matches(':'));
    let app = spawn_app_with(
        Backend::Sqlite,
        &[
            ("REDIS_URL", url.as_str()),
            ("CACHE_KEY_PREFIX", prefix.as_str()),
            ("QUEUE_PREFIX", queue.as_str()),
            ("ASYNC_WORKERS", "2"),
        ],
    )
    .await;
    let batch = failover::small_batch(3, 1);
    let mut body = batch.clone();
    body["idempotency_key"] = json!("cluster-batch-1");
    let (s, v) = app.post_json("/api/images/batch", &body).await;
    assert_eq!(s, 202, "{v}");
    let id = v["job_id"].as_str().unwrap().to_owned();
    let job = failover::wait_job(&app, &id, Duration::from_secs(60)).await;
    assert_eq!(job["progress"]["succeeded"], 3, "{job}");
    let (s, again) = app.post_json("/api/images/batch", &body).await;
    assert_eq!(
        (s, again["job_id"].as_str()),
        (200, Some(id.as_str())),
        "{again}"
    );

    let mut conn = cluster_conn(&cluster).await;
    let job_key = format!("{{{queue}}}:job:{id}");
    let keys = [
        job_key.clone(),
        format!("{job_key}:items"),
        format!("{{{queue}}}:q:normal"),
    ];
    let n: u32 = redis::cmd("EXISTS")
        .arg(&keys)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 3, "{keys:?}");
    assert!(
        keys.iter()
            .all(|k| Slot::for_key(k) == Slot::for_key(&keys[0])),
        "{keys:?}"
    );
    app.stop().await;
}

/// Visual-search announcements over the cluster's pub/sub: A runs no workers, B runs the
/// descriptor job and announces it, and A indexes the product (its own sync is an hour away).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_descriptor_announced_on_one_instance_reaches_the_other() {
    let cluster = start_cluster().await;
    let url = cluster.url();
    let prefix = unique_prefix();
    let common = [
        ("REDIS_URL", url.as_str()),
        ("CACHE_KEY_PREFIX", prefix.as_str()),
        ("CACHE_REDIS_TIMEOUT", "500ms"),
        ("SEARCH_SYNC_INTERVAL", "1h"),
    ];
    let with = |workers: &'static str| {
        let mut v = common.to_vec();
        v.push(("ASYNC_WORKERS", workers));
        v
    };
    let a = spawn_app_with(Backend::Sqlite, &with("0")).await;
    let b = spawn_on(
        a.database_url.clone(),
        tempfile::tempdir().unwrap(),
        &with("2"),
    )
    .await;
    let photo = vitrine_origin::catalog::demo::render_image(9).unwrap();
    // Stored as a batch item is (an HTTP upload would analyse it on B at once).
    let (image, _) = b.state.thumbs.ingest_checked(photo).await.unwrap();
    let mut product = product_json("CV-1", "Desk Lamp", "Lamps", "Lumen", 4_900);
    product["image_id"] = serde_json::json!(image.id);
    let id = a.create_product(product).await["id"].as_i64().unwrap();
    wait_until("A to index the product B described", async || {
        a.state.visual.index.vector_of(id).is_some()
    })
    .await;
    let done = |app: &TestApp| {
        app.state
            .jobs
            .stats
            .items_succeeded
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    assert_eq!(done(&a), 0);
    assert!(done(&b) >= 1);
    a.stop().await;
    b.stop().await;
}

/// Polls `probe` every 50 ms; fails the test after 30 s.
pub(super) async fn wait_until(what: &str, mut probe: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !probe().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
