//! The HTTP layer: the router, the state handlers receive, errors as problem documents, API
//! keys, embedded pages with hashed assets (`bundle`), the OpenAPI document, the middleware, one file of handlers per resource, and the
//! accept loop with its connection limits (`serve`).
//!
//! Everything below depends on the domain modules (`catalog`, `search`, `images`, `jobs`,
//! `cache`, `rate_limit`) and never the other way round: a domain module takes what it needs
//! as arguments and returns its own errors, which `error/convert.rs` maps to statuses.

pub mod auth;
pub mod bundle;
pub mod error;
pub mod handlers;
pub mod middleware;
pub mod openapi;
pub mod router;
pub mod serve;
pub mod state;

pub use error::{ApiError, ApiJson, Problem};
pub use router::router;
pub use state::{AppParts, AppState};
