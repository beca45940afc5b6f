//! The index's behaviour in both regimes: exact results, filters that fill top-k,
//! updates and removals, and the compact regime's recall against exact search.

use super::*;

fn rng(s: &mut u64) -> f32 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    (*s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
}

fn normalised(mut v: Vec<f32>) -> Vec<f32> {
    let n = dot(&v, &v).sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
}

fn unit(seed: u64, dims: usize) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    normalised((0..dims).map(|_| rng(&mut s)).collect())
}

/// A clustered set: 40 centres in a 12-dimensional subspace of `dims`, each point a centre
/// plus spread inside the subspace and a little noise outside it.
fn clustered(i: u64, dims: usize) -> Vec<f32> {
    let mut s = (i + 1).wrapping_mul(0x2545_f491_4f6c_dd1d) | 1;
    let centre = (i % 40) + 1;
    let mut c = centre.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut v = vec![0f32; dims];
    for (j, x) in v.iter_mut().enumerate() {
        if j < 12 {
            *x = rng(&mut c) * 2.0 + rng(&mut s) * 0.6;
        } else {
            *x = rng(&mut s) * 0.08;
        }
    }
    normalised(v)
}

fn meta(i: i64) -> ItemMeta {
    ItemMeta {
        category: format!("c{}", i % 10),
        brand: format!("b{}", i % 7),
        price: i * 10,
    }
}

fn filled(n: i64, config: IndexConfig) -> VisualIndex {
    let index = VisualIndex::new(32, config);
    for i in 0..n {
        assert!(index.upsert(i, &unit(i as u64, 32), i as u64, meta(i)));
    }
    index
}

/// A low threshold, and full vectors dropped once 1,000 products are indexed.
fn small_threshold(t: usize) -> IndexConfig {
    IndexConfig {
        exact_threshold: t,
        ann: AnnConfig {
            sample: 1_000,
            ..AnnConfig::default()
        },
    }
}

/// The true top `k` by full-precision dot product.
fn brute(vectors: &[Vec<f32>], q: &[f32], k: usize) -> Vec<i64> {
    let mut all: Vec<(f32, i64)> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| (dot(q, v), i as i64))
        .collect();
    all.sort_by(|a, b| b.0.total_cmp(&a.0));
    all.into_iter().take(k).map(|(_, i)| i).collect()
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
fn filtered_queries_fill_top_k_exact_and_compact() {
    for threshold in [100_000, 50] {
        let index = filled(2_000, small_threshold(threshold));
        index.build_ann_blocking();
        assert_eq!(index.has_ann(), threshold == 50);
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
        // 20% of products, past the threshold: the list walk itself must fill top-k.
        let wide = MetaFilter {
            category: vec!["c4".into()],
            ..Default::default()
        };
        let hits = index.search(&unit(9, 32), 150, &wide);
        assert_eq!(hits.len(), 150, "threshold {threshold}");
        assert!(hits.iter().all(|h| h.product_id % 10 == 4));
        let none = MetaFilter {
            brand: vec!["no such brand".into()],
            ..Default::default()
        };
        assert!(index.search(&unit(9, 32), 5, &none).is_empty());
    }
}

#[test]
fn compact_search_agrees_with_exact_search_on_a_clustered_set() {
    let dims = 48;
    let vectors: Vec<Vec<f32>> = (0..6_000).map(|i| clustered(i, dims)).collect();
    let index = VisualIndex::new(dims, small_threshold(500));
    for (i, v) in vectors.iter().enumerate() {
        index.upsert(i as i64, v, 0, meta(i as i64));
    }
    index.build_ann_blocking();
    assert!(index.has_ann());
    let mut agree = 0;
    for q in 0..50u64 {
        let query = clustered(100_000 + q, dims);
        let hits = index.search(&query, 10, &MetaFilter::default());
        assert_eq!(hits.len(), 10);
        let truth = brute(&vectors, &query, 10);
        agree += hits
            .iter()
            .filter(|h| truth.contains(&h.product_id))
            .count();
        // Scores estimate the cosine.
        let best = dot(&query, &vectors[hits[0].product_id as usize]);
        assert!(
            (hits[0].score - best).abs() < 0.02,
            "{} vs {best}",
            hits[0].score
        );
    }
    assert!(agree as f32 / 500.0 >= 0.95, "recall@10 {agree}/500");
    // The compact regime keeps no full vectors, and its codes are far smaller.
    let m = index.memory();
    assert_eq!(m.full_vectors, 0);
    assert!(m.fine_codes + m.lists < 6_000 * dims * 4, "{m:?}");
}

