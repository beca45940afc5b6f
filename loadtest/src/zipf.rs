//! A Zipf-distributed choice among `n` ranked items: rank `k` (1-based) is drawn with
//! probability proportional to `1 / k^s`. Shoppers' queries follow such a law (a few
//! head queries, a long tail), which is what makes a search cache worth having; a uniform
//! choice would understate the hit rate and a single query would overstate it.

/// Precomputed cumulative weights; sampling is a binary search.
#[derive(Debug, Clone)]
pub struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    /// `n` items (at least one), exponent `s` (1.0 is the classic law).
    pub fn new(n: usize, s: f64) -> Self {
        let mut total = 0.0;
        let cumulative = (1..=n.max(1))
            .map(|k| {
                total += 1.0 / (k as f64).powf(s);
                total
            })
            .collect();
        Self { cumulative }
    }

    /// The 0-based rank for a uniform `u` in `[0, 1)`.
    pub fn sample(&self, u: f64) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let target = u.clamp(0.0, 1.0) * total;
        self.cumulative
            .partition_point(|c| *c <= target)
            .min(self.cumulative.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_items_dominate_and_every_rank_is_reachable() {
        let z = Zipf::new(100, 1.0);
        let mut counts = [0usize; 100];
        let steps = 100_000;
        for i in 0..steps {
            counts[z.sample((i as f64 + 0.5) / steps as f64)] += 1;
        }
        // H(100) ≈ 5.187: rank 1 gets ≈ 19.3 %, rank 2 half of that, rank 100 ≈ 0.19 %.
        assert!(
            (counts[0] as f64 / steps as f64 - 0.193).abs() < 0.005,
            "{}",
            counts[0]
        );
        assert!((counts[1] as f64 / counts[0] as f64 - 0.5).abs() < 0.02);
        assert!(counts[99] > 0);
        assert_eq!(z.sample(0.0), 0);
        assert_eq!(z.sample(0.999_999), 99);
    }

    #[test]
    fn degenerate_sizes() {
        assert_eq!(Zipf::new(1, 1.0).sample(0.7), 0);
        assert_eq!(Zipf::new(0, 1.0).sample(0.7), 0);
    }
}
