//! The two-tier read-through cache: L1 in process (moka, bounded by bytes), L2 in Redis
//! (shared by every origin instance), with single-flight, namespace generations, tags and
//! pub/sub invalidation.
//!
//! Why two tiers: L1 answers in well under a microsecond and survives a Redis outage; L2
//! lets a key computed by one instance serve all of them and survives restarts. Reads go
//! L1 → L2 → compute; a computed value is written to L1 at once and to L2 in the background
//! (a request never waits for the write).
//!
//! Why single-flight: when a popular search expires, a hundred concurrent requests must not
//! run a hundred identical searches. moka's `entry().or_try_insert_with` runs the loader of
//! one key once while the other callers wait for its result; the loader itself consults L2
//! first, so the whole L2 lookup + computation happens once per key per instance.
//!
//! Invalidation, without `KEYS`:
//! * A product write unlinks that product's key (and its tag set) in L2, drops it from L1,
//!   and bumps the `search` namespace generation (`INCR` of `v1:gen:search` in Redis), since
//!   any cached search may contain the product. Keys carry their generation
//!   (`common::cache_key::CacheKey::in_generation`), so old search entries in Redis become
//!   unreachable at once and age out by TTL.
//! * Every invalidation is published on a Redis channel; every instance subscribed to it
//!   drops the same entries from its L1 and adopts the new generation. When the subscription
//!   is lost or Redis comes back after an outage, an instance cannot know what it missed, so
//!   it re-reads the generations and clears its L1.
//! * Before a remote `search` invalidation is applied, an optional hook runs (the origin
//!   syncs its search index from the database there), so an instance never re-caches a
//!   search computed from an index that does not have the write yet.
//!
//! Redis is optional (`REDIS_URL` unset → L1 only) and fallible: every L2 call goes through
//! [`crate::redis::Redis`], bounded by `CACHE_REDIS_TIMEOUT` and gated by its circuit breaker.
//!
//! Files: `front.rs` (hot front of L1 hits), `l1.rs` (entries and expiry), `l2.rs` (the value
//! format in Redis), `invalidate.rs` (keys, tags, generations), `remote.rs` (invalidations from
//! other instances, resynchronising after an outage), `stats.rs` (counters).

pub mod front;
mod invalidate;
mod l1;
pub mod l2;
mod remote;
pub mod stats;

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use moka::future::Cache as Moka;
use serde_json::{Value, json};
use vitrine_common::cache_key::{self, CacheKey, Namespace, Tag};

use self::l1::{L1Expiry, L1Value};
use self::stats::{CacheStats, Operation, Status, Tier};
use crate::config::Settings;
use crate::observability::Snapshot;
pub use crate::redis::{CallError, Redis};

/// Jitter applied to namespace TTLs: up to 10 % shorter, so entries written together do not
/// expire together.
const TTL_JITTER: f64 = 0.1;

/// Per-entry bookkeeping counted against the L1 byte budget (key, Arc, moka's node).
const L1_ENTRY_OVERHEAD: usize = 96;

/// The hot front may hold this fraction of the L1 budget (its values are mostly shared with
/// moka's entries, so this is an upper bound on the extra memory).
const FRONT_SHARE: u64 = 8;

/// Where a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// In-process tier (or another request's in-flight computation).
    L1,
    /// Redis.
    L2,
    /// Computed by this call.
    Computed,
    /// The cache is disabled or the caller asked to skip it.
    Bypass,
}

impl Source {
    /// The `x-cache` response header value.
    pub fn as_header(self) -> &'static str {
        match self {
            Source::L1 => "HIT-L1",
            Source::L2 => "HIT-L2",
            Source::Computed => "MISS",
            Source::Bypass => "BYPASS",
        }
    }
}

const SRC_L1: u8 = 0;
const SRC_L2: u8 = 1;
const SRC_COMPUTED: u8 = 2;

/// Runs before a remote namespace invalidation is applied (see the module docs).
pub type RemoteHook =
    Arc<dyn Fn(Namespace) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

