//! The Worker's settings, read once per isolate from `wrangler.toml` vars and secrets and
//! validated into types.
//!
//! Why a typed, validated struct: a Worker has no start-up phase that could refuse to boot, so
//! a bad `RATE_LIMIT_SEARCH` would otherwise surface as odd behaviour on some request later.
//! Parsing everything at the first request of an isolate, naming the variable in the error,
//! and answering 500 with that name (never the value) makes a misconfiguration loud. The
//! parsing itself is pure (`from_lookup` takes any lookup function), so it is unit-tested
//! natively; only the `Env` adapter is wasm-only.

use std::time::Duration;

use vitrine_common::negotiate::Encoding;
use vitrine_common::rate_limit::{Quota, RateLimits, RouteClass};
use vitrine_common::signature::SigningKeys;
use vitrine_common::thumbnail::Limits;

/// A setting that failed validation: the variable's name and why (never its value, which may
/// be a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("setting {name}: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub reason: String,
}

fn err(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        name,
        reason: reason.into(),
    }
}

/// Limits on what the edge resizes itself; anything larger goes to the origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThumbLimits {
    /// Source limits handed to common's pipeline (bytes and pixels of the original).
    pub source: Limits,
    /// Largest output side (device pixels) the edge renders.
    pub max_output_side: u32,
}

/// Everything the Worker needs, validated.
#[derive(Clone)]
pub struct Settings {
    /// The origin's base URL, without a trailing slash (`http://127.0.0.1:8080`).
    pub origin_url: String,
    /// Sent to the origin as [`Settings::SECRET_HEADER`] so it can refuse traffic that did not
    /// come through the edge. `None`: not sent.
    pub origin_secret: Option<String>,
    /// How long the edge waits for the origin's response headers before answering 504.
    pub origin_timeout: Duration,
    /// Bearer token of the purge endpoint; `None` disables purging.
    pub purge_token: Option<String>,
    /// BLAKE3 digests of the API keys that identify a client for rate limiting.
    pub api_key_digests: Vec<[u8; 32]>,
    /// Keys image URLs are signed with (empty: signing off).
    pub signing_keys: SigningKeys,
    /// Whether rate limiting is on.
    pub rate_limit_enabled: bool,
    /// Per route class.
    pub rate_limits: RateLimits,
    /// The codings the edge asks the origin for and caches one variant of each.
    pub encodings: Vec<Encoding>,
    /// Small-thumbnail limits.
    pub thumbs: ThumbLimits,
}

impl std::fmt::Debug for Settings {
    // Secrets stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("origin_url", &self.origin_url)
            .field("origin_secret", &self.origin_secret.as_ref().map(|_| "…"))
            .field("origin_timeout", &self.origin_timeout)
            .field("purge_token", &self.purge_token.as_ref().map(|_| "…"))
            .field("api_keys", &self.api_key_digests.len())
            .field("signing_keys", &self.signing_keys)
            .field("rate_limit_enabled", &self.rate_limit_enabled)
            .field("rate_limits", &self.rate_limits)
            .field("encodings", &self.encodings)
            .field("thumbs", &self.thumbs)
            .finish()
    }
}

impl Settings {
    /// The header carrying the shared secret to the origin.
    pub const SECRET_HEADER: &'static str = "x-edge-secret";

