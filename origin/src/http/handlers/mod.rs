//! One file per resource: each handler parses its request, calls the domain module that owns
//! the work and shapes the response. The routes table is in `http/router.rs`.

pub mod admin;
pub mod cache;
pub mod health;
pub mod images;
pub mod job_admin;
pub mod jobs;
pub mod metrics;
pub mod products;
pub mod schedules;
pub mod search;
pub mod session;
pub mod storefront;
pub mod synonyms;
pub mod visual;
