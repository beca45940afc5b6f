//! Periodic jobs (`jobs::schedule`): one occurrence fires once across instances that share a
//! database and a queue, a restarted instance fires the occurrence nobody fired while it was
//! down (once), and `GET /api/jobs/schedules` shows the next run and the runs fired.

use std::time::Duration;

use serde_json::Value;
use sqlx::Connection as _;

use crate::helpers::{TestApp, spawn_on};
use crate::jobs::{redis_url, unique_prefix};
use vitrine_testkit::{fresh_postgres, temp_dir};

const NAME: &str = "object_store_orphans";
const DAY: i64 = 86_400_000;

async fn runs(app: &TestApp) -> Vec<Value> {
    let (status, body) = app.get_json_auth("/api/jobs/schedules").await;
    assert_eq!(status, 200, "{body}");
    let schedule = body["schedules"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == NAME))
        .unwrap_or_else(|| panic!("no {NAME} schedule in {body}"))
        .clone();
    schedule["runs"].as_array().cloned().unwrap_or_default()
}

/// Waits (at most `limit`) until `cond` holds.
async fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cond()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_periodic_job_fires_once_per_occurrence_across_two_instances() {
    let database = fresh_postgres().await;
    let redis = redis_url().await;
    let prefix = format!("{}:", unique_prefix());
    let env = [
        ("REDIS_URL", redis.as_str()),
        ("CACHE_KEY_PREFIX", prefix.as_str()),
        ("OBJECT_STORE_ORPHAN_INTERVAL", "1s"),
    ];
    let a = spawn_on(database.clone(), temp_dir(), &env).await;
    let b = spawn_on(database.clone(), temp_dir(), &env).await;
    let fired = || a.state.schedules.fired() + b.state.schedules.fired();
    assert!(
        wait_until(Duration::from_secs(60), || fired() >= 5).await,
        "five occurrences did not fire within a minute (fired {})",
        fired()
    );
    let a_schedules = a.state.schedules.clone();
    a.stop().await;
    // `b` alone for a moment: it goes on firing the occurrences.
    let more = b.state.schedules.fired();
    assert!(
        wait_until(Duration::from_secs(30), || b.state.schedules.fired()
            >= more + 2)
        .await,
        "the remaining instance stopped firing"
    );
    let runs = runs(&b).await;
    let total = a_schedules.fired() + b.state.schedules.fired();
    // Every fire is one run row; had two instances fired one occurrence, there would be more
    // fires than rows (the row's key is the occurrence).
    assert_eq!(runs.len() as u64, total, "fires {total} vs runs {runs:?}");
    let mut dues: Vec<i64> = runs.iter().filter_map(|r| r["due_at"].as_i64()).collect();
    assert!(
        dues.iter().all(|d| d % 1000 == 0),
        "occurrences on the second: {dues:?}"
    );
    dues.sort_unstable();
    dues.dedup();
    assert_eq!(
        dues.len(),
        runs.len(),
        "an occurrence fired twice: {runs:?}"
    );
    // Each run's job ran to completion on one of the instances (a sweep report as result).
    for run in &runs {
        let id = run["job_id"].as_str().expect("a fired run names its job");
        let mut state = Value::Null;
        for _ in 0..100 {
            let (status, job) = b.get_json_auth(&format!("/api/jobs/{id}")).await;
            assert_eq!(status, 200, "{job}");
            state = job["state"].clone();
            if state == "completed" {
                assert_eq!(job["kind"], NAME);
                assert!(job["items"][0]["result"]["scanned"].is_u64(), "{job}");
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(state, "completed", "job {id} of run {run}");
    }
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_fires_the_missed_occurrence_once_and_shows_the_next_run() {
    let dir = temp_dir();
    let url = format!("sqlite:{}", dir.path().join("test.db").display());
    // Daily, so that the occurrence cannot change during the test (unless it straddles
    // midnight UTC).
    let env = [("OBJECT_STORE_ORPHAN_INTERVAL", "24h")];
    // First start: the schedule is registered now, so the day already begun is not owed.
    let app = spawn_on(url.clone(), dir, &env).await;
    let (status, body) = app.get_json_auth("/api/jobs/schedules").await;
    assert_eq!(status, 200, "{body}");
    let next = body["schedules"][0]["next_run_at"]
        .as_i64()
        .expect("next run");
    assert_eq!(
        next % DAY,
        0,
        "daily occurrences fall on midnight UTC: {body}"
    );
    assert_eq!(body["schedules"][0]["schedule"], "every 86400s");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(app.state.schedules.fired(), 0);
    assert!(runs(&app).await.is_empty());
    let dir = app.stop_keeping_data().await;

    // As if it had been registered two days ago and every instance was down since: today's
    // occurrence is owed (yesterday's is not replayed), and fires once on the next start.
    {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("UPDATE job_schedules SET registered_at = registered_at - 172800000")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let app = spawn_on(url.clone(), dir, &env).await;
    assert!(
        wait_until(Duration::from_secs(20), || app.state.schedules.fired() == 1).await,
        "the missed occurrence did not fire"
    );
    let first = runs(&app).await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0]["due_at"].as_i64(), Some(next - DAY));
    let dir = app.stop_keeping_data().await;

    // Another restart the same day: that occurrence has fired; nothing fires again.
    let app = spawn_on(url, dir, &env).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(app.state.schedules.fired(), 0);
    assert_eq!(runs(&app).await, first);
    app.stop().await;
}
