use crate::helpers::{Backend, spawn_app};
use crate::on_both_backends;

on_both_backends!(
    every_health_endpoint_answers,
    ready_fails_when_the_database_is_gone
);

async fn every_health_endpoint_answers(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in [
        "/api/health",
        "/api/health/detailed",
        "/api/health/cache",
        "/api/health/database",
        "/api/health/performance",
        "/api/health/live",
        "/api/health/ready",
        "/api/status",
    ] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(body.is_object(), "{path}");
    }
    let (_, db) = app.get_json("/api/health/database").await;
    assert_eq!(db["status"], "ok");
    assert_eq!(
        db["backend"],
        if backend == Backend::Sqlite {
            "sqlite"
        } else {
            "postgres"
        }
    );
    assert!(db["latency_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(db["pool"]["max"], 5);
    let (_, detailed) = app.get_json("/api/health/detailed").await;
    assert_eq!(detailed["components"]["search"]["status"], "ok");
    app.stop().await;
}

async fn ready_fails_when_the_database_is_gone(backend: Backend) {
    let app = spawn_app(backend).await;
    // Close the pool: every query now fails as if the database went away.
    app.state.db.close().await;
    let (status, body) = app.get_json("/api/health/ready").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["database"], "down");
    let (status, _) = app.get_json("/api/health/live").await;
    assert_eq!(status, 200);
    // Reads that need the database say so with a 503 and Retry-After, not a 500.
    let r = app.get("/api/products/1").await;
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    app.stop().await;
}
