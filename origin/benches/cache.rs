//! Cache and compression benchmark: prints figures and ratios, asserts nothing about time.
//!
//! `cargo bench -p vitrine-origin --bench cache` (release). It measures, in one run:
//! 1. L1 gets/s with 1 KB values: the full read-through path (`get_or_compute` on a hit)
//!    and a bare L1 lookup, from as many tasks as there are cores.
//! 2. L2 (Redis) get and set ops/s with 1 KB values, beside `redis-benchmark -t get,set
//!    -d 1024` run by this program against the same `redis-server` at the same concurrency
//!    (`-c`) without pipelining (`-P 1`), and the ratio. It starts its own `redis-server` on
//!    a free loopback port and stops it at the end.
//! 3. Compression of a 20-result search response (JSON): bytes saved and µs per response
//!    for br, zstd, gzip and deflate at several levels, marking the ones `COMPRESSION_LEVEL`
//!    uses, with the same codec crates tower-http's encoders run on.
//!
//! `BENCH_SECONDS` (default 3) sets the duration of each throughput run; `BENCH_CLIENTS`
//! (default 50) the Redis concurrency.

use std::{
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use vitrine_common::{cache_key, negotiate::Encoding};
use vitrine_origin::{
    cache::{Cache, Redis},
    config::{CacheSettings, CompressionLevel},
    http::middleware::compression::{Levels, encode_bytes},
};
use vitrine_testkit::{OwnRedis, free_port};

const VALUE_BYTES: usize = 1024;

fn seconds() -> Duration {
    Duration::from_secs_f64(
        std::env::var("BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3.0),
    )
}

fn clients() -> usize {
    std::env::var("BENCH_CLIENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50)
}

/// Runs `tasks` copies of `op(task, i)` in a loop for `duration`; total ops per second.
async fn throughput<F, Fut>(tasks: usize, duration: Duration, op: F) -> f64
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let count = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut handles = Vec::new();
    for t in 0..tasks {
        let (op, count) = (op.clone(), count.clone());
        handles.push(tokio::spawn(async move {
            let mut i = 0u64;
            // Each task watches the clock itself: L1 hits complete without ever yielding,
            // so a timer on the runtime would never fire while they spin.
            while Instant::now() < deadline {
                // Batches keep the clock read and the shared counter off the hot path.
                for _ in 0..64 {
                    op(t, i).await;
                    i += 1;
                }
                tokio::task::yield_now().await;
            }
            count.fetch_add(i, Ordering::Relaxed);
        }));
    }
    for h in handles {
        let _ = h.await;
    }
    count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// Runs `tasks` tasks, each looking up keys in `cache` for `duration` with `lookup`; total
/// lookups per second. Each task owns its handles (no shared reference counts touched per
/// lookup) and watches the clock itself: L1 hits complete without ever yielding, so a timer
/// on the runtime would never fire while they spin.
async fn l1_throughput(
    cache: &Cache,
    keys: &Arc<Vec<cache_key::CacheKey>>,
    tasks: usize,
    duration: Duration,
    read_through: bool,
) -> f64 {
    let started = Instant::now();
    let deadline = started + duration;
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let (cache, keys) = (cache.clone(), keys.clone());
            tokio::spawn(async move {
                let mut i = 0usize;
                let mut found = 0u64;
                while Instant::now() < deadline {
                    // Batches keep the clock read off the hot path.
                    for _ in 0..256 {
                        let key = &keys[(i.wrapping_mul(7919) + t * 13) % keys.len()];
                        let hit = if read_through {
                            cache
                                .get_or_compute(key, None, &[], async {
                                    Err::<Bytes, std::io::Error>(std::io::Error::other("must hit"))
                                })
                                .await
                                .is_ok()
                        } else {
                            cache.peek_l1(key).await.is_some()
                        };
                        found += u64::from(hit);
                        i += 1;
                    }
                    tokio::task::yield_now().await;
                }
                (i as u64, found)
            })
        })
        .collect();
    let (mut total, mut found) = (0u64, 0u64);
    for h in handles {
        if let Ok((n, f)) = h.await {
            total += n;
            found += f;
        }
    }
    assert_eq!(found, total, "every lookup must hit");
    total as f64 / started.elapsed().as_secs_f64()
}

async fn bench_l1(cores: usize) {
    println!("== L1 (moka, in process), 1 KB values, {cores} tasks ==");
    let cache = Cache::new(true, 256 * 1024 * 1024, Duration::from_secs(3600), None);
    // As in the server: every lookup also feeds the Prometheus counters and the windows of
    // /api/performance.
    let settings = vitrine_origin::config::Settings::from_lookup(|_| None)
        .unwrap_or_else(|e| panic!("default settings: {e}"));
    let metrics = vitrine_origin::observability::Metrics::new(&settings)
        .unwrap_or_else(|e| panic!("metrics: {e}"));
    cache.stats().attach_metrics(Arc::new(metrics));
    let keys: Arc<Vec<_>> = Arc::new((0..10_000).map(cache_key::product).collect());
    let value = Bytes::from(vec![b'x'; VALUE_BYTES]);
    for k in keys.iter() {
        let v = value.clone();
        let _ = cache
            .get_or_compute(k, None, &[], async move { Ok::<_, std::io::Error>(v) })
            .await;
    }
    let read_through = l1_throughput(&cache, &keys, cores, seconds(), true).await;
    let bare = l1_throughput(&cache, &keys, cores, seconds(), false).await;
    println!("read-through hits (get_or_compute): {read_through:>12.0} gets/s");
    println!("bare L1 lookups (peek_l1):          {bare:>12.0} gets/s");
    println!(
        "target ≥ 5,000,000 gets/s: {}",
        if read_through >= 5e6 {
            "met"
        } else {
            "NOT met"
        }
    );
    println!();
}

/// `redis-benchmark -q` prints `SET: 123.45 requests per second, p50=…`; returns (set, get).
fn redis_benchmark(port: u16, clients: usize, requests: u64) -> Option<(f64, f64)> {
    let out = Command::new("redis-benchmark")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-t",
            "get,set",
            "-d",
            &VALUE_BYTES.to_string(),
            "-c",
            &clients.to_string(),
            "-P",
            "1",
            "-n",
            &requests.to_string(),
            "-q",
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "\n");
    let rate = |name: &str| -> Option<f64> {
        text.lines()
            .rfind(|l| l.starts_with(name) && l.contains("requests per second"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    Some((rate("SET:")?, rate("GET:")?))
}

async fn bench_l2() {
    let clients = clients();
    println!("== L2 (Redis), 1 KB values, {clients} concurrent clients, no pipelining ==");
    let port = free_port();
    let Ok(_guard) = OwnRedis::try_start(port) else {
        println!("redis-server could not be started (apt-get install -y redis-server): skipped");
        println!();
        return;
    };
    let settings = CacheSettings {
        enabled: true,
        ttl_default: Duration::from_secs(3600),
        l1_max_bytes: 1 << 20,
        key_prefix: "bench:".into(),
        redis_timeout: Duration::from_secs(2),
        breaker_failures: 1000,
        breaker_cooldown: Duration::from_secs(1),
    };
    let redis = match Redis::new(&format!("redis://127.0.0.1:{port}"), &settings) {
        Ok(r) => r,
        Err(e) => {
            println!("cannot connect: {e}: skipped");
            return;
        }
    };
    let value = Bytes::from(vec![b'v'; VALUE_BYTES]);
    let keys: Arc<Vec<String>> = Arc::new((0..10_000).map(|i| format!("key:{i}")).collect());
    let errors = Arc::new(AtomicU64::new(0));
    // Warm up the connection.
    let _ = redis.ping().await;
    let (r, k, v, e) = (redis.clone(), keys.clone(), value.clone(), errors.clone());
    let set = throughput(clients, seconds(), move |t, i| {
        let (r, k, v, e) = (r.clone(), k.clone(), v.clone(), e.clone());
        async move {
            let key = &k[(i as usize * 31 + t) % k.len()];
            if r.set(key, v, Duration::from_secs(600), &[]).await.is_err() {
                e.fetch_add(1, Ordering::Relaxed);
            }
        }
    })
    .await;
    let (r, k, e) = (redis.clone(), keys.clone(), errors.clone());
    let get = throughput(clients, seconds(), move |t, i| {
        let (r, k, e) = (r.clone(), k.clone(), e.clone());
        async move {
            let key = &k[(i as usize * 31 + t) % k.len()];
            if r.get(key).await.is_err() {
                e.fetch_add(1, Ordering::Relaxed);
            }
        }
    })
    .await;
    // Enough requests for redis-benchmark to run about as long as we did.
    let requests = ((set.max(get) * seconds().as_secs_f64()) as u64).max(50_000);
    println!(
        "origin Redis tier (one multiplexed connection): set {set:>10.0} ops/s, get {get:>10.0} ops/s ({} errors)",
        errors.load(Ordering::Relaxed)
    );
    match redis_benchmark(port, clients, requests) {
        Some((bset, bget)) => {
            println!(
                "redis-benchmark -t get,set -d {VALUE_BYTES} -c {clients} -P 1 -n {requests}: set {bset:>10.0} ops/s, get {bget:>10.0} ops/s"
            );
            println!(
                "ratio origin / redis-benchmark: set {:.2}×, get {:.2}× (target ≥ 0.70×)",
                set / bset,
                get / bget
            );
        }
        None => println!("redis-benchmark not available (apt-get install -y redis-tools)"),
    }
    println!();
}

fn search_json() -> Vec<u8> {
    const WORDS: &[&str] = &[
        "wireless",
        "headphones",
        "leather",
        "wallet",
        "running",
        "shoes",
        "coffee",
        "mug",
        "desk",
        "lamp",
        "office",
        "chair",
        "water",
        "bottle",
        "backpack",
        "travel",
        "watch",
        "steel",
        "cotton",
        "shirt",
        "denim",
        "jacket",
        "gaming",
        "keyboard",
    ];
    const BRANDS: &[&str] = &["Acme", "Kumo", "Lumen", "Pebble", "Veloce", "Nordlys"];
    let mut seed: u64 = 42;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut results = Vec::new();
    for i in 0..20 {
        let words: Vec<&str> = (0..24)
            .map(|_| WORDS[(next() % WORDS.len() as u64) as usize])
            .collect();
        let title = format!(
            "{} {} {}",
            BRANDS[(next() % 6) as usize],
            words[0],
            words[1]
        );
        let category = ["Headphones", "Bags", "Lamps", "Mugs"][(next() % 4) as usize];
        let colour = ["black", "white", "red"][(next() % 3) as usize];
        results.push(serde_json::json!({
            "id": 1000 + i,
            "sku": format!("SKU-{:06}", next() % 1_000_000),
            "title": title,
            "description": format!("The {} is a {} for every day. {}.", words[0], words[2..].join(" "), words[3..10].join(" ")),
            "brand": BRANDS[(next() % 6) as usize],
            "category": category,
            "price": next() % 100_000,
            "currency": "USD",
            "attributes": {"colour": colour, "material": words[4], "weight_g": next() % 2000},
            "image_id": format!("{:016x}{:016x}{:016x}{:016x}", next(), next(), next(), next()),
            "created_at": "2026-11-20T10:15:30.123456Z",
            "updated_at": "2026-11-27T08:01:02.654321Z",
            "score": (next() % 1000) as f64 / 100.0,
        }));
    }
    serde_json::to_vec(&serde_json::json!({
        "query": "wireless headphones",
        "results": results,
        "total": 137,
        "facets": {"category": {"Headphones": 96, "Bags": 21, "Lamps": 12, "Mugs": 8}, "brand": {"Acme": 40, "Kumo": 37, "Lumen": 25, "Pebble": 20, "Veloce": 15}},
        "took_ms": 1.734,
    }))
    .unwrap_or_default()
}

fn compress(algorithm: &str, level: i32, input: &[u8]) -> Vec<u8> {
    let encoding = Encoding::parse(algorithm).unwrap_or(Encoding::Deflate);
    encode_bytes(encoding, level, input).unwrap_or_default()
}

fn bench_compression() {
    let input = search_json();
    println!(
        "== Compression of a 20-result search response ({} bytes of JSON) ==",
        input.len()
    );
    let presets = [
        ("fast", Levels::new(CompressionLevel::Fast, None)),
        ("balanced", Levels::new(CompressionLevel::Balanced, None)),
        ("maximum", Levels::new(CompressionLevel::Maximum, None)),
    ];
    let used_by = |algo: &str, level: i32| -> String {
        presets
            .iter()
            .filter(|(_, l)| match algo {
                "br" => l.brotli as i32 == level,
                "zstd" => l.zstd == level,
                "gzip" => l.gzip as i32 == level,
                _ => l.deflate as i32 == level,
            })
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(",")
    };
    println!(
        "{:<8} {:>5} {:>8} {:>8} {:>7} {:>10}  COMPRESSION_LEVEL",
        "algo", "level", "bytes", "saved", "ratio", "µs/resp"
    );
    let table: &[(&str, &[i32])] = &[
        ("br", &[1, 2, 3, 4, 5, 6, 7, 9, 11]),
        ("zstd", &[1, 3, 6, 9, 12, 19]),
        ("gzip", &[1, 4, 6, 9]),
        ("deflate", &[1, 6, 9]),
    ];
    for (algo, levels) in table {
        for &level in *levels {
            let out = compress(algo, level, &input);
            // Enough repetitions for ~0.3 s per row, at least 5.
            let once = Instant::now();
            let _ = compress(algo, level, &input);
            let one = once.elapsed().as_secs_f64().max(1e-6);
            let reps = ((0.3 / one) as usize).clamp(5, 20_000);
            let started = Instant::now();
            for _ in 0..reps {
                std::hint::black_box(compress(algo, level, std::hint::black_box(&input)));
            }
            let us = started.elapsed().as_secs_f64() * 1e6 / reps as f64;
            println!(
                "{:<8} {:>5} {:>8} {:>8} {:>6.1}% {:>10.1}  {}",
                algo,
                level,
                out.len(),
                input.len() - out.len().min(input.len()),
                out.len() as f64 * 100.0 / input.len() as f64,
                us,
                used_by(algo, level)
            );
        }
    }
    println!();
}

fn main() {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start tokio: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "cache benchmark on {cores} cores, {} s per run\n",
        seconds().as_secs_f64()
    );
    rt.block_on(bench_l1(cores));
    rt.block_on(bench_l2());
    bench_compression();
}
