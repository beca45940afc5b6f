//! Cache analytics: counters by namespace, tier and outcome, and latency histograms.
//!
//! Why plain atomics here and not Prometheus types: the numbers are needed in three places
//! (`/api/health/cache`, `/api/performance`, and the Prometheus exposition that
//! `observability/metrics/` owns). Keeping them as lock-free counters with stable names lets
//! each reader format them its own way, and keeps the `prometheus` crate out of the hot path. Label
//! values are fixed enums (`operation`, `status`, `tier`, `namespace`), never user input.

use std::sync::{
    Arc, OnceLock,
    atomic::{AtomicU64, Ordering},
};

use serde_json::{Value, json};
use vitrine_common::cache_key::Namespace;

pub use crate::observability::cache_labels::{Operation, Status, Tier};
use crate::observability::{
    Metrics,
    striped::{StripedCounter, stripe},
};

/// One L1 hit in this many (per thread) has its latency measured: a hit takes a few hundred
/// nanoseconds, and two clock reads on each would be a good part of it.
const L1_LATENCY_SAMPLE: u64 = 64;

/// Upper bounds of the latency buckets, in seconds (Prometheus `le`), from 10 µs (an L1 hit)
/// to 50 ms (the Redis timeout).
pub const LATENCY_BUCKETS_SECONDS: [f64; 10] = [
    0.000_01, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.05,
];

const NS: usize = Namespace::ALL.len();

