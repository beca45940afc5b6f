//! Everything the origin reports about itself, in one place:
//!
//! - `metrics/`: the Prometheus registry (`/api/metrics`), the rolling windows and the
//!   performance report (`/api/performance`) built from the same recordings;
//! - `logging/`: the tracing subscriber (text or JSON lines);
//! - `memory.rs`: resident memory against `MEMORY_BUDGET_BYTES`;
//! - `requests.rs`: the few request counters the health endpoints show without scraping;
//! - `snapshot.rs`: the [`Snapshot`] convention every statistics type follows;
//! - `striped.rs`: counters striped across cache lines, for the hot paths;
//! - `cache_labels.rs`, `pool.rs`: label values and readings other modules hand to the metrics.
//!
//! Domain modules record into [`Metrics`]; nothing here imports a domain module, so every
//! layer can report.

pub mod cache_labels;
pub mod logging;
pub mod memory;
pub mod metrics;
pub mod pool;
pub mod requests;
pub mod snapshot;
pub mod striped;

pub use metrics::Metrics;
pub use pool::PoolStats;
pub use requests::RequestStats;
pub use snapshot::Snapshot;
