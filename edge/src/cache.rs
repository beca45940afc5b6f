//! The edge cache: the Workers Cache API keyed by the canonical URL plus the negotiated variant,
//! with stale-while-revalidate and stale-if-error built on top.
//!
//! Why the entry format is our own: the Cache API has no SWR, applies its own reading of
//! `Cache-Control` on `put`, and hands back responses with immutable headers. So an entry is an
//! opaque body plus one `x-edge-meta` header (JSON: when it was stored, the origin's
//! `Cache-Control`, status, the headers to replay, the tags), stored under a `Cache-Control`
//! of *our* choosing — the origin's lifetime plus its longest stale window
//! ([`retention_secs`]) — so the runtime keeps it exactly as long as it could ever be served.
//! Freshness is then decided by common's [`freshness`] (one reading of the headers, shared
//! with the origin), and served responses are always rebuilt.
//!
//! Keys never contain the raw `Accept-Encoding`: the variant is common's normalised token
//! (`br`, `gzip`, `identity`) or the resolved image format, so a thousand browser spellings
//! share one entry per coding. Encoded bodies are stored and replayed as bytes with
//! `encode_body: manual`: the edge never decodes and re-encodes what the origin compressed.

use serde::{Deserialize, Serialize};
use vitrine_common::cache_key::{Tag, canonical_target};
use vitrine_common::http_cache::{
    CacheControl, EntityTag, Freshness, freshness, is_not_modified, is_storable, retention_secs,
};

/// Host part of cache keys: never routed, only names entries.
pub const CACHE_ORIGIN: &str = "https://edge-cache.vitrine.invalid";

/// The header carrying an entry's metadata inside the Cache API.
pub const META_HEADER: &str = "x-edge-meta";

/// Headers of an origin response that are replayed from the cache (hop-by-hop headers,
/// `Set-Cookie`, `Age`, `Date`, and the edge's own are not). The security headers are
/// among them: a page served from the cache keeps the policy it was sent with.
pub const REPLAYED_HEADERS: &[&str] = &[
    "content-type",
    "content-encoding",
    "content-language",
    "content-disposition",
    "etag",
    "last-modified",
    "link",
    "vary",
    "cache-tag",
    "x-content-type-options",
    "content-security-policy",
    "x-frame-options",
    "referrer-policy",
    "x-robots-tag",
];

/// How a response was served, for `x-cache`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XCache {
    Hit,
    Miss,
    /// Past its freshness, inside stale-while-revalidate: refreshed in the background.
    Stale,
    /// Past its freshness, served because the origin failed (error status, unreachable,
    /// timeout) inside stale-if-error.
    StaleIfError,
}

impl XCache {
    pub fn as_str(self) -> &'static str {
        match self {
            XCache::Hit => "HIT",
            XCache::Miss => "MISS",
            XCache::Stale | XCache::StaleIfError => "STALE",
        }
    }

    /// The `Warning` header (RFC 7234 §5.5) a stale answer carries, so a client or a log can
    /// tell "stale because we refresh in the background" (110) from "stale because the
    /// origin is failing" (111).
    pub fn warning(self) -> Option<&'static str> {
        match self {
            XCache::Stale => Some("110 - \"Response is Stale\""),
            XCache::StaleIfError => Some("111 - \"Revalidation Failed\""),
            XCache::Hit | XCache::Miss => None,
        }
    }
}

/// The URL an entry is stored under: `{CACHE_ORIGIN}/{kind}/{variant}{canonical target}`.
pub fn entry_url(kind: &str, variant: &str, path: &str, query: Option<&str>) -> String {
    format!(
        "{CACHE_ORIGIN}/{kind}/{variant}{}",
        canonical_target(path, query)
    )
}

/// What is kept beside an entry's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMeta {
    /// Unix seconds when the origin's response was received (its `Age` subtracted).
    pub stored_at: u64,
    pub status: u16,
    /// The origin's `Cache-Control`, verbatim.
    pub cache_control: String,
    /// Replayed headers, lower-case names.
    pub headers: Vec<(String, String)>,
    /// Invalidation tags (from the origin's `Cache-Tag`).
    pub tags: Vec<String>,
}