/// A cumulative latency histogram (buckets, sum, count), lock-free.
#[derive(Debug, Default)]
pub struct Histogram {
    /// Non-cumulative counts per bucket; the last slot is `+Inf`.
    buckets: [AtomicU64; LATENCY_BUCKETS_SECONDS.len() + 1],
    sum_nanos: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, seconds: f64) {
        let i = LATENCY_BUCKETS_SECONDS
            .iter()
            .position(|le| seconds <= *le)
            .unwrap_or(LATENCY_BUCKETS_SECONDS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos
            .fetch_add((seconds * 1e9) as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Cumulative counts per `le` bound (the last is `+Inf`), sum in seconds, count.
    pub fn snapshot(&self) -> (Vec<(f64, u64)>, f64, u64) {
        let mut cumulative = 0;
        let mut out = Vec::with_capacity(self.buckets.len());
        for (i, b) in self.buckets.iter().enumerate() {
            cumulative += b.load(Ordering::Relaxed);
            let le = LATENCY_BUCKETS_SECONDS
                .get(i)
                .copied()
                .unwrap_or(f64::INFINITY);
            out.push((le, cumulative));
        }
        (
            out,
            self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
            self.count.load(Ordering::Relaxed),
        )
    }

    fn mean_ms(&self) -> f64 {
        let n = self.count.load(Ordering::Relaxed);
        if n == 0 {
            0.0
        } else {
            self.sum_nanos.load(Ordering::Relaxed) as f64 / n as f64 / 1e6
        }
    }
}

/// Every cache counter. Read with the accessor methods or [`CacheStats::snapshot`].
#[derive(Debug, Default)]
pub struct CacheStats {
    /// `[namespace][tier]` gets that found the entry / did not. L1 hits are counted apart,
    /// in `l1_hits`, and added in by the readers.
    hits: [[AtomicU64; 2]; NS],
    /// `[namespace]` L1 hits, striped by thread: the hottest counter of the process.
    l1_hits: [StripedCounter; NS],
    /// `[namespace]` L1 hits already reported to the Prometheus counters.
    l1_hits_reported: [AtomicU64; NS],
    misses: [[AtomicU64; 2]; NS],
    /// `cache_operations_total{operation, status, tier}`.
    operations: [[[AtomicU64; 2]; 5]; 3],
    /// Computations run on a miss (after single-flight: one per key per miss).
    computations: [AtomicU64; NS],
    /// Lookups that bypassed the cache (`CACHE_ENABLED=false`, `use_cache: false`).
    bypassed: AtomicU64,
    /// Invalidations applied (local and received over pub/sub).
    invalidations: AtomicU64,
    remote_invalidations: AtomicU64,
    /// `[tier]` latency of gets and sets.
    get_latency: [Histogram; 2],
    set_latency: [Histogram; 2],
    /// The Prometheus metrics every count is also reported to, once attached.
    metrics: OnceLock<Arc<Metrics>>,
}

impl CacheStats {
    /// Reports every later get and operation to `metrics` as well
    /// (`cache_operations_total`, the hit rates of `/api/performance`).
    pub fn attach_metrics(&self, metrics: Arc<Metrics>) {
        let _ = self.metrics.set(metrics);
    }

    /// One L1 hit (the hot path): a striped counter and the metrics' window of this
    /// thread, with the latency of one hit in [`L1_LATENCY_SAMPLE`] measured from `started`.
    /// The Prometheus counters get these hits at read time ([`CacheStats::report_l1_hits`]).
    pub fn record_l1_hit(&self, ns: Namespace, started: std::time::Instant) {
        let s = stripe();
        let n = self.l1_hits[ns.index()].add(s, 1);
        if let Some(m) = self.metrics.get() {
            m.cache_l1_hit(ns, s);
        }
        if n.is_multiple_of(L1_LATENCY_SAMPLE) {
            self.observe_get(Tier::L1, started.elapsed().as_secs_f64());
        }
    }

    /// Adds the L1 hits counted since the last call to the Prometheus counters; called
    /// before the metrics are read.
    pub fn report_l1_hits(&self) {
        let Some(m) = self.metrics.get() else { return };
        for (hits, reported) in self.l1_hits.iter().zip(&self.l1_hits_reported) {
            let total = hits.sum();
            let before = reported.fetch_max(total, Ordering::AcqRel);
            if total > before {
                m.cache_ops(Operation::Get, Status::Hit, Tier::L1, total - before);
            }
        }
    }

    pub fn record_get(&self, ns: Namespace, tier: Tier, hit: bool) {
        let slot = if hit { &self.hits } else { &self.misses };
        slot[ns.index()][tier.index()].fetch_add(1, Ordering::Relaxed);
        let status = if hit { Status::Hit } else { Status::Miss };
        self.count_op(Operation::Get, status, tier);
        if let Some(m) = self.metrics.get() {
            m.cache_get(ns, tier, hit);
        }
    }

    pub fn record_op(&self, op: Operation, status: Status, tier: Tier) {
        self.count_op(op, status, tier);
        if let Some(m) = self.metrics.get() {
            m.cache_ops(op, status, tier, 1);
        }
    }

    fn count_op(&self, op: Operation, status: Status, tier: Tier) {
        self.operations[op.index()][status.index()][tier.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub fn record_computation(&self, ns: Namespace) {
        self.computations[ns.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub fn record_bypass(&self) {
        self.bypassed.fetch_add(1, Ordering::Relaxed);
    }

    pub fn record_invalidation(&self, remote: bool) {
        self.invalidations.fetch_add(1, Ordering::Relaxed);
        if remote {
            self.remote_invalidations.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn observe_get(&self, tier: Tier, seconds: f64) {
        self.get_latency[tier.index()].observe(seconds);
    }

    pub fn observe_set(&self, tier: Tier, seconds: f64) {
        self.set_latency[tier.index()].observe(seconds);
    }

    /// `cache_operations_total{operation, status, tier}`: every non-zero combination.
    pub fn operations(&self) -> Vec<(Operation, Status, Tier, u64)> {
        let mut out = Vec::new();
        for op in Operation::ALL {
            for status in Status::ALL {
                for tier in Tier::ALL {
                    let mut n = self.operations[op.index()][status.index()][tier.index()]
                        .load(Ordering::Relaxed);
                    if (op, status, tier) == (Operation::Get, Status::Hit, Tier::L1) {
                        n += self.l1_hits.iter().map(StripedCounter::sum).sum::<u64>();
                    }
                    if n > 0 {
                        out.push((op, status, tier, n));
                    }
                }
            }
        }
        out
    }

    pub fn hits(&self, ns: Namespace, tier: Tier) -> u64 {
        let striped = match tier {
            Tier::L1 => self.l1_hits[ns.index()].sum(),
            Tier::L2 => 0,
        };
        self.hits[ns.index()][tier.index()].load(Ordering::Relaxed) + striped
    }

    pub fn misses(&self, ns: Namespace, tier: Tier) -> u64 {
        self.misses[ns.index()][tier.index()].load(Ordering::Relaxed)
    }

    pub fn computations(&self, ns: Namespace) -> u64 {
        self.computations[ns.index()].load(Ordering::Relaxed)
    }

    /// `cache_hit_rate{namespace}`: lookups answered from any tier ÷ lookups, where a
    /// lookup is one read-through call (an L1 miss that hits L2 counts as a hit). `None`
    /// before the first lookup.
    pub fn hit_rate(&self, ns: Option<Namespace>) -> Option<f64> {
        let namespaces: Vec<Namespace> = match ns {
            Some(n) => vec![n],
            None => Namespace::ALL.to_vec(),
        };
        let (mut hits, mut lookups) = (0u64, 0u64);
        for n in namespaces {
            let l1_hit = self.hits(n, Tier::L1);
            let l1_miss = self.misses(n, Tier::L1);
            let l2_hit = self.hits(n, Tier::L2);
            hits += l1_hit + l2_hit;
            lookups += l1_hit + l1_miss;
        }
        (lookups > 0).then(|| hits as f64 / lookups as f64)
    }

    pub fn get_latency(&self, tier: Tier) -> &Histogram {
        &self.get_latency[tier.index()]
    }

    pub fn set_latency(&self, tier: Tier) -> &Histogram {
        &self.set_latency[tier.index()]
    }

    pub fn invalidations(&self) -> (u64, u64) {
        (
            self.invalidations.load(Ordering::Relaxed),
            self.remote_invalidations.load(Ordering::Relaxed),
        )
    }
}

impl crate::observability::Snapshot for CacheStats {
    /// Everything as JSON, for the health and performance pages.
    fn snapshot(&self) -> Value {
        let mut namespaces = serde_json::Map::new();
        for ns in Namespace::ALL {
            let l1h = self.hits(ns, Tier::L1);
            let l1m = self.misses(ns, Tier::L1);
            if l1h + l1m == 0 {
                continue;
            }
            namespaces.insert(
                ns.as_str().to_owned(),
                json!({
                    "l1": { "hits": l1h, "misses": l1m },
                    "l2": { "hits": self.hits(ns, Tier::L2), "misses": self.misses(ns, Tier::L2) },
                    "computations": self.computations(ns),
                    "hit_rate": self.hit_rate(Some(ns)),
                }),
            );
        }
        let operations: Vec<Value> = self
            .operations()
            .into_iter()
            .map(|(op, status, tier, n)| {
                json!({"operation": op.as_str(), "status": status.as_str(), "tier": tier.as_str(), "count": n})
            })
            .collect();
        let (invalidations, remote) = self.invalidations();
        json!({
            "hit_rate": self.hit_rate(None),
            "namespaces": namespaces,
            "operations": operations,
            "bypassed": self.bypassed.load(Ordering::Relaxed),
            "invalidations": invalidations,
            "remote_invalidations": remote,
            "latency_ms": {
                "l1_get_mean": self.get_latency(Tier::L1).mean_ms(),
                "l2_get_mean": self.get_latency(Tier::L2).mean_ms(),
                "l1_set_mean": self.set_latency(Tier::L1).mean_ms(),
                "l2_set_mean": self.set_latency(Tier::L2).mean_ms(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observability::Snapshot;

    #[test]
    fn hit_rate_counts_l2_hits_as_hits() {
        let s = CacheStats::default();
        assert_eq!(s.hit_rate(None), None);
        s.record_get(Namespace::Search, Tier::L1, true);
        s.record_get(Namespace::Search, Tier::L1, false);
        s.record_get(Namespace::Search, Tier::L2, true);
        s.record_get(Namespace::Product, Tier::L1, false);
        s.record_get(Namespace::Product, Tier::L2, false);
        assert_eq!(s.hit_rate(Some(Namespace::Search)), Some(1.0));
        assert_eq!(s.hit_rate(Some(Namespace::Product)), Some(0.0));
        assert_eq!(s.hit_rate(None), Some(2.0 / 3.0));
        let ops = s.operations();
        assert!(ops.contains(&(Operation::Get, Status::Hit, Tier::L1, 1)));
        assert!(ops.contains(&(Operation::Get, Status::Miss, Tier::L2, 1)));
        assert_eq!(s.snapshot()["namespaces"]["search"]["l2"]["hits"], 1);
    }

    #[test]
    fn histogram_is_cumulative() {
        let h = Histogram::default();
        h.observe(0.000_005);
        h.observe(0.003);
        h.observe(9.0);
        let (buckets, sum, count) = h.snapshot();
        assert_eq!(count, 3);
        assert!((sum - 9.003_005).abs() < 1e-6);
        assert_eq!(buckets.first().map(|b| b.1), Some(1));
        assert_eq!(buckets.last().map(|b| b.1), Some(3));
        assert!(buckets.last().is_some_and(|b| b.0.is_infinite()));
    }
}
