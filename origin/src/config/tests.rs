//! Settings tests: defaults, overrides and errors that name the variable.

use super::*;
use std::{collections::HashMap, time::Duration};

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
    assert_eq!(s.server.bind_addr.to_string(), "127.0.0.1:8080");
    assert!(s.database.embedded);
    assert_eq!(
        s.database.url,
        DatabaseUrl::Sqlite("data/vitrine.db".into())
    );
    assert_eq!((s.database.pool_min, s.database.pool_max), (5, 20));
    assert_eq!(s.database.query_timeout, Duration::from_secs(30));
    assert_eq!(
        s.database.connection_max_lifetime,
        Duration::from_secs(3600)
    );
    assert!(s.redis_url.is_none());
    assert_eq!(s.compression.level, CompressionLevel::Balanced);
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
        ("DATABASE_POOLER", "pgpool"),
        ("DATABASE_POOLER", "pgbouncer"),
        ("DATABASE_DIRECT_URL", "sqlite:x.db"),
        ("REDIS_URL", "localhost"),
        ("REDIS_URL", "redis+cluster://h1:7000,h2"),
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
fn redis_url_takes_the_cluster_form() {
    let s = settings(&[("REDIS_URL", "redis+cluster://10.0.0.1:7000,10.0.0.2:7000")]).unwrap();
    assert_eq!(
        parse_redis_url(s.redis_url.as_deref().unwrap()),
        Ok(RedisEndpoint::Cluster(vec![
            "redis://10.0.0.1:7000".into(),
            "redis://10.0.0.2:7000".into()
        ]))
    );
    let e = settings(&[("REDIS_URL", "redis+cluster://h1:7000,h2")]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid value for REDIS_URL: cluster node `h2` is not host:port"
    );
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
    assert_eq!(
        settings(&[]).unwrap().observability.memory_budget_bytes,
        1 << 30
    );
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
    assert!(!s.database.embedded);
    let s = settings(&[("API_KEYS", "key-aaaaaaa, key-bbbbbbb")]).unwrap();
    assert_eq!(s.server.api_keys.len(), 2);
    assert!(!format!("{s:?}").contains("key-aaaa"));
}

#[test]
fn pgbouncer_takes_a_postgres_url_and_an_optional_direct_one() {
    let s = settings(&[
        ("DATABASE_URL", "postgres://u@127.0.0.1:6432/db"),
        ("DATABASE_POOLER", "PgBouncer"),
        ("DATABASE_DIRECT_URL", "postgres://u@127.0.0.1:5432/db"),
    ])
    .unwrap();
    assert_eq!(s.database.pooler, Pooler::PgBouncer);
    assert_eq!(
        s.database.direct_url,
        Some(DatabaseUrl::Postgres(
            "postgres://u@127.0.0.1:5432/db".into()
        ))
    );
    assert_eq!(settings(&[]).unwrap().database.pooler, Pooler::None);
}
