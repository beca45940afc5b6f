//! Metrics as Prometheus and operators see them: `/api/metrics` labelled by route template,
//! clean under `promtool check metrics`, exporting every name the deploy rules and dashboard
//! read; `/api/performance` and its summary; the two switches.

use std::{
    collections::BTreeSet,
    io::Write,
    path::PathBuf,
    process::{Command, Stdio},
};

use vitrine_common::cache_key::Namespace;
use vitrine_origin::cache::stats::Tier;

use crate::helpers::{Backend, TestApp, product_json, spawn_app, spawn_app_with};
use crate::on_both_backends;

on_both_backends!(metrics_are_labelled_by_route_template);

async fn scrape(app: &TestApp) -> String {
    let r = app.get("/api/metrics").await;
    assert_eq!(r.status(), 200);
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    r.text().await.unwrap()
}

/// The sample lines (not comments) of metric `name`, histogram series included.
fn series<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name).is_some_and(|rest| {
                rest.starts_with(['{', ' '])
                    || ["_bucket", "_sum", "_count"]
                        .iter()
                        .any(|s| rest.starts_with(s))
            })
        })
        .collect()
}

/// The value of the one sample of `name` whose labels include all of `labels`.
fn value(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .find(|l| labels.iter().all(|lab| l.contains(lab)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// A few requests of every kind: a matched route with an id, a 404 on it, an unmatched path.
async fn traffic(app: &TestApp) {
    let p = app
        .create_product(product_json("MET-1", "Metrics Lamp", "Home", "Acme", 1999))
        .await;
    let id = p["id"].as_i64().unwrap();
    for _ in 0..3 {
        assert_eq!(app.get(&format!("/api/products/{id}")).await.status(), 200);
    }
    assert_eq!(app.get("/api/products/123456").await.status(), 404);
    assert_eq!(app.get("/api/products/123").await.status(), 404);
    assert_eq!(app.get("/no/such/path/42").await.status(), 404);
    assert_eq!(app.get("/api/search/text?q=lamp").await.status(), 200);
}

async fn metrics_are_labelled_by_route_template(backend: Backend) {
    let app = spawn_app(backend).await;
    traffic(&app).await;
    let text = scrape(&app).await;

    let get_ok = value(
        &text,
        "http_requests_total",
        &[
            r#"endpoint="/api/products/{id}""#,
            r#"method="GET""#,
            r#"status="200""#,
        ],
    );
    assert_eq!(get_ok, Some(3.0), "{text}");
    let not_found = value(
        &text,
        "http_requests_total",
        &[r#"endpoint="/api/products/{id}""#, r#"status="404""#],
    );
    assert_eq!(not_found, Some(2.0));
    assert_eq!(
        value(
            &text,
            "http_requests_total",
            &[r#"endpoint="unmatched""#, r#"status="404""#]
        ),
        Some(1.0)
    );
    assert!(
        value(
            &text,
            "http_request_duration_seconds_count",
            &[r#"endpoint="/api/products/{id}""#, r#"method="GET""#]
        )
        .is_some_and(|n| n >= 5.0)
    );
    // Never a raw path or a query string.
    for raw in ["/api/products/123", "/no/such", "q=lamp", "MET-1"] {
        assert!(!text.contains(raw), "{raw} leaked into the metrics");
    }
    // The pool gauges are read at scrape time; the test pool has 5 connections.
    assert_eq!(value(&text, "db_connections_max", &[]), Some(5.0));
    assert!(value(&text, "db_connections_active", &[]).is_some());
    assert!(
        value(
            &text,
            "db_query_duration_seconds_count",
            &[r#"query_type="product_get""#]
        )
        // The first GET of MET-1 and the two 404s; the repeated GETs are cache hits.
        .is_some_and(|n| n >= 3.0),
        "{text}"
    );
    assert!(value(&text, "process_resident_memory_bytes", &[]).is_some_and(|b| b > 0.0));
    assert_eq!(
        value(&text, "vitrine_memory_budget_bytes", &[]),
        Some(1073741824.0)
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promtool_check_metrics_reports_nothing() {
    let app = spawn_app(Backend::Sqlite).await;
    traffic(&app).await;
    // Feed every other family too, so their series are linted with real values.
    let m = &app.state.metrics;
    m.cache_get(Namespace::Search, Tier::L1, false);
    m.compression("br", 1000, 300);
    m.job_completed(0.5);
    m.image_stage("resize", 0.01);
    let text = scrape(&app).await;
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run promtool ({e}); install it with: apt-get install -y prometheus \
                 (scripts/ci/check-deploy.sh does this for you)"
            )
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{report}"
    );
    assert!(
        report.trim().is_empty(),
        "promtool check metrics reported:\n{report}"
    );
    app.stop().await;
}

fn deploy_metric_names() -> Vec<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new("bash")
        .arg(root.join("scripts/ci/check-deploy.sh"))
        .arg("--list-metrics")
        .output()
        .unwrap_or_else(|e| panic!("cannot run scripts/ci/check-deploy.sh: {e}"));
    assert!(
        out.status.success(),
        "scripts/ci/check-deploy.sh --list-metrics failed (it installs its Python venv from \
         scripts/tools/python-requirements.txt when missing):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    assert!(names.len() > 10, "suspiciously few names: {names:?}");
    names
}

/// Every metric the alert rules and the dashboard read is one a freshly started origin
/// exports, after a little traffic and before any cache, image or job activity: the series
/// of the layers that have not run yet exist at zero.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_deploy_config_reads_is_exported() {
    let names = deploy_metric_names();
    let app = spawn_app(Backend::Sqlite).await;
    traffic(&app).await;
    let text = scrape(&app).await;
    let missing: BTreeSet<&String> = names
        .iter()
        .filter(|n| series(&text, n).is_empty())
        .collect();
    assert!(
        missing.is_empty(),
        "exported by no series: {missing:?}\n--- scrape ---\n{text}"
    );
    // Histograms count through their buckets.
    for h in [
        "http_request_duration_seconds",
        "db_query_duration_seconds",
        "image_processing_duration_seconds",
        "job_duration_seconds",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("{h}_bucket{{"))),
            "{h} has no buckets"
        );
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_disabled_is_a_404_problem() {
    let app = spawn_app_with(Backend::Sqlite, &[("PROMETHEUS_ENABLED", "false")]).await;
    let r = app.get("/api/metrics").await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("PROMETHEUS_ENABLED")
    );
    // The JSON report does not depend on the scrape endpoint.
    let (status, _) = app.get_json("/api/performance").await;
    assert_eq!(status, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitoring_disabled_records_nothing() {
    let app = spawn_app_with(Backend::Sqlite, &[("MONITORING_ENABLED", "false")]).await;
    traffic(&app).await;
    app.state
        .metrics
        .cache_get(Namespace::Search, Tier::L1, true);
    let text = scrape(&app).await;
    assert!(series(&text, "http_requests_total").is_empty(), "{text}");
    assert_eq!(
        value(
            &text,
            "cache_operations_total",
            &[r#"operation="get""#, r#"status="hit""#]
        ),
        Some(0.0)
    );
    // Still a valid scrape: the declared families and process metrics are there.
    assert!(value(&text, "db_connections_max", &[]).is_some());
    let (_, perf) = app.get_json("/api/performance").await;
    assert_eq!(perf["monitoring_enabled"], false);
    assert_eq!(perf["requests"]["overall"]["requests"], 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn performance_report_shape_and_recording_functions() {
    // Without the response cache, the only cache lookups are the ones recorded below.
    let app = spawn_app_with(Backend::Sqlite, &[("CACHE_ENABLED", "false")]).await;
    traffic(&app).await;
    // The other layers' one-line hooks.
    let m = &app.state.metrics;
    for hit in [true, true, false, false] {
        m.cache_get(Namespace::Search, Tier::L1, hit);
    }
    m.cache_get(Namespace::Product, Tier::L1, true);
    m.compression("br", 10_000, 2_000);
    // A stale gauge: the queue's real depth (empty) replaces it whenever metrics are read.
    m.jobs_queued(3);
    m.jobs_running(1);
    m.job_completed(0.2);
    m.job_failed(0.1);
    m.job_dead_lettered();
    m.rate_limit(false);
    m.image_processed("webp");
    m.image_failed("corrupt");

    let (status, r) = app.get_json("/api/performance").await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["window_seconds"], 300);
    assert_eq!(r["monitoring_enabled"], true);
    let endpoints = r["requests"]["endpoints"].as_array().unwrap();
    let product = endpoints
        .iter()
        .find(|e| e["endpoint"] == "/api/products/{id}" && e["method"] == "GET")
        .unwrap_or_else(|| panic!("no /api/products/{{id}} in {r}"));
    assert_eq!(product["requests"], 5);
    for q in ["p50_ms", "p95_ms", "p99_ms", "mean_ms", "max_ms"] {
        assert!(product[q].as_f64().unwrap() > 0.0, "{q}: {product}");
    }
    assert!(product["p50_ms"].as_f64() <= product["p99_ms"].as_f64());
    assert!(
        endpoints
            .iter()
            .all(|e| !e["endpoint"].as_str().unwrap().contains("123"))
    );
    assert!(r["requests"]["overall"]["requests"].as_u64().unwrap() >= 8);
    assert_eq!(r["database"]["pool"]["max"], 5);
    assert!(
        r["database"]["queries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q["query_type"] == "product_get")
    );
    // 3 hits of 5 lookups: 0.6 < 0.7 fires Low Cache Hit Rate.
    assert_eq!(r["cache"]["lookups"], 5);
    assert_eq!(r["cache"]["hit_rate"], 0.6);
    assert_eq!(r["cache"]["namespaces"]["search"]["hit_rate"], 0.5);
    assert_eq!(r["cache"]["namespaces"]["product"]["hit_rate"], 1.0);
    assert_eq!(r["compression"]["algorithms"]["br"]["savings_ratio"], 0.8);
    assert_eq!(
        r["jobs"]["queued"], 0,
        "read from the queue, not the stale value"
    );
    assert_eq!(r["jobs"]["running"], 1);
    assert_eq!(r["jobs"]["completed"], 1);
    assert_eq!(r["jobs"]["dead_lettered"], 1);
    let alerts = r["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[0]["name"], "High Response Time");
    assert_eq!(alerts[0]["state"], "ok");
    assert_eq!(alerts[1]["name"], "Low Cache Hit Rate");
    assert_eq!(alerts[1]["state"], "firing");
    assert_eq!(r["status"], "degraded");

    let (status, s) = app.get_json("/api/health/performance").await;
    assert_eq!(status, 200);
    assert_eq!(s["status"], "degraded");
    assert_eq!(s["cache_hit_rate"], 0.6);
    assert!(s["p95_ms"].as_f64().is_some());
    assert_eq!(s["alerts"][1]["state"], "firing");

    // The same events reached Prometheus, and the gauge follows the window.
    let text = scrape(&app).await;
    assert_eq!(value(&text, "cache_hit_rate", &[]), Some(0.6));
    assert_eq!(value(&text, "jobs_queued", &[]), Some(0.0));
    assert_eq!(value(&text, "jobs_dead_lettered_total", &[]), Some(1.0));
    assert_eq!(
        value(
            &text,
            "rate_limit_decisions_total",
            &[r#"decision="limited""#]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&text, "compression_bytes_out_total", &[r#"algorithm="br""#]),
        Some(2000.0)
    );
    assert_eq!(
        value(&text, "images_failed_total", &[r#"reason="corrupt""#]),
        Some(1.0)
    );
    app.stop().await;
}

/// The image pipeline and the job workers report through the metrics: an upload runs the
/// pipeline (one WebP output), a batch job completes an item.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_and_jobs_are_measured() {
    let app = spawn_app(Backend::Sqlite).await;
    let (status, up) = crate::images::upload(&app, crate::images::jpeg(320, 240)).await;
    assert_eq!(status, 201, "{up}");
    let text = scrape(&app).await;
    assert!(
        value(&text, "images_processed_total", &[r#"format="webp""#]).is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        value(
            &text,
            "image_processing_duration_seconds_count",
            &[r#"stage="pipeline""#]
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    let r = app
        .client
        .post(app.url("/api/images/batch"))
        .bearer_auth(crate::helpers::API_KEY)
        .json(&serde_json::json!({"images": [up["id"]], "thumbnail_sizes": ["small"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let text = scrape(&app).await;
        if value(&text, "jobs_completed_total", &[]).is_some_and(|n| n >= 1.0) {
            assert!(value(&text, "job_duration_seconds_count", &[]).is_some_and(|n| n >= 1.0));
            assert_eq!(value(&text, "jobs_running", &[]), Some(0.0));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no job completion in the metrics: {text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.stop().await;
}
