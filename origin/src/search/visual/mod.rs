//! Visual search: "show me products that look like this photo".
//!
//! Flow: an image is decoded by the shared pipeline (`decode_rgb`, shrink-on-load, EXIF
//! orientation, sRGB) at [`descriptor::ANALYSIS_SIDE`], turned into a descriptor by an
//! [`descriptor::Embedder`], and compared with every product's descriptor in the
//! [`index::VisualIndex`].
//!
//! Product descriptors are computed once per image (images are content-addressed) as
//! `describe` jobs on the shared job queue ([`describe_task`]): Redis Streams when
//! `REDIS_URL` is set, so the work spreads over every origin with workers, survives restarts
//! and is retried (and dead-lettered) like any batch item. A descriptor is stored in
//! `image_descriptors` with its version, the id of the model that computed it and its labels
//! ([`analysis`]), and loaded into memory at start. A model change leaves the old rows in
//! place: they serve until each image is described again in the background ([`reindex`]).
//!
//! Keeping every instance's index current: each instance remembers the images it is waiting
//! for (`awaited`: a product write it made or heard of, or a missing descriptor at start).
//! The instance that runs a job indexes the result at once and announces it on a Redis
//! channel ([`events`]); the others index it when they hear of it. A safety net reads the
//! database for images awaited longer than [`RECHECK_AFTER`] (a lost message, an instance
//! without Redis) and submits again what could not be submitted.

pub mod analysis;
pub mod describe_task;
pub mod descriptor;
pub mod events;
pub mod index;
pub mod neural;
pub mod reindex;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
    time::{Duration, Instant},
};

use vitrine_common::{
    api::{ImageId, Product},
    thumbnail::{
        pipeline::{Limits, PipelineError},
        probe,
    },
};

use crate::{
    cache::Cache,
    db::Db,
    images::{Images, pool::CpuPool},
    jobs::{ItemError, JobQueue, NewJob, Priority, TaskError, Unique},
    redis::Redis,
};
use descriptor::{Descriptor, Embedder, from_bytes};
use index::{ItemMeta, VisualIndex};

/// How long an awaited image may go unresolved before the safety net reads the database for
/// it (and submits it again if its submission failed).
pub const RECHECK_AFTER: Duration = Duration::from_secs(15);
/// How long an instance keeps waiting for an image before giving up on it (a job that was
/// dead-lettered elsewhere, an image no instance can read). The next start or write retries.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(30 * 60);
/// Images per `describe` job (a re-index of a large catalog is several jobs).
const ITEMS_PER_JOB: usize = 1_000;

/// Everything visual search needs; cheap to clone.
#[derive(Clone)]
pub struct VisualSearch {
    pub index: VisualIndex,
    pub embedder: Arc<dyn Embedder>,
    pub limits: Limits,
    shared: Arc<Shared>,
}

struct Shared {
    db: Db,
    images: Images,
    /// The CPU pool and memory budget thumbnails use too: every decode here waits its turn.
    pool: CpuPool,
    queue: Arc<dyn JobQueue>,
    redis: Option<Arc<Redis>>,
    /// The `embed` namespace holds every image's analysis by content hash and model.
    cache: Cache,
    /// Times this instance ran the model (see [`analysis`]).
    analyses: std::sync::atomic::AtomicU64,
    reindex: reindex::Progress,
    awaited: Mutex<HashMap<String, Awaited>>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// How the embedder was chosen (`VISUAL_MODEL`), for the health report.
    embedder_status: std::sync::OnceLock<neural::select::EmbedderStatus>,
}

/// An image this instance waits to index.
#[derive(Debug, Clone, Copy)]
struct Awaited {
    since: Instant,
    last_check: Instant,
    /// The job carrying it reached the queue (false: submit again).
    submitted: bool,
}

impl std::fmt::Debug for VisualSearch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VisualSearch({:?})", self.index)
    }
}

