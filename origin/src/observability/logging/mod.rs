//! Logging: human-readable lines by default, JSON lines when `STRUCTURED_LOGGING=true`,
//! filtered by `LOG_LEVEL` (a level or a full `tracing` filter such as
//! `info,vitrine_origin=debug`).
//!
//! JSON lines put the event's fields at the top level (`request_id`, `method`, `route`,
//! `status`, `latency_ms`, `message`), so a log pipeline can index them without knowing
//! `tracing`'s nesting; the enclosing request span (with the raw path) follows under `span`.
//! They are written by [`json_lines::JsonLines`], which formats each span's fields once
//! instead of once per event (see there for why).
//!
//! The filter is `tracing_subscriber`'s `Targets` whenever `LOG_LEVEL` is levels and
//! targets only (`info`, `warn,vitrine_origin=debug`), and an `EnvFilter` only when it names
//! spans or fields (`[request{path}]=debug`). Why: an `EnvFilter` takes a process-wide
//! read lock on every span enter, exit and close to look for span-scoped directives, even
//! when it has none; the request span is entered on every poll of every request, so on two
//! cores that lock's cache line bounced between them on each request (the monitoring bench
//! measured it). `Targets` decides once per callsite and has no per-span work.

pub mod json_lines;

use tracing::Subscriber;
use tracing_subscriber::{
    EnvFilter, Layer, Registry, filter::Targets, fmt, fmt::MakeWriter, prelude::*,
    util::SubscriberInitExt,
};

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
    let registry = tracing_subscriber::registry().with(filter(&settings.observability.log_level));
    if settings.observability.structured_logging {
        Box::new(registry.with(json_lines::JsonLines::new(writer)))
    } else {
        Box::new(registry.with(fmt::layer().with_target(false).with_writer(writer)))
    }
}

/// The cheapest filter that means what `log_level` says (see the module docs).
pub fn filter(log_level: &str) -> Box<dyn Layer<Registry> + Send + Sync> {
    let plain = !log_level.contains(['[', '{']);
    match log_level.parse::<Targets>() {
        Ok(targets) if plain => Box::new(targets),
        // Settings::from_lookup has validated LOG_LEVEL as an EnvFilter already.
        _ => Box::new(EnvFilter::try_new(log_level).unwrap_or_else(|_| EnvFilter::new("info"))),
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
        assert_eq!(v["span"]["name"], "request");
        assert_eq!(v["target"], module_path!());
        let ts = v["timestamp"].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(ts).is_ok() && ts.ends_with('Z'),
            "{ts}"
        );
    }

    #[test]
    fn structured_lines_are_valid_json_for_every_field_kind() {
        let settings = Settings::from_lookup(|k| match k {
            "STRUCTURED_LOGGING" => Some("true".into()),
            _ => None,
        })
        .unwrap();
        let buf = Buffer::default();
        let writer = buf.clone();
        tracing::subscriber::with_default(subscriber(&settings, move || writer.clone()), || {
            let span = tracing::info_span!("job", id = 7u64, note = tracing::field::Empty);
            span.record("note", "late \"quoted\"");
            let _entered = span.enter();
            let err = std::io::Error::other("disk\nfull");
            tracing::warn!(
                error = &err as &dyn std::error::Error,
                ratio = f64::NAN,
                negative = -3i64,
                ok = false,
                debug = ?vec!["a\"b"],
                "line with {} and a tab\t",
                "args"
            );
            drop(_entered);
            tracing::info!("outside any span");
        });
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        assert_eq!(lines.len(), 2, "{out}");
        let v = &lines[0];
        assert_eq!(v["level"], "WARN");
        assert_eq!(v["message"], "line with args and a tab\t");
        assert_eq!(v["error"], "disk\nfull");
        assert!(v["ratio"].is_null());
        assert_eq!(v["negative"], -3);
        assert_eq!(v["ok"], false);
        assert_eq!(v["debug"], "[\"a\\\"b\"]");
        assert_eq!(v["span"]["id"], 7);
        assert_eq!(v["span"]["note"], "late \"quoted\"");
        assert_eq!(v["span"]["name"], "job");
        assert!(lines[1].get("span").is_none(), "{}", lines[1]);
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
        // A span directive (EnvFilter only): debug inside `request` spans, warn elsewhere.
        let scoped = capture(&[("LOG_LEVEL", "warn,[request]=debug")]);
        assert_eq!(scoped.len(), 2, "{scoped:?}");
        let other_span = capture(&[("LOG_LEVEL", "warn,[job]=debug")]);
        assert!(other_span.is_empty(), "{other_span:?}");
    }
}
