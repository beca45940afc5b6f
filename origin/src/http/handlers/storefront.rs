//! The storefront: one HTML page (`GET /`) and its static assets (`GET /assets/{name}`),
//! embedded in the binary from `origin/assets/`, served with content-hashed names
//! (`http::bundle` says why). Unknown asset names, including the plain and stale hashed
//! ones, are `404` problem+json.

use std::sync::LazyLock;

use axum::{http::HeaderMap, response::Response};

use crate::http::{
    bundle::{Bundle, PAGE_CACHE_CONTROL, Source, conditional},
    error::{ApiError, ApiPath},
};

const INDEX_HTML: &str = include_str!("../../../assets/index.html");

/// The embedded assets: plain name, content type, bytes.
const SOURCES: &[Source] = &[
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

/// Built once, on first use.
pub static STOREFRONT: LazyLock<Bundle> =
    LazyLock::new(|| Bundle::build(INDEX_HTML, "/assets/", SOURCES));

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
        &[],
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
    STOREFRONT.serve_asset(&headers, &name, "the page")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_every_asset_by_its_hash() {
        let s = Bundle::build(INDEX_HTML, "/assets/", SOURCES);
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
}
