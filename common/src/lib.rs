//! The pure core of Vitrine, shared by the origin (native) and the edge (wasm32).
//!
//! Nothing in this crate reads the clock, the environment or the network: callers pass
//! `now` and settings in. That keeps every rule deterministic, unit-testable and usable
//! unchanged inside a Cloudflare Worker.

pub mod api;
pub mod cache_key;
pub mod error;
pub mod http_cache;
pub mod negotiate;
pub mod placeholder;
pub mod product_images;
pub mod rate_limit;
pub mod signature;
pub mod thumbnail;
