//! Rate limits per route class.

use super::{
    ConfigError, err,
    parse::{Lookup, parse_bool, parse_num},
};

/// Rate limiting: GCRA quotas per route class (defaults from `common`), overridable with
/// `RATE_LIMIT_<CLASS>=<burst>:<count>[/s|/m|/h]`.
#[derive(Debug, Clone)]
pub struct RateLimitSettings {
    /// `RATE_LIMIT_ENABLED` (default true).
    pub enabled: bool,
    pub limits: vitrine_common::rate_limit::RateLimits,
    /// `RATE_LIMIT_API_KEY_MULTIPLIER` (default 10): every request carrying a *valid* API
    /// key is limited per key, with burst and rate multiplied by this. Keys are issued to
    /// partners and load tests, which are trusted by construction; one knob is simpler to
    /// operate than a second list of keys.
    pub api_key_multiplier: u32,
}

impl RateLimitSettings {
    pub(super) fn from_lookup(get: &impl Lookup) -> Result<Self, ConfigError> {
        use vitrine_common::rate_limit::{Quota, RateLimits, RouteClass};
        let mut limits = RateLimits::default();
        for (class, var) in [
            (RouteClass::Read, "RATE_LIMIT_READ"),
            (RouteClass::Search, "RATE_LIMIT_SEARCH"),
            (RouteClass::ImageSearch, "RATE_LIMIT_IMAGE_SEARCH"),
            (RouteClass::Write, "RATE_LIMIT_WRITE"),
            (RouteClass::Thumbnail, "RATE_LIMIT_THUMBNAIL"),
        ] {
            if let Some(raw) = get(var) {
                let quota = Quota::parse(&raw).map_err(|e| err(var, e.reason))?;
                limits = limits.with(class, quota);
            }
        }
        Ok(Self {
            enabled: parse_bool(get, "RATE_LIMIT_ENABLED", true)?,
            limits,
            api_key_multiplier: parse_num(get, "RATE_LIMIT_API_KEY_MULTIPLIER", 10, 1, 10_000)?,
        })
    }
}
