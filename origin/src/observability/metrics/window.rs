//! Sliding windows behind `/api/performance`: the last five minutes, in ten-second slots.
//!
//! Prometheus answers "what was p95 over the last 5 minutes" only when a Prometheus server
//! scrapes the origin; an operator with nothing but `curl` needs the same figures from the
//! process itself. Keeping every sample is unbounded, and a fixed ring of recent samples
//! measures "the last N requests" rather than a time span, so instead each series keeps
//! [`SLOTS`] slots of [`SLOT_SECS`] seconds; a slot is reset when time comes round to it
//! again, and reading folds the slots still inside the window. Latencies go into a
//! log-spaced histogram ([`LatencyHist`]) whose quantiles are within about 4 % of the true
//! value whatever the traffic, in constant memory per series.
//!
//! Everything here is pure: the caller passes `now` (whole seconds on a monotonic clock), so
//! the tests drive time by hand.

use std::sync::atomic::{AtomicU64, Ordering};

/// Seconds per slot.
pub const SLOT_SECS: u64 = 10;
/// Slots per window: 30 × 10 s = 5 minutes.
pub const SLOTS: usize = 30;
/// The window length in seconds, as reported.
pub const WINDOW_SECS: u64 = SLOT_SECS * SLOTS as u64;

/// Upper bound of the first latency bucket (100 µs); everything faster lands there.
const MIN_SECS: f64 = 0.000_1;
/// Ratio between consecutive bucket bounds: the reported quantile (the geometric middle of
/// its bucket) is within √1.08 − 1 ≈ 4 % of the true one.
const GROWTH: f64 = 1.08;
/// Enough buckets to reach 10 minutes; slower samples share the last bucket.
const BUCKETS: usize = 205;

/// Something a slot can hold: it starts empty and slots fold together.
pub trait Merge: Default {
    fn merge(&mut self, other: &Self);
}

/// A ring of [`SLOTS`] time slots of `T`.
#[derive(Debug, Clone)]
pub struct Rolling<T> {
    /// (slot number since the clock's origin, contents); `u64::MAX` marks a never-used slot.
    slots: Vec<(u64, T)>,
}

impl<T: Merge> Default for Rolling<T> {
    fn default() -> Self {
        Self {
            slots: (0..SLOTS).map(|_| (u64::MAX, T::default())).collect(),
        }
    }
}

impl<T: Merge> Rolling<T> {
    /// The slot for `now_secs`, emptied first if it last held an older period.
    pub fn at(&mut self, now_secs: u64) -> &mut T {
        let epoch = now_secs / SLOT_SECS;
        let slot = &mut self.slots[(epoch % SLOTS as u64) as usize];
        if slot.0 != epoch {
            *slot = (epoch, T::default());
        }
        &mut slot.1
    }

    /// Everything recorded in the window that ends at `now_secs`.
    pub fn total(&self, now_secs: u64) -> T {
        let epoch = now_secs / SLOT_SECS;
        let mut out = T::default();
        for (e, v) in &self.slots {
            if *e != u64::MAX && *e <= epoch && epoch - *e < SLOTS as u64 {
                out.merge(v);
            }
        }
        out
    }
}

/// A log-spaced histogram of durations in seconds, with count, sum, min and max.
#[derive(Debug, Clone, Default)]
pub struct LatencyHist {
    /// Allocated on the first sample, so idle slots cost nothing.
    counts: Vec<u32>,
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
}

fn bucket_of(secs: f64) -> usize {
    if secs.is_nan() || secs <= MIN_SECS {
        return 0;
    }
    let i = ((secs / MIN_SECS).ln() / GROWTH.ln()).ceil();
    (i as usize).min(BUCKETS - 1)
}

/// Lower and upper bound of bucket `i`.
fn bounds(i: usize) -> (f64, f64) {
    if i == 0 {
        (0.0, MIN_SECS)
    } else {
        (
            MIN_SECS * GROWTH.powi(i as i32 - 1),
            MIN_SECS * GROWTH.powi(i as i32),
        )
    }
}