impl StoredMeta {
    /// Builds the metadata of a storable origin response; `None` when a shared cache must not
    /// keep it (common's [`is_storable`]: status, `no-store`, `private`, `Set-Cookie`, no
    /// explicit lifetime), or when the request carried credentials the response did not
    /// explicitly allow sharing (RFC 9111 §3.5).
    pub fn from_origin(
        status: u16,
        headers: &[(String, String)],
        now: u64,
        request_had_authorization: bool,
    ) -> Option<Self> {
        let get_all = |name: &str| -> Vec<&str> {
            headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
                .collect()
        };
        let cc_lines = get_all("cache-control");
        let cc = CacheControl::parse_lines(cc_lines.iter().copied());
        let has_set_cookie = !get_all("set-cookie").is_empty();
        if !is_storable(status, &cc, has_set_cookie) {
            return None;
        }
        if request_had_authorization && !(cc.public || cc.s_maxage.is_some()) {
            return None;
        }
        if get_all("vary").iter().any(|v| v.trim() == "*") {
            return None;
        }
        let age = get_all("age")
            .first()
            .and_then(|a| a.trim().parse::<u64>().ok())
            .unwrap_or(0);
        let replayed = headers
            .iter()
            .filter(|(k, _)| REPLAYED_HEADERS.iter().any(|h| k.eq_ignore_ascii_case(h)))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        let tags = get_all("cache-tag")
            .iter()
            .flat_map(|v| v.split(','))
            .filter_map(|t| Tag::parse(t).ok())
            .map(|t| t.as_str().to_owned())
            .collect();
        Some(Self {
            stored_at: now.saturating_sub(age),
            status,
            cache_control: cc_lines.join(", "),
            headers: replayed,
            tags,
        })
    }

    pub fn cache_control(&self) -> CacheControl {
        CacheControl::parse(&self.cache_control)
    }

    /// How usable the entry is at `now`, by common's rules for a shared cache.
    pub fn freshness(&self, now: u64) -> Freshness {
        freshness(&self.cache_control(), self.stored_at, now, true)
    }

    /// Seconds the Cache API should keep the entry (`None`: do not store).
    pub fn retention(&self) -> Option<u64> {
        retention_secs(&self.cache_control()).filter(|&s| s > 0)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The entry's ETag, if it has one.
    pub fn etag(&self) -> Option<EntityTag> {
        self.header("etag").and_then(EntityTag::parse)
    }

    /// Gives the entry an ETag computed from its body when the origin sent none, so the edge
    /// can still answer `If-None-Match` with 304.
    pub fn ensure_etag(&mut self, body: &[u8]) {
        if self.etag().is_none() {
            let tag = EntityTag::from_body(body);
            let tag = if self.header("content-encoding").is_some() {
                tag.weak()
            } else {
                tag
            };
            self.headers.push(("etag".into(), tag.to_string()));
        }
    }

    /// Whether a request's `If-None-Match` matches this entry (→ 304).
    pub fn not_modified(&self, if_none_match: Option<&str>) -> bool {
        match (if_none_match, self.etag()) {
            (Some(inm), Some(tag)) => is_not_modified(inm, &tag),
            _ => false,
        }
    }

    /// After a 304 from the origin: the entry is fresh again from `now`, with the 304's
    /// `Cache-Control`/`ETag` when it sent them (RFC 9111 §4.3.4).
    pub fn refreshed(&self, headers: &[(String, String)], now: u64) -> Self {
        let mut meta = self.clone();
        meta.stored_at = now;
        let cc: Vec<&str> = headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("cache-control"))
            .map(|(_, v)| v.as_str())
            .collect();
        if !cc.is_empty() {
            meta.cache_control = cc.join(", ");
        }
        if let Some((_, etag)) = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("etag")) {
            meta.headers.retain(|(k, _)| k != "etag");
            meta.headers.push(("etag".into(), etag.clone()));
        }
        meta
    }

    /// The headers a client gets for this entry: replayed ones, the origin's `Cache-Control`,
    /// `Age`, `Vary` (with `add_vary` merged in) and `x-cache`.
    pub fn served_headers(&self, now: u64, x_cache: XCache, add_vary: &[&str]) -> Headers {
        let mut out: Headers = self
            .headers
            .iter()
            .filter(|(k, _)| k != "vary" && k != "cache-tag")
            .cloned()
            .collect();
        if !self.cache_control.is_empty() {
            out.push(("cache-control".into(), self.cache_control.clone()));
        }
        out.push(("age".into(), now.saturating_sub(self.stored_at).to_string()));
        if let Some(vary) = merge_vary(self.header("vary"), add_vary) {
            out.push(("vary".into(), vary));
        }
        out.push(("x-cache".into(), x_cache.as_str().into()));
        out
    }
}

