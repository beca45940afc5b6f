//! Originals in a real S3-compatible server (`scripts/object-store.sh`, one server per test
//! on a free loopback port): upload then original and thumbnail, a second instance with an
//! empty `DATA_DIR` serving what the first stored, the server stopped (503 + `Retry-After`,
//! never a 500) or slow (uploads 503, reads 504, the instance still answering), a missing
//! object (404), ids that are not content hashes (400), and the orphan sweep.

use std::time::{Duration, Instant, SystemTime};

use vitrine_common::api::ImageId;
use vitrine_origin::images::orphans;
use vitrine_testkit::{FaultProxy, ObjectStoreServer, temp_dir};

use crate::helpers::{Backend, TestApp, database_url, spawn_on};
use crate::images::{jpeg, upload};
use crate::on_both_backends;

/// An origin on `backend` whose originals go to `s3`, with `extra` settings on top.
async fn spawn_on_s3(backend: Backend, s3: &ObjectStoreServer, extra: &[(&str, &str)]) -> TestApp {
    let dir = temp_dir();
    let url = database_url(backend, dir.path()).await;
    spawn_with_store(url, s3.env(), extra).await
}

async fn spawn_with_store(
    database_url: String,
    store: Vec<(&str, &str)>,
    extra: &[(&str, &str)],
) -> TestApp {
    let mut env = store;
    env.extend_from_slice(extra);
    spawn_on(database_url, temp_dir(), &env).await
}

/// A 503 problem with `Retry-After`, as every store outage answers.
async fn assert_unavailable(r: reqwest::Response, what: &str) {
    assert_eq!(r.status(), 503, "{what}");
    assert!(
        r.headers().contains_key("retry-after"),
        "{what}: no Retry-After"
    );
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let p: serde_json::Value = r.json().await.unwrap();
    assert_eq!(p["status"], 503, "{what}: {p}");
    assert!(
        p["detail"].as_str().unwrap().contains("store"),
        "{what}: {p}"
    );
}

async fn upload_raw(app: &TestApp, bytes: Vec<u8>) -> reqwest::Response {
    app.client
        .post(app.url("/api/images"))
        .bearer_auth(crate::helpers::API_KEY)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap()
}

