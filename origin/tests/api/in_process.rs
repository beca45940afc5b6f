//! Router tests without a socket (`oneshot`).

use axum::{body::Body, http::Request};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::helpers::{Backend, database_url, test_settings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_generated_echoed_and_sanitised() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(Backend::Sqlite, dir.path()).await;
    let state = vitrine_origin::startup::build_state(test_settings(&url, dir.path(), &[]))
        .await
        .unwrap();
    let app = vitrine_origin::http::router(state);

    let r = app
        .clone()
        .oneshot(
            Request::get("/api/health/live")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let generated = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(generated.len(), 36, "{generated}");

    let r = app
        .clone()
        .oneshot(
            Request::get("/api/health/live")
                .header("x-request-id", "abc-123")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "abc-123");

    let r = app
        .clone()
        .oneshot(
            Request::get("/api/nothing")
                .header("x-request-id", "bad id with spaces")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_ne!(r.headers()["x-request-id"], "bad id with spaces");
    assert_eq!(r.status(), 404);
    let body = r.into_body().collect().await.unwrap().to_bytes();
    let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problem["status"], 404);
    assert_eq!(problem["title"], "Not Found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_catalog_is_searchable_and_has_images() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(Backend::Sqlite, dir.path()).await;
    let state = vitrine_origin::startup::build_state(test_settings(&url, dir.path(), &[]))
        .await
        .unwrap();
    vitrine_origin::catalog::demo::seed(&state.catalog, &state.thumbs, 30, false)
        .await
        .unwrap();
    let app = vitrine_origin::http::router(state);
    let r = app
        .clone()
        .oneshot(
            Request::get("/api/search/text?q=laptop")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let body = r.into_body().collect().await.unwrap().to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    // 3 laptops by title, and backpacks whose description mentions a laptop sleeve, below them.
    let titles: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert!(titles.len() > 3, "{v}");
    assert!(
        titles[..3].iter().all(|t| t.ends_with("Laptop")),
        "{titles:?}"
    );
    assert!(
        titles[3..].iter().all(|t| !t.ends_with("Laptop")),
        "{titles:?}"
    );
    let image_id = v["results"][0]["image_id"].as_str().unwrap().to_owned();
    let r = app
        .clone()
        .oneshot(
            Request::get(format!("/api/images/{image_id}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(blake3::hash(&bytes).to_hex().as_str(), image_id);
}