/// Header list, lower-case names.
pub type Headers = Vec<(String, String)>;

/// `Vary` with `add` merged in, case-insensitively de-duplicated; `None` when empty.
pub fn merge_vary(existing: Option<&str>, add: &[&str]) -> Option<String> {
    let mut names: Vec<String> = Vec::new();
    for name in existing
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .chain(add.iter().copied())
        .filter(|n| !n.is_empty())
    {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            names.push(name.to_owned());
        }
    }
    (!names.is_empty()).then(|| names.join(", "))
}

/// `Server-Timing` for a response: total edge time, the cache outcome and, when the origin
/// was asked, its time.
pub fn server_timing(x_cache: XCache, edge_ms: f64, origin_ms: Option<f64>) -> String {
    let mut s = format!("edge;dur={edge_ms:.1}, cache;desc={}", x_cache.as_str());
    if let Some(o) = origin_ms {
        s.push_str(&format!(", origin;dur={o:.1}"));
    }
    s
}

#[cfg(target_arch = "wasm32")]
pub use wasm::*;

#[cfg(target_arch = "wasm32")]
mod wasm {
    //! The Cache API adapter and the cached-fetch flow (MISS → store, HIT, SWR, SIE).

    use std::rc::Rc;

    use vitrine_common::http_cache::Freshness;
    use worker::{Cache, Context, EncodeBody, Response};

    use super::{META_HEADER, StoredMeta, XCache};
    use crate::config::Settings;
    use crate::error::EdgeError;
    use crate::origin::{self, OriginRequest, OriginResponse};

    /// A cached (or just fetched and storable) response.
    #[derive(Debug, Clone)]
    pub struct Entry {
        pub meta: StoredMeta,
        pub body: Vec<u8>,
    }

    /// What [`fetch_cached`] produced.
    #[derive(Debug)]
    pub enum Outcome {
        /// From the cache, or fetched and stored: served from `entry`.
        Cached {
            entry: Entry,
            x_cache: XCache,
            origin_ms: Option<f64>,
        },
        /// The origin's answer was not storable: passed through as is.
        Uncached {
            response: OriginResponse,
            origin_ms: f64,
        },
    }

    /// Reads an entry; a missing or unreadable one is a miss.
    pub async fn lookup(url: &str) -> Option<Entry> {
        let cache = Cache::default();
        let mut resp = cache.get(url, true).await.ok()??;
        let meta = resp
            .headers()
            .get(META_HEADER)
            .ok()
            .flatten()
            .and_then(|m| serde_json::from_str::<StoredMeta>(&m).ok())?;
        let body = resp.bytes().await.ok()?;
        Some(Entry { meta, body })
    }

