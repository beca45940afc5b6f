//! The in-memory k-NN index over product vectors.
//!
//! Vectors are unit length, so cosine similarity is a dot product. Two regimes:
//!
//! - **Exact** (up to `exact_threshold` products): every full `f32` vector is kept and
//!   scanned; small catalogs get perfect recall, and at these sizes a scan is fast.
//! - **Compact** (past the threshold): a background build ([`VisualIndex::build_ann_blocking`])
//!   fits a PCA to `ann.dims` dimensions and scalar quantisers on the indexed vectors
//!   ([`quant`]), then keeps per product only `i16` codes of all kept dimensions (for
//!   re-ranking) and, in an inverted file of k-means lists ([`ivf`]), `i8` codes of the
//!   first `ann.scan_dims` (the highest-variance ones). The full vectors are dropped: at
//!   1,000,000 products × 1,568 dimensions they would be 6.3 GB; the codes are about
//!   0.6 KB a product. A query probes the `nprobe` lists nearest it with an integer dot
//!   product, keeps the best `ann.rerank` candidates and re-ranks them with the `i16` codes.
//!
//! Filters are applied inside the scan. A filter that leaves at most `exact_threshold`
//! products is answered by scanning exactly those; a wider one probes more lists (by how
//! selective it is) and keeps probing until `k` matching products are found, so a
//! filtered query always returns `min(k, matching products)` results.
//!
//! Re-training: the projection and quantisers are fitted once, at the first build past the
//! threshold (from a sample of the vectors then indexed; a restart refits them, since the
//! index is loaded again from the stored rows). The lists are re-trained (count ≈ √n) and
//! rebuilt whenever the catalog has doubled since, or tombstones pass a quarter of it;
//! removed products' slots are then reused. Products added between builds are encoded and
//! put into their nearest list at once.

mod build;
pub mod ivf;
pub mod meta;
pub mod pca;
pub mod quant;
pub mod topk;

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use meta::{Interner, Slot, SlotFilter};
pub use meta::{ItemMeta, MetaFilter};
pub use topk::dot;
use topk::{TopK, dot_i8, dot_i16};

/// One result: product id and cosine similarity (estimated from the codes when compact).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub product_id: i64,
    pub score: f32,
}

/// The compact representation, present once trained.
struct Ann {
    codec: Arc<quant::Codec>,
    /// `slots × codec.out()` fine codes.
    fine: Vec<i16>,
    ivf: ivf::Ivf,
    /// Live products when the lists were built.
    built_for: usize,
}

struct Inner {
    dims: usize,
    slots: Vec<Slot>,
    by_product: HashMap<i64, u32>,
    categories: Interner,
    brands: Interner,
    live: usize,
    /// Dead slots still named by a list (compact regime).
    dead_listed: usize,
    /// Slots no product uses, to be reused.
    free: Vec<u32>,
    /// `slots × dims`, while `keep_full`.
    full: Vec<f32>,
    /// Full vectors are kept until the codec has been fitted on `ann.sample` of them (so
    /// with a low threshold the PCA is refitted as the catalog grows; past the default
    /// threshold they are dropped at the first fit).
    keep_full: bool,
    ann: Option<Ann>,
    /// A build runs; slots written meanwhile are listed in `touched`.
    building: bool,
    touched: Vec<u32>,
}

/// Settings of the compact regime.
#[derive(Debug, Clone, Copy)]
pub struct AnnConfig {
    /// Dimensions kept by the PCA (and as `i16` re-rank codes).
    pub dims: usize,
    /// Leading dimensions scanned as `i8` codes.
    pub scan_dims: usize,
    /// Lists probed per query (before widening for filters).
    pub nprobe: usize,
    /// Candidates re-ranked with the fine codes (0: rank by the scan alone).
    pub rerank: usize,
    /// Vectors the PCA and the k-means are fitted on, at most.
    pub sample: usize,
}

impl Default for AnnConfig {
    fn default() -> Self {
        Self {
            dims: 256,
            scan_dims: 128,
            nprobe: 24,
            rerank: 200,
            sample: 16_384,
        }
    }
}

