//! The job queue: its key prefix in Redis, delivery and retry policy, how long results are
//! kept, and how many workers this process runs.

use std::{collections::BTreeMap, time::Duration};

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
    /// `JOB_CONCURRENCY`: per kind, at most this many items at once in this process
    /// (`describe:2,image_batch:4`; kinds not named are unbounded).
    pub concurrency: BTreeMap<String, u32>,
    /// `JOB_CLUSTER_CONCURRENCY`: per kind, at most this many items at once across every
    /// process sharing the queue (leases in Redis; the same as per process without Redis).
    pub cluster_concurrency: BTreeMap<String, u32>,
}

/// Parses `kind:N,kind:N`: kinds of 1-64 characters among lowercase letters, digits, `_ - .`,
/// each named once, N between 1 and 1024. Empty is no limits.
pub fn parse_concurrency(raw: &str) -> Result<BTreeMap<String, u32>, String> {
    let mut out = BTreeMap::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((kind, n)) = part.split_once(':') else {
            return Err(format!("{part:?} is not kind:N"));
        };
        let kind = kind.trim();
        if kind.is_empty()
            || kind.len() > 64
            || !kind.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.')
            })
        {
            return Err(format!(
                "kind {kind:?}: 1-64 characters among a-z, 0-9, _ - ."
            ));
        }
        let n: u32 = n
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=1024).contains(n))
            .ok_or_else(|| format!("{kind}: the limit must be a whole number from 1 to 1024"))?;
        if out.insert(kind.to_owned(), n).is_some() {
            return Err(format!("kind {kind:?} is named twice"));
        }
    }
    Ok(out)
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
            concurrency: parse_with(
                get,
                "JOB_CONCURRENCY",
                Some(BTreeMap::new()),
                parse_concurrency,
            )?,
            cluster_concurrency: parse_with(
                get,
                "JOB_CLUSTER_CONCURRENCY",
                Some(BTreeMap::new()),
                parse_concurrency,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_lists_parse_and_bad_ones_say_why() {
        let ok = parse_concurrency("describe:2, image_batch:4").unwrap();
        assert_eq!(ok.get("describe"), Some(&2));
        assert_eq!(ok.get("image_batch"), Some(&4));
        assert!(parse_concurrency("").unwrap().is_empty());
        for (bad, why) in [
            ("describe", "kind:N"),
            ("describe:0", "1 to 1024"),
            ("describe:x", "1 to 1024"),
            ("describe:2000", "1 to 1024"),
            ("Describe:1", "a-z"),
            (":1", "a-z"),
            ("a:1,a:2", "twice"),
        ] {
            let e = parse_concurrency(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn a_bad_setting_names_its_variable() {
        let env = |k: &str| (k == "JOB_CLUSTER_CONCURRENCY").then(|| "describe:none".to_owned());
        let e = JobSettings::from_lookup(&env).unwrap_err();
        assert!(e.to_string().contains("JOB_CLUSTER_CONCURRENCY"), "{e}");
    }
}
