//! Logging: human-readable lines by default, JSON lines when `STRUCTURED_LOGGING=true`,
//! filtered by `LOG_LEVEL` (a level or a full `tracing` filter such as
//! `info,vitrine_origin=debug`).

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::Settings;

/// Installs the global subscriber; a second call (tests) is a no-op.
pub fn init(settings: &Settings) {
    let filter = EnvFilter::try_new(&settings.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = if settings.structured_logging {
        registry
            .with(
                fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init()
    } else {
        registry.with(fmt::layer().with_target(false)).try_init()
    };
    let _ = result;
}