struct Inner {
    enabled: bool,
    default_ttl: Duration,
    l1: Moka<String, L1Value>,
    /// Hot keys answered before moka (see `front.rs`).
    front: front::HotFront,
    l1_max_bytes: u64,
    l2: Option<Arc<Redis>>,
    generations: [AtomicU64; Namespace::ALL.len()],
    /// Namespaces bumped while Redis was unreachable: bumped again in Redis on recovery.
    pending_bumps: [AtomicBool; Namespace::ALL.len()],
    stats: CacheStats,
    instance: String,
    remote_hook: OnceLock<RemoteHook>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// The cache handle: cheap to clone.
#[derive(Clone)]
pub struct Cache(Arc<Inner>);

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("enabled", &self.0.enabled)
            .field("l2", &self.0.l2)
            .finish()
    }
}

impl Cache {
    /// Builds the cache from settings. With `REDIS_URL` set it also starts the pub/sub
    /// listener and the recovery task (so it must be called inside a tokio runtime).
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Cache> {
        let l2 = match &settings.redis_url {
            Some(url) => Some(Redis::new(url, &settings.cache)?),
            None => None,
        };
        let cache = Cache::new(
            settings.cache.enabled,
            settings.cache.l1_max_bytes,
            settings.cache.ttl_default,
            l2,
        );
        cache.start_background();
        Ok(cache)
    }

    /// A cache with the given L1 budget and optional Redis tier; background tasks are not
    /// started (see [`Cache::start_background`]).
    pub fn new(
        enabled: bool,
        l1_max_bytes: u64,
        default_ttl: Duration,
        l2: Option<Arc<Redis>>,
    ) -> Cache {
        let l1 = Moka::builder()
            .max_capacity(l1_max_bytes)
            .weigher(|k: &String, v: &L1Value| {
                u32::try_from(k.len() + v.bytes.len() + L1_ENTRY_OVERHEAD).unwrap_or(u32::MAX)
            })
            .expire_after(L1Expiry)
            .support_invalidation_closures()
            .build();
        Cache(Arc::new(Inner {
            enabled,
            default_ttl,
            l1,
            front: front::HotFront::new(l1_max_bytes / FRONT_SHARE),
            l1_max_bytes,
            l2,
            generations: Default::default(),
            pending_bumps: Default::default(),
            stats: CacheStats::default(),
            instance: uuid::Uuid::new_v4().simple().to_string(),
            remote_hook: OnceLock::new(),
            tasks: Mutex::new(Vec::new()),
        }))
    }

    pub fn enabled(&self) -> bool {
        self.0.enabled
    }

    pub fn stats(&self) -> &CacheStats {
        &self.0.stats
    }

    /// The Redis tier, shared with the rate limiter.
    pub fn redis(&self) -> Option<&Arc<Redis>> {
        self.0.l2.as_ref()
    }

    /// True while Redis is configured but the breaker keeps it out.
    pub fn degraded(&self) -> bool {
        self.0.l2.as_ref().is_some_and(|r| r.breaker.is_open())
    }

    /// Sets the hook run before remote namespace invalidations (once; later calls ignored).
    pub fn set_remote_hook(&self, hook: RemoteHook) {
        let _ = self.0.remote_hook.set(hook);
    }

    /// The current generation of a namespace in this process.
    pub fn generation(&self, ns: Namespace) -> u64 {
        self.0.generations[ns.index()].load(Ordering::Acquire)
    }

