//! The job APIs, unique jobs and cluster-wide concurrency leases on a Redis Cluster: every
//! script touches only keys under the queue's hash tag (the job index, dead letters, the
//! uniqueness key, the lease set, the job's hashes and the streams share one slot).

use std::{
    collections::BTreeMap,
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use vitrine_origin::jobs::{JobStats, Submitted, Unique, limits::Limits, worker::Workers};
use vitrine_testkit::unique_prefix;

use super::start_cluster;
use crate::helpers::{Backend, spawn_app_with};
use crate::job_admin::{Breakable, finished, job, wait_view};
use crate::jobs::app_get;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn job_apis_unique_jobs_and_leases_on_a_cluster() {
    let cluster = start_cluster().await;
    let url = cluster.url();
    let prefix = unique_prefix();
    let queue_prefix = format!("q-{}", prefix.trim_end_matches(':'));
    let app = spawn_app_with(
        Backend::Sqlite,
        &[
            ("REDIS_URL", url.as_str()),
            ("CACHE_KEY_PREFIX", prefix.as_str()),
            ("QUEUE_PREFIX", queue_prefix.as_str()),
            ("ASYNC_WORKERS", "0"),
            ("JOB_MAX_ATTEMPTS", "1"),
        ],
    )
    .await;
    let queue = app.state.jobs.queue.clone();
    let handler = Arc::new(Breakable {
        broken: std::sync::atomic::AtomicBool::new(true),
    });
    let cluster_limit = BTreeMap::from([("breakable".to_owned(), 1)]);
    let workers = Workers::start_limited(
        queue.clone(),
        handler.clone(),
        Arc::new(JobStats::default()),
        2,
        2,
        Limits::new(&BTreeMap::new(), &cluster_limit),
    );
    let mut unique = job("breakable", &[true, false, false]);
    unique.unique = Some(Unique {
        key: "cluster-u1".into(),
        ttl: Duration::from_secs(60),
    });
    let first = queue.submit(unique.clone()).await.unwrap();
    let again = queue.submit(unique).await.unwrap();
    assert_eq!(again, Submitted::Existing(first.id().to_owned()));
    let id = first.id().to_owned();
    let v = wait_view(&app, &id, finished).await;
    assert_eq!(v["progress"]["failed"], 1, "{v}");

    let (status, page) = app_get(&app, "/api/jobs?kind=breakable").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["jobs"][0]["job_id"], id.as_str(), "{page}");
    let (_, dead) = app_get(&app, "/api/jobs/dead").await;
    let letter = dead["dead_letters"][0]["id"].as_str().unwrap().to_owned();
    handler.broken.store(false, Ordering::SeqCst);
    let r = app
        .client
        .post(app.url(&format!("/api/jobs/dead/{letter}/retry")))
        .bearer_auth(crate::helpers::API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v = wait_view(&app, &id, |v| v["progress"]["succeeded"] == 3).await;
    assert_eq!(v["state"], "completed", "{v}");
    workers.shutdown(Duration::from_secs(5)).await;
    app.stop().await;
}
