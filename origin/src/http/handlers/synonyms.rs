//! `GET`/`PUT /api/search/synonyms`: the search synonyms (API key). `PUT` replaces the whole
//! set; it is checked first (bounds, loops, overlaps: 400 naming the field), then stored and
//! put in force (see `catalog/synonyms.rs`).

use axum::extract::State;

use crate::{
    http::AppState,
    http::auth::RequireApiKey,
    http::error::{ApiError, ApiJson},
    search::{
        self,
        synonyms::{SynonymRule, Synonyms, SynonymsBody, SynonymsDocument},
    },
};

/// The stored synonyms.
#[utoipa::path(get, path = "/api/search/synonyms", tag = "search", security(("api_key" = [])),
    responses((status = 200, body = SynonymsDocument),
        (status = 503, description = "The database is unavailable")))]
pub async fn get(
    State(state): State<AppState>,
    _key: RequireApiKey,
) -> Result<ApiJson<SynonymsDocument>, ApiError> {
    let Some(stored) = state.db.synonyms().await? else {
        return Ok(ApiJson(SynonymsDocument {
            synonyms: Vec::new(),
            version: 0,
            updated_at: None,
        }));
    };
    let synonyms: Vec<SynonymRule> = serde_json::from_str(&stored.rules)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("stored synonyms: {e}")))?;
    Ok(ApiJson(SynonymsDocument {
        synonyms,
        version: stored.version,
        updated_at: Some(stored.updated_at),
    }))
}

/// Replaces the synonyms: `{"synonyms": [{"terms": [...]}, {"from": "...", "to": [...]}]}`.
#[utoipa::path(put, path = "/api/search/synonyms", tag = "search", security(("api_key" = [])),
    request_body = SynonymsBody,
    responses((status = 200, body = SynonymsDocument),
        (status = 400, description = "A rule is refused (bounds, a loop, a term in two sets), named in `field`"),
        (status = 413, description = "Larger than `MAX_BODY_BYTES`"),
        (status = 415, description = "Not `application/json`"),
        (status = 422, description = "Not the body's shape"),
        (status = 503, description = "The database is unavailable")))]
pub async fn put(
    State(state): State<AppState>,
    _key: RequireApiKey,
    ApiJson(body): ApiJson<SynonymsBody>,
) -> Result<ApiJson<SynonymsDocument>, ApiError> {
    let compiled =
        Synonyms::compile(&body.synonyms, &search::analyser()).map_err(ApiError::InvalidOption)?;
    let rules = compiled.rules.clone();
    Ok(ApiJson(
        state.catalog.replace_synonyms(rules, compiled).await?,
    ))
}
