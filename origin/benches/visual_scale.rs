//! The visual index at catalog scale (default 1,000,000 products): memory, build time,
//! k-NN latency and recall@10 against exact full-precision search, for two designs over the
//! same PCA + scalar-quantised codes:
//!
//! - **A, IVF** (what [`VisualIndex`] runs past its exact threshold): k-means lists of `i8`
//!   codes scanned with an integer dot product, the best candidates re-ranked with `i16`
//!   codes of all kept dimensions;
//! - **B, graph**: an HNSW graph (hnsw_rs, L2 over `u8` codes of the same leading
//!   dimensions, which it copies into its own nodes), the same `i16` re-rank.
//!
//! `cargo bench -p vitrine-origin --bench visual_scale` (`BENCH_PRODUCTS`, default 1,000,000;
//! `BENCH_GRAPH_PRODUCTS` for design B, default the same; `BENCH_QUERIES`, default 200).
//! The vectors are built from real ones: the demo catalog's 300 products' embeddings with the
//! default model when it is installed (else their descriptors), mixed and perturbed as the
//! output describes. Prints figures; asserts nothing about time.
#![allow(clippy::unwrap_used, unsafe_code)]

use std::{
    alloc::{GlobalAlloc, Layout, System},
    path::PathBuf,
    sync::atomic::{AtomicUsize, Ordering},
    time::Instant,
};

use hnsw_rs::prelude::{DistL2, Hnsw};
use vitrine_common::thumbnail::pipeline::Limits;
use vitrine_origin::{
    catalog::demo,
    config::default_model_dir,
    search::visual::{
        descriptor::{Embedder, HandcraftedEmbedder},
        index::{IndexConfig, ItemMeta, MetaFilter, VisualIndex, dot, quant::Codec, topk::TopK},
        neural::{NeuralModel, combined::CombinedEmbedder},
    },
};

