//! `GET /api/metrics` (Prometheus text format, for the scraper) and `GET /api/performance`
//! (the same story as JSON for a human with `curl`: percentiles per endpoint over the last
//! five minutes, cache, pool, jobs, compression and the in-process alert rules).

use axum::{
    Json,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};

use crate::{
    http::AppState,
    http::error::ApiError,
    observability::metrics::{self, performance},
};

/// Brings the values that are read rather than pushed up to date before metrics are read:
/// the queue's depth, the L1 hits counted on the hot path and the visual re-index.
pub(crate) async fn collect(state: &AppState) {
    state.cache.stats().report_l1_hits();
    let reindex = state.visual.reindex_progress();
    state
        .metrics
        .visual_reindex(reindex.queued(), reindex.done());
    state.jobs.refresh_queued().await;
}

/// The scrape endpoint; a 404 problem when `PROMETHEUS_ENABLED=false`, so a disabled
/// instance looks like one that has no metrics rather than one that is broken.
#[utoipa::path(get, path = "/api/metrics", tag = "health",
    responses((status = 200, description = "Prometheus text format 0.0.4", body = String,
        content_type = "text/plain; version=0.0.4"),
        (status = 404, description = "`PROMETHEUS_ENABLED=false`")))]
pub async fn prometheus(State(state): State<AppState>) -> Result<Response, ApiError> {
    if !state.settings.observability.prometheus_enabled {
        return Err(ApiError::NotFound(
            "metrics are disabled on this instance (PROMETHEUS_ENABLED=false)".into(),
        ));
    }
    collect(&state).await;
    let body = state
        .metrics
        .render(state.db.pool_stats())
        .map_err(ApiError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, metrics::TEXT_FORMAT),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}

/// The full performance report.
#[utoipa::path(get, path = "/api/performance", tag = "health",
    responses((status = 200, description = "Percentiles per endpoint, cache, pool, jobs, alerts", body = Object)))]
pub async fn performance(State(state): State<AppState>) -> impl IntoResponse {
    collect(&state).await;
    let report = performance::report(&state.metrics.snapshot(state.db.pool_stats()));
    ([(header::CACHE_CONTROL, "no-store")], Json(report))
}
