//! Periodic-job rows: the schedules instances have registered and the runs they fired
//! (`jobs::schedule`). Claiming a run is an insert on the key (name, due time): the one
//! insert that lands owns the period, on SQLite and Postgres alike.

use futures::TryFutureExt;

use super::{Db, DbResult};

/// One fired (or being fired) occurrence of a schedule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ScheduleRun {
    pub name: String,
    /// The occurrence this run is for (ms since the epoch).
    pub due_at: i64,
    /// When an instance claimed it (ms since the epoch).
    pub claimed_at: i64,
    /// Which instance claimed it.
    pub instance: String,
    /// The job it submitted (absent only while being submitted).
    pub job_id: Option<String>,
}

impl Db {
    /// Records that `name` runs `kind` on `schedule`, and returns since when its occurrences
    /// are owed: kept while the schedule is unchanged (a restart catches up on the run it
    /// missed), reset to `now_ms` when the schedule changes (a new cadence owes no past).
    pub async fn register_schedule(
        &self,
        name: &str,
        kind: &str,
        schedule: &str,
        now_ms: i64,
    ) -> DbResult<i64> {
        // Every SET expression reads the row as it was, so the CASE sees the old schedule.
        let sql = "INSERT INTO job_schedules (name, kind, schedule, registered_at) \
                   VALUES ($1, $2, $3, $4) \
                   ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, \
                   registered_at = CASE WHEN job_schedules.schedule = excluded.schedule \
                   THEN job_schedules.registered_at ELSE excluded.registered_at END, \
                   schedule = excluded.schedule \
                   RETURNING registered_at";
        let (registered_at,): (i64,) =
            dispatch!(self, "schedule_register", |p| sqlx::query_as(sql)
                .bind(name)
                .bind(kind)
                .bind(schedule)
                .bind(now_ms)
                .fetch_one(p))?;
        Ok(registered_at)
    }

    /// Claims the occurrence `due_at` of `name` for `instance`: `true` when this call is the
    /// first to claim it.
    pub async fn claim_schedule_run(
        &self,
        name: &str,
        due_at: i64,
        instance: &str,
        now_ms: i64,
    ) -> DbResult<bool> {
        let sql = "INSERT INTO job_schedule_runs (name, due_at, claimed_at, instance) \
                   VALUES ($1, $2, $3, $4) ON CONFLICT (name, due_at) DO NOTHING";
        let n = dispatch!(self, "schedule_claim", |p| sqlx::query(sql)
            .bind(name)
            .bind(due_at)
            .bind(now_ms)
            .bind(instance)
            .execute(p)
            .map_ok(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// The job a claimed run submitted.
    pub async fn set_schedule_run_job(
        &self,
        name: &str,
        due_at: i64,
        job_id: &str,
    ) -> DbResult<()> {
        let sql = "UPDATE job_schedule_runs SET job_id = $3 WHERE name = $1 AND due_at = $2";
        dispatch!(self, "schedule_run_job", |p| sqlx::query(sql)
            .bind(name)
            .bind(due_at)
            .bind(job_id)
            .execute(p)
            .map_ok(|_| ()))
    }

    /// Gives up a claim whose job could not be submitted, so the period can be claimed again.
    pub async fn release_schedule_run(
        &self,
        name: &str,
        due_at: i64,
        instance: &str,
    ) -> DbResult<()> {
        let sql = "DELETE FROM job_schedule_runs \
                   WHERE name = $1 AND due_at = $2 AND instance = $3 AND job_id IS NULL";
        dispatch!(self, "schedule_release", |p| sqlx::query(sql)
            .bind(name)
            .bind(due_at)
            .bind(instance)
            .execute(p)
            .map_ok(|_| ()))
    }

    /// The most recent runs of `name`, newest first.
    pub async fn schedule_runs(&self, name: &str, limit: i64) -> DbResult<Vec<ScheduleRun>> {
        let sql = "SELECT name, due_at, claimed_at, instance, job_id FROM job_schedule_runs \
                   WHERE name = $1 ORDER BY due_at DESC LIMIT $2";
        dispatch!(self, "schedule_runs", |p| sqlx::query_as(sql)
            .bind(name)
            .bind(limit)
            .fetch_all(p))
    }

    /// Forgets runs of `name` beyond the newest `keep`.
    pub async fn prune_schedule_runs(&self, name: &str, keep: i64) -> DbResult<u64> {
        let sql = "DELETE FROM job_schedule_runs WHERE name = $1 AND due_at < \
                   (SELECT MIN(due_at) FROM (SELECT due_at FROM job_schedule_runs \
                   WHERE name = $1 ORDER BY due_at DESC LIMIT $2) AS newest)";
        dispatch!(self, "schedule_prune", |p| sqlx::query(sql)
            .bind(name)
            .bind(keep)
            .execute(p)
            .map_ok(|r| r.rows_affected()))
    }
}
