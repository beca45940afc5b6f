//! What operators read and do through the job APIs: recent jobs (filtered, cursor-paginated)
//! and dead letters (listed, redriven, discarded). Both backends answer with these types and
//! the same bounds, so a page looks the same on Redis as in process.

use serde::Serialize;

use super::{DeadLetter, JobState, Priority, Progress};

/// Index entries one listing call looks at, at most: a filter that matches few jobs answers a
/// short (even empty) page with a `next_cursor` rather than walking the whole index.
pub const SCAN_MAX: usize = 1000;

/// Dead letters one bulk call acts on per round trip.
pub const BULK_CHUNK: usize = 200;

/// Dead letters the dead-letter stream keeps (older ones are trimmed, approximately on Redis).
pub const DEAD_MAX: usize = 10_000;

/// Which jobs `GET /api/jobs` lists: newest first, strictly older than `cursor` (a job id).
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub state: Option<JobState>,
    pub kind: Option<String>,
    pub limit: usize,
    pub cursor: Option<String>,
}

impl JobFilter {
    pub fn matches(&self, kind: &str, state: JobState) -> bool {
        self.state.is_none_or(|s| s == state) && self.kind.as_deref().is_none_or(|k| k == kind)
    }
}

/// A job in a listing (its items are in `GET /api/jobs/{id}`).
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct JobSummary {
    pub job_id: String,
    pub kind: String,
    pub state: JobState,
    pub priority: Priority,
    pub progress: Progress,
    pub meta: serde_json::Value,
    pub created_at: i64,
    pub updated_at: i64,
}

impl JobSummary {
    /// The full view: this summary and the per-item outcomes recorded so far.
    pub fn with_items(self, items: Vec<crate::jobs::ItemOutcome>) -> crate::jobs::JobView {
        crate::jobs::JobView {
            job_id: self.job_id,
            kind: self.kind,
            state: self.state,
            priority: self.priority,
            progress: self.progress,
            meta: self.meta,
            created_at: self.created_at,
            updated_at: self.updated_at,
            items,
        }
    }
}

/// One page of jobs; `next_cursor` is set when older jobs may follow.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobPage {
    pub jobs: Vec<JobSummary>,
    pub next_cursor: Option<String>,
}

/// One page of dead letters, newest first; `next_cursor` is set when older ones may follow.
#[derive(Debug, Clone)]
pub struct DeadPage {
    pub dead: Vec<DeadLetter>,
    pub next_cursor: Option<String>,
}

/// The dead letters a bulk call acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeadSelection {
    All,
    Ids(Vec<String>),
}

/// What a redrive or discard did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DeadCount {
    /// Dead letters re-enqueued (redrive) or removed (discard).
    pub affected: u64,
    /// Dead letters removed without a redrive: their job expired, or the item has a result
    /// other than the failure (nothing to redo).
    pub dropped: u64,
    /// Requested ids that name no dead letter.
    pub not_found: Vec<String>,
}

/// A dead-letter id: `<ms>-<seq>`, as Redis names stream entries (the in-process queue
/// uses the same form). `None` for anything else.
pub fn parse_dead_id(raw: &str) -> Option<(u64, u64)> {
    let (ms, seq) = raw.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(ms) || !digits(seq) {
        return None;
    }
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

/// A job id as the queue makes them: 32 lowercase hex digits (UUID v7, so they sort by
/// creation time).
pub fn is_job_id(raw: &str) -> bool {
    raw.len() == 32
        && raw
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_ids_are_stream_ids() {
        assert_eq!(parse_dead_id("1733300000000-0"), Some((1733300000000, 0)));
        for bad in ["", "1", "-1", "1-", "a-1", "1-1-1", "1 -1", &"9".repeat(21)] {
            assert_eq!(parse_dead_id(bad), None, "{bad}");
        }
    }
}
