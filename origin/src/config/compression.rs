//! Response compression: on or off, how hard, and the budget of encoded variants kept.

use std::str::FromStr;

use super::{
    ConfigError, err,
    parse::{Lookup, parse_bool, parse_num, parse_with},
};

/// How hard the origin compresses dynamic responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompressionLevel {
    Fast,
    Balanced,
    Maximum,
}

impl FromStr for CompressionLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "fast" => Ok(Self::Fast),
            "balanced" => Ok(Self::Balanced),
            "maximum" | "max" => Ok(Self::Maximum),
            _ => Err("expected fast, balanced or maximum".into()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct CompressionSettings {
    /// `COMPRESSION_ENABLED` (default true).
    pub enabled: bool,
    /// `COMPRESSION_LEVEL` (default balanced).
    pub level: CompressionLevel,
    /// `BROTLI_QUALITY` (0–11): overrides the level's brotli quality.
    pub brotli_quality: Option<u32>,
    /// `COMPRESSION_CACHE_MAX_BYTES`: budget of the encoded variants of cacheable responses
    /// kept by (ETag, coding), so a cached response is compressed once, not per request.
    pub cache_max_bytes: u64,
}

impl CompressionSettings {
    pub(super) fn from_lookup(get: &impl Lookup) -> Result<Self, ConfigError> {
        let brotli_quality = match get("BROTLI_QUALITY") {
            Some(v) => Some(
                v.parse::<u32>()
                    .ok()
                    .filter(|q| *q <= 11)
                    .ok_or_else(|| err("BROTLI_QUALITY", "expected an integer 0..=11"))?,
            ),
            None => None,
        };
        Ok(Self {
            enabled: parse_bool(get, "COMPRESSION_ENABLED", true)?,
            level: parse_with(
                get,
                "COMPRESSION_LEVEL",
                Some(CompressionLevel::Balanced),
                |v| v.parse(),
            )?,
            brotli_quality,
            cache_max_bytes: parse_num(
                get,
                "COMPRESSION_CACHE_MAX_BYTES",
                32 * 1024 * 1024,
                0,
                1 << 40,
            )?,
        })
    }
}
