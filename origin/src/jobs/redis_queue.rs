//! The durable queue: Redis Streams with a consumer group.
//!
//! Layout (every key under `QUEUE_PREFIX`, so tests and tenants can share one Redis):
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
//!
//! Workers read `high` before `normal` before `low` (non-blocking reads in that order, then one
//! blocking read on all three). An entry stays in the group's pending list until its result is
//! recorded; entries idle longer than `JOB_VISIBILITY_TIMEOUT` (their worker died or hangs) are
//! taken over with `XAUTOCLAIM` by whichever worker looks next. Recording an outcome, updating
//! the job's counts and state, and acknowledging are one Lua script, so a crash between them
//! cannot count an item twice or lose it. Retries leave the stream for the delayed set and come
//! back after an exponential backoff with jitter.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use anyhow::Context;
use futures::{FutureExt, future::BoxFuture};
use redis::{
    AsyncConnectionConfig, Client, Script, Value,
    aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection},
    streams::{StreamAutoClaimReply, StreamId, StreamReadReply},
};

use super::{
    DeadLetter, Delivery, ItemError, ItemOutcome, ItemStatus, JobQueue, JobState, JobView, NewJob,
    Priority, Progress, QueueConfig, Submitted, Task, backoff, now_ms,
};

const GROUP: &str = "workers";

const CLAIM: &str = include_str!("../redis/lua/jobs_claim.lua");

const FINISH: &str = include_str!("../redis/lua/jobs_finish.lua");

const PROMOTE: &str = include_str!("../redis/lua/jobs_promote.lua");

const CANCEL: &str = include_str!("../redis/lua/jobs_cancel.lua");

pub struct RedisQueue {
    client: Client,
    /// Made on first use (see [`RedisQueue::conn`]).
    conn: tokio::sync::OnceCell<ConnectionManager>,
    prefix: String,
    config: QueueConfig,
    claim: Script,
    finish: Script,
    promote: Script,
    cancel: Script,
    /// One connection per consumer for blocking reads (a blocking command would stall every
    /// other command on a shared multiplexed connection).
    blocking: Mutex<HashMap<String, MultiplexedConnection>>,
    last_maintenance: Mutex<Instant>,
}

impl std::fmt::Debug for RedisQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedisQueue({})", self.prefix)
    }
}

fn is_busygroup(e: &redis::RedisError) -> bool {
    e.to_string().contains("BUSYGROUP")
}

