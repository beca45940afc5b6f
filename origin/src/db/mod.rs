//! Catalog storage: one `Db` over either Postgres or SQLite, chosen by `DATABASE_URL`.
//!
//! Most queries are the same SQL on both backends: they are written once and run through
//! `dispatch!`, which expands the same code for each pool type. The few statements whose SQL
//! differs (array binds, bulk upserts, SQLite's untyped `MAX()`) keep an explicit
//! `match &self.pool` with a comment saying why. Queries are plain strings checked by the
//! integration tests against both real databases (no compile-time database needed). Every
//! call is bounded by `QUERY_TIMEOUT`, and the pool follows the seed: min 5, max 20, acquire
//! timeout 30 s, connections recycled after an hour.

/// Runs the same code against whichever pool `$db` holds. The two arms are the same tokens
/// but compile separately, because `PgPool` and `SqlitePool` are different types and sqlx
/// resolves each query's database from the executor it is given.
///
/// - `dispatch!(db, |p| expr)`: `expr` with `p` bound to the pool.
/// - `dispatch!(db, "query_type", |p| future)`: the future run through [`Db::timed`] and
///   awaited, giving a `DbResult`.
///
/// The closure-like `|p|` is only syntax (nothing is called); it lets rustfmt format the
/// call sites.
///
/// Both arms must give the same type: rows decode to the same Rust types on either backend,
/// but `execute` returns a backend-specific result, so those sites `map_ok` it to what they
/// need (`rows_affected()` or `()`).
macro_rules! dispatch {
    ($db:expr, |$p:ident| $body:expr) => {
        match &$db.pool {
            $crate::db::Pool::Postgres($p) => $body,
            $crate::db::Pool::Sqlite($p) => $body,
        }
    };
    ($db:expr, $query_type:literal, |$p:ident| $fut:expr) => {
        dispatch!($db, |$p| $db.timed($query_type, $fut).await)
    };
}

pub mod descriptors;
pub mod images;
pub mod products;
pub mod schedules;
pub mod synonyms;

use std::{
    str::FromStr,
    sync::Arc,
    time::{Duration, Instant},
};

use futures::TryFutureExt;
use sqlx::{
    ConnectOptions,
    postgres::{PgConnectOptions, PgPool, PgPoolOptions},
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
    },
};

use crate::{
    config::{DatabaseUrl, Pooler, Settings},
    observability::{Metrics, PoolStats},
};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A uniqueness rule was broken (e.g. a duplicate SKU).
    #[error("{0}")]
    Conflict(String),
    /// The database cannot be reached right now.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The query ran past `QUERY_TIMEOUT`.
    #[error("query timed out")]
    Timeout,
    #[error(transparent)]
    Other(anyhow::Error),
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => DbError::Conflict(format!(
                "a record with this unique value already exists ({})",
                db.message()
            )),
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => DbError::Unavailable(e.to_string()),
            sqlx::Error::Database(db)
                if db.code().is_some_and(|c| {
                    c.starts_with("08") || c == "57P01" || c == "57P03" || c == "53300"
                }) =>
            {
                // Postgres connection exceptions, admin shutdown, cannot connect now, too many connections.
                DbError::Unavailable(e.to_string())
            }
            sqlx::Error::Database(db) if db.code().as_deref() == Some("57014") => DbError::Timeout,
            _ => DbError::Other(e.into()),
        }
    }
}

pub type DbResult<T> = Result<T, DbError>;

#[derive(Clone, Debug)]
pub enum Pool {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// The catalog database: a pool plus the query timeout.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: Pool,
    query_timeout: Duration,
    max_connections: u32,
    /// Where query durations go (`db_query_duration_seconds`); `None` for the CLI tools.
    metrics: Option<Arc<Metrics>>,
}

/// Runs the Postgres migrations: over `DATABASE_DIRECT_URL` when set (sqlx's migration lock
/// is a session-level advisory lock, which only a direct connection keeps), otherwise over
/// the pool, without that lock when a transaction pooler is in between (each migration still
/// runs in its own transaction; instances that start at the same moment may then fail on a
/// migration another one applied, and succeed on restart).
async fn migrate_postgres(pool: &PgPool, settings: &Settings) -> anyhow::Result<()> {
    let mut migrator = sqlx::migrate!("./migrations/postgres");
    if let Some(DatabaseUrl::Postgres(direct)) = &settings.database.direct_url {
        let direct = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(settings.database.acquire_timeout)
            .connect(direct)
            .await?;
        migrator.run(&direct).await?;
        direct.close().await;
        return Ok(());
    }
    if settings.database.pooler == Pooler::PgBouncer {
        migrator.set_locking(false);
    }
    migrator.run(pool).await?;
    Ok(())
}

