//! Making thumbnails: the origin's side of `common`'s pipeline.
//!
//! Decoding and resizing are CPU-bound and can take tens of milliseconds, so they never run on
//! a tokio worker: each job goes to `spawn_blocking` behind a semaphore of `THREAD_POOL_SIZE`
//! permits (so the blocking pool never holds more CPU work than there are threads for it).
//! Before that, a second, weighted semaphore — the **memory budget** — is acquired for the
//! pixels the decode may allocate (width × height × 4 from the header probe, counted in KiB):
//! a burst of 40-megapixel uploads waits for budget instead of exhausting memory. An image
//! larger than the whole budget takes all of it and runs alone.
//!
//! Identical in-flight transforms are **coalesced**: the first request for a cache key starts
//! one task (spawned, so a client that disconnects does not cancel it for the others) and every
//! request for the same key while it runs awaits the same shared result — one decode for a
//! burst of the same URL. Results go to the [`DiskCache`] after they are answered: the flight
//! stays registered until the file is written, so a request in between joins the finished
//! flight instead of rendering again, and the client never waits on the disk. Shutdown waits
//! for those writes ([`Thumbnailer::settled`]).

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use bytes::Bytes;
use futures::{
    FutureExt,
    future::{BoxFuture, Shared},
};
use tokio::sync::Notify;
use vitrine_common::{
    api::ImageId,
    cache_key,
    placeholder::Placeholder,
    signature::SigningKeys,
    thumbnail::{
        ImageInfo, Ingested, Limits, Output, OutputFormat, PipelineError, ThumbSpec, probe,
    },
};

use super::{Images, cache::DiskCache, pool::CpuPool};

/// What a pipeline call returns, seen by the counters: its encoded outputs.
trait Rendered {
    fn outputs(&self) -> &[Output];
}

impl Rendered for Vec<Output> {
    fn outputs(&self) -> &[Output] {
        self
    }
}

impl Rendered for Ingested {
    fn outputs(&self) -> &[Output] {
        &self.outputs
    }
}

/// Why a thumbnail could not be made. `Clone` because coalesced waiters share it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RenderError {
    #[error("no image with id {0}")]
    NotFound(String),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// Reading the original failed (unavailable, slow, over the size bound).
    #[error(transparent)]
    Store(super::store::StoreError),
    #[error("{0}")]
    Internal(String),
}

/// Where a served thumbnail came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The disk cache.
    Hit,
    /// Rendered for this request.
    Miss,
    /// Rendered by a concurrent request for the same key, shared.
    Coalesced,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Hit => "hit",
            Source::Miss => "miss",
            Source::Coalesced => "coalesced",
        }
    }
}

/// Counters for thumbnailing; with metrics attached, every pipeline run is also reported as
/// `image_processing_duration_seconds{stage="wait"|"pipeline"}`, `images_processed_total`
/// and `images_failed_total`.
#[derive(Debug, Default)]
pub struct ThumbStats {
    metrics: std::sync::OnceLock<Arc<crate::observability::Metrics>>,
    pub uploads: AtomicU64,
    pub processed: AtomicU64,
    pub failed: AtomicU64,
    pub outputs: AtomicU64,
    pub coalesced: AtomicU64,
    /// Time spent waiting for the memory budget and a CPU permit, µs.
    pub wait_micros: AtomicU64,
    /// Time spent in the pipeline (decode + resize + encode), µs.
    pub process_micros: AtomicU64,
    /// Time spent reading originals from the object store, µs.
    pub load_micros: AtomicU64,
}

type Flight = Shared<BoxFuture<'static, Result<Bytes, RenderError>>>;

/// The thumbnail service (cheap to clone).
#[derive(Clone)]
pub struct Thumbnailer {
    pub images: Images,
    pub cache: DiskCache,
    pub keys: SigningKeys,
    pool: CpuPool,
    flights: Arc<Mutex<HashMap<String, Flight>>>,
    /// Woken whenever a flight ends (see [`Thumbnailer::settled`]).
    flight_ended: Arc<Notify>,
    pub stats: Arc<ThumbStats>,
}

