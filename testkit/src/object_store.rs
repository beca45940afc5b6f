//! A real S3-compatible server of the test's own, started through the project's script
//! (`scripts/object-store.sh`, which installs it once under `$VITRINE_TOOLS_DIR`) on a free
//! loopback port, with its data in a temporary folder; stopped on drop.
//!
//! Where the server cannot be installed (no registry, no compiler) a test may skip with a
//! message saying so ([`ObjectStoreServer::start_or_skip`]), except where
//! `VITRINE_REQUIRE_OBJECT_STORE` is set (`scripts/test.sh` sets it, after installing the
//! server): there, a server that cannot start fails the test.

use std::{path::PathBuf, process::Command, sync::Mutex};

use crate::temp::{TempDir, temp_dir};

/// One server, one state folder (its data, port, keys and log).
pub struct ObjectStoreServer {
    dir: TempDir,
    env: Vec<(String, String)>,
}

/// One install at a time: parallel tests would otherwise build it side by side.
static INSTALL: Mutex<()> = Mutex::new(());

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/object-store.sh")
}

impl ObjectStoreServer {
    /// Installs the server where missing and starts it; the error says what failed.
    pub fn try_start() -> Result<Self, String> {
        {
            let _one = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
            let out = Command::new("bash")
                .arg(script())
                .arg("install")
                .output()
                .map_err(|e| format!("cannot run scripts/object-store.sh: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "scripts/object-store.sh install failed:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        let mut server = ObjectStoreServer {
            dir: temp_dir(),
            env: Vec::new(),
        };
        let out = server.run("start")?;
        let env = out
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect::<Vec<_>>();
        if !env.iter().any(|(k, _)| k == "AWS_ENDPOINT_URL") {
            return Err(format!(
                "scripts/object-store.sh start printed no exports:\n{out}"
            ));
        }
        server.env = env;
        Ok(server)
    }

    /// [`ObjectStoreServer::try_start`], or `None` with a message on stderr when the server
    /// cannot be installed here; panics instead where `VITRINE_REQUIRE_OBJECT_STORE` is set.
    pub fn start_or_skip(test: &str) -> Option<Self> {
        match Self::try_start() {
            Ok(s) => Some(s),
            Err(e) if std::env::var_os("VITRINE_REQUIRE_OBJECT_STORE").is_some() => {
                panic!("{test}: the S3 server is required here but did not start: {e}")
            }
            Err(e) => {
                eprintln!(
                    "SKIPPED {test}: no S3-compatible server ({e}); `scripts/object-store.sh install` \
                     installs one, and scripts/test.sh requires it"
                );
                None
            }
        }
    }

    fn run(&self, command: &str) -> Result<String, String> {
        let out = Command::new("bash")
            .arg(script())
            .arg(command)
            .env("VITRINE_OBJECT_STORE_DIR", self.dir.path())
            .output()
            .map_err(|e| format!("cannot run scripts/object-store.sh: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "scripts/object-store.sh {command} failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// The origin's settings for this server: `OBJECT_STORE_URL`, `AWS_ENDPOINT_URL`,
    /// `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`.
    pub fn env(&self) -> Vec<(&str, &str)> {
        self.env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// One of [`ObjectStoreServer::env`]'s values.
    pub fn var(&self, name: &str) -> &str {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Stops the server (its data stays); requests to it are refused until [`Self::restart`].
    pub fn stop(&self) {
        self.run("stop").unwrap_or_else(|e| panic!("{e}"));
    }

    /// Starts it again on the same port with the same data and keys.
    pub fn restart(&self) {
        self.run("start").unwrap_or_else(|e| panic!("{e}"));
    }
}

impl Drop for ObjectStoreServer {
    fn drop(&mut self) {
        let _ = self.run("stop");
    }
}
