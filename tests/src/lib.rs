//! Helpers shared by the process-level tests (`tests/e2e.rs`, `tests/faults.rs`): finding
//! (or building) the real `vitrine-origin` binary and picking free loopback ports.

use std::{net::TcpListener, path::PathBuf, process::Command};

/// The origin binary built beside the running test (cargo builds it for the workspace's
/// tests; built here when missing).
pub fn origin_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = dir.join("vitrine-origin");
    if !bin.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "vitrine-origin", "--bin", "vitrine-origin"])
            .status()
            .expect("running cargo build");
        assert!(status.success(), "building vitrine-origin failed");
    }
    bin
}

/// A loopback port free right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("binding a free port")
        .local_addr()
        .expect("local address")
        .port()
}
