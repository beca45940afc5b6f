//! Invalidation: a product write, a namespace or a tag is dropped from L1 and L2 and
//! announced to every other instance (see the module docs of `cache` for why generations).

use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};
use vitrine_common::cache_key::{self, Namespace, Tag};

use super::{Cache, Operation, Status, Tier};
use crate::redis::CallError;

/// What is published on the invalidation channel.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct InvalidationMessage {
    /// The publishing instance (it ignores its own messages).
    pub(super) from: String,
    /// Exact keys (generation included) to drop.
    #[serde(default)]
    pub(super) keys: Vec<String>,
    /// Tags whose entries to drop.
    #[serde(default)]
    pub(super) tags: Vec<String>,
    /// Namespaces whose generation moved, with the new generation.
    #[serde(default)]
    pub(super) namespaces: Vec<(String, u64)>,
}

impl Cache {
    /// Drops products from every tier and instance, and bumps the `search` generation: the
    /// one call every product write makes.
    pub async fn invalidate_products(&self, ids: &[i64]) {
        if ids.is_empty() {
            return;
        }
        let gen_p = self.generation(Namespace::Product);
        let keys: Vec<String> = ids
            .iter()
            .map(|id| {
                cache_key::product(*id)
                    .in_generation(gen_p)
                    .as_str()
                    .to_owned()
            })
            .collect();
        let tags: Vec<String> = ids
            .iter()
            .map(|id| Tag::product(*id).members_key())
            .collect();
        for k in &keys {
            self.0.l1.invalidate(k.as_str()).await;
        }
        self.0.front.invalidate_all();
        let mut message = InvalidationMessage {
            from: self.0.instance.clone(),
            keys,
            ..Default::default()
        };
        if let Some(l2) = &self.0.l2 {
            let status = match l2.unlink(&message.keys, &tags).await {
                Ok(()) => Status::Ok,
                Err(CallError::Skipped) => Status::Skipped,
                Err(CallError::Failed) => Status::Error,
            };
            self.0.stats.record_op(Operation::Delete, status, Tier::L2);
        }
        let generation = self.bump_generation(Namespace::Search).await;
        message
            .namespaces
            .push((Namespace::Search.as_str().to_owned(), generation));
        self.0.stats.record_invalidation(false);
        self.publish(&message).await;
    }

    /// Makes every entry of a namespace unreachable, in every tier and instance.
    pub async fn invalidate_namespace(&self, ns: Namespace) {
        let generation = self.bump_generation(ns).await;
        self.0.stats.record_invalidation(false);
        self.publish(&InvalidationMessage {
            from: self.0.instance.clone(),
            namespaces: vec![(ns.as_str().to_owned(), generation)],
            ..Default::default()
        })
        .await;
    }

    /// Drops every entry carrying `tag`, in every tier and instance.
    pub async fn invalidate_tag(&self, tag: &Tag) {
        self.drop_tag_locally(tag.clone());
        // A product tag also names the product key itself (it is tagged on write, but an
        // entry written before this instance started would not be in the L2 tag set).
        if let Some(id) = tag
            .as_str()
            .strip_prefix("product:")
            .and_then(|n| n.parse::<i64>().ok())
        {
            self.invalidate_products(&[id]).await;
            return;
        }
        if let Some(l2) = &self.0.l2 {
            let _ = l2.unlink(&[], &[tag.members_key()]).await;
        }
        self.0.stats.record_invalidation(false);
        self.publish(&InvalidationMessage {
            from: self.0.instance.clone(),
            tags: vec![tag.as_str().to_owned()],
            ..Default::default()
        })
        .await;
    }

    pub(super) fn drop_tag_locally(&self, tag: Tag) {
        if let Err(e) = self
            .0
            .l1
            .invalidate_entries_if(move |_, v| v.tags.contains(&tag))
        {
            tracing::warn!(error = %e, "L1 tag invalidation failed; clearing L1");
            self.0.l1.invalidate_all();
        }
        self.0.front.invalidate_all();
    }

    /// Moves a namespace to a new generation: `INCR` in Redis when reachable, else locally
    /// (remembered, and pushed to Redis when it recovers).
    ///
    /// L1 entries of the old generation are not scanned out: no lookup can reach them any
    /// more, so they are the first the size-bounded L1 evicts (a predicate scan of the
    /// whole L1 per product write would cost far more than the memory).
    async fn bump_generation(&self, ns: Namespace) -> u64 {
        let i = ns.index();
        let generation = match &self.0.l2 {
            Some(l2) => match l2.incr(&cache_key::generation_counter_key(ns)).await {
                Ok(g) => g,
                Err(_) => {
                    self.0.pending_bumps[i].store(true, Ordering::Release);
                    self.generation(ns) + 1
                }
            },
            None => self.generation(ns) + 1,
        };
        self.0.generations[i].fetch_max(generation, Ordering::AcqRel);
        generation
    }

    async fn publish(&self, message: &InvalidationMessage) {
        let Some(l2) = &self.0.l2 else { return };
        match serde_json::to_string(message) {
            Ok(payload) => {
                if l2.publish(payload).await.is_err() {
                    tracing::warn!(
                        "could not publish a cache invalidation; other instances resynchronise when Redis recovers"
                    );
                }
            }
            Err(e) => tracing::error!(error = %e, "serialising an invalidation"),
        }
    }
}
