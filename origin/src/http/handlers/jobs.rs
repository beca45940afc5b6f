//! Batch image processing and job status.
//!
//! `POST /api/images/batch` validates the request's shape synchronously (item count, sizes,
//! priority, idempotency key), stages base64 items by content id, and answers 202 with a job
//! id: the work itself runs on the workers. An item that is not valid base64 (or too large) is
//! recorded as failed at once — a bad item fails alone, the rest of the batch runs.

use std::{sync::atomic::Ordering, time::Duration};

use axum::{
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::Engine as _;
use serde::Deserialize;
use utoipa::ToSchema;
use vitrine_common::{error::InvalidInput, thumbnail::Preset};

use crate::{
    http::{
        AppState,
        auth::RequireApiKey,
        error::{ApiError, ApiJson, ApiPath},
    },
    images::batch::{ImageItem, KIND},
    jobs::{ItemError, JobState, NewJob, Priority, Submitted, Unique},
};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// Base64 image bytes (a `data:` URL prefix is accepted) or ids of uploaded images; at
    /// most `BATCH_MAX_ITEMS`.
    #[schema(min_items = 1)]
    pub images: Vec<String>,
    #[serde(default = "yes")]
    pub generate_thumbnails: bool,
    #[serde(default)]
    #[schema(value_type = Option<Vec<crate::http::openapi::ThumbnailSizeDoc>>)]
    pub thumbnail_sizes: Option<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<Priority>)]
    pub priority: Option<String>,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 128, pattern = "^[A-Za-z0-9._:-]+$")]
    pub idempotency_key: Option<String>,
    /// While a batch submitted with this key is queued or running, submitting another returns
    /// it (200, `"duplicate": true`); once it finished (or after `JOB_TTL`) the key makes a new
    /// batch. Unlike `idempotency_key`, it is released when the batch ends.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 128, pattern = "^[A-Za-z0-9._:-]+$")]
    pub unique_key: Option<String>,
    /// Thumbnail format: `webp` (default with `IMAGE_OPTIMIZATION`), `jpeg` or `png`.
    #[serde(default)]
    #[schema(value_type = Option<crate::http::openapi::BatchFormatDoc>)]
    pub format: Option<String>,
}

/// The longest a request waits on the job queue's store before answering 503 (a Redis that
/// hangs rather than refuses would otherwise hold the request for the 10 s response timeout).
const QUEUE_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// A queue call from a handler: bounded by [`QUEUE_CALL_TIMEOUT`], unreachable-store errors
/// mapped to 503 + `Retry-After` ([`ApiError::queue`]).
pub(super) async fn queue_call<T>(
    fut: impl Future<Output = anyhow::Result<T>>,
) -> Result<T, ApiError> {
    match tokio::time::timeout(QUEUE_CALL_TIMEOUT, fut).await {
        Ok(result) => result.map_err(ApiError::queue),
        Err(elapsed) => Err(ApiError::queue(elapsed.into())),
    }
}

/// The job's current view, or 404.
async fn job_view(state: &AppState, id: &str) -> Result<crate::jobs::JobView, ApiError> {
    queue_call(state.jobs.queue.job(id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no job with id {id}")))
}

fn yes() -> bool {
    true
}

fn is_image_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `POST /api/images/batch` → 202 `{"job_id", "status_url", "result_url", "items"}`; the same
/// `idempotency_key` again, or the `unique_key` of a batch still queued or running → **200**
/// with that job's id (`"duplicate": true`).
#[utoipa::path(post, path = "/api/images/batch", tag = "jobs", security(("api_key" = [])),
    request_body = BatchRequest,
    responses((status = 200, description = "The idempotency key was used before: the first job", body = crate::http::openapi::BatchAcceptedDoc),
        (status = 202, description = "Accepted", body = crate::http::openapi::BatchAcceptedDoc),
        (status = 400, description = "Malformed JSON"),
        (status = 413, description = "More than `BATCH_MAX_ITEMS` images or `BATCH_MAX_BYTES`"),
        (status = 415, description = "Not `application/json`"),
        (status = 422, description = "A field is invalid (named in `field`)"),
        (status = 503, description = "The Redis job queue is unreachable (`Retry-After`)")))]
