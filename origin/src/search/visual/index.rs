//! The in-memory k-NN index over product descriptors.
//!
//! Vectors are unit length, so cosine similarity is a dot product. Below
//! `exact_threshold` products (and for any filtered query whose matching set is that
//! small) the index scans every vector: exact, and at these sizes faster than a graph walk.
//! Above it, an HNSW graph (hnsw_rs, built in the background so start-up never waits for
//! it; L2 distance, which ranks unit vectors exactly as cosine does) answers, with the filter applied *during* the walk and the beam widened by how
//! selective the filter is; when the graph still returns fewer than `k` matching products,
//! the exact scan over the matching set fills the rest. A filtered query therefore always
//! returns `min(k, matching products)` results, never "3 of the 20 asked".
//!
//! Updates replace a product's slot; removals leave a tombstone that the graph skips. The
//! graph is rebuilt when tombstones pass a quarter of it.

use std::{
    cmp::Ordering,
    collections::{BinaryHeap, HashMap},
    sync::{Arc, RwLock},
};

use hnsw_rs::prelude::{DistL2, Hnsw};

/// What a filter needs to know about a product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemMeta {
    pub category: String,
    pub brand: String,
    pub price: i64,
    pub image_id: String,
}

/// A filter over [`ItemMeta`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetaFilter {
    /// Any of these categories (all when empty).
    pub category: Vec<String>,
    /// Any of these brands (all when empty).
    pub brand: Vec<String>,
    pub price_min: Option<i64>,
    pub price_max: Option<i64>,
    /// A product to leave out (the query product itself, for "similar products").
    pub exclude: Option<i64>,
}

impl MetaFilter {
    pub fn is_empty(&self) -> bool {
        *self == MetaFilter::default()
    }

    fn admits(&self, id: i64, m: &ItemMeta) -> bool {
        self.exclude != Some(id)
            && (self.category.is_empty() || self.category.contains(&m.category))
            && (self.brand.is_empty() || self.brand.contains(&m.brand))
            && self.price_min.is_none_or(|p| m.price >= p)
            && self.price_max.is_none_or(|p| m.price <= p)
    }
}

/// One result: product id and cosine similarity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub product_id: i64,
    pub score: f32,
}

struct Slot {
    product_id: i64,
    meta: ItemMeta,
    phash: u64,
    alive: bool,
}

struct Graph {
    hnsw: Hnsw<'static, f32, DistL2>,
    /// Slots the graph contains (0..covered).
    covered: usize,
}

struct Inner {
    dims: usize,
    vectors: Vec<f32>,
    slots: Vec<Slot>,
    by_product: HashMap<i64, usize>,
    tombstones: usize,
    graph: Option<Arc<Graph>>,
}

/// Index settings.
#[derive(Debug, Clone, Copy)]
pub struct IndexConfig {
    /// Up to this many products (or matching products), scan exactly.
    pub exact_threshold: usize,
    pub hnsw_m: usize,
    pub hnsw_ef_construction: usize,
    pub hnsw_ef_search: usize,
}

impl Default for IndexConfig {
    fn default() -> Self {
        Self {
            exact_threshold: 20_000,
            hnsw_m: 16,
            hnsw_ef_construction: 100,
            hnsw_ef_search: 96,
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

/// Dot product written so LLVM vectorises it (8 independent accumulators).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        sum += x * y;
    }
    sum
}

#[derive(PartialEq)]
struct MinScored(f32, usize);
impl Eq for MinScored {}
impl PartialOrd for MinScored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for MinScored {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: the heap's top is the *worst* kept result. Ties by slot for determinism.
        other
            .0
            .total_cmp(&self.0)
            .then_with(|| self.1.cmp(&other.1))
    }
}

impl VisualIndex {
    pub fn new(dims: usize, config: IndexConfig) -> Self {
        Self {
            inner: Arc::new(RwLock::new(Inner {
                dims,
                vectors: Vec::new(),
                slots: Vec::new(),
                by_product: HashMap::new(),
                tombstones: 0,
                graph: None,
            })),
            config,
        }
    }

