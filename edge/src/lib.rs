//! The Vitrine edge Worker.
//!
//! For now a native library that links the pure core, so the workspace builds end to end;
//! the wasm32 Worker (`#[event(fetch)]`, Cache API, Durable Object rate limiter, small
//! thumbnails) is built on top of `vitrine-common` without copying any of its rules.

pub use vitrine_common as common;
