//! The two-tier cache: single-flight, TTLs, ETag/304, invalidation on writes (also across two
//! instances sharing one Redis), the admin endpoint, and Redis killed mid-test.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use serde_json::json;
use vitrine_common::cache_key::{self, CacheKey, Namespace};
use vitrine_origin::{
    cache::{Cache, Redis, Source},
    config::CacheSettings,
};

use vitrine_testkit::{OwnRedis, free_port, test_redis_url, unique_prefix};

use crate::helpers::{
    API_KEY, Backend, TestApp, product_json, spawn_app, spawn_app_with, spawn_on,
};
use crate::on_both_backends;

on_both_backends!(etag_304_and_invalidation_on_update);

fn cache_settings(prefix: &str) -> CacheSettings {
    CacheSettings {
        enabled: true,
        ttl_default: Duration::from_secs(3600),
        l1_max_bytes: 16 * 1024 * 1024,
        key_prefix: prefix.to_owned(),
        redis_timeout: Duration::from_millis(200),
        breaker_failures: 3,
        breaker_cooldown: Duration::from_millis(300),
    }
}

fn l1_only() -> Cache {
    Cache::new(true, 16 * 1024 * 1024, Duration::from_secs(60), None)
}

fn with_redis() -> Cache {
    let redis = Redis::new(&test_redis_url(), &cache_settings(&unique_prefix())).unwrap();
    Cache::new(true, 16 * 1024 * 1024, Duration::from_secs(60), Some(redis))
}

/// 100 concurrent misses on one key run the computation once, with and without Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn single_flight_100_concurrent_misses_compute_once() {
    for cache in [l1_only(), with_redis()] {
        let key = cache_key::search_results_with_pairs::<&str, &str>(
            "single flight",
            &[],
            Default::default(),
            Default::default(),
        );
        let runs = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let (cache, key, runs) = (cache.clone(), key.clone(), runs.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_compute(&key, None, &[], async {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        Ok::<_, std::io::Error>(Bytes::from_static(b"result"))
                    })
                    .await
                    .unwrap()
            }));
        }
        let mut computed = 0;
        for t in tasks {
            let (bytes, source) = t.await.unwrap();
            assert_eq!(&bytes[..], b"result");
            if source == Source::Computed {
                computed += 1;
            }
        }
        assert_eq!(
            runs.load(Ordering::SeqCst),
            1,
            "one computation for 100 misses"
        );
        assert_eq!(computed, 1);
        assert_eq!(cache.stats().computations(Namespace::Search), 1);
        assert_eq!(cache.stats().hit_rate(Some(Namespace::Search)), Some(0.99));
    }
}

/// Errors are shared by the waiters but never cached.
#[tokio::test]
async fn errors_are_not_cached() {
    let cache = l1_only();
    let key = cache_key::product(1);
    let r = cache
        .get_or_compute(&key, None, &[], async {
            Err::<Bytes, _>(std::io::Error::other("db down"))
        })
        .await;
    assert!(r.is_err());
    let (b, s) = cache
        .get_or_compute(&key, None, &[], async {
            Ok::<_, std::io::Error>(Bytes::from_static(b"ok"))
        })
        .await
        .unwrap();
    assert_eq!((&b[..], s), (&b"ok"[..], Source::Computed));
}

async fn value_of(cache: &Cache, key: &CacheKey, ttl: Duration, value: &'static str) -> Source {
    cache
        .get_or_compute(&key.clone(), Some(ttl), &[], async move {
            Ok::<_, std::io::Error>(Bytes::from_static(value.as_bytes()))
        })
        .await
        .unwrap()
        .1
}

/// Entries expire after their TTL in L1 and in L2.
#[tokio::test]
async fn ttl_expiry_in_both_tiers() {
    let ttl = Duration::from_millis(400);
    let cache = l1_only();
    let key = cache_key::product(7);
    assert_eq!(value_of(&cache, &key, ttl, "a").await, Source::Computed);
    assert_eq!(value_of(&cache, &key, ttl, "a").await, Source::L1);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(value_of(&cache, &key, ttl, "a").await, Source::Computed);

    // Two caches sharing one Redis prefix: the second finds the first's entry in L2 until
    // the TTL passes there too.
    let prefix = unique_prefix();
    let make = || {
        let r = Redis::new(&test_redis_url(), &cache_settings(&prefix)).unwrap();
        Cache::new(true, 1 << 20, Duration::from_secs(60), Some(r))
    };
    let (a, b, c) = (make(), make(), make());
    assert_eq!(value_of(&a, &key, ttl, "x").await, Source::Computed);
    // The L2 write is in the background.
    let redis_key = format!("{prefix}{}", key.as_str());
    wait_for_redis_key(&test_redis_url(), &redis_key).await;
    assert_eq!(value_of(&b, &key, ttl, "x").await, Source::L2);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(value_of(&c, &key, ttl, "x").await, Source::Computed);
    wait_for_redis_key(&test_redis_url(), &redis_key).await;
    assert_eq!(
        value_of(&b, &key, ttl, "x").await,
        Source::L2,
        "c wrote it again"
    );
}

