//! Search by photo, through the HTTP API.

use crate::helpers::{Backend, spawn_app, spawn_on};
use crate::on_both_backends;

on_both_backends!(a_product_photo_finds_its_product_first);
on_both_backends!(descriptors_are_read_in_one_batch_as_one_by_one);

pub(crate) async fn upload(
    app: &crate::helpers::TestApp,
    bytes: Vec<u8>,
    fields: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let (status, _, body) = upload_with_cache_header(app, bytes, fields).await;
    (status, body)
}

async fn seeded(backend: Backend, n: usize) -> crate::helpers::TestApp {
    let app = spawn_app(backend).await;
    vitrine_origin::catalog::demo::seed(&app.state.catalog, &app.state.thumbs, n, false)
        .await
        .unwrap();
    app.state.visual.wait_idle().await;
    app
}

async fn a_product_photo_finds_its_product_first(backend: Backend) {
    let app = seeded(backend, 24).await;
    assert_eq!(app.state.visual.index.len(), 24);
    for i in [0usize, 7, 13] {
        let photo = vitrine_origin::catalog::demo::render_image(i).unwrap();
        let sku = format!("DEMO-{i:05}");
        let (status, v) = upload(&app, photo, &[("limit", "5")]).await;
        assert_eq!(status, 200, "{v}");
        let results = v["results"].as_array().unwrap();
        assert_eq!(results.len(), 5);
        assert_eq!(results[0]["sku"], sku, "{v}");
        assert_eq!(results[0]["duplicate"], true);
        assert!(results[0]["score"].as_f64().unwrap() > 0.99);
        assert!(
            results[0]["thumbnail_url"]
                .as_str()
                .unwrap()
                .starts_with("/img/")
        );
        let scores: Vec<f64> = results[1..]
            .iter()
            .map(|r| r["score"].as_f64().unwrap())
            .collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    }
    app.stop().await;
}

