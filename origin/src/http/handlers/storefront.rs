//! The storefront: one HTML page (`GET /`) and its static assets (`GET /assets/{name}`),
//! embedded in the binary from `origin/assets/`.
//!
//! Why hashed names: an asset's URL carries the first 12 hex digits of the BLAKE3 hash of its
//! bytes (`app.3f2a…e1.js`), so it can be cached for a year (`immutable`) by browsers and the
//! edge and still change the moment a new binary ships — the page that names it is never
//! cached without revalidation. The hashes are computed once, at first use, from the embedded
//! bytes, and written into the page in place of the plain names (`/assets/app.js` in
//! `index.html` becomes `/assets/app.<hash>.js`), so the source page stays a valid page.
//!
//! The page is `Cache-Control: public, max-age=0, stale-if-error=86400` with a strong ETag:
//! every use is revalidated (a `304` when unchanged), like `no-cache`, but a shared cache (the
//! edge) may keep it and serve its last copy for a day while the origin fails. (`no-cache`
//! would forbid that last part.) Unknown asset names, including the plain and stale hashed
//! ones, are `404` problem+json.

use std::sync::LazyLock;

use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use vitrine_common::http_cache::{EntityTag, is_not_modified};

use crate::http::error::{ApiError, ApiPath};

/// `Cache-Control` of the page: revalidate every time; a shared cache may fall back on it.
pub const PAGE_CACHE_CONTROL: &str = "public, max-age=0, stale-if-error=86400";
/// `Cache-Control` of hashed assets.
pub const ASSET_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

const INDEX_HTML: &str = include_str!("../../../assets/index.html");

/// The embedded assets: plain name, content type, bytes.
const SOURCES: &[(&str, &str, &[u8])] = &[
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../assets/app.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../assets/app.css"),
    ),
    (
        "icon.svg",
        "image/svg+xml",
        include_bytes!("../../../assets/icon.svg"),
    ),
];

/// One asset, ready to serve.
#[derive(Debug)]
pub struct Asset {
    /// The plain name, as in `origin/assets/`.
    pub name: &'static str,
    /// The name it is served under: `stem.<hash>.ext`.
    pub hashed_name: String,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
    etag: EntityTag,
}

/// The page and its assets.
#[derive(Debug)]
pub struct Storefront {
    pub html: String,
    html_etag: EntityTag,
    pub assets: Vec<Asset>,
}

/// `app.js` + hash → `app.<hash>.js` (the hash goes before the last extension).
fn hashed_name(name: &str, bytes: &[u8]) -> String {
    let hash = blake3::hash(bytes).to_hex();
    let short = &hash.as_str()[..12];
    match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{short}.{ext}"),
        None => format!("{name}.{short}"),
    }
}

impl Storefront {
    fn build() -> Self {
        let assets: Vec<Asset> = SOURCES
            .iter()
            .map(|&(name, content_type, bytes)| Asset {
                name,
                hashed_name: hashed_name(name, bytes),
                content_type,
                bytes,
                etag: EntityTag::from_body(bytes),
            })
            .collect();
        let mut html = INDEX_HTML.to_owned();
        for a in &assets {
            html = html.replace(
                &format!("/assets/{}\"", a.name),
                &format!("/assets/{}\"", a.hashed_name),
            );
        }
        let html_etag = EntityTag::from_body(html.as_bytes());
        Self {
            html,
            html_etag,
            assets,
        }
    }

    /// The asset served under `hashed_name`, if any.
    pub fn asset(&self, hashed_name: &str) -> Option<&Asset> {
        self.assets.iter().find(|a| a.hashed_name == hashed_name)
    }
}

/// Built once, on first use.
pub static STOREFRONT: LazyLock<Storefront> = LazyLock::new(Storefront::build);

/// A `200` with `body`, or a `304` when `If-None-Match` matches `etag`; both carry the
/// validators and `Cache-Control` (RFC 9110 §15.4.5).
fn conditional(
    request: &HeaderMap,
    etag: &EntityTag,
    cache_control: &'static str,
    content_type: &'static str,
    body: impl IntoResponse,
) -> Response {
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&etag.to_string()) {
        headers.insert(header::ETAG, v);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let not_modified = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|inm| is_not_modified(inm, etag));
    if not_modified {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    (StatusCode::OK, headers, body).into_response()
}

/// `GET /`: the storefront page.
#[utoipa::path(get, path = "/", tag = "storefront",
    responses((status = 200, description = "The storefront page", body = String, content_type = "text/html"),
        (status = 304, description = "`If-None-Match` matched")))]
pub async fn index(headers: HeaderMap) -> Response {
    let s = &*STOREFRONT;
    conditional(
        &headers,
        &s.html_etag,
        PAGE_CACHE_CONTROL,
        "text/html; charset=utf-8",
        s.html.clone(),
    )
}

/// `GET /assets/{name}`: a hashed asset, immutable.
#[utoipa::path(get, path = "/assets/{name}", tag = "storefront",
    params(("name" = String, Path, description = "The asset's file name, with its content hash")),
    responses((status = 200, description = "The asset", content(
            (String = "text/javascript"), (String = "text/css"), (String = "image/svg+xml"))),
        (status = 304, description = "`If-None-Match` matched"),
        (status = 404, description = "No asset by that name")))]
pub async fn asset(
    headers: HeaderMap,
    ApiPath(name): ApiPath<String>,
) -> Result<Response, ApiError> {
    let a = STOREFRONT.asset(&name).ok_or_else(|| {
        ApiError::not_found(format!(
            "no asset named {name:?}; asset names carry the hash of their content, see the page"
        ))
    })?;
    Ok(conditional(
        &headers,
        &a.etag,
        ASSET_CACHE_CONTROL,
        a.content_type,
        a.bytes,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_every_asset_by_its_hash() {
        let s = Storefront::build();
        for a in &s.assets {
            assert!(
                a.hashed_name.len() == a.name.len() + 13,
                "{}",
                a.hashed_name
            );
            assert!(
                s.html.contains(&format!("/assets/{}\"", a.hashed_name)),
                "index.html must reference /assets/{} (as /assets/{})",
                a.name,
                a.hashed_name
            );
            assert!(!s.html.contains(&format!("/assets/{}\"", a.name)));
            assert_eq!(s.asset(&a.hashed_name).map(|x| x.name), Some(a.name));
        }
        assert!(s.asset("app.js").is_none());
    }

    #[test]
    fn the_hash_follows_the_bytes() {
        assert_eq!(hashed_name("app.js", b"a"), hashed_name("app.js", b"a"));
        assert_ne!(hashed_name("app.js", b"a"), hashed_name("app.js", b"b"));
        assert!(hashed_name("app.css", b"x").ends_with(".css"));
        assert!(hashed_name("LICENSE", b"x").starts_with("LICENSE."));
    }
}
