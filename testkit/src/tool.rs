//! Binaries the project's own scripts install (`scripts/tools/*.sh` print the path of what
//! they installed or found), or that an environment variable names instead.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

/// `$env_var` when set, else the path `scripts/tools/<script>` prints after installing the
/// tool where missing. Fails the test, naming the script, when it cannot.
pub fn installed_tool(env_var: &str, script: &str, what: &str) -> PathBuf {
    if let Ok(p) = std::env::var(env_var) {
        return PathBuf::from(p);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts/tools")
        .join(script);
    let out = Command::new("bash")
        .arg(&script)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} failed: {what} could not be installed (see its output above)",
        script.display()
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}