impl RedisQueue {
    /// Opens the queue. Redis being unreachable at start is not fatal: the origin starts
    /// (reads, the cache and the database do not need the queue), job requests answer 503
    /// until Redis answers, and the connection is made on first use.
    pub async fn connect(url: &str, prefix: &str, config: QueueConfig) -> anyhow::Result<Self> {
        let client = Client::open(url).context("parsing REDIS_URL")?;
        let q = Self {
            client,
            conn: tokio::sync::OnceCell::new(),
            prefix: prefix.to_owned(),
            config,
            claim: Script::new(CLAIM),
            finish: Script::new(FINISH),
            promote: Script::new(PROMOTE),
            cancel: Script::new(CANCEL),
            blocking: Mutex::new(HashMap::new()),
            last_maintenance: Mutex::new(Instant::now() - Duration::from_secs(3600)),
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

    /// The shared connection, made (scripts loaded, consumer group created) on first success.
    async fn conn(&self) -> anyhow::Result<ConnectionManager> {
        let c = self
            .conn
            .get_or_try_init(|| async {
                let mut c = self
                    .client
                    .get_connection_manager_with_config(
                        // Few, short reconnection attempts: while Redis is down a command
                        // waits for the manager's reconnection, and the default (6 attempts,
                        // exponential from 100 ms) held each request ~9 s before failing.
                        // Workers retry on their own.
                        ConnectionManagerConfig::new()
                            .set_response_timeout(Some(Duration::from_secs(10)))
                            .set_connection_timeout(Some(Duration::from_secs(2)))
                            .set_number_of_retries(2)
                            .set_max_delay(Duration::from_millis(500)),
                    )
                    .await
                    .context("connecting to Redis for the job queue")?;
                for script in [&self.claim, &self.finish, &self.promote, &self.cancel] {
                    script
                        .load_async(&mut c)
                        .await
                        .context("loading the queue's Lua scripts")?;
                }
                Self::create_groups(&mut c, &self.prefix).await?;
                Ok::<_, anyhow::Error>(c)
            })
            .await?;
        Ok(c.clone())
    }

    /// Creates the streams and their consumer group where missing. Run at start, and again
    /// when a read says `NOGROUP`: a Redis restarted without persistence comes back empty,
    /// and without this every worker would fail on it forever.
    async fn ensure_groups(&self) -> anyhow::Result<()> {
        let mut c = self.conn().await?;
        Self::create_groups(&mut c, &self.prefix).await
    }

    async fn create_groups(c: &mut ConnectionManager, prefix: &str) -> anyhow::Result<()> {
        for p in Priority::ALL {
            let r: redis::RedisResult<()> = redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(format!("{prefix}:q:{}", p.as_str()))
                .arg(GROUP)
                .arg("0")
                .arg("MKSTREAM")
                .query_async(c)
                .await;
            if let Err(e) = r
                && !is_busygroup(&e)
            {
                return Err(e).context("creating the consumer group");
            }
        }
        Ok(())
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn stream(&self, p: Priority) -> String {
        format!("{}:q:{}", self.prefix, p.as_str())
    }
    fn stream_base(&self) -> String {
        format!("{}:q:", self.prefix)
    }
    fn delayed(&self) -> String {
        format!("{}:q:delayed", self.prefix)
    }
    fn dead(&self) -> String {
        format!("{}:q:dead", self.prefix)
    }
    fn job_key(&self, id: &str) -> String {
        format!("{}:job:{id}", self.prefix)
    }
    fn items_key(&self, id: &str) -> String {
        format!("{}:job:{id}:items", self.prefix)
    }
    fn attempts_key(&self, id: &str) -> String {
        format!("{}:job:{id}:attempts", self.prefix)
    }
    fn idem_key(&self, key: &str) -> String {
        format!("{}:idem:{key}", self.prefix)
    }
    fn ttl_ms(&self) -> u64 {
        self.config.ttl.as_millis().max(1000) as u64
    }

    async fn blocking_conn(
        &self,
        consumer: &str,
        wait: Duration,
    ) -> anyhow::Result<MultiplexedConnection> {
        if let Some(c) = self
            .blocking
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(consumer)
        {
            return Ok(c.clone());
        }
        let c = self
            .client
            .get_multiplexed_async_connection_with_config(
                &AsyncConnectionConfig::new()
                    .set_response_timeout(Some(wait + Duration::from_secs(10)))
                    .set_connection_timeout(Some(Duration::from_secs(5))),
            )
            .await?;
        self.blocking
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(consumer.to_owned(), c.clone());
        Ok(c)
    }

    /// Moves due retries back to their streams and takes over stalled entries, at most every
    /// quarter of the visibility timeout per process.
    async fn maintenance(
        &self,
        consumer: &str,
        max: usize,
    ) -> anyhow::Result<Vec<(Priority, StreamId)>> {
        let every = (self.config.visibility_timeout / 4).max(Duration::from_millis(100));
        {
            let mut last = self
                .last_maintenance
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if last.elapsed() < every {
                return Ok(Vec::new());
            }
            *last = Instant::now();
        }
        let mut c = self.conn().await?;
        let _: i64 = self
            .promote
            .key(self.delayed())
            .arg(now_ms())
            .arg(self.stream_base())
            .arg(1000)
            .invoke_async(&mut c)
            .await?;
        let min_idle = self.config.visibility_timeout.as_millis() as u64;
        let mut out = Vec::new();
        for p in Priority::ALL {
            let reply: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
                .arg(self.stream(p))
                .arg(GROUP)
                .arg(consumer)
                .arg(min_idle)
                .arg("0-0")
                .arg("COUNT")
                .arg(max)
                .query_async(&mut c)
                .await?;
            if !reply.claimed.is_empty() {
                tracing::info!(
                    stream = %self.stream(p),
                    claimed = reply.claimed.len(),
                    consumer,
                    "took over stalled job entries"
                );
            }
            out.extend(reply.claimed.into_iter().map(|id| (p, id)));
            if out.len() >= max {
                break;
            }
        }
        Ok(out)
    }

    fn priority_of(&self, stream: &str) -> Priority {
        Priority::ALL
            .into_iter()
            .find(|p| stream == self.stream(*p))
            .unwrap_or_default()
    }

    async fn ack_drop(&self, p: Priority, entry: &str) -> anyhow::Result<()> {
        let mut c = self.conn().await?;
        redis::pipe()
            .cmd("XACK")
            .arg(self.stream(p))
            .arg(GROUP)
            .arg(entry)
            .ignore()
            .cmd("XDEL")
            .arg(self.stream(p))
            .arg(entry)
            .ignore()
            .exec_async(&mut c)
            .await?;
        Ok(())
    }

    /// Turns stream entries into deliveries: counts the attempt and reads the job's state
    /// (one pipelined script call per entry).
    async fn deliveries(
        &self,
        entries: Vec<(Priority, StreamId)>,
    ) -> anyhow::Result<Vec<Delivery>> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let mut parsed = Vec::with_capacity(entries.len());
        for (p, e) in entries {
            let task = e
                .map
                .get("t")
                .cloned()
                .and_then(|v| redis::from_redis_value::<String>(v).ok())
                .and_then(|s| serde_json::from_str::<Task>(&s).ok());
            match task {
                Some(t) => parsed.push((p, e.id, t)),
                None => {
                    tracing::warn!(entry = %e.id, "dropping a malformed job entry");
                    self.ack_drop(p, &e.id).await?;
                }
            }
        }
        let mut pipe = redis::pipe();
        let now = now_ms();
        for (_, _, t) in &parsed {
            pipe.invoke_script(
                self.claim
                    .key(self.job_key(&t.job_id))
                    .key(self.attempts_key(&t.job_id))
                    .arg(t.index)
                    .arg(now)
                    .arg(self.ttl_ms()),
            );
        }
        let mut c = self.conn().await?;
        let replies: Vec<(u32, String)> = match pipe.query_async(&mut c).await {
            Ok(r) => r,
            Err(e) if e.to_string().to_ascii_lowercase().contains("noscript") => {
                self.claim.load_async(&mut c).await?;
                pipe.query_async(&mut c).await?
            }
            Err(e) => return Err(e.into()),
        };
        let mut out = Vec::with_capacity(parsed.len());
        for ((p, entry, task), (attempt, state)) in parsed.into_iter().zip(replies) {
            if state == "gone" {
                // The job expired or never existed: nothing to record.
                self.ack_drop(p, &entry).await?;
                continue;
            }
            out.push(Delivery {
                task,
                priority: p,
                attempt,
                cancelled: state == "cancelled",
                receipt: format!("{}|{entry}", p.as_str()),
            });
        }
        Ok(out)
    }

    fn split_receipt(&self, receipt: &str) -> (Priority, String) {
        match receipt.split_once('|') {
            Some((p, e)) => (Priority::parse(p).unwrap_or_default(), e.to_owned()),
            None => (Priority::Normal, receipt.to_owned()),
        }
    }

    async fn record(&self, delivery: &Delivery, outcome: &ItemOutcome) -> anyhow::Result<bool> {
        let (p, entry) = self.split_receipt(&delivery.receipt);
        let field = match outcome.status {
            ItemStatus::Succeeded => "succeeded",
            ItemStatus::Failed => "failed",
            ItemStatus::Skipped => "skipped",
        };
        let id = &delivery.task.job_id;
        let mut c = self.conn().await?;
        let new: i64 = self
            .finish
            .key(self.job_key(id))
            .key(self.items_key(id))
            .key(self.stream(p))
            .arg(GROUP)
            .arg(entry)
            .arg(outcome.index)
            .arg(serde_json::to_string(outcome)?)
            .arg(field)
            .arg(now_ms())
            .arg(self.ttl_ms())
            .invoke_async(&mut c)
            .await?;
        Ok(new == 1)
    }

    /// One fetch: maintenance (due retries, stalled entries), then non-blocking reads by
    /// priority, then one blocking read.
    async fn fetch_once(
        &self,
        consumer: &str,
        max: usize,
        wait: Duration,
    ) -> anyhow::Result<Vec<Delivery>> {
        let max = max.max(1);
        let mut entries = self.maintenance(consumer, max).await?;
        let mut c = self.conn().await?;
        if entries.is_empty() {
            for p in Priority::ALL {
                let v: Value = redis::cmd("XREADGROUP")
                    .arg("GROUP")
                    .arg(GROUP)
                    .arg(consumer)
                    .arg("COUNT")
                    .arg(max)
                    .arg("STREAMS")
                    .arg(self.stream(p))
                    .arg(">")
                    .query_async(&mut c)
                    .await?;
                let reply = read_reply(v)?;
                for k in reply.keys {
                    entries.extend(k.ids.into_iter().map(|id| (p, id)));
                }
                if !entries.is_empty() {
                    break;
                }
            }
        }
        if entries.is_empty() && !wait.is_zero() {
            let mut b = self.blocking_conn(consumer, wait).await?;
            let mut cmd = redis::cmd("XREADGROUP");
            cmd.arg("GROUP")
                .arg(GROUP)
                .arg(consumer)
                .arg("COUNT")
                .arg(max)
                .arg("BLOCK")
                .arg(wait.as_millis().max(1) as u64)
                .arg("STREAMS");
            for p in Priority::ALL {
                cmd.arg(self.stream(p));
            }
            cmd.arg(">").arg(">").arg(">");
            let v: Value = cmd.query_async(&mut b).await?;
            let reply = read_reply(v)?;
            for k in reply.keys {
                let p = self.priority_of(&k.key);
                entries.extend(k.ids.into_iter().map(|id| (p, id)));
            }
        }
        self.deliveries(entries).await
    }
}

fn read_reply(v: Value) -> anyhow::Result<StreamReadReply> {
    if matches!(v, Value::Nil) {
        return Ok(StreamReadReply::default());
    }
    Ok(redis::from_redis_value(v)?)
}

impl JobQueue for RedisQueue {
    /// Entries stay in a stream until acknowledged (then deleted), so per priority the
    /// waiting ones are `XLEN` minus the group's pending (delivered, unacknowledged) count;
    /// retries wait in the delayed sorted set.
    fn queued(&self) -> BoxFuture<'_, anyhow::Result<u64>> {
        async move {
            let mut c = self.conn().await?;
            let mut pipe = redis::pipe();
            for p in Priority::ALL {
                pipe.cmd("XLEN").arg(self.stream(p));
                pipe.cmd("XPENDING").arg(self.stream(p)).arg(GROUP);
            }
            pipe.cmd("ZCARD").arg(self.delayed());
            let replies: Vec<Value> = pipe.query_async(&mut c).await?;
            let int = |v: &Value| match v {
                Value::Int(n) => u64::try_from(*n).unwrap_or(0),
                // XPENDING's summary: [count, first id, last id, consumers].
                Value::Array(a) => match a.first() {
                    Some(Value::Int(n)) => u64::try_from(*n).unwrap_or(0),
                    _ => 0,
                },
                _ => 0,
            };
            let mut total = 0u64;
            for pair in replies.chunks(2) {
                match pair {
                    [len, pending] => total += int(len).saturating_sub(int(pending)),
                    [delayed] => total += int(delayed),
                    _ => {}
                }
            }
            Ok(total)
        }
        .boxed()
    }

    fn backend(&self) -> &'static str {
        "redis"
    }

