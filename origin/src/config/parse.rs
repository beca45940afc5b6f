//! The parsers every settings group shares: booleans, bounded numbers, durations, byte counts
//! and key lists, each failing with a [`ConfigError`] that names the variable.

use std::{str::FromStr, time::Duration};

use super::{ApiKey, ConfigError, err};

/// What each group reads settings through: the trimmed, non-empty value of a variable.
pub(super) trait Lookup: Fn(&str) -> Option<String> {}
impl<F: Fn(&str) -> Option<String>> Lookup for F {}

pub(super) fn parse_with<T>(
    get: &impl Lookup,
    var: &'static str,
    default: Option<T>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<T, ConfigError> {
    match get(var) {
        Some(raw) => parse(&raw).map_err(|r| err(var, format!("{r} (got {raw:?})"))),
        None => default.ok_or_else(|| err(var, "is required")),
    }
}

pub(super) fn parse_bool(
    get: &impl Lookup,
    var: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    parse_with(get, var, Some(default), |v| {
        match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err("expected true or false".into()),
        }
    })
}

pub(super) fn parse_num<T>(
    get: &impl Lookup,
    var: &'static str,
    default: T,
    min: T,
    max: T,
) -> Result<T, ConfigError>
where
    T: FromStr + PartialOrd + Copy + std::fmt::Display,
{
    parse_with(get, var, Some(default), |v| {
        let n: T = v
            .parse()
            .map_err(|_| "expected a whole number".to_string())?;
        if n < min || n > max {
            Err(format!("must be between {min} and {max}"))
        } else {
            Ok(n)
        }
    })
}

pub(super) fn parse_duration(
    get: &impl Lookup,
    var: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    parse_with(get, var, Some(default), parse_duration_str)
}

/// Parses `30`, `30s`, `500ms`, `2m` or `1h` (a bare number is seconds).
pub fn parse_duration_str(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let (num, unit) = match raw.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => raw.split_at(i),
        None => (raw, "s"),
    };
    let value: f64 = num
        .parse()
        .map_err(|_| "expected a duration such as 30, 30s, 500ms or 2m".to_string())?;
    let secs = match unit.trim() {
        "ms" => value / 1000.0,
        "s" | "" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("unknown unit {other:?}; use ms, s, m or h")),
    };
    if !secs.is_finite() || !(0.0..=86_400.0 * 365.0).contains(&secs) {
        return Err("out of range".into());
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses a byte count: `1073741824`, or with a suffix `K`/`M`/`G` (powers of 1000) or
/// `Ki`/`Mi`/`Gi` (powers of 1024), as Kubernetes writes memory limits (`1Gi`).
pub fn parse_bytes_str(raw: &str) -> Result<u64, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (num, unit) = raw.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| "expected a byte count such as 1073741824, 512Mi or 1Gi".to_string())?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "K" | "k" => 1000,
        "M" => 1000_u64.pow(2),
        "G" => 1000_u64.pow(3),
        "T" => 1000_u64.pow(4),
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        other => return Err(format!("unknown unit {other:?}; use K, M, G, Ki, Mi or Gi")),
    };
    n.checked_mul(factor)
        .filter(|b| *b <= 1 << 50)
        .ok_or_else(|| "out of range".to_string())
}

/// A comma-separated list of secrets, each at least 8 characters; unset is an empty list.
pub(super) fn parse_keys(get: &impl Lookup, var: &'static str) -> Result<Vec<ApiKey>, ConfigError> {
    let Some(raw) = get(var) else {
        return Ok(Vec::new());
    };
    let keys: Vec<ApiKey> = raw
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| ApiKey(k.to_owned()))
        .collect();
    if keys.iter().any(|k| k.0.len() < 8) {
        return Err(err(var, "every key must be at least 8 characters"));
    }
    Ok(keys)
}
