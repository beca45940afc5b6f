//! Health and status endpoints: liveness (the process answers), readiness (it can serve:
//! the database answers), and per-component detail with latencies for operators.

use std::time::{Duration, Instant};

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde_json::{Value, json};

use crate::http::AppState;
use crate::observability::Snapshot;

const READY_TIMEOUT: Duration = Duration::from_secs(2);

async fn database(state: &AppState) -> (bool, Value) {
    let started = Instant::now();
    let ping = tokio::time::timeout(READY_TIMEOUT, state.db.ping()).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let (ok, error) = match ping {
        Ok(Ok(())) => (true, None),
        Ok(Err(e)) => (false, Some(e.to_string())),
        Err(_) => (
            false,
            Some(format!("no answer within {} s", READY_TIMEOUT.as_secs())),
        ),
    };
    if let Some(e) = &error {
        tracing::warn!(error = %e, "database health check failed");
    }
    (
        ok,
        json!({
            "status": if ok { "ok" } else { "down" },
            "backend": state.db.backend(),
            "latency_ms": latency_ms,
            "pool": state.db.pool_stats(),
            "error": error.map(|_| "the database did not answer; see the server log"),
        }),
    )
}

fn search(state: &AppState) -> Value {
    let started = Instant::now();
    let docs = state.search.num_docs();
    json!({
        "status": "ok",
        "documents": docs,
        "indexed_until": state.search.indexed_max_updated_at(),
        "latency_ms": started.elapsed().as_secs_f64() * 1000.0,
        "visual": visual(state),
    })
}

/// Which embedder visual search runs with (`VISUAL_MODEL`), and why not the model when
/// the default one could not be used; how far the re-index for it has come.
fn visual(state: &AppState) -> Value {
    let v = &state.visual;
    let status = v.embedder_status();
    json!({
        "embedder": v.embedder.name(),
        "version": v.embedder.version(),
        "dims": v.embedder.dims(),
        "model_dir": status.and_then(|s| s.model_dir.clone()),
        "weights": status.and_then(|s| s.weights.clone()),
        "warning": status.and_then(|s| s.warning.clone()),
        "model": v.embedder.model_id(),
        "indexed_products": v.index.len(),
        "pending_images": v.pending(),
        "analyses_computed": v.analyses_computed(),
        "reindex": {
            "queued": v.reindex_progress().queued(),
            "done": v.reindex_progress().done(),
            "running": v.reindex_progress().running(),
            "model": v.embedder.model_id(),
        },
    })
}

/// The cache's own report (tiers, breaker, hit rates), plus compression and rate limits.
async fn cache(state: &AppState) -> Value {
    let mut v = state.cache.health().await;
    v["compression"] = state.compression.snapshot();
    v["rate_limit"] = state.rate_limiter.stats.snapshot();
    v
}

/// The short form of `/api/performance`: overall percentiles, cache hit rate, pool usage
/// and the state of the in-process alert rules.
fn performance(state: &AppState) -> Value {
    state.cache.stats().report_l1_hits();
    let report = crate::observability::metrics::performance::report(
        &state.metrics.snapshot(state.db.pool_stats()),
    );
    let mut summary = crate::observability::metrics::performance::summary(&report);
    summary["uptime_s"] = json!(state.started_at.elapsed().as_secs());
    summary
}

fn with_status(ok: bool, body: Value) -> impl IntoResponse {
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

#[utoipa::path(get, path = "/api/health", tag = "health",
    responses((status = 200, description = "Overall health", body = Object), (status = 503, description = "The database does not answer", body = Object, content_type = "application/json")))]
pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let (db_ok, db) = database(&state).await;
    with_status(
        db_ok,
        json!({
            "status": if db_ok { "healthy" } else { "unhealthy" },
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_s": state.started_at.elapsed().as_secs(),
            "checks": { "database": db["status"] },
        }),
    )
}

#[utoipa::path(get, path = "/api/health/detailed", tag = "health",
    responses((status = 200, description = "Every component with latencies", body = Object), (status = 503, description = "The database does not answer", body = Object, content_type = "application/json")))]
pub async fn detailed(State(state): State<AppState>) -> impl IntoResponse {
    let (db_ok, db) = database(&state).await;
    with_status(
        db_ok,
        json!({
            "status": if db_ok { "healthy" } else { "unhealthy" },
            "version": env!("CARGO_PKG_VERSION"),
            "environment": state.settings.server.environment.as_str(),
            "uptime_s": state.started_at.elapsed().as_secs(),
            "memory": crate::observability::memory::report(
                state.settings.observability.memory_budget_bytes
            ),
            "components": {
                "database": db,
                "search": search(&state),
                "cache": cache(&state).await,
                "performance": performance(&state),
            },
        }),
    )
}

#[utoipa::path(get, path = "/api/health/database", tag = "health",
    responses((status = 200, description = "The database: latency and pool", body = Object), (status = 503, description = "The database does not answer", body = Object, content_type = "application/json")))]
pub async fn database_health(State(state): State<AppState>) -> impl IntoResponse {
    let (ok, db) = database(&state).await;
    with_status(ok, db)
}

/// 200 with `"status": "ok"`, or `"degraded"` while Redis is behind an open breaker (the
/// service still answers from L1 and the database, so this is not a 503).
#[utoipa::path(get, path = "/api/health/cache", tag = "health",
    responses((status = 200, description = "The cache tiers, breaker, hit rates, compression and rate limits (`status` is `degraded` while Redis is unreachable)", body = Object)))]
pub async fn cache_health(State(state): State<AppState>) -> impl IntoResponse {
    Json(cache(&state).await)
}

#[utoipa::path(get, path = "/api/health/performance", tag = "health",
    responses((status = 200, description = "The summary of `/api/performance`", body = Object)))]
pub async fn performance_health(State(state): State<AppState>) -> impl IntoResponse {
    super::metrics::collect(&state).await;
    Json(performance(&state))
}

#[utoipa::path(get, path = "/api/health/live", tag = "health",
    responses((status = 200, description = "The process answers", body = Object)))]
pub async fn live() -> impl IntoResponse {
    Json(json!({ "status": "alive" }))
}

#[utoipa::path(get, path = "/api/health/ready", tag = "health",
    responses((status = 200, description = "The instance can serve", body = Object), (status = 503, description = "The database does not answer", body = Object, content_type = "application/json")))]
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let (ok, db) = database(&state).await;
    with_status(
        ok,
        json!({ "status": if ok { "ready" } else { "not ready" }, "database": db["status"] }),
    )
}

#[utoipa::path(get, path = "/api/status", tag = "health",
    responses((status = 200, description = "Service, version, counters", body = Object)))]
pub async fn status(State(state): State<AppState>) -> impl IntoResponse {
    let products = state.db.fingerprint().await.ok().map(|fp| fp.count);
    Json(json!({
        "service": "vitrine-origin",
        "version": env!("CARGO_PKG_VERSION"),
        "environment": state.settings.server.environment.as_str(),
        "uptime_s": state.started_at.elapsed().as_secs(),
        "database": state.db.backend(),
        "products": products,
        "search_documents": state.search.num_docs(),
        "requests": state.stats.snapshot(),
        "images": state.thumbs.snapshot(),
        "jobs": {
            "queue": state.jobs.queue.backend(),
            "workers": state.settings.jobs.workers,
            "counters": state.jobs.stats.snapshot(),
        },
    }))
}