/// The L1 is bounded by bytes, not entries.
#[tokio::test]
async fn l1_is_bounded_by_bytes() {
    let cache = Cache::new(true, 256 * 1024, Duration::from_secs(60), None);
    for i in 0..100 {
        let key = cache_key::product(i);
        cache
            .get_or_compute(&key, None, &[], async {
                Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; 16 * 1024]))
            })
            .await
            .unwrap();
    }
    let health = cache.health().await;
    let bytes = health["l1"]["bytes"].as_u64().unwrap();
    assert!(bytes <= 256 * 1024, "{health}");
    assert!(health["l1"]["entries"].as_u64().unwrap() < 20, "{health}");
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

async fn etag_304_and_invalidation_on_update(backend: Backend) {
    let app = spawn_app(backend).await;
    let p = app
        .create_product(product_json("C-1", "Desk Lamp", "Lamps", "Lumen", 4_900))
        .await;
    let id = p["id"].as_i64().unwrap();
    let path = format!("/api/products/{id}");

    let first = app.get(&path).await;
    assert_eq!(first.status(), 200);
    assert_eq!(header(&first, "x-cache"), "MISS");
    let etag = header(&first, "etag").to_owned();
    assert!(etag.starts_with("\"b3-"), "{etag}");
    assert_eq!(
        header(&first, "cache-control"),
        "public, max-age=60, s-maxage=3600, stale-while-revalidate=60, stale-if-error=86400"
    );
    assert!(header(&first, "vary").contains("accept-encoding"));
    assert_eq!(
        header(&first, "cache-tag"),
        format!("product:{id}, ns:product")
    );
    let body = first.text().await.unwrap();

    let second = app.get(&path).await;
    assert_eq!(header(&second, "x-cache"), "HIT-L1");
    assert_eq!(header(&second, "etag"), etag);
    assert_eq!(second.text().await.unwrap(), body);

    // 304 for a matching If-None-Match (strong, weak or in a list), no body.
    for inm in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"nope\", {etag}"),
        "*".into(),
    ] {
        let r = app
            .client
            .get(app.url(&path))
            .header("if-none-match", &inm)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304, "{inm}");
        assert_eq!(header(&r, "etag"), etag);
        assert!(!header(&r, "cache-control").is_empty());
        assert!(r.bytes().await.unwrap().is_empty());
    }
    // A stale or malformed tag gets the full response.
    for inm in ["\"b3-old\"", "garbage", ""] {
        let r = app
            .client
            .get(app.url(&path))
            .header("if-none-match", inm)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{inm:?}");
    }

    // Searches are cached too, and a write drops them along with the product.
    let search = "/api/search/text?q=lamp";
    let s1 = app.get(search).await;
    assert_eq!(header(&s1, "x-cache"), "MISS");
    assert!(header(&s1, "cache-control").contains("s-maxage=1800"));
    // The same search spelled differently hits the same entry.
    let s2 = app.get("/api/search/text?q=%20%20LAMP%20").await;
    assert_eq!(header(&s2, "x-cache"), "HIT-L1");

    let r = app
        .client
        .put(app.url(&path))
        .bearer_auth(API_KEY)
        .json(&product_json("C-1", "Floor Lamp", "Lamps", "Lumen", 5_900))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let after = app.get(&path).await;
    assert_eq!(header(&after, "x-cache"), "MISS");
    assert_ne!(header(&after, "etag"), etag);
    let v: serde_json::Value = after.json().await.unwrap();
    assert_eq!(v["title"], "Floor Lamp");
    // The old ETag no longer matches.
    let r = app
        .client
        .get(app.url(&path))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let s3 = app.get(search).await;
    assert_eq!(header(&s3, "x-cache"), "MISS");
    let v: serde_json::Value = s3.json().await.unwrap();
    assert_eq!(v["results"][0]["title"], "Floor Lamp");

    // Delete drops it as well; a 404 is never cached and is no-store.
    let r = app
        .client
        .delete(app.url(&path))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    for _ in 0..2 {
        let r = app.get(&path).await;
        assert_eq!(r.status(), 404);
        assert_eq!(header(&r, "cache-control"), "no-store");
    }
    let (_, v) = app.get_json(search).await;
    assert_eq!(v["total"], 0, "{v}");
    app.stop().await;
}

