//! The durable queue: Redis Streams with a consumer group.
//!
//! Layout (every key under `QUEUE_PREFIX`, so tests and tenants can share one Redis; `P` is
//! the prefix on one server and `{P}` on a Redis Cluster, see below):
//!
//! | key | type | what |
//! |---|---|---|
//! | `P:q:high`, `P:q:normal`, `P:q:low` | stream | one entry per item (`t` = task JSON); group `workers` |
//! | `P:q:delayed` | sorted set | items waiting for a retry, scored by due time (ms) |
//! | `P:q:dead` | stream | items that failed `JOB_MAX_ATTEMPTS` times |
//! | `P:job:{id}` | hash | state, priority, total, succeeded/failed/skipped counts, meta; TTL `JOB_TTL` |
//! | `P:job:{id}:items` | hash | index → outcome JSON, written with `HSETNX` (first result wins) |
//! | `P:job:{id}:attempts` | hash | index → deliveries so far |
//! | `P:idem:{key}` | string | idempotency key → job id (`SET NX`, TTL `JOB_TTL`) |
//! | `P:jobs` | sorted set | every job id, all scored 0 so they sort by id (UUID v7: creation order); trimmed to `JOB_TTL` on each submission |
//! | `P:uniq:{key}` | string | uniqueness key → job id, rebound once that job is no longer queued or running (TTL: the key's) |
//! | `P:conc:{kind}` | sorted set | cluster-wide concurrency leases of a kind, scored by expiry (ms) |
//!
//! Workers read `high` before `normal` before `low` (non-blocking reads in that order, then one
//! blocking read on all three). An entry stays in the group's pending list until its result is
//! recorded; entries idle longer than `JOB_VISIBILITY_TIMEOUT` (their worker died or hangs) are
//! taken over with `XAUTOCLAIM` by whichever worker looks next. Recording an outcome, updating
//! the job's counts and state, and acknowledging are one Lua script, so a crash between them
//! cannot count an item twice or lose it. Retries leave the stream for the delayed set and come
//! back after an exponential backoff with jitter.
//!
//! On a Redis Cluster every key a script or a transaction touches must be in one slot, and the
//! scripts touch a job's hashes together with a priority's stream (and the delayed set with
//! every stream), so the whole queue lives under one hash tag: `{P}:q:high`, `{P}:job:…`. The
//! queue is then served by one shard (its replica takes over when it fails) while the cache
//! and the rate limits spread over all of them. On one server the keys keep their names
//! (`P:q:high`), so a queue in flight survives the upgrade. Blocking reads get a cluster
//! connection of their own per consumer (`connection.rs`).
//!
//! Files: `connection.rs` (the shared and blocking connections, the consumer group),
//! `fetch.rs` (maintenance, reads by priority, deliveries), `record.rs` (outcomes, retries,
//! dead-lettering, deferrals), `submit.rs` (a new job), `unique.rs` (uniqueness keys),
//! `read.rs` (a job's view, the queue's depth), `list.rs` (the job index and its pages),
//! `dead.rs` (dead-letter pages, redrive, discard), `lease.rs` (cluster-wide concurrency
//! slots).

mod connection;
mod dead;
mod fetch;
mod lease;
mod list;
mod read;
mod record;
mod submit;
mod unique;

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use anyhow::Context;
use futures::{FutureExt, future::BoxFuture};
use redis::Script;

use crate::redis::{Connection, Target};

use super::{
    Delivery, ItemError, ItemOutcome, JobQueue, JobState, JobView, NewJob, Priority, QueueConfig,
    Submitted,
    admin::{DeadCount, DeadPage, DeadSelection, JobFilter, JobPage},
    now_ms,
};

const GROUP: &str = "workers";

const CLAIM: &str = include_str!("../../redis/lua/jobs_claim.lua");

const FINISH: &str = include_str!("../../redis/lua/jobs_finish.lua");

const PROMOTE: &str = include_str!("../../redis/lua/jobs_promote.lua");

const CANCEL: &str = include_str!("../../redis/lua/jobs_cancel.lua");

