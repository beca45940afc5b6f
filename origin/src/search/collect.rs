//! Collectors over fast fields: the sort key of the top results, and the price statistics
//! (range, then histogram) of a query's matches.

use tantivy::{
    DocId, Score, SegmentOrdinal, SegmentReader,
    collector::{Collector, ScoreSegmentTweaker, ScoreTweaker, SegmentCollector},
    columnar::Column,
};
use vitrine_common::api::{PriceBucket, SortOrder};

/// Buckets of the price histogram (fewer when the range has fewer distinct prices).
pub const HISTOGRAM_BUCKETS: i64 = 5;

/// The key results are ranked by (highest first): the sort's own value, then relevance, then
/// the lower product id, so equal keys always come out in the same order and pages never
/// overlap.
pub type SortKey = (i64, Score, i64);

/// Turns a hit's relevance score into its [`SortKey`] for `sort`.
pub struct SortTweaker(pub SortOrder);

pub struct SegmentSort {
    sort: SortOrder,
    price: Column<i64>,
    created: Column<i64>,
    id: Column<u64>,
}

impl ScoreTweaker<SortKey> for SortTweaker {
    type Child = SegmentSort;

    fn segment_tweaker(&self, segment: &SegmentReader) -> tantivy::Result<SegmentSort> {
        let fast = segment.fast_fields();
        Ok(SegmentSort {
            sort: self.0,
            price: fast.i64("price")?,
            created: fast.i64("created")?,
            id: fast.u64("id")?,
        })
    }
}

impl ScoreSegmentTweaker<SortKey> for SegmentSort {
    fn score(&mut self, doc: DocId, score: Score) -> SortKey {
        let id = self.id.first(doc).unwrap_or(u64::MAX).min(i64::MAX as u64) as i64;
        let primary = match self.sort {
            SortOrder::Relevance => 0,
            // Negated so the cheapest is the highest key (prices are never negative).
            SortOrder::PriceAsc => -self.price.first(doc).unwrap_or(i64::MAX),
            SortOrder::PriceDesc => self.price.first(doc).unwrap_or(i64::MIN),
            SortOrder::Newest => self.created.first(doc).unwrap_or(i64::MIN),
        };
        (primary, score, -id)
    }
}

/// The lowest and highest price among the matches (`None` when nothing matches).
pub struct PriceRange;

pub struct SegmentPriceRange {
    price: Column<i64>,
    range: Option<(i64, i64)>,
}

fn widen(range: Option<(i64, i64)>, lo: i64, hi: i64) -> Option<(i64, i64)> {
    Some(match range {
        None => (lo, hi),
        Some((a, b)) => (a.min(lo), b.max(hi)),
    })
}

impl Collector for PriceRange {
    type Fruit = Option<(i64, i64)>;
    type Child = SegmentPriceRange;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        Ok(SegmentPriceRange {
            price: segment.fast_fields().i64("price")?,
            range: None,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Option<(i64, i64)>>) -> tantivy::Result<Self::Fruit> {
        Ok(fruits
            .into_iter()
            .flatten()
            .fold(None, |acc, (lo, hi)| widen(acc, lo, hi)))
    }
}

impl SegmentCollector for SegmentPriceRange {
    type Fruit = Option<(i64, i64)>;

    fn collect(&mut self, doc: DocId, _: Score) {
        if let Some(p) = self.price.first(doc) {
            self.range = widen(self.range, p, p);
        }
    }

    fn harvest(self) -> Self::Fruit {
        self.range
    }
}

/// Equal-width buckets over `[lo, hi]`.
#[derive(Debug, Clone, Copy)]
pub struct Buckets {
    lo: i64,
    hi: i64,
    width: i64,
    count: i64,
}

impl Buckets {
    pub fn new(lo: i64, hi: i64) -> Buckets {
        let span = (hi - lo).saturating_add(1).max(1);
        let count = HISTOGRAM_BUCKETS.min(span);
        let width = (span + count - 1) / count;
        Buckets {
            lo,
            hi,
            width,
            count,
        }
    }

    fn index(&self, price: i64) -> usize {
        ((price - self.lo) / self.width).clamp(0, self.count - 1) as usize
    }

    /// The buckets with their counts.
    pub fn with_counts(&self, counts: &[u64]) -> Vec<PriceBucket> {
        (0..self.count)
            .map(|i| PriceBucket {
                from: self.lo + i * self.width,
                to: if i + 1 == self.count {
                    self.hi
                } else {
                    self.lo + (i + 1) * self.width
                },
                count: counts.get(i as usize).copied().unwrap_or(0),
            })
            .collect()
    }
}

/// How many matches fall in each of the [`Buckets`].
pub struct PriceHistogram(pub Buckets);

pub struct SegmentHistogram {
    buckets: Buckets,
    price: Column<i64>,
    counts: Vec<u64>,
}

impl Collector for PriceHistogram {
    type Fruit = Vec<u64>;
    type Child = SegmentHistogram;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        Ok(SegmentHistogram {
            buckets: self.0,
            price: segment.fast_fields().i64("price")?,
            counts: vec![0; self.0.count as usize],
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<u64>>) -> tantivy::Result<Vec<u64>> {
        let mut total = vec![0; self.0.count as usize];
        for fruit in fruits {
            for (t, n) in total.iter_mut().zip(fruit) {
                *t += n;
            }
        }
        Ok(total)
    }
}

impl SegmentCollector for SegmentHistogram {
    type Fruit = Vec<u64>;

    fn collect(&mut self, doc: DocId, _: Score) {
        if let Some(p) = self.price.first(doc) {
            let i = self.buckets.index(p);
            self.counts[i] += 1;
        }
    }

    fn harvest(self) -> Vec<u64> {
        self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::Buckets;

    #[test]
    fn buckets_cover_the_range_and_the_maximum_falls_in_the_last() {
        let b = Buckets::new(900, 3499);
        let out = b.with_counts(&[1, 2, 3, 4, 5]);
        assert_eq!(out.len(), 5);
        assert_eq!(out[0].from, 900);
        assert_eq!(out[4].to, 3499);
        assert!(out.windows(2).all(|w| w[0].to == w[1].from));
        assert_eq!(b.index(3499), 4);
        assert_eq!(b.index(900), 0);
        let one = Buckets::new(500, 500);
        assert_eq!(one.with_counts(&[3]).len(), 1);
        assert_eq!(Buckets::new(1, 3).with_counts(&[0, 0, 0]).len(), 3);
    }
}
