//! The operator's job APIs: recent jobs, and dead letters to list, redrive or discard (one,
//! some or all). Every route needs the API key; the queue answers the same on both backends
//! (`jobs::admin`).

use axum::{
    body::Bytes,
    extract::State,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vitrine_common::{api::Limit, error::InvalidInput};

use super::jobs::queue_call;
use crate::{
    http::{
        AppState,
        auth::RequireApiKey,
        error::{ApiError, ApiJson, ApiPath, ApiQuery},
    },
    jobs::{
        DeadLetter, ItemError, JobState,
        admin::{DeadCount, DeadSelection, JobFilter, JobPage, is_job_id, parse_dead_id},
    },
};

/// Ids one bulk request may name, at most.
pub const MAX_IDS: usize = 1000;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListJobsParams {
    /// Only jobs in this state.
    #[param(value_type = Option<JobState>)]
    state: Option<String>,
    /// Only jobs of this kind (`image_batch`, `describe`, …).
    #[param(min_length = 1, max_length = 64)]
    kind: Option<String>,
    #[serde(default)]
    #[param(inline)]
    limit: Option<Limit>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

fn bad(field: &'static str, why: &str) -> ApiError {
    ApiError::InvalidOption(InvalidInput::new(field, why))
}

/// `GET /api/jobs`: recent jobs, newest first.
#[utoipa::path(get, path = "/api/jobs", tag = "jobs", security(("api_key" = [])), params(ListJobsParams),
    responses((status = 200, description = "Newest first; a filtered page may hold fewer than `limit` jobs (at most 1000 are looked at per request) and still have a `next_cursor`", body = JobPage),
        (status = 400, description = "A query parameter is invalid (named in `field`)"),
        (status = 503, description = "The Redis job queue is unreachable (`Retry-After`)")))]
pub async fn list(
    State(state): State<AppState>,
    _key: RequireApiKey,
    ApiQuery(p): ApiQuery<ListJobsParams>,
) -> Result<Response, ApiError> {
    let job_state = match p.state.as_deref() {
        None => None,
        Some(s) => Some(JobState::parse(s).ok_or_else(|| {
            bad(
                "state",
                "must be one of queued, running, completed, failed, cancelled",
            )
        })?),
    };
    if let Some(k) = &p.kind
        && (k.is_empty() || k.len() > 64)
    {
        return Err(bad("kind", "must be 1-64 characters"));
    }
    if let Some(c) = &p.cursor
        && !is_job_id(c)
    {
        return Err(bad("cursor", "not a cursor returned by this API"));
    }
    let filter = JobFilter {
        state: job_state,
        kind: p.kind,
        limit: p.limit.unwrap_or_default().get() as usize,
        cursor: p.cursor,
    };
    let page = queue_call(state.jobs.queue.list(filter)).await?;
    Ok(axum::Json(page).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeadParams {
    #[serde(default)]
    #[param(inline)]
    limit: Option<Limit>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// An item that failed `JOB_MAX_ATTEMPTS` times.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetterView {
    /// The dead letter's id (for retry and discard).
    pub id: String,
    pub job_id: String,
    pub kind: String,
    /// The item's index in its job.
    pub index: u32,
    /// The last attempt's error.
    pub error: ItemError,
    pub attempts: u32,
    /// When it was dead-lettered (ms since the epoch).
    pub dead_at: i64,
}

impl From<DeadLetter> for DeadLetterView {
    fn from(d: DeadLetter) -> Self {
        Self {
            id: d.id,
            job_id: d.task.job_id,
            kind: d.task.kind,
            index: d.task.index,
            error: d.error,
            attempts: d.attempts,
            dead_at: d.dead_at,
        }
    }
}

/// A page of dead letters, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetterPage {
    pub dead_letters: Vec<DeadLetterView>,
    pub next_cursor: Option<String>,
}

/// `GET /api/jobs/dead`: dead letters, newest first.
#[utoipa::path(get, path = "/api/jobs/dead", tag = "jobs", security(("api_key" = [])), params(DeadParams),
    responses((status = 200, body = DeadLetterPage),
        (status = 400, description = "A query parameter is invalid (named in `field`)"),
        (status = 503, description = "The Redis job queue is unreachable (`Retry-After`)")))]
pub async fn dead(
    State(state): State<AppState>,
    _key: RequireApiKey,
    ApiQuery(p): ApiQuery<DeadParams>,
) -> Result<Response, ApiError> {
    if let Some(c) = &p.cursor
        && parse_dead_id(c).is_none()
    {
        return Err(bad("cursor", "not a cursor returned by this API"));
    }
    let limit = p.limit.unwrap_or_default().get() as usize;
    let page = queue_call(state.jobs.queue.dead_page(limit, p.cursor)).await?;
    Ok(axum::Json(DeadLetterPage {
        dead_letters: page.dead.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    })
    .into_response())
}

