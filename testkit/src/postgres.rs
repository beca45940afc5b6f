//! Fresh databases on the test Postgres (`TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`).
//!
//! Each database is named `vitrine_test_<uuid>`: scripts/test.sh drops that prefix when the
//! suite ends.

use sqlx::{Connection as _, PgConnection};

/// The admin URL of the test Postgres.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// `postgres://…` of a fresh, empty database. Fails the test, saying how to start Postgres,
/// when it cannot be reached.
pub async fn fresh_postgres() -> String {
    let admin = admin_url();
    let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|e| {
        panic!(
            "cannot reach Postgres at {admin}: {e}\n\
             start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n\
             (or set TEST_DATABASE_URL); scripts/test.sh does this for you"
        )
    });
    let name = format!("vitrine_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("creating the test database");
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    format!("{base}/{name}")
}

/// `host:port` of a `postgres://` URL (5432 when no port is given).
pub fn upstream_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let hostpath = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let host = hostpath.split('/').next().unwrap_or("127.0.0.1:5432");
    if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    }
}

#[cfg(test)]
mod tests {
    use super::upstream_of;

    #[test]
    fn upstream_is_host_and_port_with_the_default_port() {
        assert_eq!(
            upstream_of("postgres://u:p@db.example:6543/x"),
            "db.example:6543"
        );
        assert_eq!(
            upstream_of("postgres://postgres@127.0.0.1/postgres"),
            "127.0.0.1:5432"
        );
    }
}
