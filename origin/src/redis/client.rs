//! The Redis client every Redis user shares (the cache, the rate limiter, visual search
//! announcements): one auto-reconnecting multiplexed connection to the server or the cluster
//! (`connection.rs`), every call bounded by a short timeout and gated by the circuit breaker.
//!
//! On a cluster the breaker is still one for all: a shard that fails opens it for every key,
//! so requests fall back to L1 and the database as they do when a single Redis dies, and the
//! probe after the cooldown finds the cluster healthy again once a replica has taken over.
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

use ::redis::AsyncCommands;
use bytes::Bytes;
use tokio::sync::Notify;

use super::{
    breaker::{CircuitBreaker, Permit},
    connection::{Connection, Target, Timeouts},
};
use crate::config::CacheSettings;

/// Why a Redis call gave no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallError {
    /// The breaker is open: Redis was not asked.
    Skipped,
    /// Redis answered with an error, or not within the timeout.
    Failed,
}

/// Unlinks every member of a tag set, then the set: one round trip, atomic (one server).
const UNLINK_TAG_SCRIPT: &str = include_str!("lua/cache_unlink_tag.lua");

/// Empties a tag set and returns its members (a cluster, where members live in other slots).
const TAKE_TAG_SCRIPT: &str = include_str!("lua/cache_take_tag.lua");

/// The Redis connection, its breaker and the key prefix.
pub struct Redis {
    target: Target,
    conn: Connection,
    prefix: String,
    timeout: Duration,
    pub breaker: CircuitBreaker,
    /// Woken when the breaker closes again, so the cache can resynchronise.
    pub recovered: Notify,
    unlink_tag: redis::Script,
    take_tag: redis::Script,
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
        let target = Target::open(url)?;
        let conn = target.lazy(&Timeouts {
            connect: Duration::from_millis(500),
            response: Duration::from_secs(2),
            retries: 1,
            max_delay: Duration::from_millis(500),
        })?;
        Ok(Arc::new(Self {
            target,
            conn,
            prefix: settings.key_prefix.clone(),
            timeout: settings.redis_timeout,
            breaker: CircuitBreaker::new(settings.breaker_failures, settings.breaker_cooldown),
            recovered: Notify::new(),
            unlink_tag: redis::Script::new(UNLINK_TAG_SCRIPT),
            take_tag: redis::Script::new(TAKE_TAG_SCRIPT),
        }))
    }

    /// The server or cluster (pub/sub dials its own connections from it).
    pub fn target(&self) -> &Target {
        &self.target
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
    pub async fn call<T, Fut>(&self, op: impl FnOnce(Connection) -> Fut) -> Result<T, CallError>
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
            // One group per key, so each stays in one slot on a cluster.
            let mut groups = Vec::with_capacity(1 + tags.len());
            let mut set = redis::pipe();
            set.cmd("SET")
                .arg(&k)
                .arg(value.as_ref())
                .arg("PX")
                .arg(ttl_ms)
                .ignore();
            groups.push(set);
            for t in &tags {
                let mut tag = redis::pipe();
                tag.cmd("SADD").arg(t).arg(&k).ignore();
                // The set lives as long as its longest member could.
                tag.cmd("PEXPIRE").arg(t).arg(ttl_ms).arg("GT").ignore();
                tag.cmd("PEXPIRE").arg(t).arg(ttl_ms).arg("NX").ignore();
                groups.push(tag);
            }
            c.exec_groups(groups).await
        })
        .await
    }

    /// Deletes keys (`UNLINK`: freed in the background) and empties tag sets with their
    /// members. One server: one script per tag, atomic. A cluster: the set is emptied
    /// atomically and its members (in other slots) unlinked after, per slot.
    pub async fn unlink(&self, keys: &[String], tag_sets: &[String]) -> Result<(), CallError> {
        let keys: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        let tags: Vec<String> = tag_sets.iter().map(|t| self.key(t)).collect();
        let (unlink_tag, take_tag) = (&self.unlink_tag, &self.take_tag);
        self.call(|mut c| async move {
            let mut keys = keys;
            for t in &tags {
                if c.is_cluster() {
                    let members: Vec<String> = take_tag.key(t).invoke_async(&mut c).await?;
                    keys.extend(members);
                } else {
                    unlink_tag.key(t).invoke_async::<i64>(&mut c).await?;
                }
            }
            for chunk in keys.chunks(500) {
                c.unlink::<_, ()>(chunk).await?;
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
