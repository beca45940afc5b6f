//! The request id: the caller's `x-request-id` when it is a short token of safe characters,
//! else a fresh UUIDv7; set on the request (for the log span and error bodies) and echoed on
//! the response.

use axum::{extract::Request, http::HeaderValue, middleware::Next, response::Response};

pub const REQUEST_ID: &str = "x-request-id";

/// Accepts a client's request id when it is short and plain, else makes one (UUIDv7, so ids
/// sort by time), and echoes it on the response.
pub async fn request_id(mut req: Request, next: Next) -> Response {
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