fn meta(p: &Product) -> ItemMeta {
    ItemMeta {
        category: p.category.clone(),
        brand: p.brand.clone(),
        price: p.price,
    }
}

fn transient(code: &str, e: impl std::fmt::Display) -> TaskError {
    TaskError::Transient(ItemError::new(code, e.to_string()))
}

fn permanent(code: &str, e: impl std::fmt::Display) -> TaskError {
    TaskError::Permanent(ItemError::new(code, e.to_string()))
}

impl VisualSearch {
    /// Puts a stored row's vector into the index; false when the vector does not decode or
    /// has another length than the index's.
    fn load_row(&self, r: crate::db::descriptors::IndexedRow) -> bool {
        from_bytes(&r.vector).is_some_and(|v| {
            self.index.upsert(
                r.id,
                &v,
                r.phash as u64,
                ItemMeta {
                    category: r.category,
                    brand: r.brand,
                    price: r.price,
                },
            )
        })
    }

    /// Creates the service. Descriptor jobs go to `queue`; with the cache's Redis, finished
    /// ones are announced to (and heard from) the other instances. Starts the listener and
    /// the safety net; they stop with [`VisualSearch::shutdown`] or when the last clone is
    /// dropped.
    pub fn start(
        db: Db,
        images: Images,
        pool: CpuPool,
        embedder: Arc<dyn Embedder>,
        config: index::IndexConfig,
        queue: Arc<dyn JobQueue>,
        cache: Cache,
    ) -> Self {
        let redis = cache.redis().cloned();
        let this = Self {
            index: VisualIndex::new(embedder.dims(), config),
            embedder,
            limits: Limits::default(),
            shared: Arc::new(Shared {
                db,
                images,
                pool,
                queue,
                redis: redis.clone(),
                cache,
                analyses: Default::default(),
                reindex: Default::default(),
                awaited: Mutex::new(HashMap::new()),
                tasks: Mutex::new(Vec::new()),
                embedder_status: std::sync::OnceLock::new(),
            }),
        };
        let mut tasks = vec![tokio::spawn(safety_net(this.downgrade()))];
        if let Some(redis) = redis {
            tasks.push(tokio::spawn(events::listen(this.downgrade(), redis)));
        }
        if let Ok(mut t) = this.shared.tasks.lock() {
            t.extend(tasks);
        }
        this
    }

    fn downgrade(&self) -> WeakVisual {
        WeakVisual {
            index: self.index.clone(),
            embedder: self.embedder.clone(),
            limits: self.limits,
            shared: Arc::downgrade(&self.shared),
        }
    }

    /// Records how the embedder was chosen (once; later calls are ignored).
    pub fn set_embedder_status(&self, status: neural::select::EmbedderStatus) {
        let _ = self.shared.embedder_status.set(status);
    }

    pub fn embedder_status(&self) -> Option<&neural::select::EmbedderStatus> {
        self.shared.embedder_status.get()
    }

    /// Stops the background tasks (graceful shutdown).
    pub fn shutdown(&self) {
        if let Ok(mut tasks) = self.shared.tasks.lock() {
            for t in tasks.drain(..) {
                t.abort();
            }
        }
    }

    /// Computes a descriptor of `bytes` in the CPU pool, once the source's header says its
    /// decode fits the memory budget.
    pub async fn describe_bytes(&self, bytes: Arc<Vec<u8>>) -> Result<Descriptor, PipelineError> {
        let info = probe(&bytes, &self.limits)?;
        let (embedder, limits) = (self.embedder.clone(), self.limits);
        self.shared
            .pool
            .run(info.width, info.height, move || {
                embedder.embed_bytes(&bytes, &limits)
            })
            .await
            .map_err(|e| PipelineError::Corrupt(format!("descriptor task failed: {e}")))?
    }

