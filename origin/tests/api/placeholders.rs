//! Image placeholders: computed at upload (ThumbHash + dominant colour), carried by the
//! image's metadata and every product response, and filled in by the background pass for
//! images stored before placeholders existed.

use base64::Engine as _;
use vitrine_origin::{db::Pool, images::backfill};

use crate::helpers::{Backend, TestApp, spawn_app};
use crate::images::upload;
use crate::on_both_backends;

const RED: [u8; 3] = [200, 30, 60];

/// A `w × h` PNG in one colour.
fn solid_png(w: u32, h: u32, rgb: [u8; 3]) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb(rgb));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A product shot: a `rgb` square over the middle half of each side of a white 400 × 400
/// JPEG.
fn on_white_jpeg(rgb: [u8; 3]) -> Vec<u8> {
    let img = image::RgbImage::from_fn(400, 400, |x, y| {
        let inside = (100..300).contains(&x) && (100..300).contains(&y);
        image::Rgb(if inside { rgb } else { [255, 255, 255] })
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode(&img, 400, 400, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

fn hex(rgb: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2])
}

fn rgb_of(color: &str) -> [u8; 3] {
    assert!(
        color.len() == 7 && color.starts_with('#'),
        "not #rrggbb: {color}"
    );
    [1, 3, 5].map(|i| u8::from_str_radix(&color[i..i + 2], 16).unwrap())
}

/// Checks a placeholder object: the ThumbHash is base64 that decodes, with an aspect ratio
/// within 15 % of `w / h` (ThumbHash keeps it as 7 : n), and returns its colour.
fn check_placeholder(p: &serde_json::Value, w: u32, h: u32) -> [u8; 3] {
    let b64 = p["thumbhash"].as_str().unwrap_or_else(|| panic!("{p}"));
    let hash = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap_or_else(|e| panic!("{b64}: {e}"));
    let (tw, th, rgba) = thumbhash::thumb_hash_to_rgba(&hash).unwrap();
    assert_eq!(rgba.len(), tw * th * 4);
    let ratio = thumbhash::thumb_hash_to_approximate_aspect_ratio(&hash).unwrap();
    let want = w as f32 / h as f32;
    assert!(
        (ratio / want - 1.0).abs() < 0.15,
        "aspect {ratio} for a {w}×{h} image"
    );
    rgb_of(p["color"].as_str().unwrap())
}

async fn product_with(app: &TestApp, sku: &str, image_id: &str) -> i64 {
    let p = app
        .create_product(serde_json::json!({
            "sku": sku, "title": format!("Placeholder {sku}"), "brand": "Acme",
            "category": "Mugs", "price": 1200, "image_id": image_id,
        }))
        .await;
    p["id"].as_i64().unwrap()
}

async fn metadata(app: &TestApp, id: &str) -> serde_json::Value {
    let r = app
        .client
        .get(app.url(&format!("/api/images/{id}")))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn upload_carries_a_placeholder_to_metadata_and_products(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, up) = upload(&app, solid_png(300, 200, RED)).await;
    assert_eq!(status, 201, "{up}");
    let id = up["id"].as_str().unwrap().to_owned();
    assert_eq!(check_placeholder(&up["placeholder"], 300, 200), RED);
    let placeholder = up["placeholder"].clone();
    assert_eq!(placeholder["color"], hex(RED));

    let meta = metadata(&app, &id).await;
    assert_eq!(meta["placeholder"], placeholder, "{meta}");

    // Every response that returns the product carries it in `images`.
    let created = app
        .create_product(serde_json::json!({
            "sku": "PH-1", "title": "Crimson placeholder mug", "brand": "Acme",
            "category": "Mugs", "price": 1200, "image_id": id,
        }))
        .await;
    assert_eq!(created["images"]["placeholder"], placeholder, "{created}");
    let pid = created["id"].as_i64().unwrap();
    let (_, one) = app.get_json(&format!("/api/products/{pid}")).await;
    assert_eq!(one["images"]["placeholder"], placeholder, "{one}");
    let (_, page) = app.get_json("/api/products?limit=10").await;
    assert_eq!(page["products"][0]["images"]["placeholder"], placeholder);
    let (_, found) = app.get_json("/api/search/text?q=crimson").await;
    assert_eq!(found["results"][0]["id"], pid, "{found}");
    assert_eq!(found["results"][0]["images"]["placeholder"], placeholder);

    // A product shot on white takes the product's colour, not the white's (JPEG noise aside).
    let (_, shot) = upload(&app, on_white_jpeg([20, 90, 200])).await;
    let colour = check_placeholder(&shot["placeholder"], 400, 400);
    for (got, want) in colour.iter().zip([20u8, 90, 200]) {
        assert!(got.abs_diff(want) <= 8, "{colour:?}");
    }
    app.stop().await;
}

/// Empties an image's placeholder columns, as in a database from before they existed.
async fn forget_placeholder(app: &TestApp, id: &str) {
    let sql =
        "UPDATE images SET placeholder_thumbhash = NULL, placeholder_color = NULL WHERE id = $1";
    match &app.state.db.pool {
        Pool::Postgres(p) => {
            sqlx::query(sql).bind(id).execute(p).await.unwrap();
        }
        Pool::Sqlite(p) => {
            sqlx::query(sql).bind(id).execute(p).await.unwrap();
        }
    }
}

async fn images_stored_before_placeholders_serve_and_are_backfilled(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, up) = upload(&app, solid_png(120, 240, RED)).await;
    let id = up["id"].as_str().unwrap().to_owned();
    let expected = up["placeholder"].clone();
    let pid = product_with(&app, "PH-OLD", &id).await;
    forget_placeholder(&app, &id).await;
    app.state.cache.invalidate_products(&[pid]).await;

    // The product still serves, without a placeholder, and its response is cached so.
    let r = app.get(&format!("/api/products/{pid}")).await;
    assert_eq!(r.status(), 200);
    let old: serde_json::Value = r.json().await.unwrap();
    assert!(
        old["images"]["srcset"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
    );
    assert!(old["images"].get("placeholder").is_none(), "{old}");
    let r = app.get(&format!("/api/products/{pid}")).await;
    assert_eq!(r.headers()["x-cache"], "HIT-L1");
    assert!(metadata(&app, &id).await["placeholder"].is_null());

    // A row whose original is not an image: marked once, not retried.
    let junk = app
        .state
        .images
        .stage(b"not an image at all".to_vec())
        .await
        .unwrap();
    let sql = "INSERT INTO images (id, width, height, format, bytes, created_at) VALUES ($1, 10, 10, 'png', 19, $2)";
    let now = chrono::Utc::now();
    match &app.state.db.pool {
        Pool::Postgres(p) => {
            sqlx::query(sql)
                .bind(&junk)
                .bind(now)
                .execute(p)
                .await
                .unwrap();
        }
        Pool::Sqlite(p) => {
            sqlx::query(sql)
                .bind(&junk)
                .bind(now)
                .execute(p)
                .await
                .unwrap();
        }
    }

    let report = backfill::run_pass(&app.state.thumbs, &app.state.cache)
        .await
        .unwrap();
    assert_eq!(
        (
            report.filled,
            report.unreadable,
            report.missing,
            report.products
        ),
        (1, 1, 0, 1),
        "{report:?}"
    );
    // The same placeholder as at upload, and the cached product response was dropped.
    assert_eq!(metadata(&app, &id).await["placeholder"], expected);
    let r = app.get(&format!("/api/products/{pid}")).await;
    assert_eq!(r.headers()["x-cache"], "MISS");
    let new: serde_json::Value = r.json().await.unwrap();
    assert_eq!(new["images"]["placeholder"], expected, "{new}");
    assert!(metadata(&app, &junk).await["placeholder"].is_null());

    // Nothing is left to do: the unreadable row is not tried again.
    let again = backfill::run_pass(&app.state.thumbs, &app.state.cache)
        .await
        .unwrap();
    assert_eq!(again, backfill::PassReport::default());

    // Uploading known bytes whose row lost its placeholder fills it in (200, same id).
    forget_placeholder(&app, &id).await;
    let (status, re) = upload(&app, solid_png(120, 240, RED)).await;
    assert_eq!(status, 200, "{re}");
    assert_eq!(re["placeholder"], expected);
    assert_eq!(metadata(&app, &id).await["placeholder"], expected);
    app.stop().await;
}

on_both_backends!(
    upload_carries_a_placeholder_to_metadata_and_products,
    images_stored_before_placeholders_serve_and_are_backfilled,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_items_and_the_demo_catalog_get_placeholders() {
    let app = spawn_app(Backend::Sqlite).await;
    vitrine_origin::catalog::demo::seed(&app.state.catalog, &app.state.thumbs, 2, false)
        .await
        .unwrap();
    let (_, page) = app.get_json("/api/products?limit=2").await;
    for p in page["products"].as_array().unwrap() {
        check_placeholder(&p["images"]["placeholder"], 1, 1);
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(solid_png(64, 64, RED));
    let (status, job) = app
        .post_json(
            "/api/images/batch",
            &serde_json::json!({ "images": [b64], "generate_thumbnails": false }),
        )
        .await;
    assert_eq!(status, 202, "{job}");
    let job_id = job["job_id"].as_str().unwrap().to_owned();
    let job = loop {
        let (status, j) = app.get_json_auth(&format!("/api/jobs/{job_id}")).await;
        assert_eq!(status, 200, "{j}");
        if j["state"] != "queued" && j["state"] != "running" {
            break j;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(job["state"], "completed", "{job}");
    let item = &job["items"][0]["result"];
    assert_eq!(
        check_placeholder(&item["placeholder"], 64, 64),
        RED,
        "{job}"
    );
    app.stop().await;
}