/// `CACHE_ENABLED=false` and `use_cache: false` bypass the cache; the POST search is cached
/// at the origin but `no-store` downstream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bypass_switches_and_post_search() {
    let app = spawn_app_with(Backend::Sqlite, &[("CACHE_ENABLED", "false")]).await;
    app.create_product(product_json("B-1", "Coffee Mug", "Mugs", "Pebble", 1_200))
        .await;
    for _ in 0..2 {
        let r = app.get("/api/search/text?q=mug").await;
        assert_eq!(header(&r, "x-cache"), "BYPASS");
        assert!(!header(&r, "etag").is_empty(), "still an ETag");
    }
    app.stop().await;

    let app = spawn_app(Backend::Sqlite).await;
    app.create_product(product_json("B-1", "Coffee Mug", "Mugs", "Pebble", 1_200))
        .await;
    let post = |use_cache: bool| {
        app.client
            .post(app.url("/api/search/text"))
            .json(&json!({"query": "mug", "use_cache": use_cache}))
            .send()
    };
    let r = post(true).await.unwrap();
    assert_eq!(header(&r, "x-cache"), "MISS");
    assert_eq!(header(&r, "cache-control"), "no-store");
    let r = post(true).await.unwrap();
    assert_eq!(header(&r, "x-cache"), "HIT-L1");
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["results"][0]["title"], "Coffee Mug");
    let r = post(false).await.unwrap();
    assert_eq!(header(&r, "x-cache"), "BYPASS");
    // GET and POST of the same search share the entry.
    let r = app.get("/api/search/text?q=MUG").await;
    assert_eq!(header(&r, "x-cache"), "HIT-L1");
    let r = app.get("/api/search/text?q=mug&use_cache=false").await;
    assert_eq!(header(&r, "x-cache"), "BYPASS");
    // Bad input is a 4xx, never a cache entry.
    let r = app.get("/api/search/text?q=mug&limit=0").await;
    assert!(r.status().is_client_error());
    assert_eq!(header(&r, "cache-control"), "no-store");
    app.stop().await;
}