pub async fn submit(
    State(state): State<AppState>,
    _key: RequireApiKey,
    ApiJson(mut req): ApiJson<BatchRequest>,
) -> Result<Response, ApiError> {
    let max = state.settings.images.batch_max_items;
    if req.images.is_empty() {
        return Err(InvalidInput::new("images", "must list at least one image").into());
    }
    if req.images.len() > max {
        return Err(ApiError::PayloadTooLarge(format!(
            "a batch holds at most {max} images; this one has {}",
            req.images.len()
        )));
    }
    let sizes: Vec<Preset> = match &req.thumbnail_sizes {
        None => Preset::ALL.to_vec(),
        Some(list) => {
            let mut out = Vec::new();
            for s in list {
                let p = Preset::parse(s)?;
                if !out.contains(&p) {
                    out.push(p);
                }
            }
            out
        }
    };
    let priority = match req.priority.as_deref() {
        None => Priority::Normal,
        Some(p) => Priority::parse(p)?,
    };
    let format = match req.format.as_deref() {
        None if state.settings.images.optimization => "webp",
        None => "jpeg",
        Some(f @ ("webp" | "jpeg" | "png")) => f,
        Some("jpg") => "jpeg",
        Some(_) => {
            return Err(InvalidInput::new("format", "must be one of webp, jpeg, png").into());
        }
    };
    if let Some(key) = &req.unique_key {
        check_key("unique_key", key)?;
    }
    if let Some(key) = &req.idempotency_key {
        check_key("idempotency_key", key)?;
        if let Some(existing) = queue_call(state.jobs.queue.idempotent(key)).await? {
            return Ok(accepted(&Submitted::Existing(existing), req.images.len()));
        }
    }

    let limit = state.settings.images.max_bytes;
    let mut items = Vec::with_capacity(req.images.len());
    let mut prefailed = Vec::new();
    let n = req.images.len();
    let images = std::mem::take(&mut req.images);
    for (i, raw) in images.into_iter().enumerate() {
        let index = i as u32;
        let raw = raw.trim();
        if is_image_id(raw) {
            items.push(item_json(raw, false, &req, &sizes, format));
            continue;
        }
        let b64 = match raw.strip_prefix("data:") {
            Some(rest) => rest.split_once(',').map_or("", |(_, data)| data),
            None => raw,
        };
        // Decoded size is at most 3/4 of the text: refuse before decoding.
        if b64.len() / 4 * 3 > limit + 3 {
            prefailed.push((
                index,
                ItemError::new(
                    "too_many_bytes",
                    format!("the image is larger than the limit of {limit} bytes"),
                ),
            ));
            items.push(serde_json::Value::Null);
            continue;
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(b64.as_bytes()));
        match decoded {
            Ok(bytes) if bytes.is_empty() => {
                prefailed.push((index, ItemError::new("empty_input", "the image is empty")));
                items.push(serde_json::Value::Null);
            }
            Ok(bytes) => {
                let id = state.images.stage(bytes).await?;
                items.push(item_json(&id, true, &req, &sizes, format));
            }
            Err(e) => {
                prefailed.push((
                    index,
                    ItemError::new(
                        "invalid_base64",
                        format!("neither an image id nor valid base64: {e}"),
                    ),
                ));
                items.push(serde_json::Value::Null);
            }
        }
    }
    let meta = serde_json::json!({
        "images": n,
        "generate_thumbnails": req.generate_thumbnails,
        "thumbnail_sizes": sizes.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "format": format,
    });
    let submitted = queue_call(state.jobs.queue.submit(NewJob {
        kind: KIND.to_owned(),
        priority,
        idempotency_key: req.idempotency_key.clone(),
        unique: req.unique_key.clone().map(|key| Unique {
            key: format!("batch:{key}"),
            ttl: state.settings.jobs.ttl,
        }),
        items,
        prefailed,
        meta,
    }))
    .await?;
    if matches!(submitted, Submitted::New(_)) {
        state.jobs.stats.submitted.fetch_add(1, Ordering::Relaxed);
    }
    Ok(accepted(&submitted, n))
}

/// An idempotency or uniqueness key: 1-128 characters among letters, digits, `- _ . :`.
fn check_key(field: &'static str, key: &str) -> Result<(), ApiError> {
    if key.is_empty()
        || key.len() > 128
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
    {
        return Err(
            InvalidInput::new(field, "1-128 characters among letters, digits, - _ . :").into(),
        );
    }
    Ok(())
}

