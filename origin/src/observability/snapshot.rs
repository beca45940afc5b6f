//! One convention for the counters that health and status endpoints show: a type that keeps
//! statistics implements [`Snapshot`], and the endpoint embeds its JSON. (Prometheus metrics
//! are the other reader of the same numbers; they go through `metrics/`.)

/// A point-in-time JSON view of a set of counters, cheap enough to take on every request to a
/// health endpoint.
pub trait Snapshot {
    fn snapshot(&self) -> serde_json::Value;
}