/// Counts live heap bytes, so memory figures are what is really allocated.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            LIVE.fetch_add(l.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            LIVE.fetch_add(l.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            LIVE.fetch_add(new, Ordering::Relaxed);
            LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn percentiles(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
    (at(0.5), at(0.95), at(0.99))
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn next(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

fn uniform(s: &mut u64) -> f32 {
    (next(s) >> 40) as f32 / (1u64 << 24) as f32 - 0.5
}

/// The generator of catalog vectors (see [`Gen::describe`]).
struct Gen {
    bases: Vec<Vec<f32>>,
    kinds: Vec<usize>,
    same_kind: Vec<Vec<usize>>,
    dirs: Vec<Vec<f32>>,
    spread: f32,
    noise: f32,
    source: String,
}

const DIRECTIONS: usize = 16;

impl Gen {
    fn new(bases: Vec<Vec<f32>>, kinds: Vec<usize>, source: String) -> Self {
        let kinds_n = kinds.iter().max().map_or(1, |k| k + 1);
        let same_kind = (0..kinds_n)
            .map(|k| (0..bases.len()).filter(|&i| kinds[i] == k).collect())
            .collect();
        let mut s = 99u64;
        let dirs = (0..DIRECTIONS)
            .map(|_| {
                let a = &bases[(next(&mut s) % bases.len() as u64) as usize];
                let b = &bases[(next(&mut s) % bases.len() as u64) as usize];
                a.iter().zip(b).map(|(x, y)| x - y).collect()
            })
            .collect();
        Self {
            bases,
            kinds,
            same_kind,
            dirs,
            spread: 0.5,
            noise: 0.05,
            source,
        }
    }

    fn describe(&self) -> String {
        format!(
            "each product: (1 - m)·a + m·b with a one of {} real vectors ({}), b another of its \
             kind, m uniform in [0, 0.5]; plus Σ g_r·d_r over {DIRECTIONS} fixed differences of \
             real vectors, g_r uniform in ±{}/2; plus isotropic noise of norm ≈ {}; normalised",
            self.bases.len(),
            self.source,
            self.spread,
            self.noise
        )
    }

    /// The vector and kind of product `id` (queries use ids past the catalog's).
    fn product(&self, id: u64) -> (Vec<f32>, usize) {
        let mut s = (id + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let i = (next(&mut s) % self.bases.len() as u64) as usize;
        let peers = &self.same_kind[self.kinds[i]];
        let j = peers[(next(&mut s) % peers.len() as u64) as usize];
        let m = uniform(&mut s) + 0.5;
        let m = m * 0.5;
        let dims = self.bases[i].len();
        let mut v: Vec<f32> = self.bases[i]
            .iter()
            .zip(&self.bases[j])
            .map(|(a, b)| (1.0 - m) * a + m * b)
            .collect();
        for d in &self.dirs {
            let g = uniform(&mut s) * self.spread;
            v.iter_mut().zip(d).for_each(|(x, y)| *x += g * y);
        }
        // Uniform in ±0.5 has sd 0.289: scale so the noise vector's norm is ≈ `noise`.
        let per = self.noise / (0.289 * (dims as f32).sqrt());
        v.iter_mut().for_each(|x| *x += uniform(&mut s) * per);
        let n = dot(&v, &v).sqrt();
        v.iter_mut().for_each(|x| *x /= n);
        (v, self.kinds[i])
    }
}

fn meta(id: u64, kind: usize) -> ItemMeta {
    ItemMeta {
        category: format!("Category{kind}"),
        brand: format!("Brand{}", id % 200),
        price: (id % 100_000) as i64,
    }
}

/// The named filters measured, and whether product (id, kind) passes each.
fn filters() -> Vec<(&'static str, MetaFilter)> {
    vec![
        ("none", MetaFilter::default()),
        (
            "category (10%)",
            MetaFilter {
                category: vec!["Category3".into()],
                ..Default::default()
            },
        ),
        (
            "price (60%)",
            MetaFilter {
                price_max: Some(59_999),
                ..Default::default()
            },
        ),
        (
            "brand (0.5%)",
            MetaFilter {
                brand: vec!["Brand17".into()],
                ..Default::default()
            },
        ),
    ]
}

fn admits(f: &MetaFilter, id: u64, kind: usize) -> bool {
    let m = meta(id, kind);
    (f.category.is_empty() || f.category.contains(&m.category))
        && (f.brand.is_empty() || f.brand.contains(&m.brand))
        && f.price_max.is_none_or(|p| m.price <= p)
}

/// The real vectors the catalog is made from.
fn bases() -> (Vec<Vec<f32>>, Vec<usize>, String) {
    let limits = Limits::default();
    let dir = std::env::var("VISUAL_MODEL")
        .ok()
        .filter(|v| v != "descriptor")
        .map(PathBuf::from)
        .unwrap_or_else(|| default_model_dir(std::env::var("VITRINE_TOOLS_DIR").ok().as_deref()));
    let (embedder, source): (Box<dyn Embedder>, String) = match NeuralModel::load(&dir) {
        Ok(m) => (
            Box::new(CombinedEmbedder::new(std::sync::Arc::new(m))),
            "the default model's combined vectors of the demo photos".into(),
        ),
        Err(e) => (
            Box::new(HandcraftedEmbedder),
            format!("descriptors of the demo photos; no model ({e})"),
        ),
    };
    let mut kinds_seen: Vec<String> = Vec::new();
    let (mut vectors, mut kinds) = (Vec::new(), Vec::new());
    for i in 0..demo::DEFAULT_PRODUCTS {
        let photo = demo::render_image(i).unwrap();
        vectors.push(embedder.embed_bytes(&photo, &limits).unwrap().vector);
        let category = demo::product(i).unwrap().category.as_str().to_owned();
        let k = kinds_seen
            .iter()
            .position(|c| *c == category)
            .unwrap_or_else(|| {
                kinds_seen.push(category);
                kinds_seen.len() - 1
            });
        kinds.push(k);
    }
    (vectors, kinds, source)
}

/// Exact top-10 ids per (filter, query), over products `0..n`, and snapshots at `also`.
struct Truth {
    at: Vec<Vec<Vec<i64>>>,
    snapshot: Option<Vec<Vec<Vec<i64>>>>,
}

fn run_queries(
    queries: &[Vec<f32>],
    search: impl Fn(&[f32]) -> Vec<i64>,
    truth: &[Vec<i64>],
) -> ((f64, f64, f64), f64) {
    let mut t = Vec::new();
    let mut agree = 0;
    let mut total = 0;
    for (q, want) in queries.iter().zip(truth) {
        let s = Instant::now();
        let got = search(q);
        t.push(s.elapsed().as_secs_f64() * 1e3);
        agree += got.iter().filter(|id| want.contains(id)).count();
        total += want.len().min(10);
    }
    (percentiles(t), agree as f64 / total.max(1) as f64)
}

/// Products generated, indexed and checked against the queries at a time.
const CHUNK: usize = 8_192;

fn main() {
    let n = env("BENCH_PRODUCTS", 1_000_000);
    // Design B's size ends a chunk of the pass below, where its ground truth is copied.
    let n_graph = env("BENCH_GRAPH_PRODUCTS", n).min(n);
    let n_graph = if n_graph < n {
        n_graph / CHUNK * CHUNK
    } else {
        n
    };
    let q_count = env("BENCH_QUERIES", 200);
    let started = Instant::now();
    let (bases, kinds, source) = bases();
    let dims = bases[0].len();
    let maker = Gen::new(bases, kinds, source);
    println!("data: {n} products x {dims} dims; {}", maker.describe());
    println!(
        "queries: {q_count} new products from the same generator (not in the catalog); k = 10"
    );
    let queries: Vec<Vec<f32>> = (0..q_count)
        .map(|i| maker.product(10_000_000 + i as u64).0)
        .collect();
    let named = filters();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());

    // Design A (the index itself), with the exact ground truth computed on the same pass.
    let before = live();
    let index = VisualIndex::new(dims, IndexConfig::default());
    let mut heaps: Vec<Vec<TopK<f32>>> = named
        .iter()
        .map(|_| (0..q_count).map(|_| TopK::new(10)).collect())
        .collect();
    let mut snapshot = None;
    let (mut insert_s, mut builds_s, mut truth_s) = (0f64, 0f64, 0f64);
    for start in (0..n).step_by(CHUNK) {
        let end = (start + CHUNK).min(n);
        let ids: Vec<u64> = (start as u64..end as u64).collect();
        let per = ids.len().div_ceil(threads);
        let made: Vec<(Vec<f32>, usize)> = std::thread::scope(|s| {
            let hs: Vec<_> = ids
                .chunks(per)
                .map(|c| s.spawn(|| c.iter().map(|&id| maker.product(id)).collect::<Vec<_>>()))
                .collect();
            hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        let t = Instant::now();
        for (id, (v, kind)) in ids.iter().zip(&made) {
            index.upsert(*id as i64, v, *id, meta(*id, *kind));
        }
        insert_s += t.elapsed().as_secs_f64();
        if index.needs_ann() {
            let t = Instant::now();
            index.build_ann_blocking();
            builds_s += t.elapsed().as_secs_f64();
        }
        let t = Instant::now();
        // Ground truth: every query against every vector, split by queries across threads.
        let qper = q_count.div_ceil(threads);
        std::thread::scope(|s| {
            let mut rest: Vec<&mut [TopK<f32>]> =
                heaps.iter_mut().map(|h| h.as_mut_slice()).collect();
            let mut parts: Vec<Vec<&mut [TopK<f32>]>> = Vec::new();
            for _ in 0..threads {
                let mut part = Vec::new();
                for r in rest.iter_mut() {
                    let take = qper.min(r.len());
                    let (a, b) = std::mem::take(r).split_at_mut(take);
                    part.push(a);
                    *r = b;
                }
                parts.push(part);
            }
            for (t, mut part) in parts.into_iter().enumerate() {
                let (named, queries, ids, made) = (&named, &queries, &ids, &made);
                s.spawn(move || {
                    let q0 = t * qper;
                    for (id, (v, kind)) in ids.iter().zip(made) {
                        let pass: Vec<bool> =
                            named.iter().map(|(_, f)| admits(f, *id, *kind)).collect();
                        for qi in 0..part[0].len() {
                            let score = dot(&queries[q0 + qi], v);
                            for (fi, heap) in part.iter_mut().enumerate() {
                                if pass[fi] {
                                    heap[qi].push(score, *id as usize);
                                }
                            }
                        }
                    }
                });
            }
        });
        truth_s += t.elapsed().as_secs_f64();
        if end == n_graph && n_graph < n {
            snapshot = Some(ids_of(&heaps));
        }
    }
    let t = Instant::now();
    index.build_ann_blocking();
    let rebuild_s = t.elapsed().as_secs_f64();
    let truth = Truth {
        at: ids_of(&heaps),
        snapshot,
    };
    drop(heaps);
    let bytes_a = live() - before;
    let m = index.memory();
    println!(
        "ground truth: exact f32 dot products of every query with every product, {truth_s:.0} s"
    );
    println!();
    println!(
        "A, IVF: PCA {dims}->{} (i16 re-rank codes), i8 scan codes of the first {}, lists: √n",
        index.config.ann.dims.min(dims),
        index.config.ann.scan_dims
    );
    println!(
        "  memory at {n}: {:.1} MiB allocated = {:.0} bytes/product (slots {:.0} MiB, id map {:.0} MiB, \
         i16 codes {:.0} MiB, lists+i8 codes {:.0} MiB, PCA {:.1} MiB, full vectors {:.0} MiB); RSS {:.0} MiB",
        bytes_a as f64 / 1048576.0,
        bytes_a as f64 / n as f64,
        m.slots as f64 / 1048576.0,
        m.id_map as f64 / 1048576.0,
        m.fine_codes as f64 / 1048576.0,
        m.lists as f64 / 1048576.0,
        m.model as f64 / 1048576.0,
        m.full_vectors as f64 / 1048576.0,
        rss_mb(),
    );
    println!(
        "  build: inserts (encoding included) {insert_s:.1} s, first fit + list rebuilds on the way \
         {builds_s:.1} s; a full list rebuild at {n}: {rebuild_s:.1} s"
    );
    for (nprobe, rerank) in [(8, 200), (16, 200), (24, 200), (48, 200), (24, 0)] {
        let mut probe = index.clone();
        probe.config.ann.nprobe = nprobe;
        probe.config.ann.rerank = rerank;
        for (fi, (name, f)) in named.iter().enumerate() {
            if (nprobe, rerank) != (24, 200) && fi > 0 {
                continue;
            }
            let ((p50, p95, p99), recall) = run_queries(
                &queries,
                |q| {
                    probe
                        .search(q, 10, f)
                        .iter()
                        .map(|h| h.product_id)
                        .collect()
                },
                &truth.at[fi],
            );
            println!(
                "  nprobe {nprobe:>2}, re-rank {rerank:>3}, filter {name:<15}: k-NN p50 {p50:.2} ms  \
                 p95 {p95:.2} ms  p99 {p99:.2} ms  recall@10 {recall:.3}"
            );
        }
    }

    // Design B: HNSW over u8 codes of the same leading dimensions, re-ranked with i16 codes.
    let codec = index.codec().unwrap();
    let graph_truth = truth.snapshot.as_ref().unwrap_or(&truth.at);
    drop(index);
    if n_graph == 0 {
        println!("B skipped (BENCH_GRAPH_PRODUCTS=0)");
        return;
    }
    design_b(
        &maker,
        &codec,
        n_graph,
        &queries,
        &named,
        graph_truth,
        threads,
    );
    println!("total bench time {:.0} s", started.elapsed().as_secs_f64());
}

fn ids_of(heaps: &[Vec<TopK<f32>>]) -> Vec<Vec<Vec<i64>>> {
    heaps
        .iter()
        .map(|hs| {
            hs.iter()
                .map(|h| h.sorted().into_iter().map(|(_, i)| i as i64).collect())
                .collect()
        })
        .collect()
}

/// Uniformly scaled `u8` codes of the first `scan` centred coordinates (L2 in this space
/// is L2 in the projected one).
fn u8_codes(codec: &Codec, fine: &[i16], scale: f32) -> Vec<u8> {
    codec.decode(fine)[..codec.scan]
        .iter()
        .map(|y| (y / scale * 127.0 + 128.0).round().clamp(0.0, 255.0) as u8)
        .collect()
}

fn design_b(
    maker: &Gen,
    codec: &Codec,
    n: usize,
    queries: &[Vec<f32>],
    named: &[(&'static str, MetaFilter)],
    truth: &[Vec<Vec<i64>>],
    threads: usize,
) {
    let out = codec.out();
    let scale = 4.0 * codec.proj.variance[0].sqrt();
    let t = Instant::now();
    let ids: Vec<u64> = (0..n as u64).collect();
    let per = n.div_ceil(threads);
    let made: Vec<(Vec<i16>, Vec<u8>, usize)> = std::thread::scope(|s| {
        let hs: Vec<_> = ids
            .chunks(per)
            .map(|c| {
                s.spawn(|| {
                    c.iter()
                        .map(|&id| {
                            let (v, kind) = maker.product(id);
                            let mut fine = vec![0i16; out];
                            codec.encode(&v, &mut fine);
                            let code = u8_codes(codec, &fine, scale);
                            (fine, code, kind)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let encode_s = t.elapsed().as_secs_f64();
    let mut fine = Vec::with_capacity(n * out);
    let mut kinds = Vec::with_capacity(n);
    for (f, _, k) in &made {
        fine.extend_from_slice(f);
        kinds.push(*k as u8);
    }
    let before_graph = live();
    let t = Instant::now();
    let hnsw = Hnsw::<u8, DistL2>::new(16, n, 16, 100, DistL2 {});
    let data: Vec<(&[u8], usize)> = made
        .iter()
        .enumerate()
        .map(|(i, (_, c, _))| (c.as_slice(), i))
        .collect();
    hnsw.parallel_insert_slice(&data);
    let mut hnsw = hnsw;
    hnsw.set_searching_mode(true);
    let build_s = t.elapsed().as_secs_f64();
    // The graph's own allocations: all that was allocated since, but the input list.
    let graph_bytes =
        live() - before_graph - data.capacity() * std::mem::size_of::<(&[u8], usize)>();
    let total = graph_bytes + fine.capacity() * 2 + kinds.capacity();
    drop(data);
    drop(made);
    println!();
    println!(
        "B, HNSW (hnsw_rs, M 16, ef_construction 100) over u8 codes of the first {} PCA dims, i16 re-rank",
        codec.scan
    );
    println!(
        "  memory at {n}: graph with its code copies {:.1} MiB, i16 codes {:.1} MiB, kinds {:.1} MiB \
         = {:.0} bytes/product before slots and id map (add A's ≈ 57 bytes/product for those)",
        graph_bytes as f64 / 1048576.0,
        (fine.capacity() * 2) as f64 / 1048576.0,
        kinds.capacity() as f64 / 1048576.0,
        total as f64 / n as f64
    );
    println!("  build: encode {encode_s:.1} s, graph {build_s:.1} s");
    for ef in [64usize, 128] {
        for (fi, (name, f)) in named.iter().enumerate() {
            if ef != 128 && fi > 0 {
                continue;
            }
            let ((p50, p95, p99), recall) = run_queries(
                queries,
                |q| {
                    let mut y = vec![0f32; out];
                    codec.proj.centred(q, &mut y);
                    let code: Vec<u8> = y[..codec.scan]
                        .iter()
                        .map(|y| (y / scale * 127.0 + 128.0).round().clamp(0.0, 255.0) as u8)
                        .collect();
                    let pass = |id: &usize| admits(f, *id as u64, kinds[*id] as usize);
                    let found = if f.is_empty() {
                        hnsw.search(&code, 100, ef.max(100))
                    } else {
                        hnsw.search_filter(&code, 100, ef.max(100) * 4, Some(&pass))
                    };
                    let prepared = codec.query(q);
                    let mut best = TopK::new(10);
                    for nb in found.iter().filter(|nb| pass(&nb.d_id)) {
                        let s = prepared.base
                            + vitrine_origin::search::visual::index::topk::dot_i16(
                                &prepared.fine_w,
                                &fine[nb.d_id * out..(nb.d_id + 1) * out],
                            );
                        best.push(s, nb.d_id);
                    }
                    best.into_sorted()
                        .into_iter()
                        .map(|(_, i)| i as i64)
                        .collect()
                },
                &truth[fi],
            );
            println!(
                "  ef {:>3}, filter {name:<15}: k-NN p50 {p50:.2} ms  p95 {p95:.2} ms  p99 {p99:.2} ms  \
                 recall@10 {recall:.3}",
                ef.max(100)
            );
        }
    }
}