    pub fn len(&self) -> usize {
        self.inner
            .read()
            .map(|g| g.slots.len() - g.tombstones)
            .unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn has_graph(&self) -> bool {
        self.inner
            .read()
            .map(|g| g.graph.is_some())
            .unwrap_or(false)
    }

    /// Adds or replaces a product's vector. Vectors of the wrong length are refused.
    pub fn upsert(&self, product_id: i64, vector: &[f32], phash: u64, meta: ItemMeta) -> bool {
        let Ok(mut g) = self.inner.write() else {
            return false;
        };
        if vector.len() != g.dims {
            return false;
        }
        if let Some(&slot) = g.by_product.get(&product_id) {
            if g.slots[slot].alive && g.graph.as_ref().is_none_or(|gr| slot >= gr.covered) {
                // Not in the graph yet: overwrite in place.
                let d = g.dims;
                g.vectors[slot * d..(slot + 1) * d].copy_from_slice(vector);
                g.slots[slot].meta = meta;
                g.slots[slot].phash = phash;
                return true;
            }
            if g.slots[slot].alive {
                g.slots[slot].alive = false;
                g.tombstones += 1;
            }
        }
        let slot = g.slots.len();
        g.vectors.extend_from_slice(vector);
        g.slots.push(Slot {
            product_id,
            meta,
            phash,
            alive: true,
        });
        g.by_product.insert(product_id, slot);
        true
    }

    pub fn remove(&self, product_id: i64) {
        if let Ok(mut g) = self.inner.write()
            && let Some(slot) = g.by_product.remove(&product_id)
            && g.slots[slot].alive
        {
            g.slots[slot].alive = false;
            g.tombstones += 1;
        }
    }

    /// The stored vector of a product.
    pub fn vector_of(&self, product_id: i64) -> Option<(Vec<f32>, u64)> {
        let g = self.inner.read().ok()?;
        let slot = *g.by_product.get(&product_id)?;
        let d = g.dims;
        Some((
            g.vectors[slot * d..(slot + 1) * d].to_vec(),
            g.slots[slot].phash,
        ))
    }

    /// The `k` products most similar to `query` that pass `filter`, best first.
    pub fn search(&self, query: &[f32], k: usize, filter: &MetaFilter) -> Vec<Hit> {
        let Ok(g) = self.inner.read() else {
            return Vec::new();
        };
        if query.len() != g.dims || k == 0 {
            return Vec::new();
        }
        let live = g.slots.len() - g.tombstones;
        let matching = if filter.is_empty() {
            live
        } else {
            g.slots
                .iter()
                .filter(|s| s.alive && filter.admits(s.product_id, &s.meta))
                .count()
        };
        let Some(graph) = g
            .graph
            .clone()
            .filter(|_| matching > self.config.exact_threshold)
        else {
            return exact(&g, query, k, filter, 0..g.slots.len());
        };
        // Graph walk with the filter applied inside it; widen the beam for selective filters.
        let selectivity = (live as f32 / matching.max(1) as f32).min(50.0);
        let ef = ((self.config.hnsw_ef_search.max(k * 2)) as f32 * selectivity) as usize;
        let admits = |slot: &usize| {
            g.slots
                .get(*slot)
                .is_some_and(|s| s.alive && filter.admits(s.product_id, &s.meta))
        };
        let found = graph.hnsw.search_filter(query, k, ef, Some(&admits));
        let mut hits: Vec<Hit> = found
            .iter()
            .filter(|n| admits(&n.d_id))
            .map(|n| {
                let slot = n.d_id;
                let d = g.dims;
                Hit {
                    product_id: g.slots[slot].product_id,
                    score: dot(query, &g.vectors[slot * d..(slot + 1) * d]),
                }
            })
            .collect();
        // Slots added after the graph was built are scanned exactly and merged.
        if graph.covered < g.slots.len() {
            hits.extend(exact(&g, query, k, filter, graph.covered..g.slots.len()));
        }
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(a.product_id.cmp(&b.product_id))
        });
        hits.dedup_by_key(|h| h.product_id);
        hits.truncate(k);
        if hits.len() < k.min(matching) {
            return exact(&g, query, k, filter, 0..g.slots.len());
        }
        hits
    }

    /// Builds (or rebuilds) the HNSW graph over the current slots when the index is large
    /// enough. Blocking and CPU-heavy: run it on a blocking thread.
    pub fn build_graph_blocking(&self) {
        let (vectors, dims, count) = {
            let Ok(g) = self.inner.read() else { return };
            if g.slots.len() - g.tombstones <= self.config.exact_threshold {
                return;
            }
            (g.vectors.clone(), g.dims, g.slots.len())
        };
        let hnsw = Hnsw::<f32, DistL2>::new(
            self.config.hnsw_m,
            count,
            16,
            self.config.hnsw_ef_construction,
            DistL2 {},
        );
        let data: Vec<(&[f32], usize)> = (0..count)
            .map(|slot| (&vectors[slot * dims..(slot + 1) * dims], slot))
            .collect();
        hnsw.parallel_insert_slice(&data);
        let mut hnsw = hnsw;
        hnsw.set_searching_mode(true);
        if let Ok(mut g) = self.inner.write() {
            g.graph = Some(Arc::new(Graph {
                hnsw,
                covered: count,
            }));
        }
    }

    /// True when the graph is missing (for a large index) or carries many tombstones.
    pub fn needs_graph(&self) -> bool {
        let Ok(g) = self.inner.read() else {
            return false;
        };
        let live = g.slots.len() - g.tombstones;
        if live <= self.config.exact_threshold {
            return false;
        }
        match &g.graph {
            None => true,
            Some(graph) => {
                g.tombstones * 4 > g.slots.len() || g.slots.len() - graph.covered > 5_000
            }
        }
    }

    /// Hamming distance between the query hash and a product's hash (duplicate detection).
    pub fn phash_distance(&self, product_id: i64, phash: u64) -> Option<u32> {
        let g = self.inner.read().ok()?;
        let slot = *g.by_product.get(&product_id)?;
        Some((g.slots[slot].phash ^ phash).count_ones())
    }
}

