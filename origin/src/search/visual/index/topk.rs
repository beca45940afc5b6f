//! Dot products the compiler vectorises, and a bounded best-`k` collector.

use std::{cmp::Ordering, collections::BinaryHeap};

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

/// Integer dot product of an `i16` query with `i8` codes (16 lanes of `i32` sums; no
/// overflow while `len · 32767 · 127 < 2³¹`, i.e. up to 516 dimensions).
#[inline]
pub fn dot_i8(q: &[i16], c: &[i8]) -> i32 {
    let mut acc = [0i32; 16];
    let (cq, cc) = (q.chunks_exact(16), c.chunks_exact(16));
    let (rq, rc) = (cq.remainder(), cc.remainder());
    for (x, y) in cq.zip(cc) {
        for i in 0..16 {
            acc[i] += x[i] as i32 * y[i] as i32;
        }
    }
    let mut sum: i32 = acc.iter().sum();
    for (x, y) in rq.iter().zip(rc) {
        sum += *x as i32 * *y as i32;
    }
    sum
}

/// Dot product of an `f32` query with `i16` codes.
#[inline]
pub fn dot_i16(q: &[f32], c: &[i16]) -> f32 {
    let mut acc = [0f32; 8];
    let (cq, cc) = (q.chunks_exact(8), c.chunks_exact(8));
    let (rq, rc) = (cq.remainder(), cc.remainder());
    for (x, y) in cq.zip(cc) {
        for i in 0..8 {
            acc[i] += x[i] * y[i] as f32;
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for (x, y) in rq.iter().zip(rc) {
        sum += x * *y as f32;
    }
    sum
}

#[derive(PartialEq)]
struct MinScored<S>(S, usize);
impl<S: PartialEq> Eq for MinScored<S> {}
impl<S: Score> PartialOrd for MinScored<S> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<S: Score> Ord for MinScored<S> {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: the heap's top is the *worst* kept result. Ties by slot for determinism.
        other.0.order(&self.0).then_with(|| self.1.cmp(&other.1))
    }
}

/// A score the collector can order.
pub trait Score: Copy + PartialEq {
    fn order(&self, other: &Self) -> Ordering;
}
impl Score for f32 {
    fn order(&self, other: &Self) -> Ordering {
        self.total_cmp(other)
    }
}
impl Score for i32 {
    fn order(&self, other: &Self) -> Ordering {
        self.cmp(other)
    }
}

/// Keeps the `k` best `(score, slot)` pairs seen.
pub struct TopK<S: Score> {
    k: usize,
    heap: BinaryHeap<MinScored<S>>,
}

impl<S: Score> TopK<S> {
    pub fn new(k: usize) -> Self {
        Self {
            k,
            heap: BinaryHeap::with_capacity(k + 1),
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// True when a score this good would be kept (so the caller can skip work otherwise).
    #[inline]
    pub fn would_keep(&self, score: S) -> bool {
        self.heap.len() < self.k
            || self
                .heap
                .peek()
                .is_some_and(|w| score.order(&w.0) == Ordering::Greater)
    }

    #[inline]
    pub fn push(&mut self, score: S, slot: usize) {
        if self.heap.len() < self.k {
            self.heap.push(MinScored(score, slot));
        } else if self.would_keep(score) {
            self.heap.pop();
            self.heap.push(MinScored(score, slot));
        }
    }

    /// The kept pairs, best first, keeping them.
    pub fn sorted(&self) -> Vec<(S, usize)> {
        let mut v: Vec<(S, usize)> = self.heap.iter().map(|m| (m.0, m.1)).collect();
        v.sort_by(|a, b| b.0.order(&a.0).then(a.1.cmp(&b.1)));
        v
    }

    /// The kept pairs, best first.
    pub fn into_sorted(self) -> Vec<(S, usize)> {
        let mut v: Vec<(S, usize)> = self.heap.into_iter().map(|m| (m.0, m.1)).collect();
        v.sort_by(|a, b| b.0.order(&a.0).then(a.1.cmp(&b.1)));
        v
    }
}
