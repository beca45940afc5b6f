//! The response cache: on or off, the default TTL, the in-process tier's budget, the Redis
//! key prefix, and the breaker that keeps a slow Redis from slowing requests.

use std::time::Duration;

use super::{
    ConfigError, err,
    parse::{Lookup, parse_bool, parse_duration, parse_num},
};

/// The two cache tiers and the Redis circuit breaker.
#[derive(Debug, Clone)]
pub struct CacheSettings {
    /// `CACHE_ENABLED` (default true).
    pub enabled: bool,
    /// `CACHE_TTL_DEFAULT`: the TTL of namespace `other`.
    pub ttl_default: Duration,
    /// `CACHE_L1_MAX_BYTES`: the in-process tier's budget, in bytes of keys + values.
    pub l1_max_bytes: u64,
    /// `CACHE_KEY_PREFIX`: prepended to every Redis key and the invalidation channel, so
    /// several deployments (or tests) can share one Redis without seeing each other.
    pub key_prefix: String,
    /// `CACHE_REDIS_TIMEOUT`: the longest a request waits for one Redis operation.
    pub redis_timeout: Duration,
    /// `CACHE_BREAKER_FAILURES`: consecutive Redis failures that open the breaker.
    pub breaker_failures: u32,
    /// `CACHE_BREAKER_COOLDOWN`: how long the breaker stays open before one probe.
    pub breaker_cooldown: Duration,
}

impl CacheSettings {
    pub(super) fn from_lookup(get: &impl Lookup) -> Result<Self, ConfigError> {
        let key_prefix = get("CACHE_KEY_PREFIX").unwrap_or_else(|| "vitrine:".into());
        if key_prefix.len() > 64 || !key_prefix.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(err(
                "CACHE_KEY_PREFIX",
                "must be at most 64 printable ASCII characters without spaces",
            ));
        }
        let redis_timeout = parse_duration(get, "CACHE_REDIS_TIMEOUT", Duration::from_millis(50))?;
        if redis_timeout.is_zero() || redis_timeout > Duration::from_secs(5) {
            return Err(err("CACHE_REDIS_TIMEOUT", "must be between 1ms and 5s"));
        }
        Ok(Self {
            enabled: parse_bool(get, "CACHE_ENABLED", true)?,
            ttl_default: parse_duration(get, "CACHE_TTL_DEFAULT", Duration::from_secs(3600))?,
            l1_max_bytes: parse_num(
                get,
                "CACHE_L1_MAX_BYTES",
                128 * 1024 * 1024,
                64 * 1024,
                1 << 40,
            )?,
            key_prefix,
            redis_timeout,
            breaker_failures: parse_num(get, "CACHE_BREAKER_FAILURES", 3, 1, 1000)?,
            breaker_cooldown: parse_duration(
                get,
                "CACHE_BREAKER_COOLDOWN",
                Duration::from_secs(1),
            )?,
        })
    }
}