/// One dead letter by id, or 404 (also for a malformed id).
fn one(raw: String) -> Result<DeadSelection, ApiError> {
    if parse_dead_id(&raw).is_none() {
        return Err(ApiError::NotFound(format!(
            "no dead letter with id {raw:?}"
        )));
    }
    Ok(DeadSelection::Ids(vec![raw]))
}

fn found(count: DeadCount) -> Result<Response, ApiError> {
    if let Some(id) = count.not_found.first() {
        return Err(ApiError::NotFound(format!("no dead letter with id {id:?}")));
    }
    Ok(ApiJson(count).into_response())
}

/// `POST /api/jobs/dead/{id}/retry`: queues the item again as a fresh item (attempts reset);
/// its recorded failure is removed from its job, and its next outcome is recorded once.
#[utoipa::path(post, path = "/api/jobs/dead/{id}/retry", tag = "jobs", security(("api_key" = [])),
    params(("id" = String, Path, description = "The dead letter's id")),
    responses((status = 200, description = "`affected` 1: queued again; `dropped` 1: removed without a retry (its job expired, or the item has another result)", body = DeadCount),
        (status = 404, description = "No such dead letter"),
        (status = 503, description = "The Redis job queue is unreachable (`Retry-After`)")))]
pub async fn retry_one(
    State(state): State<AppState>,
    _key: RequireApiKey,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    found(queue_call(state.jobs.queue.redrive(one(id)?)).await?)
}

/// `DELETE /api/jobs/dead/{id}`: discards a dead letter (the item stays failed).
#[utoipa::path(delete, path = "/api/jobs/dead/{id}", tag = "jobs", security(("api_key" = [])),
    params(("id" = String, Path, description = "The dead letter's id")),
    responses((status = 200, body = DeadCount),
        (status = 404, description = "No such dead letter"),
        (status = 503, description = "The Redis job queue is unreachable (`Retry-After`)")))]
pub async fn discard_one(
    State(state): State<AppState>,
    _key: RequireApiKey,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    found(queue_call(state.jobs.queue.discard(one(id)?)).await?)
}

/// Which dead letters a bulk request acts on: `ids`, or every one when the body is empty or
/// has no `ids`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeadIds {
    #[schema(min_items = 1, max_items = 1000)]
    pub ids: Option<Vec<String>>,
}

fn selection(body: &Bytes) -> Result<DeadSelection, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(DeadSelection::All);
    }
    let parsed: DeadIds = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not {{\"ids\": [...]}}: {e}")))?;
    match parsed.ids {
        None => Ok(DeadSelection::All),
        Some(ids) if ids.is_empty() || ids.len() > MAX_IDS => Err(bad(
            "ids",
            "must list between 1 and 1000 dead-letter ids (or leave ids out for all)",
        )),
        Some(ids) => Ok(DeadSelection::Ids(ids)),
    }
}

/// `POST /api/jobs/dead/retry`: redrives the listed dead letters, or all of them.
#[utoipa::path(post, path = "/api/jobs/dead/retry", tag = "jobs", security(("api_key" = [])),
    request_body(content = Option<DeadIds>, description = "`{\"ids\": [...]}`; empty or without `ids`: every dead letter"),
    responses((status = 200, description = "How many were queued again, dropped, and which ids name no dead letter", body = DeadCount),
        (status = 400, description = "The body is not `{\"ids\": [...]}` (or lists 0 or over 1000 ids)"),
        (status = 503, description = "The Redis job queue is unreachable (`Retry-After`)")))]
pub async fn retry_many(
    State(state): State<AppState>,
    _key: RequireApiKey,
    body: Bytes,
) -> Result<Response, ApiError> {
    let which = selection(&body)?;
    let count = queue_call(state.jobs.queue.redrive(which)).await?;
    Ok(ApiJson(count).into_response())
}

/// `DELETE /api/jobs/dead`: discards the listed dead letters, or all of them.
#[utoipa::path(delete, path = "/api/jobs/dead", tag = "jobs", security(("api_key" = [])),
    request_body(content = Option<DeadIds>, description = "`{\"ids\": [...]}`; empty or without `ids`: every dead letter"),
    responses((status = 200, description = "How many were discarded, and which ids name no dead letter", body = DeadCount),
        (status = 400, description = "The body is not `{\"ids\": [...]}` (or lists 0 or over 1000 ids)"),
        (status = 503, description = "The Redis job queue is unreachable (`Retry-After`)")))]
pub async fn discard_many(
    State(state): State<AppState>,
    _key: RequireApiKey,
    body: Bytes,
) -> Result<Response, ApiError> {
    let which = selection(&body)?;
    let count = queue_call(state.jobs.queue.discard(which)).await?;
    Ok(ApiJson(count).into_response())
}