    /// Loads every stored descriptor of the current version into the index and queues
    /// images that lack one. Returns how many products were loaded.
    pub async fn load(&self) -> anyhow::Result<usize> {
        let version = self.embedder.version();
        let mut after = 0;
        let mut loaded = 0;
        loop {
            let rows = self
                .shared
                .db
                .indexed_products(version, after, 5_000)
                .await?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            for r in rows {
                if self.load_row(r) {
                    loaded += 1;
                }
            }
            // Past the threshold, compact now so the full vectors held stay bounded.
            if !self.index.has_ann() && self.index.needs_ann() {
                let index = self.index.clone();
                tokio::task::spawn_blocking(move || index.build_ann_blocking()).await?;
            }
        }
        let stale = self.load_stale().await?;
        if stale > 0 {
            tracing::info!(
                products = stale,
                "serving other models' vectors until they are re-indexed"
            );
        }
        self.spawn_reindex();
        self.spawn_ann_build_if_needed();
        Ok(loaded + stale)
    }

    /// Waits for `image_ids` and submits `describe` jobs for them. A failed submission (the
    /// queue's Redis is down) is logged and retried by the safety net.
    /// Images already awaited with their job on the queue are not submitted again.
    async fn request(&self, image_ids: Vec<String>) {
        let now = Instant::now();
        let mut to_submit = Vec::with_capacity(image_ids.len());
        if let Ok(mut awaited) = self.shared.awaited.lock() {
            for id in image_ids {
                let a = awaited.entry(id.clone()).or_insert(Awaited {
                    since: now,
                    last_check: now,
                    submitted: false,
                });
                if !a.submitted {
                    to_submit.push(id);
                }
            }
        }
        for chunk in to_submit.chunks(ITEMS_PER_JOB) {
            match submit_describe(self.shared.queue.as_ref(), self.embedder.as_ref(), chunk).await {
                Ok(job) => {
                    tracing::debug!(job, images = chunk.len(), "describe job queued");
                    if let Ok(mut awaited) = self.shared.awaited.lock() {
                        for id in chunk {
                            if let Some(a) = awaited.get_mut(id) {
                                a.submitted = true;
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(
                    error = %e,
                    images = chunk.len(),
                    "could not queue describe jobs; retrying later"
                ),
            }
        }
    }

    /// Keeps the index in step with product writes.
    pub async fn on_products_changed(&self, products: &[Product]) {
        let mut image_ids: Vec<&str> = products
            .iter()
            .filter_map(|p| p.image_id.as_deref())
            .collect();
        image_ids.sort_unstable();
        image_ids.dedup();
        let stored = if image_ids.is_empty() {
            Default::default()
        } else {
            match self
                .shared
                .db
                .get_descriptors(&image_ids, self.embedder.version())
                .await
            {
                Ok(stored) => stored,
                Err(e) => {
                    tracing::warn!(error = %e, products = products.len(), "visual index update failed");
                    return;
                }
            }
        };
        let mut wanted = Vec::new();
        let mut asked = std::collections::HashSet::new();
        for p in products {
            let Some(image_id) = &p.image_id else {
                self.index.remove(p.id);
                continue;
            };
            match stored.get(image_id) {
                Some((bytes, phash)) => {
                    if let Some(v) = from_bytes(bytes) {
                        self.index.upsert(p.id, &v, *phash, meta(p));
                    }
                }
                None => {
                    // Not described yet: drop a stale entry and ask for a descriptor.
                    self.index.remove(p.id);
                    if asked.insert(image_id.as_str()) {
                        wanted.push(image_id.clone());
                    }
                }
            }
        }
        if !wanted.is_empty() {
            self.request(wanted).await;
        }
        self.spawn_ann_build_if_needed();
    }

    pub fn on_products_deleted(&self, ids: &[i64]) {
        for id in ids {
            self.index.remove(*id);
        }
    }

    fn spawn_ann_build_if_needed(&self) {
        if self.index.needs_ann() {
            let index = self.index.clone();
            tokio::task::spawn_blocking(move || index.build_ann_blocking());
        }
    }

    /// Waits until this instance awaits no descriptor and its re-index has finished (tests
    /// and the evaluation program).
    pub async fn wait_idle(&self) {
        while self.pending() > 0 || self.shared.reindex.running() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Images this instance waits to index (queued, being described, or described
    /// elsewhere and not yet heard of).
    pub fn pending(&self) -> usize {
        self.shared.awaited.lock().map_or(0, |a| a.len())
    }

    fn is_awaited(&self, image_id: &str) -> bool {
        self.shared
            .awaited
            .lock()
            .is_ok_and(|a| a.contains_key(image_id))
    }

    fn forget(&self, image_id: &str) {
        if let Ok(mut a) = self.shared.awaited.lock() {
            a.remove(image_id);
        }
    }

    /// The `describe` job's work for one image: the stored descriptor when there is one
    /// (another delivery or instance made it), else computed from the original and stored;
    /// then every product showing the image is indexed here, and other instances are told.
    ///
    /// Errors: an id no image has, or an original that does not decode, is permanent; a
    /// database or store failure is transient (retried). An original this instance's store
    /// does not hold, though the catalog knows it, is transient too: it was uploaded through
    /// another instance with its own store, and a retry may be delivered there.
    pub async fn describe_job(&self, image_id: &str) -> Result<serde_json::Value, TaskError> {
        let db = &self.shared.db;
        let version = self.embedder.version();
        let id = ImageId::parse(image_id).map_err(|e| permanent("invalid_item", e))?;
        let stored = db
            .get_descriptor(image_id, version)
            .await
            .map_err(|e| transient("database", e))?;
        let (vector, phash, computed) = match stored {
            Some((bytes, phash)) => (from_bytes(&bytes).unwrap_or_default(), phash, false),
            None => {
                let bytes = match self.shared.images.original(&id).await {
                    Ok(Some((_, bytes))) => bytes,
                    Ok(None) => {
                        let known = db
                            .get_image(image_id)
                            .await
                            .map_err(|e| transient("database", e))?;
                        if known.is_none() {
                            self.forget(image_id);
                            return Err(permanent(
                                "not_found",
                                format!("no stored image with id {image_id}"),
                            ));
                        }
                        return Err(transient(
                            "original_elsewhere",
                            "the original is not in this instance's image store",
                        ));
                    }
                    Err(e) => return Err(transient("storage", e)),
                };
                let a = self.analyse(&id, Arc::new(bytes)).await.map_err(|e| {
                    self.forget(image_id);
                    permanent(e.code(), e)
                })?;
                self.store_analysis(image_id, &a)
                    .await
                    .map_err(|e| transient("database", e))?;
                (a.descriptor.vector, a.descriptor.phash, true)
            }
        };
        let products = self
            .index_products(image_id, &vector, phash)
            .await
            .map_err(|e| transient("database", e))?;
        if computed {
            events::announce(self.shared.redis.as_deref(), image_id).await;
        }
        Ok(serde_json::json!({
            "image_id": image_id,
            "descriptor_version": version,
            "model": self.embedder.model_id(),
            "computed": computed,
            "products_indexed": products,
        }))
    }

    /// Indexes an image's stored descriptor if this instance waits for it (another instance
    /// announced it, or the safety net found it). Returns whether it was found.
    async fn index_stored(&self, image_id: &str) -> anyhow::Result<bool> {
        let Some((bytes, phash)) = self
            .shared
            .db
            .get_descriptor(image_id, self.embedder.version())
            .await?
        else {
            return Ok(false);
        };
        let vector = from_bytes(&bytes).unwrap_or_default();
        self.index_products(image_id, &vector, phash).await?;
        Ok(true)
    }

    /// Puts every product showing `image_id` into the index with this descriptor, and stops
    /// waiting for it. Returns how many products.
    async fn index_products(
        &self,
        image_id: &str,
        vector: &[f32],
        phash: u64,
    ) -> anyhow::Result<usize> {
        let db = &self.shared.db;
        let ids = db.products_with_image(image_id).await?;
        let products = db.get_products(&ids).await?;
        for p in &products {
            self.index.upsert(p.id, vector, phash, meta(p));
        }
        self.forget(image_id);
        self.spawn_ann_build_if_needed();
        Ok(products.len())
    }
}

/// How long a `describe` job's uniqueness key binds at most.
const DESCRIBE_UNIQUE_TTL: Duration = Duration::from_secs(3600);

/// Submits one `describe` job for `image_ids` at low priority (shoppers' batches first).
/// Each item names the model it is for (see [`describe_task`] for what an instance running
/// another model does with it).
///
/// The job is unique by model version and image set: instances sharing the queue that start
/// together (each re-indexes the same catalog pages) or ask for the same new images get the
/// job already queued or running instead of describing the images twice; once it finished, a
/// new request makes a new job.
async fn submit_describe(
    queue: &dyn JobQueue,
    embedder: &dyn Embedder,
    image_ids: &[String],
) -> anyhow::Result<String> {
    let (version, model) = (embedder.version(), embedder.model_id());
    let mut sorted: Vec<&str> = image_ids.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let digest = blake3::hash(sorted.join(",").as_bytes()).to_hex();
    let job = NewJob {
        kind: describe_task::KIND.to_owned(),
        priority: Priority::Low,
        idempotency_key: None,
        unique: Some(Unique {
            key: format!("describe:{model}:{version}:{}", &digest[..32]),
            ttl: DESCRIBE_UNIQUE_TTL,
        }),
        run_at: None,
        items: image_ids
            .iter()
            .map(|id| serde_json::json!({"image_id": id, "model": model, "version": version}))
            .collect(),
        prefailed: Vec::new(),
        meta: serde_json::json!({"purpose": "visual index", "descriptor_version": version, "model": model}),
    };
    Ok(queue.submit(job).await?.id().to_owned())
}

/// A handle for background tasks that does not keep the service alive.
struct WeakVisual {
    index: VisualIndex,
    embedder: Arc<dyn Embedder>,
    limits: Limits,
    shared: Weak<Shared>,
}

impl WeakVisual {
    fn upgrade(&self) -> Option<VisualSearch> {
        Some(VisualSearch {
            index: self.index.clone(),
            embedder: self.embedder.clone(),
            limits: self.limits,
            shared: self.shared.upgrade()?,
        })
    }
}

/// Every few seconds: images awaited longer than [`RECHECK_AFTER`] are looked up in the
/// database (indexed when found), submitted again when their submission failed, and given
/// up after [`GIVE_UP_AFTER`].
async fn safety_net(weak: WeakVisual) {
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let Some(visual) = weak.upgrade() else { return };
        let now = Instant::now();
        let (mut check, mut resubmit, mut dropped) = (Vec::new(), Vec::new(), 0usize);
        if let Ok(mut awaited) = visual.shared.awaited.lock() {
            awaited.retain(|_, a| {
                let keep = now.duration_since(a.since) < GIVE_UP_AFTER;
                dropped += usize::from(!keep);
                keep
            });
            for (id, a) in awaited.iter_mut() {
                if check.len() >= 256 {
                    break;
                }
                if now.duration_since(a.last_check) >= RECHECK_AFTER {
                    a.last_check = now;
                    check.push(id.clone());
                    if !a.submitted {
                        resubmit.push(id.clone());
                    }
                }
            }
        }
        if dropped > 0 {
            tracing::warn!(
                images = dropped,
                "gave up waiting for descriptors; the next start or product write asks again"
            );
        }
        for id in check {
            match visual.index_stored(&id).await {
                Ok(true) => resubmit.retain(|r| *r != id),
                Ok(false) => {}
                Err(e) => tracing::debug!(error = %e, image_id = id, "descriptor recheck failed"),
            }
        }
        if !resubmit.is_empty() {
            visual.request(resubmit).await;
        }
    }
}
