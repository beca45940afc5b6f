//! The Vitrine origin: catalog, text search, images and health behind the edge.
//!
//! `main.rs` only parses the command line; everything else is here so tests can start the
//! real server on port 0 (`startup::build_state` + `startup::run`).

pub mod alloc;
pub mod auth;
pub mod cache;
pub mod catalog;
pub mod compression;
pub mod config;
pub mod db;
pub mod error;
pub mod images;
pub mod jobs;
pub mod metrics;
pub mod openapi;
pub mod rate_limit;
pub mod routes;
pub mod search;
pub mod startup;
pub mod state;
pub mod stats;
pub mod telemetry;
