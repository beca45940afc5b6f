//! The operator console: one HTML page (`GET /admin`) and its assets
//! (`GET /admin/assets/{name}`), embedded from `origin/assets/admin/` and served with
//! content-hashed names like the storefront (`http::bundle`).
//!
//! The page holds no data and no secret: it asks for the API key, keeps it in
//! `sessionStorage` and reads everything through the API with `Authorization: Bearer`, so
//! it may be cached like any page. It is sent with a strict Content-Security-Policy (only its
//! own scripts and styles, requests only to this origin, no framing, no form submission: the
//! login form is handled by the script, so a key can never land in a URL), `X-Frame-Options`
//! for browsers without `frame-ancestors`, no referrer, and `noindex`.

use std::sync::LazyLock;

use axum::{
    http::{HeaderMap, HeaderName, header},
    response::Response,
};

use crate::http::{
    bundle::{Bundle, PAGE_CACHE_CONTROL, Source, conditional},
    error::{ApiError, ApiPath},
};

/// The console's Content-Security-Policy.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; \
    base-uri 'none'";

const INDEX_HTML: &str = include_str!("../../../assets/admin/index.html");

/// The embedded assets: plain name, content type, bytes.
const SOURCES: &[Source] = &[
    (
        "admin.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../assets/admin/admin.js"),
    ),
    (
        "charts.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../assets/admin/charts.js"),
    ),
    (
        "admin.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../assets/admin/admin.css"),
    ),
];

/// Built once, on first use.
pub static CONSOLE: LazyLock<Bundle> =
    LazyLock::new(|| Bundle::build(INDEX_HTML, "/admin/assets/", SOURCES));

fn page_headers() -> [(HeaderName, &'static str); 4] {
    [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (HeaderName::from_static("x-robots-tag"), "noindex"),
    ]
}

/// `GET /admin`: the operator console.
#[utoipa::path(get, path = "/admin", tag = "console",
    responses((status = 200, description = "The console page (it asks for the API key)", body = String, content_type = "text/html"),
        (status = 304, description = "`If-None-Match` matched")))]
pub async fn index(headers: HeaderMap) -> Response {
    let c = &*CONSOLE;
    conditional(
        &headers,
        &c.html_etag,
        PAGE_CACHE_CONTROL,
        "text/html; charset=utf-8",
        &page_headers(),
        c.html.clone(),
    )
}

/// `GET /admin/assets/{name}`: a hashed console asset, immutable.
#[utoipa::path(get, path = "/admin/assets/{name}", tag = "console",
    params(("name" = String, Path, description = "The asset's file name, with its content hash")),
    responses((status = 200, description = "The asset", content(
            (String = "text/javascript"), (String = "text/css"))),
        (status = 304, description = "`If-None-Match` matched"),
        (status = 404, description = "No asset by that name")))]
pub async fn asset(
    headers: HeaderMap,
    ApiPath(name): ApiPath<String>,
) -> Result<Response, ApiError> {
    CONSOLE.serve_asset(&headers, &name, "/admin")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_every_asset_by_its_hash() {
        let c = Bundle::build(INDEX_HTML, "/admin/assets/", SOURCES);
        for a in &c.assets {
            assert!(
                c.html
                    .contains(&format!("/admin/assets/{}\"", a.hashed_name)),
                "admin/index.html must reference /admin/assets/{}",
                a.name
            );
            assert!(!c.html.contains(&format!("/admin/assets/{}\"", a.name)));
        }
    }

    #[test]
    fn the_page_has_no_inline_script_or_style() {
        // The CSP allows only 'self': inline code would be blocked in the browser.
        assert!(!INDEX_HTML.contains("<style"));
        assert!(!INDEX_HTML.contains(" style="));
        let handler = INDEX_HTML.split(' ').any(|w| {
            w.starts_with("on")
                && w.split_once('=')
                    .is_some_and(|(n, _)| n.len() > 2 && n.bytes().all(|b| b.is_ascii_lowercase()))
        });
        assert!(!handler, "no inline event handlers");
        for (i, _) in INDEX_HTML.match_indices("<script") {
            assert!(INDEX_HTML[i..].starts_with("<script src="), "inline script");
        }
    }
}
