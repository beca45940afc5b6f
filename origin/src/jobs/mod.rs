//! Background jobs: a batch is split into one queue entry per item, delivered at least once to
//! a pool of workers, with results recorded exactly once.
//!
//! Why per item: a 500-image batch then spreads over every worker of every origin process
//! sharing the queue, a bad item fails alone, and a crashed worker loses at most the items it
//! held (they are redelivered after the visibility timeout). Delivery is at-least-once; the
//! result of an item is stored with set-if-absent and only the first store counts towards the
//! job's progress, so a redelivered item never counts twice (exactly-once *results*).
//!
//! Two backends implement [`JobQueue`] with the same semantics:
//! - [`redis_queue::RedisQueue`] (with `REDIS_URL`): Redis Streams and a consumer group, one
//!   stream per priority, `XAUTOCLAIM` of stalled entries, retries with exponential backoff and
//!   jitter through a delayed set, a dead-letter stream, idempotency keys (`SET NX`), job state
//!   in hashes with a TTL. Durable: a restarted origin loses no queued job, and several origins
//!   share the work.
//! - [`memory::MemoryQueue`] (without Redis): the same in one process, minus durability.
//!
//! [`worker`] runs `ASYNC_WORKERS` workers; [`dispatch`] hands each task to the handler
//! registered for its kind (the handlers live with their domains: `images::batch` for image
//! batches, `search::visual::describe_task` for visual descriptors); [`limits`] bounds how
//! many items of a kind run at once, per process and across the cluster. [`admin`] holds what
//! operators see: recent jobs and dead letters, which they can redrive or discard.
//!
//! A job may carry a uniqueness key ([`NewJob::unique`]): while a job with the key is queued
//! or running, submitting another returns it.

pub mod admin;
pub mod dispatch;
pub mod limits;
pub mod memory;
pub mod redis_queue;
pub mod worker;

use std::{sync::Arc, time::Duration};

use futures::{FutureExt, future::BoxFuture};
use serde::{Deserialize, Serialize};
use vitrine_common::error::InvalidInput;

/// Queue priority; workers take `high` before `normal` before `low`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    High,
    #[default]
    Normal,
    Low,
}

impl Priority {
    pub const ALL: [Priority; 3] = [Priority::High, Priority::Normal, Priority::Low];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        match raw {
            "high" => Ok(Self::High),
            "normal" => Ok(Self::Normal),
            "low" => Ok(Self::Low),
            _ => Err(InvalidInput::new(
                "priority",
                "must be one of high, normal, low",
            )),
        }
    }

    fn rank(self) -> usize {
        match self {
            Priority::High => 0,
            Priority::Normal => 1,
            Priority::Low => 2,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    /// Every item finished (some may have failed: see the items).
    Completed,
    /// Every item failed.
    Failed,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Completed => "completed",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "queued" => Self::Queued,
            "running" => Self::Running,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// One item of a job, as delivered to a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub job_id: String,
    pub kind: String,
    pub index: u32,
    pub payload: serde_json::Value,
}

/// A delivered task and what the queue needs to acknowledge it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub task: Task,
    pub priority: Priority,
    /// 1 for the first delivery; redeliveries and retries count up.
    pub attempt: u32,
    /// The job was cancelled: finish the item as skipped without running it.
    pub cancelled: bool,
    /// Backend-specific receipt (stream entry id, in-memory token).
    pub receipt: String,
}

/// Why an item failed, as clients see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ItemError {
    pub code: String,
    pub message: String,
}

impl ItemError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// How an item ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ItemStatus {
    Succeeded,
    Failed,
    /// Not run because the job was cancelled.
    Skipped,
}

/// The recorded outcome of one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ItemOutcome {
    pub index: u32,
    pub status: ItemStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ItemError>,
    /// Deliveries it took.
    pub attempts: u32,
}

impl ItemOutcome {
    pub fn succeeded(index: u32, result: serde_json::Value, attempts: u32) -> Self {
        Self {
            index,
            status: ItemStatus::Succeeded,
            result: Some(result),
            error: None,
            attempts,
        }
    }

    pub fn failed(index: u32, error: ItemError, attempts: u32) -> Self {
        Self {
            index,
            status: ItemStatus::Failed,
            result: None,
            error: Some(error),
            attempts,
        }
    }

    pub fn skipped(index: u32, attempts: u32) -> Self {
        Self {
            index,
            status: ItemStatus::Skipped,
            result: None,
            error: None,
            attempts,
        }
    }
}

