//! The queue's connections: one shared manager (scripts loaded, consumer group created on
//! first success) and one multiplexed connection per consumer for blocking reads.

use std::time::Duration;

use anyhow::Context;
use redis::{
    AsyncConnectionConfig,
    aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection},
};

use super::{GROUP, RedisQueue};
use crate::jobs::Priority;

fn is_busygroup(e: &redis::RedisError) -> bool {
    e.to_string().contains("BUSYGROUP")
}

impl RedisQueue {
    /// The shared connection, made (scripts loaded, consumer group created) on first success.
    pub(super) async fn conn(&self) -> anyhow::Result<ConnectionManager> {
        let c = self
            .conn
            .get_or_try_init(|| async {
                let mut c = self
                    .client
                    .get_connection_manager_with_config(
                        // Few, short reconnection attempts: while Redis is down a command
                        // waits for the manager's reconnection, and the default (6 attempts,
                        // exponential from 100 ms) held each request ~9 s before failing.
                        // Workers retry on their own.
                        ConnectionManagerConfig::new()
                            .set_response_timeout(Some(Duration::from_secs(10)))
                            .set_connection_timeout(Some(Duration::from_secs(2)))
                            .set_number_of_retries(2)
                            .set_max_delay(Duration::from_millis(500)),
                    )
                    .await
                    .context("connecting to Redis for the job queue")?;
                for script in [&self.claim, &self.finish, &self.promote, &self.cancel] {
                    script
                        .load_async(&mut c)
                        .await
                        .context("loading the queue's Lua scripts")?;
                }
                Self::create_groups(&mut c, &self.prefix).await?;
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
        Self::create_groups(&mut c, &self.prefix).await
    }

    async fn create_groups(c: &mut ConnectionManager, prefix: &str) -> anyhow::Result<()> {
        for p in Priority::ALL {
            let r: redis::RedisResult<()> = redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(format!("{prefix}:q:{}", p.as_str()))
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
    ) -> anyhow::Result<MultiplexedConnection> {
        if let Some(c) = self
            .blocking
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(consumer)
        {
            return Ok(c.clone());
        }
        let c = self
            .client
            .get_multiplexed_async_connection_with_config(
                &AsyncConnectionConfig::new()
                    .set_response_timeout(Some(wait + Duration::from_secs(10)))
                    .set_connection_timeout(Some(Duration::from_secs(5))),
            )
            .await?;
        self.blocking
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(consumer.to_owned(), c.clone());
        Ok(c)
    }
}
