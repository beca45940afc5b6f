//! One file per resource: each handler parses its request, calls the domain module that owns
//! the work and shapes the response. The routes table is in `http/router.rs`.

pub mod cache;
pub mod health;
pub mod images;
pub mod jobs;
pub mod metrics;
pub mod products;
pub mod search;
pub mod storefront;
pub mod synonyms;
pub mod visual;
