//! The operator's job APIs on both queue backends, with real workers: dead letters listed,
//! redriven (the job's recorded failure replaced by the success, once), discarded, one at a
//! time and in bulk; 404s for unknown ids; the recent-jobs listing with its filters, cursor
//! and bounds.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use futures::{FutureExt, future::BoxFuture};
use vitrine_origin::jobs::{
    ItemError, JobQueue, JobStats, NewJob, Priority, Task, TaskError, TaskHandler, worker::Workers,
};

use crate::helpers::{API_KEY, TestApp};
use crate::jobs::{Q, app_get, app_on, cleanup, redis_url};

/// Fails items whose payload says `"fail": true` transiently while `broken` is set.
pub(crate) struct Breakable {
    pub(crate) broken: AtomicBool,
}

impl TaskHandler for Breakable {
    fn handle<'a>(&'a self, task: &'a Task) -> BoxFuture<'a, Result<serde_json::Value, TaskError>> {
        async move {
            if task.payload["fail"] == true && self.broken.load(Ordering::SeqCst) {
                return Err(TaskError::Transient(ItemError::new("down", "storage down")));
            }
            Ok(serde_json::json!({"index": task.index}))
        }
        .boxed()
    }
}

pub(crate) fn job(kind: &str, fails: &[bool]) -> NewJob {
    NewJob {
        kind: kind.into(),
        priority: Priority::High,
        idempotency_key: None,
        unique: None,
        items: fails
            .iter()
            .map(|f| serde_json::json!({ "fail": f }))
            .collect(),
        prefailed: vec![],
        meta: serde_json::json!({"test": true}),
    }
}

