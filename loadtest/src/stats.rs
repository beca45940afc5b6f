//! Per-endpoint results: latencies (every sample, in microseconds), outcomes by status
//! class, and where each response came from (`x-cache`). Keeping every sample is fine for
//! a bounded run (8 bytes × requests) and gives exact percentiles.

use std::{collections::BTreeMap, time::Duration};

/// What one endpoint saw during the run.
#[derive(Debug, Default, Clone)]
pub struct EndpointStats {
    pub latencies_us: Vec<u64>,
    pub ok: u64,
    /// 4xx other than 429.
    pub client_errors: u64,
    pub rate_limited: u64,
    pub server_errors: u64,
    /// Connection errors and timeouts.
    pub failed: u64,
    /// Responses whose `x-cache` said HIT (any tier, `HIT-L1`, `HIT-L2`, the edge's `HIT`
    /// or `STALE`) or that were 304s.
    pub cache_hits: u64,
    /// Responses that carried an `x-cache` header at all (the denominator of the hit rate).
    pub cache_reported: u64,
}

impl EndpointStats {
    pub fn record(&mut self, status: Option<u16>, latency: Duration, x_cache: Option<&str>) {
        self.latencies_us
            .push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
        match status {
            None => self.failed += 1,
            Some(429) => self.rate_limited += 1,
            Some(s) if s >= 500 => self.server_errors += 1,
            Some(s) if s >= 400 => self.client_errors += 1,
            Some(_) => self.ok += 1,
        }
        if status == Some(304) {
            self.cache_hits += 1;
            self.cache_reported += 1;
        } else if let Some(x) = x_cache {
            self.cache_reported += 1;
            let x = x.to_ascii_uppercase();
            if x.starts_with("HIT") || x.starts_with("STALE") {
                self.cache_hits += 1;
            }
        }
    }

    pub fn merge(&mut self, other: EndpointStats) {
        self.latencies_us.extend(other.latencies_us);
        self.ok += other.ok;
        self.client_errors += other.client_errors;
        self.rate_limited += other.rate_limited;
        self.server_errors += other.server_errors;
        self.failed += other.failed;
        self.cache_hits += other.cache_hits;
        self.cache_reported += other.cache_reported;
    }

    pub fn count(&self) -> u64 {
        self.latencies_us.len() as u64
    }
}

/// The `q` quantile (0–1) of sorted samples, nearest-rank.
pub fn quantile(sorted: &[u64], q: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Prints the per-endpoint table and the totals; returns (total req/s, overall p95 in ms,
/// 5xx + failures).
pub fn report(all: &BTreeMap<&'static str, EndpointStats>, elapsed: Duration) -> (f64, f64, u64) {
    let secs = elapsed.as_secs_f64().max(1e-9);
    println!(
        "{:<18} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>6} {:>6} {:>6} {:>9}",
        "endpoint",
        "requests",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "4xx",
        "429",
        "5xx",
        "cache hit"
    );
    let mut total = EndpointStats::default();
    for (name, s) in all {
        let mut sorted = s.latencies_us.clone();
        sorted.sort_unstable();
        print_row(name, s, &sorted, secs);
        total.merge(s.clone());
    }
    let mut sorted = total.latencies_us.clone();
    sorted.sort_unstable();
    print_row("ALL", &total, &sorted, secs);
    let p95 = quantile(&sorted, 0.95).unwrap_or(0) as f64 / 1000.0;
    (
        total.count() as f64 / secs,
        p95,
        total.server_errors + total.failed,
    )
}

fn print_row(name: &str, s: &EndpointStats, sorted: &[u64], secs: f64) {
    let ms = |q: f64| quantile(sorted, q).map_or(0.0, |us| us as f64 / 1000.0);
    let hit = if s.cache_reported == 0 {
        "-".to_owned()
    } else {
        format!(
            "{:.1} %",
            100.0 * s.cache_hits as f64 / s.cache_reported as f64
        )
    };
    println!(
        "{:<18} {:>9} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>8.1} {:>6} {:>6} {:>6} {:>9}",
        name,
        s.count(),
        s.count() as f64 / secs,
        ms(0.50),
        ms(0.95),
        ms(0.99),
        ms(1.0),
        s.client_errors,
        s.rate_limited,
        s.server_errors + s.failed,
        hit
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(quantile(&v, 0.5), Some(50));
        assert_eq!(quantile(&v, 0.95), Some(95));
        assert_eq!(quantile(&v, 0.99), Some(99));
        assert_eq!(quantile(&v, 1.0), Some(100));
        assert_eq!(quantile(&v, 0.0), Some(1));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn outcomes_and_cache_reports() {
        let mut s = EndpointStats::default();
        let d = Duration::from_millis(1);
        s.record(Some(200), d, Some("HIT-L1"));
        s.record(Some(200), d, Some("MISS"));
        s.record(Some(304), d, None);
        s.record(Some(429), d, None);
        s.record(Some(503), d, Some("STALE"));
        s.record(None, d, None);
        s.record(Some(404), d, None);
        assert_eq!(
            (
                s.ok,
                s.rate_limited,
                s.server_errors,
                s.failed,
                s.client_errors
            ),
            (3, 1, 1, 1, 1)
        );
        assert_eq!((s.cache_hits, s.cache_reported), (3, 4));
        assert_eq!(s.count(), 7);
    }
}
