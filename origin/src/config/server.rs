//! The HTTP server: where it listens, how long a request and a shutdown may take, how big a
//! body may be, the deployment's environment and its API keys.

use std::{net::SocketAddr, str::FromStr, time::Duration};

use super::{
    ApiKey, ConfigError, ConnectionSettings,
    parse::{Lookup, parse_duration, parse_keys, parse_num, parse_with},
};

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

#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// `BIND_ADDR` (default `127.0.0.1:8080`).
    pub bind_addr: SocketAddr,
    /// `ENVIRONMENT` (default development).
    pub environment: Environment,
    /// `REQUEST_TIMEOUT`: the longest one request may take.
    pub request_timeout: Duration,
    /// `SHUTDOWN_TIMEOUT`: how long in-flight requests get to finish on SIGTERM.
    pub shutdown_timeout: Duration,
    /// `MAX_BODY_BYTES`: largest request body where no route sets its own bound.
    pub max_body_bytes: usize,
    /// `API_KEYS`: the keys that may write; with none, writes answer 401.
    pub api_keys: Vec<ApiKey>,
    /// Header-read and idle timeouts, the connection cap, HTTP/2 streams, header size.
    pub connections: ConnectionSettings,
}

impl ServerSettings {
    pub(super) fn from_lookup(get: &impl Lookup) -> Result<Self, ConfigError> {
        let request_timeout = parse_duration(get, "REQUEST_TIMEOUT", Duration::from_secs(30))?;
        Ok(Self {
            bind_addr: parse_with(get, "BIND_ADDR", "127.0.0.1:8080".parse().ok(), |v| {
                v.parse::<SocketAddr>()
                    .map_err(|_| "expected host:port, e.g. 127.0.0.1:8080".to_string())
            })?,
            environment: parse_with(get, "ENVIRONMENT", Some(Environment::Development), |v| {
                v.parse()
            })?,
            request_timeout,
            shutdown_timeout: parse_duration(get, "SHUTDOWN_TIMEOUT", Duration::from_secs(30))?,
            max_body_bytes: parse_num(get, "MAX_BODY_BYTES", 1024 * 1024, 1024, 1 << 30)?,
            api_keys: parse_keys(get, "API_KEYS")?,
            connections: ConnectionSettings::from_lookup(get, request_timeout)?,
        })
    }
}
