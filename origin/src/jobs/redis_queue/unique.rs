//! Uniqueness keys: `P:uniq:{key}` names the job submitted with the key; a submission with the
//! same key returns that job while it is queued or running, and rebinds the key to a new job
//! once it is not (finished, cancelled or expired) or the key's TTL passed
//! (`jobs_unique.lua`, atomic, so two concurrent submissions cannot both create a job).

use super::RedisQueue;
use crate::jobs::Unique;

impl RedisQueue {
    /// The live job bound to `unique`, or `None` when the key now names `id` (a new job).
    pub(super) async fn bind_unique(
        &self,
        unique: &Unique,
        id: &str,
    ) -> anyhow::Result<Option<String>> {
        let mut c = self.conn().await?;
        let live: Option<String> = self
            .unique
            .key(self.unique_key(&unique.key))
            .arg(id)
            .arg(unique.ttl.as_millis().max(1) as u64)
            .arg(&self.base)
            .invoke_async(&mut c)
            .await?;
        Ok(live)
    }

    /// Rebinds an idempotency key to the job a uniqueness key returned instead of a new one.
    pub(super) async fn rebind_idempotency(&self, key: &str, id: &str) -> anyhow::Result<()> {
        let mut c = self.conn().await?;
        let _: Option<String> = redis::cmd("SET")
            .arg(self.idem_key(key))
            .arg(id)
            .arg("XX")
            .arg("PX")
            .arg(self.ttl_ms())
            .query_async(&mut c)
            .await?;
        Ok(())
    }
}
