//! The catalog's database: which one (Postgres or the embedded SQLite file), and its pool.

use std::{path::Path, time::Duration};

use super::{
    ConfigError, err,
    parse::{Lookup, parse_duration, parse_num, parse_with},
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

/// What sits between the origin and Postgres.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooler {
    /// The origin talks to Postgres directly.
    None,
    /// PgBouncer (≥ 1.21, `max_prepared_statements` > 0) in transaction mode: no session
    /// state may be relied on, so the statement timeout is not sent as a startup parameter
    /// (set it on the role instead) and migrations run over `DATABASE_DIRECT_URL`.
    PgBouncer,
}

impl std::str::FromStr for Pooler {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(Self::None),
            "pgbouncer" => Ok(Self::PgBouncer),
            _ => Err("expected none or pgbouncer".into()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `DATABASE_URL` (default: `vitrine.db` under `DATA_DIR`).
    pub url: DatabaseUrl,
    /// True when `DATABASE_URL` was unset and the embedded SQLite default is in use.
    pub embedded: bool,
    /// `DATABASE_POOLER` (`none` or `pgbouncer`, default none).
    pub pooler: Pooler,
    /// `DATABASE_DIRECT_URL`: Postgres itself, for migrations (they take a session-level
    /// advisory lock, which transaction pooling cannot keep). Unset: migrations use
    /// `DATABASE_URL`, without the lock when a pooler is in between.
    pub direct_url: Option<DatabaseUrl>,
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
        let pooler = parse_with(get, "DATABASE_POOLER", Some(Pooler::None), |v| v.parse())?;
        if pooler == Pooler::PgBouncer && !matches!(url, DatabaseUrl::Postgres(_)) {
            return Err(err(
                "DATABASE_POOLER",
                "pgbouncer needs a postgres:// DATABASE_URL",
            ));
        }
        let direct_url = match get("DATABASE_DIRECT_URL") {
            Some(raw) => match DatabaseUrl::parse(&raw) {
                Ok(u @ DatabaseUrl::Postgres(_)) => Some(u),
                _ => {
                    return Err(err(
                        "DATABASE_DIRECT_URL",
                        "must be a postgres:// or postgresql:// URL",
                    ));
                }
            },
            None => None,
        };
        Ok(Self {
            url,
            embedded,
            pooler,
            direct_url,
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
