//! When a periodic job (`jobs::schedule`) is due: a fixed interval aligned to the Unix epoch,
//! or a cron expression (UTC, seconds optional). Settings name one per scheduled job, so the
//! type lives with them. Pure: every function takes the time it reasons about.
//!
//! Both kinds answer the same two questions, in milliseconds since the epoch:
//! [`Cadence::due_at`] (the latest occurrence at or before a moment: the run that instant
//! owes) and [`Cadence::next_after`] (what the console shows as the next run). Intervals are
//! aligned to the epoch rather than to an instance's start, so every instance computes the
//! same occurrences without talking to the others.

use std::{str::FromStr, time::Duration};

use chrono::{DateTime, Utc};
use vitrine_common::error::InvalidInput;

/// The shortest interval accepted (the scheduler looks once a second).
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub enum Cadence {
    /// Every `d`, at multiples of `d` since the epoch.
    Every(Duration),
    /// A cron expression (5 fields, or 6 with seconds first), in UTC.
    Cron {
        cron: Box<croner::Cron>,
        text: String,
    },
}

impl Cadence {
    /// `every 30s` / `@every 1h` (any duration `config` accepts), or a cron expression such as
    /// `17 * * * *` or `*/10 * * * * *`. `field` names the setting in the error.
    pub fn parse(raw: &str, field: &'static str) -> Result<Self, InvalidInput> {
        let raw = raw.trim();
        let every = raw
            .strip_prefix("@every ")
            .or_else(|| raw.strip_prefix("every "));
        if let Some(d) = every {
            let d = super::parse::parse_duration_str(d.trim())
                .map_err(|e| InvalidInput::new(field, e))?;
            return Self::every(d, field);
        }
        let cron = croner::Cron::from_str(raw).map_err(|e| {
            InvalidInput::new(
                field,
                format!("neither `every <duration>` nor a cron expression: {e}"),
            )
        })?;
        Ok(Self::Cron {
            cron: Box::new(cron),
            text: raw.to_owned(),
        })
    }

    pub fn every(d: Duration, field: &'static str) -> Result<Self, InvalidInput> {
        if d < MIN_INTERVAL {
            return Err(InvalidInput::new(field, "must be at least 1s"));
        }
        Ok(Self::Every(d))
    }

    /// The latest occurrence at or before `now_ms` (`None`: the expression never matches).
    pub fn due_at(&self, now_ms: i64) -> Option<i64> {
        match self {
            Cadence::Every(d) => {
                let step = d.as_millis().min(i64::MAX as u128) as i64;
                Some(now_ms - now_ms.rem_euclid(step))
            }
            Cadence::Cron { cron, .. } => {
                // Cron's unit is the second: look from the start of this one.
                let now = DateTime::<Utc>::from_timestamp(now_ms.div_euclid(1000), 0)?;
                cron.find_previous_occurrence(&now, true)
                    .ok()
                    .map(|t| t.timestamp() * 1000)
            }
        }
    }

    /// The first occurrence after `now_ms`.
    pub fn next_after(&self, now_ms: i64) -> Option<i64> {
        match self {
            Cadence::Every(d) => {
                let step = d.as_millis().min(i64::MAX as u128) as i64;
                self.due_at(now_ms).map(|due| due.saturating_add(step))
            }
            Cadence::Cron { cron, .. } => {
                let now = DateTime::<Utc>::from_timestamp(now_ms.div_euclid(1000), 0)?;
                cron.find_next_occurrence(&now, false)
                    .ok()
                    .map(|t| t.timestamp() * 1000)
            }
        }
    }

    /// As stored and shown: `every 3600s` or the cron expression.
    pub fn describe(&self) -> String {
        match self {
            Cadence::Every(d) => format!("every {}s", d.as_secs_f64()),
            Cadence::Cron { text, .. } => text.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_764_892_800_000; // 2025-12-05T00:00:00Z

    #[test]
    fn intervals_align_to_the_epoch() {
        let c = Cadence::parse("every 1h", "f").unwrap();
        assert_eq!(c.due_at(T + 1), Some(T));
        assert_eq!(c.due_at(T), Some(T));
        assert_eq!(c.next_after(T), Some(T + 3_600_000));
        assert_eq!(c.next_after(T + 3_599_999), Some(T + 3_600_000));
        assert_eq!(c.describe(), "every 3600s");
        let s = Cadence::parse("@every 500ms", "f");
        assert!(s.is_err(), "below the 1 s floor");
    }

    #[test]
    fn cron_expressions_in_utc_with_optional_seconds() {
        let c = Cadence::parse("17 * * * *", "f").unwrap();
        assert_eq!(c.due_at(T), Some(T - 43 * 60_000));
        assert_eq!(c.next_after(T), Some(T + 17 * 60_000));
        let s = Cadence::parse("*/10 * * * * *", "f").unwrap();
        assert_eq!(s.due_at(T + 12_345), Some(T + 10_000));
        assert_eq!(s.next_after(T + 10_000), Some(T + 20_000));
        // An occurrence exactly now is due now.
        assert_eq!(s.due_at(T + 20_000), Some(T + 20_000));
    }

    #[test]
    fn nonsense_is_refused_naming_the_field() {
        for bad in [
            "",
            "every",
            "every soon",
            "61 * * * *",
            "* * *",
            "@every -1s",
        ] {
            let e = Cadence::parse(bad, "JOB_SCHEDULE").unwrap_err();
            assert_eq!(e.field, "JOB_SCHEDULE", "{bad}");
        }
    }
}
