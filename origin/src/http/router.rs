//! The router: every route, and the middleware stack around it.
//!
//! Order of the layers (outermost first): compression (negotiation, then the encoders) →
//! request id → request span, log, stats and metrics → rate limit → panic catcher →
//! timeout → body limit → handler. The request id is assigned first so every log line and
//! error carries it; the panic catcher sits inside the recorder so a panicking handler is
//! logged and counted as the 500 it answers; a limited request is refused before any work.

use axum::{
    Router,
    error_handling::HandleErrorLayer,
    extract::{DefaultBodyLimit, Request},
    http::StatusCode,
    middleware,
    response::{IntoResponse, Response},
    routing::{MethodRouter, delete, get, post},
};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;

use super::{
    ApiError, AppState,
    handlers::{
        admin, cache, health, images, job_admin, jobs, metrics, products, schedules, search,
        session, storefront, synonyms, visual,
    },
    middleware::{compression, rate_limit, record::record, request_id::request_id},
};
use crate::config::Settings;

/// Every route of the API: `(path template, handlers)`. The router is built from this list
/// and the OpenAPI test walks it, so a route added here without documentation fails a test.
pub fn routes(settings: &Settings) -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/", get(storefront::index)),
        ("/assets/{name}", get(storefront::asset)),
        ("/admin", get(admin::index)),
        ("/admin/assets/{name}", get(admin::asset)),
        ("/api/auth/check", get(session::check)),
        ("/api/products", get(products::list).post(products::create)),
        (
            "/api/products/bulk",
            post(products::bulk).layer(DefaultBodyLimit::max(settings.catalog.bulk_max_bytes)),
        ),
        (
            "/api/products/{id}",
            get(products::get)
                .put(products::update)
                .delete(products::delete),
        ),
        ("/api/search/text", get(search::get).post(search::post)),
        (
            "/api/search/synonyms",
            get(synonyms::get).put(synonyms::put),
        ),
        (
            "/api/search/image",
            post(visual::search_image)
                .layer(DefaultBodyLimit::max(settings.search.image_max_bytes)),
        ),
        ("/api/products/{id}/similar", get(visual::similar)),
        (
            "/api/images",
            post(images::upload).layer(DefaultBodyLimit::max(
                settings.images.max_bytes + images::MULTIPART_SLACK,
            )),
        ),
        ("/api/images/{id}", get(images::original)),
        (
            "/api/images/batch",
            post(jobs::submit).layer(DefaultBodyLimit::max(settings.images.batch_max_bytes)),
        ),
        ("/api/jobs/schedules", get(schedules::list)),
        ("/api/jobs", get(job_admin::list)),
        (
            "/api/jobs/dead",
            get(job_admin::dead).delete(job_admin::discard_many),
        ),
        ("/api/jobs/dead/retry", post(job_admin::retry_many)),
        ("/api/jobs/dead/{id}", delete(job_admin::discard_one)),
        ("/api/jobs/dead/{id}/retry", post(job_admin::retry_one)),
        ("/api/jobs/{id}", get(jobs::status).delete(jobs::cancel)),
        ("/api/jobs/{id}/result", get(jobs::result)),
        ("/img/{*path}", get(images::thumbnail)),
        ("/api/cache/invalidate", post(cache::invalidate)),
        ("/api/health", get(health::health)),
        ("/api/health/detailed", get(health::detailed)),
        ("/api/health/cache", get(health::cache_health)),
        ("/api/health/database", get(health::database_health)),
        ("/api/health/performance", get(health::performance_health)),
        ("/api/health/live", get(health::live)),
        ("/api/health/ready", get(health::ready)),
        ("/api/status", get(health::status)),
        ("/api/metrics", get(metrics::prometheus)),
        ("/api/performance", get(metrics::performance)),
        ("/api/openapi.json", get(super::openapi::serve)),
    ]
}

pub fn router(state: AppState) -> Router {
    let settings = state.settings.clone();
    let api = routes(&settings)
        .into_iter()
        .fold(Router::new(), |router, (path, handlers)| {
            router.route(path, handlers)
        })
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(settings.server.max_body_bytes));

    let timeout = settings.server.request_timeout;
    let app = api.layer(
        ServiceBuilder::new()
            .layer(middleware::from_fn(request_id))
            .layer(middleware::from_fn_with_state(state.clone(), record))
            .layer(middleware::from_fn_with_state(
                state.clone(),
                rate_limit::middleware,
            ))
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(HandleErrorLayer::new(
                move |_: tower::BoxError| async move {
                    ApiError::Timeout(format!(
                        "the request took longer than {} s and was abandoned",
                        timeout.as_secs_f64()
                    ))
                },
            ))
            .timeout(timeout),
    );
    // Compression wraps everything, errors included.
    compression::apply(app.with_state(state.clone()), &state)
}

async fn not_found(req: Request) -> ApiError {
    ApiError::NotFound(format!(
        "no route for {} {}",
        req.method(),
        req.uri().path()
    ))
}

async fn method_not_allowed(req: Request) -> Response {
    let mut r = ApiError::BadRequest(format!(
        "{} is not allowed on {}",
        req.method(),
        req.uri().path()
    ))
    .into_response();
    *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    r
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response()
}
