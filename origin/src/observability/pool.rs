//! Connection-pool occupancy as the metrics and the performance report read it (the database
//! module fills it from its pool).

/// Connections of a pool at one moment.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct PoolStats {
    pub open: u32,
    pub idle: u32,
    pub active: u32,
    pub max: u32,
}
