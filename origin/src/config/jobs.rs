//! The job queue: its key prefix in Redis, delivery and retry policy, how long results are
//! kept, and how many workers this process runs.

use std::time::Duration;

use super::{
    ConfigError,
    parse::{Lookup, parse_duration, parse_num, parse_with},
};

#[derive(Debug, Clone)]
pub struct JobSettings {
    /// `ASYNC_WORKERS`: workers in this process (0: an API-only process that enqueues).
    pub workers: usize,
    /// `QUEUE_PREFIX`: prefix of every queue key in Redis (streams, job hashes, idempotency
    /// keys).
    pub queue_prefix: String,
    /// `JOB_VISIBILITY_TIMEOUT`: a delivered item not acknowledged within this time is handed
    /// to another worker.
    pub visibility_timeout: Duration,
    /// `JOB_MAX_ATTEMPTS`: deliveries of one item before it goes to the dead-letter stream.
    pub max_attempts: u32,
    /// `JOB_RETRY_BASE`: first retry delay (doubled per attempt, with jitter).
    pub retry_base: Duration,
    /// `JOB_TTL`: how long job state and results are kept after the last update.
    pub ttl: Duration,
}

impl JobSettings {
    pub(super) fn from_lookup(get: &impl Lookup) -> Result<Self, ConfigError> {
        Ok(Self {
            workers: parse_num(get, "ASYNC_WORKERS", 4, 0, 1024)?,
            queue_prefix: parse_with(get, "QUEUE_PREFIX", Some("vitrine".to_owned()), |v| {
                if !v.is_empty()
                    && v.len() <= 64
                    && v.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.')
                    })
                {
                    Ok(v.to_owned())
                } else {
                    Err("1-64 characters among letters, digits, - _ : .".into())
                }
            })?,
            visibility_timeout: parse_duration(
                get,
                "JOB_VISIBILITY_TIMEOUT",
                Duration::from_secs(60),
            )?,
            max_attempts: parse_num(get, "JOB_MAX_ATTEMPTS", 5, 1, 100)?,
            retry_base: parse_duration(get, "JOB_RETRY_BASE", Duration::from_millis(500))?,
            ttl: parse_duration(get, "JOB_TTL", Duration::from_secs(86_400))?,
        })
    }
}
