//! The job index (`P:jobs`) and pages of it: members are job ids scored 0, so they sort by id,
//! and UUID v7 ids sort by creation time (their first 12 hex digits are the milliseconds).
//! Each submission adds its id and trims ids older than `JOB_TTL`; a listing reads ids
//! newest first in chunks, reads each job's fields in one pipeline, and removes ids whose
//! job has expired.

use std::collections::HashMap;

use super::RedisQueue;
use crate::jobs::{
    JobState, Priority, Progress,
    admin::{JobFilter, JobPage, JobSummary, SCAN_MAX},
    now_ms,
};

/// Index entries read per round trip.
const CHUNK: usize = 100;

const FIELDS: [&str; 10] = [
    "kind",
    "state",
    "priority",
    "total",
    "succeeded",
    "failed",
    "skipped",
    "meta",
    "created_at",
    "updated_at",
];

fn summary(id: &str, values: Vec<Option<String>>) -> Option<JobSummary> {
    let f: HashMap<&str, String> = FIELDS
        .iter()
        .zip(values)
        .filter_map(|(k, v)| Some((*k, v?)))
        .collect();
    summary_of(id, |k| f.get(k))
}

/// A job's summary from its hash's fields (`get`); `None` for a hash without a kind.
pub(super) fn summary_of<'a>(
    id: &str,
    get: impl Fn(&str) -> Option<&'a String>,
) -> Option<JobSummary> {
    let num = |k: &str| get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // A job hash without a kind is gone (expired) or a uniqueness placeholder.
    let kind = get("kind")?.clone();
    let (succeeded, failed, skipped) = (num("succeeded"), num("failed"), num("skipped"));
    Some(JobSummary {
        job_id: id.to_owned(),
        kind,
        state: get("state")
            .and_then(|s| JobState::parse(s))
            .unwrap_or(JobState::Queued),
        priority: get("priority")
            .and_then(|p| Priority::parse(p).ok())
            .unwrap_or_default(),
        progress: Progress {
            total: num("total"),
            done: succeeded + failed + skipped,
            succeeded,
            failed,
            skipped,
        },
        meta: get("meta")
            .and_then(|m| serde_json::from_str(m).ok())
            .unwrap_or(serde_json::Value::Null),
        created_at: num("created_at") as i64,
        updated_at: num("updated_at") as i64,
    })
}

impl RedisQueue {
    /// The lexicographic bound below which index members are older than `JOB_TTL`.
    pub(super) fn index_cutoff(&self) -> String {
        let ms = (now_ms() - self.ttl_ms() as i64).max(0);
        format!("({ms:012x}")
    }

    pub(super) async fn list_jobs(&self, filter: &JobFilter) -> anyhow::Result<JobPage> {
        let limit = filter.limit.max(1);
        let index = self.jobs_index();
        let mut c = self.conn().await?;
        let (mut jobs, mut scanned) = (Vec::new(), 0usize);
        let mut last = filter.cursor.clone();
        loop {
            let want = CHUNK.min(SCAN_MAX - scanned);
            let max = match &last {
                Some(id) => format!("({id}"),
                None => "+".to_owned(),
            };
            let mut ids: Vec<String> = redis::cmd("ZREVRANGEBYLEX")
                .arg(&index)
                .arg(max)
                .arg("-")
                .arg("LIMIT")
                .arg(0)
                .arg(want + 1)
                .query_async(&mut c)
                .await?;
            let extra = ids.len() > want;
            ids.truncate(want);
            if ids.is_empty() {
                return Ok(JobPage {
                    jobs,
                    next_cursor: None,
                });
            }
            let mut pipe = redis::pipe();
            for id in &ids {
                pipe.cmd("HMGET").arg(self.job_key(id)).arg(&FIELDS[..]);
            }
            let rows: Vec<Vec<Option<String>>> = pipe.query_async(&mut c).await?;
            let mut gone = Vec::new();
            for (i, (id, row)) in ids.iter().zip(rows).enumerate() {
                scanned += 1;
                last = Some(id.clone());
                let expired = row.iter().all(Option::is_none);
                match summary(id, row) {
                    Some(s) if filter.matches(&s.kind, s.state) => jobs.push(s),
                    _ if expired => gone.push(id.clone()),
                    _ => {}
                }
                let more = i + 1 < ids.len() || extra;
                if jobs.len() >= limit || (scanned >= SCAN_MAX && more) {
                    self.forget(&index, &gone).await;
                    return Ok(JobPage {
                        jobs,
                        next_cursor: more.then(|| id.clone()),
                    });
                }
            }
            self.forget(&index, &gone).await;
            if !extra || scanned >= SCAN_MAX {
                return Ok(JobPage {
                    jobs,
                    next_cursor: None,
                });
            }
        }
    }

    /// Removes index entries whose job expired (best effort: the next trim removes them too).
    async fn forget(&self, index: &str, gone: &[String]) {
        if gone.is_empty() {
            return;
        }
        if let Ok(mut c) = self.conn().await {
            let r: redis::RedisResult<i64> = redis::cmd("ZREM")
                .arg(index)
                .arg(gone)
                .query_async(&mut c)
                .await;
            if let Err(e) = r {
                tracing::debug!(error = %e, "pruning the job index failed");
            }
        }
    }
}
