//! Rate limiting over real HTTP: 429 after the burst with `Retry-After` and the draft's
//! headers, per-class buckets, API keys with higher limits, exempt health routes, and one
//! bucket shared by two instances through Redis.

use std::time::Duration;

use vitrine_testkit::{free_port, test_redis_url, unique_prefix};

use crate::helpers::{API_KEY, Backend, spawn_app_with, spawn_on};

/// The Redis script and `common::rate_limit::check` are one rule: the same request sequence
/// (a fresh bucket, the burst used up, refusals, partial and full refills, a cost above the
/// burst, a cost of exactly the burst) gets the same decision from both, and after every step
/// the TAT the script stored is the one `check` says to store.
#[tokio::test]
async fn gcra_script_makes_the_same_decisions_as_common_check() {
    use vitrine_common::rate_limit::{Quota, Tat, check};

    let client = redis::Client::open(test_redis_url()).unwrap();
    let mut con = client
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| panic!("Redis at {}: {e}", test_redis_url()));
    let script = redis::Script::new(include_str!("../../src/redis/lua/rate_limit_gcra.lua"));
    let key = format!("{}gcra-equivalence", unique_prefix());
    let quota = Quota::per_second(5, 2.0).unwrap();
    let interval = u64::try_from(quota.emission_interval().as_micros()).unwrap();

    // (µs since the previous step, cost, allowed)
    let steps: &[(u64, u32, bool)] = &[
        (0, 1, true),
        (0, 1, true),
        (0, 1, true),
        (0, 1, true),
        (0, 1, true),
        (0, 1, false),
        (100_000, 1, false),
        (400_000, 1, true),
        (0, 1, false),
        (1_000_000, 2, true),
        (0, 6, false),
        (10_000_000, 5, true),
        (0, 1, false),
        (499_999, 1, false),
        (1, 1, true),
        (3_000_000, 3, true),
        (0, 3, false),
        (0, 2, true),
    ];
    let mut now: u64 = 1_800_000_000_000_000;
    let mut expected: Option<Tat> = None;
    for (i, &(advance, cost, allowed)) in steps.iter().enumerate() {
        now += advance;
        let (stored, at): (String, String) = script
            .key(&key)
            .arg(interval)
            .arg(quota.burst())
            .arg(cost)
            .arg(now)
            .invoke_async(&mut con)
            .await
            .unwrap();
        assert_eq!(
            at.parse::<u64>().unwrap(),
            now,
            "step {i}: the script's clock"
        );
        let before = stored.parse::<u64>().ok().map(Tat);
        // Redis drops a bucket only once it is full again, where `check` treats it as fresh.
        let comparable = |t: Option<Tat>| t.filter(|Tat(v)| *v > now);
        assert_eq!(
            comparable(before),
            comparable(expected),
            "step {i}: TAT before"
        );
        let by_script = check(before, now, &quota, cost);
        let by_check = check(expected, now, &quota, cost);
        assert_eq!(by_script, by_check, "step {i}: decision");
        assert_eq!(
            by_check.allowed, allowed,
            "step {i}: the sequence is the intended one"
        );
        if by_check.allowed {
            expected = Some(by_check.new_tat);
        }
    }
    let stored: Option<String> = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(
        stored.and_then(|s| s.parse().ok()).map(Tat),
        expected,
        "the last TAT"
    );
    let _: () = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut con)
        .await
        .unwrap();
}

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
