//! The persistent cache of processed thumbnails, in `IMAGE_CACHE_DIR`.
//!
//! Making a thumbnail costs milliseconds of CPU; reading one from disk costs microseconds, and
//! the files survive restarts (a fresh process would otherwise re-render the whole storefront).
//! Entries are keyed by `common::cache_key::thumbnail(source hash, canonical spec, format)`,
//! so equivalent URLs share one file, and stored as `{dir}/{k[..2]}/{k}.{ext}` (fanned out so
//! no folder grows huge; the extension says the format).
//!
//! The cache is bounded in bytes (`IMAGE_CACHE_MAX_BYTES`) with least-recently-used eviction.
//! Sizes and recency live in memory (a map plus a tick-ordered index, O(log n) per access);
//! the file system's atime is unreliable (`noatime`, `relatime`), so at start the index is
//! rebuilt by scanning the folder and ordering files by modification time: after a restart,
//! recency starts from write order, which is good enough for a cache. Files are written to a
//! temporary name and
//! renamed, so a reader never sees a partial file and a crash leaves at most a stray
//! `.tmp-*` that the next scan deletes.

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use bytes::Bytes;

#[derive(Debug, Clone, Copy)]
struct Entry {
    size: u64,
    tick: u64,
    ext: &'static str,
}

#[derive(Debug, Default)]
struct Index {
    entries: HashMap<String, Entry>,
    /// tick → key, oldest first.
    order: BTreeMap<u64, String>,
    total: u64,
    tick: u64,
}

impl Index {
    fn touch(&mut self, key: &str) -> Option<Entry> {
        self.tick += 1;
        let tick = self.tick;
        let e = self.entries.get_mut(key)?;
        self.order.remove(&e.tick);
        e.tick = tick;
        self.order.insert(tick, key.to_owned());
        Some(*e)
    }

    fn insert(&mut self, key: String, size: u64, ext: &'static str) {
        self.remove(&key);
        self.tick += 1;
        self.order.insert(self.tick, key.clone());
        self.entries.insert(
            key,
            Entry {
                size,
                tick: self.tick,
                ext,
            },
        );
        self.total += size;
    }

    fn remove(&mut self, key: &str) -> Option<Entry> {
        let e = self.entries.remove(key)?;
        self.order.remove(&e.tick);
        self.total -= e.size;
        Some(e)
    }

    /// Removes least-recently-used entries until the total fits `max`; returns them.
    fn evict_to(&mut self, max: u64) -> Vec<(String, Entry)> {
        let mut out = Vec::new();
        while self.total > max {
            let Some((_, key)) = self.order.pop_first() else {
                break;
            };
            if let Some(e) = self.entries.remove(&key) {
                self.total -= e.size;
                out.push((key, e));
            }
        }
        out
    }
}

/// Counters for the cache (exported later as metrics).
#[derive(Debug, Default)]
pub struct CacheStats {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub writes: AtomicU64,
    pub evictions: AtomicU64,
    pub write_errors: AtomicU64,
}

#[derive(Debug, Clone)]
pub struct DiskCache {
    dir: PathBuf,
    max_bytes: u64,
    index: Arc<Mutex<Index>>,
    pub stats: Arc<CacheStats>,
}

const EXTENSIONS: [&str; 4] = ["jpg", "webp", "png", "avif"];

fn static_ext(ext: &str) -> Option<&'static str> {
    EXTENSIONS.iter().copied().find(|e| *e == ext)
}

