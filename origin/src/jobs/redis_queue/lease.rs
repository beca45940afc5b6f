//! Cluster-wide concurrency slots: one sorted set per kind (`P:conc:{kind}`), members the
//! leases of running deliveries, scored by when they expire (now + the visibility timeout):
//! a process that dies holding slots gives them back when its leases expire, as its items are
//! redelivered (`jobs_lease.lua`).

use super::RedisQueue;
use crate::jobs::now_ms;

impl RedisQueue {
    pub(super) async fn take_lease(
        &self,
        kind: &str,
        lease: &str,
        limit: u32,
    ) -> anyhow::Result<bool> {
        let now = now_ms();
        let expiry = now + self.config.visibility_timeout.as_millis().max(1) as i64;
        let mut c = self.conn().await?;
        let taken: i64 = self
            .lease
            .key(self.lease_key(kind))
            .arg(lease)
            .arg(limit)
            .arg(now)
            .arg(expiry)
            .invoke_async(&mut c)
            .await?;
        Ok(taken == 1)
    }

    pub(super) async fn give_back(&self, kind: &str, lease: &str) -> anyhow::Result<()> {
        let mut c = self.conn().await?;
        let _: i64 = redis::cmd("ZREM")
            .arg(self.lease_key(kind))
            .arg(lease)
            .query_async(&mut c)
            .await?;
        Ok(())
    }
}
