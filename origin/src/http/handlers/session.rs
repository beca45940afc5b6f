//! `GET /api/auth/check`: whether the presented API key is valid, with no other effect. The
//! operator console's login form asks it before keeping the key; scripts may too.

use axum::{
    Json,
    http::header,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::{auth::RequireApiKey, error::ApiError};

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthCheck {
    /// Always `true` (a wrong or missing key is a 401).
    pub authenticated: bool,
}

/// `200` for a valid `Authorization: Bearer <API key>`, `401` otherwise.
#[utoipa::path(get, path = "/api/auth/check", tag = "console", security(("api_key" = [])),
    responses((status = 200, description = "The key is valid", body = AuthCheck),
        (status = 401, description = "No key, a wrong key, or no keys configured")))]
pub async fn check(_key: RequireApiKey) -> Result<Response, ApiError> {
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(AuthCheck {
            authenticated: true,
        }),
    )
        .into_response())
}
