//! Recording outcomes (one Lua script: outcome, counts, state, acknowledgement), retries
//! through the delayed set, and dead letters.

use super::{GROUP, RedisQueue};
use crate::jobs::{
    Delivery, ItemError, ItemOutcome, ItemStatus, Priority, admin::DEAD_MAX, backoff, now_ms,
};

/// The job hash's counter an outcome increments.
fn counter(status: ItemStatus) -> &'static str {
    match status {
        ItemStatus::Succeeded => "succeeded",
        ItemStatus::Failed => "failed",
        ItemStatus::Skipped => "skipped",
    }
}

impl RedisQueue {
    fn split_receipt(receipt: &str) -> (Priority, String) {
        match receipt.split_once('|') {
            Some((p, e)) => (Priority::parse(p).unwrap_or_default(), e.to_owned()),
            None => (Priority::Normal, receipt.to_owned()),
        }
    }

    /// The finish script's call for one outcome; with `dead`, the failure is the last attempt's
    /// and a dead letter is added with it (atomically, and only when it is the first outcome).
    fn finish_call(
        &self,
        delivery: &Delivery,
        outcome: &ItemOutcome,
        now: i64,
        dead: Option<&ItemError>,
    ) -> anyhow::Result<redis::ScriptInvocation<'_>> {
        let (p, entry) = Self::split_receipt(&delivery.receipt);
        let id = &delivery.task.job_id;
        let mut call = self.finish.key(self.job_key(id));
        call.key(self.items_key(id))
            .key(self.stream(p))
            .key(self.dead())
            .arg(GROUP)
            .arg(entry)
            .arg(outcome.index)
            .arg(serde_json::to_string(outcome)?)
            .arg(counter(outcome.status))
            .arg(now)
            .arg(self.ttl_ms());
        if let Some(error) = dead {
            call.arg(serde_json::to_string(&delivery.task)?)
                .arg(serde_json::to_string(error)?)
                .arg(delivery.attempt)
                .arg(DEAD_MAX);
        }
        Ok(call)
    }

    pub(super) async fn record(
        &self,
        delivery: &Delivery,
        outcome: &ItemOutcome,
    ) -> anyhow::Result<bool> {
        let mut c = self.conn().await?;
        let new: i64 = self
            .finish_call(delivery, outcome, now_ms(), None)?
            .invoke_async(&mut c)
            .await?;
        Ok(new == 1)
    }

    pub(super) async fn record_many(
        &self,
        done: Vec<(Delivery, ItemOutcome)>,
    ) -> anyhow::Result<Vec<bool>> {
        if done.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        let now = now_ms();
        for (d, o) in &done {
            pipe.invoke_script(&self.finish_call(d, o, now, None)?);
        }
        let mut c = self.conn().await?;
        let news: Vec<i64> = match pipe.query_async(&mut c).await {
            Ok(r) => r,
            Err(e) if e.to_string().to_ascii_lowercase().contains("noscript") => {
                self.finish.load_async(&mut c).await?;
                pipe.query_async(&mut c).await?
            }
            Err(e) => return Err(e.into()),
        };
        Ok(news.into_iter().map(|n| n == 1).collect())
    }

    /// Puts a failed delivery in the delayed set for its backoff, or, after the last attempt,
    /// in the dead-letter stream with a failed outcome.
    pub(super) async fn retry_later(
        &self,
        delivery: &Delivery,
        error: ItemError,
    ) -> anyhow::Result<()> {
        if delivery.attempt >= self.config.max_attempts {
            let mut c = self.conn().await?;
            let attempts = delivery.attempt;
            let e = ItemError::new(
                "dead_lettered",
                format!("gave up after {attempts} attempts: {}", error.message),
            );
            let outcome = ItemOutcome::failed(delivery.task.index, e, attempts);
            let _: i64 = self
                .finish_call(delivery, &outcome, now_ms(), Some(&error))?
                .invoke_async(&mut c)
                .await?;
            return Ok(());
        }
        let delay = backoff(self.config.retry_base, delivery.attempt);
        self.delay(delivery, delay, false).await
    }

    /// Acknowledges a delivery and puts its task in the delayed set for `delay`; `uncount`
    /// takes the delivery's attempt back (a deferral is not an attempt).
    pub(super) async fn delay(
        &self,
        delivery: &Delivery,
        delay: std::time::Duration,
        uncount: bool,
    ) -> anyhow::Result<()> {
        let (p, entry) = Self::split_receipt(&delivery.receipt);
        let mut c = self.conn().await?;
        let due = now_ms() + delay.as_millis() as i64;
        let member = serde_json::json!({
            "p": p.as_str(),
            "t": serde_json::to_string(&delivery.task)?,
            "n": uuid::Uuid::new_v4().simple().to_string(),
        })
        .to_string();
        let delayed = self.delayed();
        let mut pipe = redis::pipe();
        pipe.zadd(&delayed, member, due)
            .ignore()
            .cmd("XACK")
            .arg(self.stream(p))
            .arg(GROUP)
            .arg(&entry)
            .ignore()
            .cmd("XDEL")
            .arg(self.stream(p))
            .arg(&entry)
            .ignore();
        if uncount {
            pipe.hincr(
                self.attempts_key(&delivery.task.job_id),
                delivery.task.index,
                -1,
            )
            .ignore();
        }
        c.exec_atomic(&pipe, &delayed).await?;
        Ok(())
    }
}
