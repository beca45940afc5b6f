//! Settings, read from the environment once at start-up and validated into types.
//!
//! Every variable is optional and has a default that runs on a laptop (SQLite under
//! `data/`, no Redis). A value that does not parse stops start-up with a message that names
//! the variable, so a typo never silently falls back to a default in production.
//! `Settings::from_lookup` takes any lookup function, so tests build settings without
//! touching the process environment.

use std::{net::SocketAddr, path::PathBuf, str::FromStr, time::Duration};

/// A setting that failed to parse.
#[derive(Debug, thiserror::Error)]
#[error("invalid value for {var}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

fn err(var: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        reason: reason.into(),
    }
}

/// Where the catalog lives.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgres(String),
    Sqlite(String),
}

impl std::fmt::Debug for DatabaseUrl {
    // Never print credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseUrl::Postgres(_) => f.write_str("Postgres(<redacted>)"),
            DatabaseUrl::Sqlite(path) => write!(f, "Sqlite({path})"),
        }
    }
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            Ok(Self::Postgres(raw.to_owned()))
        } else if let Some(rest) = raw.strip_prefix("sqlite:") {
            let rest = rest.trim_start_matches("//");
            if rest.is_empty() {
                Err("sqlite URL needs a file path, e.g. sqlite:data/vitrine.db".into())
            } else {
                Ok(Self::Sqlite(rest.to_owned()))
            }
        } else {
            Err("must start with postgres://, postgresql:// or sqlite:".into())
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            DatabaseUrl::Postgres(_) => "postgres",
            DatabaseUrl::Sqlite(_) => "sqlite",
        }
    }
}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Test,
    Staging,
    Production,
}

impl FromStr for Environment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "development" | "dev" => Ok(Self::Development),
            "test" => Ok(Self::Test),
            "staging" => Ok(Self::Staging),
            "production" | "prod" => Ok(Self::Production),
            _ => Err("expected development, test, staging or production".into()),
        }
    }
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Test => "test",
            Self::Staging => "staging",
            Self::Production => "production",
        }
    }
}

/// Where the text-search index lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexLocation {
    /// In memory: rebuilt from the database at every start (tests, small catalogs).
    Memory,
    Dir(PathBuf),
}