/// Index settings.
#[derive(Debug, Clone, Copy)]
pub struct IndexConfig {
    /// Up to this many products (or matching products), scan exactly.
    pub exact_threshold: usize,
    pub ann: AnnConfig,
}

impl Default for IndexConfig {
    fn default() -> Self {
        Self {
            exact_threshold: 20_000,
            ann: AnnConfig::default(),
        }
    }
}

/// The visual index; cheap to clone.
#[derive(Clone)]
pub struct VisualIndex {
    inner: Arc<RwLock<Inner>>,
    pub config: IndexConfig,
}

impl std::fmt::Debug for VisualIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VisualIndex({} products)", self.len())
    }
}

/// Heap bytes the index holds, by part.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryUse {
    pub slots: usize,
    pub id_map: usize,
    pub full_vectors: usize,
    pub fine_codes: usize,
    pub lists: usize,
    pub model: usize,
}

impl MemoryUse {
    pub fn total(&self) -> usize {
        self.slots + self.id_map + self.full_vectors + self.fine_codes + self.lists + self.model
    }
}

impl Inner {
    fn filter(&self, f: &MetaFilter) -> Option<SlotFilter> {
        SlotFilter::resolve(f, &self.categories, &self.brands)
    }

    fn hits(&self, found: Vec<(f32, usize)>) -> Vec<Hit> {
        found
            .into_iter()
            .map(|(score, slot)| Hit {
                product_id: self.slots[slot].product_id,
                score,
            })
            .collect()
    }

    /// How many live products `f` admits: counted when the slots are few, else estimated
    /// from a strided sample of them (a count reads every slot, ~40 MB at 1,000,000). Only
    /// speed depends on it: both the exact scan and the list walk fill top-k.
    fn matching(&self, f: &SlotFilter) -> usize {
        const SAMPLE: usize = 16_384;
        let stride = (self.slots.len() / SAMPLE).max(1);
        let seen = self
            .slots
            .iter()
            .step_by(stride)
            .filter(|s| f.admits(s))
            .count();
        seen * stride
    }

