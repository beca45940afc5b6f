//! Reading the queue: a job's view, the number of items waiting.

use std::collections::HashMap;

use redis::Value;

use super::{GROUP, RedisQueue};
use crate::jobs::{ItemOutcome, JobState, JobView, Priority, Progress};

impl RedisQueue {
    /// Entries stay in a stream until acknowledged (then deleted), so per priority the
    /// waiting ones are `XLEN` minus the group's pending (delivered, unacknowledged) count;
    /// retries wait in the delayed sorted set.
    pub(super) async fn depth(&self) -> anyhow::Result<u64> {
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

    pub(super) async fn view(&self, id: &str) -> anyhow::Result<Option<JobView>> {
        let mut c = self.conn().await?;
        let (fields, items): (HashMap<String, String>, HashMap<String, String>) = redis::pipe()
            .hgetall(self.job_key(id))
            .hgetall(self.items_key(id))
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
            job_id: id.to_owned(),
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
}
