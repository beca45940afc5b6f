//! Readiness waits.

use std::time::{Duration, Instant};

/// Polls `{base}/api/health/ready` every 100 ms until it answers 200; fails the test when
/// `timeout` passes first.
pub async fn wait_ready(client: &reqwest::Client, base: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(r) = client.get(format!("{base}/api/health/ready")).send().await
            && r.status() == 200
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{base} did not become ready in {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether a TCP connection to `127.0.0.1:port` succeeds within `timeout` (tried every 20 ms).
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}
