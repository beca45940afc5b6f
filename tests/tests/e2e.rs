//! End-to-end: the real `vitrine-origin` binary as a process, started the way the README
//! says (embedded defaults), driven over HTTP and through its CLI, stopped with SIGTERM.
#![allow(clippy::unwrap_used)]

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

const KEY: &str = "e2e-key-0123456789";

use vitrine_e2e::{free_port, origin_binary};

struct Origin {
    child: Child,
    base: String,
}

impl Drop for Origin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data_dir: &std::path::Path) -> Origin {
    let port = free_port();
    let child = Command::new(origin_binary())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("DATA_DIR", data_dir)
        .env("DEMO_PRODUCTS", "30")
        .env("API_KEYS", KEY)
        .env("SEARCH_SYNC_INTERVAL", "1s")
        .env("STRUCTURED_LOGGING", "true")
        .env("LOG_LEVEL", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting vitrine-origin");
    Origin {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

async fn wait_ready(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(r) = client.get(format!("{base}/api/health/ready")).send().await
            && r.status() == 200
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the origin did not become ready in 120 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_defaults_seed_search_import_and_stop_gracefully() {
    let dir = tempfile_dir();
    let client = reqwest::Client::new();
    let mut origin = start(&dir);
    wait_ready(&client, &origin.base).await;

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
        .env("DATA_DIR", &dir)
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
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_invalid_setting_stops_start_up_naming_the_variable() {
    let out = Command::new(origin_binary())
        .env("QUERY_TIMEOUT", "soon")
        .env("DATA_DIR", tempfile_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("QUERY_TIMEOUT"), "{stderr}");
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "vitrine-e2e-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}
