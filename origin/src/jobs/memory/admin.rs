//! The operator's side of the in-process queue: recent jobs, dead-letter pages, redrive and
//! discard, with the bounds and answers of the Redis backend.

use std::ops::Bound;

use super::{Entry, Job, State};
use crate::jobs::{
    ItemStatus, JobState, Task,
    admin::{
        DeadCount, DeadPage, DeadSelection, JobFilter, JobPage, JobSummary, SCAN_MAX, parse_dead_id,
    },
    now_ms,
};

impl Job {
    pub(super) fn summary(&self, id: &str) -> JobSummary {
        JobSummary {
            job_id: id.to_owned(),
            kind: self.kind.clone(),
            state: self.state,
            priority: self.priority,
            progress: self.progress(),
            meta: self.meta.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// What one dead letter's redrive did.
enum Redriven {
    Queued,
    Dropped,
}

impl State {
    pub(super) fn list(&self, filter: &JobFilter) -> JobPage {
        let upper = match filter.cursor.as_deref() {
            Some(c) => Bound::Excluded(c),
            None => Bound::Unbounded,
        };
        let mut older = self
            .jobs
            .range::<str, _>((Bound::Unbounded, upper))
            .rev()
            .peekable();
        let (mut jobs, mut scanned, mut last) = (Vec::new(), 0, None);
        for (id, job) in older.by_ref() {
            scanned += 1;
            last = Some(id.clone());
            if filter.matches(&job.kind, job.state) {
                jobs.push(job.summary(id));
            }
            if jobs.len() >= filter.limit || scanned >= SCAN_MAX {
                break;
            }
        }
        let next_cursor = if older.peek().is_some() { last } else { None };
        JobPage { jobs, next_cursor }
    }

    pub(super) fn dead_page(&self, limit: usize, cursor: Option<&str>) -> DeadPage {
        let upper = match cursor.and_then(parse_dead_id) {
            Some(k) => Bound::Excluded(k),
            None => Bound::Unbounded,
        };
        let mut older = self.dead.range((Bound::Unbounded, upper)).rev().peekable();
        let dead: Vec<_> = older.by_ref().take(limit).map(|(_, d)| d.clone()).collect();
        let next_cursor = match (older.peek(), dead.last()) {
            (Some(_), Some(last)) => Some(last.id.clone()),
            _ => None,
        };
        DeadPage { dead, next_cursor }
    }

    /// The dead-letter keys `which` names, and the requested ids that name none.
    fn select(&self, which: DeadSelection) -> (Vec<(u64, u64)>, Vec<String>) {
        match which {
            DeadSelection::All => (self.dead.keys().copied().collect(), Vec::new()),
            DeadSelection::Ids(ids) => {
                let (mut keys, mut missing) = (Vec::new(), Vec::new());
                for id in ids {
                    match parse_dead_id(&id).filter(|k| self.dead.contains_key(k)) {
                        Some(k) if !keys.contains(&k) => keys.push(k),
                        Some(_) => {}
                        None => missing.push(id),
                    }
                }
                (keys, missing)
            }
        }
    }

    pub(super) fn discard(&mut self, which: DeadSelection) -> DeadCount {
        let (keys, not_found) = self.select(which);
        let affected = keys
            .iter()
            .filter(|k| self.dead.remove(k).is_some())
            .count() as u64;
        DeadCount {
            affected,
            dropped: 0,
            not_found,
        }
    }

    pub(super) fn redrive(&mut self, which: DeadSelection) -> DeadCount {
        let (keys, not_found) = self.select(which);
        let mut count = DeadCount {
            not_found,
            ..DeadCount::default()
        };
        for k in keys {
            let Some(letter) = self.dead.remove(&k) else {
                continue;
            };
            match self.requeue(letter.task) {
                Redriven::Queued => count.affected += 1,
                Redriven::Dropped => count.dropped += 1,
            }
        }
        count
    }

    /// Removes the item's recorded failure and queues it as a fresh item (attempts reset).
    fn requeue(&mut self, task: Task) -> Redriven {
        let Some(job) = self.jobs.get_mut(&task.job_id) else {
            return Redriven::Dropped;
        };
        match job.items.get(&task.index).map(|o| o.status) {
            Some(ItemStatus::Failed) | None => {}
            // It has a result after all: nothing to redo.
            Some(_) => return Redriven::Dropped,
        }
        job.items.remove(&task.index);
        job.attempts.remove(&task.index);
        if job.state != JobState::Cancelled {
            job.state = job.progress().state();
        }
        job.updated_at = now_ms();
        job.touched = std::time::Instant::now();
        let priority = job.priority;
        self.queues[priority.rank()].push_back(Entry { task, priority });
        Redriven::Queued
    }
}
