//! Reading the queue: a job's view, the number of items waiting.

use std::collections::HashMap;

use redis::Value;

use super::{GROUP, RedisQueue};
use crate::jobs::{ItemOutcome, JobView, Priority};

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
        let Some(summary) = super::list::summary_of(id, |k| fields.get(k)) else {
            return Ok(None);
        };
        let mut outcomes: Vec<ItemOutcome> = items
            .values()
            .filter_map(|v| serde_json::from_str(v).ok())
            .collect();
        outcomes.sort_by_key(|o| o.index);
        Ok(Some(summary.with_items(outcomes)))
    }
}
