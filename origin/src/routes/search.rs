//! Text search endpoints. `GET` is the cacheable, canonical form (what the storefront and
//! the edge use); `POST` takes the seed's JSON body.

use std::time::Instant;

use axum::extract::State;
use serde::Deserialize;
use vitrine_common::api::{
    Brand, Category, Limit, MAX_QUERY_CHARS, Offset, Price, SearchFilters, TextSearchRequest,
    TextSearchResponse,
};

use crate::{
    error::{ApiError, ApiJson, ApiQuery},
    images::urls,
    search::SearchQuery,
    state::AppState,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextSearchParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    limit: Option<Limit>,
    #[serde(default)]
    offset: Option<Offset>,
    #[serde(default)]
    category: Option<Category>,
    #[serde(default)]
    brand: Option<Brand>,
    #[serde(default)]
    price_min: Option<Price>,
    #[serde(default)]
    price_max: Option<Price>,
    /// Accepted for symmetry with the POST body; GET responses are cached by HTTP rules.
    #[serde(default)]
    #[allow(dead_code)]
    use_cache: Option<bool>,
}

pub async fn get(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<TextSearchParams>,
) -> Result<ApiJson<TextSearchResponse>, ApiError> {
    let filters = SearchFilters {
        category: p.category,
        brand: p.brand,
        price_min: p.price_min,
        price_max: p.price_max,
    };
    run(
        &state,
        p.q,
        filters,
        p.limit.unwrap_or_default(),
        p.offset.unwrap_or_default(),
    )
    .await
}

pub async fn post(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<TextSearchRequest>,
) -> Result<ApiJson<TextSearchResponse>, ApiError> {
    let filters = body.effective_filters();
    run(&state, body.query, filters, body.limit, body.offset).await
}

async fn run(
    state: &AppState,
    query: String,
    filters: SearchFilters,
    limit: Limit,
    offset: Offset,
) -> Result<ApiJson<TextSearchResponse>, ApiError> {
    let started = Instant::now();
    let chars = query.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(ApiError::BadRequest(format!(
            "q: the query is {chars} characters; the limit is {MAX_QUERY_CHARS}"
        )));
    }
    filters.check()?;
    let outcome = state
        .search
        .search(SearchQuery {
            text: query.clone(),
            filters,
            limit: limit.get(),
            offset: offset.get(),
        })
        .await
        .map_err(ApiError::internal)?;
    let mut hits = outcome.hits;
    for hit in &mut hits {
        urls::attach_images(&state.thumbs.keys, &mut hit.product);
    }
    Ok(ApiJson(TextSearchResponse {
        query,
        results: hits,
        total: outcome.total,
        facets: outcome.facets,
        took_ms: started.elapsed().as_secs_f64() * 1000.0,
    }))
}
