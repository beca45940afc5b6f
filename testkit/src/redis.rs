//! Redis for tests: the shared test Redis (`TEST_REDIS_URL`, default
//! `redis://127.0.0.1:6379`) with a key prefix per test, and `redis-server`s of a test's own
//! (for tests that stop, restart or cut their Redis).

use std::{
    net::SocketAddr,
    process::{Child, Command, Stdio},
    time::Duration,
};

use crate::wait::wait_for_port;

/// The shared test Redis. Fails the test, saying how to start Redis, when it cannot be reached.
pub fn test_redis_url() -> String {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let authority = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap_or("127.0.0.1:6379")
        .rsplit('@')
        .next()
        .unwrap_or("127.0.0.1:6379")
        .to_owned();
    let authority = if authority.contains(':') {
        authority
    } else {
        format!("{authority}:6379")
    };
    let reachable = authority
        .parse::<SocketAddr>()
        .ok()
        .and_then(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(2)).ok())
        .is_some();
    assert!(
        reachable,
        "cannot reach Redis at {url}\n\
         start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save \"\" --appendonly no\n\
         (or set TEST_REDIS_URL); scripts/test.sh does this for you"
    );
    url
}

/// A Redis key prefix no other test uses (ending in `:`), so tests sharing one Redis never
/// collide.
pub fn unique_prefix() -> String {
    format!("test-{}:", uuid::Uuid::new_v4().simple())
}

/// A `redis-server` of the test's own on a loopback port, without persistence, killed on drop.
pub struct OwnRedis {
    child: Option<Child>,
}

impl OwnRedis {
    /// Starts `redis-server` on `port` and waits (up to 5 s) until it accepts connections.
    /// Fails the test, saying how to install it, when it cannot be run.
    pub fn start(port: u16) -> OwnRedis {
        OwnRedis::try_start(port).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`OwnRedis::start`] for callers that carry on without Redis (benchmarks): the error
    /// says what went wrong.
    pub fn try_start(port: u16) -> Result<OwnRedis, String> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot run redis-server ({e}): install it with apt-get install -y redis-server"
                )
            })?;
        let redis = OwnRedis { child: Some(child) };
        if wait_for_port(port, Duration::from_secs(5)) {
            Ok(redis)
        } else {
            Err(format!("redis-server did not start on {port}"))
        }
    }

    /// Kills the server (SIGKILL) and reaps it; a second call does nothing.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}
