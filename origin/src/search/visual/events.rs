//! "This image now has a descriptor", across instances, over Redis pub/sub.
//!
//! The instance whose worker described an image indexes it at once; every other instance
//! that waits for the image (it wrote or heard of a product showing it) learns of it here and
//! reads the descriptor from the database. Messages are hints, not the record: one lost while
//! an instance was disconnected is made up by the safety net's database recheck.

use std::sync::Arc;

use super::WeakVisual;
use crate::redis::{Event, Redis, Subscription};

fn channel(redis: &Redis) -> String {
    redis.key("v1:visual:described")
}

/// Tells the other instances that `image_id` has a stored descriptor (best effort).
pub(super) async fn announce(redis: Option<&Redis>, image_id: &str) {
    let Some(redis) = redis else { return };
    if redis
        .publish_to(channel(redis), image_id.to_owned())
        .await
        .is_err()
    {
        tracing::debug!(
            image_id,
            "could not announce a descriptor; other instances find it by rechecking"
        );
    }
}

/// Subscribes and indexes announced images this instance waits for, reconnecting forever.
pub(super) async fn listen(weak: WeakVisual, redis: Arc<Redis>) {
    let mut subscription = Subscription::new(&redis, channel(&redis));
    loop {
        match subscription.next().await {
            // Announcements missed while disconnected are the safety net's to find.
            Event::Subscribed { .. } => {}
            Event::Message(msg) => {
                let Some(visual) = weak.upgrade() else { return };
                let Ok(image_id) = msg.get_payload::<String>() else {
                    continue;
                };
                if !visual.is_awaited(&image_id) {
                    continue;
                }
                if let Err(e) = visual.index_stored(&image_id).await {
                    tracing::warn!(error = %e, image_id, "indexing an announced descriptor failed");
                }
            }
            Event::Lost if weak.shared.strong_count() == 0 => return,
            Event::Lost => {}
        }
    }
}
