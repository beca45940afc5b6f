//! The Redis client every Redis user shares (the cache, the rate limiter, visual search
//! announcements): one auto-reconnecting multiplexed connection (`ConnectionManager`), every
//! call bounded by a short timeout and gated by the circuit breaker.
//!
//! Why every call goes through [`Redis::call`]: a request must never wait more than
//! `CACHE_REDIS_TIMEOUT` (50 ms by default) on Redis, dead or alive, and once Redis has
//! failed a few times in a row it must not be asked at all until a probe succeeds. One
//! choke point makes that true for the cache, the generation counters, pub/sub publishing
//! and the rate limiter alike.

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use ::redis::{AsyncCommands, aio::ConnectionManager};
use bytes::Bytes;
use tokio::sync::Notify;

use super::breaker::{CircuitBreaker, Permit};
use crate::config::CacheSettings;

/// Why a Redis call gave no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallError {
    /// The breaker is open: Redis was not asked.
    Skipped,
    /// Redis answered with an error, or not within the timeout.
    Failed,
}

/// Unlinks every member of a tag set, then the set: one round trip, atomic.
const UNLINK_TAG_SCRIPT: &str = include_str!("lua/cache_unlink_tag.lua");

/// The Redis connection, its breaker and the key prefix.
pub struct Redis {
    client: redis::Client,
    conn: ConnectionManager,
    prefix: String,
    timeout: Duration,
    pub breaker: CircuitBreaker,
    /// Woken when the breaker closes again, so the cache can resynchronise.
    pub recovered: Notify,
    unlink_tag: redis::Script,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("prefix", &self.prefix)
            .field("breaker_open", &self.breaker.is_open())
            .finish()
    }
}

impl Redis {
    /// Builds the connection lazily: nothing is dialled until the first call, so a Redis
    /// that is down at start-up only opens the breaker, it never stops the origin.
    pub fn new(url: &str, settings: &CacheSettings) -> anyhow::Result<Arc<Self>> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        Ok(Arc::new(Self {
            client,
            conn,
            prefix: settings.key_prefix.clone(),
            timeout: settings.redis_timeout,
            breaker: CircuitBreaker::new(settings.breaker_failures, settings.breaker_cooldown),
            recovered: Notify::new(),
            unlink_tag: redis::Script::new(UNLINK_TAG_SCRIPT),
        }))
    }

    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `prefix + key`: every key and channel this process touches goes through here.
    pub fn key(&self, key: &str) -> String {
        let mut k = String::with_capacity(self.prefix.len() + key.len());
        k.push_str(&self.prefix);
        k.push_str(key);
        k
    }

    /// The pub/sub channel for invalidations.
    pub fn channel(&self) -> String {
        self.key("v1:invalidate")
    }

    /// Runs one Redis operation under the breaker and the timeout.
    pub async fn call<T, Fut>(
        &self,
        op: impl FnOnce(ConnectionManager) -> Fut,
    ) -> Result<T, CallError>
    where
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if self.breaker.permit() == Permit::Rejected {
            return Err(CallError::Skipped);
        }
        match tokio::time::timeout(self.timeout, op(self.conn.clone())).await {
            Ok(Ok(v)) => {
                if self.breaker.on_success() {
                    tracing::info!("Redis answers again: circuit breaker closed");
                    self.recovered.notify_one();
                }
                Ok(v)
            }
            Ok(Err(e)) => {
                self.failed(&e.to_string());
                Err(CallError::Failed)
            }
            Err(_) => {
                self.failed("timed out");
                Err(CallError::Failed)
            }
        }
    }

    fn failed(&self, why: &str) {
        if self.breaker.on_failure() {
            tracing::warn!(
                error = why,
                "Redis is failing: circuit breaker open, serving from the in-process tier"
            );
        } else {
            tracing::debug!(error = why, "Redis call failed");
        }
    }

    pub async fn ping(&self) -> Result<Duration, CallError> {
        let started = Instant::now();
        self.call(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await })
            .await
            .map(|_| started.elapsed())
    }

    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, CallError> {
        let k = self.key(key);
        self.call(|mut c| async move { c.get::<_, Option<Bytes>>(k).await })
            .await
    }

    /// Stores `value` for `ttl` and adds the key to each tag's member set (one round trip).
    pub async fn set(
        &self,
        key: &str,
        value: Bytes,
        ttl: Duration,
        tag_sets: &[String],
    ) -> Result<(), CallError> {
        let k = self.key(key);
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let tags: Vec<String> = tag_sets.iter().map(|t| self.key(t)).collect();
        self.call(|mut c| async move {
            let mut pipe = redis::pipe();
            pipe.cmd("SET")
                .arg(&k)
                .arg(value.as_ref())
                .arg("PX")
                .arg(ttl_ms)
                .ignore();
            for t in &tags {
                pipe.cmd("SADD").arg(t).arg(&k).ignore();
                // The set lives as long as its longest member could.
                pipe.cmd("PEXPIRE").arg(t).arg(ttl_ms).arg("GT").ignore();
                pipe.cmd("PEXPIRE").arg(t).arg(ttl_ms).arg("NX").ignore();
            }
            pipe.query_async::<()>(&mut c).await
        })
        .await
    }

    /// Deletes keys (`UNLINK`: freed in the background) and empties tag sets.
    pub async fn unlink(&self, keys: &[String], tag_sets: &[String]) -> Result<(), CallError> {
        let keys: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        let tags: Vec<String> = tag_sets.iter().map(|t| self.key(t)).collect();
        let script = &self.unlink_tag;
        self.call(|mut c| async move {
            for chunk in keys.chunks(500) {
                c.unlink::<_, ()>(chunk).await?;
            }
            for t in &tags {
                script.key(t).invoke_async::<i64>(&mut c).await?;
            }
            Ok(())
        })
        .await
    }

    /// `INCR` of a namespace generation counter; the new generation.
    pub async fn incr(&self, key: &str) -> Result<u64, CallError> {
        let k = self.key(key);
        self.call(|mut c| async move { c.incr::<_, _, u64>(k, 1u64).await })
            .await
    }

    /// `MGET` of counters; missing ones read as 0.
    pub async fn get_counters(&self, keys: &[String]) -> Result<Vec<u64>, CallError> {
        let ks: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        self.call(|mut c| async move {
            redis::cmd("MGET")
                .arg(&ks)
                .query_async::<Vec<Option<u64>>>(&mut c)
                .await
        })
        .await
        .map(|v| v.into_iter().map(|g| g.unwrap_or(0)).collect())
    }

    pub async fn publish(&self, payload: String) -> Result<(), CallError> {
        self.publish_to(self.channel(), payload).await
    }

    /// Publishes on another channel of this prefix (see [`Redis::key`]).
    pub async fn publish_to(&self, channel: String, payload: String) -> Result<(), CallError> {
        self.call(|mut c| async move { c.publish::<_, _, i64>(channel, payload).await })
            .await
            .map(|_| ())
    }
}
