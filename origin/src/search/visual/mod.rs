//! Visual search: "show me products that look like this photo".
//!
//! Flow: an image is decoded by the shared pipeline (`decode_rgb`, shrink-on-load, EXIF
//! orientation, sRGB) at [`descriptor::ANALYSIS_SIDE`], turned into a descriptor by an
//! [`descriptor::Embedder`], and compared with every product's descriptor in the
//! [`index::VisualIndex`].
//!
//! Product descriptors are computed once per image (images are content-addressed) by a
//! background worker when a product gains an image, stored in `image_descriptors` with
//! their version, and loaded into memory at start. A descriptor version change leaves the
//! old rows unused: at start every product image without a current-version descriptor is
//! queued again (re-indexing). Writes update the index at once on this instance; other
//! instances pick them up through the catalog sync loop.

pub mod descriptor;
pub mod index;

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use vitrine_common::{
    api::Product,
    thumbnail::pipeline::{Limits, PipelineError, decode_rgb},
};

use crate::{db::Db, images::Images};
use descriptor::{Descriptor, Embedder, from_bytes, to_bytes};
use index::{ItemMeta, VisualIndex};

/// Everything visual search needs; cheap to clone.
#[derive(Clone)]
pub struct VisualSearch {
    pub index: VisualIndex,
    pub embedder: Arc<dyn Embedder>,
    pub limits: Limits,
    db: Db,
    images: Images,
    queue: tokio::sync::mpsc::Sender<String>,
    pending: Arc<AtomicUsize>,
}

impl std::fmt::Debug for VisualSearch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VisualSearch({:?})", self.index)
    }
}

fn meta(p: &Product, image_id: &str) -> ItemMeta {
    ItemMeta {
        category: p.category.clone(),
        brand: p.brand.clone(),
        price: p.price,
        image_id: image_id.to_owned(),
    }
}

impl VisualSearch {
    /// Creates the service and starts its descriptor worker (it stops when the last clone
    /// of the service is dropped).
    pub fn start(
        db: Db,
        images: Images,
        embedder: Arc<dyn Embedder>,
        config: index::IndexConfig,
    ) -> Self {
        let (tx, rx) = tokio::sync::mpsc::channel::<String>(10_000);
        let this = Self {
            index: VisualIndex::new(embedder.dims(), config),
            embedder,
            limits: Limits::default(),
            db,
            images,
            queue: tx,
            pending: Arc::new(AtomicUsize::new(0)),
        };
        tokio::spawn(worker(this.clone_without_queue(), rx));
        this
    }

    /// A clone whose queue handle does not keep the worker alive.
    fn clone_without_queue(&self) -> WorkerHandle {
        WorkerHandle {
            index: self.index.clone(),
            embedder: self.embedder.clone(),
            limits: self.limits,
            db: self.db.clone(),
            images: self.images.clone(),
            pending: self.pending.clone(),
        }
    }

    /// Computes a descriptor of `bytes` on a blocking thread.
    pub async fn describe_bytes(&self, bytes: Arc<Vec<u8>>) -> Result<Descriptor, PipelineError> {
        describe_bytes(self.embedder.clone(), self.limits, bytes).await
    }

    /// Loads every stored descriptor of the current version into the index and queues
    /// images that lack one. Returns how many products were loaded.
    pub async fn load(&self) -> anyhow::Result<usize> {
        let version = self.embedder.version();
        let mut after = 0;
        let mut loaded = 0;
        loop {
            let rows = self.db.indexed_products(version, after, 5_000).await?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            for r in rows {
                if let Some(v) = from_bytes(&r.vector)
                    && self.index.upsert(
                        r.id,
                        &v,
                        r.phash as u64,
                        ItemMeta {
                            category: r.category,
                            brand: r.brand,
                            price: r.price,
                            image_id: r.image_id,
                        },
                    )
                {
                    loaded += 1;
                }
            }
        }
        self.queue_missing().await?;
        self.spawn_graph_build_if_needed();
        Ok(loaded)
    }

    /// Queues every product image without a current descriptor.
    pub async fn queue_missing(&self) -> anyhow::Result<usize> {
        let missing = self
            .db
            .images_missing_descriptors(self.embedder.version(), 100_000)
            .await?;
        let n = missing.len();
        if n > 0 {
            tracing::info!(
                images = n,
                version = self.embedder.version(),
                "queueing images for visual indexing"
            );
        }
        for id in missing {
            self.pending.fetch_add(1, Ordering::SeqCst);
            if self.queue.send(id).await.is_err() {
                self.pending.fetch_sub(1, Ordering::SeqCst);
                break;
            }
        }
        Ok(n)
    }

    /// Keeps the index in step with product writes.
    pub async fn on_products_changed(&self, products: &[Product]) {
        for p in products {
            let Some(image_id) = &p.image_id else {
                self.index.remove(p.id);
                continue;
            };
            match self
                .db
                .get_descriptor(image_id, self.embedder.version())
                .await
            {
                Ok(Some((bytes, phash))) => {
                    if let Some(v) = from_bytes(&bytes) {
                        self.index.upsert(p.id, &v, phash, meta(p, image_id));
                    }
                }
                Ok(None) => {
                    // Not described yet: drop a stale entry and let the worker add it.
                    self.index.remove(p.id);
                    self.pending.fetch_add(1, Ordering::SeqCst);
                    if self.queue.try_send(image_id.clone()).is_err() {
                        self.pending.fetch_sub(1, Ordering::SeqCst);
                    }
                }
                Err(e) => tracing::warn!(error = %e, product = p.id, "visual index update failed"),
            }
        }
        self.spawn_graph_build_if_needed();
    }