impl LatencyHist {
    pub fn record(&mut self, secs: f64) {
        let secs = if secs.is_finite() { secs.max(0.0) } else { 0.0 };
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS];
        }
        let b = &mut self.counts[bucket_of(secs)];
        *b = b.saturating_add(1);
        if self.count == 0 || secs < self.min {
            self.min = secs;
        }
        if secs > self.max {
            self.max = secs;
        }
        self.count += 1;
        self.sum += secs;
    }

    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }

    /// The `q` quantile (0..=1) in seconds, `None` without samples. Nearest rank: the
    /// smallest value with at least `q` of the samples at or below it, reported as the
    /// geometric middle of its bucket clamped to the observed min and max.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let q = q.clamp(0.0, 1.0);
        let rank = ((q * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (i, c) in self.counts.iter().enumerate() {
            seen += u64::from(*c);
            if seen >= rank {
                if i == BUCKETS - 1 {
                    // The overflow bucket has no upper bound: the max is the best estimate.
                    return Some(self.max);
                }
                let (lo, hi) = bounds(i);
                let mid = if i == 0 { hi / 2.0 } else { (lo * hi).sqrt() };
                return Some(mid.clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }
}

impl Merge for LatencyHist {
    fn merge(&mut self, other: &Self) {
        if other.count == 0 {
            return;
        }
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS];
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a = a.saturating_add(*b);
        }
        if self.count == 0 || other.min < self.min {
            self.min = other.min;
        }
        self.max = self.max.max(other.max);
        self.count += other.count;
        self.sum += other.sum;
    }
}

/// One endpoint's requests in a slot: latencies and how many ended in a 5xx.
#[derive(Debug, Clone, Default)]
pub struct Requests {
    pub latency: LatencyHist,
    pub server_errors: u64,
}

impl Requests {
    pub fn record(&mut self, secs: f64, status: u16) {
        self.latency.record(secs);
        if status >= 500 {
            self.server_errors += 1;
        }
    }
}

impl Merge for Requests {
    fn merge(&mut self, other: &Self) {
        self.latency.merge(&other.latency);
        self.server_errors += other.server_errors;
    }
}

/// Plain event counters; what each field means depends on the series (cache lookups and
/// hits, job outcomes, compressed bytes in and out).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub a: u64,
    pub b: u64,
    pub c: u64,
}

impl Merge for Counts {
    fn merge(&mut self, other: &Self) {
        self.a += other.a;
        self.b += other.b;
        self.c += other.c;
    }
}

/// A lock-free [`Rolling`] of [`Counts`], for paths too hot for a mutex (every cache
/// lookup). A slot is reset by whichever recorder first sees it belongs to an older period;
/// a count racing with that reset may be lost, which a five-minute rate can afford.
#[derive(Debug)]
pub struct AtomicRolling {
    slots: [AtomicSlot; SLOTS],
}

#[derive(Debug)]
struct AtomicSlot {
    epoch: AtomicU64,
    a: AtomicU64,
    b: AtomicU64,
    c: AtomicU64,
}

impl Default for AtomicRolling {
    fn default() -> Self {
        Self {
            slots: std::array::from_fn(|_| AtomicSlot {
                epoch: AtomicU64::new(u64::MAX),
                a: AtomicU64::new(0),
                b: AtomicU64::new(0),
                c: AtomicU64::new(0),
            }),
        }
    }
}

