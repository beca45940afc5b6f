//! Forwarding to the origin: which headers go, which are added, and the timeout.
//!
//! Why the edge rewrites headers rather than passing the request through: the origin must see
//! who the client was (`x-forwarded-for`), one request id across both logs (`x-request-id`,
//! the client's when it is plain, else a new one), proof that the request came through the
//! edge (the shared-secret header, so the origin can refuse direct traffic), and exactly the
//! one normalised `Accept-Encoding` token the cache variant stands for. Hop-by-hop headers and
//! the client's own `x-edge-secret`/`x-forwarded-for` spoofs are dropped.
//!
//! Fetches set `encodeResponseBody: "manual"`, so a compressed origin body arrives as the
//! compressed bytes and is cached and replayed without decoding.

use crate::cache::Headers;
use crate::config::Settings;

/// Request headers never forwarded: hop-by-hop (RFC 9110 §7.6.1), ones the edge sets itself,
/// and Cloudflare's own.
const DROPPED: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "accept-encoding",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-real-ip",
    "x-request-id",
    Settings::SECRET_HEADER,
];

/// A request id the client may choose: short and plain, as the origin accepts.
pub fn acceptable_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// The headers sent to the origin.
pub fn forward_headers(
    incoming: &[(String, String)],
    client_ip: Option<&str>,
    request_id: &str,
    accept_encoding: &str,
    secret: Option<&str>,
) -> Headers {
    let mut out: Headers = incoming
        .iter()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            !DROPPED.contains(&k.as_str()) && !k.starts_with("cf-")
        })
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    // x-forwarded-for: the chain the client sent (if any) plus the client itself, as every
    // proxy does; the origin trusts only the last hop it knows.
    let prior = incoming
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-forwarded-for"))
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    if let Some(ip) = client_ip {
        let xff = match prior {
            Some(p) => format!("{p}, {ip}"),
            None => ip.to_owned(),
        };
        out.push(("x-forwarded-for".into(), xff));
    }
    out.push(("x-request-id".into(), request_id.to_owned()));
    out.push(("accept-encoding".into(), accept_encoding.to_owned()));
    if let Some(s) = secret {
        out.push((Settings::SECRET_HEADER.into(), s.to_owned()));
    }
    out
}

/// A request to send to the origin.
#[derive(Debug, Clone)]
pub struct OriginRequest {
    pub method: String,
    /// Path and query (`/api/products?limit=5`).
    pub target: String,
    pub headers: Headers,
}

/// A buffered origin response.
#[derive(Debug, Clone)]
pub struct OriginResponse {
    pub status: u16,
    pub headers: Headers,
    pub body: Vec<u8>,
}

#[cfg(target_arch = "wasm32")]
pub use wasm::*;

#[cfg(target_arch = "wasm32")]
mod wasm {
    use futures::FutureExt;
    use futures::future::{Either, select};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    use super::{OriginRequest, OriginResponse};
    use crate::cache::Headers;
    use crate::config::Settings;
    use crate::error::EdgeError;

    fn js_err(e: JsValue) -> EdgeError {
        EdgeError::OriginUnreachable(format!("{e:?}"))
    }

    /// Sends `req` (with an optional body stream) and waits for the response headers, at most
    /// the origin timeout; the fetch is aborted when the timeout wins.
    pub async fn send(
        settings: &Settings,
        req: &OriginRequest,
        body: Option<JsValue>,
    ) -> Result<web_sys::Response, EdgeError> {
        let url = format!("{}{}", settings.origin_url, req.target);
        let headers = web_sys::Headers::new().map_err(js_err)?;
        for (k, v) in &req.headers {
            // A header value the runtime refuses is dropped rather than failing the request.
            let _ = headers.append(k, v);
        }
        let controller = web_sys::AbortController::new().map_err(js_err)?;
        let init = web_sys::RequestInit::new();
        init.set_method(&req.method);
        init.set_headers(&headers);
        init.set_redirect(web_sys::RequestRedirect::Manual);
        init.set_signal(Some(&controller.signal()));
        if let Some(b) = body {
            init.set_body(&b);
        }
        // workerd extension: keep content-coded bodies as the bytes the origin sent.
        let _ = js_sys::Reflect::set(
            &init,
            &JsValue::from_str("encodeResponseBody"),
            &JsValue::from_str("manual"),
        );
        let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
        let promise = global.fetch_with_str_and_init(&url, &init);
        let fetch = JsFuture::from(promise).fuse();
        let timeout = settings.origin_timeout;
        let delay = worker::Delay::from(timeout).fuse();
        futures::pin_mut!(fetch, delay);
        match select(fetch, delay).await {
            Either::Left((Ok(resp), _)) => resp.dyn_into::<web_sys::Response>().map_err(js_err),
            Either::Left((Err(e), _)) => Err(js_err(e)),
            Either::Right(((), _)) => {
                controller.abort();
                Err(EdgeError::OriginTimeout(timeout.as_millis()))
            }
        }
    }