    pub fn on_products_deleted(&self, ids: &[i64]) {
        for id in ids {
            self.index.remove(*id);
        }
    }

    fn spawn_graph_build_if_needed(&self) {
        if self.index.needs_graph() {
            let index = self.index.clone();
            tokio::task::spawn_blocking(move || index.build_graph_blocking());
        }
    }

    /// Waits until the descriptor queue is empty (tests and the evaluation program).
    pub async fn wait_idle(&self) {
        while self.pending.load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Images queued or being described.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }
}

async fn describe_bytes(
    embedder: Arc<dyn Embedder>,
    limits: Limits,
    bytes: Arc<Vec<u8>>,
) -> Result<Descriptor, PipelineError> {
    tokio::task::spawn_blocking(move || {
        let px = decode_rgb(&bytes, descriptor::ANALYSIS_SIDE, &limits)?;
        Ok(embedder.embed(&px))
    })
    .await
    .map_err(|e| PipelineError::Corrupt(format!("descriptor task failed: {e}")))?
}

struct WorkerHandle {
    index: VisualIndex,
    embedder: Arc<dyn Embedder>,
    limits: Limits,
    db: Db,
    images: Images,
    pending: Arc<AtomicUsize>,
}

/// The original is not in this instance's store (it was uploaded through another instance
/// with its own store), so only that instance can describe it.
#[derive(Debug, thiserror::Error)]
#[error("the original is not in this instance's image store")]
struct OriginalMissing;

/// Computes descriptors for queued images, stores them and indexes their products.
async fn worker(h: WorkerHandle, mut rx: tokio::sync::mpsc::Receiver<String>) {
    let h = Arc::new(h);
    while let Some(image_id) = rx.recv().await {
        match describe_image(&h, &image_id).await {
            Err(e) if e.is::<OriginalMissing>() => {
                // The instance holding the original is describing it: wait for its
                // descriptor in the database without holding up the queue.
                let h = h.clone();
                tokio::spawn(async move {
                    await_remote_descriptor(&h, &image_id).await;
                    h.pending.fetch_sub(1, Ordering::SeqCst);
                });
                continue;
            }
            Err(e) => tracing::warn!(error = %e, image_id, "visual descriptor failed"),
            Ok(()) => {}
        }
        h.pending.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Polls the database, backing off from 200 ms to 10 s for about a minute, for a
/// descriptor another instance computes, and indexes it when it appears.
async fn await_remote_descriptor(h: &WorkerHandle, image_id: &str) {
    let mut delay = std::time::Duration::from_millis(200);
    for _ in 0..10 {
        tokio::time::sleep(delay).await;
        match h.db.get_descriptor(image_id, h.embedder.version()).await {
            Ok(Some((bytes, phash))) => {
                let vector = from_bytes(&bytes).unwrap_or_default();
                if let Err(e) = index_products(h, image_id, &vector, phash).await {
                    tracing::warn!(error = %e, image_id, "indexing a remote descriptor failed");
                }
                return;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, image_id, "reading a remote descriptor failed"),
        }
        delay = (delay * 2).min(std::time::Duration::from_secs(10));
    }
    tracing::warn!(
        image_id,
        "no descriptor appeared for an image this instance cannot read; the next load or write picks it up"
    );
}

async fn describe_image(h: &WorkerHandle, image_id: &str) -> anyhow::Result<()> {
    let version = h.embedder.version();
    let (vector, phash) = match h.db.get_descriptor(image_id, version).await? {
        Some((bytes, phash)) => (from_bytes(&bytes).unwrap_or_default(), phash),
        None => {
            let id = vitrine_common::api::ImageId::parse(image_id)?;
            let Some((_, bytes)) = h.images.original(&id).await? else {
                return Err(OriginalMissing.into());
            };
            let d = describe_bytes(h.embedder.clone(), h.limits, Arc::new(bytes)).await?;
            h.db.put_descriptor(
                image_id,
                version,
                d.vector.len() as i32,
                &to_bytes(&d.vector),
                d.phash,
            )
            .await?;
            (d.vector, d.phash)
        }
    };
    index_products(h, image_id, &vector, phash).await
}

/// Puts every product showing `image_id` into the index with this descriptor.
async fn index_products(
    h: &WorkerHandle,
    image_id: &str,
    vector: &[f32],
    phash: u64,
) -> anyhow::Result<()> {
    let ids = h.db.products_with_image(image_id).await?;
    for p in h.db.get_products(&ids).await? {
        h.index.upsert(p.id, vector, phash, meta(&p, image_id));
    }
    if h.index.needs_graph() {
        let index = h.index.clone();
        tokio::task::spawn_blocking(move || index.build_graph_blocking());
    }
    Ok(())
}
