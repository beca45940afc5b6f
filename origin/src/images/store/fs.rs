//! Objects as files under a root folder (`file://…`, default `data/originals`), fanned out by
//! the first two hex characters so no folder grows to millions of entries. Writes go to a
//! temporary name and are renamed into place, so a reader never sees a partial file.

use std::{
    io::{ErrorKind, Read},
    path::{Path, PathBuf},
    time::SystemTime,
};

use futures::{StreamExt, future::BoxFuture, stream::BoxStream};
use vitrine_common::api::ImageId;

use super::{ObjectMeta, ObjectStore, StoreError, fan_out, id_from_segments};

#[derive(Debug, Clone)]
pub struct FsStore {
    root: PathBuf,
}

impl FsStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, id: &ImageId) -> PathBuf {
        let (dir, name) = fan_out(id);
        self.root.join(dir).join(name)
    }
}

/// A disk error: a missing file is [`StoreError::NotFound`]; anything else (permissions, a
/// full or failing disk) means the store cannot serve right now.
fn io_error(path: &Path, e: std::io::Error) -> StoreError {
    match e.kind() {
        ErrorKind::NotFound => StoreError::NotFound,
        _ => StoreError::Unavailable(format!("{}: {e}", path.display())),
    }
}

fn meta(id: ImageId, m: &std::fs::Metadata) -> ObjectMeta {
    ObjectMeta {
        id,
        last_modified: m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        size: m.len(),
    }
}

/// Runs blocking file work off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(StoreError::Other(format!("file store task: {e}"))))
}

impl ObjectStore for FsStore {
    fn put<'a>(
        &'a self,
        id: &'a ImageId,
        bytes: bytes::Bytes,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let path = self.path(id);
        Box::pin(blocking(move || {
            // Already there (same key, same bytes): only the time moves, so the orphan
            // sweep's grace period starts again from this put.
            match std::fs::File::options().write(true).open(&path) {
                Ok(f) => {
                    return f
                        .set_modified(SystemTime::now())
                        .map_err(|e| io_error(&path, e));
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(io_error(&path, e)),
            }
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
            }
            let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
            std::fs::write(&tmp, &bytes).map_err(|e| io_error(&tmp, e))?;
            std::fs::rename(&tmp, &path).map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                io_error(&path, e)
            })
        }))
    }

    fn get<'a>(
        &'a self,
        id: &'a ImageId,
        max_bytes: u64,
    ) -> BoxFuture<'a, Result<Vec<u8>, StoreError>> {
        let path = self.path(id);
        Box::pin(blocking(move || {
            let file = std::fs::File::open(&path).map_err(|e| io_error(&path, e))?;
            let len = file.metadata().map_err(|e| io_error(&path, e))?.len();
            if len > max_bytes {
                return Err(StoreError::TooLarge {
                    len,
                    limit: max_bytes,
                });
            }
            let mut bytes = Vec::with_capacity(len as usize);
            // `take` keeps the bound even if the file grows between the check and the read.
            file.take(max_bytes + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| io_error(&path, e))?;
            if bytes.len() as u64 > max_bytes {
                return Err(StoreError::TooLarge {
                    len: bytes.len() as u64,
                    limit: max_bytes,
                });
            }
            Ok(bytes)
        }))
    }

    fn head<'a>(&'a self, id: &'a ImageId) -> BoxFuture<'a, Result<ObjectMeta, StoreError>> {
        let path = self.path(id);
        let id = id.clone();
        Box::pin(blocking(move || {
            let m = std::fs::metadata(&path).map_err(|e| io_error(&path, e))?;
            Ok(meta(id, &m))
        }))
    }

    fn delete<'a>(&'a self, id: &'a ImageId) -> BoxFuture<'a, Result<(), StoreError>> {
        let path = self.path(id);
        Box::pin(blocking(move || match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(&path, e)),
        }))
    }

    /// One fan-out folder at a time, each read on the blocking pool.
    fn list(&self) -> BoxStream<'_, Result<ObjectMeta, StoreError>> {
        let root = self.root.clone();
        let dirs = futures::stream::once(blocking(move || match std::fs::read_dir(&root) {
            Ok(entries) => Ok(entries
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    (name.len() == 2 && e.path().is_dir()).then(|| (e.path(), name))
                })
                .collect::<Vec<_>>()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(io_error(&root, e)),
        }));
        dirs.flat_map(|dirs| match dirs {
            Err(e) => futures::stream::iter(vec![Err(e)]).boxed(),
            Ok(dirs) => futures::stream::iter(dirs)
                .then(|(path, dir)| blocking(move || list_dir(&path, &dir)))
                .flat_map(|items| match items {
                    Ok(items) => futures::stream::iter(items.into_iter().map(Ok)).boxed(),
                    Err(e) => futures::stream::iter(vec![Err(e)]).boxed(),
                })
                .boxed(),
        })
        .boxed()
    }

    fn describe(&self) -> String {
        format!("file://{}", self.root.display())
    }
}

