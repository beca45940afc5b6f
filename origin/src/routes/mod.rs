//! The router: every route, and the middleware stack around it.
//!
//! Order of the layers (outermost first): compression (negotiation, then the encoders) →
//! request id → request span, log, stats and metrics → rate limit → panic catcher →
//! timeout → body limit → handler. The request id is assigned first so every log line and
//! error carries it; the panic catcher sits inside the recorder so a panicking handler is
//! logged and counted as the 500 it answers; a limited request is refused before any work.

pub mod cache;
pub mod health;
pub mod images;
pub mod jobs;
pub mod metrics;
pub mod products;
pub mod search;
pub mod storefront;
pub mod visual;

use std::time::Instant;

use axum::{
    Router,
    error_handling::HandleErrorLayer,
    extract::{DefaultBodyLimit, MatchedPath, Request, State},
    http::{HeaderValue, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{MethodRouter, get, post},
};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tracing::Instrument;

use crate::{config::Settings, error::ApiError, state::AppState};

pub const REQUEST_ID: &str = "x-request-id";

/// Every route of the API: `(path template, handlers)`. The router is built from this list
/// and the OpenAPI test walks it, so a route added here without documentation fails a test.
pub fn routes(settings: &Settings) -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/", get(storefront::index)),
        ("/assets/{name}", get(storefront::asset)),
        ("/api/products", get(products::list).post(products::create)),
        (
            "/api/products/bulk",
            post(products::bulk).layer(DefaultBodyLimit::max(settings.bulk_max_bytes)),
        ),
        (
            "/api/products/{id}",
            get(products::get)
                .put(products::update)
                .delete(products::delete),
        ),
        ("/api/search/text", get(search::get).post(search::post)),
        (
            "/api/search/image",
            post(visual::search_image)
                .layer(DefaultBodyLimit::max(settings.image_search_max_bytes)),
        ),
        ("/api/products/{id}/similar", get(visual::similar)),
        (
            "/api/images",
            post(images::upload).layer(DefaultBodyLimit::max(
                settings.image_max_bytes + images::MULTIPART_SLACK,
            )),
        ),
        ("/api/images/{id}", get(images::original)),
        (
            "/api/images/batch",
            post(jobs::submit).layer(DefaultBodyLimit::max(settings.batch_max_bytes)),
        ),
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
        ("/api/openapi.json", get(crate::openapi::serve)),
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
        .layer(DefaultBodyLimit::max(settings.max_body_bytes));

    let timeout = settings.request_timeout;
    let app = api.layer(
        ServiceBuilder::new()
            .layer(middleware::from_fn(request_id))
            .layer(middleware::from_fn_with_state(state.clone(), record))
            .layer(middleware::from_fn_with_state(
                state.clone(),
                crate::rate_limit::middleware,
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
    crate::compression::apply(app.with_state(state.clone()), &state)
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

/// Accepts a client's request id when it is short and plain, else makes one (UUIDv7, so ids
/// sort by time), and echoes it on the response.
async fn request_id(mut req: Request, next: Next) -> Response {
    let incoming = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        })
        .map(str::to_owned);
    let id = incoming.unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let value = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    req.headers_mut().insert(REQUEST_ID, value.clone());
    let mut response = next.run(req).await;
    response.headers_mut().insert(REQUEST_ID, value);
    response
}

/// Runs the request inside a `request` span (method, raw path, request id: every line a
/// handler logs carries them) and logs one line per request with request id, route
/// template, status and latency; feeds the counters, and (unless `MONITORING_ENABLED=false`)
/// the Prometheus metrics and the `/api/performance` windows. The route is the template
/// (`MatchedPath`), never the raw path, so ids in URLs cannot multiply log fields' values or
/// metric series.
///
/// The span is made here rather than by tower-http's `TraceLayer`: that one also enters the
/// span on every poll of the response body and logs 5xx responses a second time.
async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let request_id = req.headers().get(REQUEST_ID).cloned();
    let request_id = request_id
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let method = req.method().clone();
    let span = tracing::info_span!(
        "request",
        method = method.as_str(),
        path = req.uri().path(),
        request_id
    );
    let response = next.run(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = response.status();
    state
        .stats
        .record(status.as_u16(), elapsed.as_micros() as u64);
    let route = matched.as_ref().map(MatchedPath::as_str);
    state
        .metrics
        .record_request(&method, route, status, elapsed);
    let route = route.unwrap_or(crate::metrics::UNMATCHED_ENDPOINT);
    let status = status.as_u16();
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    let _entered = span.enter();
    let method = method.as_str();
    // `tracing` needs the level at compile time: one invocation per level.
    macro_rules! finished {
        ($level:expr) => {
            tracing::event!(
                $level,
                method,
                route,
                status,
                latency_ms,
                request_id,
                "request finished"
            )
        };
    }
    if status >= 500 {
        finished!(tracing::Level::ERROR);
    } else {
        finished!(tracing::Level::INFO);
    }
    response
}
