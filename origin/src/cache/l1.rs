//! What L1 (moka) holds per key: the bytes, their absolute expiry (so an entry filled from L2
//! expires when the L2 entry does) and their tags; moka expires each entry at its own time.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use moka::Expiry;
use vitrine_common::cache_key::Tag;

#[derive(Clone)]
pub(super) struct L1Value {
    pub(super) bytes: Bytes,
    pub(super) expires_at: Instant,
    pub(super) tags: Arc<[Tag]>,
}

pub(super) struct L1Expiry;

impl Expiry<String, L1Value> for L1Expiry {
    fn expire_after_create(
        &self,
        _key: &String,
        value: &L1Value,
        created_at: Instant,
    ) -> Option<Duration> {
        Some(value.expires_at.saturating_duration_since(created_at))
    }

    fn expire_after_update(
        &self,
        _key: &String,
        value: &L1Value,
        updated_at: Instant,
        _current: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.expires_at.saturating_duration_since(updated_at))
    }
}
