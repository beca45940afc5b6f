//! The catalog's database: which one (Postgres or the embedded SQLite file), and its pool.

use std::{path::Path, time::Duration};

use super::{
    ConfigError, err,
    parse::{Lookup, parse_duration, parse_num},
};

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

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `DATABASE_URL` (default: `vitrine.db` under `DATA_DIR`).
    pub url: DatabaseUrl,
    /// True when `DATABASE_URL` was unset and the embedded SQLite default is in use.
    pub embedded: bool,
    /// `CONNECTION_POOL_SIZE`.
    pub pool_max: u32,
    /// `CONNECTION_POOL_MIN`.
    pub pool_min: u32,
    /// `QUERY_TIMEOUT`: the longest one statement may run.
    pub query_timeout: Duration,
    /// `ACQUIRE_TIMEOUT`: the longest a request waits for a pooled connection.
    pub acquire_timeout: Duration,
    /// `CONNECTION_MAX_LIFETIME`: connections are recycled after this.
    pub connection_max_lifetime: Duration,
}

impl DatabaseSettings {
    pub(super) fn from_lookup(get: &impl Lookup, data_dir: &Path) -> Result<Self, ConfigError> {
        let (url, embedded) = match get("DATABASE_URL") {
            Some(raw) => (
                DatabaseUrl::parse(&raw).map_err(|r| err("DATABASE_URL", r))?,
                false,
            ),
            None => (
                DatabaseUrl::Sqlite(data_dir.join("vitrine.db").to_string_lossy().into_owned()),
                true,
            ),
        };
        let pool_max: u32 = parse_num(get, "CONNECTION_POOL_SIZE", 20, 1, 1000)?;
        Ok(Self {
            url,
            embedded,
            pool_max,
            pool_min: parse_num(get, "CONNECTION_POOL_MIN", 5.min(pool_max), 0, pool_max)?,
            query_timeout: parse_duration(get, "QUERY_TIMEOUT", Duration::from_secs(30))?,
            acquire_timeout: parse_duration(get, "ACQUIRE_TIMEOUT", Duration::from_secs(30))?,
            connection_max_lifetime: parse_duration(
                get,
                "CONNECTION_MAX_LIFETIME",
                Duration::from_secs(3600),
            )?,
        })
    }
}