fn valid_key(key: &str) -> bool {
    key.len() >= 8 && key.len() <= 128 && key.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl DiskCache {
    /// Opens (creating) the cache folder and rebuilds the index by scanning it. Blocking:
    /// call it at start-up (or from `spawn_blocking`).
    pub fn open(dir: impl Into<PathBuf>, max_bytes: u64) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        let mut found: Vec<(std::time::SystemTime, String, u64, &'static str)> = Vec::new();
        for shard in std::fs::read_dir(&dir)?.flatten() {
            if !shard.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                continue;
            }
            let Ok(files) = std::fs::read_dir(shard.path()) else {
                continue;
            };
            for file in files.flatten() {
                let path = file.path();
                let name = file.file_name().to_string_lossy().into_owned();
                let parsed = name
                    .rsplit_once('.')
                    .and_then(|(k, e)| Some((k.to_owned(), static_ext(e)?)))
                    .filter(|(k, _)| valid_key(k));
                let Some((key, ext)) = parsed else {
                    // Stray temporary files from a crash, or foreign files: not ours to keep.
                    if name.contains(".tmp-") {
                        let _ = std::fs::remove_file(&path);
                    }
                    continue;
                };
                let Ok(meta) = file.metadata() else { continue };
                let when = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
                found.push((when, key, meta.len(), ext));
            }
        }
        found.sort();
        let mut index = Index::default();
        for (_, key, size, ext) in found {
            index.insert(key, size, ext);
        }
        let cache = Self {
            dir,
            max_bytes,
            index: Arc::new(Mutex::new(index)),
            stats: Arc::new(CacheStats::default()),
        };
        let evicted = cache.lock().evict_to(max_bytes);
        for (key, e) in evicted {
            let _ = std::fs::remove_file(cache.path(&key, e.ext));
        }
        Ok(cache)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        // A panic while holding the lock leaves a consistent-enough index: keep going.
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn path(&self, key: &str, ext: &str) -> PathBuf {
        self.dir.join(&key[..2]).join(format!("{key}.{ext}"))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes currently held, and the number of entries.
    pub fn usage(&self) -> (u64, usize) {
        let i = self.lock();
        (i.total, i.entries.len())
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Whether `key` is cached (without touching its recency).
    pub fn contains(&self, key: &str) -> bool {
        self.lock().entries.contains_key(key)
    }

    /// The cached bytes of `key` and their extension, marking it recently used.
    pub async fn get(&self, key: &str) -> Option<(Bytes, &'static str)> {
        if !valid_key(key) {
            return None;
        }
        let Some(entry) = self.lock().touch(key) else {
            self.stats.misses.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        match tokio::fs::read(self.path(key, entry.ext)).await {
            Ok(bytes) => {
                self.stats.hits.fetch_add(1, Ordering::Relaxed);
                Some((Bytes::from(bytes), entry.ext))
            }
            Err(_) => {
                // Deleted behind our back (or unreadable): forget it.
                self.lock().remove(key);
                self.stats.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Stores `bytes` under `key`, then evicts least-recently-used entries over the bound.
    /// Failures are counted and logged, never returned: the response is served anyway.
    pub async fn put(&self, key: &str, ext: &'static str, bytes: &[u8]) {
        if !valid_key(key) || bytes.len() as u64 > self.max_bytes {
            return;
        }
        let path = self.path(key, ext);
        let write = async {
            if let Some(dir) = path.parent() {
                tokio::fs::create_dir_all(dir).await?;
            }
            let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
            tokio::fs::write(&tmp, bytes).await?;
            tokio::fs::rename(&tmp, &path).await
        };
        if let Err(e) = write.await {
            self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, path = %path.display(), "thumbnail cache write failed");
            return;
        }
        self.stats.writes.fetch_add(1, Ordering::Relaxed);
        let evicted = {
            let mut index = self.lock();
            index.insert(key.to_owned(), bytes.len() as u64, ext);
            index.evict_to(self.max_bytes)
        };
        for (old, e) in evicted {
            self.stats.evictions.fetch_add(1, Ordering::Relaxed);
            let _ = tokio::fs::remove_file(self.path(&old, e.ext)).await;
        }
    }
}

impl crate::observability::Snapshot for DiskCache {
    fn snapshot(&self) -> serde_json::Value {
        let (bytes, entries) = self.usage();
        let s = &self.stats;
        serde_json::json!({
            "bytes": bytes,
            "entries": entries,
            "max_bytes": self.max_bytes,
            "hits": s.hits.load(Ordering::Relaxed),
            "misses": s.misses.load(Ordering::Relaxed),
            "writes": s.writes.load(Ordering::Relaxed),
            "evictions": s.evictions.load(Ordering::Relaxed),
            "write_errors": s.write_errors.load(Ordering::Relaxed),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: usize) -> String {
        format!("{i:0>16x}")
    }

    #[tokio::test]
    async fn evicts_least_recently_used_and_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskCache::open(dir.path(), 250).unwrap();
        cache.put(&key(1), "jpg", &[1; 100]).await;
        cache.put(&key(2), "webp", &[2; 100]).await;
        // Touch 1 so 2 is the oldest.
        assert_eq!(cache.get(&key(1)).await.unwrap().0.len(), 100);
        cache.put(&key(3), "png", &[3; 100]).await;
        assert!(cache.contains(&key(1)));
        assert!(!cache.contains(&key(2)), "2 was least recently used");
        assert!(cache.contains(&key(3)));
        assert_eq!(cache.usage(), (200, 2));
        assert!(
            !dir.path()
                .join(&key(2)[..2])
                .join(format!("{}.webp", key(2)))
                .exists()
        );

        // A new process rebuilds the index from the folder.
        std::fs::write(dir.path().join("00").join("x.tmp-123"), b"junk").unwrap();
        let reopened = DiskCache::open(dir.path(), 250).unwrap();
        assert_eq!(reopened.usage(), (200, 2));
        let (bytes, ext) = reopened.get(&key(3)).await.unwrap();
        assert_eq!((bytes.len(), ext), (100, "png"));
        assert!(!dir.path().join("00").join("x.tmp-123").exists());

        // A smaller bound at start evicts down to it.
        let small = DiskCache::open(dir.path(), 150).unwrap();
        assert_eq!(small.usage().1, 1);
    }

    #[tokio::test]
    async fn refuses_odd_keys() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskCache::open(dir.path(), 1000).unwrap();
        cache.put("../../etc", "jpg", b"x").await;
        assert_eq!(cache.usage(), (0, 0));
        assert!(cache.get("../../etc").await.is_none());
    }
}
