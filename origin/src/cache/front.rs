//! The hot front of L1: a small sharded map that answers repeated hits before moka does.
//!
//! Why: moka is the right L1 (bounded by bytes, TinyLFU admission, per-entry expiry, tag
//! predicates, single-flight loads), but every `get` also records the access for its
//! eviction policy and its expiry wheels, which caps a hit at roughly a microsecond. The hot
//! keys of a storefront (the popular searches, the products on the first page) are few and
//! read constantly; for them a plain read-locked hash map lookup and a reference-count bump
//! are enough. So a hit in moka copies the entry's handle here, and later hits of that key
//! are answered from here without touching moka.
//!
//! Correctness rules:
//! * An entry keeps its `expires_at` and is a miss past it, exactly like moka's.
//! * Every L1 invalidation (key, tag, namespace, clear) bumps the front's epoch **after**
//!   moka has dropped the entries, and an entry is only used when its epoch is the current
//!   one, so one atomic increment invalidates the whole front. A reader inserts with the
//!   epoch it saw *before* reading moka and the insert is refused if the epoch moved, so a
//!   value read just before an invalidation cannot be planted after it.
//! * A value moka evicted for size stays valid here until it expires (it did not change);
//!   the front is bounded by its own byte budget (a fraction of L1's) and entry count, and a
//!   full shard is simply emptied.

use std::{
    collections::HashMap,
    hash::BuildHasher,
    sync::atomic::{AtomicU64, Ordering},
    time::Instant,
};

use bytes::Bytes;
use crossbeam_utils::CachePadded;
use parking_lot::RwLock;

const SHARDS: usize = 64;
/// Entries per shard before it is emptied.
const MAX_ENTRIES_PER_SHARD: usize = 1024;

#[derive(Debug, Clone)]
struct Entry {
    bytes: Bytes,
    expires_at: Instant,
    epoch: u64,
}

#[derive(Debug, Default)]
struct Shard {
    map: HashMap<Box<str>, Entry, foldhash::fast::FixedState>,
    bytes: usize,
}

/// See the module docs.
#[derive(Debug)]
pub struct HotFront {
    shards: Box<[CachePadded<RwLock<Shard>>]>,
    epoch: CachePadded<AtomicU64>,
    hasher: foldhash::fast::FixedState,
    max_bytes_per_shard: usize,
}

impl HotFront {
    /// A front holding at most `max_bytes` of values (0 disables it).
    pub fn new(max_bytes: u64) -> HotFront {
        HotFront {
            shards: (0..SHARDS).map(|_| CachePadded::default()).collect(),
            epoch: CachePadded::new(AtomicU64::new(0)),
            hasher: foldhash::fast::FixedState::with_seed(0x0076_6974_7269_6e65),
            max_bytes_per_shard: usize::try_from(max_bytes / SHARDS as u64).unwrap_or(usize::MAX),
        }
    }

    fn shard(&self, key: &str) -> &RwLock<Shard> {
        let h = self.hasher.hash_one(key);
        &self.shards[(h >> 58) as usize % SHARDS]
    }

    /// The epoch to pass to [`HotFront::insert`]: read it before reading moka.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// The value of `key` if the front holds a current, unexpired one.
    pub fn get(&self, key: &str, now: Instant) -> Option<Bytes> {
        if self.max_bytes_per_shard == 0 {
            return None;
        }
        let epoch = self.epoch();
        let shard = self.shard(key).read();
        let e = shard.map.get(key)?;
        (e.epoch == epoch && e.expires_at > now).then(|| e.bytes.clone())
    }

    /// Copies an L1 hit here, unless the front's epoch moved since `seen_epoch` (an
    /// invalidation ran meanwhile) or the value is too large for a shard's budget.
    pub fn insert(&self, key: &str, bytes: &Bytes, expires_at: Instant, seen_epoch: u64) {
        let size = key.len() + bytes.len();
        if size > self.max_bytes_per_shard / 4 {
            return;
        }
        let mut shard = self.shard(key).write();
        // Checked under the lock: an entry is either refused here or in place before a
        // concurrent bump, which then makes it stale.
        if self.epoch() != seen_epoch {
            return;
        }
        if shard.bytes + size > self.max_bytes_per_shard || shard.map.len() >= MAX_ENTRIES_PER_SHARD
        {
            shard.map.clear();
            shard.bytes = 0;
        }
        let entry = Entry {
            bytes: bytes.clone(),
            expires_at,
            epoch: seen_epoch,
        };
        if let Some(old) = shard.map.insert(key.into(), entry) {
            shard.bytes = shard.bytes.saturating_sub(key.len() + old.bytes.len());
        }
        shard.bytes += size;
    }

    /// Makes every entry stale (call after L1 dropped entries).
    pub fn invalidate_all(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn later(secs: u64) -> Instant {
        Instant::now() + Duration::from_secs(secs)
    }

    #[test]
    fn hits_until_expiry_or_invalidation() {
        let f = HotFront::new(1 << 20);
        let v = Bytes::from_static(b"value");
        assert_eq!(f.get("k", Instant::now()), None);
        f.insert("k", &v, later(60), f.epoch());
        assert_eq!(f.get("k", Instant::now()), Some(v.clone()));
        assert_eq!(f.get("k", later(61)), None, "expired");
        f.invalidate_all();
        assert_eq!(f.get("k", Instant::now()), None, "invalidated");
    }

    #[test]
    fn an_insert_that_raced_an_invalidation_is_refused() {
        let f = HotFront::new(1 << 20);
        let seen = f.epoch();
        f.invalidate_all();
        f.insert("k", &Bytes::from_static(b"old"), later(60), seen);
        assert_eq!(f.get("k", Instant::now()), None);
    }

    #[test]
    fn stays_within_its_budget() {
        let f = HotFront::new(64 * 1024);
        let v = Bytes::from(vec![0u8; 200]);
        for i in 0..10_000 {
            f.insert(&format!("key-{i}"), &v, later(60), f.epoch());
        }
        let total: usize = f.shards.iter().map(|s| s.read().bytes).sum();
        assert!(total <= 64 * 1024, "{total}");
        // Too large for a shard: never held.
        f.insert("big", &Bytes::from(vec![0u8; 4096]), later(60), f.epoch());
        assert_eq!(f.get("big", Instant::now()), None);
        let off = HotFront::new(0);
        off.insert("k", &v, later(60), off.epoch());
        assert_eq!(off.get("k", Instant::now()), None);
    }
}