/// The batch read behind product writes returns exactly what the single read does, and
/// nothing for ids without a descriptor of that version.
async fn descriptors_are_read_in_one_batch_as_one_by_one(backend: Backend) {
    let app = seeded(backend, 4).await;
    let version = app.state.visual.embedder.version();
    let (_, list) = app.get_json("/api/products?limit=4").await;
    let items = list["items"]
        .as_array()
        .or_else(|| list["products"].as_array())
        .unwrap();
    let mut ids: Vec<String> = items
        .iter()
        .filter_map(|p| p["image_id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(ids.len(), 4, "{list}");
    ids.push("0".repeat(64));
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let db = &app.state.db;
    let batch = db.get_descriptors(&refs, version).await.unwrap();
    assert_eq!(batch.len(), 4, "the unknown id has no descriptor");
    for id in &ids[..4] {
        let one = db.get_descriptor(id, version).await.unwrap().unwrap();
        assert_eq!(batch.get(id), Some(&one), "{id}");
    }
    assert!(
        db.get_descriptors(&refs, version + 1)
            .await
            .unwrap()
            .is_empty()
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_fill_the_requested_top_k() {
    let app = seeded(Backend::Sqlite, 30).await;
    let photo = vitrine_origin::catalog::demo::render_image(0).unwrap();
    // Three mugs in the catalog: asking for 20 mugs returns exactly the three.
    let (status, v) = upload(
        &app,
        photo.clone(),
        &[("limit", "20"), ("category", "Mugs")],
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 3, "{v}");
    assert!(results.iter().all(|r| r["category"] == "Mugs"));
    // A price ceiling still fills the page.
    let (_, v) = upload(&app, photo, &[("limit", "10"), ("price_max", "20000")]).await;
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 10, "{v}");
    assert!(
        results
            .iter()
            .all(|r| r["price"].as_i64().unwrap() <= 20_000)
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn similar_products_exclude_the_product_itself() {
    let app = seeded(Backend::Sqlite, 20).await;
    let (status, v) = app.get_json("/api/products/1/similar?limit=5").await;
    assert_eq!(status, 200, "{v}");
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    assert!(results.iter().all(|r| r["id"] != 1));
    let (status, _) = app.get_json("/api/products/999999/similar").await;
    assert_eq!(status, 404);
    let (status, _) = app.get_json("/api/products/abc/similar").await;
    assert_eq!(status, 400);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_uploads_get_the_pipelines_4xx() {
    let app = spawn_app(Backend::Sqlite).await;
    let (status, p) = upload(&app, Vec::new(), &[]).await;
    assert_eq!(status, 400, "{p}");
    let (status, p) = upload(&app, b"definitely not an image".to_vec(), &[]).await;
    assert_eq!(status, 415, "{p}");
    let (status, p) = upload(
        &app,
        b"<svg xmlns='http://www.w3.org/2000/svg'></svg>".to_vec(),
        &[],
    )
    .await;
    assert_eq!(status, 415, "{p}");
    let (status, p) = upload(
        &app,
        vitrine_origin::catalog::demo::render_image(1).unwrap()[..500].to_vec(),
        &[],
    )
    .await;
    assert_eq!(status, 422, "{p}");
    let (status, p) = upload(
        &app,
        vitrine_origin::catalog::demo::render_image(1).unwrap(),
        &[("limit", "500")],
    )
    .await;
    assert_eq!(status, 422, "{p}");
    let (status, p) = upload(
        &app,
        vitrine_origin::catalog::demo::render_image(1).unwrap(),
        &[("colour", "red")],
    )
    .await;
    assert_eq!(status, 400, "{p}");
    let form = reqwest::multipart::Form::new().text("limit", "5");
    let r = app
        .client
        .post(app.url("/api/search/image"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = app
        .client
        .post(app.url("/api/search/image"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn descriptors_are_deterministic_and_reindexed_on_version_change() {
    let app = seeded(Backend::Sqlite, 6).await;
    let photo = vitrine_origin::catalog::demo::render_image(3).unwrap();
    let a = app
        .state
        .visual
        .describe_bytes(std::sync::Arc::new(photo.clone()))
        .await
        .unwrap();
    let b = app
        .state
        .visual
        .describe_bytes(std::sync::Arc::new(photo))
        .await
        .unwrap();
    assert_eq!(
        a.vector.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        b.vector.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    // Pretend the stored descriptors were made by an older version: move them to version 0.
    let url = app.database_url.clone();
    let dir = app.stop_keeping_data().await;
    {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("UPDATE image_descriptors SET version = 0")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    // A restart finds no current-version descriptors and re-indexes every product image.
    let app = spawn_on(url, dir, &[]).await;
    app.state.visual.wait_idle().await;
    assert_eq!(app.state.visual.index.len(), 6);
    app.stop().await;
}

/// `(status, x-cache, body)` of one photo search.
async fn upload_with_cache_header(
    app: &crate::helpers::TestApp,
    bytes: Vec<u8>,
    fields: &[(&str, &str)],
) -> (u16, String, serde_json::Value) {
    let mut form = reqwest::multipart::Form::new().part(
        "image",
        reqwest::multipart::Part::bytes(bytes).file_name("photo.jpg"),
    );
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    let r = app
        .client
        .post(app.url("/api/search/image"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let x_cache = r
        .headers()
        .get("x-cache")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (
        status,
        x_cache,
        r.json().await.unwrap_or(serde_json::Value::Null),
    )
}

/// The second identical upload reuses the embedding (namespace `embed`, by content hash and
/// model) and, with `cache_result`, the whole result list; a product write drops the
/// results but not the embedding. The photo is not a catalog photo (those were analysed by
/// their `describe` jobs, through the same cache).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_hit_on_second_identical_upload() {
    use vitrine_common::cache_key::Namespace;
    let app = seeded(Backend::Sqlite, 12).await;
    let photo = vitrine_origin::catalog::demo::render_image(3).unwrap();
    // The catalog photo of DEMO-00003 with one byte appended: decodes the same, another hash.
    let photo = [photo, vec![0]].concat();
    let seeded_embeds = app.state.cache.stats().computations(Namespace::Embed);
    assert_eq!(seeded_embeds, 12, "one analysis per catalog photo");
    let embeds = move |app: &crate::helpers::TestApp| {
        app.state.cache.stats().computations(Namespace::Embed) - seeded_embeds
    };
    let searches =
        |app: &crate::helpers::TestApp| app.state.cache.stats().computations(Namespace::Search);

    let (status, x, first) = upload_with_cache_header(&app, photo.clone(), &[("limit", "4")]).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(x, "MISS");
    assert_eq!((embeds(&app), searches(&app)), (1, 1));

    let (status, x, second) =
        upload_with_cache_header(&app, photo.clone(), &[("limit", "4")]).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(x, "HIT-L1");
    assert_eq!((embeds(&app), searches(&app)), (1, 1), "nothing recomputed");
    assert_eq!(first["results"], second["results"]);
    assert_eq!(second["results"][0]["sku"], "DEMO-00003");

    // Another limit is another result entry, but the same embedding.
    let (_, x, other) = upload_with_cache_header(&app, photo.clone(), &[("limit", "2")]).await;
    assert_eq!(x, "MISS");
    assert_eq!(other["results"].as_array().unwrap().len(), 2);
    assert_eq!((embeds(&app), searches(&app)), (1, 2));

    // cache_result=false: results computed afresh, embedding still reused; and
    // generate_thumbnails=false strips the URLs from a cached entry.
    let (_, x, _) = upload_with_cache_header(
        &app,
        photo.clone(),
        &[("limit", "4"), ("cache_result", "false")],
    )
    .await;
    assert_eq!(x, "BYPASS");
    let (_, x, bare) = upload_with_cache_header(
        &app,
        photo.clone(),
        &[("limit", "4"), ("generate_thumbnails", "false")],
    )
    .await;
    assert_eq!(x, "HIT-L1");
    assert!(bare["results"][0]["thumbnail_url"].is_null(), "{bare}");
    assert_eq!(embeds(&app), 1);

    // A product write bumps the search generation: results recomputed, embedding kept.
    let id = second["results"][1]["id"].as_i64().unwrap();
    let r = app
        .client
        .put(app.url(&format!("/api/products/{id}")))
        .bearer_auth(crate::helpers::API_KEY)
        .json(&crate::helpers::product_json(
            "RENAMED-1",
            "Renamed",
            "Lamps",
            "Lumen",
            1_000,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let (_, x, _) = upload_with_cache_header(&app, photo, &[("limit", "4")]).await;
    assert_eq!(x, "MISS");
    assert_eq!(embeds(&app), 1);
    app.stop().await;
}

/// Found by schemathesis: `similar` answered 503 "retry shortly" for a product that has no
/// photo, or whose `image_id` names no stored image, and it would never stop doing so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn similar_to_a_product_without_a_photo_is_an_empty_list() {
    let app = spawn_app(Backend::Sqlite).await;
    let plain = app
        .create_product(crate::helpers::product_json(
            "NO-PHOTO-1",
            "Plain mug",
            "Mugs",
            "Acme",
            900,
        ))
        .await;
    let mut dangling = crate::helpers::product_json("NO-PHOTO-2", "Lost mug", "Mugs", "Acme", 900);
    dangling["image_id"] = serde_json::json!("ab".repeat(32));
    let dangling = app.create_product(dangling).await;
    for product in [plain, dangling] {
        let id = product["id"].as_i64().unwrap();
        let (status, v) = app
            .get_json(&format!("/api/products/{id}/similar?limit=5"))
            .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["product_id"], id);
        assert_eq!(v["results"], serde_json::json!([]), "{v}");
    }
    app.stop().await;
}

/// Found by schemathesis in CI: `similar` answered 503 for a product whose photo the
/// indexing job had not reached yet. The photo is now described on the spot: the answer is
/// the same as once the job has run, and never depends on the queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn similar_to_a_product_not_indexed_yet_describes_its_photo_on_the_spot() {
    let app = seeded(Backend::Sqlite, 20).await;
    let (status, indexed) = app.get_json("/api/products/3/similar?limit=5").await;
    assert_eq!(status, 200, "{indexed}");
    app.state.visual.index.remove(3);
    assert!(app.state.visual.index.vector_of(3).is_none());
    let (status, v) = app.get_json("/api/products/3/similar?limit=5").await;
    assert_eq!(status, 200, "{v}");
    let ids = |v: &serde_json::Value| -> Vec<i64> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(&v).len(), 5, "{v}");
    assert_eq!(ids(&v), ids(&indexed));
    app.stop().await;
}

/// A product written through instance A reaches instance B's visual index over Redis
/// pub/sub (the periodic sync is an hour away), although B cannot read the original: B
/// picks up the descriptor A stores.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_on_one_instance_reaches_the_other_visual_index() {
    use crate::helpers::spawn_app_with;
    use vitrine_testkit::{test_redis_url, unique_prefix};
    let redis = test_redis_url();
    let prefix = unique_prefix();
    let extra = [
        ("REDIS_URL", redis.as_str()),
        ("CACHE_KEY_PREFIX", prefix.as_str()),
        ("QUEUE_PREFIX", prefix.trim_end_matches(':')),
        ("CACHE_REDIS_TIMEOUT", "500ms"),
        ("SEARCH_SYNC_INTERVAL", "1h"),
    ];
    let a = spawn_app_with(Backend::Sqlite, &extra).await;
    let b = spawn_on(a.database_url.clone(), tempfile::tempdir().unwrap(), &extra).await;
    assert_eq!(b.state.visual.index.len(), 0);

    let photo = vitrine_origin::catalog::demo::render_image(5).unwrap();
    let created = product_with_photo(&a, &a, "VIS-1", photo.clone()).await;

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while b.state.visual.index.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "instance B never indexed the product written on A"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (status, v) = upload(&b, photo, &[("limit", "1")]).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["results"][0]["id"], created["id"]);
    a.stop().await;
    b.stop().await;
}

/// Stores `photo` through `app` as a batch item is stored (an HTTP upload would analyse it
/// on the spot, leaving the job nothing to compute) and creates a product showing it;
/// returns the product.
async fn product_with_photo(
    via_upload: &crate::helpers::TestApp,
    via_write: &crate::helpers::TestApp,
    sku: &str,
    photo: Vec<u8>,
) -> serde_json::Value {
    let (image, created) = via_upload.state.thumbs.ingest_checked(photo).await.unwrap();
    assert!(created);
    let mut product = crate::helpers::product_json(sku, "Desk Lamp", "Lamps", "Lumen", 4_900);
    product["image_id"] = serde_json::json!(image.id);
    via_write.create_product(product).await
}

/// Descriptors are `describe` jobs on the job queue: with no workers the product waits on the
/// queue, unindexed; a worker started later runs the job and the product is indexed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn product_descriptors_are_jobs_on_the_queue() {
    use std::sync::atomic::Ordering::Relaxed;
    let app = crate::helpers::spawn_app_with(Backend::Sqlite, &[("ASYNC_WORKERS", "0")]).await;
    let photo = vitrine_origin::catalog::demo::render_image(2).unwrap();
    let created = product_with_photo(&app, &app, "JOB-1", photo).await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(app.state.visual.pending(), 1);
    assert_eq!(app.state.jobs.queue.queued().await.unwrap(), 1);
    assert!(app.state.visual.index.vector_of(id).is_none());

    let workers = vitrine_origin::startup::start_workers_n(&app.state, 1);
    app.state.visual.wait_idle().await;
    assert!(app.state.visual.index.vector_of(id).is_some());
    assert_eq!(app.state.jobs.queue.queued().await.unwrap(), 0);
    assert_eq!(app.state.jobs.stats.items_succeeded.load(Relaxed), 1);
    let (_, metrics) = {
        let r = app.get("/api/metrics").await;
        (r.status(), r.text().await.unwrap())
    };
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("jobs_completed_total") && !l.ends_with(" 0")),
        "{metrics}"
    );
    workers.shutdown(std::time::Duration::from_secs(5)).await;
    app.stop().await;
}

/// Two instances on one Redis: A runs no workers, so the descriptor job of a product written
/// on A runs on B (which holds the original). A indexes the product when B announces the
/// descriptor, long before its periodic sync (an hour away).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_descriptor_job_run_by_another_instance_reaches_this_index() {
    use std::sync::atomic::Ordering::Relaxed;
    let redis = vitrine_testkit::test_redis_url();
    let prefix = vitrine_testkit::unique_prefix();
    let common = [
        ("REDIS_URL", redis.as_str()),
        ("CACHE_KEY_PREFIX", prefix.as_str()),
        ("CACHE_REDIS_TIMEOUT", "500ms"),
        ("SEARCH_SYNC_INTERVAL", "1h"),
    ];
    let with = |workers: &'static str| {
        let mut v = common.to_vec();
        v.push(("ASYNC_WORKERS", workers));
        v
    };
    let a = crate::helpers::spawn_app_with(Backend::Sqlite, &with("0")).await;
    let b = spawn_on(
        a.database_url.clone(),
        tempfile::tempdir().unwrap(),
        &with("2"),
    )
    .await;
    let photo = vitrine_origin::catalog::demo::render_image(9).unwrap();
    let created = product_with_photo(&b, &a, "JOB-2", photo.clone()).await;
    let id = created["id"].as_i64().unwrap();

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while a.state.visual.index.vector_of(id).is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "instance A never indexed the product whose descriptor B computed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    a.state.visual.wait_idle().await;
    assert_eq!(a.state.jobs.stats.items_succeeded.load(Relaxed), 0);
    assert!(b.state.jobs.stats.items_succeeded.load(Relaxed) >= 1);
    let (status, v) = upload(&a, photo, &[("limit", "1")]).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["results"][0]["id"], created["id"]);
    a.stop().await;
    b.stop().await;
}

/// Past `VISUAL_EXACT_THRESHOLD` the index compacts (PCA codes in k-means lists): catalog
/// photos still find their product first, filters still fill the page, and "similar
/// products" still leave the product itself out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compact_index_keeps_results_and_filters() {
    let app =
        crate::helpers::spawn_app_with(Backend::Sqlite, &[("VISUAL_EXACT_THRESHOLD", "10")]).await;
    vitrine_origin::catalog::demo::seed(&app.state.catalog, &app.state.thumbs, 60, false)
        .await
        .unwrap();
    app.state.visual.wait_idle().await;
    // Past the threshold builds start by themselves; this one (after any running one)
    // refits on all 60.
    loop {
        let index = app.state.visual.index.clone();
        if tokio::task::spawn_blocking(move || index.build_ann_blocking())
            .await
            .unwrap()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(app.state.visual.index.has_ann());
    assert_eq!(app.state.visual.index.len(), 60);
    for i in [0usize, 17, 42] {
        let photo = vitrine_origin::catalog::demo::render_image(i).unwrap();
        let (status, v) = upload(&app, photo, &[("limit", "5")]).await;
        assert_eq!(status, 200, "{v}");
        let results = v["results"].as_array().unwrap();
        assert_eq!(results.len(), 5);
        assert_eq!(results[0]["sku"], format!("DEMO-{i:05}"), "{v}");
        assert_eq!(results[0]["duplicate"], true);
    }
    let photo = vitrine_origin::catalog::demo::render_image(0).unwrap();
    // Six mugs among 60 products: all six, and only mugs.
    let (_, v) = upload(
        &app,
        photo.clone(),
        &[("limit", "20"), ("category", "Mugs")],
    )
    .await;
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 6, "{v}");
    assert!(results.iter().all(|r| r["category"] == "Mugs"));
    // A wide price filter goes through the list walk and still fills the page.
    let (_, v) = upload(&app, photo, &[("limit", "30"), ("price_max", "20000")]).await;
    let results = v["results"].as_array().unwrap();
    let cheap = (0..60)
        .filter(|&i| {
            vitrine_origin::catalog::demo::product(i)
                .unwrap()
                .price
                .minor_units()
                <= 20_000
        })
        .count();
    assert_eq!(results.len(), cheap.min(30), "{v}");
    assert!(
        results
            .iter()
            .all(|r| r["price"].as_i64().unwrap() <= 20_000)
    );
    let (status, v) = app.get_json("/api/products/1/similar?limit=5").await;
    assert_eq!(status, 200, "{v}");
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    assert!(results.iter().all(|r| r["id"] != 1));
    app.stop().await;
}
