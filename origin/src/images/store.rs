//! Where original image bytes live. The trait keeps the origin independent of the backend:
//! a folder on disk today, an S3-compatible bucket later.

use std::path::PathBuf;

use futures::future::BoxFuture;

pub trait ObjectStore: Send + Sync {
    /// Stores `bytes` under `key` (idempotent: the key is the content hash).
    fn put(&self, key: &str, bytes: Vec<u8>) -> BoxFuture<'_, anyhow::Result<()>>;
    /// The bytes under `key`, or `None`.
    fn get(&self, key: &str) -> BoxFuture<'_, anyhow::Result<Option<Vec<u8>>>>;
}

/// Objects as files under a root folder, fanned out by the first two hex characters so no
/// folder grows to millions of entries.
#[derive(Debug, Clone)]
pub struct FsStore {
    root: PathBuf,
}

impl FsStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, key: &str) -> anyhow::Result<PathBuf> {
        anyhow::ensure!(
            key.len() >= 3 && key.bytes().all(|b| b.is_ascii_alphanumeric()),
            "object keys are alphanumeric"
        );
        Ok(self.root.join(&key[..2]).join(key))
    }
}

impl ObjectStore for FsStore {
    fn put(&self, key: &str, bytes: Vec<u8>) -> BoxFuture<'_, anyhow::Result<()>> {
        let path = self.path(key);
        Box::pin(async move {
            let path = path?;
            if tokio::fs::try_exists(&path).await.unwrap_or(false) {
                return Ok(());
            }
            if let Some(dir) = path.parent() {
                tokio::fs::create_dir_all(dir).await?;
            }
            // Write to a temporary name and rename: readers never see a partial file.
            let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
            tokio::fs::write(&tmp, &bytes).await?;
            tokio::fs::rename(&tmp, &path).await?;
            Ok(())
        })
    }

    fn get(&self, key: &str) -> BoxFuture<'_, anyhow::Result<Option<Vec<u8>>>> {
        let path = self.path(key);
        Box::pin(async move {
            match tokio::fs::read(path?).await {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trips_and_rejects_path_tricks() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::new(dir.path());
        store.put("abcdef", b"hello".to_vec()).await.unwrap();
        store.put("abcdef", b"hello".to_vec()).await.unwrap();
        assert_eq!(store.get("abcdef").await.unwrap().unwrap(), b"hello");
        assert!(store.get("abcxyz").await.unwrap().is_none());
        assert!(store.get("../etc/passwd").await.is_err());
    }
}