/// A job to enqueue. `items[i]` becomes the task with index `i`, unless `i` is already
/// decided in `prefailed` (an item refused at submission, e.g. base64 garbage): it is recorded
/// as failed at once and never queued.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub priority: Priority,
    pub idempotency_key: Option<String>,
    /// While a job submitted with the same key is queued or running, submitting returns it
    /// (`Submitted::Existing`) instead of a new one; once it finished (or after the key's
    /// TTL) a new job is made. Unlike an idempotency key, the key is released when the job
    /// ends.
    pub unique: Option<Unique>,
    pub items: Vec<serde_json::Value>,
    pub prefailed: Vec<(u32, ItemError)>,
    /// Shown back in the job's status (what was asked).
    pub meta: serde_json::Value,
}

/// A uniqueness key and how long it binds at most (a job that hangs does not block its key
/// for ever).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unique {
    pub key: String,
    pub ttl: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    New(String),
    /// The idempotency key was already used, or a job with the same uniqueness key is
    /// queued or running: the existing job's id.
    Existing(String),
}

impl Submitted {
    pub fn id(&self) -> &str {
        match self {
            Submitted::New(id) | Submitted::Existing(id) => id,
        }
    }
}

/// What `GET /api/jobs/{id}` shows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobView {
    pub job_id: String,
    pub kind: String,
    pub state: JobState,
    pub priority: Priority,
    pub progress: Progress,
    pub meta: serde_json::Value,
    pub created_at: i64,
    pub updated_at: i64,
    /// Per-item outcomes recorded so far, by index.
    pub items: Vec<ItemOutcome>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Progress {
    pub total: u64,
    /// Items finished in any way (succeeded + failed + skipped).
    pub done: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl Progress {
    /// The state once counts change (not for cancelled jobs).
    pub fn state(&self) -> JobState {
        if self.done < self.total {
            JobState::Running
        } else if self.succeeded == 0 && self.failed > 0 {
            JobState::Failed
        } else {
            JobState::Completed
        }
    }
}

/// Backoff before retry `attempt` (1-based: the delay after the first failure is `base`):
/// `base × 2^(attempt-1)`, capped at 5 minutes, times a jitter factor in [0.5, 1.5) so that
/// items failing together do not retry together.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let capped = exp.min(Duration::from_secs(300));
    let jitter = 0.5 + rand::random::<f64>();
    capped.mul_f64(jitter)
}

/// Queue behaviour knobs (from the settings).
#[derive(Debug, Clone)]
pub struct QueueConfig {
    pub visibility_timeout: Duration,
    pub max_attempts: u32,
    pub retry_base: Duration,
    pub ttl: Duration,
}

impl QueueConfig {
    pub fn from_settings(s: &crate::config::Settings) -> Self {
        Self {
            visibility_timeout: s.jobs.visibility_timeout,
            max_attempts: s.jobs.max_attempts,
            retry_base: s.jobs.retry_base,
            ttl: s.jobs.ttl,
        }
    }
}

/// A dead-lettered item.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeadLetter {
    /// `<ms>-<seq>` ([`admin::parse_dead_id`]).
    pub id: String,
    /// When it was dead-lettered (ms since the epoch).
    pub dead_at: i64,
    pub task: Task,
    pub error: ItemError,
    pub attempts: u32,
}

