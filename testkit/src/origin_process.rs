//! The real `vitrine-origin` binary as a child process of a test.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use crate::{ports::free_port, wait::wait_ready};

/// The origin binary built beside the running test binary (cargo builds it for the
/// workspace's tests; built here when missing). The origin's own tests use
/// `env!("CARGO_BIN_EXE_vitrine-origin")` instead.
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

/// Where the process's standard output goes (standard error is always the test's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stdout {
    Discard,
    /// Piped: read it from `child.stdout` (the logs, as JSON lines with
    /// `STRUCTURED_LOGGING=true`).
    Capture,
}

/// A running origin on a free loopback port, killed (SIGKILL) and reaped on drop.
pub struct OriginProcess {
    pub child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

impl OriginProcess {
    /// Starts `binary` with an empty environment except `PATH`, `BIND_ADDR` on a free loopback
    /// port, `VISUAL_MODEL=descriptor` (the neural model has its own tests; unoptimised, it
    /// would describe every demo photo for seconds), and `env` (which may override any).
    pub fn start(binary: &Path, env: &[(&str, &str)], stdout: Stdout) -> OriginProcess {
        let port = free_port();
        let mut cmd = Command::new(binary);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("VISUAL_MODEL", "descriptor")
            .stdout(match stdout {
                Stdout::Discard => Stdio::null(),
                Stdout::Capture => Stdio::piped(),
            })
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        OriginProcess {
            child: cmd.spawn().expect("starting vitrine-origin"),
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Waits until `/api/health/ready` answers 200 (see [`wait_ready`]).
    pub async fn wait_ready(&self, client: &reqwest::Client, timeout: Duration) {
        wait_ready(client, &self.base, timeout).await;
    }

    /// Kills the process (SIGKILL: no graceful anything) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OriginProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