fn exact(
    g: &Inner,
    query: &[f32],
    k: usize,
    filter: &MetaFilter,
    range: std::ops::Range<usize>,
) -> Vec<Hit> {
    let d = g.dims;
    let mut heap: BinaryHeap<MinScored> = BinaryHeap::with_capacity(k + 1);
    let filtered = !filter.is_empty();
    for slot in range {
        let s = &g.slots[slot];
        if !s.alive || (filtered && !filter.admits(s.product_id, &s.meta)) {
            continue;
        }
        let score = dot(query, &g.vectors[slot * d..(slot + 1) * d]);
        if heap.len() < k {
            heap.push(MinScored(score, slot));
        } else if let Some(worst) = heap.peek()
            && score > worst.0
        {
            heap.pop();
            heap.push(MinScored(score, slot));
        }
    }
    let mut hits: Vec<Hit> = heap
        .into_iter()
        .map(|MinScored(score, slot)| Hit {
            product_id: g.slots[slot].product_id,
            score,
        })
        .collect();
    hits.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.product_id.cmp(&b.product_id))
    });
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(seed: u64, dims: usize) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut v: Vec<f32> = (0..dims)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s % 10_000) as f32 / 10_000.0 - 0.5
            })
            .collect();
        let n = dot(&v, &v).sqrt();
        v.iter_mut().for_each(|x| *x /= n);
        v
    }

    fn meta(i: i64) -> ItemMeta {
        ItemMeta {
            category: format!("c{}", i % 10),
            brand: format!("b{}", i % 7),
            price: i * 10,
            image_id: String::new(),
        }
    }

    fn filled(n: i64, config: IndexConfig) -> VisualIndex {
        let index = VisualIndex::new(32, config);
        for i in 0..n {
            assert!(index.upsert(i, &unit(i as u64, 32), i as u64, meta(i)));
        }
        index
    }

    #[test]
    fn exact_search_finds_the_vector_itself_first() {
        let index = filled(500, IndexConfig::default());
        let hits = index.search(&unit(42, 32), 5, &MetaFilter::default());
        assert_eq!(hits[0].product_id, 42);
        assert!((hits[0].score - 1.0).abs() < 1e-4);
        assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    }

    #[test]
    fn filtered_queries_fill_top_k_exact_and_graph() {
        for threshold in [100_000, 50] {
            let config = IndexConfig {
                exact_threshold: threshold,
                ..IndexConfig::default()
            };
            let index = filled(2_000, config);
            index.build_graph_blocking();
            assert_eq!(index.has_graph(), threshold == 50);
            let filter = MetaFilter {
                category: vec!["c3".into()],
                brand: vec!["b2".into()],
                ..Default::default()
            };
            // c3 ∧ b2: i ≡ 3 (mod 10) and i ≡ 2 (mod 7) → 2000/70 ≈ 28 products.
            let hits = index.search(&unit(7, 32), 20, &filter);
            assert_eq!(hits.len(), 20, "threshold {threshold}");
            assert!(
                hits.iter()
                    .all(|h| h.product_id % 10 == 3 && h.product_id % 7 == 2)
            );
            let price = MetaFilter {
                price_max: Some(500),
                ..Default::default()
            };
            let hits = index.search(&unit(7, 32), 100, &price);
            assert_eq!(hits.len(), 51);
        }
    }

    #[test]
    fn graph_search_agrees_with_exact_search() {
        let config = IndexConfig {
            exact_threshold: 100,
            ..IndexConfig::default()
        };
        let index = filled(3_000, config);
        index.build_graph_blocking();
        let mut agree = 0;
        for q in 0..50u64 {
            let hits = index.search(&unit(q * 31 + 5, 32), 10, &MetaFilter::default());
            let exact_hits = {
                let g = index.inner.read().unwrap();
                exact(
                    &g,
                    &unit(q * 31 + 5, 32),
                    10,
                    &MetaFilter::default(),
                    0..g.slots.len(),
                )
            };
            agree += hits
                .iter()
                .filter(|h| exact_hits.iter().any(|e| e.product_id == h.product_id))
                .count();
        }
        // Recall@10 of the graph against exact search.
        assert!(agree as f32 / 500.0 > 0.9, "{agree}");
    }

    #[test]
    fn updates_and_removals_are_visible() {
        let index = filled(100, IndexConfig::default());
        index.remove(42);
        let hits = index.search(&unit(42, 32), 3, &MetaFilter::default());
        assert!(hits.iter().all(|h| h.product_id != 42));
        index.upsert(7, &unit(42, 32), 0, meta(7));
        let hits = index.search(&unit(42, 32), 1, &MetaFilter::default());
        assert_eq!(hits[0].product_id, 7);
        assert_eq!(index.len(), 99);
        assert!(!index.upsert(8, &[1.0, 0.0], 0, meta(8)));
    }
}
