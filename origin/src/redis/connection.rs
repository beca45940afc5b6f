//! How the origin reaches Redis: one server or a Redis Cluster, behind one connection type.
//!
//! [`Target`] is what `REDIS_URL` names (see `config::parse_redis_url`); [`Connection`] is
//! what every Redis user holds. It implements `redis::aio::ConnectionLike` by delegation, so
//! `query_async`, `invoke_async` and pipelines work on either unchanged.
//!
//! What differs on a cluster, and where it is handled:
//! - the client routes each command by its key's slot, follows `MOVED`/`ASK` and re-reads the
//!   slot map after a failover; `MGET` and `UNLINK` over keys of several slots are split per
//!   slot by the client;
//! - a pipeline (atomic or not) and a script must keep their keys in one slot: the job queue
//!   puts all its keys under one hash tag (`jobs::redis_queue`), the cache sends one group per
//!   key ([`Connection::exec_groups`]) and unlinks a tag's members outside the script
//!   (`client.rs`);
//! - a `MULTI`/`EXEC` sent to a node that lost its slot in a failover fails as a whole (the
//!   client follows no `MOVED` inside a transaction), so [`Connection::exec_atomic`] sends a
//!   transaction to a cluster as one script call, which the client redirects and retries;
//! - a blocking read needs a connection nobody else waits behind: [`Target::dedicated`] makes
//!   a fresh connection (on a cluster, a cluster connection with sockets of its own);
//! - pub/sub: a classic `SUBSCRIBE` on any node of a cluster hears every `PUBLISH` of the
//!   cluster (the cluster bus forwards them), so [`Target::pubsub_clients`] gives one plain
//!   client per seed node and `subscription.rs` tries them in turn.

use std::{sync::LazyLock, time::Duration};

use anyhow::Context;
use redis::{
    AsyncConnectionConfig, Client, Cmd, Pipeline, RedisError, RedisFuture, RedisResult, Value,
    aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection},
    cluster::{ClusterClient, ClusterClientBuilder, ClusterConfig},
    cluster_async::ClusterConnection,
};

use crate::config::{RedisEndpoint, parse_redis_url};

/// A transaction as one script call (see [`Connection::exec_atomic`]).
static ATOMIC_COMMANDS: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("lua/atomic_commands.lua")));

/// How patient a connection is: dialling, one answer, reconnection attempts.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    /// The longest one command may take (on a cluster: including its retries and
    /// redirections).
    pub response: Duration,
    pub retries: u32,
    /// The longest pause between two reconnection (or cluster retry) attempts.
    pub max_delay: Duration,
}

/// One Redis server or a cluster, as `REDIS_URL` names it.
#[derive(Clone)]
pub enum Target {
    Server(Client),
    Cluster {
        /// One `redis://` URL per seed node.
        nodes: Vec<String>,
        /// A plain client per seed node, for pub/sub.
        clients: Vec<Client>,
    },
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Server(_) => f.write_str("Target::Server"),
            Target::Cluster { nodes, .. } => write!(f, "Target::Cluster({} seeds)", nodes.len()),
        }
    }
}

impl Target {
    /// Parses `REDIS_URL`; nothing is dialled.
    pub fn open(url: &str) -> anyhow::Result<Self> {
        match parse_redis_url(url).map_err(|e| anyhow::anyhow!("REDIS_URL {e}"))? {
            RedisEndpoint::Server(url) => Ok(Target::Server(
                Client::open(url.as_str()).context("parsing REDIS_URL")?,
            )),
            RedisEndpoint::Cluster(nodes) => {
                let clients = nodes
                    .iter()
                    .map(|n| Client::open(n.as_str()))
                    .collect::<RedisResult<Vec<_>>>()
                    .context("parsing the cluster nodes of REDIS_URL")?;
                Ok(Target::Cluster { nodes, clients })
            }
        }
    }

    pub fn is_cluster(&self) -> bool {
        matches!(self, Target::Cluster { .. })
    }

    fn cluster_client(nodes: &[String], t: &Timeouts) -> RedisResult<ClusterClient> {
        let max_wait = u64::try_from(t.max_delay.as_millis()).unwrap_or(u64::MAX);
        ClusterClientBuilder::new(nodes.iter().map(String::as_str))
            .connection_timeout(t.connect)
            .response_timeout(t.response)
            .retries(t.retries)
            // The default first pause is 1.28 s: a failover takes a few seconds in all, so
            // retry sooner and more evenly.
            .min_retry_wait(max_wait.min(50))
            .max_retry_wait(max_wait)
            .build()
    }

    fn cluster_config(t: &Timeouts) -> ClusterConfig {
        ClusterConfig::new()
            .set_connection_timeout(t.connect)
            .set_response_timeout(t.response)
    }

    fn manager_config(t: &Timeouts) -> ConnectionManagerConfig {
        ConnectionManagerConfig::new()
            .set_connection_timeout(Some(t.connect))
            .set_response_timeout(Some(t.response))
            .set_number_of_retries(t.retries as usize)
            .set_max_delay(t.max_delay)
    }

    /// A shared, reconnecting connection that dials on first use: a Redis that is down at
    /// start-up fails calls, it does not stop the origin.
    pub fn lazy(&self, t: &Timeouts) -> RedisResult<Connection> {
        match self {
            Target::Server(client) => Ok(Connection::Managed(
                ConnectionManager::new_lazy_with_config(client.clone(), Self::manager_config(t))?,
            )),
            Target::Cluster { nodes, .. } => Ok(Connection::Cluster(
                Self::cluster_client(nodes, t)?
                    .get_pending_async_connection_with_config(Self::cluster_config(t)),
            )),
        }
    }

