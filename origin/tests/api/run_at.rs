//! Jobs that run at a given time (`run_at` on `POST /api/images/batch`), on both queue
//! backends: queued and untouched until then, then run as any job; a bad or too distant time
//! is a 422 problem naming `run_at` (like every invalid field of the body).

use std::time::Duration;

use crate::images::{jpeg, upload};
use crate::jobs::{Q, app_on};

async fn run_at_waits_then_runs(q: Q) {
    let app = app_on(q, &[]).await;
    let (_, up) = upload(&app, jpeg(300, 200)).await;
    let image = up["id"].as_str().expect("uploaded").to_owned();
    let at = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let body = serde_json::json!({
        "images": [image],
        "thumbnail_sizes": ["small"],
        "run_at": at.to_rfc3339(),
    });
    let (status, accepted) = app.post_json("/api/images/batch", &body).await;
    assert_eq!(status, 202, "{accepted}");
    let id = accepted["job_id"].as_str().expect("job id").to_owned();
    let path = format!("/api/jobs/{id}");

    // Before its time: queued, nothing done, and the time shown back.
    let (_, early) = app.get_json_auth(&path).await;
    assert_eq!(early["state"], "queued", "{early}");
    assert_eq!(early["progress"]["done"], 0, "{early}");
    assert_eq!(early["meta"]["run_at"], at.timestamp_millis(), "{early}");

    let mut job = early;
    for _ in 0..300 {
        let (_, j) = app.get_json_auth(&path).await;
        job = j;
        if job["state"] == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(job["state"], "completed", "{job}");
    assert_eq!(job["progress"]["succeeded"], 1, "{job}");
    // Its item finished no earlier than asked.
    let finished = job["updated_at"].as_i64().expect("updated_at");
    assert!(
        finished >= at.timestamp_millis(),
        "ran at {finished}, before run_at {}",
        at.timestamp_millis()
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_at_waits_then_runs_in_process() {
    run_at_waits_then_runs(Q::Memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_at_waits_then_runs_on_redis() {
    run_at_waits_then_runs(Q::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_run_at_is_a_422_naming_it() {
    let app = app_on(Q::Memory, &[("JOB_TTL", "1h")]).await;
    let image = "f".repeat(64);
    let too_far = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    for bad in ["tomorrow", "2026-13-01T00:00:00Z", too_far.as_str()] {
        let body = serde_json::json!({"images": [image], "run_at": bad});
        let (status, problem) = app.post_json("/api/images/batch", &body).await;
        assert_eq!(status, 422, "{bad}: {problem}");
        assert_eq!(problem["field"], "run_at", "{bad}: {problem}");
    }
    // A time already past runs at once.
    let past = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let body = serde_json::json!({"images": [image], "run_at": past});
    let (status, accepted) = app.post_json("/api/images/batch", &body).await;
    assert_eq!(status, 202, "{accepted}");
    app.stop().await;
}
