//! Rate limiting over real HTTP: 429 after the burst with `Retry-After` and the draft's
//! headers, per-class buckets, API keys with higher limits, exempt health routes, and one
//! bucket shared by two instances through Redis.

use std::time::Duration;

use vitrine_testkit::{free_port, test_redis_url, unique_prefix};

use crate::helpers::{API_KEY, Backend, spawn_app_with, spawn_on};

fn h<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_then_429_with_headers() {
    let app = spawn_app_with(
        Backend::Sqlite,
        &[
            ("RATE_LIMIT_ENABLED", "true"),
            ("RATE_LIMIT_READ", "5:1/m"),
            ("RATE_LIMIT_SEARCH", "3:1/m"),
        ],
    )
    .await;
    for i in 0..5u32 {
        let r = app.get("/api/products").await;
        assert_eq!(r.status(), 200, "request {}", i + 1);
        assert_eq!(h(&r, "ratelimit-policy"), "\"read\";q=5;w=300");
        assert!(
            h(&r, "ratelimit").starts_with(&format!("\"read\";r={};t=", 4 - i)),
            "{}",
            h(&r, "ratelimit")
        );
    }
    let r = app.get("/api/products").await;
    assert_eq!(r.status(), 429);
    assert_eq!(h(&r, "content-type"), "application/problem+json");
    assert_eq!(h(&r, "retry-after"), "60");
    assert_eq!(h(&r, "ratelimit-policy"), "\"read\";q=5;w=300");
    assert!(h(&r, "ratelimit").starts_with("\"read\";r=0;t="));
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["status"], 429);

    // Another class has its own bucket.
    for _ in 0..3 {
        let r = app.get("/api/search/text?q=x").await;
        assert_eq!(r.status(), 200);
        assert!(h(&r, "ratelimit-policy").starts_with("\"search\";q=3"));
    }
    assert_eq!(app.get("/api/search/text?q=x").await.status(), 429);

    // Health, liveness and readiness are never limited and carry no limit headers.
    for path in [
        "/api/health",
        "/api/health/live",
        "/api/health/ready",
        "/api/health/cache",
    ] {
        for _ in 0..10 {
            let r = app.get(path).await;
            assert_eq!(r.status(), 200, "{path}");
            assert!(r.headers().get("ratelimit").is_none(), "{path}");
        }
    }

    // A valid API key is its own client with 10× the quota; a wrong key counts as the IP.
    for _ in 0..10 {
        let r = app
            .client
            .get(app.url("/api/products"))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(h(&r, "ratelimit-policy"), "\"read\";q=50;w=300");
    }
    let r = app
        .client
        .get(app.url("/api/products"))
        .bearer_auth("not-a-valid-key-at-all")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);

    let (_, health) = app.get_json("/api/health/cache").await;
    assert!(
        health["rate_limit"]["classes"]["read"]["limited"]
            .as_u64()
            .unwrap()
            >= 2,
        "{health}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honest() {
    // 2 at once, then one per second: after the burst, Retry-After 1 and it then passes.
    let app = spawn_app_with(
        Backend::Sqlite,
        &[("RATE_LIMIT_ENABLED", "true"), ("RATE_LIMIT_READ", "2:1")],
    )
    .await;
    assert_eq!(app.get("/api/products").await.status(), 200);
    assert_eq!(app.get("/api/products").await.status(), 200);
    let r = app.get("/api/products").await;
    assert_eq!(r.status(), 429);
    assert_eq!(h(&r, "retry-after"), "1");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(app.get("/api/products").await.status(), 200);
    app.stop().await;
}

/// Two instances sharing one Redis share one bucket per client (one atomic script).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bucket_is_shared_across_instances_through_redis() {
    let redis = test_redis_url();
    let prefix = unique_prefix();
    let extra = [
        ("RATE_LIMIT_ENABLED", "true"),
        ("RATE_LIMIT_READ", "4:1/m"),
        ("REDIS_URL", redis.as_str()),
        ("CACHE_KEY_PREFIX", prefix.as_str()),
        ("CACHE_REDIS_TIMEOUT", "500ms"),
    ];
    let a = spawn_app_with(Backend::Sqlite, &extra).await;
    let b = spawn_on(a.database_url.clone(), tempfile::tempdir().unwrap(), &extra).await;
    assert_eq!(a.get("/api/products").await.status(), 200);
    assert_eq!(b.get("/api/products").await.status(), 200);
    assert_eq!(a.get("/api/products").await.status(), 200);
    let r = b.get("/api/products").await;
    assert_eq!(r.status(), 200);
    assert!(
        h(&r, "ratelimit").starts_with("\"read\";r=0;"),
        "{}",
        h(&r, "ratelimit")
    );
    assert_eq!(a.get("/api/products").await.status(), 429);
    assert_eq!(b.get("/api/products").await.status(), 429);
    let decided_in_redis = a
        .state
        .rate_limiter
        .stats
        .redis_decisions
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(decided_in_redis >= 3, "{decided_in_redis}");
    a.stop().await;
    b.stop().await;
}

/// With Redis configured but unreachable, limits still apply, in process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn falls_back_to_in_process_when_redis_is_down() {
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let app = spawn_app_with(
        Backend::Sqlite,
        &[
            ("RATE_LIMIT_ENABLED", "true"),
            ("RATE_LIMIT_READ", "3:1/m"),
            ("REDIS_URL", url.as_str()),
        ],
    )
    .await;
    for _ in 0..3 {
        assert_eq!(app.get("/api/products").await.status(), 200);
    }
    assert_eq!(app.get("/api/products").await.status(), 429);
    app.stop().await;
}
