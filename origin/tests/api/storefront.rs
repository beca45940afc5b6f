//! The storefront page and its assets (`GET /`, `GET /assets/{name}`), and the signed
//! thumbnail `srcset` the page reads from product JSON.

use vitrine_common::signature::SigningKeys;

use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_with};

const KEY: &str = "storefront-signing-key-01";

/// The `/assets/…` paths the page references, in order of appearance.
fn asset_paths(html: &str) -> Vec<String> {
    html.match_indices("/assets/")
        .map(|(i, _)| {
            let rest = &html[i..];
            let end = rest.find(['"', '\'', ' ', '>']).unwrap_or(rest.len());
            rest[..end].to_owned()
        })
        .collect()
}

async fn page(app: &TestApp) -> (reqwest::header::HeaderMap, String) {
    let r = app.get("/").await;
    assert_eq!(r.status(), 200);
    let headers = r.headers().clone();
    (headers, r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_references_hashed_assets_served_immutable() {
    let app = spawn_app(Backend::Sqlite).await;
    let (h, html) = page(&app).await;
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    assert_eq!(
        h["cache-control"],
        "public, max-age=0, stale-if-error=86400"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h["etag"].to_str().unwrap().starts_with("\"b3-"), "{h:?}");
    assert!(html.contains("id=\"q\"") && html.contains("capture=\"environment\""));

    let paths = asset_paths(&html);
    let expected = [
        ("app.js", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
        ("icon.svg", "image/svg+xml"),
    ];
    for (plain, content_type) in expected {
        let (stem, ext) = plain.rsplit_once('.').unwrap();
        let path = paths
            .iter()
            .find(|p| p.starts_with(&format!("/assets/{stem}.")) && p.ends_with(&format!(".{ext}")))
            .unwrap_or_else(|| panic!("the page does not reference {plain}: {paths:?}"));
        let hash = &path[format!("/assets/{stem}.").len()..path.len() - ext.len() - 1];
        assert_eq!(hash.len(), 12, "{path}");
        assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()), "{path}");

        let r = app.get(path).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-type"], content_type, "{path}");
        assert_eq!(
            r.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        let etag = r.headers()["etag"].to_str().unwrap().to_owned();
        let body = r.bytes().await.unwrap();
        assert!(!body.is_empty());
        // The name carries the hash of exactly the bytes served.
        assert_eq!(&blake3::hash(&body).to_hex()[..12], hash, "{path}");
        assert_eq!(etag, vitrine_common::http_cache::strong_etag(&body));

        // The plain name is not served: it could not be cached for a year.
        let r = app.get(&format!("/assets/{plain}")).await;
        assert_eq!(r.status(), 404, "{plain}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etags_give_304_and_other_tags_the_full_body() {
    let app = spawn_app(Backend::Sqlite).await;
    let (h, html) = page(&app).await;
    let etag = h["etag"].to_str().unwrap().to_owned();
    let css = asset_paths(&html)
        .into_iter()
        .find(|p| p.ends_with(".css"))
        .unwrap();
    let css_etag = app.get(&css).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    for (path, tag) in [("/", etag.as_str()), (css.as_str(), css_etag.as_str())] {
        for inm in [
            tag.to_owned(),
            format!("W/{tag}"),
            format!("\"other\", {tag}"),
            "*".to_owned(),
        ] {
            let r = app
                .client
                .get(app.url(path))
                .header("if-none-match", &inm)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 304, "{path} If-None-Match: {inm}");
            assert_eq!(r.headers()["etag"], tag);
            assert!(r.headers().contains_key("cache-control"));
            assert!(r.bytes().await.unwrap().is_empty());
        }
        for inm in ["\"other\"", "W/\"b3-nope\"", "garbage"] {
            let r = app
                .client
                .get(app.url(path))
                .header("if-none-match", inm)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{path} If-None-Match: {inm}");
            assert!(!r.bytes().await.unwrap().is_empty());
        }
    }
    // HEAD: the headers without the body.
    let r = app.client.head(app.url("/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"], etag.as_str());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_assets_are_404_problems() {
    let app = spawn_app(Backend::Sqlite).await;
    for path in [
        "/assets/app.000000000000.js",
        "/assets/nope.css",
        "/assets/..%2f..%2fCargo.toml",
        "/assets/%00",
        "/assets/",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 404, "{path}");
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        assert_eq!(r.headers()["cache-control"], "no-store");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["status"], 404, "{path}: {body}");
    }
    let r = app.client.post(app.url("/")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    app.stop().await;
}

/// Every `srcset` URL of `product` verifies under `keys`, is square `fit:cover` `f:auto`, and
/// the widths ascend, stopping at the demo originals' 320 px (never an upscaled width).
fn check_srcset(product: &serde_json::Value, keys: &SigningKeys) -> Vec<String> {
    let set = product["images"]["srcset"]
        .as_array()
        .unwrap_or_else(|| panic!("no images.srcset in {product}"));
    let image_id = product["image_id"].as_str().unwrap();
    let widths: Vec<u64> = set.iter().map(|c| c["w"].as_u64().unwrap()).collect();
    assert_eq!(widths, [160, 320], "{product}");
    set.iter()
        .map(|c| {
            let url = c["url"].as_str().unwrap();
            let w = c["w"].as_u64().unwrap();
            let p = vitrine_common::thumbnail::split_img_path(url).unwrap();
            assert_eq!(p.options, format!("w:{w}/h:{w}/fit:cover/f:auto"));
            assert_eq!(p.image_id.as_str(), image_id);
            keys.verify(p.signature, p.signed_path)
                .unwrap_or_else(|e| panic!("{url} does not verify: {e}"));
            url.to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_carry_signed_srcsets_that_serve() {
    let app = spawn_app_with(Backend::Sqlite, &[("IMAGE_SIGNING_KEYS", KEY)]).await;
    vitrine_origin::catalog::demo::seed(&app.state.catalog, &app.state.thumbs, 4, false)
        .await
        .unwrap();
    app.state.visual.wait_idle().await;
    let keys = SigningKeys::from_keys(&[KEY]);

    let (status, list) = app.get_json("/api/products?limit=4").await;
    assert_eq!(status, 200, "{list}");
    let first = &list["products"][0];
    let urls = check_srcset(first, &keys);
    let id = first["id"].as_i64().unwrap();

    let (_, one) = app.get_json(&format!("/api/products/{id}")).await;
    assert_eq!(check_srcset(&one, &keys), urls);

    let (_, found) = app.get_json("/api/search/text?q=&limit=4").await;
    for hit in found["results"].as_array().unwrap() {
        check_srcset(hit, &keys);
    }
    let (status, similar) = app
        .get_json(&format!("/api/products/{id}/similar?limit=2"))
        .await;
    assert_eq!(status, 200, "{similar}");
    for hit in similar["results"].as_array().unwrap() {
        check_srcset(hit, &keys);
    }

    // The URLs serve square thumbnails of the asked width; a tampered one is refused.
    for url in [&urls[0], &urls[1]] {
        let r = app
            .client
            .get(app.url(url))
            .header("accept", "image/webp,image/*")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{url}");
        assert_eq!(r.headers()["content-type"], "image/webp");
        let img = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
        let w = url.split("/w:").nth(1).unwrap().split('/').next().unwrap();
        assert_eq!(img.width().to_string(), w);
        assert_eq!(img.width(), img.height());
    }
    let tampered = urls[0].replace("w:160/h:160", "w:161/h:161");
    assert_eq!(app.get(&tampered).await.status(), 403);

    // A product without an image has no `images`.
    let bare = app
        .create_product(crate::helpers::product_json(
            "NOIMG-1",
            "Plain Mug",
            "Mugs",
            "Acme",
            1200,
        ))
        .await;
    assert!(bare.get("images").is_none(), "{bare}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_signing_keys_srcset_urls_are_unsigned() {
    let app = spawn_app(Backend::Sqlite).await;
    vitrine_origin::catalog::demo::seed(&app.state.catalog, &app.state.thumbs, 1, false)
        .await
        .unwrap();
    app.state.visual.wait_idle().await;
    let (_, list) = app.get_json("/api/products?limit=1").await;
    let urls = check_srcset(&list["products"][0], &SigningKeys::default());
    assert!(urls.iter().all(|u| u.starts_with("/img/_/")), "{urls:?}");
    app.stop().await;
}
