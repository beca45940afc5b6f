//! Limits on client connections: how long a client may take to send a request header, how
//! long an idle connection is kept, how many connections are served at once, HTTP/2 streams
//! per connection and the size of a request header. They bound what a slow or hostile client
//! can hold: without them, half-sent headers keep connections (and file descriptors) forever.

use std::time::Duration;

use super::{
    ConfigError, err,
    parse::{Lookup, parse_duration, parse_num},
};

/// Connections served at once when neither `MAX_CONNECTIONS` nor the file-descriptor limit
/// says otherwise.
const MAX_CONNECTIONS_CEILING: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// `HEADER_READ_TIMEOUT` (default 10 s): a request header must arrive in full within this
    /// time of the connection opening or, on a kept-alive HTTP/1 connection, of the previous
    /// response; otherwise the connection is closed.
    pub header_read_timeout: Duration,
    /// `KEEP_ALIVE_TIMEOUT` (default 75 s): a connection with no bytes read or written for this
    /// long is closed gracefully (HTTP/2: GOAWAY). It must exceed `REQUEST_TIMEOUT`, so a slow
    /// request is cut by that limit with a 504, not by this one.
    pub keep_alive_timeout: Duration,
    /// `MAX_CONNECTIONS` (default ¾ of the open-file limit, at most 10,000): connections served
    /// at once. Past it, new connections wait in the kernel's accept queue until one closes.
    pub max_connections: usize,
    /// `H2_MAX_CONCURRENT_STREAMS` (default 100): requests in flight on one HTTP/2 connection.
    pub h2_max_concurrent_streams: u32,
    /// `MAX_HEADER_BYTES` (default 32 KiB): the request line and headers; larger → 431.
    pub max_header_bytes: usize,
}

impl ConnectionSettings {
    pub(super) fn from_lookup(
        get: &impl Lookup,
        request_timeout: Duration,
    ) -> Result<Self, ConfigError> {
        let header_read_timeout =
            parse_duration(get, "HEADER_READ_TIMEOUT", Duration::from_secs(10))?;
        if header_read_timeout.is_zero() {
            return Err(err("HEADER_READ_TIMEOUT", "must be more than zero"));
        }
        let keep_alive_timeout =
            parse_duration(get, "KEEP_ALIVE_TIMEOUT", Duration::from_secs(75))?;
        if keep_alive_timeout <= request_timeout {
            return Err(err(
                "KEEP_ALIVE_TIMEOUT",
                format!("must be longer than REQUEST_TIMEOUT ({request_timeout:?})"),
            ));
        }
        let default_max = default_max_connections(
            std::fs::read_to_string("/proc/self/limits")
                .ok()
                .as_deref()
                .and_then(open_files_limit),
        );
        Ok(Self {
            header_read_timeout,
            keep_alive_timeout,
            max_connections: parse_num(get, "MAX_CONNECTIONS", default_max, 1, 1_000_000)?,
            h2_max_concurrent_streams: parse_num(get, "H2_MAX_CONCURRENT_STREAMS", 100, 1, 10_000)?,
            max_header_bytes: parse_num(get, "MAX_HEADER_BYTES", 32 * 1024, 1024, 1024 * 1024)?,
        })
    }
}

/// The soft "Max open files" limit from `/proc/self/limits`, when it is a number.
pub(super) fn open_files_limit(limits: &str) -> Option<u64> {
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|soft| soft.parse().ok())
}

/// ¾ of the open-file limit (the rest is for the database pool, Redis, the object store, the
/// search index and image files), between 16 and [`MAX_CONNECTIONS_CEILING`].
pub(super) fn default_max_connections(open_files: Option<u64>) -> usize {
    match open_files {
        Some(n) => usize::try_from(n / 4 * 3)
            .unwrap_or(MAX_CONNECTIONS_CEILING)
            .clamp(16, MAX_CONNECTIONS_CEILING),
        None => 768,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: &str = "Limit                     Soft Limit           Hard Limit           Units\n\
        Max cpu time              unlimited            unlimited            seconds\n\
        Max open files            1024                 524288               files\n";

    #[test]
    fn the_soft_open_files_limit_is_read_from_proc_limits() {
        assert_eq!(open_files_limit(LIMITS), Some(1024));
        assert_eq!(
            open_files_limit("Max open files  unlimited unlimited files"),
            None
        );
        assert_eq!(open_files_limit(""), None);
    }

    #[test]
    fn the_default_cap_is_three_quarters_of_the_limit_within_bounds() {
        assert_eq!(default_max_connections(Some(1024)), 768);
        assert_eq!(default_max_connections(Some(1_048_576)), 10_000);
        assert_eq!(default_max_connections(Some(8)), 16);
        assert_eq!(default_max_connections(None), 768);
    }

    #[test]
    fn keep_alive_must_outlast_the_request_timeout() {
        let get = |name: &str| (name == "KEEP_ALIVE_TIMEOUT").then(|| "20s".to_owned());
        let e = ConnectionSettings::from_lookup(&get, Duration::from_secs(30)).unwrap_err();
        assert_eq!(e.var, "KEEP_ALIVE_TIMEOUT");
        let get = |_: &str| None;
        let s = ConnectionSettings::from_lookup(&get, Duration::from_secs(30)).unwrap();
        assert_eq!(s.header_read_timeout, Duration::from_secs(10));
        assert_eq!(s.keep_alive_timeout, Duration::from_secs(75));
        assert_eq!(s.h2_max_concurrent_streams, 100);
    }
}
