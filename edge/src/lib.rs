//! The Vitrine edge Worker: caching, compression negotiation, rate limiting and small
//! thumbnails close to shoppers, in front of the axum origin.
//!
//! This file holds only the Worker's entry point; the logic lives in the modules below, each
//! an adapter around the pure rules in `vitrine-common` (the edge keeps no copies of them).
//! Natively the crate compiles to its pure decision logic only — settings, cache metadata,
//! header rewriting, route and thumbnail planning — so it is unit-tested and linted with the
//! workspace; the Workers runtime parts are behind `cfg(target_arch = "wasm32")`.
//!
//! | concern | module |
//! |---|---|
//! | settings from vars/secrets | [`config`] |
//! | routing, the request pipeline, purge | [`routes`] |
//! | Cache API, SWR, stale-if-error, tag index | [`cache`] |
//! | forwarding, headers, timeouts | [`origin`] |
//! | GCRA in a Durable Object | [`rate_limit`] |
//! | small thumbnails in wasm | [`thumbnail`] |
//! | originals kept in the isolate between requests | [`memo`] |
//! | problem+json errors | [`error`] |

pub mod cache;
pub mod config;
pub mod error;
pub mod memo;
pub mod origin;
pub mod rate_limit;
pub mod routes;
pub mod thumbnail;

pub use vitrine_common as common;

#[cfg(target_arch = "wasm32")]
#[worker::event(fetch)]
async fn fetch(
    req: worker::Request,
    env: worker::Env,
    ctx: worker::Context,
) -> worker::Result<worker::Response> {
    routes::handle(req, env, ctx).await
}
