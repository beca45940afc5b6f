//! Text search endpoints. `GET` is the cacheable, canonical form (what the storefront and
//! the edge use); `POST` takes the seed's JSON body.
//!
//! `category` and `brand` may be repeated (`?brand=Acme&brand=Kumo`, or arrays in the body):
//! any of the values matches. The query string is split by hand for those two, because the
//! `Query` extractor's format has no repeated keys.

use std::time::Instant;

use axum::{
    extract::{RawQuery, State},
    http::HeaderMap,
    response::Response,
};
use serde::Deserialize;
use utoipa::IntoParams;
use vitrine_common::{
    api::{
        Brand, Category, Limit, MAX_FACET_VALUES, MAX_QUERY_CHARS, Offset, Price, SearchFilters,
        SortOrder, TextSearchRequest, TextSearchResponse,
    },
    cache_key,
};

use crate::{
    http::AppState,
    http::error::{ApiError, ApiJson},
    http::middleware::cached_json::{Downstream, cached_json},
    images::urls,
    search::SearchQuery,
};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TextSearchParams {
    /// The query (at most 200 characters; empty lists everything).
    #[serde(default)]
    #[param(max_length = 200)]
    q: String,
    #[serde(default)]
    #[param(inline)]
    limit: Option<Limit>,
    #[serde(default)]
    #[param(inline)]
    offset: Option<Offset>,
    /// `relevance` (default), `price_asc`, `price_desc` or `newest`.
    #[serde(default)]
    #[param(value_type = Option<SortOrder>, inline)]
    sort: Option<String>,
    /// A category to match; repeat for any of several (at most 20).
    #[serde(default)]
    #[param(value_type = Option<Vec<Category>>, inline, max_items = 20)]
    category: Vec<Category>,
    /// A brand to match; repeat for any of several (at most 20).
    #[serde(default)]
    #[param(value_type = Option<Vec<Brand>>, inline, max_items = 20)]
    brand: Vec<Brand>,
    #[serde(default)]
    #[param(inline)]
    price_min: Option<Price>,
    #[serde(default)]
    #[param(inline)]
    price_max: Option<Price>,
    /// `false` skips the origin's cache for this request (the response is still cacheable
    /// downstream by its headers).
    #[serde(default)]
    use_cache: Option<bool>,
}

/// Text search with facets (cacheable).
#[utoipa::path(get, path = "/api/search/text", tag = "search", params(TextSearchParams),
    responses((status = 200, body = TextSearchResponse), (status = 304, description = "`If-None-Match` matched"),
        (status = 400, description = "Bad query parameter (`sort`, too many `category`/`brand` values…)"),
        (status = 422, description = "A filter is invalid (named in `field`)")))]
///
/// `GET /api/search/text`: cached under the canonical key (normalised query, sorted
/// filters, sort, limit, offset), with an ETag and the search namespace's `Cache-Control`.
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let p = parse_params(raw.as_deref().unwrap_or(""))?;
    let filters = SearchFilters {
        category: p.category,
        brand: p.brand,
        price_min: p.price_min,
        price_max: p.price_max,
    };
    cached_search(
        &state,
        &headers,
        p.q,
        p.sort.as_deref(),
        filters,
        p.limit.unwrap_or_default(),
        p.offset.unwrap_or_default(),
        p.use_cache.unwrap_or(true),
        Downstream::Namespace,
    )
    .await
}

/// Text search, the query as a JSON body.
#[utoipa::path(post, path = "/api/search/text", tag = "search", request_body = TextSearchRequest,
    responses((status = 200, body = TextSearchResponse),
        (status = 400, description = "Malformed JSON or query too long"),
        (status = 413, description = "Larger than `MAX_BODY_BYTES`"),
        (status = 415, description = "Not `application/json`"),
        (status = 422, description = "A field is invalid")))]
///
/// `POST /api/search/text`: cached at the origin when `use_cache` (the default); the
/// response itself is `no-store` (POST responses are not reusable downstream).
pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<TextSearchRequest>,
) -> Result<Response, ApiError> {
    let filters = body.effective_filters();
    cached_search(
        &state,
        &headers,
        body.query,
        body.sort.as_deref(),
        filters,
        body.limit,
        body.offset,
        body.use_cache,
        Downstream::NoStore,
    )
    .await
}

/// The query string as [`TextSearchParams`]: repeated `category`/`brand` collected (at most
/// [`MAX_FACET_VALUES`] each, counted before any is parsed), the rest through serde.
fn parse_params(raw: &str) -> Result<TextSearchParams, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
        .map_err(|e| ApiError::BadRequest(format!("query string: {e}")))?;
    let (mut categories, mut brands, mut rest) = (Vec::new(), Vec::new(), Vec::new());
    for (k, v) in pairs {
        match k.as_str() {
            "category" => categories.push(v),
            "brand" => brands.push(v),
            _ => rest.push((k, v)),
        }
    }
    for (field, n) in [("category", categories.len()), ("brand", brands.len())] {
        if n > MAX_FACET_VALUES {
            return Err(ApiError::InvalidOption(
                vitrine_common::error::InvalidInput::new(
                    field,
                    format!("at most {MAX_FACET_VALUES} values may be selected (got {n})"),
                ),
            ));
        }
    }
    let rest = serde_urlencoded::to_string(&rest)
        .map_err(|e| ApiError::BadRequest(format!("query string: {e}")))?;
    let mut p: TextSearchParams = serde_urlencoded::from_str(&rest)
        .map_err(|e| ApiError::BadRequest(format!("Failed to deserialize query string: {e}")))?;
    p.category = categories
        .iter()
        .map(Category::parse)
        .collect::<Result<_, _>>()
        .map_err(ApiError::InvalidOption)?;
    p.brand = brands
        .iter()
        .map(Brand::parse)
        .collect::<Result<_, _>>()
        .map_err(ApiError::InvalidOption)?;
    Ok(p)
}

#[allow(clippy::too_many_arguments)]
async fn cached_search(
    state: &AppState,
    headers: &HeaderMap,
    query: String,
    sort: Option<&str>,
    filters: SearchFilters,
    limit: Limit,
    offset: Offset,
    use_cache: bool,
    downstream: Downstream,
) -> Result<Response, ApiError> {
    // Validate before touching the cache: bad input is never a cache entry.
    let chars = query.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(ApiError::BadRequest(format!(
            "q: the query is {chars} characters; the limit is {MAX_QUERY_CHARS}"
        )));
    }
    let sort = SortOrder::parse(sort).map_err(ApiError::InvalidOption)?;
    filters
        .check_value_counts()
        .map_err(ApiError::InvalidOption)?;
    filters.check()?;
    let filters = filters.normalized();
    let key = cache_key::search_results(&query, &filters, sort, limit, offset);
    let compute = run(state.clone(), query, sort, filters, limit, offset);
    cached_json(state, headers, &key, &[], use_cache, downstream, compute).await
}

async fn run(
    state: AppState,
    query: String,
    sort: SortOrder,
    filters: SearchFilters,
    limit: Limit,
    offset: Offset,
) -> Result<TextSearchResponse, ApiError> {
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
            sort,
            limit: limit.get(),
            offset: offset.get(),
        })
        .await
        .map_err(ApiError::internal)?;
    let mut hits = outcome.hits;
    let facts = urls::image_facts(&state.db, hits.iter().map(|h| &h.product)).await;
    for hit in &mut hits {
        urls::attach_images(&state.thumbs.keys, &facts, &mut hit.product);
    }
    Ok(TextSearchResponse {
        query,
        sort,
        results: hits,
        total: outcome.total,
        facets: outcome.facets,
        took_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}
