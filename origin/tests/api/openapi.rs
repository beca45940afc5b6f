//! The OpenAPI document (`GET /api/openapi.json`, assembled in `origin/src/openapi.rs`)
//! describes every route the router serves, and every error as problem+json.
//!
//! The routes come from `http::router::routes`, the list the router is built from, and the methods
//! each path answers are found by asking the router itself (any answer but 405 means the
//! method is routed), so a route or method added without documentation fails here.

use std::collections::BTreeSet;

use axum::{
    body::Body,
    http::{Method, Request, StatusCode},
};
use serde_json::Value;
use tower::ServiceExt;
use vitrine_origin::http::router;

use crate::helpers::{Backend, spawn_app};

const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
];

/// `/img/{*path}` (axum) → `/img/{path}` (OpenAPI).
fn openapi_path(axum_path: &str) -> String {
    axum_path.replace("{*", "{")
}

/// A concrete URL for a template: every parameter replaced by a plausible value.
fn concrete(axum_path: &str) -> String {
    axum_path
        .split('/')
        .map(|segment| match segment {
            s if s.starts_with("{*") => "_/w:10/0000",
            s if s.starts_with('{') => "1",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn fetch_document(app: &crate::helpers::TestApp) -> Value {
    let response = app.get("/api/openapi.json").await;
    assert_eq!(response.status(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).expect("the document is JSON")
}

#[tokio::test]
async fn the_document_covers_every_routed_method() {
    let app = spawn_app(Backend::Sqlite).await;
    let doc = fetch_document(&app).await;
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3."), "not OpenAPI 3: {version:?}");
    let paths = doc["paths"].as_object().expect("paths");

    let router = router::router(app.state.clone());
    let mut routed = BTreeSet::new();
    for (template, _) in router::routes(&app.state.settings) {
        for method in METHODS {
            let request = Request::builder()
                .method(method.clone())
                .uri(concrete(template))
                .body(Body::empty())
                .unwrap();
            let status = router.clone().oneshot(request).await.unwrap().status();
            if status != StatusCode::METHOD_NOT_ALLOWED {
                routed.insert((method.as_str().to_ascii_lowercase(), template));
            }
        }
    }
    assert!(
        routed.len() >= 31,
        "expected every route to answer at least one method, got {routed:?}"
    );

    let mut missing = Vec::new();
    for (method, template) in &routed {
        let path = openapi_path(template);
        if paths
            .get(&path)
            .and_then(|item| item.get(method.as_str()))
            .is_none()
        {
            missing.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    assert!(
        missing.is_empty(),
        "routes without an operation in /api/openapi.json: {missing:?}"
    );

    // And nothing documented that the router does not serve.
    let documented: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flat_map(|ops| ops.keys())
                .filter(|m| ["get", "post", "put", "delete", "patch"].contains(&m.as_str()))
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    let served: BTreeSet<(String, String)> = routed
        .iter()
        .map(|(m, t)| (m.clone(), openapi_path(t)))
        .collect();
    let extra: Vec<_> = documented.difference(&served).collect();
    assert!(extra.is_empty(), "documented but not routed: {extra:?}");
    app.stop().await;
}

#[tokio::test]
async fn every_operation_documents_its_errors_as_problem_json() {
    let app = spawn_app(Backend::Sqlite).await;
    let doc = fetch_document(&app).await;
    let schemes = &doc["components"]["securitySchemes"]["api_key"];
    assert_eq!(schemes["type"], "http", "{schemes}");
    assert_eq!(
        schemes["scheme"].as_str().map(str::to_lowercase).as_deref(),
        Some("bearer")
    );
    let problem = &doc["components"]["schemas"]["Problem"];
    for field in ["type", "title", "status", "detail"] {
        assert!(
            problem["required"]
                .as_array()
                .is_some_and(|r| r.iter().any(|f| f == field)),
            "Problem lacks required {field}: {problem}"
        );
    }

    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if !["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                continue;
            }
            operations += 1;
            let name = format!("{} {path}", method.to_uppercase());
            let responses = op["responses"].as_object().expect("responses");
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{name}: no success response"
            );
            let mut problems = 0;
            for (status, response) in responses {
                if !(status.starts_with('4') || status.starts_with('5')) {
                    continue;
                }
                let content = response["content"].as_object();
                let is_problem = content.is_some_and(|c| {
                    c.get("application/problem+json")
                        .is_some_and(|m| m["schema"]["$ref"] == "#/components/schemas/Problem")
                });
                // The only error with another body: a bulk upsert whose every line failed
                // answers 422 with its per-line summary.
                let documented_json = content.is_some_and(|c| c.contains_key("application/json"));
                assert!(
                    is_problem || documented_json,
                    "{name} {status}: not application/problem+json: {response}"
                );
                problems += usize::from(is_problem);
            }
            for status in ["500", "504"] {
                assert!(responses.contains_key(status), "{name}: no {status}");
            }
            assert!(problems >= 3, "{name}: only {problems} problem responses");
            let secured = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("api_key").is_some()));
            if secured {
                assert!(responses.contains_key("401"), "{name}: secured but no 401");
            }
        }
    }
    assert!(operations >= 31, "only {operations} operations");

    // Writes are the secured operations.
    for (path, method) in [
        ("/api/products", "post"),
        ("/api/products/{id}", "put"),
        ("/api/products/{id}", "delete"),
        ("/api/products/bulk", "post"),
        ("/api/images", "post"),
        ("/api/images/batch", "post"),
        ("/api/jobs/{id}", "get"),
        ("/api/cache/invalidate", "post"),
    ] {
        let security = &doc["paths"][path][method]["security"];
        assert!(
            security
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("api_key").is_some())),
            "{method} {path} is not marked as needing the API key: {security}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn newtypes_carry_their_constraints() {
    let app = spawn_app(Backend::Sqlite).await;
    let doc = fetch_document(&app).await;
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["Limit"]["minimum"], 1, "{}", schemas["Limit"]);
    assert_eq!(schemas["Limit"]["maximum"], 100);
    assert_eq!(schemas["Price"]["minimum"], 0);
    assert_eq!(schemas["Price"]["maximum"], 1_000_000_000_000i64);
    assert_eq!(schemas["Sku"]["maxLength"], 64);
    assert_eq!(schemas["Sku"]["pattern"], "^[A-Za-z0-9._-]+$");
    assert_eq!(schemas["Currency"]["pattern"], "^[A-Z]{3}$");
    assert_eq!(schemas["Category"]["maxLength"], 100);
    // Query parameters too (inlined).
    let params = doc["paths"]["/api/search/text"]["get"]["parameters"]
        .as_array()
        .expect("parameters");
    let limit = params
        .iter()
        .find(|p| p["name"] == "limit")
        .expect("limit parameter");
    assert_eq!(limit["in"], "query");
    assert_eq!(limit["schema"]["maximum"], 100, "{limit}");
    app.stop().await;
}