    /// `key` in its namespace's current generation (no allocation in generation 0).
    fn current<'k>(&self, key: &'k CacheKey) -> std::borrow::Cow<'k, CacheKey> {
        match self.generation(key.namespace()) {
            0 => std::borrow::Cow::Borrowed(key),
            g => std::borrow::Cow::Owned(key.in_generation(g)),
        }
    }

    /// The L1 entry of `key`, if any (no L2, no computation, no counters): for benchmarks
    /// and diagnostics.
    pub async fn peek_l1(&self, key: &CacheKey) -> Option<Bytes> {
        self.0
            .l1
            .get(self.current(key).as_str())
            .await
            .map(|v| v.bytes)
    }

    /// The namespace TTL with jitter (`CACHE_TTL_DEFAULT` for `other`).
    pub fn ttl_for(&self, ns: Namespace) -> Duration {
        cache_key::ttl_with_jitter(ns, self.0.default_ttl, TTL_JITTER, rand::random())
    }

    /// Read-through: the value of `key` from L1, else L2, else `compute` (run at most once
    /// per key at a time in this process). `ttl` defaults to the namespace TTL with jitter;
    /// `tags` name the entry for [`Cache::invalidate_tag`]. Errors are not cached; every
    /// caller waiting on a failed computation gets the same error.
    pub async fn get_or_compute<F, E>(
        &self,
        key: &CacheKey,
        ttl: Option<Duration>,
        tags: &[Tag],
        compute: F,
    ) -> Result<(Bytes, Source), Arc<E>>
    where
        F: Future<Output = Result<Bytes, E>> + Send,
        E: Send + Sync + 'static,
    {
        let inner = &self.0;
        if !inner.enabled {
            inner.stats.record_bypass();
            return compute.await.map(|b| (b, Source::Bypass)).map_err(Arc::new);
        }
        let ns = key.namespace();
        let key = self.current(key);
        let started = Instant::now();
        // The hit paths first: the hot front, then a plain moka lookup; both are much
        // cheaper than the entry API below, which exists for single-flight on a miss.
        if let Some(bytes) = inner.front.get(key.as_str(), started) {
            inner.stats.record_l1_hit(ns, started);
            return Ok((bytes, Source::L1));
        }
        let front_epoch = inner.front.epoch();
        if let Some(v) = inner.l1.get(key.as_str()).await {
            inner
                .front
                .insert(key.as_str(), &v.bytes, v.expires_at, front_epoch);
            inner.stats.record_l1_hit(ns, started);
            return Ok((v.bytes, Source::L1));
        }
        let source = AtomicU8::new(SRC_L1);
        let loader = async {
            inner.stats.record_get(ns, Tier::L1, false);
            if let Some(l2) = &inner.l2 {
                let t = Instant::now();
                let got = l2.get(key.as_str()).await;
                inner.stats.observe_get(Tier::L2, t.elapsed().as_secs_f64());
                match got {
                    Ok(Some(raw)) => match l2::decode_value(&raw) {
                        Some((expires_ms, payload)) if expires_ms > l2::unix_ms() => {
                            inner.stats.record_get(ns, Tier::L2, true);
                            source.store(SRC_L2, Ordering::Relaxed);
                            let left = Duration::from_millis(expires_ms - l2::unix_ms());
                            return Ok(L1Value {
                                bytes: payload,
                                expires_at: Instant::now() + left,
                                tags: tags.into(),
                            });
                        }
                        _ => inner.stats.record_get(ns, Tier::L2, false),
                    },
                    Ok(None) => inner.stats.record_get(ns, Tier::L2, false),
                    Err(CallError::Skipped) => {
                        inner
                            .stats
                            .record_op(Operation::Get, Status::Skipped, Tier::L2)
                    }
                    Err(CallError::Failed) => {
                        inner
                            .stats
                            .record_op(Operation::Get, Status::Error, Tier::L2)
                    }
                }
            }
            source.store(SRC_COMPUTED, Ordering::Relaxed);
            inner.stats.record_computation(ns);
            let bytes = compute.await?;
            let ttl = ttl.unwrap_or_else(|| self.ttl_for(ns));
            inner.stats.record_op(Operation::Set, Status::Ok, Tier::L1);
            if inner.l2.is_some() {
                self.spawn_l2_set(key.clone().into_owned(), bytes.clone(), ttl, tags);
            }
            Ok(L1Value {
                bytes,
                expires_at: Instant::now() + ttl,
                tags: tags.into(),
            })
        };
        let entry = inner
            .l1
            .entry_by_ref(key.as_str())
            .or_try_insert_with(loader)
            .await?;
        let source = if entry.is_fresh() {
            match source.load(Ordering::Relaxed) {
                SRC_L2 => Source::L2,
                SRC_COMPUTED => Source::Computed,
                _ => Source::L1,
            }
        } else {
            inner.stats.record_l1_hit(ns, started);
            Source::L1
        };
        Ok((entry.into_value().bytes, source))
    }

    fn spawn_l2_set(&self, key: CacheKey, bytes: Bytes, ttl: Duration, tags: &[Tag]) {
        let this = self.clone();
        let tag_sets: Vec<String> = tags.iter().map(Tag::members_key).collect();
        tokio::spawn(async move {
            let Some(l2) = &this.0.l2 else { return };
            let value = l2::encode_value(
                l2::unix_ms() + u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX / 2),
                &bytes,
            );
            let t = Instant::now();
            let r = l2.set(key.as_str(), value, ttl, &tag_sets).await;
            this.0
                .stats
                .observe_set(Tier::L2, t.elapsed().as_secs_f64());
            let status = match r {
                Ok(()) => Status::Ok,
                Err(CallError::Skipped) => Status::Skipped,
                Err(CallError::Failed) => Status::Error,
            };
            this.0.stats.record_op(Operation::Set, status, Tier::L2);
        });
    }

    /// Asks Redis for a PING if the breaker allows it: lets the health page drive recovery.
    pub async fn probe(&self) -> Option<Result<Duration, CallError>> {
        match &self.0.l2 {
            Some(l2) => Some(l2.ping().await),
            None => None,
        }
    }

    /// The health document of `/api/health/cache`.
    pub async fn health(&self) -> Value {
        let l2 = match self.probe().await {
            None => json!({"configured": false}),
            Some(r) => {
                let breaker = self.0.l2.as_ref().map(|l| &l.breaker);
                json!({
                    "configured": true,
                    "reachable": r.is_ok(),
                    "latency_ms": r.ok().map(|d| d.as_secs_f64() * 1000.0),
                    "circuit_breaker": if self.degraded() { "open" } else { "closed" },
                    "breaker_opened_total": breaker.map(|b| b.times_opened.load(Ordering::Relaxed)),
                })
            }
        };
        let status = if !self.0.enabled {
            "disabled"
        } else if self.degraded() {
            "degraded"
        } else {
            "ok"
        };
        self.0.l1.run_pending_tasks().await;
        json!({
            "status": status,
            "enabled": self.0.enabled,
            "l1": {
                "entries": self.0.l1.entry_count(),
                "bytes": self.0.l1.weighted_size(),
                "max_bytes": self.0.l1_max_bytes,
            },
            "l2": l2,
            "generations": Namespace::ALL.iter().map(|ns| (ns.as_str().to_owned(), json!(self.generation(*ns)))).collect::<serde_json::Map<_, _>>(),
            "stats": self.0.stats.snapshot(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(
        cache: &Cache,
        key: &CacheKey,
        tags: &[Tag],
        value: &'static str,
    ) -> (Bytes, Source) {
        cache
            .get_or_compute(key, None, tags, async move {
                Ok::<_, std::io::Error>(Bytes::from_static(value.as_bytes()))
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Repeated hits come from the hot front; every kind of invalidation reaches it, so an
    /// invalidated value is never served again from there.
    #[tokio::test]
    async fn the_hot_front_never_outlives_an_invalidation() {
        let cache = Cache::new(true, 1 << 20, Duration::from_secs(3600), None);
        let key = cache_key::product(7);
        let tags = [Tag::product(7)];
        assert_eq!(read(&cache, &key, &tags, "v1").await.1, Source::Computed);
        for _ in 0..3 {
            assert_eq!(
                read(&cache, &key, &tags, "other").await,
                (Bytes::from_static(b"v1"), Source::L1)
            );
        }
        assert!(
            cache.0.front.get(key.as_str(), Instant::now()).is_some(),
            "held by the front"
        );
        assert_eq!(cache.stats().hits(Namespace::Product, Tier::L1), 3);

        cache.invalidate_products(&[7]).await;
        assert_eq!(
            read(&cache, &key, &tags, "v2").await,
            (Bytes::from_static(b"v2"), Source::Computed)
        );
        assert_eq!(
            read(&cache, &key, &tags, "other").await.0,
            Bytes::from_static(b"v2")
        );
        assert_eq!(
            read(&cache, &key, &tags, "other").await.0,
            Bytes::from_static(b"v2")
        );

        cache.invalidate_tag(&Tag::product(7)).await;
        assert_eq!(
            read(&cache, &key, &tags, "v3").await,
            (Bytes::from_static(b"v3"), Source::Computed)
        );
        assert_eq!(
            read(&cache, &key, &tags, "other").await.0,
            Bytes::from_static(b"v3")
        );

        let search = cache_key::search_results(
            "mug",
            &vitrine_common::api::SearchFilters::default(),
            vitrine_common::api::SortOrder::Relevance,
            vitrine_common::api::Limit::default(),
            vitrine_common::api::Offset::default(),
        );
        read(&cache, &search, &[], "s1").await;
        assert_eq!(
            read(&cache, &search, &[], "other").await.0,
            Bytes::from_static(b"s1")
        );
        cache.invalidate_namespace(Namespace::Search).await;
        assert_eq!(
            read(&cache, &search, &[], "s2").await,
            (Bytes::from_static(b"s2"), Source::Computed)
        );
    }
}
