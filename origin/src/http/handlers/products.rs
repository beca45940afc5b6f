//! The product API: read freely, write with an API key.
//!
//! Reads go to the database through the cache; writes are parse → [`Catalog`] → respond,
//! the catalog owning what a write must update after the database.
//!
//! [`Catalog`]: crate::catalog::Catalog

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use vitrine_common::{
    api::{Limit, NewProduct, Product, ProductPage},
    cache_key::{self, Tag},
};

use crate::{
    http::AppState,
    http::auth::RequireApiKey,
    http::error::{ApiError, ApiJson, ApiPath, ApiQuery},
    http::middleware::cached_json::{Downstream, cached_json},
    images::urls,
};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    #[serde(default)]
    #[param(inline)]
    limit: Option<Limit>,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    cursor: Option<String>,
}

/// Cursors are opaque to clients: base64url of `id:<last id>`.
fn encode_cursor(last_id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("id:{last_id}"))
}

fn decode_cursor(cursor: &str) -> Result<i64, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|s| s.strip_prefix("id:").and_then(|n| n.parse::<i64>().ok()))
        .filter(|n| *n >= 0)
        .ok_or_else(|| ApiError::BadRequest("cursor: not a cursor returned by this API".into()))
}

fn parse_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "id: {raw:?} is not a product id (a positive integer)"
        ))
    })
}

/// Products in id order, cursor-paginated.
#[utoipa::path(get, path = "/api/products", tag = "products", params(ListParams),
    responses((status = 200, body = ProductPage), (status = 400, description = "Bad query or cursor"),
        (status = 503, description = "The database is unavailable")))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<ApiJson<ProductPage>, ApiError> {
    let limit = params.limit.unwrap_or_default().get();
    let after = match params.cursor.as_deref() {
        Some(c) => decode_cursor(c)?,
        None => 0,
    };
    // Fetch one more than asked to know whether a next page exists.
    let mut products = state.db.list_products(after, limit + 1).await?;
    let next_cursor = if products.len() > limit as usize {
        products.truncate(limit as usize);
        products.last().map(|p| encode_cursor(p.id))
    } else {
        None
    };
    let facts = urls::image_facts(&state.db, &products).await;
    for p in &mut products {
        urls::attach_images(&state.thumbs.keys, &facts, p);
    }
    Ok(ApiJson(ProductPage {
        products,
        next_cursor,
    }))
}

/// One product.
#[utoipa::path(get, path = "/api/products/{id}", tag = "products", params(("id" = i64, Path, minimum = 1, description = "Product id")),
    responses((status = 200, body = Product), (status = 304, description = "`If-None-Match` matched"),
        (status = 400, description = "Not a product id"), (status = 404, description = "No such product"),
        (status = 503, description = "The database is unavailable")))]
///
/// Through the cache (key `v1:product:<id>`, tag `product:<id>`), with an
/// ETag and the product namespace's `Cache-Control`.
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let (db, keys) = (state.db.clone(), state.thumbs.keys.clone());
    cached_json(
        &state,
        &headers,
        &cache_key::product(id),
        &[Tag::product(id)],
        true,
        Downstream::Namespace,
        async move {
            let product = db
                .get_product(id)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("no product with id {id}")))?;
            Ok(urls::with_images_of(&db, &keys, product).await)
        },
    )
    .await
}

/// Creates a product (201 + `Location`).
#[utoipa::path(post, path = "/api/products", tag = "products", request_body = NewProduct,
    security(("api_key" = [])), responses((status = 201, body = Product), (status = 400, description = "Malformed JSON or id"),
        (status = 409, description = "Another product has this sku"),
        (status = 413, description = "Larger than `MAX_BODY_BYTES`"),
        (status = 415, description = "Not `application/json`"),
        (status = 422, description = "A field is invalid (named in `field`)"),
        (status = 503, description = "The database is unavailable")))]
pub async fn create(
    State(state): State<AppState>,
    _key: RequireApiKey,
    ApiJson(new): ApiJson<NewProduct>,
) -> Result<impl IntoResponse, ApiError> {
    let product = state.catalog.create(&new).await?;
    let location = format!("/api/products/{}", product.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        ApiJson(urls::with_images_of(&state.db, &state.thumbs.keys, product).await),
    ))
}

/// Replaces a product.
#[utoipa::path(put, path = "/api/products/{id}", tag = "products", params(("id" = i64, Path, minimum = 1, description = "Product id")), request_body = NewProduct,
    security(("api_key" = [])),
    responses((status = 200, body = Product), (status = 404, description = "No such product"), (status = 400, description = "Malformed JSON or id"),
        (status = 409, description = "Another product has this sku"),
        (status = 413, description = "Larger than `MAX_BODY_BYTES`"),
        (status = 415, description = "Not `application/json`"),
        (status = 422, description = "A field is invalid (named in `field`)"),
        (status = 503, description = "The database is unavailable")))]
