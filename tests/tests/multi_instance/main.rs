//! Three origin instances behind nginx, sharing one Postgres database (through PgBouncer),
//! one Redis Cluster and one S3-compatible object store, each with its own `DATA_DIR`:
//!
//! - an image uploaded through the balancer is served, original and thumbnails, by every
//!   instance directly;
//! - a product written through the balancer is visible in cached reads, text search and photo
//!   search of every instance within the propagation delay (`SEARCH_SYNC_INTERVAL`, 1 s here,
//!   and the cross-instance announcements), and so is an update of it;
//! - an instance SIGKILLed in the middle of a batch loses nothing: every item completes once;
//! - an instance started again with an empty `DATA_DIR` serves every original and thumbnail.
//!
//! It prints how long propagation took, what the kill cost and how many requests nginx sent to
//! each instance. Needs what `scripts/test.sh` provides: Postgres, `redis-server`, PgBouncer
//! (`scripts/tools/pgbouncer.sh`), nginx (`scripts/tools/nginx.sh`) and the S3 server
//! (`scripts/object-store.sh`); run it alone with
//! `VITRINE_REQUIRE_OBJECT_STORE=1 cargo test -p vitrine-e2e --test multi_instance -- --nocapture`.
#![allow(clippy::unwrap_used)]

mod deployment;
mod http;

use std::{
    collections::HashSet,
    future::Future,
    time::{Duration, Instant},
};

use base64::Engine as _;
use deployment::{Deployment, INSTANCES, KEY};
use http::{Client, jpeg};

/// How long a write may take to reach every instance before the test fails: far above the
/// documented delay (one sync interval plus an announcement), so only a write that never
/// arrives fails it.
const PROPAGATION_DEADLINE: Duration = Duration::from_secs(30);

/// Polls `check` every 100 ms until it holds; returns how long that took.
async fn until<F, Fut>(what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < PROPAGATION_DEADLINE,
            "{what}: not reached within {PROPAGATION_DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_behind_nginx_share_everything_and_lose_nothing() {
    let client = Client::new();
    let Some(mut deployment) = Deployment::start(&client.http).await else {
        return;
    };
    let lb = deployment.balancer().to_owned();

    let photo = jpeg(1, 640, 480);
    let image = originals_and_thumbnails_everywhere(&client, &deployment, &lb, &photo).await;
    writes_visible_everywhere(&client, &deployment, &lb, &image, &photo).await;
    let batch = instance_killed_mid_batch(&client, &mut deployment, &lb).await;
    empty_data_dir_serves_everything(&client, &mut deployment, &image, &batch).await;

    // Round-robin over the instances: a burst of reads through the balancer.
    for _ in 0..30 {
        let r = client
            .send(client.http.get(format!("{lb}/api/health/live")))
            .await;
        assert_eq!(r.status(), 200);
    }
    let served = client.served();
    eprintln!("requests served through nginx, by instance: {served:?}");
    assert!(
        served.len() >= INSTANCES,
        "nginx sent requests to fewer than {INSTANCES} instances: {served:?}"
    );
}

/// Uploads through the balancer; every instance serves the original and a thumbnail.
async fn originals_and_thumbnails_everywhere(
    client: &Client,
    deployment: &Deployment,
    lb: &str,
    photo: &[u8],
) -> String {
    let id = client.upload(lb, photo.to_vec()).await;
    for (n, i) in deployment.instances.iter().enumerate() {
        let r = client
            .send(client.http.get(format!("{}/api/images/{id}", i.base())))
            .await;
        assert_eq!(r.status(), 200, "original on instance {n}");
        assert_eq!(r.bytes().await.unwrap().as_ref(), photo, "instance {n}");
        let r = client
            .send(client.http.get(format!(
                "{}/img/_/w:160/h:160/fit:cover/f:webp/{id}",
                i.base()
            )))
            .await;
        assert_eq!(r.status(), 200, "thumbnail on instance {n}");
        assert_eq!(r.headers()["content-type"], "image/webp");
    }
    id
}

