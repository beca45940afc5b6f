//! The queue's connections: one shared reconnecting connection (scripts loaded, consumer group
//! created on first success) and one connection of its own per consumer for blocking reads
//! (on a cluster: a cluster connection with its own sockets, so a worker's `XREADGROUP
//! BLOCK` on the queue's shard never delays another's commands).

use std::time::Duration;

use super::{GROUP, RedisQueue};
use crate::{
    jobs::Priority,
    redis::{Connection, Timeouts},
};
use anyhow::Context;

fn is_busygroup(e: &redis::RedisError) -> bool {
    e.to_string().contains("BUSYGROUP")
}

impl RedisQueue {
    /// The shared connection, made (scripts loaded, consumer group created) on first success.
    pub(super) async fn conn(&self) -> anyhow::Result<Connection> {
        let c = self
            .conn
            .get_or_try_init(|| async {
                let mut c = self
                    .target
                    // Few, short reconnection attempts: while Redis is down a command waits
                    // for the reconnection, and the default (6 attempts, exponential from
                    // 100 ms) held each request ~9 s before failing. Workers retry on their
                    // own. On a cluster the response timeout bounds a command with its
                    // retries, so one sent during a failover waits for the new master.
                    .connect(&Timeouts {
                        connect: Duration::from_secs(2),
                        response: Duration::from_secs(10),
                        retries: 2,
                        max_delay: Duration::from_millis(500),
                    })
                    .await
                    .context("connecting to Redis for the job queue")?;
                for script in [
                    &self.claim,
                    &self.finish,
                    &self.promote,
                    &self.cancel,
                    &self.redrive,
                    &self.unique,
                    &self.lease,
                ] {
                    script
                        .load_async(&mut c)
                        .await
                        .context("loading the queue's Lua scripts")?;
                }
                self.create_groups(&mut c).await?;
                Ok::<_, anyhow::Error>(c)
            })
            .await?;
        Ok(c.clone())
    }

    /// Creates the streams and their consumer group where missing. Run at start, and again
    /// when a read says `NOGROUP`: a Redis restarted without persistence comes back empty,
    /// and without this every worker would fail on it forever.
    pub(super) async fn ensure_groups(&self) -> anyhow::Result<()> {
        let mut c = self.conn().await?;
        self.create_groups(&mut c).await
    }

    async fn create_groups(&self, c: &mut Connection) -> anyhow::Result<()> {
        for p in Priority::ALL {
            let r: redis::RedisResult<()> = redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(self.stream(p))
                .arg(GROUP)
                .arg("0")
                .arg("MKSTREAM")
                .query_async(c)
                .await;
            if let Err(e) = r
                && !is_busygroup(&e)
            {
                return Err(e).context("creating the consumer group");
            }
        }
        Ok(())
    }

    pub(super) async fn blocking_conn(
        &self,
        consumer: &str,
        wait: Duration,
    ) -> anyhow::Result<Connection> {
        if let Some(c) = self
            .blocking
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(consumer)
        {
            return Ok(c.clone());
        }
        let c = self
            .target
            .dedicated(&Timeouts {
                connect: Duration::from_secs(5),
                response: wait + Duration::from_secs(10),
                retries: 2,
                max_delay: Duration::from_millis(500),
            })
            .await?;
        self.blocking
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(consumer.to_owned(), c.clone());
        Ok(c)
    }
}