impl AtomicRolling {
    /// Adds `add` to the slot of `now_secs`.
    pub fn add(&self, now_secs: u64, add: Counts) {
        let epoch = now_secs / SLOT_SECS;
        let slot = &self.slots[(epoch % SLOTS as u64) as usize];
        let seen = slot.epoch.load(Ordering::Acquire);
        if seen != epoch
            && slot
                .epoch
                .compare_exchange(seen, epoch, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            slot.a.store(0, Ordering::Relaxed);
            slot.b.store(0, Ordering::Relaxed);
            slot.c.store(0, Ordering::Relaxed);
        }
        for (cell, n) in [(&slot.a, add.a), (&slot.b, add.b), (&slot.c, add.c)] {
            if n > 0 {
                cell.fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    /// Everything recorded in the window that ends at `now_secs`.
    pub fn total(&self, now_secs: u64) -> Counts {
        let epoch = now_secs / SLOT_SECS;
        let mut out = Counts::default();
        for slot in &self.slots {
            let e = slot.epoch.load(Ordering::Acquire);
            if e != u64::MAX && e <= epoch && epoch - e < SLOTS as u64 {
                out.a += slot.a.load(Ordering::Relaxed);
                out.b += slot.b.load(Ordering::Relaxed);
                out.c += slot.c.load(Ordering::Relaxed);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    #[test]
    fn atomic_rolling_matches_rolling() {
        let (atomic, mut plain) = (AtomicRolling::default(), Rolling::<Counts>::default());
        for (t, a, b) in [
            (0, 1, 1),
            (5, 2, 0),
            (15, 1, 1),
            (299, 3, 3),
            (310, 1, 0),
            (700, 4, 2),
        ] {
            let add = Counts { a, b, c: 0 };
            atomic.add(t, add);
            plain.at(t).merge(&add);
            for now in [t, t + 9, t + 200, t + 400] {
                assert_eq!(atomic.total(now), plain.total(now), "t={t} now={now}");
            }
        }
    }
    use super::*;

    #[test]
    fn quantiles_are_within_four_percent() {
        let mut h = LatencyHist::default();
        // 1 ms .. 1000 ms, one sample each.
        for ms in 1..=1000 {
            h.record(ms as f64 / 1000.0);
        }
        for (q, want) in [(0.5, 0.5), (0.95, 0.95), (0.99, 0.99)] {
            let got = h.quantile(q).unwrap();
            assert!((got / want - 1.0).abs() < 0.04, "q{q}: {got} vs {want}");
        }
        assert_eq!(h.count, 1000);
        assert!((h.mean().unwrap() - 0.5005).abs() < 1e-9);
        assert!((h.quantile(1.0).unwrap() - 1.0).abs() < 0.04);
        assert!((h.quantile(0.0).unwrap() / 0.001 - 1.0).abs() < 0.04);
    }

    #[test]
    fn extremes_and_odd_inputs_stay_in_range() {
        let mut h = LatencyHist::default();
        assert_eq!(h.quantile(0.5), None);
        assert_eq!(h.mean(), None);
        h.record(0.0);
        h.record(f64::NAN);
        h.record(-1.0);
        h.record(10_000.0);
        assert_eq!(h.count, 4);
        assert!(h.quantile(0.5).unwrap() <= MIN_SECS);
        assert_eq!(h.quantile(1.0).unwrap(), 10_000.0);
        assert_eq!(h.min, 0.0);
        let single = {
            let mut h = LatencyHist::default();
            h.record(0.123);
            h
        };
        // One sample: every quantile is that sample (clamped to min = max).
        assert_eq!(single.quantile(0.5).unwrap(), 0.123);
    }

    #[test]
    fn slots_expire_after_the_window() {
        let mut r: Rolling<Counts> = Rolling::default();
        r.at(0).a += 1;
        r.at(5).a += 1; // same slot
        r.at(15).a += 10;
        assert_eq!(r.total(20).a, 12);
        // At 299 s the first slot (0..10 s) is still inside the window; at 300 s it is not.
        assert_eq!(r.total(299).a, 12);
        assert_eq!(r.total(300).a, 10);
        assert_eq!(r.total(310).a, 0);
        // A slot reused after a full turn starts empty.
        r.at(305).a += 1;
        assert_eq!(r.total(305).a, 11);
        assert_eq!(r.total(310).a, 1);
        // Reading the past does not see the future.
        let mut r: Rolling<Counts> = Rolling::default();
        r.at(100).a += 1;
        assert_eq!(r.total(50).a, 0);
    }

    #[test]
    fn requests_merge_latency_and_errors() {
        let mut r: Rolling<Requests> = Rolling::default();
        r.at(0).record(0.010, 200);
        r.at(12).record(0.020, 503);
        r.at(25).record(3.0, 200);
        let t = r.total(30);
        assert_eq!(t.latency.count, 3);
        assert_eq!(t.server_errors, 1);
        assert_eq!(t.latency.max, 3.0);
        assert_eq!(t.latency.min, 0.010);
        assert!((t.latency.quantile(0.5).unwrap() / 0.020 - 1.0).abs() < 0.04);
    }
}
