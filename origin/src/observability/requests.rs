//! Lightweight in-process request counters for `/api/status` and the health summaries.
//! (Prometheus metrics are declared in `metrics/`; these are the few numbers the health
//! endpoints need without scraping.)

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct RequestStats {
    pub requests: AtomicU64,
    pub server_errors: AtomicU64,
    pub client_errors: AtomicU64,
    /// Sum of request durations in microseconds.
    pub duration_micros: AtomicU64,
}

impl RequestStats {
    pub fn record(&self, status: u16, micros: u64) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.duration_micros.fetch_add(micros, Ordering::Relaxed);
        if status >= 500 {
            self.server_errors.fetch_add(1, Ordering::Relaxed);
        } else if status >= 400 {
            self.client_errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl crate::observability::Snapshot for RequestStats {
    fn snapshot(&self) -> serde_json::Value {
        let requests = self.requests.load(Ordering::Relaxed);
        let micros = self.duration_micros.load(Ordering::Relaxed);
        serde_json::json!({
            "requests": requests,
            "server_errors": self.server_errors.load(Ordering::Relaxed),
            "client_errors": self.client_errors.load(Ordering::Relaxed),
            "mean_duration_ms": if requests == 0 { 0.0 } else { micros as f64 / requests as f64 / 1000.0 },
        })
    }
}
