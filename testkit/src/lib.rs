//! The test kit: what the origin's integration tests (`origin/tests/api/`) and the
//! end-to-end tests (`tests/`) share, one file per thing it provides.
//!
//! - [`ports`]: a free loopback port.
//! - [`postgres`]: a fresh, empty database on the test Postgres (`TEST_DATABASE_URL`), and the
//!   `host:port` of a Postgres URL.
//! - [`pgbouncer`]: a PgBouncer of the test's own in transaction mode, in front of the test
//!   Postgres.
//! - [`redis`]: the shared test Redis (`TEST_REDIS_URL`) with unique key prefixes, and
//!   `redis-server`s of a test's own, killed on drop.
//! - [`redis_cluster`]: a local Redis Cluster (3 masters, 3 replicas) of a test's own.
//! - [`fault_proxy`]: a TCP proxy a test can cut, reopen or slow down.
//! - [`nginx`]: nginx as a round-robin load balancer of the test's own.
//! - [`object_store`]: a real S3-compatible server of the test's own (`scripts/object-store.sh`).
//! - [`origin_process`]: the real `vitrine-origin` binary as a child process on a free port.
//! - [`wait`]: readiness waits (an HTTP readiness endpoint, a TCP port that accepts).
//! - [`temp`]: temporary directories removed on drop.
//! - [`tool`]: binaries the project's scripts install (nginx, PgBouncer).
//!
//! Everything here is for tests: failures panic with a message that says what to do.

pub mod fault_proxy;
pub mod nginx;
pub mod object_store;
pub mod origin_process;
pub mod pgbouncer;
pub mod ports;
pub mod postgres;
pub mod redis;
pub mod redis_cluster;
pub mod temp;
pub mod tool;
pub mod wait;

pub use fault_proxy::FaultProxy;
pub use nginx::Nginx;
pub use object_store::ObjectStoreServer;
pub use origin_process::{OriginProcess, Stdout, origin_binary};
pub use pgbouncer::PgBouncer;
pub use ports::free_port;
pub use postgres::{fresh_postgres, upstream_of};
pub use redis::{OwnRedis, test_redis_url, unique_prefix};
pub use redis_cluster::RedisCluster;
pub use temp::{TempDir, temp_dir};
pub use wait::{wait_for_port, wait_ready};
