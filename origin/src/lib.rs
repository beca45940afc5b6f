//! The Vitrine origin: catalog, text search, photo search, images and jobs behind the edge.
//!
//! `main.rs` only parses the command line; everything else is here so tests can start the
//! real server on port 0 (`startup::build_state` + `startup::run`).
//!
//! # Layout
//!
//! The modules form layers; each imports only from the layers listed before it, never from a
//! later one, and no two modules import each other (checked by `scripts/ci/check-layout.py`):
//!
//! 1. **Infrastructure**: `config` (settings from the environment), `db` (Postgres or SQLite
//!    through one pool type), `redis` (client with timeouts, breaker, pub/sub, Lua scripts),
//!    `observability` (metrics, performance report, logging, statistics), `alloc`.
//! 2. **Domain**: `cache` (the two-tier response cache), `rate_limit` (the GCRA limiter),
//!    `jobs` (the queue and its workers), `images` (store, signed URLs, thumbnails, batch
//!    tasks), `search` (text index and photo search), `catalog` (the only way products
//!    change, and the order a change propagates in).
//! 3. **HTTP**: `http` (router, state, errors, auth, OpenAPI, middleware, handlers, and the
//!    accept loop with its connection limits).
//! 4. **Server**: `startup` (builds the state, starts the workers, serves until shutdown).

pub mod alloc;
pub mod cache;
pub mod catalog;
pub mod config;
pub mod db;
pub mod http;
pub mod images;
pub mod jobs;
pub mod observability;
pub mod rate_limit;
pub mod redis;
pub mod search;
pub mod startup;
