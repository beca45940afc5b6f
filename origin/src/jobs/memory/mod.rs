//! The in-process queue: the Redis backend's semantics (priorities, visibility timeout,
//! backoff retries, dead letters, idempotency keys, exactly-once results, TTL) without
//! durability, for a single origin without `REDIS_URL`. Everything sits behind one mutex; the
//! critical sections are a few map operations, far below the cost of any real task.
//!
//! `admin.rs` holds the operator's side (listing jobs, dead letters and their redrive).

mod admin;

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::Mutex,
    time::{Duration, Instant},
};

use futures::{FutureExt, future::BoxFuture};
use tokio::sync::Notify;

/// Finished jobs (and dead letters) kept at most, beyond `JOB_TTL`: without Redis they live in
/// this process's memory, so sustained batch traffic must not grow it for a whole TTL. When
/// the store passes the cap by a tenth, the least recently updated finished jobs go first
/// (their results then answer 404, as after the TTL). Jobs still running are never dropped.
pub const MAX_RETAINED: usize = 10_000;

use super::{
    DeadLetter, Delivery, ItemError, ItemOutcome, ItemStatus, JobQueue, JobState, JobView, NewJob,
    Priority, Progress, QueueConfig, Submitted, Task,
    admin::{DeadCount, DeadPage, DeadSelection, JobFilter, JobPage},
    backoff, now_ms,
};

#[derive(Debug, Clone)]
struct Entry {
    task: Task,
    priority: Priority,
}

#[derive(Debug)]
struct Job {
    kind: String,
    state: JobState,
    priority: Priority,
    total: u64,
    meta: serde_json::Value,
    created_at: i64,
    updated_at: i64,
    touched: Instant,
    items: BTreeMap<u32, ItemOutcome>,
    attempts: HashMap<u32, u32>,
}

impl Job {
    fn progress(&self) -> Progress {
        let mut p = Progress {
            total: self.total,
            done: self.items.len() as u64,
            succeeded: 0,
            failed: 0,
            skipped: 0,
        };
        for o in self.items.values() {
            match o.status {
                ItemStatus::Succeeded => p.succeeded += 1,
                ItemStatus::Failed => p.failed += 1,
                ItemStatus::Skipped => p.skipped += 1,
            }
        }
        p
    }
}

#[derive(Debug, Default)]
struct State {
    queues: [VecDeque<Entry>; 3],
    /// receipt → (entry, visibility deadline)
    inflight: HashMap<String, (Entry, Instant)>,
    /// (due, seq) → entry
    delayed: BTreeMap<(Instant, u64), Entry>,
    /// (ms, seq) of the id → dead letter, oldest first.
    dead: BTreeMap<(u64, u64), DeadLetter>,
    /// By id: ids are UUID v7, so this is creation order.
    jobs: BTreeMap<String, Job>,
    idempotency: HashMap<String, (String, Instant)>,
    /// Uniqueness key → (job id, until).
    unique: HashMap<String, (String, Instant)>,
    /// Kind → lease → until (cluster-wide slots; one process here).
    leases: HashMap<String, HashMap<String, Instant>>,
    seq: u64,
}

impl State {
    /// Moves expired in-flight entries and due delayed entries back to their queues.
    fn requeue_due(&mut self, now: Instant) {
        let expired: Vec<String> = self
            .inflight
            .iter()
            .filter(|(_, (_, deadline))| *deadline <= now)
            .map(|(r, _)| r.clone())
            .collect();
        for r in expired {
            if let Some((e, _)) = self.inflight.remove(&r) {
                self.queues[e.priority.rank()].push_front(e);
            }
        }
        while let Some(entry) = self.delayed.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let e = entry.remove();
            self.queues[e.priority.rank()].push_back(e);
        }
    }

    fn expire_jobs(&mut self, ttl: Duration, now: Instant) {
        self.jobs
            .retain(|_, j| !(j.state.is_terminal() && now.duration_since(j.touched) > ttl));
        if self.jobs.len() > MAX_RETAINED + MAX_RETAINED / 10 {
            let mut finished: Vec<(Instant, String)> = self
                .jobs
                .iter()
                .filter(|(_, j)| j.state.is_terminal())
                .map(|(id, j)| (j.touched, id.clone()))
                .collect();
            finished.sort();
            let excess = self.jobs.len().saturating_sub(MAX_RETAINED);
            for (_, id) in finished.into_iter().take(excess) {
                self.jobs.remove(&id);
            }
        }
        while self.dead.len() > crate::jobs::admin::DEAD_MAX {
            self.dead.pop_first();
        }
        self.idempotency
            .retain(|_, (_, at)| now.duration_since(*at) <= ttl);
        self.unique.retain(|_, (_, until)| *until > now);
    }

    fn record(&mut self, job_id: &str, outcome: ItemOutcome) -> bool {
        let Some(job) = self.jobs.get_mut(job_id) else {
            return false;
        };
        if job.items.contains_key(&outcome.index) {
            return false;
        }
        job.items.insert(outcome.index, outcome);
        job.updated_at = now_ms();
        job.touched = Instant::now();
        if job.state != JobState::Cancelled {
            job.state = job.progress().state();
        }
        true
    }
}

