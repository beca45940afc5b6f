//! Visual analyses as data: every stored row names the model that computed it, an image is
//! analysed once per model (uploads, `describe` jobs and photo searches share the `embed`
//! cache and the stored row), a model change is re-indexed in the background while the old
//! vectors keep serving (two instances re-indexing together queue one `describe` job), and
//! `GET /api/images/{id}` answers the stored labels as JSON.

use std::time::Duration;

use crate::helpers::{API_KEY, Backend, product_json, spawn_app, spawn_app_with, spawn_on};
use crate::on_both_backends;

on_both_backends!(an_image_is_analysed_once_and_its_row_names_the_model);
on_both_backends!(a_model_change_is_reindexed_in_the_background_while_old_vectors_serve);

/// `POST /api/images` with the raw bytes: `(status, body)`.
async fn upload_image(app: &crate::helpers::TestApp, bytes: Vec<u8>) -> (u16, serde_json::Value) {
    let r = app
        .client
        .post(app.url("/api/images"))
        .bearer_auth(API_KEY)
        .body(bytes)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn an_image_is_analysed_once_and_its_row_names_the_model(backend: Backend) {
    let app = spawn_app(backend).await;
    let visual = &app.state.visual;
    let photo = vitrine_origin::catalog::demo::render_image(5).unwrap();
    let (status, first) = upload_image(&app, photo.clone()).await;
    assert_eq!(status, 201, "{first}");
    let (status, second) = upload_image(&app, photo.clone()).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(first["id"], second["id"]);
    assert_eq!(
        visual.analyses_computed(),
        1,
        "the second upload computed nothing"
    );
    let id = first["id"].as_str().unwrap().to_owned();

    // The row carries the model id; the descriptor alone has no labels.
    let version = visual.embedder.version();
    let meta = app
        .state
        .db
        .visual_meta(&id, version)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(meta.version, version);
    assert_eq!(meta.model, format!("descriptor-v{version}"));
    assert_eq!(meta.model, visual.embedder.model_id());
    assert_eq!(meta.labels, "[]");

    // A product showing it is indexed from the stored row, and a photo search with the same
    // bytes finds the analysis in the `embed` cache: the model still ran once.
    let mut p = product_json("ONCE-1", "Once", "Lamps", "Lumen", 1_000);
    p["image_id"] = serde_json::json!(id);
    app.create_product(p).await;
    visual.wait_idle().await;
    assert_eq!(visual.index.len(), 1);
    let (status, found) = crate::visual::upload(&app, photo.clone(), &[("limit", "1")]).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["results"][0]["sku"], "ONCE-1", "{found}");
    assert_eq!(visual.analyses_computed(), 1);
    let (_, health) = app.get_json("/api/health/detailed").await;
    let v = &health["components"]["search"]["visual"];
    assert_eq!(v["model"], visual.embedder.model_id(), "{health}");
    assert_eq!(v["analyses_computed"], 1, "{health}");

    // JSON metadata when asked for, the bytes otherwise; `Vary: Accept` on both.
    let r = app
        .client
        .get(app.url(&format!("/api/images/{id}")))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "private, max-age=60");
    assert_eq!(r.headers()["vary"], "Accept");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let m: serde_json::Value = r.json().await.unwrap();
    assert_eq!(m["id"], id.as_str(), "{m}");
    assert_eq!(m["format"], first["format"], "{m}");
    assert_eq!(m["width"], first["width"], "{m}");
    assert_eq!(m["height"], first["height"], "{m}");
    assert_eq!(m["bytes"], photo.len(), "{m}");
    assert_eq!(m["labels"], serde_json::json!([]), "{m}");
    assert_eq!(m["model"], visual.embedder.model_id(), "{m}");
    let r = app.get(&format!("/api/images/{id}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["vary"], "Accept");
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), photo.as_slice());
    let missing = "0".repeat(64);
    let r = app
        .client
        .get(app.url(&format!("/api/images/{missing}")))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    app.stop().await;
}

/// Rewrites every stored row as if an older model (`descriptor-v3`) had made it.
async fn pretend_an_older_model_made_the_rows(url: &str) {
    use sqlx::Connection;
    let sql = "UPDATE image_descriptors SET version = 3, model = 'descriptor-v3'";
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
}

