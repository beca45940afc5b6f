//! Settings, read from the environment once at start-up and validated into types.
//!
//! Every variable is optional and has a default that runs on a laptop (SQLite under
//! `data/`, no Redis). A value that does not parse stops start-up with a message that names
//! the variable, so a typo never silently falls back to a default in production.
//! `Settings::from_lookup` takes any lookup function, so tests build settings without
//! touching the process environment.
//!
//! Settings are grouped by the concern that reads them, one file per group with its own
//! parser: [`server`] (with [`connections`]), [`database`], [`cache`], [`compression`], [`rate_limit`], [`images`],
//! [`object_store`], [`jobs`], [`search`], [`catalog`], [`observability`]; [`redis_url`] says
//! what `REDIS_URL` names (one server or a cluster); [`parse`] holds the shared parsers.

mod cache;
mod cadence;
mod catalog;
mod compression;
mod connections;
mod database;
mod images;
mod jobs;
mod object_store;
mod observability;
mod parse;
mod rate_limit;
mod redis_url;
mod search;
mod server;

use std::path::PathBuf;

pub use self::object_store::{ObjectStoreSettings, S3Credentials, S3Location, StoreLocation};
pub use cache::CacheSettings;
pub use cadence::{Cadence, MIN_INTERVAL};
pub use catalog::CatalogSettings;
pub use compression::{CompressionLevel, CompressionSettings};
pub use connections::ConnectionSettings;
pub use database::{DatabaseSettings, DatabaseUrl, Pooler};
pub use images::ImageSettings;
pub use jobs::JobSettings;
pub use observability::ObservabilitySettings;
pub use parse::{parse_bytes_str, parse_duration_str};
pub use rate_limit::RateLimitSettings;
pub use redis_url::{CLUSTER_SCHEME, RedisEndpoint, parse_redis_url};
pub use search::{IndexLocation, SearchSettings, VisualModel, default_model_dir};
pub use server::{Environment, ServerSettings};

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

/// An API key or signing key as configured. Debug never prints it.
#[derive(Clone)]
pub struct ApiKey(pub String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// All settings of the origin, by concern. See README.md for the table.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `DATA_DIR` (default `data`): the root of the embedded defaults (SQLite file, text
    /// index, thumbnail cache).
    pub data_dir: PathBuf,
    /// `REDIS_URL`: shared by the cache, rate limits, visual search and the job queue; unset
    /// means each runs in process. Validated by [`parse_redis_url`] (one server or a cluster).
    pub redis_url: Option<String>,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub cache: CacheSettings,
    pub compression: CompressionSettings,
    pub rate_limit: RateLimitSettings,
    pub images: ImageSettings,
    pub object_store: ObjectStoreSettings,
    pub jobs: JobSettings,
    pub search: SearchSettings,
    pub catalog: CatalogSettings,
    pub observability: ObservabilitySettings,
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
        let redis_url = match get("REDIS_URL") {
            Some(url) => {
                parse_redis_url(&url).map_err(|reason| err("REDIS_URL", reason))?;
                Some(url)
            }
            None => None,
        };
        Ok(Settings {
            redis_url,
            server: ServerSettings::from_lookup(&get)?,
            database: DatabaseSettings::from_lookup(&get, &data_dir)?,
            cache: CacheSettings::from_lookup(&get)?,
            compression: CompressionSettings::from_lookup(&get)?,
            rate_limit: RateLimitSettings::from_lookup(&get)?,
            images: ImageSettings::from_lookup(&get, &data_dir)?,
            object_store: ObjectStoreSettings::from_lookup(&get, &data_dir)?,
            jobs: JobSettings::from_lookup(&get)?,
            search: SearchSettings::from_lookup(&get, &data_dir)?,
            catalog: CatalogSettings::from_lookup(&get)?,
            observability: ObservabilitySettings::from_lookup(&get)?,
            data_dir,
        })
    }
}

#[cfg(test)]
mod tests;
