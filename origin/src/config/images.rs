//! Originals and thumbnails: where processed thumbnails are kept, the bounds on an original,
//! the pipeline's threads and memory, signing keys, and batch bounds.

use std::path::{Path, PathBuf};

use super::{
    ApiKey, ConfigError,
    parse::{Lookup, parse_bool, parse_keys, parse_num},
};

#[derive(Debug, Clone)]
pub struct ImageSettings {
    /// `IMAGE_CACHE_DIR` (default `image_cache` under `DATA_DIR`).
    pub cache_dir: PathBuf,
    /// `IMAGE_CACHE_MAX_BYTES`: bound of the processed-thumbnail cache (LRU eviction).
    pub cache_max_bytes: u64,
    /// `THUMBNAIL_GENERATION`: `false` serves originals instead of resizing.
    pub thumbnail_generation: bool,
    /// `IMAGE_OPTIMIZATION`: `f:auto` negotiates WebP and batches default to WebP.
    pub optimization: bool,
    /// `IMAGE_MAX_BYTES`: largest accepted original (upload body), checked before buffering.
    pub max_bytes: usize,
    /// `IMAGE_MAX_PIXELS`: largest accepted original (width × height), checked from the header.
    pub max_pixels: u64,
    /// `IMAGE_MEMORY_BUDGET_BYTES`: pixels in flight (width × height × 4 of every image being
    /// decoded) may not exceed this.
    pub memory_budget_bytes: u64,
    /// `THREAD_POOL_SIZE` (default: the CPUs): pipeline jobs running at once.
    pub thread_pool_size: usize,
    /// `PROCESS_POOL_SIZE`: accepted and validated; CPU work runs on the thread pool.
    pub process_pool_size: usize,
    /// `IMAGE_SIGNING_KEYS`: HMAC keys of `/img` URLs, newest first (rotation).
    pub signing_keys: Vec<ApiKey>,
    /// `BATCH_MAX_ITEMS`: most items in one `POST /api/images/batch`.
    pub batch_max_items: usize,
    /// `BATCH_MAX_BYTES`: largest `POST /api/images/batch` body.
    pub batch_max_bytes: usize,
}

impl ImageSettings {
    pub(super) fn from_lookup(get: &impl Lookup, data_dir: &Path) -> Result<Self, ConfigError> {
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Ok(Self {
            cache_dir: get("IMAGE_CACHE_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| data_dir.join("image_cache")),
            cache_max_bytes: parse_num(get, "IMAGE_CACHE_MAX_BYTES", 1 << 30, 1 << 16, 1 << 44)?,
            thumbnail_generation: parse_bool(get, "THUMBNAIL_GENERATION", true)?,
            optimization: parse_bool(get, "IMAGE_OPTIMIZATION", true)?,
            max_bytes: parse_num(get, "IMAGE_MAX_BYTES", 32 * 1024 * 1024, 1024, 1 << 30)?,
            max_pixels: parse_num(get, "IMAGE_MAX_PIXELS", 50_000_000, 1, 1_000_000_000)?,
            memory_budget_bytes: parse_num(
                get,
                "IMAGE_MEMORY_BUDGET_BYTES",
                1 << 30,
                1 << 20,
                1 << 40,
            )?,
            thread_pool_size: parse_num(get, "THREAD_POOL_SIZE", cpus, 1, 1024)?,
            process_pool_size: parse_num(get, "PROCESS_POOL_SIZE", 0, 0, 1024)?,
            signing_keys: parse_keys(get, "IMAGE_SIGNING_KEYS")?,
            batch_max_items: parse_num(get, "BATCH_MAX_ITEMS", 500, 1, 100_000)?,
            batch_max_bytes: parse_num(get, "BATCH_MAX_BYTES", 64 * 1024 * 1024, 1024, 1 << 31)?,
        })
    }

    /// Threads the thumbnail pool may keep busy (`THREAD_POOL_SIZE`).
    pub fn pool_threads(&self) -> usize {
        self.thread_pool_size.max(1)
    }
}
