//! Fault injection with real processes: two `vitrine-origin` binaries sharing a Redis of the
//! test's own (same `QUEUE_PREFIX`) and a fresh Postgres database, one SIGKILLed in the middle
//! of a 500-image batch. The survivor finishes the job: every item is in the final result
//! exactly once (delivery is at-least-once; results are recorded set-if-absent), no item is
//! lost, and the progress totals agree with the items.
//!
//! Needs `redis-server` on the PATH and the Postgres at `TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); it fails saying how to get them otherwise.
#![allow(clippy::unwrap_used)]

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use base64::Engine as _;

const KEY: &str = "faults-key-0123456789";

use vitrine_testkit::{
    OriginProcess, OwnRedis, Stdout, free_port, fresh_postgres, origin_binary, temp_dir,
};

/// How long an origin process may take to become ready.
const READY: Duration = Duration::from_secs(60);

/// An origin process with the settings of these tests, plus `env`.
fn start_origin(env: &[(&str, &str)]) -> OriginProcess {
    let mut all = vec![
        ("API_KEYS", KEY),
        ("SEARCH_INDEX_DIR", "memory"),
        ("SEED_DEMO", "false"),
        ("LOG_LEVEL", "warn"),
        ("RATE_LIMIT_ENABLED", "false"),
        ("CONNECTION_POOL_MIN", "1"),
        ("CONNECTION_POOL_SIZE", "5"),
    ];
    all.extend_from_slice(env);
    OriginProcess::start(&origin_binary(), &all, Stdout::Discard)
}

async fn job(client: &reqwest::Client, base: &str, id: &str) -> serde_json::Value {
    let r = client
        .get(format!("{base}/api/jobs/{id}"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "job status from {base}");
    r.json().await.unwrap()
}

/// `n` small, distinct JPEGs as base64.
fn images(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let (w, h) = (64u32, 48u32);
            let img = image::RgbImage::from_fn(w, h, |x, y| {
                image::Rgb([
                    ((x * 4 + i as u32) % 256) as u8,
                    ((y * 5 + i as u32 / 256) % 256) as u8,
                    ((x ^ y ^ i as u32) % 256) as u8,
                ])
            });
            let mut out = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
                .encode(&img, w, h, image::ExtendedColorType::Rgb8)
                .unwrap();
            // A trailer after EOI makes every file distinct even if two renders coincide.
            out.extend_from_slice(format!("item-{i}").as_bytes());
            base64::engine::general_purpose::STANDARD.encode(out)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origin_killed_mid_500_image_batch_loses_nothing() {
    let redis_port = free_port();
    let _redis = OwnRedis::start(redis_port);
    let redis = format!("redis://127.0.0.1:{redis_port}");
    let database = fresh_postgres().await;
    let data = temp_dir();
    let data_dir = data.path().display().to_string();
    let env = [
        ("DATABASE_URL", database.as_str()),
        ("DATA_DIR", data_dir.as_str()),
        ("REDIS_URL", redis.as_str()),
        ("QUEUE_PREFIX", "faults"),
        ("JOB_VISIBILITY_TIMEOUT", "2s"),
        ("ASYNC_WORKERS", "2"),
        ("THREAD_POOL_SIZE", "1"),
    ];
    let client = reqwest::Client::new();
    let mut a = start_origin(&env);
    let b = start_origin(&env);
    a.wait_ready(&client, READY).await;
    b.wait_ready(&client, READY).await;

    let total = 500u64;
    let body = serde_json::json!({
        "images": images(total as usize),
        "thumbnail_sizes": ["small"],
        "idempotency_key": "faults-batch-1",
    });
    let r = client
        .post(format!("{}/api/images/batch", a.base))
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let id = r.json::<serde_json::Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // SIGKILL A once both are under way (no graceful anything: what A holds is in flight).
    let deadline = Instant::now() + Duration::from_secs(120);
    let done_at_kill = loop {
        let s = job(&client, &b.base, &id).await;
        let done = s["progress"]["done"].as_u64().unwrap_or(0);
        if done >= 50 {
            break done;
        }
        assert!(Instant::now() < deadline, "the batch did not start: {s}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    a.kill();
    assert!(
        done_at_kill < total,
        "the batch finished before the kill; make it bigger"
    );

    // The same batch again (a client retrying after A died under it): the same job, not a
    // second one.
    let r = client
        .post(format!("{}/api/images/batch", b.base))
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["job_id"], id);

    let deadline = Instant::now() + Duration::from_secs(240);
    let view = loop {
        let s = job(&client, &b.base, &id).await;
        if s["state"] == "completed" || s["state"] == "failed" {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the job did not complete: {}",
            s["progress"]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let progress = &view["progress"];
    assert_eq!(view["state"], "completed", "{progress}");
    assert_eq!(progress["total"], total, "{progress}");
    assert_eq!(progress["done"], total, "{progress}");
    assert_eq!(progress["succeeded"], total, "{progress}");
    assert_eq!(progress["failed"], 0, "{progress}");
    assert_eq!(progress["skipped"], 0, "{progress}");

    // Exactly once in the final result: 500 items, indices 0..500 each once, 500 distinct
    // image ids (the inputs are distinct), each with its thumbnail.
    let r = client
        .get(format!("{}/api/jobs/{id}/result", b.base))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let result: serde_json::Value = r.json().await.unwrap();
    let items = result["results"].as_array().unwrap();
    assert_eq!(items.len() as u64, total);
    let indices: Vec<u64> = items.iter().map(|i| i["index"].as_u64().unwrap()).collect();
    assert_eq!(indices, (0..total).collect::<Vec<_>>(), "each index once");
    let mut image_ids = HashSet::new();
    for item in items {
        assert_eq!(item["status"], "succeeded", "{item}");
        assert!(
            item["result"]["thumbnails"]["small"]["url"].is_string(),
            "{item}"
        );
        let image = item["result"]["image_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no image id in {item}"));
        image_ids.insert(image.to_owned());
    }
    assert_eq!(image_ids.len() as u64, total, "one distinct image per item");
    let redelivered = items
        .iter()
        .filter(|i| i["attempts"].as_u64() > Some(1))
        .count();
    eprintln!("killed A at {done_at_kill}/{total}; {redelivered} items were redelivered to B");

    // Nothing left behind in the queue: no pending entry, nothing dead-lettered.
    let pending = redis_pending(&redis).await;
    assert_eq!(pending, 0, "entries still pending in the consumer group");
    drop(b);
}

/// Entries delivered but never acknowledged, over the three priority streams.
async fn redis_pending(url: &str) -> u64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A tiny RESP exchange (no Redis client in this crate): XPENDING key group → first
    // element is the count.
    let addr = url.trim_start_matches("redis://");
    let mut sum = 0;
    for p in ["high", "normal", "low"] {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let key = format!("faults:q:{p}");
        let cmd = format!(
            "*3\r\n$8\r\nXPENDING\r\n${}\r\n{key}\r\n$7\r\nworkers\r\n",
            key.len()
        );
        s.write_all(cmd.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 512];
        let n = s.read(&mut buf).await.unwrap();
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        // "*4\r\n:<count>\r\n…"
        let count = text
            .split("\r\n")
            .nth(1)
            .and_then(|l| l.strip_prefix(':'))
            .and_then(|c| c.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("unexpected XPENDING reply for {key}: {text:?}"));
        sum += count;
    }
    sum
}
