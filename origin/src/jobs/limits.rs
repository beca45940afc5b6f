//! Per-kind concurrency limits (`JOB_CONCURRENCY`, `JOB_CLUSTER_CONCURRENCY`), so that one
//! kind (a bulk re-index's `describe` items) cannot take every worker from another (shoppers'
//! thumbnail batches).
//!
//! Per process: a semaphore per limited kind, taken without waiting. Across the cluster: a
//! counting lease in the queue's store ([`JobQueue::lease`]; on Redis a sorted set of leases
//! scored by expiry, so a crashed process's slots come back after the visibility timeout). A
//! delivery whose kind is at either limit is not run and not lost: it goes back to the queue
//! for a short, jittered delay without counting an attempt ([`JobQueue::defer`]), and the
//! worker moves on to other work instead of waiting for a slot.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::Duration,
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{Delivery, JobQueue};

/// How long a delivery over a limit waits before it is offered again (times a jitter in
/// [0.5, 1.5)).
pub const DEFER: Duration = Duration::from_millis(200);

/// The limits one worker pool enforces.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    local: HashMap<String, Arc<Semaphore>>,
    cluster: HashMap<String, u32>,
}

/// A slot held while a delivery runs; [`Slot::release`] gives the cluster-wide one back.
#[derive(Debug)]
pub struct Slot {
    _local: Option<OwnedSemaphorePermit>,
    lease: Option<(String, String)>,
}

impl Slot {
    pub async fn release(self, queue: &dyn JobQueue) {
        if let Some((kind, lease)) = &self.lease
            && let Err(e) = queue.release(kind, lease).await
        {
            // The lease expires after the visibility timeout anyway.
            tracing::debug!(error = %e, kind, "releasing a concurrency slot failed");
        }
    }
}

impl Limits {
    /// `local`: at most N at once in this process per kind; `cluster`: at most N at once
    /// across every process sharing the queue.
    pub fn new(local: &BTreeMap<String, u32>, cluster: &BTreeMap<String, u32>) -> Self {
        Self {
            local: local
                .iter()
                .map(|(k, n)| (k.clone(), Arc::new(Semaphore::new(*n as usize))))
                .collect(),
            cluster: cluster.iter().map(|(k, n)| (k.clone(), *n)).collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.local.is_empty() && self.cluster.is_empty()
    }

    /// A slot for `delivery`, or `None` when its kind is at a limit. A failure to reach the
    /// store for the cluster-wide lease counts as "at the limit" (the item is deferred, not
    /// run unbounded).
    pub async fn try_acquire(&self, queue: &dyn JobQueue, delivery: &Delivery) -> Option<Slot> {
        let kind = delivery.task.kind.as_str();
        let local = match self.local.get(kind) {
            Some(s) => Some(s.clone().try_acquire_owned().ok()?),
            None => None,
        };
        let lease = match self.cluster.get(kind) {
            // A redelivery of the same entry is another holder: the attempt tells them apart.
            Some(limit) => {
                let id = format!("{}#{}", delivery.receipt, delivery.attempt);
                match queue.lease(kind, &id, *limit).await {
                    Ok(true) => Some((kind.to_owned(), id)),
                    Ok(false) => return None,
                    Err(e) => {
                        tracing::warn!(error = %e, kind, "taking a concurrency slot failed");
                        return None;
                    }
                }
            }
            None => None,
        };
        Some(Slot {
            _local: local,
            lease,
        })
    }
}

/// The delay before a deferred delivery is offered again.
pub fn defer_delay() -> Duration {
    DEFER.mul_f64(0.5 + rand::random::<f64>())
}