/// An API key as configured. Debug never prints it.
#[derive(Clone)]
pub struct ApiKey(pub String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// All settings of the origin. See README.md for the table.
#[derive(Debug, Clone)]
pub struct Settings {
    pub bind_addr: SocketAddr,
    pub database_url: DatabaseUrl,
    /// True when `DATABASE_URL` was unset and the embedded SQLite default is in use.
    pub embedded_database: bool,
    pub data_dir: PathBuf,
    pub pool_max: u32,
    pub pool_min: u32,
    pub query_timeout: Duration,
    pub acquire_timeout: Duration,
    pub connection_max_lifetime: Duration,
    pub redis_url: Option<String>,
    pub cache_enabled: bool,
    pub cache_ttl_default: Duration,
    pub compression_enabled: bool,
    pub compression_level: CompressionLevel,
    pub brotli_quality: Option<u32>,
    /// `COMPRESSION_CACHE_MAX_BYTES`: budget of the encoded variants of cacheable responses
    /// kept by (ETag, coding), so a cached response is compressed once, not per request.
    pub compression_cache_max_bytes: u64,
    pub async_workers: usize,
    pub thread_pool_size: usize,
    pub process_pool_size: usize,
    pub image_cache_dir: PathBuf,
    pub thumbnail_generation: bool,
    pub image_optimization: bool,
    pub monitoring_enabled: bool,
    pub prometheus_enabled: bool,
    pub structured_logging: bool,
    pub log_level: String,
    /// Memory this instance should stay within (`MEMORY_BUDGET_BYTES`), exported as
    /// `vitrine_memory_budget_bytes` for the memory alert; 0 means no budget.
    pub memory_budget_bytes: u64,
    pub environment: Environment,
    pub api_keys: Vec<ApiKey>,
    pub image_signing_keys: Vec<ApiKey>,
    pub search_index: IndexLocation,
    pub search_sync_interval: Duration,
    pub seed_demo: bool,
    /// How many demo products the first start creates.
    pub demo_products: usize,
    pub max_body_bytes: usize,
    pub bulk_max_bytes: usize,
    pub bulk_max_items: usize,
    /// Largest photo accepted by image search.
    pub image_search_max_bytes: usize,
    /// Up to this many products, visual search scans exactly; above, it uses HNSW.
    pub visual_exact_threshold: usize,
    pub request_timeout: Duration,
    pub shutdown_timeout: Duration,
    /// Largest accepted original (upload body), checked before buffering.
    pub image_max_bytes: usize,
    /// Largest accepted original in pixels (width × height), checked from the header.
    pub image_max_pixels: u64,
    /// Bound of the processed-thumbnail cache under `image_cache_dir` (LRU eviction).
    pub image_cache_max_bytes: u64,
    /// Pixels in flight (width × height × 4 of every image being decoded) may not exceed this.
    pub image_memory_budget_bytes: u64,
    /// Most items in one `POST /api/images/batch`.
    pub batch_max_items: usize,
    /// Largest `POST /api/images/batch` body.
    pub batch_max_bytes: usize,
    /// Prefix of every queue key in Redis (streams, job hashes, idempotency keys).
    pub queue_prefix: String,
    /// A delivered job item not acknowledged within this time is handed to another worker.
    pub job_visibility_timeout: Duration,
    /// Deliveries of one item before it goes to the dead-letter stream.
    pub job_max_attempts: u32,
    /// First retry delay (doubled per attempt, with jitter).
    pub job_retry_base: Duration,
    /// How long job state and results are kept after the last update.
    pub job_ttl: Duration,
    /// Cache tiers and the Redis circuit breaker (see [`CacheSettings`]).
    pub cache: CacheSettings,
    /// Per-route-class rate limits (see [`RateLimitSettings`]).
    pub rate_limit: RateLimitSettings,
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let data_dir = PathBuf::from(get("DATA_DIR").unwrap_or_else(|| "data".into()));
        let (database_url, embedded_database) = match get("DATABASE_URL") {
            Some(raw) => (
                DatabaseUrl::parse(&raw).map_err(|r| err("DATABASE_URL", r))?,
                false,
            ),
            None => (
                DatabaseUrl::Sqlite(data_dir.join("vitrine.db").to_string_lossy().into_owned()),
                true,
            ),
        };
        let pool_max: u32 = parse_num(&get, "CONNECTION_POOL_SIZE", 20, 1, 1000)?;
        let pool_min: u32 = parse_num(&get, "CONNECTION_POOL_MIN", 5.min(pool_max), 0, pool_max)?;
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let search_index = match get("SEARCH_INDEX_DIR").as_deref() {
            Some("memory") | Some(":memory:") => IndexLocation::Memory,
            Some(dir) => IndexLocation::Dir(PathBuf::from(dir)),
            None => IndexLocation::Dir(data_dir.join("search_index")),
        };
        let log_level = get("LOG_LEVEL").unwrap_or_else(|| "info".into());
        tracing_subscriber::EnvFilter::try_new(&log_level)
            .map_err(|e| err("LOG_LEVEL", format!("not a valid level or filter: {e}")))?;
        let brotli_quality = match get("BROTLI_QUALITY") {
            Some(v) => Some(
                v.parse::<u32>()
                    .ok()
                    .filter(|q| *q <= 11)
                    .ok_or_else(|| err("BROTLI_QUALITY", "expected an integer 0..=11"))?,
            ),
            None => None,
        };
        Ok(Settings {
            bind_addr: parse_with(&get, "BIND_ADDR", "127.0.0.1:8080".parse().ok(), |v| {
                v.parse::<SocketAddr>()
                    .map_err(|_| "expected host:port, e.g. 127.0.0.1:8080".to_string())
            })?,
            database_url,
            embedded_database,
            pool_max,
            pool_min,
            query_timeout: parse_duration(&get, "QUERY_TIMEOUT", Duration::from_secs(30))?,
            acquire_timeout: parse_duration(&get, "ACQUIRE_TIMEOUT", Duration::from_secs(30))?,
            connection_max_lifetime: parse_duration(
                &get,
                "CONNECTION_MAX_LIFETIME",
                Duration::from_secs(3600),
            )?,
            redis_url: match get("REDIS_URL") {
                Some(url)
                    if url.starts_with("redis://")
                        || url.starts_with("rediss://")
                        || url.starts_with("redis+unix://") =>
                {
                    Some(url)
                }
                Some(_) => return Err(err("REDIS_URL", "must start with redis:// or rediss://")),
                None => None,
            },
            cache_enabled: parse_bool(&get, "CACHE_ENABLED", true)?,
            cache_ttl_default: parse_duration(
                &get,
                "CACHE_TTL_DEFAULT",
                Duration::from_secs(3600),
            )?,
            compression_enabled: parse_bool(&get, "COMPRESSION_ENABLED", true)?,
            compression_level: parse_with(
                &get,
                "COMPRESSION_LEVEL",
                Some(CompressionLevel::Balanced),
                |v| v.parse(),
            )?,
            brotli_quality,
            compression_cache_max_bytes: parse_num(
                &get,
                "COMPRESSION_CACHE_MAX_BYTES",
                32 * 1024 * 1024,
                0,
                1 << 40,
            )?,
            async_workers: parse_num(&get, "ASYNC_WORKERS", 4, 0, 1024)?,
            thread_pool_size: parse_num(&get, "THREAD_POOL_SIZE", cpus, 1, 1024)?,
            process_pool_size: parse_num(&get, "PROCESS_POOL_SIZE", 0, 0, 1024)?,
            image_cache_dir: get("IMAGE_CACHE_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| data_dir.join("image_cache")),
            thumbnail_generation: parse_bool(&get, "THUMBNAIL_GENERATION", true)?,
            image_optimization: parse_bool(&get, "IMAGE_OPTIMIZATION", true)?,
            monitoring_enabled: parse_bool(&get, "MONITORING_ENABLED", true)?,
            prometheus_enabled: parse_bool(&get, "PROMETHEUS_ENABLED", true)?,
            structured_logging: parse_bool(&get, "STRUCTURED_LOGGING", false)?,
            log_level,
            memory_budget_bytes: parse_with(
                &get,
                "MEMORY_BUDGET_BYTES",
                Some(1 << 30),
                parse_bytes_str,
            )?,
            environment: parse_with(&get, "ENVIRONMENT", Some(Environment::Development), |v| {
                v.parse()
            })?,
            api_keys: parse_keys(&get, "API_KEYS")?,
            image_signing_keys: parse_keys(&get, "IMAGE_SIGNING_KEYS")?,
            search_index,
            search_sync_interval: parse_duration(
                &get,
                "SEARCH_SYNC_INTERVAL",
                Duration::from_secs(5),
            )?,
            seed_demo: parse_bool(&get, "SEED_DEMO", true)?,
            demo_products: parse_num(&get, "DEMO_PRODUCTS", 300, 1, 100_000)?,
            max_body_bytes: parse_num(&get, "MAX_BODY_BYTES", 1024 * 1024, 1024, 1 << 30)?,
            bulk_max_bytes: parse_num(&get, "BULK_MAX_BYTES", 64 * 1024 * 1024, 1024, 1 << 31)?,
            bulk_max_items: parse_num(&get, "BULK_MAX_ITEMS", 10_000, 1, 1_000_000)?,
            image_search_max_bytes: parse_num(
                &get,
                "IMAGE_SEARCH_MAX_BYTES",
                16 * 1024 * 1024,
                1024,
                256 * 1024 * 1024,
            )?,
            visual_exact_threshold: parse_num(
                &get,
                "VISUAL_EXACT_THRESHOLD",
                20_000,
                0,
                100_000_000,
            )?,
            request_timeout: parse_duration(&get, "REQUEST_TIMEOUT", Duration::from_secs(30))?,
            shutdown_timeout: parse_duration(&get, "SHUTDOWN_TIMEOUT", Duration::from_secs(30))?,
            image_max_bytes: parse_num(&get, "IMAGE_MAX_BYTES", 32 * 1024 * 1024, 1024, 1 << 30)?,
            image_max_pixels: parse_num(&get, "IMAGE_MAX_PIXELS", 50_000_000, 1, 1_000_000_000)?,
            image_cache_max_bytes: parse_num(
                &get,
                "IMAGE_CACHE_MAX_BYTES",
                1 << 30,
                1 << 16,
                1 << 44,
            )?,
            image_memory_budget_bytes: parse_num(
                &get,
                "IMAGE_MEMORY_BUDGET_BYTES",
                1 << 30,
                1 << 20,
                1 << 40,
            )?,
            batch_max_items: parse_num(&get, "BATCH_MAX_ITEMS", 500, 1, 100_000)?,
            batch_max_bytes: parse_num(&get, "BATCH_MAX_BYTES", 64 * 1024 * 1024, 1024, 1 << 31)?,
            queue_prefix: parse_with(&get, "QUEUE_PREFIX", Some("vitrine".to_owned()), |v| {
                if !v.is_empty()
                    && v.len() <= 64
                    && v.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.')
                    })
                {
                    Ok(v.to_owned())
                } else {
                    Err("1-64 characters among letters, digits, - _ : .".into())
                }
            })?,
            job_visibility_timeout: parse_duration(
                &get,
                "JOB_VISIBILITY_TIMEOUT",
                Duration::from_secs(60),
            )?,
            job_max_attempts: parse_num(&get, "JOB_MAX_ATTEMPTS", 5, 1, 100)?,
            job_retry_base: parse_duration(&get, "JOB_RETRY_BASE", Duration::from_millis(500))?,
            job_ttl: parse_duration(&get, "JOB_TTL", Duration::from_secs(86_400))?,
            cache: CacheSettings::from_lookup(&get)?,
            rate_limit: RateLimitSettings::from_lookup(&get)?,
            data_dir,
        })
    }
}