/// The queue and job store. Both backends keep these semantics:
///
/// - `submit` is atomic with respect to its idempotency key;
/// - `fetch` delivers each task to one consumer at a time, high priority first; a task not
///   finished within the visibility timeout is delivered again (to anyone);
/// - `finish` records the outcome only if none is recorded yet, then acknowledges;
/// - `retry` acknowledges and re-enqueues after a backoff, or dead-letters after
///   `max_attempts` deliveries, recording the item as failed (the dead letter exists only
///   when that failure is the item's first outcome);
/// - `redrive` removes a dead letter and the item's recorded failure and queues the item
///   afresh, atomically, so its next outcome is again the first (exactly-once results hold
///   across a redrive);
/// - a uniqueness key binds to one live (queued or running) job at a time.
pub trait JobQueue: Send + Sync {
    fn backend(&self) -> &'static str;
    fn submit(&self, job: NewJob) -> BoxFuture<'_, anyhow::Result<Submitted>>;
    /// The job id already bound to `key`, if any.
    fn idempotent(&self, key: &str) -> BoxFuture<'_, anyhow::Result<Option<String>>>;
    fn job(&self, id: &str) -> BoxFuture<'_, anyhow::Result<Option<JobView>>>;
    /// Cancels a job that is not finished; returns its state afterwards (`None`: unknown).
    fn cancel(&self, id: &str) -> BoxFuture<'_, anyhow::Result<Option<JobState>>>;
    fn fetch(
        &self,
        consumer: &str,
        max: usize,
        wait: Duration,
    ) -> BoxFuture<'_, anyhow::Result<Vec<Delivery>>>;
    fn finish(
        &self,
        delivery: &Delivery,
        outcome: ItemOutcome,
    ) -> BoxFuture<'_, anyhow::Result<bool>>;
    /// [`JobQueue::finish`] for several deliveries at once (one round trip on Redis); returns,
    /// per delivery, whether its outcome was the first recorded.
    fn finish_many(
        &self,
        done: Vec<(Delivery, ItemOutcome)>,
    ) -> BoxFuture<'_, anyhow::Result<Vec<bool>>> {
        async move {
            let mut out = Vec::with_capacity(done.len());
            for (d, o) in done {
                out.push(self.finish(&d, o).await?);
            }
            Ok(out)
        }
        .boxed()
    }
    fn retry(&self, delivery: &Delivery, error: ItemError) -> BoxFuture<'_, anyhow::Result<()>>;
    /// Puts a delivery back for `delay` without counting the attempt (its kind is at its
    /// concurrency limit).
    fn defer(&self, delivery: &Delivery, delay: Duration) -> BoxFuture<'_, anyhow::Result<()>>;
    /// Takes one of `limit` cluster-wide slots of `kind` for `lease` (a delivery's receipt),
    /// held at most a visibility timeout (a crashed holder's slot comes back by itself).
    /// False when all are taken.
    fn lease(&self, kind: &str, lease: &str, limit: u32) -> BoxFuture<'_, anyhow::Result<bool>>;
    /// Gives a slot taken by [`JobQueue::lease`] back.
    fn release(&self, kind: &str, lease: &str) -> BoxFuture<'_, anyhow::Result<()>>;
    /// Recent jobs, newest first (see [`admin::JobFilter`]).
    fn list(&self, filter: admin::JobFilter) -> BoxFuture<'_, anyhow::Result<admin::JobPage>>;
    /// Dead letters, newest first, strictly older than `cursor` (a dead-letter id).
    fn dead_page(
        &self,
        limit: usize,
        cursor: Option<String>,
    ) -> BoxFuture<'_, anyhow::Result<admin::DeadPage>>;
    /// The newest `limit` dead letters.
    fn dead_letters(&self, limit: usize) -> BoxFuture<'_, anyhow::Result<Vec<DeadLetter>>> {
        async move { Ok(self.dead_page(limit, None).await?.dead) }.boxed()
    }
    /// Re-enqueues dead letters as fresh items (attempts reset): the item's recorded failure
    /// is removed from its job (the job runs again until the item ends), and the item's next
    /// outcome is recorded as usual, once. Each dead letter is redriven at most once, even
    /// by concurrent calls.
    fn redrive(
        &self,
        which: admin::DeadSelection,
    ) -> BoxFuture<'_, anyhow::Result<admin::DeadCount>>;
    /// Removes dead letters (their items stay failed).
    fn discard(
        &self,
        which: admin::DeadSelection,
    ) -> BoxFuture<'_, anyhow::Result<admin::DeadCount>>;
    /// Items waiting to run: ready in a priority queue or delayed for a retry (not those
    /// delivered to a worker and not yet finished). The `jobs_queued` gauge.
    fn queued(&self) -> BoxFuture<'_, anyhow::Result<u64>>;
    fn config(&self) -> &QueueConfig;
}

/// How a handler failed: permanently (bad input: recorded, not retried) or transiently
/// (storage hiccup: retried with backoff, dead-lettered after the last attempt).
#[derive(Debug, Clone)]
pub enum TaskError {
    Permanent(ItemError),
    Transient(ItemError),
}

/// Runs one task.
pub trait TaskHandler: Send + Sync {
    fn handle<'a>(&'a self, task: &'a Task) -> BoxFuture<'a, Result<serde_json::Value, TaskError>>;
}

/// Counters for jobs (exported later as metrics).
#[derive(Debug, Default)]
pub struct JobStats {
    /// With metrics attached, item attempts are also reported as `jobs_completed_total`,
    /// `jobs_failed_total`, `jobs_dead_lettered_total`, `job_duration_seconds` and
    /// `jobs_running`.
    metrics: std::sync::OnceLock<Arc<crate::observability::Metrics>>,
    running: std::sync::atomic::AtomicUsize,
    pub submitted: std::sync::atomic::AtomicU64,
    pub items_succeeded: std::sync::atomic::AtomicU64,
    pub items_failed: std::sync::atomic::AtomicU64,
    pub items_skipped: std::sync::atomic::AtomicU64,
    pub retries: std::sync::atomic::AtomicU64,
    pub duplicates: std::sync::atomic::AtomicU64,
    /// Deliveries put back because their kind was at its concurrency limit.
    pub deferred: std::sync::atomic::AtomicU64,
    pub handler_micros: std::sync::atomic::AtomicU64,
}

