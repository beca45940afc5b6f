//! The dead-letter stream for operators: pages newest first, redrive (one script per letter,
//! `jobs_redrive.lua`) and discard (`XDEL`), in chunks for the bulk forms.

use redis::streams::{StreamId, StreamRangeReply};

use super::RedisQueue;
use crate::jobs::{
    DeadLetter,
    admin::{BULK_CHUNK, DeadCount, DeadPage, DeadSelection, parse_dead_id},
    now_ms,
};

fn field(e: &StreamId, k: &str) -> Option<String> {
    e.map
        .get(k)
        .cloned()
        .and_then(|v| redis::from_redis_value::<String>(v).ok())
}

fn letter(e: &StreamId) -> Option<DeadLetter> {
    let (ms, _) = parse_dead_id(&e.id)?;
    Some(DeadLetter {
        id: e.id.clone(),
        dead_at: ms as i64,
        task: serde_json::from_str(&field(e, "t")?).ok()?,
        error: serde_json::from_str(&field(e, "e")?).ok()?,
        attempts: field(e, "a")?.parse().ok()?,
    })
}

impl RedisQueue {
    pub(super) async fn read_dead_page(
        &self,
        limit: usize,
        cursor: Option<&str>,
    ) -> anyhow::Result<DeadPage> {
        let limit = limit.max(1);
        let end = match cursor.filter(|c| parse_dead_id(c).is_some()) {
            Some(c) => format!("({c}"),
            None => "+".to_owned(),
        };
        let mut c = self.conn().await?;
        let reply: StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(self.dead())
            .arg(end)
            .arg("-")
            .arg("COUNT")
            .arg(limit + 1)
            .query_async(&mut c)
            .await?;
        let more = reply.ids.len() > limit;
        let dead: Vec<DeadLetter> = reply.ids.iter().take(limit).filter_map(letter).collect();
        let next_cursor = if more {
            reply.ids.get(limit - 1).map(|e| e.id.clone())
        } else {
            None
        };
        Ok(DeadPage { dead, next_cursor })
    }

    /// The ids `which` names, in chunks, and the requested ids that are not well-formed.
    async fn selected(&self, which: DeadSelection) -> anyhow::Result<(Vec<String>, Vec<String>)> {
        match which {
            DeadSelection::Ids(ids) => {
                let (mut ok, mut bad) = (Vec::new(), Vec::new());
                for id in ids {
                    if parse_dead_id(&id).is_none() {
                        bad.push(id);
                    } else if !ok.contains(&id) {
                        ok.push(id);
                    }
                }
                Ok((ok, bad))
            }
            DeadSelection::All => {
                let mut c = self.conn().await?;
                let (mut ids, mut start) = (Vec::new(), "-".to_owned());
                loop {
                    let reply: StreamRangeReply = redis::cmd("XRANGE")
                        .arg(self.dead())
                        .arg(&start)
                        .arg("+")
                        .arg("COUNT")
                        .arg(BULK_CHUNK)
                        .query_async(&mut c)
                        .await?;
                    let Some(last) = reply.ids.last() else { break };
                    start = format!("({}", last.id);
                    let n = reply.ids.len();
                    ids.extend(reply.ids.into_iter().map(|e| e.id));
                    if n < BULK_CHUNK {
                        break;
                    }
                }
                Ok((ids, Vec::new()))
            }
        }
    }

    pub(super) async fn redrive_dead(&self, which: DeadSelection) -> anyhow::Result<DeadCount> {
        let (ids, mut not_found) = self.selected(which).await?;
        let mut count = DeadCount::default();
        let mut c = self.conn().await?;
        for chunk in ids.chunks(BULK_CHUNK) {
            let mut pipe = redis::pipe();
            let now = now_ms();
            for id in chunk {
                pipe.invoke_script(
                    self.redrive
                        .key(self.dead())
                        .arg(id)
                        .arg(&self.base)
                        .arg(now)
                        .arg(self.ttl_ms()),
                );
            }
            let replies: Vec<i64> = match pipe.query_async(&mut c).await {
                Ok(r) => r,
                Err(e) if e.to_string().to_ascii_lowercase().contains("noscript") => {
                    self.redrive.load_async(&mut c).await?;
                    pipe.query_async(&mut c).await?
                }
                Err(e) => return Err(e.into()),
            };
            for (id, r) in chunk.iter().zip(replies) {
                match r {
                    1 => count.affected += 1,
                    0 => not_found.push(id.clone()),
                    _ => count.dropped += 1,
                }
            }
        }
        count.not_found = not_found;
        Ok(count)
    }

    pub(super) async fn discard_dead(&self, which: DeadSelection) -> anyhow::Result<DeadCount> {
        let (ids, mut not_found) = self.selected(which).await?;
        let mut count = DeadCount::default();
        let mut c = self.conn().await?;
        for chunk in ids.chunks(BULK_CHUNK) {
            let mut pipe = redis::pipe();
            for id in chunk {
                pipe.cmd("XDEL").arg(self.dead()).arg(id);
            }
            let removed: Vec<i64> = pipe.query_async(&mut c).await?;
            for (id, r) in chunk.iter().zip(removed) {
                if r > 0 {
                    count.affected += 1;
                } else {
                    not_found.push(id.clone());
                }
            }
        }
        count.not_found = not_found;
        Ok(count)
    }
}