    /// Variables (or secrets) read, for the README and error messages.
    pub const VARIABLES: &'static [&'static str] = &[
        "ORIGIN_URL",
        "ORIGIN_SHARED_SECRET",
        "ORIGIN_TIMEOUT_MS",
        "PURGE_TOKEN",
        "API_KEYS",
        "IMAGE_SIGNING_KEYS",
        "RATE_LIMIT_ENABLED",
        "RATE_LIMIT_READ",
        "RATE_LIMIT_SEARCH",
        "RATE_LIMIT_IMAGE_SEARCH",
        "RATE_LIMIT_WRITE",
        "RATE_LIMIT_THUMBNAIL",
        "EDGE_ENCODINGS",
        "EDGE_THUMB_MAX_BYTES",
        "EDGE_THUMB_MAX_PIXELS",
        "EDGE_THUMB_MAX_SIDE",
    ];

    /// Parses settings through `lookup` (the Worker's `Env`, or a map in tests). Blank values
    /// count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let origin_url = get("ORIGIN_URL").ok_or_else(|| {
            err(
                "ORIGIN_URL",
                "is required (e.g. http://127.0.0.1:8080 in wrangler.toml [vars])",
            )
        })?;
        let origin_url = origin_url.trim().trim_end_matches('/').to_owned();
        let rest = origin_url
            .strip_prefix("http://")
            .or_else(|| origin_url.strip_prefix("https://"))
            .ok_or_else(|| err("ORIGIN_URL", "must start with http:// or https://"))?;
        if rest.is_empty() || rest.contains(['?', '#', ' ']) {
            return Err(err("ORIGIN_URL", "must be a base URL without query"));
        }

        let secret = |name: &'static str| -> Result<Option<String>, ConfigError> {
            match get(name) {
                None => Ok(None),
                Some(v) if v.trim().len() < 16 => Err(err(name, "must be at least 16 characters")),
                Some(v) => Ok(Some(v.trim().to_owned())),
            }
        };
        let origin_secret = secret("ORIGIN_SHARED_SECRET")?;
        let purge_token = secret("PURGE_TOKEN")?;

        let origin_timeout = match get("ORIGIN_TIMEOUT_MS") {
            None => Duration::from_secs(10),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(ms) if (1..=300_000).contains(&ms) => Duration::from_millis(ms),
                _ => {
                    return Err(err(
                        "ORIGIN_TIMEOUT_MS",
                        "must be milliseconds from 1 to 300000",
                    ));
                }
            },
        };

        let mut api_key_digests = Vec::new();
        if let Some(keys) = get("API_KEYS") {
            for key in keys.split(',').map(str::trim).filter(|k| !k.is_empty()) {
                if key.len() < 8 {
                    return Err(err("API_KEYS", "each key must be at least 8 characters"));
                }
                api_key_digests.push(*blake3::hash(key.as_bytes()).as_bytes());
            }
        }

        let signing_keys = SigningKeys::parse(&get("IMAGE_SIGNING_KEYS").unwrap_or_default())
            .map_err(|e| err("IMAGE_SIGNING_KEYS", e.reason))?;

        let rate_limit_enabled = parse_bool(get("RATE_LIMIT_ENABLED"), true)
            .ok_or_else(|| err("RATE_LIMIT_ENABLED", "must be true or false"))?;
        let mut rate_limits = RateLimits::default();
        for (name, class) in [
            ("RATE_LIMIT_READ", RouteClass::Read),
            ("RATE_LIMIT_SEARCH", RouteClass::Search),
            ("RATE_LIMIT_IMAGE_SEARCH", RouteClass::ImageSearch),
            ("RATE_LIMIT_WRITE", RouteClass::Write),
            ("RATE_LIMIT_THUMBNAIL", RouteClass::Thumbnail),
        ] {
            if let Some(v) = get(name) {
                let quota = Quota::parse(&v).map_err(|e| err(name, e.reason))?;
                rate_limits = rate_limits.with(class, quota);
            }
        }

        let encodings = match get("EDGE_ENCODINGS") {
            None => vec![Encoding::Brotli, Encoding::Gzip],
            Some(v) if v.trim() == "none" => Vec::new(),
            Some(v) => v
                .split(',')
                .map(|t| {
                    Encoding::parse(t).ok_or_else(|| {
                        err(
                            "EDGE_ENCODINGS",
                            "a comma-separated list of br, zstd, gzip, deflate (or none)",
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        };

        let number = |name: &'static str, default: u64, max: u64| -> Result<u64, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(v) => match v.trim().parse::<u64>() {
                    Ok(n) if (1..=max).contains(&n) => Ok(n),
                    _ => Err(err(name, format!("must be an integer from 1 to {max}"))),
                },
            }
        };
        let max_bytes = number("EDGE_THUMB_MAX_BYTES", 2 * 1024 * 1024, 32 * 1024 * 1024)?;
        let max_pixels = number("EDGE_THUMB_MAX_PIXELS", 2_000_000, 16_000_000)?;
        let max_output_side = number("EDGE_THUMB_MAX_SIDE", 512, 1024)?;
        let thumbs = ThumbLimits {
            source: Limits {
                max_bytes: usize::try_from(max_bytes).unwrap_or(usize::MAX),
                max_pixels,
                max_side: 8192,
                max_frames: 100,
            },
            max_output_side: u32::try_from(max_output_side).unwrap_or(512),
        };

        Ok(Self {
            origin_url,
            origin_secret,
            origin_timeout,
            purge_token,
            api_key_digests,
            signing_keys,
            rate_limit_enabled,
            rate_limits,
            encodings,
            thumbs,
        })
    }

    /// True when `presented` is one of the configured API keys (constant time per key, every
    /// key checked).
    pub fn is_known_api_key(&self, presented: &str) -> bool {
        use subtle::ConstantTimeEq;
        let digest = blake3::hash(presented.as_bytes());
        let mut ok = subtle::Choice::from(0);
        for known in &self.api_key_digests {
            ok |= known.ct_eq(digest.as_bytes());
        }
        bool::from(ok)
    }

    /// Constant-time check of the purge endpoint's bearer token.
    pub fn is_purge_token(&self, presented: &str) -> bool {
        use subtle::ConstantTimeEq;
        match &self.purge_token {
            None => false,
            Some(token) => {
                let a = blake3::hash(token.as_bytes());
                let b = blake3::hash(presented.as_bytes());
                bool::from(a.as_bytes().ct_eq(b.as_bytes()))
            }
        }
    }
}

