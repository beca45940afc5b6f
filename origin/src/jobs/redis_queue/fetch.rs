//! Fetching work: maintenance (due retries back to their streams, stalled entries taken
//! over), reads by priority, and turning entries into deliveries.

use std::time::{Duration, Instant};

use redis::{
    Value,
    streams::{StreamAutoClaimReply, StreamId, StreamReadReply},
};

use super::{GROUP, RedisQueue};
use crate::jobs::{Delivery, Priority, Task, now_ms};

/// How often one process moves due delayed items back to their streams, at most.
const PROMOTE_EVERY: Duration = Duration::from_millis(250);

impl RedisQueue {
    /// One fetch; on failure, drops the consumer's blocking connection and recreates the
    /// consumer group when Redis lost it.
    pub(super) async fn fetch_recovering(
        &self,
        consumer: &str,
        max: usize,
        wait: Duration,
    ) -> anyhow::Result<Vec<Delivery>> {
        let result = self.fetch_once(consumer, max, wait).await;
        if let Err(e) = &result {
            // Whatever failed, do not keep a blocking connection that may be dead (a
            // multiplexed connection does not reconnect by itself): the next fetch opens
            // a fresh one. A Redis that came back empty has lost the consumer group.
            self.blocking
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(consumer);
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

    /// Moves due retries and deferrals back to their streams (at most every
    /// [`PROMOTE_EVERY`] per process: a deferred item should come back soon after it is due)
    /// and takes over stalled entries (at most every quarter of the visibility timeout).
    async fn maintenance(
        &self,
        consumer: &str,
        max: usize,
    ) -> anyhow::Result<Vec<(Priority, StreamId)>> {
        let every = (self.config.visibility_timeout / 4).max(Duration::from_millis(100));
        if Self::due(&self.last_promote, PROMOTE_EVERY.min(every)) {
            let mut c = self.conn().await?;
            let _: i64 = self
                .promote
                .key(self.delayed())
                .arg(now_ms())
                .arg(self.stream_base())
                .arg(1000)
                .invoke_async(&mut c)
                .await?;
        }
        if !Self::due(&self.last_maintenance, every) {
            return Ok(Vec::new());
        }
        let mut c = self.conn().await?;
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

    /// Whether `every` has passed since `last` (and if so, restarts it).
    fn due(last: &std::sync::Mutex<Instant>, every: Duration) -> bool {
        let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
        if last.elapsed() < every {
            return false;
        }
        *last = Instant::now();
        true
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
