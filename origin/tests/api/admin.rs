//! The operator console (`GET /admin`, `GET /admin/assets/{name}`), the key check its login
//! form asks (`GET /api/auth/check`) and the memory figures it charts.

use crate::helpers::{API_KEY, Backend, TestApp, spawn_app, spawn_app_with};

/// The `/admin/assets/…` paths the page references, in order of appearance.
fn asset_paths(html: &str) -> Vec<String> {
    html.match_indices("/admin/assets/")
        .map(|(i, _)| {
            let rest = &html[i..];
            let end = rest.find(['"', '\'', ' ', '>']).unwrap_or(rest.len());
            rest[..end].to_owned()
        })
        .collect()
}

async fn page(app: &TestApp) -> (reqwest::header::HeaderMap, String) {
    let r = app.get("/admin").await;
    assert_eq!(r.status(), 200);
    let headers = r.headers().clone();
    (headers, r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_is_served_with_a_strict_policy_and_hashed_assets() {
    let app = spawn_app(Backend::Sqlite).await;
    let (h, html) = page(&app).await;
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    assert_eq!(
        h["cache-control"],
        "public, max-age=0, stale-if-error=86400"
    );
    let csp = h["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-robots-tag"], "noindex");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(!h.contains_key("set-cookie"));
    assert!(h["etag"].to_str().unwrap().starts_with("\"b3-"), "{h:?}");
    assert!(html.contains("id=\"api-key\"") && html.contains("type=\"password\""));

    let paths = asset_paths(&html);
    let expected = [
        ("admin.js", "text/javascript; charset=utf-8"),
        ("charts.js", "text/javascript; charset=utf-8"),
        ("admin.css", "text/css; charset=utf-8"),
    ];
    assert_eq!(paths.len(), expected.len(), "{paths:?}");
    for (plain, content_type) in expected {
        let (stem, ext) = plain.rsplit_once('.').unwrap();
        let prefix = format!("/admin/assets/{stem}.");
        let path = paths
            .iter()
            .find(|p| p.starts_with(&prefix) && p.ends_with(&format!(".{ext}")))
            .unwrap_or_else(|| panic!("the console does not reference {plain}: {paths:?}"));
        let hash = &path[prefix.len()..path.len() - ext.len() - 1];
        assert_eq!(hash.len(), 12, "{path}");

        let r = app.get(path).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-type"], content_type, "{path}");
        assert_eq!(
            r.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        let etag = r.headers()["etag"].to_str().unwrap().to_owned();
        let body = r.bytes().await.unwrap();
        assert_eq!(&blake3::hash(&body).to_hex()[..12], hash, "{path}");
        assert_eq!(etag, vitrine_common::http_cache::strong_etag(&body));

        // Revalidation: 304 without a body; another tag gets the bytes.
        let r = app
            .client
            .get(app.url(path))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304, "{path}");
        assert_eq!(r.headers()["etag"], etag.as_str());
        assert!(r.bytes().await.unwrap().is_empty());

        // The plain name, and the storefront's asset path, do not serve it.
        assert_eq!(
            app.get(&format!("/admin/assets/{plain}")).await.status(),
            404
        );
        assert_eq!(
            app.get(&format!("/assets/{}", &path["/admin/assets/".len()..]))
                .await
                .status(),
            404
        );
    }

    let etag = h["etag"].to_str().unwrap();
    for inm in [etag.to_owned(), format!("W/{etag}"), "*".to_owned()] {
        let r = app
            .client
            .get(app.url("/admin"))
            .header("if-none-match", &inm)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304, "If-None-Match: {inm}");
        assert_eq!(r.headers()["etag"], etag);
        // The 304 carries the policy too (RFC 9110 §15.4.5: the headers a 200 would send).
        assert!(r.headers().contains_key("content-security-policy"));
        assert!(r.bytes().await.unwrap().is_empty());
    }
    let r = app
        .client
        .get(app.url("/admin"))
        .header("if-none-match", "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    for path in [
        "/admin/assets/admin.000000000000.js",
        "/admin/assets/",
        "/admin/assets/%00",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 404, "{path}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_check_admits_only_a_configured_key() {
    let app = spawn_app(Backend::Sqlite).await;
    let (status, body) = app.get_json_auth("/api/auth/check").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["authenticated"], true);

    let r = app.get("/api/auth/check").await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    for wrong in [format!("{API_KEY}x"), String::new(), "Basic abc".into()] {
        let r = app
            .client
            .get(app.url("/api/auth/check"))
            .header("authorization", format!("Bearer {wrong}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{wrong:?}");
    }
    let r = app
        .client
        .get(app.url("/api/auth/check"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detailed_health_reports_memory_against_the_budget() {
    let app = spawn_app_with(Backend::Sqlite, &[("MEMORY_BUDGET_BYTES", "8589934592")]).await;
    let (status, body) = app.get_json("/api/health/detailed").await;
    assert_eq!(status, 200, "{body}");
    let memory = &body["memory"];
    assert_eq!(memory["budget_bytes"], 8_589_934_592u64, "{memory}");
    let resident = memory["resident_bytes"]
        .as_u64()
        .expect("resident_bytes on Linux");
    assert!(resident > 1 << 20, "{memory}");
    let ratio = memory["usage_ratio"].as_f64().unwrap();
    assert!(
        (ratio - resident as f64 / 8_589_934_592.0).abs() < 1e-9,
        "{memory}"
    );
    app.stop().await;

    let app = spawn_app_with(Backend::Sqlite, &[("MEMORY_BUDGET_BYTES", "0")]).await;
    let (_, body) = app.get_json("/api/health/detailed").await;
    assert!(body["memory"]["budget_bytes"].is_null(), "{body}");
    assert!(body["memory"]["usage_ratio"].is_null(), "{body}");
    app.stop().await;
}
