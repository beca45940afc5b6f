//! `GET /api/jobs/schedules`: the periodic jobs, when each runs next and the runs fired
//! (which instance claimed each occurrence, the job it submitted). Operators read it to see
//! that a schedule fires, once, on time.

use axum::{Json, extract::State, response::IntoResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    http::{AppState, auth::RequireApiKey, error::ApiError},
    jobs::schedule::ScheduleView,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct SchedulesResponse {
    pub schedules: Vec<ScheduleView>,
}

/// Every periodic job with its next occurrence and latest runs.
#[utoipa::path(get, path = "/api/jobs/schedules", tag = "jobs", security(("api_key" = [])),
    responses((status = 200, body = SchedulesResponse),
        (status = 401, description = "No or a wrong API key"),
        (status = 503, description = "The database is unreachable (`Retry-After`)")))]
pub async fn list(
    State(state): State<AppState>,
    _key: RequireApiKey,
) -> Result<impl IntoResponse, ApiError> {
    let schedules = state.schedules.views().await?;
    Ok(Json(SchedulesResponse { schedules }))
}
