//! The middleware around every route, one file each (the order they run in is in
//! `http/router.rs`): request id, recording, rate limit, compression; and the cached-JSON
//! helper handlers wrap their responses in.

pub mod cached_json;
pub mod compression;
pub mod rate_limit;
pub mod record;
pub mod request_id;