    /// The slot for a new product: a free one, or a new one at the end.
    fn claim_slot(&mut self, slot: Slot) -> usize {
        let at = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = slot;
                s as usize
            }
            None => {
                ivf::grow(&mut self.slots, 1);
                self.slots.push(slot);
                if let Some(a) = self.ann.as_mut() {
                    let out = a.codec.out();
                    ivf::grow(&mut a.fine, out);
                    a.fine.resize(self.slots.len() * out, 0);
                }
                if self.keep_full {
                    ivf::grow(&mut self.full, self.dims);
                    self.full.resize(self.slots.len() * self.dims, 0.0)
                }
                self.slots.len() - 1
            }
        };
        if self.building {
            self.touched.push(at as u32);
        }
        at
    }

    /// Writes `vector` into `slot` (full while kept, encoded when compact) and, when
    /// compact, lists it.
    fn store(&mut self, slot: usize, vector: &[f32]) {
        let d = self.dims;
        if self.keep_full {
            self.full[slot * d..(slot + 1) * d].copy_from_slice(vector);
        }
        match self.ann.as_mut() {
            None => {}
            Some(a) => {
                let out = a.codec.out();
                let fine = &mut a.fine[slot * out..(slot + 1) * out];
                a.codec.encode(vector, fine);
                let mut codes = vec![0i8; a.codec.scan];
                let mut point = vec![0f32; a.codec.scan];
                a.codec.scan_codes(fine, &mut codes, &mut point);
                let list = a.ivf.nearest(&point);
                a.ivf.push(list, slot, &codes);
            }
        }
    }

    /// Exact top `k` over the slots `f` admits: full vectors, or the fine codes when compact.
    fn exact(
        &self,
        query: &[f32],
        prepared: Option<&quant::Query>,
        k: usize,
        f: &SlotFilter,
    ) -> Vec<Hit> {
        let mut top = TopK::new(k);
        match (&self.ann, prepared) {
            (Some(a), Some(q)) if !self.keep_full => {
                let out = a.codec.out();
                for (slot, s) in self.slots.iter().enumerate() {
                    if f.admits(s) {
                        top.push(
                            q.base + dot_i16(&q.fine_w, &a.fine[slot * out..(slot + 1) * out]),
                            slot,
                        );
                    }
                }
            }
            _ => {
                let d = self.dims;
                for (slot, s) in self.slots.iter().enumerate() {
                    if f.admits(s) {
                        top.push(dot(query, &self.full[slot * d..(slot + 1) * d]), slot);
                    }
                }
            }
        }
        self.hits(top.into_sorted())
    }

    /// The IVF walk: probe lists nearest the query (more for selective filters) until at
    /// least `want` admitted candidates are held, then re-rank them.
    fn probe(
        &self,
        a: &Ann,
        q: &quant::Query,
        k: usize,
        f: &SlotFilter,
        selectivity: f32,
        config: &AnnConfig,
    ) -> Vec<Hit> {
        let order = a.ivf.order(&q.scan_y);
        let nprobe = ((config.nprobe as f32 * selectivity.sqrt()) as usize).clamp(1, order.len());
        let want = config.rerank.max(k);
        let scan = a.codec.scan;
        let mut top: TopK<i32> = TopK::new(want);
        for (probed, &list) in order.iter().enumerate() {
            if probed >= nprobe && top.len() >= k {
                break;
            }
            let l = &a.ivf.lists[list];
            for (slot, codes) in l.slots.iter().zip(l.codes.chunks_exact(scan)) {
                let slot = *slot as usize;
                let score = dot_i8(&q.scan_w, codes);
                if top.would_keep(score) && f.admits(&self.slots[slot]) {
                    top.push(score, slot);
                }
            }
        }
        let out = a.codec.out();
        let mut best = TopK::new(k);
        for (_, slot) in top.into_sorted() {
            best.push(
                q.base + dot_i16(&q.fine_w, &a.fine[slot * out..(slot + 1) * out]),
                slot,
            );
        }
        self.hits(best.into_sorted())
    }
}

impl VisualIndex {
    pub fn new(dims: usize, config: IndexConfig) -> Self {
        Self {
            inner: Arc::new(RwLock::new(Inner {
                dims,
                slots: Vec::new(),
                by_product: HashMap::new(),
                categories: Interner::default(),
                brands: Interner::default(),
                live: 0,
                dead_listed: 0,
                free: Vec::new(),
                full: Vec::new(),
                keep_full: true,
                ann: None,
                building: false,
                touched: Vec::new(),
            })),
            config,
        }
    }

