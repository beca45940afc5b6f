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
//!
//! On a Redis Cluster every node hears every `PUBLISH` (the cluster bus forwards it), so the
//! subscription is a classic `SUBSCRIBE` on one seed node; when that node fails (a killed
//! master, before or after its replica takes over) the next attempt dials the next seed.

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
    /// The server, or every seed node of a cluster, tried in turn.
    clients: Vec<redis::Client>,
    /// The client the next attempt dials.
    next_client: usize,
    channel: String,
    pubsub: Option<redis::aio::PubSub>,
    attempted: bool,
}

impl Subscription {
    /// Nothing is dialled until the first [`Subscription::next`].
    pub fn new(redis: &Redis, channel: String) -> Self {
        Self {
            clients: redis.target().pubsub_clients(),
            next_client: 0,
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
            // The node may be gone for good (a failed-over master): start with the next one.
            self.next_client += 1;
            tracing::warn!(channel = %self.channel, "subscription lost; reconnecting");
            return Event::Lost;
        }
        let resumed = std::mem::replace(&mut self.attempted, true);
        if resumed {
            tokio::time::sleep(RETRY_AFTER).await;
        }
        let Some(client) = self
            .clients
            .get(self.next_client % self.clients.len().max(1))
        else {
            return Event::Lost;
        };
        let subscribed = tokio::time::timeout(CONNECT_TIMEOUT, async {
            let mut pubsub = client.get_async_pubsub().await?;
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
                self.next_client += 1;
                Event::Lost
            }
            Err(_) => {
                tracing::debug!(channel = %self.channel, "subscribing timed out");
                self.next_client += 1;
                Event::Lost
            }
        }
    }
}
