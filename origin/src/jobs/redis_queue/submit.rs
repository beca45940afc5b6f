//! A new job: the idempotency key, the uniqueness key, then the job hash (pre-failed items
//! recorded at once), its entry in the job index and one stream entry per remaining item, in
//! one transaction (a script call on a cluster).

use std::collections::HashMap;

use super::RedisQueue;
use crate::jobs::{ItemError, ItemOutcome, JobState, NewJob, Submitted, Task, now_ms};

impl RedisQueue {
    pub(super) async fn submit_job(&self, job: NewJob) -> anyhow::Result<Submitted> {
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
        if let Some(unique) = &job.unique
            && let Some(live) = self.bind_unique(unique, &id).await?
        {
            if let Some(key) = &job.idempotency_key {
                self.rebind_idempotency(key, &live).await?;
            }
            return Ok(Submitted::Existing(live));
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
        let index = self.jobs_index();
        pipe.zadd(&index, &id, 0).ignore();
        pipe.cmd("ZREMRANGEBYLEX")
            .arg(&index)
            .arg("-")
            .arg(self.index_cutoff())
            .ignore();
        pipe.pexpire(&index, self.ttl_ms() as i64).ignore();
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
        c.exec_atomic(&pipe, &jk).await?;
        Ok(Submitted::New(id))
    }
}
