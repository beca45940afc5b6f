//! Periodic jobs: work the system owes on a cadence (the object-store orphan sweep), fired
//! once per occurrence across every instance that shares the database, as ordinary jobs on
//! the shared queue.
//!
//! Each instance runs a [`Scheduler`] that looks once a second. For every [`PeriodicJob`] it
//! computes the occurrence due now ([`Cadence::due_at`], the same on every instance) and, the
//! first time it sees it, claims it in the database (`db::schedules`: an insert on the key
//! (name, due time), so exactly one claim lands); the winner submits the job and records its
//! id. A claim whose submission fails (the queue's Redis is down) is released and claimed
//! again on a later tick, so a period is not lost to a short outage. The job is unique per
//! schedule: an occurrence that comes while the previous run's job is still queued or running
//! records that job rather than queueing a second one.
//!
//! Restarts: runs and the time each schedule was registered live in the database, so an
//! instance that starts after an occurrence nobody fired (every instance was down) fires it
//! once; earlier missed occurrences are not replayed (a sweep needs running once, not once
//! per missed hour). A schedule first registered, or changed, owes nothing from before.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

pub use crate::config::{Cadence, MIN_INTERVAL};
use serde::Serialize;

use super::{JobQueue, NewJob, Priority, Unique, now_ms};
use crate::db::{Db, schedules::ScheduleRun};

/// How often the scheduler looks for due occurrences.
pub const TICK: Duration = Duration::from_secs(1);
/// The longest a run's job keeps later occurrences from submitting their own.
const UNIQUE_TTL: Duration = Duration::from_secs(3600);
/// Runs kept per schedule (older ones are pruned when a new one fires).
const RUNS_KEPT: i64 = 100;

/// A job the system submits on a cadence.
#[derive(Debug, Clone)]
pub struct PeriodicJob {
    /// Stable name: the key runs are recorded under.
    pub name: &'static str,
    /// The task kind the workers dispatch on.
    pub kind: &'static str,
    pub cadence: Cadence,
    pub payload: serde_json::Value,
}

/// What `GET /api/jobs/schedules` shows of one schedule.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScheduleView {
    pub name: String,
    pub kind: String,
    /// `every <seconds>s` or the cron expression (UTC).
    pub schedule: String,
    /// The next occurrence (ms since the epoch).
    pub next_run_at: Option<i64>,
    /// The latest runs, newest first (at most 10).
    pub runs: Vec<ScheduleRun>,
}

/// Fires this instance's share of the periodic jobs (see the module docs).
pub struct Scheduler {
    db: Db,
    queue: Arc<dyn JobQueue>,
    jobs: Vec<PeriodicJob>,
    instance: String,
    fired: AtomicU64,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.jobs.iter().map(|j| j.name).collect();
        f.debug_struct("Scheduler")
            .field("jobs", &names)
            .field("instance", &self.instance)
            .finish()
    }
}

impl Scheduler {
    pub fn new(db: Db, queue: Arc<dyn JobQueue>, jobs: Vec<PeriodicJob>, instance: String) -> Self {
        Self {
            db,
            queue,
            jobs,
            instance,
            fired: AtomicU64::new(0),
        }
    }

    /// Occurrences this instance has fired since it started.
    pub fn fired(&self) -> u64 {
        self.fired.load(Ordering::Relaxed)
    }

    /// Looks every [`TICK`] until `stop` turns true. Database or queue failures are logged
    /// and tried again on the next tick.
    pub async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        if self.jobs.is_empty() {
            return;
        }
        // Since when each schedule's occurrences are owed (registered lazily, so a database
        // that is down at start only delays the first run).
        let mut owed_since: HashMap<&'static str, i64> = HashMap::new();
        // The occurrence each schedule was last settled for (fired here or by another).
        let mut settled: HashMap<&'static str, i64> = HashMap::new();
        loop {
            for job in &self.jobs {
                self.tick(job, &mut owed_since, &mut settled).await;
            }
            tokio::select! {
                _ = tokio::time::sleep(TICK) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }

    async fn tick(
        &self,
        job: &PeriodicJob,
        owed_since: &mut HashMap<&'static str, i64>,
        settled: &mut HashMap<&'static str, i64>,
    ) {
        let now = now_ms();
        let since = match owed_since.get(job.name) {
            Some(t) => *t,
            None => match self
                .db
                .register_schedule(job.name, job.kind, &job.cadence.describe(), now)
                .await
            {
                Ok(t) => *owed_since.entry(job.name).or_insert(t),
                Err(e) => {
                    tracing::warn!(schedule = job.name, error = %e, "registering a schedule failed; retrying");
                    return;
                }
            },
        };
        let Some(due) = job.cadence.due_at(now) else {
            return;
        };
        if due < since || settled.get(job.name) == Some(&due) {
            return;
        }
        match self.fire(job, due, now).await {
            Ok(_) => {
                settled.insert(job.name, due);
            }
            Err(e) => {
                tracing::warn!(schedule = job.name, due_at = due, error = %e, "firing a periodic job failed; retrying next tick")
            }
        }
    }

    /// Claims `due` and, when the claim is this instance's, submits the job. `Ok(true)`:
    /// fired here; `Ok(false)`: another instance owns this occurrence.
    async fn fire(&self, job: &PeriodicJob, due: i64, now: i64) -> anyhow::Result<bool> {
        if !self
            .db
            .claim_schedule_run(job.name, due, &self.instance, now)
            .await?
        {
            return Ok(false);
        }
        let submitted = self
            .queue
            .submit(NewJob {
                kind: job.kind.to_owned(),
                priority: Priority::Low,
                idempotency_key: None,
                // An occurrence that comes while the previous run is still queued or running
                // is recorded against that run's job instead of piling up a second one.
                unique: Some(Unique {
                    key: format!("schedule:{}", job.name),
                    ttl: UNIQUE_TTL,
                }),
                run_at: None,
                items: vec![job.payload.clone()],
                prefailed: Vec::new(),
                meta: serde_json::json!({"schedule": job.name, "due_at": due}),
            })
            .await;
        let id = match submitted {
            Ok(s) => s.id().to_owned(),
            Err(e) => {
                if let Err(r) = self
                    .db
                    .release_schedule_run(job.name, due, &self.instance)
                    .await
                {
                    tracing::warn!(schedule = job.name, error = %r, "releasing a claim failed");
                }
                return Err(e);
            }
        };
        self.db.set_schedule_run_job(job.name, due, &id).await?;
        self.fired.fetch_add(1, Ordering::Relaxed);
        tracing::info!(schedule = job.name, due_at = due, job_id = %id, "periodic job submitted");
        if let Err(e) = self.db.prune_schedule_runs(job.name, RUNS_KEPT).await {
            tracing::debug!(schedule = job.name, error = %e, "pruning old runs failed");
        }
        Ok(true)
    }

    /// Every schedule with its next occurrence and latest runs.
    pub async fn views(&self) -> crate::db::DbResult<Vec<ScheduleView>> {
        let now = now_ms();
        let mut out = Vec::with_capacity(self.jobs.len());
        for job in &self.jobs {
            out.push(ScheduleView {
                name: job.name.to_owned(),
                kind: job.kind.to_owned(),
                schedule: job.cadence.describe(),
                next_run_at: job.cadence.next_after(now),
                runs: self.db.schedule_runs(job.name, 10).await?,
            });
        }
        Ok(out)
    }
}