/// `POST /api/cache/invalidate` by tag or namespace; bad bodies are 4xx problems.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_invalidation_endpoint() {
    let app = spawn_app(Backend::Sqlite).await;
    let p = app
        .create_product(product_json("A-1", "Desk Lamp", "Lamps", "Lumen", 4_900))
        .await;
    let path = format!("/api/products/{}", p["id"]);
    app.get(&path).await;
    app.get("/api/search/text?q=lamp").await;
    assert_eq!(header(&app.get(&path).await, "x-cache"), "HIT-L1");

    let (s, v) = app
        .post_json("/api/cache/invalidate", &json!({"namespace": "search"}))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["invalidated"]["namespace"], "search");
    assert_eq!(
        header(&app.get("/api/search/text?q=lamp").await, "x-cache"),
        "MISS"
    );
    assert_eq!(header(&app.get(&path).await, "x-cache"), "HIT-L1");

    let tag = format!("product:{}", p["id"]);
    let (s, v) = app
        .post_json("/api/cache/invalidate", &json!({"tag": tag}))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(header(&app.get(&path).await, "x-cache"), "MISS");

    for bad in [
        json!({}),
        json!({"tag": "a b"}),
        json!({"namespace": "nope"}),
        json!({"tag": "product:1", "namespace": "search"}),
        json!({"tag": 5}),
        json!({"other": 1}),
    ] {
        let (s, v) = app.post_json("/api/cache/invalidate", &bad).await;
        assert!((400..500).contains(&s), "{bad} → {s} {v}");
        assert!(v["detail"].is_string(), "{v}");
    }
    let r = app
        .client
        .post(app.url("/api/cache/invalidate"))
        .json(&json!({"namespace": "search"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let (s, h) = app.get_json("/api/health/cache").await;
    assert_eq!(s, 200);
    assert_eq!(h["status"], "ok");
    assert_eq!(h["l2"]["configured"], false);
    assert!(h["stats"]["hit_rate"].as_f64().unwrap() > 0.0, "{h}");
    app.stop().await;
}

/// Two origin instances sharing one database and one Redis: L2 is shared, and a write on one
/// drops the other's L1 through pub/sub — for the product and for searches (whose index the
/// other instance syncs before dropping them).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn invalidation_reaches_a_second_instance() {
    let redis = test_redis_url();
    let prefix = unique_prefix();
    let extra = [
        ("REDIS_URL", redis.as_str()),
        ("CACHE_KEY_PREFIX", prefix.as_str()),
        ("CACHE_REDIS_TIMEOUT", "500ms"),
        // Only the invalidation hook can bring instance B's index up to date in time.
        ("SEARCH_SYNC_INTERVAL", "1h"),
    ];
    let a = spawn_app_with(Backend::Sqlite, &extra).await;
    let b = spawn_on(a.database_url.clone(), tempfile::tempdir().unwrap(), &extra).await;
    let p = a
        .create_product(product_json("X-1", "Desk Lamp", "Lamps", "Lumen", 4_900))
        .await;
    let path = format!("/api/products/{}", p["id"]);

    assert_eq!(header(&a.get(&path).await, "x-cache"), "MISS");
    // A writes L2 in the background; once the key is there, B reads it from L2.
    wait_for_redis_key(&redis, &format!("{prefix}v1:product:{}", p["id"])).await;
    assert_eq!(header(&b.get(&path).await, "x-cache"), "HIT-L2");
    assert_eq!(header(&b.get(&path).await, "x-cache"), "HIT-L1");

    let r = a
        .client
        .put(a.url(&path))
        .bearer_auth(API_KEY)
        .json(&product_json("X-1", "Floor Lamp", "Lamps", "Lumen", 5_900))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // B's L1 entry would live for an hour: only the pub/sub message can drop it.
    let body = wait_for_json(&b, &path, |v| v["title"] == "Floor Lamp").await;
    assert_eq!(body["price"], 5_900);

    // The update's search-namespace bump may reach B after the product key did: wait for
    // it, so the search B caches next is not in a generation about to be dropped.
    let published = a.state.cache.generation(Namespace::Search);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while b.state.cache.generation(Namespace::Search) < published {
        assert!(
            std::time::Instant::now() < deadline,
            "B never saw A's search bump"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Searches: B caches one, A creates a matching product, B sees it.
    let search = "/api/search/text?q=lamp";
    let (_, v) = b.get_json(search).await;
    assert_eq!(v["total"], 1);
    assert_eq!(header(&b.get(search).await, "x-cache"), "HIT-L1");
    a.create_product(product_json("X-2", "Reading Lamp", "Lamps", "Lumen", 2_900))
        .await;
    wait_for_json(&b, search, |v| v["total"] == 2).await;
    let (_, h) = b.get_json("/api/health/cache").await;
    assert!(
        h["stats"]["remote_invalidations"].as_u64().unwrap() >= 2,
        "{h}"
    );
    assert!(h["generations"]["search"].as_u64().unwrap() >= 2, "{h}");
    a.stop().await;
    b.stop().await;
}

async fn wait_for_redis_key(url: &str, key: &str) {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let exists: bool = redis::cmd("EXISTS")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
        if exists {
            return;
        }
        assert!(Instant::now() < deadline, "{key} never reached Redis");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_for(app: &TestApp, path: &str, ok: impl Fn(&reqwest::Response) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = app.get(path).await;
        if ok(&r) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{path}: still {:?} after 5 s",
            r.headers()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_for_json(
    app: &TestApp,
    path: &str,
    ok: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, v) = app.get_json(path).await;
        if ok(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "{path}: still {v} after 5 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Redis killed mid-test: requests keep answering 200 (from L1 and the database) without
/// waiting on Redis, the breaker opens and the health page says degraded; when Redis comes
/// back on the same port the breaker closes by itself and L2 is used again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_killed_mid_test_degrades_and_recovers() {
    let port = free_port();
    let mut redis = OwnRedis::start(port);
    let url = format!("redis://127.0.0.1:{port}");
    let app = spawn_app_with(
        Backend::Sqlite,
        &[
            ("REDIS_URL", url.as_str()),
            ("CACHE_REDIS_TIMEOUT", "50ms"),
            ("CACHE_BREAKER_COOLDOWN", "300ms"),
            ("CACHE_BREAKER_FAILURES", "2"),
        ],
    )
    .await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let p = app
            .create_product(product_json(
                &format!("K-{i}"),
                &format!("Lamp {i}"),
                "Lamps",
                "Lumen",
                100,
            ))
            .await;
        ids.push(p["id"].as_i64().unwrap());
    }
    let path = |i: usize| format!("/api/products/{}", ids[i]);
    assert_eq!(header(&app.get(&path(0)).await, "x-cache"), "MISS");
    let (_, h) = app.get_json("/api/health/cache").await;
    assert_eq!(h["status"], "ok", "{h}");
    assert_eq!(h["l2"]["reachable"], true, "{h}");

    redis.kill();

    // Cached: from L1. Uncached: from the database. Never an error, never a long wait.
    let mut slowest = Duration::ZERO;
    for round in 0..3 {
        for i in 0..ids.len() {
            let started = Instant::now();
            let r = app.get(&path(i)).await;
            slowest = slowest.max(started.elapsed());
            assert_eq!(r.status(), 200, "round {round}, product {i}");
        }
    }
    let r = app.get("/api/search/text?q=lamp").await;
    assert_eq!(r.status(), 200);
    // A write with Redis down still succeeds and still invalidates locally.
    let r = app
        .client
        .put(app.url(&path(0)))
        .bearer_auth(API_KEY)
        .json(&product_json("K-0", "Renamed Lamp", "Lamps", "Lumen", 100))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, v) = app.get_json(&path(0)).await;
    assert_eq!(v["title"], "Renamed Lamp");
    println!("slowest request with Redis dead: {slowest:?}");
    assert!(
        slowest < Duration::from_millis(1500),
        "a request waited {slowest:?} on a dead Redis"
    );

    let (s, h) = app.get_json("/api/health/cache").await;
    assert_eq!(s, 200);
    assert_eq!(h["status"], "degraded", "{h}");
    assert_eq!(h["l2"]["circuit_breaker"], "open", "{h}");
    assert!(app.state.cache.degraded());

    // Back on the same port: the breaker probes and closes on its own.
    let _redis = OwnRedis::start(port);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, h) = app.get_json("/api/health/cache").await;
        if h["status"] == "ok" {
            assert_eq!(h["l2"]["reachable"], true, "{h}");
            break;
        }
        assert!(Instant::now() < deadline, "breaker never closed: {h}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Recovery clears L1 (invalidations published meanwhile were missed)…
    wait_for(&app, &path(1), |r| header(r, "x-cache") == "MISS").await;
    // …and L2 works again: a new product's entry is written there, and a second cache on
    // the same Redis reads it.
    let p = app
        .create_product(product_json("K-9", "Late Lamp", "Lamps", "Lumen", 100))
        .await;
    let late = p["id"].as_i64().unwrap();
    assert_eq!(
        header(&app.get(&format!("/api/products/{late}")).await, "x-cache"),
        "MISS"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let settings = cache_settings("vitrine:");
    let other = Cache::new(
        true,
        1 << 20,
        Duration::from_secs(60),
        Some(Redis::new(&url, &settings).unwrap()),
    );
    let key = cache_key::product(late);
    let (_, source) = other
        .get_or_compute(&key, None, &[], async {
            Ok::<_, std::io::Error>(Bytes::from_static(b"never"))
        })
        .await
        .unwrap();
    assert_eq!(source, Source::L2);
    app.stop().await;
}

/// A write that bypasses the handlers (the import command, another instance without Redis)
/// reaches the cache through the search-index sync loop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_band_writes_invalidate_through_the_sync_loop() {
    let app = spawn_app_with(Backend::Sqlite, &[("SEARCH_SYNC_INTERVAL", "200ms")]).await;
    let search = "/api/search/text?q=telescope";
    let (_, v) = app.get_json(search).await;
    assert_eq!(v["total"], 0);
    assert_eq!(header(&app.get(search).await, "x-cache"), "HIT-L1");
    let new: vitrine_common::api::NewProduct = serde_json::from_value(product_json(
        "T-1",
        "Telescope Explorer",
        "Optics",
        "Orbit",
        49_900,
    ))
    .unwrap();
    let p = app.state.db.create_product(&new).await.unwrap();
    let v = wait_for_json(&app, search, |v| v["total"] == 1).await;
    assert_eq!(v["results"][0]["id"], p.id);
    app.stop().await;
}
