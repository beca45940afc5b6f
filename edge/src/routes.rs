//! What the Worker does with each request, in order: settings → route → rate limit →
//! content-coding negotiation → cache / thumbnail / forward → common response headers.
//!
//! Why this order: the rate limit is decided before any origin work (and before a resize), and
//! the `Accept-Encoding` decision comes before the cache lookup because it *is* part of the
//! key. The edge's own endpoints (`/__edge/health`, the authenticated `/__edge/purge`) are
//! answered first and never forwarded. Every response leaves with `x-request-id`, `x-cache`
//! and `Server-Timing`, and those that passed the limiter with `RateLimit-Policy`/`RateLimit`.

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET /__edge/health`: the Worker answers itself.
    Health,
    /// `POST /__edge/purge`: purge cache entries by tag (bearer token).
    Purge,
    /// `GET`/`HEAD /img/…`: signed thumbnails, small ones made here.
    Thumbnail,
    /// Any other `GET`/`HEAD`: through the edge cache.
    Cached,
    /// Everything else (writes, `POST /api/search/…`, an image's JSON metadata): straight
    /// to the origin.
    Forward,
}

/// The route of a request by method, path and `Accept`.
///
/// `GET /api/images/{id}` is the original's bytes or, when `Accept` prefers JSON
/// (common's [`prefers_json`]), its metadata; the cache key has no `Accept` in it, so the
/// JSON form passes through rather than be answered with (or stored as) the bytes.
pub fn route(method: &str, path: &str, accept: Option<&str>) -> Route {
    let safe = method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD");
    match path {
        "/__edge/health" if safe => Route::Health,
        "/__edge/purge" if method.eq_ignore_ascii_case("POST") => Route::Purge,
        p if safe && p.starts_with("/img/") => Route::Thumbnail,
        p if safe && p.starts_with("/api/images/") && prefers_json(accept) => Route::Forward,
        _ if safe => Route::Cached,
        _ => Route::Forward,
    }
}

use vitrine_common::negotiate::prefers_json;

/// The body of a purge request.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct PurgeRequest {
    pub tags: Vec<String>,
}

#[cfg(target_arch = "wasm32")]
pub use wasm::*;

#[cfg(target_arch = "wasm32")]
mod wasm {
    use std::rc::Rc;

    use vitrine_common::cache_key::Tag;
    use vitrine_common::negotiate::{encoding_variant, should_compress};
    use vitrine_common::rate_limit::RouteClass;
    use worker::{Context, EncodeBody, Env, Request, Response, ResponseBody};

    use super::{PurgeRequest, Route, route};
    use crate::cache::{self, Entry, Headers, Outcome, XCache, entry_url, server_timing};
    use crate::config::Settings;
    use crate::error::EdgeError;
    use crate::origin::{self, OriginRequest, OriginResponse, acceptable_request_id};
    use crate::rate_limit;

    /// Response headers never passed on from the origin.
    const HOP_BY_HOP: &[&str] = &[
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "trailer",
        "upgrade",
    ];

    /// One request's context.
    pub struct Cx<'a> {
        pub settings: Rc<Settings>,
        pub env: &'a Env,
        pub ctx: &'a Context,
        pub req: &'a Request,
        pub method: String,
        pub path: String,
        pub query: Option<String>,
        pub headers: Headers,
        pub request_id: String,
        pub client_ip: Option<String>,
        /// The negotiated coding token (`br`, `gzip`, `identity`…).
        pub variant: &'static str,
    }

    /// A response being built: everything but the common headers added at the end.
    pub struct Reply {
        pub status: u16,
        pub headers: Headers,
        pub body: ResponseBody,
        pub manual: bool,
        pub x_cache: XCache,
        pub origin_ms: Option<f64>,
    }

    fn random_id() -> String {
        use wasm_bindgen::JsCast;
        let global = js_sys::global();
        js_sys::Reflect::get(&global, &"crypto".into())
            .and_then(|c| {
                let f: js_sys::Function =
                    js_sys::Reflect::get(&c, &"randomUUID".into())?.dyn_into()?;
                f.call0(&c)
            })
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_else(|| format!("edge-{}", worker::Date::now().as_millis()))
    }

    impl Cx<'_> {
        pub fn header(&self, name: &str) -> Option<String> {
            self.headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }

        fn target(&self) -> String {
            match &self.query {
                Some(q) if !q.is_empty() => format!("{}?{q}", self.path),
                _ => self.path.clone(),
            }
        }

        /// Headers for the origin; `for_cache` drops the client's conditionals (the edge
        /// answers those from its entry).
        pub fn origin_headers(&self, accept_encoding: &str, for_cache: bool) -> Headers {
            let incoming: Headers = if for_cache {
                self.headers
                    .iter()
                    .filter(|(k, _)| {
                        !matches!(
                            k.as_str(),
                            "if-none-match"
                                | "if-modified-since"
                                | "if-match"
                                | "if-range"
                                | "range"
                        )
                    })
                    .cloned()
                    .collect()
            } else {
                self.headers.clone()
            };
            origin::forward_headers(
                &incoming,
                self.client_ip.as_deref(),
                &self.request_id,
                accept_encoding,
                self.settings.origin_secret.as_deref(),
            )
        }

        /// Streams the request to the origin and its answer back, untouched (marked with
        /// `x-edge-thumbnail: origin` when a thumbnail was handed over, with the reason).
        pub async fn forward(&self, thumb_reason: Option<&str>) -> Result<Reply, EdgeError> {
            let body = if matches!(self.method.as_str(), "GET" | "HEAD") {
                None
            } else {
                self.req.inner().body().map(wasm_bindgen::JsValue::from)
            };
            let req = OriginRequest {
                method: self.method.clone(),
                target: self.target(),
                headers: self.origin_headers(self.variant, false),
            };
            let started = worker::Date::now().as_millis() as f64;
            let resp = origin::send(&self.settings, &req, body).await?;
            let origin_ms = worker::Date::now().as_millis() as f64 - started;
            let mut headers: Headers = origin::header_list(&resp.headers())
                .into_iter()
                .filter(|(k, _)| !HOP_BY_HOP.contains(&k.as_str()))
                .collect();
            if let Some(reason) = thumb_reason {
                headers.push(("x-edge-thumbnail".into(), "origin".into()));
                headers.push(("x-edge-thumbnail-reason".into(), reason.into()));
            }
            let body = match resp.body() {
                Some(s) => ResponseBody::Stream(s),
                None => ResponseBody::Empty,
            };
            Ok(Reply {
                status: resp.status(),
                headers,
                body,
                manual: true,
                x_cache: XCache::Miss,
                origin_ms: Some(origin_ms),
            })
        }

        /// Serves a cache entry: 304 when `If-None-Match` matches, no body for HEAD, the
        /// stored coding replayed as is (`encode_body: manual`). An identity body the client
        /// would take compressed is compressed by the runtime on the way out (automatic
        /// encoding), with a weak ETag.
        pub fn reply_entry(
            &self,
            entry: Entry,
            x_cache: XCache,
            origin_ms: Option<f64>,
            add_vary: &[&str],
            thumb: Option<&str>,
        ) -> Reply {
            let now = worker::Date::now().as_millis() / 1000;
            let mut headers = entry.meta.served_headers(now, x_cache, add_vary);
            if let Some(t) = thumb {
                headers.push(("x-edge-thumbnail".into(), t.into()));
            }
            if entry
                .meta
                .not_modified(self.header("if-none-match").as_deref())
            {
                headers.retain(|(k, _)| {
                    !matches!(
                        k.as_str(),
                        "content-type" | "content-encoding" | "content-length"
                    )
                });
                return Reply {
                    status: 304,
                    headers,
                    body: ResponseBody::Empty,
                    manual: true,
                    x_cache,
                    origin_ms,
                };
            }
            let mut manual = true;
            if entry.meta.header("content-encoding").is_none()
                && self.variant != "identity"
                && thumb.is_none()
                && should_compress(
                    entry.meta.header("content-type").unwrap_or(""),
                    Some(entry.body.len() as u64),
                    false,
                )
            {
                manual = false;
                headers.push(("content-encoding".into(), self.variant.into()));
                for (k, v) in headers.iter_mut() {
                    if k == "etag" && !v.starts_with("W/") {
                        *v = format!("W/{v}");
                    }
                }
            }
            let body = if self.method == "HEAD" {
                ResponseBody::Empty
            } else {
                ResponseBody::Body(entry.body)
            };
            Reply {
                status: entry.meta.status,
                headers,
                body,
                manual,
                x_cache,
                origin_ms,
            }
        }

        /// Passes an uncacheable buffered origin answer on.
        pub fn reply_uncached(&self, resp: OriginResponse, origin_ms: f64) -> Reply {
            let headers = resp
                .headers
                .into_iter()
                .filter(|(k, _)| !HOP_BY_HOP.contains(&k.as_str()))
                .collect();
            let body = if self.method == "HEAD" {
                ResponseBody::Empty
            } else {
                ResponseBody::Body(resp.body)
            };
            Reply {
                status: resp.status,
                headers,
                body,
                manual: true,
                x_cache: XCache::Miss,
                origin_ms: Some(origin_ms),
            }
        }
    }

    /// GET/HEAD through the edge cache.
    async fn cached(cx: &Cx<'_>) -> Result<Reply, EdgeError> {
        let url = entry_url("http", cx.variant, &cx.path, cx.query.as_deref());
        let req = OriginRequest {
            method: "GET".into(),
            target: cx.target(),
            headers: cx.origin_headers(cx.variant, true),
        };
        Ok(
            match cache::fetch_cached(&cx.settings, cx.ctx, cx.env, &url, req).await? {
                Outcome::Cached {
                    entry,
                    x_cache,
                    origin_ms,
                } => cx.reply_entry(entry, x_cache, origin_ms, &["Accept-Encoding"], None),
                Outcome::Uncached {
                    response,
                    origin_ms,
                } => cx.reply_uncached(response, origin_ms),
            },
        )
    }

    /// `POST /__edge/purge` with `Authorization: Bearer <PURGE_TOKEN>` and `{"tags": [...]}`:
    /// deletes every entry stored with one of the tags. The origin calls it when it
    /// invalidates.
    async fn purge(cx: &Cx<'_>, mut req: Request) -> Result<Reply, EdgeError> {
        let token = cx
            .header("authorization")
            .and_then(|a| a.strip_prefix("Bearer ").map(str::to_owned))
            .unwrap_or_default();
        if !cx.settings.is_purge_token(&token) {
            return Err(EdgeError::Unauthorized);
        }
        let body: PurgeRequest = req.json().await.map_err(|_| {
            EdgeError::BadRequest(vitrine_common::error::InvalidInput::new(
                "body",
                "expected {\"tags\": [\"product:42\", ...]}",
            ))
        })?;
        let tags = body
            .tags
            .iter()
            .map(|t| Tag::parse(t))
            .collect::<Result<Vec<_>, _>>()?;
        let mut purged = 0usize;
        for tag in &tags {
            for url in cache::take_tag(cx.env, tag.as_str()).await? {
                if cache::delete(&url).await {
                    purged += 1;
                }
            }
        }
        let body = serde_json::json!({ "purged": purged, "tags": tags.len() }).to_string();
        Ok(json_reply(200, body))
    }

    fn json_reply(status: u16, body: String) -> Reply {
        Reply {
            status,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("cache-control".into(), "no-store".into()),
            ],
            body: ResponseBody::Body(body.into_bytes()),
            manual: false,
            x_cache: XCache::Miss,
            origin_ms: None,
        }
    }

    fn finish(
        reply: Reply,
        request_id: &str,
        started: f64,
        extra: &[(String, String)],
    ) -> Response {
        let headers = worker::Headers::new();
        for (k, v) in &reply.headers {
            let _ = headers.append(k, v);
        }
        for (k, v) in extra {
            let _ = headers.set(k, v);
        }
        let _ = headers.set("x-request-id", request_id);
        let _ = headers.set("x-cache", reply.x_cache.as_str());
        if let Some(warning) = reply.x_cache.warning() {
            let _ = headers.set("warning", warning);
        }
        let edge_ms = worker::Date::now().as_millis() as f64 - started;
        let _ = headers.set(
            "server-timing",
            &server_timing(reply.x_cache, edge_ms, reply.origin_ms),
        );
        Response::builder()
            .with_status(reply.status)
            .with_headers(headers)
            .with_encode_body(if reply.manual {
                EncodeBody::Manual
            } else {
                EncodeBody::Automatic
            })
            .body(reply.body)
    }

    fn error_response(
        e: EdgeError,
        request_id: &str,
        started: f64,
        extra: &[(String, String)],
    ) -> Response {
        let resp = e.into_response(Some(request_id));
        let headers = resp.headers().clone();
        for (k, v) in extra {
            let _ = headers.set(k, v);
        }
        let edge_ms = worker::Date::now().as_millis() as f64 - started;
        let _ = headers.set("server-timing", &server_timing(XCache::Miss, edge_ms, None));
        resp.with_headers(headers)
    }

    /// The Worker's whole request handling (called from `lib.rs`'s `#[event(fetch)]`).
    pub async fn handle(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
        let started = worker::Date::now().as_millis() as f64;
        let incoming: Headers = req
            .headers()
            .entries()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        let find = |n: &str| {
            incoming
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
        };
        let request_id = find("x-request-id")
            .filter(|id| acceptable_request_id(id))
            .unwrap_or_else(random_id);
        let settings = match Settings::from_env(&env) {
            Ok(s) => s,
            Err(e) => return Ok(error_response(e.into(), &request_id, started, &[])),
        };
        let url = req.url()?;
        let method = req.method().to_string().to_ascii_uppercase();
        let path = url.path().to_owned();
        let route = route(&method, &path, find("accept").as_deref());
        let client_ip = find("cf-connecting-ip");

        let mut extra: Vec<(String, String)> = Vec::new();
        if settings.rate_limit_enabled && !matches!(route, Route::Health | Route::Purge) {
            let class = RouteClass::classify(&method, &path);
            let (authorization, x_api_key) = (find("authorization"), find("x-api-key"));
            let key = rate_limit::api_key(authorization.as_deref(), x_api_key.as_deref());
            let client = rate_limit::client_id(&settings, key, client_ip.as_deref());
            if let Some(decision) = rate_limit::check_remote(&env, class, &client).await {
                extra.extend(rate_limit::headers(&settings, class, &decision));
                if !decision.allowed {
                    let e = EdgeError::RateLimited {
                        retry_after_secs: decision.retry_after_secs().max(1),
                    };
                    return Ok(error_response(e, &request_id, started, &extra));
                }
            }
        }

        let variant =
            match encoding_variant(find("accept-encoding").as_deref(), &settings.encodings) {
                Some(v) => v,
                None => {
                    return Ok(error_response(
                        EdgeError::NotAcceptable,
                        &request_id,
                        started,
                        &extra,
                    ));
                }
            };
        let cx = Cx {
            settings: settings.clone(),
            env: &env,
            ctx: &ctx,
            req: &req,
            method: method.clone(),
            path,
            query: url.query().map(str::to_owned),
            headers: incoming.clone(),
            request_id: request_id.clone(),
            client_ip,
            variant,
        };
        let result = match route {
            Route::Health => Ok(json_reply(200, r#"{"status":"ok"}"#.into())),
            Route::Purge => match req.clone() {
                Ok(r) => purge(&cx, r).await,
                Err(e) => Err(e.into()),
            },
            Route::Thumbnail => crate::thumbnail::handle(&cx).await,
            Route::Cached => cached(&cx).await,
            Route::Forward => cx.forward(None).await,
        };
        Ok(match result {
            Ok(reply) => finish(reply, &request_id, started, &extra),
            Err(e) => error_response(e, &request_id, started, &extra),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_method_and_path() {
        let route = |m, p| route(m, p, None);
        assert_eq!(route("GET", "/__edge/health"), Route::Health);
        assert_eq!(route("POST", "/__edge/purge"), Route::Purge);
        assert_eq!(route("GET", "/__edge/purge"), Route::Cached);
        assert_eq!(route("GET", "/img/_/w:1/abc"), Route::Thumbnail);
        assert_eq!(route("HEAD", "/img/_/w:1/abc"), Route::Thumbnail);
        assert_eq!(route("GET", "/api/products"), Route::Cached);
        assert_eq!(route("head", "/api/products/1"), Route::Cached);
        assert_eq!(route("POST", "/api/products"), Route::Forward);
        assert_eq!(route("POST", "/api/search/text"), Route::Forward);
        assert_eq!(route("DELETE", "/img/_/w:1/abc"), Route::Forward);
    }

    #[test]
    fn image_metadata_passes_through_the_cache() {
        let img = "/api/images/abc";
        assert_eq!(route("GET", img, None), Route::Cached);
        assert_eq!(route("GET", img, Some("image/webp,*/*")), Route::Cached);
        assert_eq!(route("GET", img, Some("application/json")), Route::Forward);
        assert_eq!(route("HEAD", img, Some("application/json")), Route::Forward);
        assert_eq!(
            route("GET", "/api/products/1", Some("application/json")),
            Route::Cached
        );
    }
}
