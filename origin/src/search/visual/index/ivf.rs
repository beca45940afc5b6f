//! The inverted file: k-means centroids in the scan space and, for each, the slots and
//! `i8` scan codes of the products nearest to it, stored contiguously for the scan.

use super::{pca::par_chunks, topk::dot};

#[derive(Debug, Default, Clone)]
pub struct List {
    pub slots: Vec<u32>,
    pub codes: Vec<i8>,
}

#[derive(Debug, Clone)]
pub struct Ivf {
    pub dims: usize,
    /// `lists × dims`, row-major.
    pub centroids: Vec<f32>,
    /// `|c|² / 2` of each centroid (nearest by L2 = largest `p · c − |c|²/2`).
    half_norms: Vec<f32>,
    pub lists: Vec<List>,
}

/// How many lists for `n` products: about √n, at least 8.
pub fn list_count(n: usize) -> usize {
    ((n as f64).sqrt().round() as usize).clamp(8, 8_192)
}

impl Ivf {
    /// Runs k-means (L2, `iterations` rounds) on `points` (`n × dims`) for `k` centroids.
    pub fn train(points: &[f32], dims: usize, k: usize, iterations: usize) -> Self {
        let n = points.len() / dims;
        let k = k.min(n).max(1);
        // Seeds: evenly spaced points of the (shuffled by the caller) sample.
        let mut centroids: Vec<f32> = (0..k)
            .flat_map(|i| points[(i * n / k) * dims..(i * n / k + 1) * dims].to_vec())
            .collect();
        let mut ivf = Self::with_centroids(centroids.clone(), dims);
        for _ in 0..iterations {
            let rows: Vec<&[f32]> = points.chunks_exact(dims).collect();
            let parts = par_chunks(&rows, |rows| {
                let mut sums = vec![0f32; k * dims];
                let mut counts = vec![0usize; k];
                for p in rows {
                    let c = ivf.nearest(p);
                    counts[c] += 1;
                    sums[c * dims..(c + 1) * dims]
                        .iter_mut()
                        .zip(*p)
                        .for_each(|(a, b)| *a += b);
                }
                (sums, counts)
            });
            let mut sums = vec![0f32; k * dims];
            let mut counts = vec![0usize; k];
            for (s, c) in parts {
                sums.iter_mut().zip(s).for_each(|(a, b)| *a += b);
                counts.iter_mut().zip(c).for_each(|(a, b)| *a += b);
            }
            for c in 0..k {
                // An empty cluster keeps its centroid.
                if counts[c] > 0 {
                    for j in 0..dims {
                        centroids[c * dims + j] = sums[c * dims + j] / counts[c] as f32;
                    }
                }
            }
            ivf = Self::with_centroids(centroids.clone(), dims);
        }
        ivf
    }

    fn with_centroids(centroids: Vec<f32>, dims: usize) -> Self {
        let half_norms = centroids
            .chunks_exact(dims)
            .map(|c| dot(c, c) / 2.0)
            .collect();
        let lists = vec![List::default(); centroids.len() / dims];
        Self {
            dims,
            centroids,
            half_norms,
            lists,
        }
    }

    /// The list whose centroid is nearest `point` (L2).
    pub fn nearest(&self, point: &[f32]) -> usize {
        let mut best = (f32::NEG_INFINITY, 0);
        for (i, (c, h)) in self
            .centroids
            .chunks_exact(self.dims)
            .zip(&self.half_norms)
            .enumerate()
        {
            let s = dot(point, c) - h;
            if s > best.0 {
                best = (s, i);
            }
        }
        best.1
    }

    /// Lists by falling inner product of their centroid with the query.
    pub fn order(&self, query: &[f32]) -> Vec<usize> {
        let scores: Vec<f32> = self
            .centroids
            .chunks_exact(self.dims)
            .map(|c| dot(query, c))
            .collect();
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_unstable_by(|a, b| scores[*b].total_cmp(&scores[*a]));
        order
    }

    pub fn push(&mut self, list: usize, slot: usize, codes: &[i8]) {
        let l = &mut self.lists[list];
        grow(&mut l.slots, 1);
        grow(&mut l.codes, codes.len());
        l.slots.push(slot as u32);
        l.codes.extend_from_slice(codes);
    }

    /// Empty lists sized for `counts[i]` entries each.
    pub fn reserve(&mut self, counts: &[usize]) {
        for (l, &n) in self.lists.iter_mut().zip(counts) {
            l.slots.reserve_exact(n);
            l.codes.reserve_exact(n * self.dims);
        }
    }

    /// Heap bytes held (centroids, slot ids, codes).
    pub fn bytes(&self) -> usize {
        self.centroids.capacity() * 4
            + self.half_norms.capacity() * 4
            + self
                .lists
                .iter()
                .map(|l| l.slots.capacity() * 4 + l.codes.capacity() + 48)
                .sum::<usize>()
    }
}

/// Makes room for `more` items, growing by an eighth rather than doubling, so a vector
/// that holds most of the index's memory never reserves twice what it uses.
pub fn grow<T>(v: &mut Vec<T>, more: usize) {
    if v.len() + more > v.capacity() {
        v.reserve_exact(more.max(v.len() / 8).max(16));
    }
}