pub async fn update(
    State(state): State<AppState>,
    _key: RequireApiKey,
    ApiPath(id): ApiPath<String>,
    ApiJson(new): ApiJson<NewProduct>,
) -> Result<ApiJson<Product>, ApiError> {
    let id = parse_id(&id)?;
    let product = state
        .catalog
        .update(id, &new)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no product with id {id}")))?;
    Ok(ApiJson(
        urls::with_images_of(&state.db, &state.thumbs.keys, product).await,
    ))
}

/// Deletes a product.
#[utoipa::path(delete, path = "/api/products/{id}", tag = "products", params(("id" = i64, Path, minimum = 1, description = "Product id")), security(("api_key" = [])),
    responses((status = 204, description = "Deleted"), (status = 400, description = "Not a product id"),
        (status = 404, description = "No such product"), (status = 503, description = "The database is unavailable")))]
pub async fn delete(
    State(state): State<AppState>,
    _key: RequireApiKey,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    if !state.catalog.delete(id).await? {
        return Err(ApiError::not_found(format!("no product with id {id}")));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// One rejected NDJSON line.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct Rejected {
    pub line: usize,
    pub error: String,
}

/// Parses NDJSON rows, collecting per-line errors (a bad row never sinks the batch).
pub fn parse_ndjson(
    body: &str,
    max_items: usize,
) -> Result<(Vec<NewProduct>, Vec<Rejected>), ApiError> {
    let mut rows = Vec::new();
    let mut rejected = Vec::new();
    for (i, line) in body.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if rows.len() + rejected.len() >= max_items {
            return Err(ApiError::PayloadTooLarge(format!(
                "a bulk request may hold at most {max_items} products"
            )));
        }
        match serde_json::from_str::<NewProduct>(line) {
            Ok(p) => rows.push(p),
            Err(e) => rejected.push(Rejected {
                line: i + 1,
                error: e.to_string(),
            }),
        }
    }
    Ok((rows, rejected))
}

/// Upserts NDJSON products by sku; per-line errors are reported, not fatal.
#[utoipa::path(post, path = "/api/products/bulk", tag = "products", security(("api_key" = [])),
    request_body(content = Vec<NewProduct>, content_type = "application/x-ndjson",
        description = "NDJSON: one `NewProduct` JSON object per line (not a JSON array)"),
    responses((status = 200, body = crate::http::openapi::BulkSummaryDoc),
        (status = 400, description = "Not UTF-8"),
        (status = 413, description = "More than `BULK_MAX_BYTES` or `BULK_MAX_ITEMS`"),
        (status = 415, description = "Not `application/x-ndjson`"),
        (status = 422, description = "Every line was rejected", body = crate::http::openapi::BulkSummaryDoc,
            content_type = "application/json"),
        (status = 503, description = "The database is unavailable")))]
pub async fn bulk(
    State(state): State<AppState>,
    _key: RequireApiKey,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    if !matches!(
        content_type.as_str(),
        "application/x-ndjson"
            | "application/ndjson"
            | "application/jsonl"
            | "application/jsonlines"
    ) {
        return Err(ApiError::UnsupportedMediaType(
            "bulk bodies are NDJSON: send `Content-Type: application/x-ndjson`, one product per line".into(),
        ));
    }
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(format!(
                "the bulk body is larger than {} bytes",
                state.settings.catalog.bulk_max_bytes
            ))
        } else {
            ApiError::BadRequest(e.body_text())
        }
    })?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::BadRequest("the body is not valid UTF-8".into()))?;
    let (rows, rejected) = parse_ndjson(text, state.settings.catalog.bulk_max_items)?;
    let summary = state.catalog.upsert_many(&rows).await?;
    let status = if rows.is_empty() && !rejected.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let shown: Vec<_> = rejected.iter().take(100).cloned().collect();
    Ok((
        status,
        ApiJson(serde_json::json!({
            "inserted": summary.inserted,
            "updated": summary.updated,
            "unchanged": summary.unchanged,
            "rejected": rejected.len(),
            "errors": shown,
        })),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(decode_cursor(&encode_cursor(42)).unwrap(), 42);
        assert!(decode_cursor("not-base64!").is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("id:-5")).is_err());
    }

    #[test]
    fn ndjson_collects_line_errors_and_bounds_count() {
        let body = "{\"sku\":\"A-1\",\"title\":\"T\",\"brand\":\"B\",\"category\":\"C\",\"price\":1}\n\nnot json\n";
        let (rows, rejected) = parse_ndjson(body, 10).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].line, 3);
        assert!(parse_ndjson(body, 1).is_err());
    }
}