fn product_body(title: &str, image: &str) -> serde_json::Value {
    serde_json::json!({
        "sku": "MULTI-1",
        "title": title,
        "description": "Hand-thrown stoneware",
        "brand": "Kiln",
        "category": "Home",
        "price": 4500,
        "image_id": image,
    })
}

/// A product created and then renamed through the balancer reaches every instance's cached
/// reads, text search and photo search.
async fn writes_visible_everywhere(
    client: &Client,
    deployment: &Deployment,
    lb: &str,
    image: &str,
    photo: &[u8],
) {
    let (status, created) = client
        .json(
            client
                .http
                .post(format!("{lb}/api/products"))
                .bearer_auth(KEY)
                .json(&product_body("Orchid vase zephyr", image)),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    let bases: Vec<String> = deployment
        .instances
        .iter()
        .map(|i| i.base().to_owned())
        .collect();

    let text = until(
        "the new product in every instance's text search",
        || async {
            for b in &bases {
                let titles = client.search_titles(b, "zephyr").await;
                if titles != ["Orchid vase zephyr"] {
                    eprintln!("{b}: text search for zephyr: {titles:?}");
                    return false;
                }
            }
            true
        },
    )
    .await;
    let visual = until(
        "the new product first in every instance's photo search",
        || async {
            for b in &bases {
                if client.photo_search_ids(b, photo).await.first() != Some(&id) {
                    return false;
                }
            }
            true
        },
    )
    .await;
    // Every instance now holds the product in its read cache.
    for b in &bases {
        for _ in 0..2 {
            let (s, p) = client
                .json(client.http.get(format!("{b}/api/products/{id}")))
                .await;
            assert_eq!((s, p["title"].as_str()), (200, Some("Orchid vase zephyr")));
        }
    }

    let (status, body) = client
        .json(
            client
                .http
                .put(format!("{lb}/api/products/{id}"))
                .bearer_auth(KEY)
                .json(&product_body("Orchid vase quokka", image)),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let read = until("the rename in every instance's cached read", || async {
        for b in &bases {
            let (_, p) = client
                .json(client.http.get(format!("{b}/api/products/{id}")))
                .await;
            if p["title"] != "Orchid vase quokka" {
                return false;
            }
        }
        true
    })
    .await;
    let renamed = until("the rename in every instance's text search", || async {
        for b in &bases {
            if client.search_titles(b, "quokka").await != ["Orchid vase quokka"]
                || !client.search_titles(b, "zephyr").await.is_empty()
            {
                return false;
            }
        }
        true
    })
    .await;
    eprintln!(
        "visible on all {INSTANCES} instances after: text search {text:.2?}, photo search \
         {visual:.2?}; the rename: cached read {read:.2?}, text search {renamed:.2?}"
    );
}

/// Distinct base64 JPEGs large enough that a batch of them takes a while.
fn batch_images(n: u32) -> Vec<(Vec<u8>, String)> {
    (0..n)
        .map(|i| {
            let bytes = jpeg(100 + i, 1200, 900);
            let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
            (bytes, b64)
        })
        .collect()
}

async fn job(client: &Client, lb: &str, id: &str) -> serde_json::Value {
    let (status, body) = client
        .json(
            client
                .http
                .get(format!("{lb}/api/jobs/{id}"))
                .bearer_auth(KEY),
        )
        .await;
    assert_eq!(status, 200, "job status: {body}");
    body
}

/// SIGKILLs instance 1 while a batch submitted through the balancer runs; the others finish
/// it with every item completed exactly once. Returns the batch's originals and their ids.
async fn instance_killed_mid_batch(
    client: &Client,
    deployment: &mut Deployment,
    lb: &str,
) -> Vec<(Vec<u8>, String)> {
    let total = 30u32;
    let images = batch_images(total);
    let body = serde_json::json!({
        "images": images.iter().map(|(_, b)| b.as_str()).collect::<Vec<_>>(),
        "thumbnail_sizes": ["small", "medium", "large"],
        "idempotency_key": "multi-batch-1",
    });
    let (status, accepted) = client
        .json(
            client
                .http
                .post(format!("{lb}/api/images/batch"))
                .bearer_auth(KEY)
                .json(&body),
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    let id = accepted["job_id"].as_str().unwrap().to_owned();

    let started = Instant::now();
    let done_at_kill = loop {
        let s = job(client, lb, &id).await;
        let done = s["progress"]["done"].as_u64().unwrap_or(0);
        if done >= 3 {
            break done;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the batch did not start: {s}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    deployment.instances[1].process.kill();

    let view = loop {
        let s = job(client, lb, &id).await;
        if s["state"] == "completed" || s["state"] == "failed" {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the job did not complete: {}",
            s["progress"]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let progress = &view["progress"];
    assert_eq!(view["state"], "completed", "{progress}");
    assert_eq!(progress["done"], total, "{progress}");
    assert_eq!(progress["succeeded"], total, "{progress}");

    let (status, result) = client
        .json(
            client
                .http
                .get(format!("{lb}/api/jobs/{id}/result"))
                .bearer_auth(KEY),
        )
        .await;
    assert_eq!(status, 200, "{result}");
    let items = result["results"].as_array().unwrap();
    let indices: Vec<u64> = items.iter().map(|i| i["index"].as_u64().unwrap()).collect();
    assert_eq!(
        indices,
        (0..u64::from(total)).collect::<Vec<_>>(),
        "each item once"
    );
    let mut ids = Vec::new();
    for item in items {
        assert_eq!(item["status"], "succeeded", "{item}");
        ids.push(item["result"]["image_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        total as usize,
        "one distinct original per item"
    );
    let redelivered = items
        .iter()
        .filter(|i| i["attempts"].as_u64() > Some(1))
        .count();
    eprintln!(
        "instance 1 SIGKILLed at {done_at_kill}/{total} items done; the job completed with \
         {total} items each once ({redelivered} redelivered after the kill)"
    );
    images
        .into_iter()
        .zip(ids)
        .map(|((bytes, _), id)| (bytes, id))
        .collect()
}

/// Instance 1 started again with an empty `DATA_DIR` serves every original and thumbnail.
async fn empty_data_dir_serves_everything(
    client: &Client,
    deployment: &mut Deployment,
    image: &str,
    batch: &[(Vec<u8>, String)],
) {
    deployment.replace(1, &client.http).await;
    let base = deployment.instances[1].base().to_owned();
    assert_eq!(
        std::fs::read_dir(deployment.instances[1].data.path().join("originals"))
            .map(|d| d.count())
            .unwrap_or(0),
        0,
        "originals are in the object store, not the instance's disk"
    );
    let mut originals = 0;
    let mut thumbnails = 0;
    let first = client
        .send(client.http.get(format!("{base}/api/images/{image}")))
        .await;
    assert_eq!(first.status(), 200);
    originals += 1;
    for (bytes, id) in batch {
        let r = client
            .send(client.http.get(format!("{base}/api/images/{id}")))
            .await;
        assert_eq!(r.status(), 200, "original {id}");
        assert_eq!(r.bytes().await.unwrap().as_ref(), bytes.as_slice(), "{id}");
        originals += 1;
        for preset in ["small", "medium", "large"] {
            let r = client
                .send(client.http.get(format!("{base}/img/_/{preset}/{id}")))
                .await;
            assert_eq!(r.status(), 200, "{preset} thumbnail of {id}");
            thumbnails += 1;
        }
    }
    eprintln!(
        "restarted with an empty DATA_DIR: served {originals} originals and {thumbnails} \
         thumbnails"
    );
}