const REDRIVE: &str = include_str!("../../redis/lua/jobs_redrive.lua");

const UNIQUE: &str = include_str!("../../redis/lua/jobs_unique.lua");

const LEASE: &str = include_str!("../../redis/lua/jobs_lease.lua");

pub struct RedisQueue {
    target: Target,
    /// Made on first use (see [`RedisQueue::conn`]).
    conn: tokio::sync::OnceCell<Connection>,
    prefix: String,
    /// What every key starts with: the prefix, in braces on a cluster (one hash tag).
    base: String,
    config: QueueConfig,
    claim: Script,
    finish: Script,
    promote: Script,
    cancel: Script,
    redrive: Script,
    unique: Script,
    lease: Script,
    /// One connection per consumer for blocking reads (a blocking command would stall every
    /// other command on a shared multiplexed connection).
    blocking: Mutex<HashMap<String, Connection>>,
    last_maintenance: Mutex<Instant>,
    last_promote: Mutex<Instant>,
}

impl std::fmt::Debug for RedisQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedisQueue({})", self.prefix)
    }
}

impl RedisQueue {
    /// Opens the queue. Redis being unreachable at start is not fatal: the origin starts
    /// (reads, the cache and the database do not need the queue), job requests answer 503
    /// until Redis answers, and the connection is made on first use.
    pub async fn connect(url: &str, prefix: &str, config: QueueConfig) -> anyhow::Result<Self> {
        let target = Target::open(url).context("parsing REDIS_URL")?;
        let base = if target.is_cluster() {
            format!("{{{prefix}}}")
        } else {
            prefix.to_owned()
        };
        let q = Self {
            target,
            conn: tokio::sync::OnceCell::new(),
            prefix: prefix.to_owned(),
            base,
            config,
            claim: Script::new(CLAIM),
            finish: Script::new(FINISH),
            promote: Script::new(PROMOTE),
            cancel: Script::new(CANCEL),
            redrive: Script::new(REDRIVE),
            unique: Script::new(UNIQUE),
            lease: Script::new(LEASE),
            blocking: Mutex::new(HashMap::new()),
            last_maintenance: Mutex::new(Instant::now() - Duration::from_secs(3600)),
            last_promote: Mutex::new(Instant::now() - Duration::from_secs(3600)),
        };
        if let Err(e) = q.conn().await {
            tracing::warn!(
                error = format!("{e:#}"),
                "Redis is unreachable: the job queue answers 503 until it is"
            );
        }
        Ok(q)
    }

    /// Fails when Redis cannot be reached now (`connect` itself tolerates that).
    pub async fn check(&self) -> anyhow::Result<()> {
        let mut c = self.conn().await?;
        let _: String = redis::cmd("PING").query_async(&mut c).await?;
        Ok(())
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn stream(&self, p: Priority) -> String {
        format!("{}:q:{}", self.base, p.as_str())
    }
    fn stream_base(&self) -> String {
        format!("{}:q:", self.base)
    }
    fn delayed(&self) -> String {
        format!("{}:q:delayed", self.base)
    }
    fn dead(&self) -> String {
        format!("{}:q:dead", self.base)
    }
    fn job_key(&self, id: &str) -> String {
        format!("{}:job:{id}", self.base)
    }
    fn items_key(&self, id: &str) -> String {
        format!("{}:job:{id}:items", self.base)
    }
    fn attempts_key(&self, id: &str) -> String {
        format!("{}:job:{id}:attempts", self.base)
    }
    fn idem_key(&self, key: &str) -> String {
        format!("{}:idem:{key}", self.base)
    }
    fn jobs_index(&self) -> String {
        format!("{}:jobs", self.base)
    }
    fn unique_key(&self, key: &str) -> String {
        format!("{}:uniq:{key}", self.base)
    }
    fn lease_key(&self, kind: &str) -> String {
        format!("{}:conc:{kind}", self.base)
    }
    fn ttl_ms(&self) -> u64 {
        self.config.ttl.as_millis().max(1000) as u64
    }
}

impl JobQueue for RedisQueue {
    fn queued(&self) -> BoxFuture<'_, anyhow::Result<u64>> {
        self.depth().boxed()
    }

