//! A Redis pub/sub subscription that reconnects by itself: the cache's invalidations and the
//! visual index's "described" announcements both listen through it.
//!
//! Why a type of its own: both listeners need the same loop (dial with a timeout, subscribe,
//! read until the connection drops, wait, dial again) and differ only in what they do when
//! (re)subscribed and per message. [`Subscription::next`] turns that loop into events, so each
//! listener is a `match` and can stop between any two of them (its owner gone).
//!
//! Pub/sub delivers at most once: what is published while an instance is not subscribed is
//! lost, which is why [`Event::Subscribed`] says whether an earlier attempt came before, so a
//! listener can make up for what it may have missed.

use std::time::Duration;

use futures::StreamExt;

use super::Redis;

/// How long dialling and subscribing may take before the attempt counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The pause before dialling again after a failed attempt or a lost subscription.
const RETRY_AFTER: Duration = Duration::from_millis(500);

/// What [`Subscription::next`] saw.
pub enum Event {
    /// Subscribed. `resumed`: an earlier attempt came before this one (it failed or its
    /// connection was lost), so messages may have been missed.
    Subscribed { resumed: bool },
    /// A message on the channel.
    Message(redis::Msg),
    /// The attempt failed or the subscription was lost; the next call dials again after a
    /// short pause.
    Lost,
}

/// One channel, subscribed on its own connection (pub/sub cannot share the multiplexed one).
pub struct Subscription {
    client: redis::Client,
    channel: String,
    pubsub: Option<redis::aio::PubSub>,
    attempted: bool,
}

impl Subscription {
    /// Nothing is dialled until the first [`Subscription::next`].
    pub fn new(redis: &Redis, channel: String) -> Self {
        Self {
            client: redis.client().clone(),
            channel,
            pubsub: None,
            attempted: false,
        }
    }

    /// The next event: a message while subscribed, else one (re)subscription attempt.
    pub async fn next(&mut self) -> Event {
        if let Some(pubsub) = &mut self.pubsub {
            if let Some(msg) = pubsub.on_message().next().await {
                return Event::Message(msg);
            }
            self.pubsub = None;
            tracing::warn!(channel = %self.channel, "subscription lost; reconnecting");
            return Event::Lost;
        }
        let resumed = std::mem::replace(&mut self.attempted, true);
        if resumed {
            tokio::time::sleep(RETRY_AFTER).await;
        }
        let subscribed = tokio::time::timeout(CONNECT_TIMEOUT, async {
            let mut pubsub = self.client.get_async_pubsub().await?;
            pubsub.subscribe(&self.channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        })
        .await;
        match subscribed {
            Ok(Ok(pubsub)) => {
                self.pubsub = Some(pubsub);
                Event::Subscribed { resumed }
            }
            Ok(Err(e)) => {
                tracing::debug!(channel = %self.channel, error = %e, "cannot subscribe yet");
                Event::Lost
            }
            Err(_) => {
                tracing::debug!(channel = %self.channel, "subscribing timed out");
                Event::Lost
            }
        }
    }
}