/// The objects in one fan-out folder (temporary files and foreign names are skipped).
fn list_dir(path: &Path, dir: &str) -> Result<Vec<ObjectMeta>, StoreError> {
    let entries = std::fs::read_dir(path).map_err(|e| io_error(path, e))?;
    Ok(entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let id = id_from_segments(dir, e.file_name().to_str()?)?;
            let m = e.metadata().ok().filter(|m| m.is_file())?;
            Some(meta(id, &m))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt;

    use super::*;

    fn id(bytes: &[u8]) -> ImageId {
        ImageId::parse(blake3::hash(bytes).to_hex().as_str()).unwrap()
    }

    #[tokio::test]
    async fn round_trips_lists_bounds_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::new(dir.path());
        let a = id(b"hello");
        store.put(&a, b"hello".to_vec().into()).await.unwrap();
        store.put(&a, b"hello".to_vec().into()).await.unwrap();
        assert_eq!(store.get(&a, 100).await.unwrap(), b"hello");
        assert_eq!(
            store.get(&a, 4).await,
            Err(StoreError::TooLarge { len: 5, limit: 4 })
        );
        let missing = id(b"nothing");
        assert_eq!(store.get(&missing, 100).await, Err(StoreError::NotFound));
        assert_eq!(store.head(&missing).await, Err(StoreError::NotFound));
        // A stray file and a temporary file are not objects.
        std::fs::write(dir.path().join(&a.as_str()[..2]).join("notes.txt"), b"x").unwrap();
        std::fs::write(dir.path().join("README"), b"x").unwrap();
        let listed: Vec<ObjectMeta> = store.list().try_collect().await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id, a);
        assert_eq!(listed[0].size, 5);
        store.delete(&a).await.unwrap();
        store.delete(&a).await.unwrap();
        assert_eq!(store.get(&a, 100).await, Err(StoreError::NotFound));
    }

    #[tokio::test]
    async fn a_second_put_refreshes_the_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::new(dir.path());
        let a = id(b"again");
        store.put(&a, b"again".to_vec().into()).await.unwrap();
        let old = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        std::fs::File::options()
            .write(true)
            .open(store.path(&a))
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert_eq!(store.head(&a).await.unwrap().last_modified, old);
        store.put(&a, b"again".to_vec().into()).await.unwrap();
        assert!(store.head(&a).await.unwrap().last_modified > old);
    }

    #[tokio::test]
    async fn an_unreadable_root_is_unavailable_not_missing() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the root folder should be: every write fails with a disk error.
        let root = dir.path().join("root");
        std::fs::write(&root, b"not a folder").unwrap();
        let store = FsStore::new(&root);
        let a = id(b"x");
        assert!(matches!(
            store.put(&a, b"x".to_vec().into()).await,
            Err(StoreError::Unavailable(_))
        ));
        assert!(matches!(
            store.list().try_collect::<Vec<_>>().await,
            Err(StoreError::Unavailable(_))
        ));
    }
}
