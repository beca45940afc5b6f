//! Temporary directories.

pub use tempfile::TempDir;

/// A fresh directory under the system temp dir (`vitrine-test-…`), removed with everything in
/// it when the returned guard is dropped.
pub fn temp_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("vitrine-test-")
        .tempdir()
        .expect("creating a temp dir")
}
