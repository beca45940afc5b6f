//! Redis, shared by every feature that uses it: the response cache's L2 and invalidations,
//! the rate limiter's GCRA state, visual search's announcements and the job queue's streams.
//!
//! - `connection.rs`: one server or a Redis Cluster (`REDIS_URL=redis+cluster://…`) behind
//!   one connection type, and what differs on a cluster;
//! - `client.rs`: the shared connection (auto-reconnecting, every call bounded by a timeout
//!   and gated by the breaker) and the commands the origin sends;
//! - `breaker.rs`: the circuit breaker in front of it;
//! - `subscription.rs`: a pub/sub subscription that reconnects by itself;
//! - `lua/`: the server-side scripts, one `.lua` file each, loaded with `include_str!` by the
//!   module that runs them.
//!
//! Redis is optional (`REDIS_URL` unset: the cache is L1 only, limits are per instance, the
//! queue is in process) and fallible: a call that fails or times out answers
//! [`CallError`], and its caller falls back as its own module documents.

pub mod breaker;
pub mod client;
pub mod connection;
pub mod subscription;

pub use client::{CallError, Redis};
pub use connection::{Connection, Target, Timeouts, is_unavailable};
pub use subscription::{Event, Subscription};
