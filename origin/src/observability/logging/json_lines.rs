//! The JSON-lines log layer: one JSON object per event, written with one `write` call.
//!
//! Why not tracing-subscriber's own JSON formatter: with the enclosing span attached it keeps
//! the span's fields as a JSON *string* and parses that string back into a map for every
//! event, and it formats the timestamp through `fmt` machinery each time. On a cheap endpoint
//! the access-log line cost more than the handler (the monitoring bench measured it). This
//! layer formats a span's fields once, when the span is created, as a ready-to-paste JSON
//! fragment; an event is then written into a reused per-thread buffer: the cached
//! date-and-second prefix of the timestamp, the level, the event's fields at the top level,
//! the target, and the span fragment under `span`.
//!
//! Shape of a line (the same keys as tracing-subscriber's `json().flatten_event(true)
//! .with_current_span(true)`, so log pipelines see no change):
//! `{"timestamp":"2026-11-28T21:45:21.123456Z","level":"INFO","message":"request finished",
//! "route":"/api/products/{id}",…,"target":"vitrine_origin::routes","span":{"method":"GET",
//! "path":"/api/products/7","request_id":"…","name":"request"}}`

use std::{
    cell::RefCell,
    fmt::{self, Write as _},
    io::Write as _,
    time::{SystemTime, UNIX_EPOCH},
};

use tracing::{
    Event, Subscriber,
    field::{Field, Visit},
    span::{Attributes, Id, Record},
};
use tracing_subscriber::{fmt::MakeWriter, layer::Context, registry::LookupSpan};

/// The layer; `W` makes the writer each line goes to (stdout in production).
pub struct JsonLines<W> {
    make_writer: W,
}

impl<W> JsonLines<W> {
    pub fn new(make_writer: W) -> Self {
        Self { make_writer }
    }
}

/// A span's fields as a JSON fragment without braces: `"a":1,"b":"x"`.
struct SpanFields(String);

impl<S, W> tracing_subscriber::Layer<S> for JsonLines<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = String::with_capacity(96);
        attrs.record(&mut Fields::new(&mut fields));
        span.extensions_mut().insert(SpanFields(fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(SpanFields(fields)) = ext.get_mut::<SpanFields>() {
            values.record(&mut Fields::new(fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        thread_local! {
            static BUFFER: RefCell<String> = RefCell::new(String::with_capacity(512));
        }
        let write = |line: &mut String| {
            line.clear();
            format_event(line, event, &ctx);
            let mut writer = self.make_writer.make_writer_for(event.metadata());
            let _ = writer.write_all(line.as_bytes());
        };
        // An event raised while writing (a writer that logs) gets a buffer of its own.
        BUFFER.with(|b| match b.try_borrow_mut() {
            Ok(mut line) => write(&mut line),
            Err(_) => write(&mut String::new()),
        });
    }
}

fn format_event<S>(line: &mut String, event: &Event<'_>, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let meta = event.metadata();
    line.push_str("{\"timestamp\":\"");
    push_timestamp(line, SystemTime::now());
    line.push_str("\",\"level\":\"");
    line.push_str(meta.level().as_str());
    line.push('"');
    event.record(&mut Fields::after_first(line));
    line.push_str(",\"target\":");
    push_json_str(line, meta.target());
    if let Some(span) = ctx.event_span(event) {
        line.push_str(",\"span\":{");
        if let Some(SpanFields(fields)) = span.extensions().get::<SpanFields>()
            && !fields.is_empty()
        {
            line.push_str(fields);
            line.push(',');
        }
        line.push_str("\"name\":");
        push_json_str(line, span.name());
        line.push('}');
    }
    line.push_str("}\n");
}

/// Writes fields as `"name":value` pairs separated by commas.
struct Fields<'a> {
    out: &'a mut String,
    /// Whether a comma goes before the next pair.
    comma: bool,
}

impl<'a> Fields<'a> {
    /// Appends to `out`, which may already hold pairs (a span recording more fields later).
    fn new(out: &'a mut String) -> Self {
        let comma = !out.is_empty();
        Self { out, comma }
    }

    /// Appends after earlier pairs of an object.
    fn after_first(out: &'a mut String) -> Self {
        Self { out, comma: true }
    }

    fn key(&mut self, field: &Field) {
        if self.comma {
            self.out.push(',');
        }
        self.comma = true;
        push_json_str(self.out, field.name());
        self.out.push(':');
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.key(field);
        push_json_str(self.out, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field);
        let _ = write!(self.out, "{value}");
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.key(field);
        let _ = write!(self.out, "{value}");
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        self.out.push_str(if value { "true" } else { "false" });
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.key(field);
        if value.is_finite() {
            let _ = write!(self.out, "{value}");
        } else {
            // JSON has no NaN or infinity.
            self.out.push_str("null");
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.key(field);
        self.out.push('"');
        let _ = write!(Escaped(self.out), "{value}");
        self.out.push('"');
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.key(field);
        self.out.push('"');
        let _ = write!(Escaped(self.out), "{value:?}");
        self.out.push('"');
    }
}

/// A `fmt::Write` that escapes what it is given for the inside of a JSON string.
struct Escaped<'a>(&'a mut String);

impl fmt::Write for Escaped<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        push_escaped(self.0, s);
        Ok(())
    }
}

/// `s` as a JSON string, quotes included.
pub fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    push_escaped(out, s);
    out.push('"');
}

/// Escapes `"`, `\` and control characters (RFC 8259 §7); everything else is copied in runs.
fn push_escaped(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        // Safe slicing: the bytes matched above are ASCII, so `i` is a char boundary.
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// RFC 3339 in UTC with microseconds. The `YYYY-MM-DDTHH:MM:SS` part changes once a second,
/// so each thread keeps the last one it formatted.
fn push_timestamp(out: &mut String, now: SystemTime) {
    thread_local! {
        static LAST: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != secs {
            last.1.clear();
            push_date_time(&mut last.1, secs);
            last.0 = secs;
        }
        out.push_str(&last.1);
    });
    let _ = write!(out, ".{:06}Z", since.subsec_micros());
}

/// `YYYY-MM-DDTHH:MM:SS` of a Unix time (proleptic Gregorian, UTC).
fn push_date_time(out: &mut String, unix_secs: u64) {
    let days = (unix_secs / 86_400) as i64;
    let rem = unix_secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
}

/// Year, month, day of a count of days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_match_chrono() {
        for secs in [
            0u64,
            951_782_400,   // 2000-02-29
            1_709_164_799, // 2024-02-28T23:59:59
            1_798_000_000,
            4_102_444_800, // 2100-01-01
        ] {
            for micros in [0u32, 1, 999_999] {
                let t = UNIX_EPOCH + std::time::Duration::new(secs, micros * 1000);
                let mut ours = String::new();
                push_timestamp(&mut ours, t);
                let expected = chrono::DateTime::<chrono::Utc>::from(t)
                    .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                    .to_string();
                assert_eq!(ours, expected);
            }
        }
    }

    #[test]
    fn strings_are_escaped_as_json_requires() {
        let raw = "a\"b\\c\nd\re\tf\u{1}g\u{1f}h é ✓";
        let mut out = String::new();
        push_json_str(&mut out, raw);
        let back: String = serde_json::from_str(&out).unwrap_or_default();
        assert_eq!(back, raw);
        assert!(out.contains("\\u0001") && out.contains("\\u001f"), "{out}");
    }
}