fn parse_bool(v: Option<String>, default: bool) -> Option<bool> {
    match v.as_deref().map(str::trim) {
        None => Some(default),
        Some("true" | "1" | "yes" | "on") => Some(true),
        Some("false" | "0" | "no" | "off") => Some(false),
        Some(_) => None,
    }
}

#[cfg(target_arch = "wasm32")]
mod env {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::{ConfigError, Settings};

    thread_local! {
        static CACHED: RefCell<Option<Rc<Settings>>> = const { RefCell::new(None) };
    }

    impl Settings {
        /// The settings of this isolate: parsed from `env` on first use, then reused (vars and
        /// secrets only change with a new deployment, which starts new isolates).
        pub fn from_env(env: &worker::Env) -> Result<Rc<Settings>, ConfigError> {
            if let Some(s) = CACHED.with(|c| c.borrow().clone()) {
                return Ok(s);
            }
            let lookup = |name: &str| -> Option<String> {
                env.var(name)
                    .map(|v| v.to_string())
                    .or_else(|_| env.secret(name).map(|v| v.to_string()))
                    .ok()
            };
            let settings = Rc::new(Settings::from_lookup(lookup)?);
            CACHED.with(|c| *c.borrow_mut() = Some(settings.clone()));
            Ok(settings)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_need_only_the_origin() {
        let s = settings(&[("ORIGIN_URL", "http://127.0.0.1:8080/")]).unwrap();
        assert_eq!(s.origin_url, "http://127.0.0.1:8080");
        assert_eq!(s.origin_timeout, Duration::from_secs(10));
        assert!(s.rate_limit_enabled && s.signing_keys.is_empty() && s.purge_token.is_none());
        assert_eq!(s.encodings, vec![Encoding::Brotli, Encoding::Gzip]);
        assert_eq!(s.thumbs.max_output_side, 512);
        assert_eq!(
            s.rate_limits.get(RouteClass::Read),
            RouteClass::Read.default_quota()
        );
        assert!(!format!("{s:?}").contains("secret-"));
    }

    #[test]
    fn invalid_values_name_the_variable() {
        let name = |pairs: &[(&str, &str)]| settings(pairs).unwrap_err().name;
        assert_eq!(name(&[]), "ORIGIN_URL");
        assert_eq!(name(&[("ORIGIN_URL", "ftp://x")]), "ORIGIN_URL");
        let o = ("ORIGIN_URL", "http://o");
        assert_eq!(name(&[o, ("ORIGIN_TIMEOUT_MS", "0")]), "ORIGIN_TIMEOUT_MS");
        assert_eq!(name(&[o, ("PURGE_TOKEN", "short")]), "PURGE_TOKEN");
        assert_eq!(name(&[o, ("RATE_LIMIT_SEARCH", "x")]), "RATE_LIMIT_SEARCH");
        assert_eq!(name(&[o, ("EDGE_ENCODINGS", "lzma")]), "EDGE_ENCODINGS");
        assert_eq!(
            name(&[o, ("IMAGE_SIGNING_KEYS", "short")]),
            "IMAGE_SIGNING_KEYS"
        );
        assert_eq!(
            name(&[o, ("RATE_LIMIT_ENABLED", "maybe")]),
            "RATE_LIMIT_ENABLED"
        );
        assert_eq!(
            name(&[o, ("EDGE_THUMB_MAX_SIDE", "4096")]),
            "EDGE_THUMB_MAX_SIDE"
        );
    }

    #[test]
    fn secrets_and_keys_compare() {
        let s = settings(&[
            ("ORIGIN_URL", "https://origin.example"),
            ("PURGE_TOKEN", "secret-purge-token-0123"),
            ("API_KEYS", "key-aaaaaaa, key-bbbbbbb"),
            ("RATE_LIMIT_SEARCH", "5:1"),
            ("EDGE_ENCODINGS", "gzip"),
        ])
        .unwrap();
        assert!(s.is_purge_token("secret-purge-token-0123"));
        assert!(!s.is_purge_token("secret-purge-token-0124"));
        assert!(s.is_known_api_key("key-bbbbbbb") && !s.is_known_api_key("key-ccccccc"));
        assert_eq!(s.rate_limits.get(RouteClass::Search).burst(), 5);
        assert_eq!(s.encodings, vec![Encoding::Gzip]);
        assert!(!format!("{s:?}").contains("purge-token"));
    }
}
