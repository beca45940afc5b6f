//! Embedded pages with content-hashed assets: what the storefront (`/`) and the operator
//! console (`/admin`) are served with.
//!
//! Why hashed names: an asset's URL carries the first 12 hex digits of the BLAKE3 hash of its
//! bytes (`app.3f2a…e1.js`), so it can be cached for a year (`immutable`) by browsers and the
//! edge and still change the moment a new binary ships — the page that names it is never
//! cached without revalidation. The hashes are computed once, at first use, from the embedded
//! bytes, and written into the page in place of the plain names (`/assets/app.js` in
//! `index.html` becomes `/assets/app.<hash>.js`), so the source page stays a valid page.
//!
//! A page is `Cache-Control: public, max-age=0, stale-if-error=86400` with a strong ETag:
//! every use is revalidated (a `304` when unchanged), like `no-cache`, but a shared cache (the
//! edge) may keep it and serve its last copy for a day while the origin fails. (`no-cache`
//! would forbid that last part.)

use axum::{
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use vitrine_common::http_cache::{EntityTag, is_not_modified};

/// `Cache-Control` of a page: revalidate every time; a shared cache may fall back on it.
pub const PAGE_CACHE_CONTROL: &str = "public, max-age=0, stale-if-error=86400";
/// `Cache-Control` of hashed assets.
pub const ASSET_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// One embedded asset source: plain name, content type, bytes.
pub type Source = (&'static str, &'static str, &'static [u8]);

/// One asset, ready to serve.
#[derive(Debug)]
pub struct Asset {
    /// The plain name, as in the assets folder.
    pub name: &'static str,
    /// The name it is served under: `stem.<hash>.ext`.
    pub hashed_name: String,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
    pub etag: EntityTag,
}

/// A page and its assets.
#[derive(Debug)]
pub struct Bundle {
    pub html: String,
    pub html_etag: EntityTag,
    pub assets: Vec<Asset>,
}

/// `app.js` + hash → `app.<hash>.js` (the hash goes before the last extension).
pub fn hashed_name(name: &str, bytes: &[u8]) -> String {
    let hash = blake3::hash(bytes).to_hex();
    let short = &hash.as_str()[..12];
    match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{short}.{ext}"),
        None => format!("{name}.{short}"),
    }
}

impl Bundle {
    /// The page `html` with every `"{prefix}{name}"` of `sources` replaced by its hashed name.
    pub fn build(html: &str, prefix: &str, sources: &[Source]) -> Self {
        let assets: Vec<Asset> = sources
            .iter()
            .map(|&(name, content_type, bytes)| Asset {
                name,
                hashed_name: hashed_name(name, bytes),
                content_type,
                bytes,
                etag: EntityTag::from_body(bytes),
            })
            .collect();
        let mut html = html.to_owned();
        for a in &assets {
            html = html.replace(
                &format!("{prefix}{}\"", a.name),
                &format!("{prefix}{}\"", a.hashed_name),
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

    /// The response for `GET {prefix}{hashed_name}`: the asset, immutable (or `304`), or a 404
    /// problem that says asset names carry their content's hash and where the page is.
    pub fn serve_asset(
        &self,
        request: &HeaderMap,
        hashed_name: &str,
        page: &str,
    ) -> Result<Response, crate::http::error::ApiError> {
        let a = self.asset(hashed_name).ok_or_else(|| {
            crate::http::error::ApiError::not_found(format!(
                "no asset named {hashed_name:?}; asset names carry the hash of their content, see {page}"
            ))
        })?;
        Ok(conditional(
            request,
            &a.etag,
            ASSET_CACHE_CONTROL,
            a.content_type,
            &[],
            a.bytes,
        ))
    }
}

/// A `200` with `body`, or a `304` when `If-None-Match` matches `etag`; both carry the
/// validators, `Cache-Control` and `extra` headers (RFC 9110 §15.4.5).
pub fn conditional(
    request: &HeaderMap,
    etag: &EntityTag,
    cache_control: &'static str,
    content_type: &'static str,
    extra: &[(HeaderName, &'static str)],
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
    for (name, value) in extra {
        headers.insert(name.clone(), HeaderValue::from_static(value));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_follows_the_bytes() {
        assert_eq!(hashed_name("app.js", b"a"), hashed_name("app.js", b"a"));
        assert_ne!(hashed_name("app.js", b"a"), hashed_name("app.js", b"b"));
        assert!(hashed_name("app.css", b"x").ends_with(".css"));
        assert!(hashed_name("LICENSE", b"x").starts_with("LICENSE."));
    }

    #[test]
    fn only_names_under_the_prefix_are_replaced() {
        let b = Bundle::build(
            r#"<script src="/x/a.js"></script><a href="/y/a.js">"#,
            "/x/",
            &[("a.js", "text/javascript", b"1")],
        );
        let hashed = &b.assets[0].hashed_name;
        assert!(b.html.contains(&format!("/x/{hashed}\"")));
        assert!(b.html.contains("/y/a.js\""));
    }
}
