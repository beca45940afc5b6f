//! The origin's integration tests: one binary (faster to link), a module per concern.
//!
//! Most tests run twice, against SQLite and against the real Postgres on this machine
//! (`TEST_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`), each in
//! a fresh database. A Postgres that cannot be reached fails the test with a message that
//! says how to start it.
#![allow(clippy::unwrap_used)]

mod helpers;

mod admin;
mod cache;
mod catalog;
mod compression;
mod connections;
mod errors;
mod faults;
mod health;
mod images;
mod in_process;
mod job_admin;
mod job_limits;
mod jobs;
mod metrics;
mod object_store;
mod openapi;
mod pgbouncer;
mod placeholders;
mod products;
mod rate_limit;
mod redis_cluster;
mod relevance;
mod run_at;
mod schedules;
mod search;
mod search_steer;
mod shutdown;
mod storefront;
mod visual;
mod visual_data;
mod visual_model;
