//! The rate-limit middleware: who the client is (a valid API key, else the peer address),
//! which class the route is charged to, and the 429 or the `RateLimit` headers. The limiter
//! itself (GCRA state in Redis or in process) is `crate::rate_limit`.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderValue, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use vitrine_common::rate_limit::{Decision, Quota, RouteClass, policy_header, ratelimit_header};

use crate::http::{ApiError, AppState};

/// Routes that are never limited.
pub fn is_exempt(path: &str) -> bool {
    path == "/api/health"
        || path.starts_with("/api/health/")
        || path == "/api/metrics"
        || path == "/metrics"
}

/// The client identity and whether it is an API key.
fn client_of(state: &AppState, req: &Request) -> (String, bool) {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 256);
    if let Some(key) = bearer
        && state.api_keys.verify(key)
    {
        // Never store or log the key itself.
        let digest = blake3::hash(key.as_bytes()).to_hex();
        return (format!("key:{}", &digest[..16]), true);
    }
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned());
    (format!("ip:{ip}"), false)
}

fn set_headers(response: &mut Response, class: RouteClass, quota: &Quota, d: &Decision) {
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&policy_header(class.as_str(), quota)) {
        h.insert("ratelimit-policy", v);
    }
    if let Ok(v) = HeaderValue::from_str(&ratelimit_header(class.as_str(), d)) {
        h.insert("ratelimit", v);
    }
}

/// The middleware: 429 with `Retry-After` when over the limit; `RateLimit-Policy` and
/// `RateLimit` on every limited route's responses.
pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limiter = state.rate_limiter.clone();
    if !limiter.enabled() || is_exempt(req.uri().path()) {
        return next.run(req).await;
    }
    let class = RouteClass::classify(req.method().as_str(), req.uri().path());
    let (client, is_key) = client_of(&state, &req);
    let quota = limiter.quota(class, is_key);
    let decision = limiter.check(class, &client, &quota).await;
    state.metrics.rate_limit(decision.allowed);
    if !decision.allowed {
        let mut r = ApiError::TooManyRequests {
            retry_after_secs: decision.retry_after_secs().max(1),
        }
        .into_response();
        set_headers(&mut r, class, &quota, &decision);
        return r;
    }
    let mut response = next.run(req).await;
    set_headers(&mut response, class, &quota, &decision);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exemptions() {
        assert!(is_exempt("/api/health"));
        assert!(is_exempt("/api/health/live"));
        assert!(is_exempt("/api/metrics"));
        assert!(!is_exempt("/api/healthz"));
        assert!(!is_exempt("/api/search/text"));
    }
}