async fn upload_through_s3_then_original_and_thumbnail(backend: Backend) {
    let Some(s3) = ObjectStoreServer::start_or_skip("upload_through_s3") else {
        return;
    };
    let app = spawn_on_s3(backend, &s3, &[]).await;
    assert!(app.state.images.store.describe().starts_with("s3://"));
    let bytes = jpeg(320, 240);
    let (status, j) = upload(&app, bytes.clone()).await;
    assert_eq!(status, 201, "{j}");
    let id = j["id"].as_str().unwrap().to_owned();
    // The object is in the bucket (read back through the store, not the origin's routes).
    let key = ImageId::parse(&id).unwrap();
    let meta = app.state.images.store.head(&key).await.unwrap();
    assert_eq!(meta.size, bytes.len() as u64);
    // The same bytes again: same id, 200.
    let (status, again) = upload(&app, bytes.clone()).await;
    assert_eq!(status, 200, "{again}");
    let r = app.get(&format!("/api/images/{id}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), bytes.as_slice());
    // A size the upload did not pre-render: read from the bucket and resized now.
    let r = app.get(&format!("/img/_/w:100/f:png/{id}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-image-cache"], "miss");
    let thumb = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(thumb.width(), 100);
    app.stop().await;
}

on_both_backends!(upload_through_s3_then_original_and_thumbnail);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_instance_with_an_empty_data_dir_serves_the_original() {
    let Some(s3) = ObjectStoreServer::start_or_skip("second_instance") else {
        return;
    };
    let first = spawn_on_s3(Backend::Postgres, &s3, &[]).await;
    let bytes = jpeg(200, 150);
    let (status, j) = upload(&first, bytes.clone()).await;
    assert_eq!(status, 201, "{j}");
    let id = j["id"].as_str().unwrap().to_owned();
    // Same database, same bucket, its own (empty) DATA_DIR.
    let second = spawn_with_store(first.database_url.clone(), s3.env(), &[]).await;
    let r = second.get(&format!("/api/images/{id}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), bytes.as_slice());
    let r = second.get(&format!("/img/_/w:64/f:jpeg/{id}")).await;
    assert_eq!(r.status(), 200);
    first.stop().await;
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_stopped_answers_503_with_retry_after_then_recovers() {
    let Some(s3) = ObjectStoreServer::start_or_skip("store_stopped") else {
        return;
    };
    let app = spawn_on_s3(Backend::Postgres, &s3, &[]).await;
    let (status, j) = upload(&app, jpeg(120, 90)).await;
    assert_eq!(status, 201, "{j}");
    let id = j["id"].as_str().unwrap().to_owned();

    s3.stop();
    assert_unavailable(upload_raw(&app, jpeg(121, 90)).await, "upload").await;
    assert_unavailable(app.get(&format!("/api/images/{id}")).await, "original").await;
    assert_unavailable(
        app.get(&format!("/img/_/w:33/f:png/{id}")).await,
        "thumbnail",
    )
    .await;
    // Nothing else depends on the store.
    assert_eq!(app.get("/api/health/live").await.status(), 200);
    assert_eq!(app.get("/api/products").await.status(), 200);

    s3.restart();
    let r = app.get(&format!("/api/images/{id}")).await;
    assert_eq!(r.status(), 200);
    let (status, j) = upload(&app, jpeg(121, 90)).await;
    assert_eq!(status, 201, "the refused upload stored nothing: {j}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_store_uploads_503_reads_504_and_the_instance_stays_responsive() {
    let Some(s3) = ObjectStoreServer::start_or_skip("slow_store") else {
        return;
    };
    let upstream = s3
        .var("AWS_ENDPOINT_URL")
        .trim_start_matches("http://")
        .to_owned();
    let proxy = FaultProxy::start(upstream).await;
    let endpoint = format!("http://{}", proxy.addr);
    let mut env: Vec<(&str, &str)> = s3
        .env()
        .into_iter()
        .filter(|(k, _)| *k != "AWS_ENDPOINT_URL")
        .collect();
    env.push(("AWS_ENDPOINT_URL", &endpoint));
    let dir = temp_dir();
    let url = database_url(Backend::Postgres, dir.path()).await;
    let app = spawn_with_store(url, env, &[("OBJECT_STORE_TIMEOUT", "400ms")]).await;
    let (status, j) = upload(&app, jpeg(100, 80)).await;
    assert_eq!(status, 201, "{j}");
    let id = j["id"].as_str().unwrap().to_owned();

    proxy.set_delay(Duration::from_secs(3));
    assert_unavailable(upload_raw(&app, jpeg(101, 80)).await, "slow upload").await;
    let r = app.get(&format!("/api/images/{id}")).await;
    assert_eq!(r.status(), 504, "slow original");
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let r = app.get(&format!("/img/_/w:31/f:png/{id}")).await;
    assert_eq!(r.status(), 504, "slow thumbnail");
    assert_eq!(app.get("/api/health/live").await.status(), 200);

    proxy.set_delay(Duration::ZERO);
    let r = app.get(&format!("/api/images/{id}")).await;
    assert_eq!(r.status(), 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_object_is_404_and_ids_that_are_not_hashes_are_400() {
    let Some(s3) = ObjectStoreServer::start_or_skip("missing_object") else {
        return;
    };
    let app = spawn_on_s3(Backend::Postgres, &s3, &[]).await;
    let (status, j) = upload(&app, jpeg(90, 90)).await;
    assert_eq!(status, 201, "{j}");
    let id = j["id"].as_str().unwrap().to_owned();
    // The row stays, the object goes (removed behind the origin's back).
    app.state
        .images
        .store
        .delete(&ImageId::parse(&id).unwrap())
        .await
        .unwrap();
    for path in [
        format!("/api/images/{id}"),
        format!("/img/_/w:50/f:png/{id}"),
        format!("/api/images/{}", "0".repeat(64)),
    ] {
        let r = app.get(&path).await;
        assert_eq!(r.status(), 404, "{path}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }
    for bad in [
        "..%2F..%2Fetc%2Fpasswd".to_owned(),
        id.to_uppercase(),
        format!("{id}0"),
        "zz".repeat(32),
    ] {
        let r = app.get(&format!("/api/images/{bad}")).await;
        assert_eq!(r.status(), 400, "/api/images/{bad}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let r = app.get(&format!("/img/_/w:50/{bad}")).await;
        assert_eq!(r.status(), 400, "/img/_/w:50/{bad}");
    }
    app.stop().await;
}

async fn orphan_sweep_removes_old_unreferenced_objects_only(backend: Backend) {
    let Some(s3) = ObjectStoreServer::start_or_skip("orphan_sweep") else {
        return;
    };
    let app = spawn_on_s3(backend, &s3, &[]).await;
    let images = &app.state.images;
    let (status, j) = upload(&app, jpeg(70, 70)).await;
    assert_eq!(status, 201, "{j}");
    let referenced = ImageId::parse(j["id"].as_str().unwrap()).unwrap();
    // Stored without a row, as a batch item is before its job runs.
    let orphan = ImageId::parse(images.stage(jpeg(71, 70)).await.unwrap()).unwrap();
    let grace = Duration::from_secs(3600);

    // Young objects stay, referenced or not.
    let r = orphans::sweep(images, grace, SystemTime::now())
        .await
        .unwrap();
    assert_eq!((r.scanned, r.old, r.removed), (2, 0, 0), "{r:?}");
    assert!(images.store.head(&orphan).await.is_ok());

    // Two grace periods later: the orphan goes, the referenced object stays.
    let later = SystemTime::now() + 2 * grace;
    let r = orphans::sweep(images, grace, later).await.unwrap();
    assert_eq!((r.scanned, r.old, r.removed), (2, 2, 1), "{r:?}");
    assert_eq!(
        images.store.head(&orphan).await,
        Err(vitrine_origin::images::store::StoreError::NotFound)
    );
    assert!(images.store.head(&referenced).await.is_ok());
    let r = app
        .get(&format!("/api/images/{}", referenced.as_str()))
        .await;
    assert_eq!(r.status(), 200);
    app.stop().await;
}

on_both_backends!(orphan_sweep_removes_old_unreferenced_objects_only);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_periodic_sweep_runs_from_startup() {
    let Some(s3) = ObjectStoreServer::start_or_skip("periodic_sweep") else {
        return;
    };
    let app = spawn_on_s3(
        Backend::Sqlite,
        &s3,
        &[
            ("OBJECT_STORE_ORPHAN_GRACE", "1s"),
            ("OBJECT_STORE_ORPHAN_INTERVAL", "1s"),
        ],
    )
    .await;
    let images = &app.state.images;
    let (status, j) = upload(&app, jpeg(60, 60)).await;
    assert_eq!(status, 201, "{j}");
    let referenced = ImageId::parse(j["id"].as_str().unwrap()).unwrap();
    let orphan = ImageId::parse(images.stage(jpeg(61, 60)).await.unwrap()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while images.store.head(&orphan).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "the sweep never removed the orphan"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(images.store.head(&referenced).await.is_ok());
    app.stop().await;
}