impl Settings {
    /// Threads the thumbnail pool may keep busy (`THREAD_POOL_SIZE`).
    pub fn thumbnail_pool_threads(&self) -> usize {
        self.thread_pool_size.max(1)
    }
}

fn parse_with<T>(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: Option<T>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<T, ConfigError> {
    match get(var) {
        Some(raw) => parse(&raw).map_err(|r| err(var, format!("{r} (got {raw:?})"))),
        None => default.ok_or_else(|| err(var, "is required")),
    }
}

fn parse_bool(
    get: &impl Fn(&str) -> Option<String>,
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

fn parse_num<T>(
    get: &impl Fn(&str) -> Option<String>,
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

fn parse_duration(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    parse_with(get, var, Some(default), parse_duration_str)
}

fn parse_keys(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
) -> Result<Vec<ApiKey>, ConfigError> {
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

/// Tuning of the two cache tiers; the on/off switch and default TTL are `CACHE_ENABLED` /
/// `CACHE_TTL_DEFAULT` above.
#[derive(Debug, Clone)]
pub struct CacheSettings {
    /// `CACHE_L1_MAX_BYTES`: the in-process tier's budget, in bytes of keys + values.
    pub l1_max_bytes: u64,
    /// `CACHE_KEY_PREFIX`: prepended to every Redis key and the invalidation channel, so
    /// several deployments (or tests) can share one Redis without seeing each other.
    pub key_prefix: String,
    /// `CACHE_REDIS_TIMEOUT`: the longest a request waits for one Redis operation.
    pub redis_timeout: Duration,
    /// `CACHE_BREAKER_FAILURES`: consecutive Redis failures that open the breaker.
    pub breaker_failures: u32,
    /// `CACHE_BREAKER_COOLDOWN`: how long the breaker stays open before one probe.
    pub breaker_cooldown: Duration,
}

impl CacheSettings {
    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let key_prefix = get("CACHE_KEY_PREFIX").unwrap_or_else(|| "vitrine:".into());
        if key_prefix.len() > 64 || !key_prefix.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(err(
                "CACHE_KEY_PREFIX",
                "must be at most 64 printable ASCII characters without spaces",
            ));
        }
        let redis_timeout = parse_duration(get, "CACHE_REDIS_TIMEOUT", Duration::from_millis(50))?;
        if redis_timeout.is_zero() || redis_timeout > Duration::from_secs(5) {
            return Err(err("CACHE_REDIS_TIMEOUT", "must be between 1ms and 5s"));
        }
        Ok(Self {
            l1_max_bytes: parse_num(
                get,
                "CACHE_L1_MAX_BYTES",
                128 * 1024 * 1024,
                64 * 1024,
                1 << 40,
            )?,
            key_prefix,
            redis_timeout,
            breaker_failures: parse_num(get, "CACHE_BREAKER_FAILURES", 3, 1, 1000)?,
            breaker_cooldown: parse_duration(
                get,
                "CACHE_BREAKER_COOLDOWN",
                Duration::from_secs(1),
            )?,
        })
    }
}

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
    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_run_on_a_laptop() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.bind_addr.to_string(), "127.0.0.1:8080");
        assert!(s.embedded_database);
        assert_eq!(
            s.database_url,
            DatabaseUrl::Sqlite("data/vitrine.db".into())
        );
        assert_eq!((s.pool_min, s.pool_max), (5, 20));
        assert_eq!(s.query_timeout, Duration::from_secs(30));
        assert_eq!(s.connection_max_lifetime, Duration::from_secs(3600));
        assert!(s.redis_url.is_none());
        assert_eq!(s.compression_level, CompressionLevel::Balanced);
        assert!(s.rate_limit.enabled);
        assert_eq!(s.rate_limit.api_key_multiplier, 10);
        assert_eq!(s.cache.key_prefix, "vitrine:");
        assert_eq!(s.cache.redis_timeout, Duration::from_millis(50));
    }

    #[test]
    fn rate_limit_overrides_use_commons_syntax() {
        use vitrine_common::rate_limit::{Quota, RouteClass};
        let s = settings(&[("RATE_LIMIT_SEARCH", "10:1/m")]).unwrap();
        assert_eq!(
            s.rate_limit.limits.get(RouteClass::Search),
            Quota::parse("10:1/m").unwrap()
        );
        assert_eq!(
            s.rate_limit.limits.get(RouteClass::Read),
            RouteClass::Read.default_quota()
        );
    }

    #[test]
    fn invalid_values_name_the_variable() {
        for (var, value) in [
            ("BIND_ADDR", "nope"),
            ("CONNECTION_POOL_SIZE", "0"),
            ("QUERY_TIMEOUT", "ten"),
            ("CACHE_ENABLED", "maybe"),
            ("DATABASE_URL", "mysql://x"),
            ("REDIS_URL", "localhost"),
            ("LOG_LEVEL", "info,[["),
            ("BROTLI_QUALITY", "12"),
            ("API_KEYS", "short"),
            ("COMPRESSION_LEVEL", "ultra"),
            ("MEMORY_BUDGET_BYTES", "lots"),
            ("MEMORY_BUDGET_BYTES", "1Zi"),
            ("CACHE_KEY_PREFIX", "has space"),
            ("CACHE_REDIS_TIMEOUT", "0"),
            ("CACHE_L1_MAX_BYTES", "12"),
            ("RATE_LIMIT_SEARCH", "120"),
            ("RATE_LIMIT_WRITE", "0:5"),
            ("RATE_LIMIT_ENABLED", "sometimes"),
            ("RATE_LIMIT_API_KEY_MULTIPLIER", "0"),
        ] {
            let e = settings(&[(var, value)]).unwrap_err();
            assert_eq!(e.var, var, "{e}");
            assert!(e.to_string().contains(var));
        }
    }

    #[test]
    fn durations_accept_units() {
        assert_eq!(parse_duration_str("30").unwrap(), Duration::from_secs(30));
        assert_eq!(
            parse_duration_str("500ms").unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(parse_duration_str("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration_str("5 fortnights").is_err());
        assert!(parse_duration_str("-1").is_err());
    }

    #[test]
    fn byte_counts_accept_units() {
        assert_eq!(settings(&[]).unwrap().memory_budget_bytes, 1 << 30);
        assert_eq!(parse_bytes_str("1073741824").unwrap(), 1 << 30);
        assert_eq!(parse_bytes_str("512Mi").unwrap(), 512 << 20);
        assert_eq!(parse_bytes_str("2G").unwrap(), 2_000_000_000);
        assert_eq!(parse_bytes_str("0").unwrap(), 0);
        assert!(parse_bytes_str("-1").is_err());
        assert!(parse_bytes_str("99999999999Ti").is_err());
        assert!(parse_bytes_str("Gi").is_err());
    }

    #[test]
    fn postgres_url_is_never_printed() {
        let s = settings(&[("DATABASE_URL", "postgres://u:secret@h/db")]).unwrap();
        assert!(!format!("{s:?}").contains("secret"));
        assert!(!s.embedded_database);
        let s = settings(&[("API_KEYS", "key-aaaaaaa, key-bbbbbbb")]).unwrap();
        assert_eq!(s.api_keys.len(), 2);
        assert!(!format!("{s:?}").contains("key-aaaa"));
    }
}
