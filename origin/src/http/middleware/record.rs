//! Recording every request: a tracing span with method, path and request id around the
//! handler, then the request counters (`/api/status`), the Prometheus metrics and one log
//! line per finished request (ERROR for a 5xx, INFO otherwise).

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};
use tracing::Instrument;

use super::request_id::REQUEST_ID;
use crate::http::AppState;

/// Runs the request inside a `request` span (method, raw path, request id: every line a
/// handler logs carries them) and logs one line per request with request id, route
/// template, status and latency; feeds the counters, and (unless `MONITORING_ENABLED=false`)
/// the Prometheus metrics and the `/api/performance` windows. The route is the template
/// (`MatchedPath`), never the raw path, so ids in URLs cannot multiply log fields' values or
/// metric series.
///
/// The span is made here rather than by tower-http's `TraceLayer`: that one also enters the
/// span on every poll of the response body and logs 5xx responses a second time.
pub async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
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
    let route = route.unwrap_or(crate::observability::metrics::UNMATCHED_ENDPOINT);
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