    fn backend(&self) -> &'static str {
        "redis"
    }

    fn config(&self) -> &QueueConfig {
        &self.config
    }

    fn submit(&self, job: NewJob) -> BoxFuture<'_, anyhow::Result<Submitted>> {
        self.submit_job(job).boxed()
    }

    fn idempotent(&self, key: &str) -> BoxFuture<'_, anyhow::Result<Option<String>>> {
        let k = self.idem_key(key);
        async move {
            let mut c = self.conn().await?;
            Ok(redis::cmd("GET").arg(k).query_async(&mut c).await?)
        }
        .boxed()
    }

    fn job(&self, id: &str) -> BoxFuture<'_, anyhow::Result<Option<JobView>>> {
        let id = id.to_owned();
        async move { self.view(&id).await }.boxed()
    }

    fn cancel(&self, id: &str) -> BoxFuture<'_, anyhow::Result<Option<JobState>>> {
        let key = self.job_key(id);
        async move {
            let mut c = self.conn().await?;
            let st: Option<String> = self
                .cancel
                .key(key)
                .arg(now_ms())
                .invoke_async(&mut c)
                .await?;
            Ok(st.and_then(|s| JobState::parse(&s)))
        }
        .boxed()
    }

    fn fetch(
        &self,
        consumer: &str,
        max: usize,
        wait: Duration,
    ) -> BoxFuture<'_, anyhow::Result<Vec<Delivery>>> {
        let consumer = consumer.to_owned();
        async move { self.fetch_recovering(&consumer, max, wait).await }.boxed()
    }

    fn finish(
        &self,
        delivery: &Delivery,
        outcome: ItemOutcome,
    ) -> BoxFuture<'_, anyhow::Result<bool>> {
        let delivery = delivery.clone();
        async move { self.record(&delivery, &outcome).await }.boxed()
    }

    fn finish_many(
        &self,
        done: Vec<(Delivery, ItemOutcome)>,
    ) -> BoxFuture<'_, anyhow::Result<Vec<bool>>> {
        self.record_many(done).boxed()
    }

    fn retry(&self, delivery: &Delivery, error: ItemError) -> BoxFuture<'_, anyhow::Result<()>> {
        let delivery = delivery.clone();
        async move { self.retry_later(&delivery, error).await }.boxed()
    }

    fn defer(&self, delivery: &Delivery, delay: Duration) -> BoxFuture<'_, anyhow::Result<()>> {
        let delivery = delivery.clone();
        async move { self.delay(&delivery, delay, true).await }.boxed()
    }

    fn lease(&self, kind: &str, lease: &str, limit: u32) -> BoxFuture<'_, anyhow::Result<bool>> {
        let (kind, lease) = (kind.to_owned(), lease.to_owned());
        async move { self.take_lease(&kind, &lease, limit).await }.boxed()
    }

    fn release(&self, kind: &str, lease: &str) -> BoxFuture<'_, anyhow::Result<()>> {
        let (kind, lease) = (kind.to_owned(), lease.to_owned());
        async move { self.give_back(&kind, &lease).await }.boxed()
    }

    fn list(&self, filter: JobFilter) -> BoxFuture<'_, anyhow::Result<JobPage>> {
        async move { self.list_jobs(&filter).await }.boxed()
    }

    fn dead_page(
        &self,
        limit: usize,
        cursor: Option<String>,
    ) -> BoxFuture<'_, anyhow::Result<DeadPage>> {
        async move { self.read_dead_page(limit, cursor.as_deref()).await }.boxed()
    }

    fn redrive(&self, which: DeadSelection) -> BoxFuture<'_, anyhow::Result<DeadCount>> {
        async move { self.redrive_dead(which).await }.boxed()
    }

    fn discard(&self, which: DeadSelection) -> BoxFuture<'_, anyhow::Result<DeadCount>> {
        async move { self.discard_dead(which).await }.boxed()
    }
}