    /// The response's headers as a list.
    pub fn header_list(h: &web_sys::Headers) -> Headers {
        let mut out = Vec::new();
        if let Ok(Some(iter)) = js_sys::try_iter(h) {
            for pair in iter.flatten() {
                let pair: js_sys::Array = pair.unchecked_into();
                if let (Some(k), Some(v)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
                    out.push((k.to_ascii_lowercase(), v));
                }
            }
        }
        out
    }

    /// Sends a body-less request and reads the whole response, all within the timeout.
    pub async fn fetch_buffered(
        settings: &Settings,
        req: &OriginRequest,
    ) -> Result<OriginResponse, EdgeError> {
        let started = worker::Date::now().as_millis();
        let resp = send(settings, req, None).await?;
        let status = resp.status();
        let headers = header_list(&resp.headers());
        let body = match resp.array_buffer() {
            Ok(p) => {
                let elapsed = worker::Date::now().as_millis().saturating_sub(started);
                let left = settings
                    .origin_timeout
                    .saturating_sub(std::time::Duration::from_millis(elapsed));
                let read = JsFuture::from(p).fuse();
                let delay = worker::Delay::from(left).fuse();
                futures::pin_mut!(read, delay);
                match select(read, delay).await {
                    Either::Left((Ok(buf), _)) => js_sys::Uint8Array::new(&buf).to_vec(),
                    Either::Left((Err(e), _)) => return Err(js_err(e)),
                    Either::Right(_) => {
                        return Err(EdgeError::OriginTimeout(
                            settings.origin_timeout.as_millis(),
                        ));
                    }
                }
            }
            Err(e) => return Err(js_err(e)),
        };
        Ok(OriginResponse {
            status,
            headers,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Headers {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn forwarded_headers_are_rewritten() {
        let incoming = h(&[
            ("Accept", "application/json"),
            ("Accept-Encoding", "gzip, br;q=0.9, zstd"),
            ("Connection", "keep-alive"),
            ("CF-Connecting-IP", "203.0.113.9"),
            ("X-Forwarded-For", "198.51.100.1"),
            ("X-Edge-Secret", "spoofed"),
            ("X-Request-Id", "client-id"),
            ("Authorization", "Bearer k"),
        ]);
        let out = forward_headers(
            &incoming,
            Some("203.0.113.9"),
            "rid-1",
            "gzip",
            Some("shared-secret-0123456"),
        );
        let get = |n: &str| -> Vec<&str> {
            out.iter()
                .filter(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
                .collect()
        };
        assert_eq!(get("accept"), vec!["application/json"]);
        assert_eq!(get("accept-encoding"), vec!["gzip"]);
        assert_eq!(get("x-forwarded-for"), vec!["198.51.100.1, 203.0.113.9"]);
        assert_eq!(get("x-request-id"), vec!["rid-1"]);
        assert_eq!(get("x-edge-secret"), vec!["shared-secret-0123456"]);
        assert_eq!(get("authorization"), vec!["Bearer k"]);
        assert!(get("connection").is_empty() && get("cf-connecting-ip").is_empty());
        let bare = forward_headers(&[], None, "r", "identity", None);
        assert_eq!(bare.len(), 2);
    }

    #[test]
    fn request_ids_are_plain() {
        assert!(acceptable_request_id("0190a5c3-7b1e-7c3d-9f00-aa.b:c_d"));
        assert!(!acceptable_request_id(""));
        assert!(!acceptable_request_id("a b"));
        assert!(!acceptable_request_id(&"x".repeat(129)));
    }
}