    /// Writes an entry (overwriting), kept for the origin's lifetime plus its stale windows.
    pub async fn store(url: &str, entry: &Entry) -> Result<(), EdgeError> {
        let Some(retention) = entry.meta.retention() else {
            return Ok(());
        };
        let meta = serde_json::to_string(&entry.meta)
            .map_err(|e| EdgeError::Internal(format!("serialising cache meta: {e}")))?;
        let headers = worker::Headers::new();
        headers.set("cache-control", &format!("public, max-age={retention}"))?;
        headers.set("content-type", "application/octet-stream")?;
        headers.set(META_HEADER, &meta)?;
        let resp = Response::builder()
            .with_status(200)
            .with_headers(headers)
            .with_encode_body(EncodeBody::Manual)
            .fixed(entry.body.clone());
        Cache::default().put(url, resp).await?;
        Ok(())
    }

    /// Deletes an entry.
    pub async fn delete(url: &str) -> bool {
        matches!(
            Cache::default().delete(url, true).await,
            Ok(worker::CacheDeletionOutcome::Success)
        )
    }

    fn now_secs() -> u64 {
        worker::Date::now().as_millis() / 1000
    }

    fn now_ms() -> f64 {
        worker::Date::now().as_millis() as f64
    }

    /// Stores `entry` and indexes its tags, in the background.
    fn store_later(ctx: &Context, env: &worker::Env, url: String, entry: Entry) {
        let env = env.clone();
        ctx.wait_until(async move {
            if let Err(e) = store(&url, &entry).await {
                worker::console_error!("cache store failed: {e}");
                return;
            }
            if !entry.meta.tags.is_empty()
                && let Err(e) = index_tags(&env, &entry.meta.tags, &url).await
            {
                worker::console_error!("tag index failed: {e}");
            }
        });
    }

    /// The cached-fetch flow for a GET of `req.target` under the cache key `url`:
    ///
    /// * fresh entry → HIT;
    /// * within stale-while-revalidate → STALE now, refreshed with `ctx.wait_until`;
    /// * otherwise → the origin (conditionally, with the entry's ETag); a 304 refreshes the
    ///   entry, an error or timeout serves it STALE while stale-if-error allows;
    /// * no entry → the origin; stored in the background when storable (MISS).
    pub async fn fetch_cached(
        settings: &Rc<Settings>,
        ctx: &Context,
        env: &worker::Env,
        url: &str,
        req: OriginRequest,
    ) -> Result<Outcome, EdgeError> {
        let now = now_secs();
        let existing = lookup(url).await;
        if let Some(entry) = &existing {
            match entry.meta.freshness(now) {
                Freshness::Fresh { .. } => {
                    return Ok(Outcome::Cached {
                        entry: entry.clone(),
                        x_cache: XCache::Hit,
                        origin_ms: None,
                    });
                }
                Freshness::StaleWhileRevalidate { .. } => {
                    let (settings, url, env2) = (settings.clone(), url.to_owned(), env.clone());
                    let (stale, req) = (entry.clone(), req.clone());
                    ctx.wait_until(async move {
                        if let Err(e) = revalidate(&settings, &env2, &url, stale, req).await {
                            worker::console_error!("background refresh failed: {e}");
                        }
                    });
                    return Ok(Outcome::Cached {
                        entry: entry.clone(),
                        x_cache: XCache::Stale,
                        origin_ms: None,
                    });
                }
                Freshness::StaleIfError { .. } | Freshness::Expired => {}
            }
        }

        let mut conditional = req.clone();
        if let Some(tag) = existing.as_ref().and_then(|e| e.meta.etag()) {
            conditional.headers.retain(|(k, _)| k != "if-none-match");
            conditional
                .headers
                .push(("if-none-match".into(), tag.to_string()));
        }
        let started = now_ms();
        let result = origin::fetch_buffered(settings, &conditional).await;
        let origin_ms = now_ms() - started;
        let now = now_secs();
        let stale_ok = |e: &Entry| e.meta.freshness(now).is_servable_on_error();
        match result {
            Ok(resp) if resp.status == 304 && existing.is_some() => {
                let Some(old) = existing else {
                    return Err(EdgeError::Internal("304 without entry".into()));
                };
                let entry = Entry {
                    meta: old.meta.refreshed(&resp.headers, now),
                    body: old.body,
                };
                store_later(ctx, env, url.to_owned(), entry.clone());
                Ok(Outcome::Cached {
                    entry,
                    x_cache: XCache::Hit,
                    origin_ms: Some(origin_ms),
                })
            }
            Ok(resp) if resp.status >= 500 => match existing {
                Some(e) if stale_ok(&e) => Ok(Outcome::Cached {
                    entry: e,
                    x_cache: XCache::StaleIfError,
                    origin_ms: Some(origin_ms),
                }),
                _ => Ok(Outcome::Uncached {
                    response: resp,
                    origin_ms,
                }),
            },
            Ok(resp) => {
                let authorized = req.headers.iter().any(|(k, _)| k == "authorization");
                match StoredMeta::from_origin(resp.status, &resp.headers, now, authorized) {
                    Some(mut meta) => {
                        meta.ensure_etag(&resp.body);
                        let entry = Entry {
                            meta,
                            body: resp.body,
                        };
                        store_later(ctx, env, url.to_owned(), entry.clone());
                        Ok(Outcome::Cached {
                            entry,
                            x_cache: XCache::Miss,
                            origin_ms: Some(origin_ms),
                        })
                    }
                    None => Ok(Outcome::Uncached {
                        response: resp,
                        origin_ms,
                    }),
                }
            }
            Err(err) => match existing {
                Some(e) if stale_ok(&e) => {
                    worker::console_warn!("origin failed ({err}); serving stale");
                    Ok(Outcome::Cached {
                        entry: e,
                        x_cache: XCache::StaleIfError,
                        origin_ms: Some(origin_ms),
                    })
                }
                _ => Err(err),
            },
        }
    }

