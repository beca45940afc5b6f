//! The Redis queue behind a connection made on first use.
//!
//! Why: an origin whose Redis is down at start should still start (the catalog, search and
//! the cache's in-process tier work without Redis) and pick the queue up as soon as Redis
//! answers, instead of exiting or silently switching to an in-process queue that other
//! instances cannot see. Until then every queue call fails with [`QueueUnavailable`], which
//! the routes answer with 503 and `Retry-After`, and the workers retry with their backoff.

use std::time::Duration;

use futures::{FutureExt, future::BoxFuture};
use tokio::sync::OnceCell;

use super::{
    DeadLetter, Delivery, ItemError, ItemOutcome, JobQueue, JobState, JobView, NewJob, QueueConfig,
    Submitted, redis_queue::RedisQueue,
};

/// The queue's Redis cannot be reached (yet); the caller may retry.
#[derive(Debug, thiserror::Error)]
#[error("the job queue's Redis cannot be reached: {0}")]
pub struct QueueUnavailable(String);

/// A [`RedisQueue`] connected on first use, and again on the next call after a failed try.
pub struct LazyRedisQueue {
    url: String,
    prefix: String,
    config: QueueConfig,
    queue: OnceCell<RedisQueue>,
}

impl LazyRedisQueue {
    pub fn new(url: &str, prefix: &str, config: QueueConfig) -> Self {
        Self {
            url: url.to_owned(),
            prefix: prefix.to_owned(),
            config,
            queue: OnceCell::new(),
        }
    }

    /// The connected queue, connecting now if needed (concurrent callers share one try).
    pub async fn get(&self) -> anyhow::Result<&RedisQueue> {
        self.queue
            .get_or_try_init(|| async {
                RedisQueue::connect(&self.url, &self.prefix, self.config.clone())
                    .await
                    .map_err(|e| anyhow::Error::new(QueueUnavailable(format!("{e:#}"))))
            })
            .await
    }
}

impl JobQueue for LazyRedisQueue {
    fn backend(&self) -> &'static str {
        "redis"
    }

    fn submit(&self, job: NewJob) -> BoxFuture<'_, anyhow::Result<Submitted>> {
        async move { self.get().await?.submit(job).await }.boxed()
    }

    fn idempotent(&self, key: &str) -> BoxFuture<'_, anyhow::Result<Option<String>>> {
        let key = key.to_owned();
        async move { self.get().await?.idempotent(&key).await }.boxed()
    }

    fn job(&self, id: &str) -> BoxFuture<'_, anyhow::Result<Option<JobView>>> {
        let id = id.to_owned();
        async move { self.get().await?.job(&id).await }.boxed()
    }

    fn cancel(&self, id: &str) -> BoxFuture<'_, anyhow::Result<Option<JobState>>> {
        let id = id.to_owned();
        async move { self.get().await?.cancel(&id).await }.boxed()
    }

    fn fetch(
        &self,
        consumer: &str,
        max: usize,
        wait: Duration,
    ) -> BoxFuture<'_, anyhow::Result<Vec<Delivery>>> {
        let consumer = consumer.to_owned();
        async move {
            match self.get().await {
                Ok(q) => q.fetch(&consumer, max, wait).await,
                Err(e) => {
                    // Workers poll in a loop: wait as a blocking fetch would, then report.
                    tokio::time::sleep(wait.min(Duration::from_secs(1))).await;
                    Err(e)
                }
            }
        }
        .boxed()
    }

    fn finish(
        &self,
        delivery: &Delivery,
        outcome: ItemOutcome,
    ) -> BoxFuture<'_, anyhow::Result<bool>> {
        let delivery = delivery.clone();
        async move { self.get().await?.finish(&delivery, outcome).await }.boxed()
    }

    fn finish_many(
        &self,
        done: Vec<(Delivery, ItemOutcome)>,
    ) -> BoxFuture<'_, anyhow::Result<Vec<bool>>> {
        async move { self.get().await?.finish_many(done).await }.boxed()
    }

    fn retry(&self, delivery: &Delivery, error: ItemError) -> BoxFuture<'_, anyhow::Result<()>> {
        let delivery = delivery.clone();
        async move { self.get().await?.retry(&delivery, error).await }.boxed()
    }

    fn dead_letters(&self, limit: usize) -> BoxFuture<'_, anyhow::Result<Vec<DeadLetter>>> {
        async move { self.get().await?.dead_letters(limit).await }.boxed()
    }

    fn config(&self) -> &QueueConfig {
        &self.config
    }
}