#[test]
fn random_vectors_still_find_themselves_when_compact() {
    let index = filled(3_000, small_threshold(100));
    index.build_ann_blocking();
    assert!(index.has_ann());
    let mut found = 0;
    for q in 0..50u64 {
        let hits = index.search(&unit(q * 31 + 5, 32), 10, &MetaFilter::default());
        found += usize::from(hits.first().map(|h| h.product_id) == Some((q * 31 + 5) as i64));
    }
    assert!(found >= 48, "{found}/50");
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

#[test]
fn updates_and_removals_are_visible_when_compact_and_survive_a_rebuild() {
    let dims = 48;
    let index = VisualIndex::new(dims, small_threshold(300));
    for i in 0..2_000 {
        index.upsert(i, &clustered(i as u64, dims), i as u64, meta(i));
    }
    index.build_ann_blocking();
    assert!(index.has_ann());
    let target = clustered(5_000, dims);
    index.remove(42);
    index.upsert(7, &target, 77, meta(7));
    index.upsert(9_999, &clustered(5_001, dims), 1, meta(9_999));
    assert_eq!(index.len(), 2_000);
    let check = |index: &VisualIndex| {
        let hits = index.search(&target, 5, &MetaFilter::default());
        assert_eq!(hits[0].product_id, 7);
        let all = index.search(&clustered(42, dims), 2_000, &MetaFilter::default());
        assert!(all.iter().all(|h| h.product_id != 42));
        assert_eq!(all.len(), index.len());
        assert_eq!(index.phash_distance(7, 77), Some(0));
        let (v, phash) = index.vector_of(7).unwrap();
        assert_eq!(phash, 77);
        assert!(dot(&v, &target) > 0.99);
        assert!(index.vector_of(42).is_none());
    };
    check(&index);
    // Remove a third: the rebuild drops the tombstones and reuses their slots.
    for i in 1_000..1_700 {
        index.remove(i);
    }
    assert!(index.needs_ann());
    index.build_ann_blocking();
    assert!(!index.needs_ann());
    check(&index);
    let before = index.memory().slots;
    for i in 1_000..1_500 {
        index.upsert(i, &clustered(i as u64, dims), i as u64, meta(i));
    }
    assert_eq!(index.memory().slots, before, "freed slots are reused");
    let hits = index.search(&clustered(1_234, dims), 1, &MetaFilter::default());
    assert_eq!(hits[0].product_id, 1_234);
}

#[test]
fn writes_during_a_build_are_not_lost() {
    let dims = 48;
    let index = VisualIndex::new(dims, small_threshold(300));
    for i in 0..3_000 {
        index.upsert(i, &clustered(i as u64, dims), 0, meta(i));
    }
    let builder = {
        let index = index.clone();
        std::thread::spawn(move || index.build_ann_blocking())
    };
    for i in 3_000..3_400 {
        index.upsert(i, &clustered(i as u64, dims), 0, meta(i));
    }
    index.upsert(5, &clustered(9_000, dims), 0, meta(5));
    builder.join().unwrap();
    assert!(index.has_ann());
    for i in [3_000i64, 3_399] {
        let hits = index.search(&clustered(i as u64, dims), 1, &MetaFilter::default());
        assert_eq!(hits[0].product_id, i);
    }
    let hits = index.search(&clustered(9_000, dims), 1, &MetaFilter::default());
    assert_eq!(hits[0].product_id, 5);
    assert_eq!(index.len(), 3_400);
}

#[test]
fn a_low_threshold_keeps_full_vectors_and_refits_until_the_sample_is_full() {
    let dims = 48;
    let index = VisualIndex::new(dims, small_threshold(20));
    for i in 0..30 {
        index.upsert(i, &clustered(i as u64, dims), 0, meta(i));
    }
    index.build_ann_blocking();
    assert!(index.has_ann());
    assert!(index.memory().full_vectors > 0);
    // Products added after a fit on 30 are still found exactly (full vectors kept)...
    for i in 30..800 {
        index.upsert(i, &clustered(i as u64, dims), 0, meta(i));
    }
    let hits = index.search(&clustered(700, dims), 1, &MetaFilter::default());
    assert_eq!(hits[0].product_id, 700);
    // ...and the refit past the sample size drops them and codes everything well.
    for i in 800..1_200 {
        index.upsert(i, &clustered(i as u64, dims), 0, meta(i));
    }
    assert!(index.needs_ann());
    index.build_ann_blocking();
    assert_eq!(index.memory().full_vectors, 0);
    for i in [5i64, 700, 1_100] {
        let hits = index.search(&clustered(i as u64, dims), 1, &MetaFilter::default());
        assert_eq!(hits[0].product_id, i);
    }
}