fn item_json(
    id: &str,
    staged: bool,
    req: &BatchRequest,
    sizes: &[Preset],
    format: &str,
) -> serde_json::Value {
    serde_json::to_value(ImageItem {
        image: id.to_owned(),
        staged,
        thumbnails: req.generate_thumbnails,
        sizes: sizes.iter().map(|p| p.as_str().to_owned()).collect(),
        format: format.to_owned(),
    })
    .unwrap_or(serde_json::Value::Null)
}

fn accepted(submitted: &Submitted, items: usize) -> Response {
    let id = submitted.id();
    let status_url = format!("/api/jobs/{id}");
    let (status, duplicate) = match submitted {
        Submitted::New(_) => (StatusCode::ACCEPTED, false),
        Submitted::Existing(_) => (StatusCode::OK, true),
    };
    let body = serde_json::json!({
        "job_id": id,
        "status_url": status_url,
        "result_url": format!("{status_url}/result"),
        "items": items,
        "duplicate": duplicate,
    });
    let mut r = (status, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&status_url) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn job_id(raw: &str) -> Result<&str, ApiError> {
    if raw.len() == 32 && raw.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(raw)
    } else {
        Err(ApiError::NotFound(format!("no job with id {raw:?}")))
    }
}

/// `GET /api/jobs/{id}`: state, progress and the per-item outcomes so far.
#[utoipa::path(get, path = "/api/jobs/{id}", tag = "jobs", security(("api_key" = [])), params(("id" = String, Path, description = "The job id (32 hex digits)")),
    responses((status = 200, body = crate::jobs::JobView), (status = 404, description = "No such job"), (status = 503, description = "The Redis job queue is unreachable (`Retry-After`)")))]
pub async fn status(
    State(state): State<AppState>,
    _key: RequireApiKey,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let id = job_id(&id)?;
    let view = job_view(&state, id).await?;
    Ok(axum::Json(view).into_response())
}

/// `GET /api/jobs/{id}/result`: the per-item results of a finished job (409 while it runs).
#[utoipa::path(get, path = "/api/jobs/{id}/result", tag = "jobs", security(("api_key" = [])), params(("id" = String, Path, description = "The job id (32 hex digits)")),
    responses((status = 200, body = crate::http::openapi::JobResultDoc), (status = 404, description = "No such job"), (status = 503, description = "The Redis job queue is unreachable (`Retry-After`)"),
        (status = 409, description = "The job is still running")))]
pub async fn result(
    State(state): State<AppState>,
    _key: RequireApiKey,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let id = job_id(&id)?;
    let view = job_view(&state, id).await?;
    if !view.state.is_terminal() {
        return Err(ApiError::Conflict(format!(
            "job {id} is {}: {}/{} items done; poll /api/jobs/{id}",
            view.state.as_str(),
            view.progress.done,
            view.progress.total
        )));
    }
    Ok(axum::Json(serde_json::json!({
        "job_id": view.job_id,
        "state": view.state,
        "progress": view.progress,
        "results": view.items,
    }))
    .into_response())
}

/// `DELETE /api/jobs/{id}`: cancels a queued or running job (items not started are skipped;
/// items already running finish). 409 when the job had already finished.
#[utoipa::path(delete, path = "/api/jobs/{id}", tag = "jobs", security(("api_key" = [])), params(("id" = String, Path, description = "The job id (32 hex digits)")),
    responses((status = 200, body = crate::http::openapi::JobCancelledDoc), (status = 404, description = "No such job"), (status = 503, description = "The Redis job queue is unreachable (`Retry-After`)"),
        (status = 409, description = "The job had already finished")))]
pub async fn cancel(
    State(state): State<AppState>,
    _key: RequireApiKey,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let id = job_id(&id)?;
    let st = queue_call(state.jobs.queue.cancel(id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no job with id {id}")))?;
    if st != JobState::Cancelled {
        return Err(ApiError::Conflict(format!(
            "job {id} already finished ({})",
            st.as_str()
        )));
    }
    Ok(axum::Json(serde_json::json!({"job_id": id, "state": st})).into_response())
}