pub(crate) async fn wait_view(
    app: &TestApp,
    id: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, v) = app_get(app, &format!("/api/jobs/{id}")).await;
        assert_eq!(status, 200, "{v}");
        if done(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "{v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) fn finished(v: &serde_json::Value) -> bool {
    matches!(v["state"].as_str(), Some("completed" | "failed"))
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut r = app
        .client
        .request(method, app.url(path))
        .bearer_auth(API_KEY);
    if let Some(b) = body {
        r = r
            .header("content-type", "application/json")
            .body(b.to_owned());
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    if status >= 400 {
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }
    (status, r.json().await.unwrap_or_default())
}

async fn dead_ids(app: &TestApp, job_id: &str) -> Vec<(u64, String)> {
    let (status, page) = app_get(app, "/api/jobs/dead?limit=100").await;
    assert_eq!(status, 200, "{page}");
    let mut out: Vec<(u64, String)> = page["dead_letters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["job_id"] == job_id)
        .map(|d| {
            (
                d["index"].as_u64().unwrap(),
                d["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

async fn dead_letters_redrive_and_discard(q: Q) {
    let app = app_on(
        q,
        &[
            ("ASYNC_WORKERS", "0"),
            ("JOB_MAX_ATTEMPTS", "2"),
            ("JOB_RETRY_BASE", "10ms"),
        ],
    )
    .await;
    let queue: Arc<dyn JobQueue> = app.state.jobs.queue.clone();
    let handler = Arc::new(Breakable {
        broken: AtomicBool::new(true),
    });
    let workers = Workers::start(
        queue.clone(),
        handler.clone(),
        Arc::new(JobStats::default()),
        2,
        2,
    );

    // Items 0 and 1 fail twice and are dead-lettered; item 2 succeeds.
    let id = queue
        .submit(job("breakable", &[true, true, false]))
        .await
        .unwrap();
    let id = id.id().to_owned();
    let v = wait_view(&app, &id, finished).await;
    assert_eq!(v["state"], "completed", "{v}");
    assert_eq!(
        (
            v["progress"]["succeeded"].as_u64(),
            v["progress"]["failed"].as_u64()
        ),
        (Some(1), Some(2)),
        "{v}"
    );

    // The listing: what, why, how often, when; newest first, paginated.
    let (status, page) = app_get(&app, "/api/jobs/dead?limit=1").await;
    assert_eq!(status, 200, "{page}");
    let first = &page["dead_letters"][0];
    assert_eq!(first["job_id"], id.as_str());
    assert_eq!(first["kind"], "breakable");
    assert_eq!(first["error"]["code"], "down");
    assert_eq!(first["attempts"], 2);
    assert!(
        first["dead_at"].as_i64().unwrap() > 1_700_000_000_000,
        "{first}"
    );
    let cursor = page["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let (_, second) = app_get(&app, &format!("/api/jobs/dead?limit=1&cursor={cursor}")).await;
    assert_eq!(
        second["dead_letters"].as_array().unwrap().len(),
        1,
        "{second}"
    );
    assert_ne!(second["dead_letters"][0]["id"], first["id"]);
    assert!(second["next_cursor"].is_null(), "{second}");
    let dead = dead_ids(&app, &id).await;
    assert_eq!(dead.iter().map(|d| d.0).collect::<Vec<_>>(), vec![0, 1]);

    // Unknown and malformed ids, bad cursors.
    for (method, path) in [
        (reqwest::Method::POST, "/api/jobs/dead/1-1/retry".to_owned()),
        (reqwest::Method::DELETE, "/api/jobs/dead/1-1".to_owned()),
        (
            reqwest::Method::POST,
            "/api/jobs/dead/not-an-id/retry".to_owned(),
        ),
        (reqwest::Method::DELETE, "/api/jobs/dead/%20".to_owned()),
    ] {
        let (status, problem) = send(&app, method, &path, None).await;
        assert_eq!(status, 404, "{path}: {problem}");
    }
    let (status, problem) = app_get(&app, "/api/jobs/dead?cursor=abc").await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (400, Some("cursor")),
        "{problem}"
    );

    // Redrive item 0 once the storage is back: the job's failure becomes a success.
    handler.broken.store(false, Ordering::SeqCst);
    let (status, count) = send(
        &app,
        reqwest::Method::POST,
        &format!("/api/jobs/dead/{}/retry", dead[0].1),
        None,
    )
    .await;
    assert_eq!(status, 200, "{count}");
    assert_eq!(count["affected"], 1, "{count}");
    // A dead letter is redriven once: it is gone now.
    let (status, _) = send(
        &app,
        reqwest::Method::POST,
        &format!("/api/jobs/dead/{}/retry", dead[0].1),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let v = wait_view(&app, &id, |v| {
        finished(v) && v["progress"]["succeeded"] == 2
    })
    .await;
    assert_eq!(v["state"], "completed", "{v}");
    let p = &v["progress"];
    assert_eq!(
        (
            p["total"].as_u64(),
            p["done"].as_u64(),
            p["failed"].as_u64()
        ),
        (Some(3), Some(3), Some(1)),
        "{v}"
    );
    let item0 = &v["items"][0];
    assert_eq!(item0["status"], "succeeded", "{v}");
    assert_eq!(item0["attempts"], 1, "attempts start again: {item0}");
    assert_eq!(v["items"].as_array().unwrap().len(), 3, "{v}");

    // Discard item 1: the letter goes, the item stays failed.
    let (status, count) = send(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/jobs/dead/{}", dead[1].1),
        None,
    )
    .await;
    assert_eq!(
        (status, count["affected"].as_u64()),
        (200, Some(1)),
        "{count}"
    );
    assert!(dead_ids(&app, &id).await.is_empty());
    let (_, v) = app_get(&app, &format!("/api/jobs/{id}")).await;
    assert_eq!(v["items"][1]["status"], "failed", "{v}");

    // Bulk: three more dead letters.
    handler.broken.store(true, Ordering::SeqCst);
    let id2 = queue
        .submit(job("breakable", &[true, true, true]))
        .await
        .unwrap();
    let id2 = id2.id().to_owned();
    let v = wait_view(&app, &id2, finished).await;
    assert_eq!(v["state"], "failed", "{v}");
    let dead = dead_ids(&app, &id2).await;
    assert_eq!(dead.len(), 3);
    handler.broken.store(false, Ordering::SeqCst);
    for (body, field) in [
        (r#"{"ids": []}"#, Some("ids")),
        (r#"{"nope": 1}"#, None),
        ("[1", None),
    ] {
        let (status, problem) = send(
            &app,
            reqwest::Method::POST,
            "/api/jobs/dead/retry",
            Some(body),
        )
        .await;
        assert_eq!(status, 400, "{body}: {problem}");
        if let Some(f) = field {
            assert_eq!(problem["field"], f, "{problem}");
        }
    }
    let body = serde_json::json!({"ids": [dead[0].1, "9-9"]}).to_string();
    let (status, count) = send(
        &app,
        reqwest::Method::POST,
        "/api/jobs/dead/retry",
        Some(&body),
    )
    .await;
    assert_eq!(status, 200, "{count}");
    assert_eq!(count["affected"], 1, "{count}");
    assert_eq!(count["not_found"], serde_json::json!(["9-9"]), "{count}");
    let body = serde_json::json!({"ids": [dead[1].1]}).to_string();
    let (status, count) = send(&app, reqwest::Method::DELETE, "/api/jobs/dead", Some(&body)).await;
    assert_eq!(
        (status, count["affected"].as_u64()),
        (200, Some(1)),
        "{count}"
    );
    // No body: every dead letter (the one left).
    let (status, count) = send(&app, reqwest::Method::POST, "/api/jobs/dead/retry", None).await;
    assert_eq!(
        (status, count["affected"].as_u64()),
        (200, Some(1)),
        "{count}"
    );
    let v = wait_view(&app, &id2, |v| finished(v) && v["progress"]["done"] == 3).await;
    let p = &v["progress"];
    assert_eq!(
        (p["succeeded"].as_u64(), p["failed"].as_u64()),
        (Some(2), Some(1)),
        "{v}"
    );
    assert_eq!(v["state"], "completed", "{v}");
    assert_eq!(v["items"][1]["status"], "failed");
    let (status, count) = send(&app, reqwest::Method::DELETE, "/api/jobs/dead", None).await;
    assert_eq!(
        (status, count["affected"].as_u64()),
        (200, Some(0)),
        "{count}"
    );
    let (_, page) = app_get(&app, "/api/jobs/dead").await;
    assert_eq!(page["dead_letters"], serde_json::json!([]), "{page}");

    workers.shutdown(Duration::from_secs(5)).await;
    let prefix = app.state.settings.jobs.queue_prefix.clone();
    app.stop().await;
    if q == Q::Redis {
        cleanup(&redis_url().await, &prefix).await;
    }
}

async fn listing_filters_and_cursor(q: Q) {
    let app = app_on(q, &[("ASYNC_WORKERS", "0")]).await;
    let queue = app.state.jobs.queue.clone();
    let mut ids = Vec::new();
    for kind in ["alpha", "beta", "alpha", "alpha", "beta"] {
        ids.push(
            queue
                .submit(job(kind, &[false]))
                .await
                .unwrap()
                .id()
                .to_owned(),
        );
    }
    queue.cancel(&ids[2]).await.unwrap();
    // Every page of two, newest first.
    let (mut seen, mut cursor) = (Vec::new(), String::new());
    loop {
        let path = if cursor.is_empty() {
            "/api/jobs?limit=2".to_owned()
        } else {
            format!("/api/jobs?limit=2&cursor={cursor}")
        };
        let (status, page) = app_get(&app, &path).await;
        assert_eq!(status, 200, "{page}");
        let jobs = page["jobs"].as_array().unwrap();
        assert!(jobs.len() <= 2);
        seen.extend(
            jobs.iter()
                .map(|j| j["job_id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);
    let (_, page) = app_get(&app, "/api/jobs?kind=beta").await;
    let kinds: Vec<&str> = page["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["beta", "beta"], "{page}");
    assert_eq!(page["jobs"][0]["job_id"], ids[4].as_str());
    let (_, page) = app_get(&app, "/api/jobs?state=cancelled").await;
    let jobs = page["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1, "{page}");
    assert_eq!(jobs[0]["job_id"], ids[2].as_str());
    assert_eq!(jobs[0]["progress"]["total"], 1);
    let (_, page) = app_get(&app, "/api/jobs?state=queued&kind=alpha").await;
    assert_eq!(page["jobs"].as_array().unwrap().len(), 2, "{page}");
    for (path, field) in [
        ("/api/jobs?state=bogus", "state"),
        ("/api/jobs?cursor=zzz", "cursor"),
        ("/api/jobs?limit=0", "limit"),
        ("/api/jobs?limit=101", "limit"),
    ] {
        let (status, problem) = app_get(&app, path).await;
        assert_eq!(status, 400, "{path}: {problem}");
        assert!(problem.to_string().contains(field), "{path}: {problem}");
    }
    for path in ["/api/jobs", "/api/jobs/dead"] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 401, "{path} needs the API key");
    }
    let prefix = app.state.settings.jobs.queue_prefix.clone();
    app.stop().await;
    if q == Q::Redis {
        cleanup(&redis_url().await, &prefix).await;
    }
}

mod dead_letters {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memory() {
        dead_letters_redrive_and_discard(Q::Memory).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis() {
        dead_letters_redrive_and_discard(Q::Redis).await
    }
}

mod listing {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memory() {
        listing_filters_and_cursor(Q::Memory).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis() {
        listing_filters_and_cursor(Q::Redis).await
    }
}