async fn a_model_change_is_reindexed_in_the_background_while_old_vectors_serve(backend: Backend) {
    let app = spawn_app(backend).await;
    vitrine_origin::catalog::demo::seed(&app.state.catalog, &app.state.thumbs, 6, false)
        .await
        .unwrap();
    app.state.visual.wait_idle().await;
    let url = app.database_url.clone();
    let dir = app.stop_keeping_data().await;
    pretend_an_older_model_made_the_rows(&url).await;

    // An API-only instance (no workers): nothing is re-computed, and yet the old vectors
    // (same length) serve, and the re-index is queued.
    let app = spawn_on(url.clone(), dir, &[("ASYNC_WORKERS", "0")]).await;
    let visual = &app.state.visual;
    assert_eq!(visual.index.len(), 6, "old vectors are served");
    let photo = vitrine_origin::catalog::demo::render_image(3).unwrap();
    let (status, found) = crate::visual::upload(&app, photo.clone(), &[("limit", "1")]).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["results"][0]["sku"], "DEMO-00003", "{found}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while visual.reindex_progress().queued() < 6 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "re-index never queued"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, health) = app.get_json("/api/health/detailed").await;
    let r = &health["components"]["search"]["visual"]["reindex"];
    assert_eq!(r["queued"], 6, "{health}");
    assert_eq!(r["done"], 0, "{health}");
    assert_eq!(r["running"], true, "{health}");
    assert_eq!(r["model"], "descriptor-v4", "{health}");
    let dir = app.stop_keeping_data().await;

    // With workers the re-index completes: a row of the running model for every image.
    let app = spawn_on(url, dir, &[]).await;
    let visual = &app.state.visual;
    assert_eq!(visual.index.len(), 6);
    visual.wait_idle().await;
    let progress = visual.reindex_progress();
    assert_eq!((progress.queued(), progress.done()), (6, 6));
    assert!(!progress.running());
    let version = visual.embedder.version();
    for id in 1..=6 {
        let p = app.state.db.get_product(id).await.unwrap().unwrap();
        let image = p.image_id.unwrap();
        let meta = app
            .state
            .db
            .visual_meta(&image, version)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (meta.version, meta.model.as_str()),
            (version, "descriptor-v4")
        );
    }
    let metrics = app.get("/api/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("vitrine_visual_reindex_queued_images 6"),
        "{metrics}"
    );
    assert!(
        metrics.contains("vitrine_visual_reindex_done_images 6"),
        "{metrics}"
    );
    app.stop().await;
}

/// A `describe` item for another model is not computed here (it would be stored as this
/// model's output): the attempt fails as transient `model_mismatch`, so the queue can hand
/// it to an instance running that model; with one attempt it is dead-lettered at once
/// (its last error's message kept).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_describe_item_for_another_model_is_not_computed_here() {
    use vitrine_origin::jobs::{NewJob, Priority};
    let app = spawn_app_with(Backend::Sqlite, &[("JOB_MAX_ATTEMPTS", "1")]).await;
    let photo = vitrine_origin::catalog::demo::render_image(8).unwrap();
    let (record, _) = app.state.thumbs.ingest_checked(photo).await.unwrap();
    let job = NewJob {
        kind: "describe".into(),
        priority: Priority::Low,
        idempotency_key: None,
        unique: None,
        run_at: None,
        items: vec![serde_json::json!({
            "image_id": record.id, "model": "efficientnet-lite0@0000+descriptor-v4", "version": 12345
        })],
        prefailed: Vec::new(),
        meta: serde_json::json!({}),
    };
    let id = app
        .state
        .jobs
        .queue
        .submit(job)
        .await
        .unwrap()
        .id()
        .to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let v = loop {
        let (_, v) = app.get_json_auth(&format!("/api/jobs/{id}")).await;
        if v["state"] == "failed" || v["state"] == "completed" {
            break v;
        }
        assert!(tokio::time::Instant::now() < deadline, "{v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let error = &v["items"][0]["error"];
    assert_eq!(error["code"], "dead_lettered", "{v}");
    assert!(
        error["message"].as_str().unwrap().contains("is for model"),
        "{v}"
    );
    assert_eq!(app.state.visual.analyses_computed(), 0);
    let meta = app
        .state
        .db
        .visual_meta(&record.id, app.state.visual.embedder.version())
        .await
        .unwrap();
    assert!(meta.is_none(), "{meta:?}");
    app.stop().await;
}

/// Two instances sharing a Redis queue that start after a model change both re-index the same
/// catalog: the `describe` job is unique by model and image set, so the images are queued
/// once, not once per instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_re_indexing_together_queue_one_describe_job() {
    let app = spawn_app(Backend::Postgres).await;
    vitrine_origin::catalog::demo::seed(&app.state.catalog, &app.state.thumbs, 6, false)
        .await
        .unwrap();
    app.state.visual.wait_idle().await;
    let url = app.database_url.clone();
    let dir = app.stop_keeping_data().await;
    pretend_an_older_model_made_the_rows(&url).await;

    let redis = crate::jobs::redis_url().await;
    let queue = crate::jobs::unique_prefix();
    let cache = format!("{}:", crate::jobs::unique_prefix());
    let env = [
        ("ASYNC_WORKERS", "0"),
        ("REDIS_URL", redis.as_str()),
        ("QUEUE_PREFIX", queue.as_str()),
        ("CACHE_KEY_PREFIX", cache.as_str()),
    ];
    let b = spawn_on(url.clone(), dir, &env).await;
    let c = spawn_on(url, vitrine_testkit::temp_dir(), &env).await;
    // Each instance asks for the images' descriptors (its start-up re-index asks too): once
    // these return, both have submitted the images at least once.
    let ids: Vec<i64> = (1..=6).collect();
    let products = b.state.db.get_products(&ids).await.unwrap();
    assert_eq!(products.len(), 6);
    b.state.visual.on_products_changed(&products).await;
    c.state.visual.on_products_changed(&products).await;
    let (status, page) = b.get_json_auth("/api/jobs?kind=describe&limit=100").await;
    assert_eq!(status, 200, "{page}");
    let jobs = page["jobs"].as_array().unwrap();
    let six: Vec<&serde_json::Value> = jobs
        .iter()
        .filter(|j| j["progress"]["total"] == 6)
        .collect();
    assert_eq!(six.len(), 1, "{page}");
    assert_eq!(six[0]["state"], "queued");
    b.stop().await;
    c.stop().await;
    crate::jobs::cleanup(&redis, &queue).await;
}