#[derive(Debug)]
pub struct MemoryQueue {
    state: Mutex<State>,
    notify: Notify,
    config: QueueConfig,
}

impl MemoryQueue {
    pub fn new(config: QueueConfig) -> Self {
        Self {
            state: Mutex::new(State::default()),
            notify: Notify::new(),
            config,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn try_take(&self, max: usize) -> Vec<Delivery> {
        let now = Instant::now();
        let mut s = self.lock();
        s.requeue_due(now);
        let mut out = Vec::new();
        for rank in 0..3 {
            while out.len() < max {
                let Some(e) = s.queues[rank].pop_front() else {
                    break;
                };
                s.seq += 1;
                let receipt = format!("m{}", s.seq);
                let (attempt, cancelled) = match s.jobs.get_mut(&e.task.job_id) {
                    Some(job) => {
                        let a = job.attempts.entry(e.task.index).or_insert(0);
                        *a += 1;
                        let attempt = *a;
                        if job.state == JobState::Queued {
                            job.state = JobState::Running;
                        }
                        (attempt, job.state == JobState::Cancelled)
                    }
                    // The job expired: nothing to record; drop the entry.
                    None => continue,
                };
                s.inflight.insert(
                    receipt.clone(),
                    (e.clone(), now + self.config.visibility_timeout),
                );
                out.push(Delivery {
                    task: e.task,
                    priority: e.priority,
                    attempt,
                    cancelled,
                    receipt,
                });
            }
        }
        out
    }

    /// When the next delayed or in-flight entry becomes due (to bound a worker's sleep).
    fn next_due(&self) -> Option<Instant> {
        let s = self.lock();
        let d = s.delayed.keys().next().map(|(t, _)| *t);
        let v = s.inflight.values().map(|(_, t)| *t).min();
        match (d, v) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl JobQueue for MemoryQueue {
    fn backend(&self) -> &'static str {
        "memory"
    }

    fn queued(&self) -> BoxFuture<'_, anyhow::Result<u64>> {
        let s = self.lock();
        let n = s.queues.iter().map(VecDeque::len).sum::<usize>() + s.delayed.len();
        drop(s);
        async move { Ok(n as u64) }.boxed()
    }

    fn config(&self) -> &QueueConfig {
        &self.config
    }

    fn submit(&self, job: NewJob) -> BoxFuture<'_, anyhow::Result<Submitted>> {
        async move {
            let now = Instant::now();
            let id = uuid::Uuid::now_v7().simple().to_string();
            {
                let mut s = self.lock();
                s.expire_jobs(self.config.ttl, now);
                if let Some(key) = &job.idempotency_key
                    && let Some((existing, _)) = s.idempotency.get(key)
                {
                    return Ok(Submitted::Existing(existing.clone()));
                }
                if let Some(u) = &job.unique {
                    let live = s.unique.get(&u.key).and_then(|(existing, until)| {
                        let active = *until > now
                            && s.jobs.get(existing).is_some_and(|j| !j.state.is_terminal());
                        active.then(|| existing.clone())
                    });
                    if let Some(existing) = live {
                        // The idempotency key, if any, now names that job too.
                        if let Some(key) = &job.idempotency_key {
                            s.idempotency.insert(key.clone(), (existing.clone(), now));
                        }
                        return Ok(Submitted::Existing(existing));
                    }
                    s.unique.insert(u.key.clone(), (id.clone(), now + u.ttl));
                }
                if let Some(key) = &job.idempotency_key {
                    s.idempotency.insert(key.clone(), (id.clone(), now));
                }
                let total = job.items.len() as u64;
                s.jobs.insert(
                    id.clone(),
                    Job {
                        kind: job.kind.clone(),
                        state: JobState::Queued,
                        priority: job.priority,
                        total,
                        meta: job.meta.clone(),
                        created_at: now_ms(),
                        updated_at: now_ms(),
                        touched: now,
                        items: BTreeMap::new(),
                        attempts: HashMap::new(),
                    },
                );
                for (index, error) in &job.prefailed {
                    s.record(&id, ItemOutcome::failed(*index, error.clone(), 0));
                }
                let prefailed: std::collections::HashSet<u32> =
                    job.prefailed.iter().map(|(i, _)| *i).collect();
                for (i, payload) in job.items.into_iter().enumerate() {
                    let index = i as u32;
                    if prefailed.contains(&index) {
                        continue;
                    }
                    s.queues[job.priority.rank()].push_back(Entry {
                        task: Task {
                            job_id: id.clone(),
                            kind: job.kind.clone(),
                            index,
                            payload,
                        },
                        priority: job.priority,
                    });
                }
                if total == 0
                    && let Some(j) = s.jobs.get_mut(&id)
                {
                    j.state = JobState::Completed;
                }
            }
            self.notify.notify_waiters();
            Ok(Submitted::New(id))
        }
        .boxed()
    }

    fn idempotent(&self, key: &str) -> BoxFuture<'_, anyhow::Result<Option<String>>> {
        let found = self.lock().idempotency.get(key).map(|(id, _)| id.clone());
        async move { Ok(found) }.boxed()
    }

