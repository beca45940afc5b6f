//! nginx as a round-robin load balancer of the test's own in front of origin instances, on a
//! free loopback port, with its files in a temp dir, killed on drop.
//!
//! The binary comes from `scripts/tools/nginx.sh` (Debian's `nginx-light`, installed where
//! missing), or from `VITRINE_NGINX` when set. It runs as one process (`master_process off`,
//! `daemon off`) so the test owns it like any child. Every answer carries `x-upstream: <the
//! backend's host:port>`, so a test can count which instance served what.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use crate::{TempDir, free_port, temp_dir, wait::wait_for_port};

pub struct Nginx {
    child: Option<Child>,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    dir: TempDir,
}

/// The nginx binary: `VITRINE_NGINX`, or what the project's script installs.
pub fn nginx_binary() -> PathBuf {
    crate::tool::installed_tool("VITRINE_NGINX", "nginx.sh", "nginx")
}

/// The configuration: `backends` as `host:port`, listening on `port`, files under `dir`.
/// Idle upstream connections are dropped after 5 s, before the origin's `HEADER_READ_TIMEOUT`
/// (10 s) closes them from its side, so nginx never sends a request on a connection the
/// origin is closing.
fn config(dir: &Path, port: u16, backends: &[String]) -> String {
    let servers: String = backends
        .iter()
        .map(|b| format!("        server {b} max_fails=1 fail_timeout=2s;\n"))
        .collect();
    let d = dir.display();
    format!(
        "master_process off;\n\
         daemon off;\n\
         worker_processes 1;\n\
         error_log {d}/error.log warn;\n\
         pid {d}/nginx.pid;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n\
         \x20   access_log {d}/access.log;\n\
         \x20   client_body_temp_path {d}/body;\n\
         \x20   proxy_temp_path {d}/proxy;\n\
         \x20   fastcgi_temp_path {d}/fastcgi;\n\
         \x20   uwsgi_temp_path {d}/uwsgi;\n\
         \x20   scgi_temp_path {d}/scgi;\n\
         \x20   client_max_body_size 64m;\n\
         \x20   upstream origins {{\n\
         {servers}\
         \x20       keepalive 16;\n\
         \x20       keepalive_timeout 5s;\n\
         \x20   }}\n\
         \x20   server {{\n\
         \x20       listen 127.0.0.1:{port};\n\
         \x20       location / {{\n\
         \x20           proxy_pass http://origins;\n\
         \x20           proxy_http_version 1.1;\n\
         \x20           proxy_set_header Connection \"\";\n\
         \x20           proxy_set_header Host $host;\n\
         \x20           proxy_set_header X-Forwarded-For $remote_addr;\n\
         \x20           proxy_connect_timeout 2s;\n\
         \x20           proxy_read_timeout 60s;\n\
         \x20           add_header x-upstream $upstream_addr always;\n\
         \x20       }}\n\
         \x20   }}\n\
         }}\n"
    )
}

impl Nginx {
    /// Starts nginx balancing round-robin over `backends` (`host:port`) and waits until it
    /// accepts connections. A backend that refuses connections is skipped for 2 s; requests
    /// nginx may repeat (GET, HEAD) go to the next backend, others fail with 502.
    pub fn start(backends: &[String]) -> Nginx {
        let binary = nginx_binary();
        let dir = temp_dir();
        let port = free_port();
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, config(dir.path(), port, backends)).expect("writing nginx.conf");
        let child = Command::new(&binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
        let nginx = Nginx {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
            dir,
        };
        assert!(
            wait_for_port(port, Duration::from_secs(10)),
            "nginx did not start on {port}; its log: {}",
            std::fs::read_to_string(nginx.dir.path().join("error.log")).unwrap_or_default()
        );
        nginx
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