    pub fn len(&self) -> usize {
        self.inner.read().map(|g| g.live).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True once the compact representation (PCA codes and lists) is built.
    pub fn has_ann(&self) -> bool {
        self.inner.read().map(|g| g.ann.is_some()).unwrap_or(false)
    }

    /// Adds or replaces a product's vector. Vectors of the wrong length are refused.
    pub fn upsert(&self, product_id: i64, vector: &[f32], phash: u64, meta: ItemMeta) -> bool {
        let Ok(mut g) = self.inner.write() else {
            return false;
        };
        if vector.len() != g.dims {
            return false;
        }
        let slot = Slot {
            product_id,
            price: meta.price,
            phash,
            category: g.categories.intern(&meta.category),
            brand: g.brands.intern(&meta.brand),
            alive: true,
        };
        let existing = g.by_product.get(&product_id).map(|s| *s as usize);
        if let Some(at) = existing {
            if g.ann.is_none() {
                // Exact regime: overwrite in place.
                g.slots[at] = slot;
                g.store(at, vector);
                if g.building {
                    g.touched.push(at as u32);
                }
                return true;
            }
            // Compact: the old codes stay in their list as a tombstone.
            g.slots[at].alive = false;
            g.dead_listed += 1;
            g.live -= 1;
        }
        let at = g.claim_slot(slot);
        g.store(at, vector);
        g.by_product.insert(product_id, at as u32);
        g.live += 1;
        true
    }

    pub fn remove(&self, product_id: i64) {
        if let Ok(mut g) = self.inner.write()
            && let Some(slot) = g.by_product.remove(&product_id)
        {
            let slot = slot as usize;
            g.slots[slot].alive = false;
            g.live -= 1;
            if g.ann.is_some() {
                g.dead_listed += 1;
            } else {
                g.free.push(slot as u32);
            }
        }
    }

    /// The stored vector of a product: exact in the exact regime, else the vector its codes
    /// stand for (what the index compares against anyway).
    pub fn vector_of(&self, product_id: i64) -> Option<(Vec<f32>, u64)> {
        let g = self.inner.read().ok()?;
        let slot = *g.by_product.get(&product_id)? as usize;
        let vector = match &g.ann {
            _ if g.keep_full => g.full[slot * g.dims..(slot + 1) * g.dims].to_vec(),
            None => Vec::new(),
            Some(a) => {
                let out = a.codec.out();
                a.codec.reconstruct(&a.fine[slot * out..(slot + 1) * out])
            }
        };
        Some((vector, g.slots[slot].phash))
    }

    /// The `k` products most similar to `query` that pass `filter`, best first.
    pub fn search(&self, query: &[f32], k: usize, filter: &MetaFilter) -> Vec<Hit> {
        let Ok(g) = self.inner.read() else {
            return Vec::new();
        };
        if query.len() != g.dims || k == 0 {
            return Vec::new();
        }
        let Some(f) = g.filter(filter) else {
            return Vec::new();
        };
        let matching = if f.empty { g.live } else { g.matching(&f) };
        let prepared = g.ann.as_ref().map(|a| a.codec.query(query));
        match (&g.ann, &prepared) {
            (Some(a), Some(q)) if matching > self.config.exact_threshold => {
                let selectivity = g.live as f32 / matching.max(1) as f32;
                g.probe(a, q, k, &f, selectivity, &self.config.ann)
            }
            _ => g.exact(query, prepared.as_ref(), k, &f),
        }
    }

    /// True when the compact representation should be (re)built: the index is past the
    /// threshold and it is missing, the catalog has doubled since, or tombstones pass a
    /// quarter of the slots. False while a build runs.
    pub fn needs_ann(&self) -> bool {
        let Ok(g) = self.inner.read() else {
            return false;
        };
        if g.live <= self.config.exact_threshold || g.building {
            return false;
        }
        match &g.ann {
            None => true,
            Some(a) => g.dead_listed * 4 > g.slots.len() || g.live > 2 * a.built_for,
        }
    }

    /// Hamming distance between the query hash and a product's hash (duplicate detection).
    pub fn phash_distance(&self, product_id: i64, phash: u64) -> Option<u32> {
        let g = self.inner.read().ok()?;
        let slot = *g.by_product.get(&product_id)? as usize;
        Some((g.slots[slot].phash ^ phash).count_ones())
    }

    /// The fitted codec, once compact (so other structures can be built on the same codes).
    pub fn codec(&self) -> Option<Arc<quant::Codec>> {
        let g = self.inner.read().ok()?;
        g.ann.as_ref().map(|a| a.codec.clone())
    }

    /// Heap bytes the index holds, by part (capacities, so what is really reserved).
    pub fn memory(&self) -> MemoryUse {
        let Ok(g) = self.inner.read() else {
            return MemoryUse::default();
        };
        let (fine_codes, lists, model) = g.ann.as_ref().map_or((0, 0, 0), |a| {
            let p = &a.codec.proj;
            (
                a.fine.capacity() * 2,
                a.ivf.bytes(),
                (p.basis.capacity() + p.mean.capacity()) * 4,
            )
        });
        MemoryUse {
            slots: g.slots.capacity() * std::mem::size_of::<Slot>() + g.free.capacity() * 4,
            // hashbrown: one control byte and one (key, value) per bucket, ≤ 7/8 full.
            id_map: g.by_product.capacity() * 8 / 7 * (1 + 16),
            full_vectors: g.full.capacity() * 4,
            fine_codes,
            lists,
            model,
        }
    }
}

#[cfg(test)]
mod tests;