    fn job(&self, id: &str) -> BoxFuture<'_, anyhow::Result<Option<JobView>>> {
        let view = self.lock().jobs.get(id).map(|j| JobView {
            job_id: id.to_owned(),
            kind: j.kind.clone(),
            state: j.state,
            priority: j.priority,
            progress: j.progress(),
            meta: j.meta.clone(),
            created_at: j.created_at,
            updated_at: j.updated_at,
            items: j.items.values().cloned().collect(),
        });
        async move { Ok(view) }.boxed()
    }

    fn cancel(&self, id: &str) -> BoxFuture<'_, anyhow::Result<Option<JobState>>> {
        let state = {
            let mut s = self.lock();
            s.jobs.get_mut(id).map(|j| {
                if !j.state.is_terminal() {
                    j.state = JobState::Cancelled;
                    j.updated_at = now_ms();
                }
                j.state
            })
        };
        async move { Ok(state) }.boxed()
    }

    fn fetch(
        &self,
        _consumer: &str,
        max: usize,
        wait: Duration,
    ) -> BoxFuture<'_, anyhow::Result<Vec<Delivery>>> {
        async move {
            let deadline = Instant::now() + wait;
            loop {
                let notified = self.notify.notified();
                let got = self.try_take(max.max(1));
                if !got.is_empty() {
                    return Ok(got);
                }
                let now = Instant::now();
                if now >= deadline {
                    return Ok(got);
                }
                let until = self.next_due().map_or(deadline, |d| d.min(deadline));
                let _ = tokio::time::timeout(until.saturating_duration_since(now), notified).await;
            }
        }
        .boxed()
    }

    fn finish(
        &self,
        delivery: &Delivery,
        outcome: ItemOutcome,
    ) -> BoxFuture<'_, anyhow::Result<bool>> {
        let recorded = {
            let mut s = self.lock();
            s.inflight.remove(&delivery.receipt);
            s.record(&delivery.task.job_id, outcome)
        };
        async move { Ok(recorded) }.boxed()
    }

    fn retry(&self, delivery: &Delivery, error: ItemError) -> BoxFuture<'_, anyhow::Result<()>> {
        {
            let mut s = self.lock();
            if let Some((entry, _)) = s.inflight.remove(&delivery.receipt) {
                if delivery.attempt >= self.config.max_attempts {
                    let attempts = delivery.attempt;
                    let e = ItemError::new(
                        "dead_lettered",
                        format!("gave up after {attempts} attempts: {}", error.message),
                    );
                    // Dead-lettered only when this is the item's first outcome (a duplicate
                    // delivery of an item already recorded has nothing to redrive).
                    if s.record(
                        &entry.task.job_id,
                        ItemOutcome::failed(entry.task.index, e, attempts),
                    ) {
                        s.seq += 1;
                        let (ms, seq) = (now_ms().max(0) as u64, s.seq);
                        s.dead.insert(
                            (ms, seq),
                            DeadLetter {
                                id: format!("{ms}-{seq}"),
                                dead_at: ms as i64,
                                task: entry.task.clone(),
                                error: error.clone(),
                                attempts,
                            },
                        );
                    }
                } else {
                    s.seq += 1;
                    let due = Instant::now() + backoff(self.config.retry_base, delivery.attempt);
                    let seq = s.seq;
                    s.delayed.insert((due, seq), entry);
                }
            }
        }
        self.notify.notify_waiters();
        async move { Ok(()) }.boxed()
    }

    fn defer(&self, delivery: &Delivery, delay: Duration) -> BoxFuture<'_, anyhow::Result<()>> {
        {
            let mut s = self.lock();
            if let Some((entry, _)) = s.inflight.remove(&delivery.receipt) {
                if let Some(a) = s
                    .jobs
                    .get_mut(&entry.task.job_id)
                    .and_then(|j| j.attempts.get_mut(&entry.task.index))
                {
                    *a = a.saturating_sub(1);
                }
                s.seq += 1;
                let seq = s.seq;
                s.delayed.insert((Instant::now() + delay, seq), entry);
            }
        }
        self.notify.notify_waiters();
        async move { Ok(()) }.boxed()
    }

    fn lease(&self, kind: &str, lease: &str, limit: u32) -> BoxFuture<'_, anyhow::Result<bool>> {
        let now = Instant::now();
        let taken = {
            let mut s = self.lock();
            let held = s.leases.entry(kind.to_owned()).or_default();
            held.retain(|_, until| *until > now);
            if held.contains_key(lease) || held.len() < limit as usize {
                held.insert(lease.to_owned(), now + self.config.visibility_timeout);
                true
            } else {
                false
            }
        };
        async move { Ok(taken) }.boxed()
    }

    fn release(&self, kind: &str, lease: &str) -> BoxFuture<'_, anyhow::Result<()>> {
        if let Some(held) = self.lock().leases.get_mut(kind) {
            held.remove(lease);
        }
        async move { Ok(()) }.boxed()
    }

    fn list(&self, filter: JobFilter) -> BoxFuture<'_, anyhow::Result<JobPage>> {
        let page = self.lock().list(&filter);
        async move { Ok(page) }.boxed()
    }

    fn dead_page(
        &self,
        limit: usize,
        cursor: Option<String>,
    ) -> BoxFuture<'_, anyhow::Result<DeadPage>> {
        let page = self.lock().dead_page(limit, cursor.as_deref());
        async move { Ok(page) }.boxed()
    }

    fn redrive(&self, which: DeadSelection) -> BoxFuture<'_, anyhow::Result<DeadCount>> {
        let count = self.lock().redrive(which);
        self.notify.notify_waiters();
        async move { Ok(count) }.boxed()
    }

    fn discard(&self, which: DeadSelection) -> BoxFuture<'_, anyhow::Result<DeadCount>> {
        let count = self.lock().discard(which);
        async move { Ok(count) }.boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(state: JobState, touched: Instant) -> Job {
        Job {
            kind: "test".into(),
            state,
            priority: Priority::Normal,
            total: 1,
            meta: serde_json::Value::Null,
            created_at: 0,
            updated_at: 0,
            touched,
            items: BTreeMap::new(),
            attempts: HashMap::new(),
        }
    }

    #[test]
    fn finished_jobs_are_capped_oldest_first_and_running_ones_kept() {
        let mut s = State::default();
        let start = Instant::now();
        let total = MAX_RETAINED + MAX_RETAINED / 10 + 5;
        for i in 0..total {
            let state = if i % 100 == 0 {
                JobState::Running
            } else {
                JobState::Completed
            };
            s.jobs.insert(
                format!("j{i:06}"),
                job(state, start + Duration::from_millis(i as u64)),
            );
        }
        s.expire_jobs(Duration::from_secs(86_400), start);
        assert_eq!(s.jobs.len(), MAX_RETAINED);
        assert!(
            s.jobs.contains_key("j000000"),
            "a running job is never dropped"
        );
        assert!(
            !s.jobs.contains_key("j000001"),
            "the oldest finished job went first"
        );
        assert!(s.jobs.contains_key(&format!("j{:06}", total - 1)));
    }
}