impl Db {
    /// Connects (creating the SQLite file and its folder when needed) and runs migrations.
    pub async fn connect(settings: &Settings) -> anyhow::Result<Db> {
        let db = match &settings.database.url {
            DatabaseUrl::Postgres(url) => {
                let behind_pgbouncer = settings.database.pooler == Pooler::PgBouncer;
                let statement_timeout = format!("{}", settings.database.query_timeout.as_millis());
                let mut options = PgConnectOptions::from_str(url)?
                    .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1));
                // PgBouncer refuses the `options` startup parameter, and a `SET` would stay
                // on whichever server connection ran it: behind it the server-side timeout is
                // the role's (`ALTER ROLE … SET statement_timeout`), and QUERY_TIMEOUT still
                // bounds every query here.
                if !behind_pgbouncer {
                    options = options.options([("statement_timeout", statement_timeout.as_str())]);
                }
                let pool = PgPoolOptions::new()
                    .max_connections(settings.database.pool_max)
                    .min_connections(settings.database.pool_min)
                    .acquire_timeout(settings.database.acquire_timeout)
                    .max_lifetime(settings.database.connection_max_lifetime)
                    .idle_timeout(Duration::from_secs(600))
                    .connect_with(options)
                    .await?;
                migrate_postgres(&pool, settings).await?;
                Pool::Postgres(pool)
            }
            DatabaseUrl::Sqlite(path) => {
                if let Some(parent) = std::path::Path::new(path).parent()
                    && !parent.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(parent)?;
                }
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(settings.database.query_timeout.min(Duration::from_secs(10)));
                let pool = SqlitePoolOptions::new()
                    .max_connections(settings.database.pool_max)
                    .min_connections(settings.database.pool_min.min(settings.database.pool_max))
                    .acquire_timeout(settings.database.acquire_timeout)
                    .max_lifetime(settings.database.connection_max_lifetime)
                    .connect_with(options)
                    .await?;
                sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
                Pool::Sqlite(pool)
            }
        };
        Ok(Db {
            pool: db,
            query_timeout: settings.database.query_timeout,
            max_connections: settings.database.pool_max,
            metrics: None,
        })
    }

    /// Records every query's duration in `metrics` from now on.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Db {
        self.metrics = Some(metrics);
        self
    }

    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Postgres(_) => "postgres",
            Pool::Sqlite(_) => "sqlite",
        }
    }

    /// Runs `fut` under `QUERY_TIMEOUT` and records its duration as
    /// `db_query_duration_seconds{query_type}` (`query_type` names the call site, e.g.
    /// `"product_get"`; failed and timed-out queries are recorded too).
    pub(crate) async fn timed<T>(
        &self,
        query_type: &'static str,
        fut: impl std::future::Future<Output = Result<T, sqlx::Error>>,
    ) -> DbResult<T> {
        let started = Instant::now();
        let result = tokio::time::timeout(self.query_timeout, fut).await;
        if let Some(m) = &self.metrics {
            m.db_query(query_type, started.elapsed().as_secs_f64());
        }
        match result {
            Ok(result) => result.map_err(DbError::from),
            Err(_) => Err(DbError::Timeout),
        }
    }

    /// A cheap round trip used by readiness checks.
    pub async fn ping(&self) -> DbResult<()> {
        dispatch!(self, "ping", |p| sqlx::query("SELECT 1")
            .execute(p)
            .map_ok(|_| ()))?;
        Ok(())
    }

    /// Pool usage: (open connections, idle connections, max connections).
    pub fn pool_stats(&self) -> PoolStats {
        let (size, idle) = dispatch!(self, |p| (p.size(), p.num_idle() as u32));
        PoolStats {
            open: size,
            idle,
            active: size.saturating_sub(idle),
            max: self.max_connections,
        }
    }

    pub async fn close(&self) {
        dispatch!(self, |p| p.close().await)
    }
}