    /// A shared, reconnecting connection, dialled now (fails when Redis cannot be reached).
    pub async fn connect(&self, t: &Timeouts) -> RedisResult<Connection> {
        match self {
            Target::Server(client) => Ok(Connection::Managed(
                client
                    .get_connection_manager_with_config(Self::manager_config(t))
                    .await?,
            )),
            Target::Cluster { nodes, .. } => Ok(Connection::Cluster(
                Self::cluster_client(nodes, t)?
                    .get_async_connection_with_config(Self::cluster_config(t))
                    .await?,
            )),
        }
    }

    /// A connection of its own, for blocking commands (a blocking read would stall every
    /// other command on a shared one). It does not reconnect: drop it after an error.
    pub async fn dedicated(&self, t: &Timeouts) -> RedisResult<Connection> {
        match self {
            Target::Server(client) => Ok(Connection::Direct(
                client
                    .get_multiplexed_async_connection_with_config(
                        &AsyncConnectionConfig::new()
                            .set_response_timeout(Some(t.response))
                            .set_connection_timeout(Some(t.connect)),
                    )
                    .await?,
            )),
            Target::Cluster { .. } => self.connect(t).await,
        }
    }

    /// Clients to subscribe through, in the order to try them: the server, or every seed
    /// node of the cluster.
    pub fn pubsub_clients(&self) -> Vec<Client> {
        match self {
            Target::Server(client) => vec![client.clone()],
            Target::Cluster { clients, .. } => clients.clone(),
        }
    }
}

/// A connection to a server or a cluster; cheap to clone (the clones share the sockets).
#[derive(Clone)]
pub enum Connection {
    /// One server, reconnecting by itself.
    Managed(ConnectionManager),
    /// One server, a connection of its own ([`Target::dedicated`]).
    Direct(MultiplexedConnection),
    /// A cluster: commands routed by slot.
    Cluster(ClusterConnection),
}

impl Connection {
    pub fn is_cluster(&self) -> bool {
        matches!(self, Connection::Cluster(_))
    }

    /// Runs non-atomic pipelines whose commands are all `ignore()`d, each pipeline's keys in
    /// one slot: one round trip on a server (the groups are concatenated), the groups
    /// concurrently on a cluster (where one pipeline may not span slots).
    pub async fn exec_groups(&mut self, groups: Vec<Pipeline>) -> RedisResult<()> {
        if let Connection::Cluster(c) = self {
            let runs = groups.iter().map(|g| {
                let mut c = c.clone();
                async move { g.exec_async(&mut c).await }
            });
            for r in futures::future::join_all(runs).await {
                r?;
            }
            return Ok(());
        }
        let mut all = redis::pipe();
        for cmd in groups.iter().flat_map(|g| g.cmd_iter()) {
            all.add_command(cmd.clone()).ignore();
        }
        all.exec_async(self).await
    }

    /// Runs `pipe`'s commands atomically, their replies ignored: `MULTI`/`EXEC` on a server,
    /// one script call on a cluster. `key` is one of the keys, all of which share its slot.
    pub async fn exec_atomic(&mut self, pipe: &Pipeline, key: &str) -> RedisResult<()> {
        if !self.is_cluster() {
            let mut atomic = pipe.clone();
            return atomic.atomic().exec_async(self).await;
        }
        let mut invocation = ATOMIC_COMMANDS.key(key);
        for cmd in pipe.cmd_iter() {
            let args: Vec<&[u8]> = cmd
                .args_iter()
                .filter_map(|a| match a {
                    redis::Arg::Simple(bytes) => Some(bytes),
                    // A cursor argument belongs to SCAN-like commands, never in a transaction.
                    _ => None,
                })
                .collect();
            invocation.arg(args.len());
            for a in args {
                invocation.arg(a);
            }
        }
        invocation.invoke_async::<i64>(self).await.map(|_| ())
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Managed(c) => c.req_packed_command(cmd),
            Connection::Direct(c) => c.req_packed_command(cmd),
            Connection::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Managed(c) => c.req_packed_commands(cmd, offset, count),
            Connection::Direct(c) => c.req_packed_commands(cmd, offset, count),
            Connection::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Managed(c) => c.get_db(),
            Connection::Direct(c) => c.get_db(),
            Connection::Cluster(c) => c.get_db(),
        }
    }
}

/// Whether an error means "Redis cannot answer right now" rather than a bug: I/O, refused,
/// dropped or timed-out connections, and what a cluster answers while it fails over (no
/// connection to a slot's node, `CLUSTERDOWN`, `TRYAGAIN`, `MASTERDOWN`, `READONLY` from a
/// demoted master, `LOADING`), also inside an aborted transaction or a pipeline.
pub fn is_unavailable(e: &RedisError) -> bool {
    use redis::{ErrorKind, ServerErrorKind};
    let transient = |kind: Option<ServerErrorKind>| {
        matches!(
            kind,
            Some(
                ServerErrorKind::Moved
                    | ServerErrorKind::Ask
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::ClusterDown
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::ReadOnly
                    | ServerErrorKind::BusyLoading
            )
        )
    };
    // An aborted transaction or a pipeline carries the errors of its commands.
    let inner_transient = e
        .clone()
        .into_server_errors()
        .is_some_and(|errors| errors.iter().any(|(_, err)| transient(err.kind())));
    inner_transient
        || e.is_io_error()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
        || e.is_timeout()
        || e.is_unrecoverable_error()
        || e.kind() == ErrorKind::ClusterConnectionNotFound
}
