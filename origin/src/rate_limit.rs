//! Rate limiting at the origin: `common`'s GCRA per client and route class, with the state
//! in Redis (shared by every instance) or in process.
//!
//! Who is a client: the API key when the request carries a *valid* `Authorization: Bearer`
//! key (its quotas are multiplied by `RATE_LIMIT_API_KEY_MULTIPLIER`, 10 by default: keys
//! go to partners and load tests), else the peer IP address. An invalid key counts as the
//! IP, so made-up keys cannot mint fresh buckets. (Behind the edge, the edge limits by the
//! shopper's `CF-Connecting-IP` before forwarding; the origin limits the edge's addresses
//! only as a backstop, and does not trust `X-Forwarded-For`, which anyone can send.)
//!
//! Which routes: every route of the API, charged to the class `common::rate_limit::
//! RouteClass::classify` gives it (the edge charges the same class). Health, liveness,
//! readiness and metrics are never limited: an orchestrator's probes must never see a 429.
//!
//! Where the state lives: with Redis, one atomic Lua script (`EVALSHA`, loaded once) applies
//! the GCRA state transition to the TAT stored at `rl:<class>:<client>` using Redis's own
//! clock (one clock for every instance) and returns the previous TAT and that clock; the
//! decision and the headers are then computed by `common::rate_limit::check` from those two
//! numbers, so the rule exists once in Rust and the script only makes the update atomic.
//! Without Redis, or while its breaker is open, the same `check` runs on an in-process map
//! (limits then apply per instance, which errs on the side of serving).

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

use serde_json::{Value, json};
use vitrine_common::rate_limit::{Decision, Quota, RateLimits, RouteClass, Tat, check};

use crate::{config::Settings, redis::Redis};

/// The GCRA state transition of `common::rate_limit::check`, atomically in Redis (its
/// arguments and the test that keeps it equal to `check` are described in the file).
const GCRA_SCRIPT: &str = include_str!("redis/lua/rate_limit_gcra.lua");

const SHARDS: usize = 16;
/// A shard is swept of full buckets when it grows past this many clients.
const SWEEP_AT: usize = 50_000;

/// Per-class counters for the metrics engineer: `rate_limit_requests_total{class,outcome}`.
#[derive(Debug, Default)]
pub struct RateLimitStats {
    allowed: [AtomicU64; 5],
    limited: [AtomicU64; 5],
    /// Decisions taken in Redis vs in process.
    pub redis_decisions: AtomicU64,
    pub local_decisions: AtomicU64,
}

fn class_index(c: RouteClass) -> usize {
    RouteClass::ALL.iter().position(|x| *x == c).unwrap_or(0)
}

impl RateLimitStats {
    /// `(class, allowed, limited)` for every class.
    pub fn per_class(&self) -> Vec<(RouteClass, u64, u64)> {
        RouteClass::ALL
            .iter()
            .map(|c| {
                let i = class_index(*c);
                (
                    *c,
                    self.allowed[i].load(Ordering::Relaxed),
                    self.limited[i].load(Ordering::Relaxed),
                )
            })
            .collect()
    }
}

pub struct RateLimiter {
    enabled: bool,
    limits: RateLimits,
    key_multiplier: u32,
    redis: Option<Arc<Redis>>,
    script: redis::Script,
    local: [Mutex<HashMap<String, u64>>; SHARDS],
    pub stats: RateLimitStats,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("enabled", &self.enabled)
            .field("redis", &self.redis.is_some())
            .finish()
    }
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn shard_of(key: &str) -> usize {
    // FNV-1a: stable and cheap; only spreads lock contention.
    let h = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (h % SHARDS as u64) as usize
}

impl RateLimiter {
    pub fn new(settings: &Settings, redis: Option<Arc<Redis>>) -> Self {
        Self {
            enabled: settings.rate_limit.enabled,
            limits: settings.rate_limit.limits,
            key_multiplier: settings.rate_limit.api_key_multiplier,
            redis,
            script: redis::Script::new(GCRA_SCRIPT),
            local: Default::default(),
            stats: RateLimitStats::default(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The quota of a class for an anonymous client or an API key.
    pub fn quota(&self, class: RouteClass, api_key: bool) -> Quota {
        let q = self.limits.get(class);
        if api_key {
            q.scaled(self.key_multiplier)
        } else {
            q
        }
    }

    /// Charges one request of `client` to `class`.
    pub async fn check(&self, class: RouteClass, client: &str, quota: &Quota) -> Decision {
        let key = format!("rl:{}:{client}", class.as_str());
        let decision = match self.check_redis(&key, quota).await {
            Some(d) => {
                self.stats.redis_decisions.fetch_add(1, Ordering::Relaxed);
                d
            }
            None => {
                self.stats.local_decisions.fetch_add(1, Ordering::Relaxed);
                self.check_local(&key, quota)
            }
        };
        let i = class_index(class);
        if decision.allowed {
            self.stats.allowed[i].fetch_add(1, Ordering::Relaxed);
        } else {
            self.stats.limited[i].fetch_add(1, Ordering::Relaxed);
        }
        decision
    }

    async fn check_redis(&self, key: &str, quota: &Quota) -> Option<Decision> {
        let redis = self.redis.as_ref()?;
        let full_key = redis.key(key);
        let interval = u64::try_from(quota.emission_interval().as_micros()).unwrap_or(u64::MAX);
        let burst = quota.burst();
        let script = &self.script;
        let (stored, now): (String, String) = redis
            .call(|mut c| async move {
                script
                    .key(&full_key)
                    .arg(interval)
                    .arg(burst)
                    .arg(1u32)
                    .invoke_async(&mut c)
                    .await
            })
            .await
            .ok()?;
        let now: u64 = now.parse().ok()?;
        let state = stored.parse::<u64>().ok().map(Tat);
        Some(check(state, now, quota, 1))
    }

    fn check_local(&self, key: &str, quota: &Quota) -> Decision {
        let now = now_us();
        let Ok(mut shard) = self.local[shard_of(key)].lock() else {
            // A poisoned lock means a panic mid-update: fail open rather than refuse all.
            return check(None, now, quota, 1);
        };
        let state = shard.get(key).copied().map(Tat);
        let d = check(state, now, quota, 1);
        if d.allowed {
            if shard.len() >= SWEEP_AT {
                shard.retain(|_, tat| *tat > now);
            }
            shard.insert(key.to_owned(), d.new_tat.0);
        }
        d
    }
}

impl crate::observability::Snapshot for RateLimitStats {
    fn snapshot(&self) -> Value {
        let classes: serde_json::Map<String, Value> = self
            .per_class()
            .into_iter()
            .map(|(c, a, l)| (c.as_str().to_owned(), json!({"allowed": a, "limited": l})))
            .collect();
        json!({
            "classes": classes,
            "redis_decisions": self.redis_decisions.load(Ordering::Relaxed),
            "local_decisions": self.local_decisions.load(Ordering::Relaxed),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_stable_and_in_range() {
        assert_eq!(
            shard_of("rl:read:ip:1.2.3.4"),
            shard_of("rl:read:ip:1.2.3.4")
        );
        for k in ["", "a", "rl:search:key:abcdef"] {
            assert!(shard_of(k) < SHARDS);
        }
    }
}
