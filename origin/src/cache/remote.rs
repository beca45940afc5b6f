//! Keeping in step with the other instances: applying what they publish, re-reading the
//! generations after a lost subscription or a Redis outage, and the background tasks that
//! listen.

use std::sync::{Arc, atomic::Ordering};

use vitrine_common::cache_key::{self, Namespace, Tag};

use super::{Cache, Inner, invalidate::InvalidationMessage};
use crate::redis::{Event, Redis, Subscription};

impl Cache {
    /// Applies an invalidation published by another instance.
    async fn apply_remote(&self, payload: &[u8]) {
        let Ok(msg) = serde_json::from_slice::<InvalidationMessage>(payload) else {
            tracing::warn!("ignoring a malformed cache invalidation message");
            return;
        };
        if msg.from == self.0.instance {
            return;
        }
        for k in &msg.keys {
            self.0.l1.invalidate(k.as_str()).await;
        }
        self.0.front.invalidate_all();
        for t in &msg.tags {
            if let Ok(tag) = Tag::parse(t) {
                self.drop_tag_locally(tag);
            }
        }
        for (name, generation) in &msg.namespaces {
            let Ok(ns) = Namespace::parse(name) else {
                continue;
            };
            if let Some(hook) = self.0.remote_hook.get() {
                hook(ns).await;
            }
            let before = self.0.generations[ns.index()].fetch_max(*generation, Ordering::AcqRel);
            if before >= *generation {
                // We bumped on our own while Redis was away and are now at or past the
                // shared counter: the generation cannot tell old from new, so drop L1.
                self.0.l1.invalidate_all();
                self.0.front.invalidate_all();
            }
        }
        self.0.stats.record_invalidation(true);
    }

    /// Re-reads every generation from Redis (after a gap in what we heard) and clears L1.
    /// Raises each namespace's generation to the shared counter in Redis.
    async fn load_generations(&self, l2: &Redis) {
        let keys: Vec<String> = Namespace::ALL
            .iter()
            .map(|ns| cache_key::generation_counter_key(*ns))
            .collect();
        if let Ok(gens) = l2.get_counters(&keys).await {
            for (ns, g) in Namespace::ALL.iter().zip(gens) {
                self.0.generations[ns.index()].fetch_max(g, Ordering::AcqRel);
            }
        }
    }

    async fn resynchronise(&self) {
        let Some(l2) = &self.0.l2 else { return };
        // First push the bumps made while Redis was away, so the others hear of them.
        for ns in Namespace::ALL {
            if self.0.pending_bumps[ns.index()].swap(false, Ordering::AcqRel) {
                self.invalidate_namespace(ns).await;
            }
        }
        self.load_generations(l2).await;
        self.0.l1.invalidate_all();
        self.0.front.invalidate_all();
    }

    /// Starts the pub/sub listener and the recovery task (no-op without Redis).
    pub fn start_background(&self) {
        let Some(l2) = self.0.l2.clone() else { return };
        let weak = Arc::downgrade(&self.0);
        let listener = tokio::spawn(listen(weak.clone(), l2.clone()));
        let recovery = tokio::spawn(async move {
            loop {
                l2.recovered.notified().await;
                let Some(inner) = weak.upgrade() else { return };
                Cache(inner).resynchronise().await;
            }
        });
        if let Ok(mut tasks) = self.0.tasks.lock() {
            tasks.push(listener);
            tasks.push(recovery);
        }
    }

    /// Stops the background tasks (graceful shutdown).
    pub fn shutdown(&self) {
        if let Ok(mut tasks) = self.0.tasks.lock() {
            for t in tasks.drain(..) {
                t.abort();
            }
        }
    }
}

/// Subscribes to the invalidation channel and applies what arrives, reconnecting forever.
async fn listen(weak: std::sync::Weak<Inner>, l2: Arc<Redis>) {
    let mut subscription = Subscription::new(&l2, l2.channel());
    loop {
        match subscription.next().await {
            Event::Subscribed { resumed } => {
                let Some(inner) = weak.upgrade() else { return };
                let cache = Cache(inner);
                if resumed {
                    // Whatever was published while we were not listening is lost: resync.
                    cache.resynchronise().await;
                } else {
                    cache.load_generations(&l2).await;
                }
            }
            Event::Message(msg) => {
                let Some(inner) = weak.upgrade() else { return };
                Cache(inner).apply_remote(msg.get_payload_bytes()).await;
            }
            Event::Lost if weak.strong_count() == 0 => return,
            Event::Lost => {}
        }
    }
}
