//! `POST /api/cache/invalidate`: operators drop a tag (`{"tag": "product:42"}`) or a whole
//! namespace (`{"namespace": "search"}`) from every tier of every instance.
//!
//! Why an endpoint and not just `redis-cli`: the L1 tiers live inside each process, and the
//! namespace generations must move through the same code path as a product write, or
//! instances would disagree on what is current. Admin-only (API key).

use axum::{extract::State, http::StatusCode, response::IntoResponse};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use vitrine_common::cache_key::{Namespace, Tag};

use crate::{
    http::AppState,
    http::auth::RequireApiKey,
    http::error::{ApiError, ApiJson},
};

/// Exactly one of `tag` (e.g. `product:42`) or `namespace` (e.g. `search`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvalidateRequest {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 128, pattern = "^[A-Za-z0-9:_.-]+$")]
    tag: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<crate::http::openapi::NamespaceDoc>)]
    namespace: Option<String>,
}

/// Drops a tag or a namespace from every cache tier of every instance.
#[utoipa::path(post, path = "/api/cache/invalidate", tag = "cache", security(("api_key" = [])),
    request_body = InvalidateRequest,
    responses((status = 200, body = crate::http::openapi::InvalidatedDoc),
        (status = 400, description = "Malformed JSON"),
        (status = 413, description = "Larger than `MAX_BODY_BYTES`"),
        (status = 415, description = "Not `application/json`"),
        (status = 422, description = "Not exactly one of tag and namespace, or an unknown one")))]
pub async fn invalidate(
    State(state): State<AppState>,
    _key: RequireApiKey,
    ApiJson(body): ApiJson<InvalidateRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let done = match (body.tag.as_deref(), body.namespace.as_deref()) {
        (Some(tag), None) => {
            let tag = Tag::parse(tag)?;
            state.cache.invalidate_tag(&tag).await;
            json!({"invalidated": {"tag": tag.as_str()}})
        }
        (None, Some(ns)) => {
            let ns = Namespace::parse(ns)?;
            state.cache.invalidate_namespace(ns).await;
            json!({"invalidated": {"namespace": ns.as_str(), "generation": state.cache.generation(ns)}})
        }
        _ => {
            return Err(ApiError::Unprocessable(
                "give exactly one of \"tag\" (e.g. \"product:42\") or \"namespace\" (e.g. \"search\")"
                    .into(),
            ));
        }
    };
    Ok((StatusCode::OK, ApiJson(done)))
}
