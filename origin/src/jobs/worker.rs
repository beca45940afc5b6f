//! The worker pool: `ASYNC_WORKERS` tasks per process, each fetching deliveries from the queue
//! and running the handler on them.
//!
//! Workers are async (the CPU work they start goes to the bounded image pool), so a few of them
//! keep the CPU busy while others wait on I/O. Each has its own consumer name
//! (`{host}-{pid}-{n}`), so several origin processes on one Redis share the work and a dead
//! process's pending entries are visibly its own. On shutdown a worker stops fetching and
//! finishes the deliveries it holds (bounded by `SHUTDOWN_TIMEOUT`); anything still unfinished
//! when the process dies is redelivered after the visibility timeout.

use std::{sync::Arc, sync::atomic::Ordering, time::Duration, time::Instant};

use tokio::{sync::watch, task::JoinHandle};

use super::{
    Delivery, ItemOutcome, ItemStatus, JobQueue, JobStats, TaskError, TaskHandler,
    limits::{Limits, defer_delay},
};

#[derive(Debug)]
pub struct Workers {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

/// A name unique to this process among those sharing the queue.
pub fn consumer_base() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "origin".into());
    format!(
        "{host}-{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..6]
    )
}

impl Workers {
    /// Starts `n` workers fetching up to `batch` deliveries at a time.
    pub fn start(
        queue: Arc<dyn JobQueue>,
        handler: Arc<dyn TaskHandler>,
        stats: Arc<JobStats>,
        n: usize,
        batch: usize,
    ) -> Self {
        Self::start_limited(queue, handler, stats, n, batch, Limits::default())
    }

    /// [`Workers::start`] with per-kind concurrency limits (shared by the `n` workers).
    pub fn start_limited(
        queue: Arc<dyn JobQueue>,
        handler: Arc<dyn TaskHandler>,
        stats: Arc<JobStats>,
        n: usize,
        batch: usize,
        limits: Limits,
    ) -> Self {
        let limits = Arc::new(limits);
        let (stop, rx) = watch::channel(false);
        let base = consumer_base();
        let handles = (0..n)
            .map(|i| {
                let consumer = format!("{base}-{i}");
                let one = Runner {
                    queue: queue.clone(),
                    handler: handler.clone(),
                    stats: stats.clone(),
                    limits: limits.clone(),
                };
                tokio::spawn(run(one, consumer, batch, rx.clone()))
            })
            .collect();
        Self { stop, handles }
    }

    /// Stops fetching, lets in-flight deliveries finish (up to `timeout`), then returns.
    pub async fn shutdown(self, timeout: Duration) {
        let _ = self.stop.send(true);
        let all = futures::future::join_all(self.handles);
        if tokio::time::timeout(timeout, all).await.is_err() {
            tracing::warn!("job workers did not finish in time; their items will be redelivered");
        }
    }

    /// Kills the workers at once, finishing nothing (tests simulate a crash with this).
    pub fn abort(self) {
        for h in self.handles {
            h.abort();
        }
    }
}

async fn run(one: Runner, consumer: String, batch: usize, mut stop: watch::Receiver<bool>) {
    let (queue, stats) = (one.queue.clone(), one.stats.clone());
    let mut failures = 0u32;
    loop {
        if *stop.borrow() {
            return;
        }
        let fetched = tokio::select! {
            r = queue.fetch(&consumer, batch, Duration::from_secs(1)) => r,
            _ = stop.changed() => return,
        };
        let deliveries = match fetched {
            Ok(d) => {
                failures = 0;
                d
            }
            Err(e) => {
                failures += 1;
                let wait = Duration::from_millis(100 * u64::from(failures.min(50)));
                tracing::warn!(error = %e, consumer, "fetching jobs failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {},
                    _ = stop.changed() => return,
                }
                continue;
            }
        };
        // Outcomes are recorded together after the batch (one round trip on Redis);
        // retries and dead letters go at once.
        let mut done = Vec::with_capacity(deliveries.len());
        for d in deliveries {
            if let Some(finished) = one.process(d).await {
                done.push(finished);
            }
        }
        let statuses: Vec<ItemStatus> = done.iter().map(|(_, o)| o.status).collect();
        match queue.finish_many(done).await {
            Ok(news) => {
                for (status, new) in statuses.into_iter().zip(news) {
                    let counter = match (new, status) {
                        (false, _) => &stats.duplicates,
                        (true, ItemStatus::Succeeded) => &stats.items_succeeded,
                        (true, ItemStatus::Failed) => &stats.items_failed,
                        (true, ItemStatus::Skipped) => &stats.items_skipped,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            }
            // Not acknowledged: the entries are redelivered after the visibility timeout.
            Err(e) => tracing::warn!(error = %e, consumer, "recording job items failed"),
        }
    }
}

/// What one worker runs deliveries with.
struct Runner {
    queue: Arc<dyn JobQueue>,
    handler: Arc<dyn TaskHandler>,
    stats: Arc<JobStats>,
    limits: Arc<Limits>,
}

impl Runner {
    /// Runs one delivery: its outcome to record, or `None` when it was retried, deferred or
    /// dead-lettered instead.
    async fn process(&self, d: Delivery) -> Option<(Delivery, ItemOutcome)> {
        if d.cancelled {
            let o = ItemOutcome::skipped(d.task.index, d.attempt);
            return Some((d, o));
        }
        if d.attempt > self.queue.config().max_attempts {
            // Delivered more often than allowed without an answer: its handler keeps
            // dying (a poison item). Dead-letter it without running it again.
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            self.stats.end(0.0, None, true);
            let e = super::ItemError::new(
                "worker_lost",
                "the worker processing this item stopped repeatedly",
            );
            if let Err(e) = self.queue.retry(&d, e).await {
                tracing::warn!(error = %e, job = %d.task.job_id, "dead-lettering failed");
            }
            return None;
        }
        let slot = if self.limits.is_empty() {
            None
        } else {
            let Some(slot) = self.limits.try_acquire(self.queue.as_ref(), &d).await else {
                // At its kind's limit: back to the queue for a moment, uncounted.
                self.stats.deferred.fetch_add(1, Ordering::Relaxed);
                if let Err(e) = self.queue.defer(&d, defer_delay()).await {
                    tracing::warn!(error = %e, job = %d.task.job_id, "deferring failed");
                }
                return None;
            };
            Some(slot)
        };
        let started = Instant::now();
        self.stats.begin();
        let outcome = self.handler.handle(&d.task).await;
        if let Some(slot) = slot {
            slot.release(self.queue.as_ref()).await;
        }
        self.stats
            .handler_micros
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        let secs = started.elapsed().as_secs_f64();
        match &outcome {
            Ok(_) => self.stats.end(secs, Some(true), false),
            Err(TaskError::Permanent(_)) => self.stats.end(secs, Some(false), false),
            // The queue dead-letters after the last allowed delivery.
            Err(TaskError::Transient(_)) => self.stats.end(
                secs,
                Some(false),
                d.attempt >= self.queue.config().max_attempts,
            ),
        }
        match outcome {
            Ok(value) => {
                let o = ItemOutcome::succeeded(d.task.index, value, d.attempt);
                Some((d, o))
            }
            Err(TaskError::Permanent(e)) => {
                let o = ItemOutcome::failed(d.task.index, e, d.attempt);
                Some((d, o))
            }
            Err(TaskError::Transient(e)) => {
                self.stats.retries.fetch_add(1, Ordering::Relaxed);
                if let Err(e) = self.queue.retry(&d, e).await {
                    tracing::warn!(error = %e, job = %d.task.job_id, "scheduling a retry failed");
                }
                None
            }
        }
    }
}
