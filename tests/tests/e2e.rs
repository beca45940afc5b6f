//! End-to-end: the real `vitrine-origin` binary as a process, started the way the README
//! says (embedded defaults), driven over HTTP and through its CLI, stopped with SIGTERM.
#![allow(clippy::unwrap_used)]

use std::{
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

const KEY: &str = "e2e-key-0123456789";

use vitrine_testkit::{OriginProcess, Stdout, origin_binary, temp_dir};

/// The origin as the README starts it: embedded defaults, a seeded demo catalog, JSON logs
/// captured on stdout.
fn start(data_dir: &Path) -> OriginProcess {
    let data_dir = data_dir.display().to_string();
    OriginProcess::start(
        &origin_binary(),
        &[
            ("DATA_DIR", data_dir.as_str()),
            ("DEMO_PRODUCTS", "30"),
            ("API_KEYS", KEY),
            ("SEARCH_SYNC_INTERVAL", "1s"),
            ("STRUCTURED_LOGGING", "true"),
            ("LOG_LEVEL", "info"),
        ],
        Stdout::Capture,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_defaults_seed_search_import_and_stop_gracefully() {
    let temp = temp_dir();
    let dir = temp.path();
    let client = reqwest::Client::new();
    let mut origin = start(dir);
    origin.wait_ready(&client, Duration::from_secs(120)).await;

    // The demo catalog is there and searchable, with images.
    let r = client
        .get(format!("{}/api/search/text?q=laptop", origin.base))
        .send()
        .await
        .unwrap();
    assert!(r.headers().contains_key("x-request-id"));
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(
        v["results"][0]["title"]
            .as_str()
            .unwrap()
            .ends_with("Laptop"),
        "{v}"
    );
    let image = v["results"][0]["image_id"].as_str().unwrap().to_owned();
    let r = client
        .get(format!("{}/api/images/{image}", origin.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The import CLI writes to the same catalog while the server runs; the server's
    // search index catches up by itself.
    let csv = dir.join("import.csv");
    std::fs::write(
        &csv,
        "sku,title,brand,category,price,currency,attributes\n\
         IMP-1,Telescope Explorer,Orbit,Optics,49900,USD,\"{\"\"aperture\"\":\"\"90mm\"\"}\"\n\
         IMP-2,Bad Row,Orbit,Optics,-3,USD,\n",
    )
    .unwrap();
    let out = Command::new(origin_binary())
        .arg("import")
        .arg(&csv)
        .env("DATA_DIR", dir)
        .env("LOG_LEVEL", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1 inserted"), "{stdout}");
    assert!(stdout.contains("1 rejected"), "{stdout}");
    assert!(stdout.contains("line 3"), "{stdout}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v: serde_json::Value = client
            .get(format!("{}/api/search/text?q=telescope", origin.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if v["total"] == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "imported product never became searchable: {v}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // SIGTERM: the process stops cleanly.
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(origin.child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(s) = origin.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the origin did not stop within 20 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(exit.success(), "{exit:?}");
    // Structured logs: JSON lines carrying the request id and route.
    let mut logs = String::new();
    use std::io::Read;
    origin
        .child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    let finished: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v["message"] == "request finished")
        .collect();
    assert!(!finished.is_empty(), "no request log lines in: {logs}");
    assert!(
        finished.iter().any(|v| v["request_id"].is_string()
            && v["request_id"] == v["span"]["request_id"]
            && v["route"] == "/api/search/text"
            && v["status"] == 200
            && v["latency_ms"].is_number()),
        "{logs}"
    );
}

#[test]
fn an_explicit_visual_model_that_does_not_load_stops_start_up_naming_it() {
    let dir = temp_dir();
    for model in [
        "/nonexistent/vitrine-model".to_owned(),
        dir.path().display().to_string(),
    ] {
        let out = Command::new(origin_binary())
            .env("VISUAL_MODEL", &model)
            .env("DATA_DIR", dir.path())
            .env("BIND_ADDR", "127.0.0.1:0")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "VISUAL_MODEL={model}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("VISUAL_MODEL"), "{stderr}");
    }
}

#[test]
fn an_invalid_setting_stops_start_up_naming_the_variable() {
    let dir = temp_dir();
    let out = Command::new(origin_binary())
        .env("QUERY_TIMEOUT", "soon")
        .env("DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("QUERY_TIMEOUT"), "{stderr}");
}