    /// Binding name of the tag index in wrangler.toml.
    pub const TAG_BINDING: &str = "TAG_INDEX";
    const URLS_KEY: &str = "urls";
    /// Most entries remembered per tag (the oldest are forgotten first; they still expire).
    const MAX_URLS_PER_TAG: usize = 10_000;

    /// The cache entries carrying one tag (one object per tag, named by the tag). The Cache
    /// API can only delete by URL, so purge-by-tag needs this index.
    #[worker::durable_object]
    pub struct TagIndex {
        state: worker::State,
    }

    impl worker::DurableObject for TagIndex {
        fn new(state: worker::State, _env: worker::Env) -> Self {
            Self { state }
        }

        async fn fetch(&self, mut req: worker::Request) -> worker::Result<Response> {
            let storage = self.state.storage();
            let mut urls: Vec<String> = storage
                .get(URLS_KEY)
                .await
                .ok()
                .flatten()
                .unwrap_or_default();
            match req.path().as_str() {
                "/add" => {
                    let url = req.text().await?;
                    if !urls.contains(&url) {
                        urls.push(url);
                        if urls.len() > MAX_URLS_PER_TAG {
                            urls.remove(0);
                        }
                        storage.put(URLS_KEY, &urls).await?;
                    }
                    Response::ok("")
                }
                "/take" => {
                    storage.delete(URLS_KEY).await?;
                    Response::from_json(&urls)
                }
                _ => Response::error("not found", 404),
            }
        }
    }

    async fn tag_call(
        env: &worker::Env,
        tag: &str,
        path: &str,
        body: Option<&str>,
    ) -> worker::Result<Response> {
        let stub = env
            .durable_object(TAG_BINDING)?
            .id_from_name(tag)?
            .get_stub()?;
        let mut init = worker::RequestInit::new();
        init.with_method(worker::Method::Post)
            .with_body(body.map(wasm_bindgen::JsValue::from_str));
        let req = worker::Request::new_with_init(&format!("https://tags{path}"), &init)?;
        stub.fetch_with_request(req).await
    }

