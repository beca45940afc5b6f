//! Counters for the L1 hit path, striped by thread.
//!
//! Why: an L1 hit is a few hundred nanoseconds of work, and every atomic increment that two
//! cores make on one cache line costs about as much again, because the line bounces between
//! them. A counter split into cache-line-padded stripes, each thread adding to its own, keeps
//! the hit path free of shared writes (the same idea as Java's `LongAdder`); readers, which
//! are rare (`/api/metrics`, `/api/performance`), add the stripes up.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crossbeam_utils::CachePadded;

/// Number of stripes: more than the cores of the machines this runs on, so threads rarely
/// share one.
pub const STRIPES: usize = 16;

/// The stripe of the calling thread: threads are numbered in the order they first ask.
pub fn stripe() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static STRIPE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
    }
    STRIPE.with(|s| *s)
}

/// A monotonic counter split into [`STRIPES`] padded cells.
#[derive(Debug, Default)]
pub struct StripedCounter {
    cells: [CachePadded<AtomicU64>; STRIPES],
}

impl StripedCounter {
    /// Adds `n` on the stripe `stripe` (from [`stripe`]); returns that stripe's new value,
    /// which callers may use to sample every N-th event of a thread.
    pub fn add(&self, stripe: usize, n: u64) -> u64 {
        self.cells[stripe % STRIPES].fetch_add(n, Ordering::Relaxed) + n
    }

    /// The sum over all stripes.
    pub fn sum(&self) -> u64 {
        self.cells.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripes_add_up_across_threads() {
        let c = std::sync::Arc::new(StripedCounter::default());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || {
                    let s = stripe();
                    for _ in 0..1000 {
                        c.add(s, 1);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().expect("thread");
        }
        assert_eq!(c.sum(), 4000);
        assert_eq!(stripe(), stripe(), "a thread keeps its stripe");
    }
}
