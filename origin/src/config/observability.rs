//! Metrics and logs: whether they are recorded and exported, the log format and level, and
//! the memory budget the memory alert compares against.

use super::{
    ConfigError, err,
    parse::{Lookup, parse_bool, parse_bytes_str, parse_with},
};

#[derive(Debug, Clone)]
pub struct ObservabilitySettings {
    /// `MONITORING_ENABLED`: record metrics and the `/api/performance` windows.
    pub monitoring_enabled: bool,
    /// `PROMETHEUS_ENABLED`: serve `/api/metrics`.
    pub prometheus_enabled: bool,
    /// `STRUCTURED_LOGGING`: JSON lines instead of text.
    pub structured_logging: bool,
    /// `LOG_LEVEL`: a level or an `EnvFilter` directive.
    pub log_level: String,
    /// `MEMORY_BUDGET_BYTES`: memory this instance should stay within, exported as
    /// `vitrine_memory_budget_bytes` for the memory alert; 0 means no budget.
    pub memory_budget_bytes: u64,
}

impl ObservabilitySettings {
    pub(super) fn from_lookup(get: &impl Lookup) -> Result<Self, ConfigError> {
        let log_level = get("LOG_LEVEL").unwrap_or_else(|| "info".into());
        tracing_subscriber::EnvFilter::try_new(&log_level)
            .map_err(|e| err("LOG_LEVEL", format!("not a valid level or filter: {e}")))?;
        Ok(Self {
            monitoring_enabled: parse_bool(get, "MONITORING_ENABLED", true)?,
            prometheus_enabled: parse_bool(get, "PROMETHEUS_ENABLED", true)?,
            structured_logging: parse_bool(get, "STRUCTURED_LOGGING", false)?,
            log_level,
            memory_budget_bytes: parse_with(
                get,
                "MEMORY_BUDGET_BYTES",
                Some(1 << 30),
                parse_bytes_str,
            )?,
        })
    }
}