    /// Records that the entry at `url` carries `tags`.
    pub async fn index_tags(
        env: &worker::Env,
        tags: &[String],
        url: &str,
    ) -> Result<(), EdgeError> {
        for tag in tags {
            tag_call(env, tag, "/add", Some(url)).await?;
        }
        Ok(())
    }

    /// Takes (and forgets) the entries carrying `tag`.
    pub async fn take_tag(env: &worker::Env, tag: &str) -> Result<Vec<String>, EdgeError> {
        let mut resp = tag_call(env, tag, "/take", None).await?;
        Ok(resp.json().await?)
    }

    /// The background half of stale-while-revalidate: asks the origin (conditionally) and
    /// replaces the entry with what it says; keeps the old one on any failure.
    async fn revalidate(
        settings: &Rc<Settings>,
        env: &worker::Env,
        url: &str,
        stale: Entry,
        mut req: OriginRequest,
    ) -> Result<(), EdgeError> {
        if let Some(tag) = stale.meta.etag() {
            req.headers.retain(|(k, _)| k != "if-none-match");
            req.headers.push(("if-none-match".into(), tag.to_string()));
        }
        let resp = origin::fetch_buffered(settings, &req).await?;
        let now = now_secs();
        let entry = if resp.status == 304 {
            Entry {
                meta: stale.meta.refreshed(&resp.headers, now),
                body: stale.body,
            }
        } else if resp.status >= 500 {
            return Ok(());
        } else {
            let authorized = req.headers.iter().any(|(k, _)| k == "authorization");
            match StoredMeta::from_origin(resp.status, &resp.headers, now, authorized) {
                Some(mut meta) => {
                    meta.ensure_etag(&resp.body);
                    Entry {
                        meta,
                        body: resp.body,
                    }
                }
                None => {
                    delete(url).await;
                    return Ok(());
                }
            }
        };
        store(url, &entry).await?;
        if !entry.meta.tags.is_empty() {
            index_tags(env, &entry.meta.tags, url).await?;
        }
        Ok(())
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
    fn keys_use_canonical_targets_and_variants() {
        assert_eq!(
            entry_url("http", "br", "/api/search/text", Some("q=a&limit=2")),
            "https://edge-cache.vitrine.invalid/http/br/api/search/text?limit=2&q=a"
        );
        assert_ne!(
            entry_url("http", "br", "/p", None),
            entry_url("http", "gzip", "/p", None)
        );
    }

    #[test]
    fn stores_only_what_a_shared_cache_may() {
        let ok = h(&[
            ("Cache-Control", "public, max-age=60, s-maxage=600"),
            ("Content-Type", "application/json"),
            ("Set-Cookie-Not", "x"),
            ("Cache-Tag", "product:1, NS:Product, bad tag!"),
            ("Age", "5"),
        ]);
        let meta = StoredMeta::from_origin(200, &ok, 1000, false).unwrap();
        assert_eq!(meta.stored_at, 995);
        assert_eq!(meta.tags, vec!["product:1", "ns:product"]);
        assert_eq!(meta.header("content-type"), Some("application/json"));
        assert_eq!(meta.retention(), Some(600));
        for bad in [
            h(&[("cache-control", "private, max-age=60")]),
            h(&[("cache-control", "no-store")]),
            h(&[("cache-control", "max-age=60"), ("set-cookie", "a=b")]),
            h(&[("content-type", "text/plain")]),
            h(&[("cache-control", "max-age=60"), ("vary", "*")]),
        ] {
            assert!(
                StoredMeta::from_origin(200, &bad, 0, false).is_none(),
                "{bad:?}"
            );
        }
        assert!(StoredMeta::from_origin(206, &ok, 0, false).is_none());
        // With credentials only an explicit public/s-maxage allows sharing.
        let plain = h(&[("cache-control", "max-age=60")]);
        assert!(StoredMeta::from_origin(200, &plain, 0, true).is_none());
        assert!(StoredMeta::from_origin(200, &ok, 0, true).is_some());
    }

    #[test]
    fn a_cached_page_keeps_its_security_headers() {
        let page = h(&[
            ("Cache-Control", "public, max-age=0, stale-if-error=86400"),
            ("Content-Type", "text/html; charset=utf-8"),
            (
                "Content-Security-Policy",
                "default-src 'none'; frame-ancestors 'none'",
            ),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "no-referrer"),
            ("X-Robots-Tag", "noindex"),
            ("X-Unknown", "dropped"),
        ]);
        let meta = StoredMeta::from_origin(200, &page, 0, false).unwrap();
        assert_eq!(
            meta.header("content-security-policy"),
            Some("default-src 'none'; frame-ancestors 'none'")
        );
        assert_eq!(meta.header("x-frame-options"), Some("DENY"));
        assert_eq!(meta.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(meta.header("x-robots-tag"), Some("noindex"));
        assert_eq!(meta.header("x-unknown"), None);
    }

    #[test]
    fn freshness_follows_common_with_swr_and_sie() {
        let cc = "public, max-age=1, s-maxage=2, stale-while-revalidate=3, stale-if-error=10";
        let meta = StoredMeta::from_origin(200, &h(&[("cache-control", cc)]), 100, false).unwrap();
        assert!(matches!(meta.freshness(101), Freshness::Fresh { .. }));
        assert!(matches!(
            meta.freshness(103),
            Freshness::StaleWhileRevalidate { .. }
        ));
        assert!(matches!(
            meta.freshness(108),
            Freshness::StaleIfError { .. }
        ));
        assert_eq!(meta.freshness(200), Freshness::Expired);
        assert_eq!(meta.retention(), Some(12));
    }

    #[test]
    fn etags_304_and_refresh() {
        let mut meta = StoredMeta::from_origin(
            200,
            &h(&[("cache-control", "max-age=9"), ("content-encoding", "br")]),
            0,
            false,
        )
        .unwrap();
        meta.ensure_etag(b"body");
        let tag = meta.etag().unwrap();
        assert!(tag.is_weak(), "an encoded body gets a weak tag");
        assert!(meta.not_modified(Some(&tag.to_string())));
        assert!(meta.not_modified(Some("*")));
        assert!(!meta.not_modified(Some("\"other\"")));
        assert!(!meta.not_modified(None));
        let fresh = meta.refreshed(
            &h(&[("Cache-Control", "max-age=99"), ("ETag", "\"n\"")]),
            50,
        );
        assert_eq!(fresh.stored_at, 50);
        assert_eq!(fresh.cache_control, "max-age=99");
        assert_eq!(fresh.header("etag"), Some("\"n\""));
    }

    #[test]
    fn served_headers_merge_vary_and_mark_the_cache() {
        let meta = StoredMeta::from_origin(
            200,
            &h(&[
                ("cache-control", "max-age=9"),
                ("vary", "Origin, accept-encoding"),
                ("cache-tag", "product:1"),
            ]),
            10,
            false,
        )
        .unwrap();
        assert_eq!(XCache::Hit.warning(), None);
        assert_eq!(XCache::StaleIfError.as_str(), "STALE");
        assert_eq!(
            XCache::StaleIfError.warning(),
            Some("111 - \"Revalidation Failed\"")
        );
        assert_eq!(XCache::Stale.warning(), Some("110 - \"Response is Stale\""));
        let served = meta.served_headers(15, XCache::Hit, &["Accept-Encoding"]);
        let get = |n: &str| served.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        assert_eq!(get("vary"), Some("Origin, accept-encoding"));
        assert_eq!(get("age"), Some("5"));
        assert_eq!(get("x-cache"), Some("HIT"));
        assert_eq!(get("cache-tag"), None);
        assert_eq!(merge_vary(None, &[]), None);
        assert_eq!(
            server_timing(XCache::Miss, 3.25, Some(2.0)),
            "edge;dur=3.2, cache;desc=MISS, origin;dur=2.0"
        );
    }
}
