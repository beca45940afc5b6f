//! Logging: human-readable lines by default, JSON lines when `STRUCTURED_LOGGING=true`,
//! filtered by `LOG_LEVEL` (a level or a full `tracing` filter such as
//! `info,vitrine_origin=debug`).
//!
//! JSON lines put the event's fields at the top level (`request_id`, `method`, `route`,
//! `status`, `latency_ms`, `message`), so a log pipeline can index them without knowing
//! `tracing`'s nesting; the enclosing request span (with the raw path) follows under `span`.

use tracing::Subscriber;
use tracing_subscriber::{EnvFilter, fmt, fmt::MakeWriter, prelude::*, util::SubscriberInitExt};

use crate::config::Settings;

/// Installs the global subscriber writing to stdout; a second call (tests) is a no-op.
pub fn init(settings: &Settings) {
    let _ = subscriber(settings, std::io::stdout).try_init();
}

/// The subscriber `init` installs, writing to `writer` (tests capture the lines).
pub fn subscriber<W>(settings: &Settings, writer: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    // Settings::from_lookup has validated LOG_LEVEL already.
    let filter = EnvFilter::try_new(&settings.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    if settings.structured_logging {
        Box::new(
            registry.with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(writer),
            ),
        )
    } else {
        Box::new(registry.with(fmt::layer().with_target(false).with_writer(writer)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::{
        io::Write,
        sync::{Arc, Mutex},
    };

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn capture(pairs: &[(&str, &str)]) -> Vec<String> {
        let env: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let settings = Settings::from_lookup(|k| env.get(k).cloned()).unwrap();
        let buf = Buffer::default();
        let writer = buf.clone();
        tracing::subscriber::with_default(subscriber(&settings, move || writer.clone()), || {
            let span = tracing::info_span!("request", path = "/api/products/7", request_id = "r-1");
            let _entered = span.enter();
            tracing::info!(
                method = "GET",
                route = "/api/products/{id}",
                status = 200u16,
                latency_ms = 1.5,
                request_id = "r-1",
                "request finished"
            );
            tracing::debug!("a debug line");
        });
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        out.lines().map(str::to_owned).collect()
    }

    #[test]
    fn structured_lines_carry_request_fields_at_the_top_level() {
        let lines = capture(&[("STRUCTURED_LOGGING", "true"), ("LOG_LEVEL", "info")]);
        assert_eq!(lines.len(), 1, "{lines:?}");
        let v: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(v["message"], "request finished");
        assert_eq!(v["request_id"], "r-1");
        assert_eq!(v["route"], "/api/products/{id}");
        assert_eq!(v["status"], 200);
        assert_eq!(v["latency_ms"], 1.5);
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["span"]["path"], "/api/products/7");
        assert!(v["timestamp"].is_string());
    }

    #[test]
    fn log_level_is_honoured() {
        let debug = capture(&[("STRUCTURED_LOGGING", "true"), ("LOG_LEVEL", "debug")]);
        assert_eq!(debug.len(), 2, "{debug:?}");
        let warn = capture(&[("STRUCTURED_LOGGING", "true"), ("LOG_LEVEL", "warn")]);
        assert!(warn.is_empty(), "{warn:?}");
        let filtered = capture(&[("LOG_LEVEL", "info,vitrine_origin=debug")]);
        assert_eq!(filtered.len(), 2, "{filtered:?}");
        assert!(filtered[0].contains("request finished") && !filtered[0].starts_with('{'));
    }
}