impl ThumbStats {
    /// Reports every later pipeline run to `metrics` as well.
    pub fn attach_metrics(&self, metrics: Arc<crate::observability::Metrics>) {
        let _ = self.metrics.set(metrics);
    }

    fn failed(&self, e: &vitrine_common::thumbnail::PipelineError) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        if let Some(m) = self.metrics.get() {
            m.image_failed(e.code());
        }
    }
}

impl std::fmt::Debug for Thumbnailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Thumbnailer")
            .field("pool", &self.pool)
            .finish()
    }
}

/// The disk-cache key of a thumbnail: the hex part of `cache_key::thumbnail`.
pub fn cache_key(id: &str, spec: &ThumbSpec, format: OutputFormat) -> String {
    let key = cache_key::thumbnail(id, &spec.canonical(), format.as_str());
    key.as_str()
        .rsplit(':')
        .next()
        .unwrap_or(key.as_str())
        .to_owned()
}

/// The strong ETag of a thumbnail: the output is a deterministic function of the source bytes
/// (the id is their hash), the canonical spec and the format, so the cache key identifies the
/// bytes and a 304 needs neither the original nor the cache.
pub fn etag(key: &str) -> String {
    format!("\"t-{}\"", &key[..key.len().min(32)])
}

impl Thumbnailer {
    pub fn new(
        images: Images,
        cache: DiskCache,
        keys: SigningKeys,
        threads: usize,
        memory_budget_bytes: u64,
    ) -> Self {
        Self {
            images,
            cache,
            keys,
            pool: CpuPool::new(threads, memory_budget_bytes),
            flights: Arc::new(Mutex::new(HashMap::new())),
            flight_ended: Arc::new(Notify::new()),
            stats: Arc::new(ThumbStats::default()),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.images.limits
    }

    /// Memory budget still free, in bytes (for health and tests).
    pub fn memory_available(&self) -> u64 {
        self.pool.memory_available()
    }

    /// The CPU pool and memory budget, shared with photo search and descriptor jobs.
    pub fn pool(&self) -> CpuPool {
        self.pool.clone()
    }

    /// Runs the pipeline on `bytes` for `jobs` (decoding once), within the CPU pool and the
    /// memory budget.
    pub async fn process_many(
        &self,
        bytes: Arc<Vec<u8>>,
        jobs: Vec<(ThumbSpec, OutputFormat)>,
    ) -> Result<Vec<Output>, RenderError> {
        self.in_pool(bytes, move |bytes, limits| {
            vitrine_common::thumbnail::process_many(bytes, &jobs, limits)
        })
        .await
    }

    /// [`Thumbnailer::process_many`] and the image's placeholder, from one decode.
    pub async fn process_ingest(
        &self,
        bytes: Arc<Vec<u8>>,
        jobs: Vec<(ThumbSpec, OutputFormat)>,
    ) -> Result<Ingested, RenderError> {
        self.in_pool(bytes, move |bytes, limits| {
            vitrine_common::thumbnail::ingest(bytes, &jobs, limits)
        })
        .await
    }

    /// Runs one pipeline call on `bytes` in the CPU pool once the memory budget for its
    /// header's size is free, counting it (and its outputs) in the stats and metrics.
    async fn in_pool<T: Rendered + Send + 'static>(
        &self,
        bytes: Arc<Vec<u8>>,
        work: impl FnOnce(&[u8], &Limits) -> Result<T, PipelineError> + Send + 'static,
    ) -> Result<T, RenderError> {
        let limits = *self.limits();
        let info: ImageInfo = match probe(&bytes, &limits) {
            Ok(i) => i,
            Err(e) => {
                self.stats.failed(&e);
                return Err(e.into());
            }
        };
        let waited = Instant::now();
        let permit = self.pool.acquire(info.width, info.height).await;
        self.stats
            .wait_micros
            .fetch_add(waited.elapsed().as_micros() as u64, Ordering::Relaxed);
        let metrics = self.stats.metrics.get();
        if let Some(m) = metrics {
            m.image_stage("wait", waited.elapsed().as_secs_f64());
        }
        let started = Instant::now();
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(&bytes, &limits)
        })
        .await
        .map_err(|e| RenderError::Internal(format!("pipeline task: {e}")))?;
        self.stats
            .process_micros
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        if let Some(m) = metrics {
            m.image_stage("pipeline", started.elapsed().as_secs_f64());
        }
        match result {
            Ok(rendered) => {
                let outputs = rendered.outputs();
                self.stats.processed.fetch_add(1, Ordering::Relaxed);
                self.stats
                    .outputs
                    .fetch_add(outputs.len() as u64, Ordering::Relaxed);
                if let Some(m) = metrics {
                    for o in outputs {
                        m.image_processed(o.format.as_str());
                    }
                }
                Ok(rendered)
            }
            Err(e) => {
                self.stats.failed(&e);
                Err(e.into())
            }
        }
    }

    /// The one way an original is accepted (uploads, batch items, the demo catalog), and only
    /// if the pipeline can actually decode it: header probe (cheap refusals first), then one
    /// decode that makes the `small` WebP thumbnail — proving the file is whole (a truncated
    /// or corrupt body is refused with 422 here rather than failing later at `/img`) and
    /// warming the cache with the size product lists show first — and the placeholder stored
    /// with the row.
    pub async fn ingest_checked(
        &self,
        bytes: Vec<u8>,
    ) -> Result<(crate::db::images::ImageRecord, bool), super::IngestError> {
        use super::IngestError;
        probe(&bytes, self.limits())?;
        let format = OutputFormat::Webp;
        let mut spec = vitrine_common::thumbnail::Preset::Small.spec();
        spec.format = vitrine_common::thumbnail::Format::Fixed(format);
        let shared = Arc::new(bytes);
        let ingested = self
            .process_ingest(shared.clone(), vec![(spec, format)])
            .await
            .map_err(|e| match e {
                RenderError::Pipeline(p) => IngestError::Refused(p),
                RenderError::Store(e) => IngestError::Store(e),
                other => IngestError::Internal(other.to_string()),
            })?;
        let bytes = Arc::try_unwrap(shared).unwrap_or_else(|a| (*a).clone());
        let (record, created) = self.images.ingest(bytes, &ingested.placeholder).await?;
        if let Some(out) = ingested.outputs.first() {
            let key = cache_key(&record.id, &spec, format);
            self.cache.put(&key, format.extension(), &out.bytes).await;
        }
        Ok((record, created))
    }

    /// The placeholder of a stored original (the background pass), in the CPU pool.
    pub async fn placeholder_of(&self, bytes: Arc<Vec<u8>>) -> Result<Placeholder, RenderError> {
        self.process_ingest(bytes, Vec::new())
            .await
            .map(|i| i.placeholder)
    }

    /// The original's bytes from the object store.
    pub async fn load(&self, id: &str) -> Result<Arc<Vec<u8>>, RenderError> {
        let started = Instant::now();
        let bytes = self
            .images
            .bytes(id)
            .await
            .map_err(RenderError::Store)?
            .ok_or_else(|| RenderError::NotFound(id.to_owned()))?;
        self.stats
            .load_micros
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        Ok(Arc::new(bytes))
    }

    /// The thumbnail of `id` for `spec` as `format`: from the disk cache, from a transform
    /// already in flight, or rendered now (and cached).
    pub async fn render(
        &self,
        id: &ImageId,
        spec: ThumbSpec,
        format: OutputFormat,
    ) -> Result<(Bytes, Source), RenderError> {
        let key = cache_key(id.as_str(), &spec, format);
        if let Some((bytes, _)) = self.cache.get(&key).await {
            return Ok((bytes, Source::Hit));
        }
        let (flight, source) = {
            let mut flights = self.flights.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(f) = flights.get(&key) {
                self.stats.coalesced.fetch_add(1, Ordering::Relaxed);
                (f.clone(), Source::Coalesced)
            } else {
                let this = self.clone();
                let (id, k) = (id.as_str().to_owned(), key.clone());
                let (done, result) = tokio::sync::oneshot::channel();
                tokio::spawn(async move {
                    let rendered = this.render_uncached(&id, spec, format).await;
                    let _ = done.send(rendered.clone());
                    if let Ok(bytes) = &rendered {
                        this.cache.put(&k, format.extension(), bytes).await;
                    }
                    this.flights
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&k);
                    this.flight_ended.notify_waiters();
                });
                let flight: Flight = async move {
                    result.await.unwrap_or_else(|_| {
                        Err(RenderError::Internal("the render task ended early".into()))
                    })
                }
                .boxed()
                .shared();
                flights.insert(key.clone(), flight.clone());
                (flight, Source::Miss)
            }
        };
        flight.await.map(|b| (b, source))
    }

    async fn render_uncached(
        &self,
        id: &str,
        spec: ThumbSpec,
        format: OutputFormat,
    ) -> Result<Bytes, RenderError> {
        let bytes = self.load(id).await?;
        let mut outputs = self.process_many(bytes, vec![(spec, format)]).await?;
        let out = outputs
            .pop()
            .ok_or_else(|| RenderError::Internal("the pipeline returned no output".into()))?;
        Ok(Bytes::from(out.bytes))
    }

    /// Waits until no transform is in flight and every rendered thumbnail is in the disk
    /// cache (graceful shutdown; tests that look at the cache).
    pub async fn settled(&self) {
        loop {
            // Created before the check: `notify_waiters` reaches it even before it is polled.
            let ended = self.flight_ended.notified();
            if self
                .flights
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_empty()
            {
                return;
            }
            ended.await;
        }
    }

    /// Makes several thumbnails of one original in one decode and stores each in the cache
    /// (batch jobs use this so `/img` serves their outputs without rendering again).
    pub async fn render_set(
        &self,
        id: &str,
        jobs: Vec<(ThumbSpec, OutputFormat)>,
    ) -> Result<Vec<Output>, RenderError> {
        let bytes = self.load(id).await?;
        let outputs = self.process_many(bytes, jobs.clone()).await?;
        for ((spec, format), out) in jobs.iter().zip(&outputs) {
            let key = cache_key(id, spec, *format);
            self.cache.put(&key, format.extension(), &out.bytes).await;
        }
        Ok(outputs)
    }
}

impl crate::observability::Snapshot for Thumbnailer {
    fn snapshot(&self) -> serde_json::Value {
        let s = &self.stats;
        serde_json::json!({
            "uploads": s.uploads.load(Ordering::Relaxed),
            "processed": s.processed.load(Ordering::Relaxed),
            "failed": s.failed.load(Ordering::Relaxed),
            "outputs": s.outputs.load(Ordering::Relaxed),
            "coalesced": s.coalesced.load(Ordering::Relaxed),
            "wait_seconds": s.wait_micros.load(Ordering::Relaxed) as f64 / 1e6,
            "process_seconds": s.process_micros.load(Ordering::Relaxed) as f64 / 1e6,
            "load_seconds": s.load_micros.load(Ordering::Relaxed) as f64 / 1e6,
            "cpu_permits_free": self.pool.cpu_available(),
            "memory_budget_bytes": u64::from(self.pool.memory_kib()) * 1024,
            "memory_free_bytes": self.memory_available(),
            "cache": self.cache.snapshot(),
        })
    }
}
