//! Bad input gets a clear 4xx problem document, never a 500.

use crate::helpers::{API_KEY, Backend, spawn_app, spawn_app_with};

async fn send(
    app: &crate::helpers::TestApp,
    method: reqwest::Method,
    path: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> (u16, String, serde_json::Value) {
    let r = app
        .client
        .request(method, app.url(path))
        .bearer_auth(API_KEY)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        status,
        ct,
        r.json().await.unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_invalid_bodies_are_named() {
    let app = spawn_app(Backend::Sqlite).await;
    let post = reqwest::Method::POST;
    let json = "application/json";
    let cases: Vec<(&str, u16, &str)> = vec![
        ("{not json", 400, ""),
        (
            r#"{"sku":"A","title":"T","brand":"B","category":"C","price":-5}"#,
            422,
            "price",
        ),
        (
            r#"{"sku":"A","title":"T","brand":"B","category":"C","price":5,"colour":"red"}"#,
            422,
            "colour",
        ),
        (
            r#"{"sku":"A","title":"T","brand":"B","category":"C"}"#,
            422,
            "price",
        ),
        (
            r#"{"sku":"has space","title":"T","brand":"B","category":"C","price":5}"#,
            422,
            "sku",
        ),
        (
            r#"{"sku":"A","title":"T","brand":"B","category":"C","price":5,"currency":"euro"}"#,
            422,
            "currency",
        ),
        (
            r#"{"sku":"A","title":"T","brand":"B","category":"C","price":"five"}"#,
            422,
            "price",
        ),
        (
            r#"{"sku":"A","title":"","brand":"B","category":"C","price":5}"#,
            422,
            "title",
        ),
        (r#"[1,2,3]"#, 422, ""),
    ];
    for (body, status, mention) in cases {
        let (got, ct, problem) = send(&app, post.clone(), "/api/products", json, body).await;
        assert_eq!(got, status, "{body} → {problem}");
        assert_eq!(ct, "application/problem+json", "{body}");
        assert_eq!(problem["status"], status);
        assert!(
            problem["detail"].as_str().unwrap().contains(mention),
            "{body} → {problem}"
        );
    }
    let (got, _, _) = send(&app, post.clone(), "/api/products", "text/plain", "{}").await;
    assert_eq!(got, 415);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_bodies_are_refused() {
    let app = spawn_app_with(
        Backend::Sqlite,
        &[
            ("MAX_BODY_BYTES", "4096"),
            ("BULK_MAX_BYTES", "8192"),
            ("BULK_MAX_ITEMS", "3"),
        ],
    )
    .await;
    let big = format!(
        r#"{{"sku":"A","title":"T","brand":"B","category":"C","price":5,"description":"{}"}}"#,
        "x".repeat(10_000)
    );
    let (status, ct, problem) = send(
        &app,
        reqwest::Method::POST,
        "/api/products",
        "application/json",
        big,
    )
    .await;
    assert_eq!(status, 413, "{problem}");
    assert_eq!(ct, "application/problem+json");
    let line = r#"{"sku":"A","title":"T","brand":"B","category":"C","price":5}"#;
    let four = format!("{line}\n{line}\n{line}\n{line}\n");
    let (status, _, problem) = send(
        &app,
        reqwest::Method::POST,
        "/api/products/bulk",
        "application/x-ndjson",
        four,
    )
    .await;
    assert_eq!(status, 413, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("at most 3"));
    let (status, _, _) = send(
        &app,
        reqwest::Method::POST,
        "/api/products/bulk",
        "application/x-ndjson",
        "x".repeat(9000),
    )
    .await;
    assert_eq!(status, 413);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_methods_and_ids() {
    let app = spawn_app(Backend::Sqlite).await;
    let (status, p) = app.get_json("/api/nope").await;
    assert_eq!(status, 404);
    assert!(p["detail"].as_str().unwrap().contains("/api/nope"));
    for path in [
        "/api/products/abc",
        "/api/products/-1",
        "/api/products/99999999999999999999999",
    ] {
        let (status, p) = app.get_json(path).await;
        assert_eq!(status, 400, "{path} {p}");
    }
    let (status, _) = app.get_json("/api/products/424242").await;
    assert_eq!(status, 404);
    let r = app
        .client
        .patch(app.url("/api/products"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let (status, p) = app
        .get_json(&format!("/api/search/text?q={}", "a".repeat(300)))
        .await;
    assert_eq!(status, 400, "{p}");
    let (status, _) = app
        .get_json("/api/search/text?q=a&price_min=10&price_max=5")
        .await;
    assert_eq!(status, 422);
    let (status, _) = app.get_json("/api/search/text?q=a&bogus=1").await;
    assert_eq!(status, 400);
    // An image id is an object key: anything but a content hash is a 400.
    let (status, _) = app.get_json("/api/images/not-a-hash").await;
    assert_eq!(status, 400);
    app.stop().await;
}