    fn config(&self) -> &QueueConfig {
        &self.config
    }

    fn submit(&self, job: NewJob) -> BoxFuture<'_, anyhow::Result<Submitted>> {
        async move {
            let id = uuid::Uuid::now_v7().simple().to_string();
            let mut c = self.conn().await?;
            if let Some(key) = &job.idempotency_key {
                let set: Option<String> = redis::cmd("SET")
                    .arg(self.idem_key(key))
                    .arg(&id)
                    .arg("NX")
                    .arg("PX")
                    .arg(self.ttl_ms())
                    .query_async(&mut c)
                    .await?;
                if set.is_none() {
                    let existing: Option<String> = redis::cmd("GET")
                        .arg(self.idem_key(key))
                        .query_async(&mut c)
                        .await?;
                    if let Some(existing) = existing {
                        return Ok(Submitted::Existing(existing));
                    }
                }
            }
            let total = job.items.len();
            let prefailed: HashMap<u32, &ItemError> =
                job.prefailed.iter().map(|(i, e)| (*i, e)).collect();
            let failed = prefailed.len();
            let now = now_ms();
            let state = if failed >= total {
                if failed > 0 {
                    JobState::Failed
                } else {
                    JobState::Completed
                }
            } else {
                JobState::Queued
            };
            let jk = self.job_key(&id);
            let ik = self.items_key(&id);
            let mut pipe = redis::pipe();
            pipe.atomic();
            pipe.hset_multiple(
                &jk,
                &[
                    ("state", state.as_str().to_owned()),
                    ("kind", job.kind.clone()),
                    ("priority", job.priority.as_str().to_owned()),
                    ("total", total.to_string()),
                    ("succeeded", "0".into()),
                    ("failed", failed.to_string()),
                    ("skipped", "0".into()),
                    ("meta", job.meta.to_string()),
                    ("created_at", now.to_string()),
                    ("updated_at", now.to_string()),
                ],
            )
            .ignore();
            pipe.pexpire(&jk, self.ttl_ms() as i64).ignore();
            for (index, error) in &prefailed {
                let o = ItemOutcome::failed(*index, (*error).clone(), 0);
                pipe.hset(&ik, index, serde_json::to_string(&o)?).ignore();
            }
            if failed > 0 {
                pipe.pexpire(&ik, self.ttl_ms() as i64).ignore();
            }
            let stream = self.stream(job.priority);
            for (i, payload) in job.items.into_iter().enumerate() {
                let index = i as u32;
                if prefailed.contains_key(&index) {
                    continue;
                }
                let task = Task {
                    job_id: id.clone(),
                    kind: job.kind.clone(),
                    index,
                    payload,
                };
                pipe.cmd("XADD")
                    .arg(&stream)
                    .arg("*")
                    .arg("t")
                    .arg(serde_json::to_string(&task)?)
                    .ignore();
            }
            pipe.exec_async(&mut c).await?;
            Ok(Submitted::New(id))
        }
        .boxed()
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
        async move {
            let mut c = self.conn().await?;
            let (fields, items): (HashMap<String, String>, HashMap<String, String>) = redis::pipe()
                .hgetall(self.job_key(&id))
                .hgetall(self.items_key(&id))
                .query_async(&mut c)
                .await?;
            if fields.is_empty() {
                return Ok(None);
            }
            let num = |k: &str| {
                fields
                    .get(k)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            let (succeeded, failed, skipped) = (num("succeeded"), num("failed"), num("skipped"));
            let mut outcomes: Vec<ItemOutcome> = items
                .values()
                .filter_map(|v| serde_json::from_str(v).ok())
                .collect();
            outcomes.sort_by_key(|o| o.index);
            Ok(Some(JobView {
                job_id: id.clone(),
                kind: fields.get("kind").cloned().unwrap_or_default(),
                state: fields
                    .get("state")
                    .and_then(|s| JobState::parse(s))
                    .unwrap_or(JobState::Queued),
                priority: fields
                    .get("priority")
                    .and_then(|p| Priority::parse(p).ok())
                    .unwrap_or_default(),
                progress: Progress {
                    total: num("total"),
                    done: succeeded + failed + skipped,
                    succeeded,
                    failed,
                    skipped,
                },
                meta: fields
                    .get("meta")
                    .and_then(|m| serde_json::from_str(m).ok())
                    .unwrap_or(serde_json::Value::Null),
                created_at: num("created_at") as i64,
                updated_at: num("updated_at") as i64,
                items: outcomes,
            }))
        }
        .boxed()
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
        async move {
            let result = self.fetch_once(&consumer, max, wait).await;
            if let Err(e) = &result {
                // Whatever failed, do not keep a blocking connection that may be dead (a
                // multiplexed connection does not reconnect by itself): the next fetch opens
                // a fresh one. A Redis that came back empty has lost the consumer group.
                self.blocking
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&consumer);
                let nogroup = e.chain().any(|c| {
                    c.downcast_ref::<redis::RedisError>()
                        .is_some_and(|r| r.code() == Some("NOGROUP"))
                });
                if nogroup {
                    match self.ensure_groups().await {
                        Ok(()) => tracing::warn!(
                            "job streams were missing (Redis lost its data?); recreated them"
                        ),
                        Err(e) => tracing::warn!(error = %e, "recreating the job streams failed"),
                    }
                }
            }
            result
        }
        .boxed()
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
        async move {
            if done.is_empty() {
                return Ok(Vec::new());
            }
            let mut pipe = redis::pipe();
            let now = now_ms();
            for (d, o) in &done {
                let (p, entry) = self.split_receipt(&d.receipt);
                let field = match o.status {
                    ItemStatus::Succeeded => "succeeded",
                    ItemStatus::Failed => "failed",
                    ItemStatus::Skipped => "skipped",
                };
                let id = &d.task.job_id;
                pipe.invoke_script(
                    self.finish
                        .key(self.job_key(id))
                        .key(self.items_key(id))
                        .key(self.stream(p))
                        .arg(GROUP)
                        .arg(entry)
                        .arg(o.index)
                        .arg(serde_json::to_string(o)?)
                        .arg(field)
                        .arg(now)
                        .arg(self.ttl_ms()),
                );
            }
            let mut c = self.conn().await?;
            let news: Vec<i64> = match pipe.query_async(&mut c).await {
                Ok(r) => r,
                Err(e) if e.to_string().to_ascii_lowercase().contains("noscript") => {
                    self.finish.load_async(&mut c).await?;
                    pipe.query_async(&mut c).await?
                }
                Err(e) => return Err(e.into()),
            };
            Ok(news.into_iter().map(|n| n == 1).collect())
        }
        .boxed()
    }

    fn retry(&self, delivery: &Delivery, error: ItemError) -> BoxFuture<'_, anyhow::Result<()>> {
        let delivery = delivery.clone();
        async move {
            let (p, entry) = self.split_receipt(&delivery.receipt);
            let mut c = self.conn().await?;
            if delivery.attempt >= self.config.max_attempts {
                let attempts = delivery.attempt;
                let _: String = redis::cmd("XADD")
                    .arg(self.dead())
                    .arg("*")
                    .arg("t")
                    .arg(serde_json::to_string(&delivery.task)?)
                    .arg("e")
                    .arg(serde_json::to_string(&error)?)
                    .arg("a")
                    .arg(attempts)
                    .query_async(&mut c)
                    .await?;
                let e = ItemError::new(
                    "dead_lettered",
                    format!("gave up after {attempts} attempts: {}", error.message),
                );
                self.record(
                    &delivery,
                    &ItemOutcome::failed(delivery.task.index, e, attempts),
                )
                .await?;
                return Ok(());
            }
            let due =
                now_ms() + backoff(self.config.retry_base, delivery.attempt).as_millis() as i64;
            let member = serde_json::json!({
                "p": p.as_str(),
                "t": serde_json::to_string(&delivery.task)?,
                "n": uuid::Uuid::new_v4().simple().to_string(),
            })
            .to_string();
            redis::pipe()
                .atomic()
                .zadd(self.delayed(), member, due)
                .ignore()
                .cmd("XACK")
                .arg(self.stream(p))
                .arg(GROUP)
                .arg(&entry)
                .ignore()
                .cmd("XDEL")
                .arg(self.stream(p))
                .arg(&entry)
                .ignore()
                .exec_async(&mut c)
                .await?;
            Ok(())
        }
        .boxed()
    }

    fn dead_letters(&self, limit: usize) -> BoxFuture<'_, anyhow::Result<Vec<DeadLetter>>> {
        async move {
            let mut c = self.conn().await?;
            let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
                .arg(self.dead())
                .arg("-")
                .arg("+")
                .arg("COUNT")
                .arg(limit)
                .query_async(&mut c)
                .await?;
            let field = |e: &StreamId, k: &str| {
                e.map
                    .get(k)
                    .cloned()
                    .and_then(|v| redis::from_redis_value::<String>(v).ok())
            };
            Ok(reply
                .ids
                .iter()
                .filter_map(|e| {
                    Some(DeadLetter {
                        task: serde_json::from_str(&field(e, "t")?).ok()?,
                        error: serde_json::from_str(&field(e, "e")?).ok()?,
                        attempts: field(e, "a")?.parse().ok()?,
                    })
                })
                .collect())
        }
        .boxed()
    }
}