impl JobStats {
    /// Reports every later item attempt to `metrics` as well.
    pub fn attach_metrics(&self, metrics: Arc<crate::observability::Metrics>) {
        let _ = self.metrics.set(metrics);
    }

    /// An item attempt starts.
    pub(crate) fn begin(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let n = self.running.fetch_add(1, Relaxed) + 1;
        if let Some(m) = self.metrics.get() {
            m.jobs_running(n);
        }
    }

    /// An item attempt ended after `seconds`: `Some(true)` succeeded, `Some(false)` failed
    /// (`dead` when it will not be retried again), `None` never ran (dead-lettered as poison).
    pub(crate) fn end(&self, seconds: f64, ok: Option<bool>, dead: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        let n = if ok.is_some() {
            self.running.fetch_sub(1, Relaxed).saturating_sub(1)
        } else {
            self.running.load(Relaxed)
        };
        if let Some(m) = self.metrics.get() {
            m.jobs_running(n);
            match ok {
                Some(true) => m.job_completed(seconds),
                Some(false) => m.job_failed(seconds),
                None => {}
            }
            if dead {
                m.job_dead_lettered();
            }
        }
    }
}

/// The jobs sub-state: the queue and its counters.
#[derive(Clone)]
pub struct Jobs {
    pub queue: Arc<dyn JobQueue>,
    pub stats: Arc<JobStats>,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Jobs({})", self.queue.backend())
    }
}

impl Jobs {
    /// Reads the queue's depth into the `jobs_queued` gauge (called when metrics are read,
    /// like a Prometheus collector). A queue that does not answer within 250 ms leaves the
    /// last value: a scrape must not hang on a sick Redis.
    pub async fn refresh_queued(&self) {
        let Some(metrics) = self.stats.metrics.get() else {
            return;
        };
        match tokio::time::timeout(Duration::from_millis(250), self.queue.queued()).await {
            Ok(Ok(n)) => metrics.jobs_queued(n),
            Ok(Err(e)) => tracing::debug!(error = %e, "queue depth unavailable"),
            Err(_) => tracing::debug!("queue depth timed out"),
        }
    }

    /// Redis Streams when `REDIS_URL` is set, else the in-process queue.
    pub async fn from_settings(s: &crate::config::Settings) -> anyhow::Result<Self> {
        let config = QueueConfig::from_settings(s);
        let queue: Arc<dyn JobQueue> = match &s.redis_url {
            Some(url) => {
                Arc::new(redis_queue::RedisQueue::connect(url, &s.jobs.queue_prefix, config).await?)
            }
            None => Arc::new(memory::MemoryQueue::new(config)),
        };
        Ok(Self {
            queue,
            stats: Arc::new(JobStats::default()),
        })
    }
}

/// Whether a queue error means "the queue's store cannot be reached right now" (the caller
/// answers 503 and the client retries) rather than a bug (500): a Redis I/O error, refused or
/// dropped connection, a cluster failing over, or a timeout anywhere in the error's chain.
pub fn is_unavailable(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        if let Some(r) = cause.downcast_ref::<redis::RedisError>() {
            return crate::redis::is_unavailable(r);
        }
        cause.downcast_ref::<std::io::Error>().is_some()
            || cause
                .downcast_ref::<tokio::time::error::Elapsed>()
                .is_some()
    })
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl crate::observability::Snapshot for JobStats {
    fn snapshot(&self) -> serde_json::Value {
        use std::sync::atomic::Ordering::Relaxed;
        serde_json::json!({
            "submitted": self.submitted.load(Relaxed),
            "items_succeeded": self.items_succeeded.load(Relaxed),
            "items_failed": self.items_failed.load(Relaxed),
            "items_skipped": self.items_skipped.load(Relaxed),
            "retries": self.retries.load(Relaxed),
            "duplicate_deliveries": self.duplicates.load(Relaxed),
            "deferred": self.deferred.load(Relaxed),
            "handler_seconds": self.handler_micros.load(Relaxed) as f64 / 1e6,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_a_cap() {
        let base = Duration::from_millis(100);
        for _ in 0..50 {
            let d1 = backoff(base, 1);
            assert!(d1 >= Duration::from_millis(50) && d1 < Duration::from_millis(150));
            let d4 = backoff(base, 4);
            assert!(d4 >= Duration::from_millis(400) && d4 < Duration::from_millis(1200));
            assert!(backoff(base, 40) < Duration::from_secs(450));
        }
    }
}
