//! A PgBouncer of the test's own, in **transaction** mode, in front of the test Postgres:
//! every database on that Postgres is reachable through it, on a loopback port, killed on
//! drop.
//!
//! The binary comes from `scripts/tools/pgbouncer.sh` (PgBouncer ≥ 1.21, built once outside
//! the clone), or from `VITRINE_PGBOUNCER` when set.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use crate::{TempDir, free_port, postgres::upstream_of, temp_dir, wait::wait_for_port};

/// Server connections PgBouncer keeps per (database, user): deliberately fewer than the
/// origin's pool, so client connections take turns on server connections and a statement
/// prepared on one is executed on another, which is what breaks drivers behind PgBouncer.
pub const SERVER_POOL_SIZE: u32 = 2;

pub struct PgBouncer {
    child: Option<Child>,
    port: u16,
    _dir: TempDir,
}

/// The PgBouncer binary: `VITRINE_PGBOUNCER`, or what the project's script installs.
pub fn pgbouncer_binary() -> PathBuf {
    crate::tool::installed_tool("VITRINE_PGBOUNCER", "pgbouncer.sh", "PgBouncer")
}

impl PgBouncer {
    /// Starts PgBouncer in front of the Postgres of `admin_url` (a `postgres://` URL) and
    /// waits until it accepts connections.
    pub fn start(admin_url: &str) -> PgBouncer {
        let binary = pgbouncer_binary();
        let upstream = upstream_of(admin_url);
        let (host, pg_port) = upstream.rsplit_once(':').unwrap_or(("127.0.0.1", "5432"));
        let user = admin_url
            .split_once("://")
            .and_then(|(_, r)| r.split_once('@'))
            .map_or("postgres", |(u, _)| {
                u.split(':').next().unwrap_or("postgres")
            });
        let dir = temp_dir();
        let port = free_port();
        let ini = dir.path().join("pgbouncer.ini");
        let users = dir.path().join("userlist.txt");
        std::fs::write(&users, format!("\"{user}\" \"\"\n")).expect("writing userlist.txt");
        std::fs::write(
            &ini,
            format!(
                "[databases]\n\
                 * = host={host} port={pg_port}\n\
                 [pgbouncer]\n\
                 listen_addr = 127.0.0.1\n\
                 listen_port = {port}\n\
                 unix_socket_dir =\n\
                 auth_type = trust\n\
                 auth_file = {users}\n\
                 pool_mode = transaction\n\
                 default_pool_size = {SERVER_POOL_SIZE}\n\
                 max_client_conn = 500\n\
                 max_prepared_statements = 200\n\
                 ignore_startup_parameters = extra_float_digits\n\
                 server_reset_query =\n\
                 logfile = {log}\n",
                users = users.display(),
                log = dir.path().join("pgbouncer.log").display(),
            ),
        )
        .expect("writing pgbouncer.ini");
        make_readable(dir.path());
        let mut cmd = Command::new(&binary);
        // PgBouncer refuses to run as root; `-u` switches to an unprivileged user.
        if is_root() {
            cmd.args(["-u", "nobody"]);
        }
        // `-q`: the log goes to the file in the temp dir only, not into the test output.
        let child = cmd
            .arg("-q")
            .arg(&ini)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
        let bouncer = PgBouncer {
            child: Some(child),
            port,
            _dir: dir,
        };
        assert!(
            wait_for_port(port, Duration::from_secs(10)),
            "PgBouncer did not start on {port}"
        );
        bouncer
    }

    /// `url` (a database on the same Postgres) rewritten to go through PgBouncer.
    pub fn rewrite(&self, url: &str) -> String {
        url.replacen(&upstream_of(url), &format!("127.0.0.1:{}", self.port), 1)
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false)
}

/// The unprivileged PgBouncer must read its files and write its log.
fn make_readable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777));
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let _ = std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(0o644));
        }
    }
}
