//! Search by photo: `POST /api/search/image` (multipart) and
//! `GET /api/products/{id}/similar`.

use std::{sync::Arc, time::Instant};

use axum::{
    extract::{Multipart, State, multipart::MultipartRejection},
    http::HeaderValue,
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use vitrine_common::{
    api::{Brand, Category, ImageId, Limit, Offset, Price, Product, SearchFilters},
    cache_key,
};

use crate::{
    cache::Source,
    http::{
        AppState,
        error::{ApiError, ApiJson, ApiPath, ApiQuery},
        middleware::cached_json::{X_CACHE, unshare},
    },
    images::urls,
    search::visual::{
        descriptor::Descriptor,
        index::{Hit, MetaFilter},
    },
};

/// One visual-search result: the product, its similarity and a thumbnail URL.
/// One image-search hit: the product, its similarity and whether it is a near-duplicate.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImageHit {
    #[serde(flatten)]
    pub product: Product,
    pub score: f32,
    /// True when the photo is (almost) the same picture as the product's.
    pub duplicate: bool,
    pub thumbnail_url: Option<String>,
}

fn filter_of(filters: &SearchFilters, exclude: Option<i64>) -> MetaFilter {
    MetaFilter {
        category: filters
            .category
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect(),
        brand: filters
            .brand
            .iter()
            .map(|b| b.as_str().to_owned())
            .collect(),
        price_min: filters.price_min.map(|p| p.minor_units()),
        price_max: filters.price_max.map(|p| p.minor_units()),
        exclude,
    }
}

/// Products for `hits`, best first; near-duplicates of the query photo rank above the rest.
async fn hydrate(
    state: &AppState,
    hits: &[Hit],
    phash: Option<u64>,
    thumbnails: bool,
) -> Result<Vec<ImageHit>, ApiError> {
    let ids: Vec<i64> = hits.iter().map(|h| h.product_id).collect();
    let mut by_id: std::collections::HashMap<i64, Product> = state
        .db
        .get_products(&ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let keys = &state.thumbs.keys;
    let facts = urls::image_facts(&state.db, by_id.values()).await;
    let mut out: Vec<ImageHit> = hits
        .iter()
        .filter_map(|h| {
            let product = urls::with_images(keys, &facts, by_id.remove(&h.product_id)?);
            let duplicate = phash
                .and_then(|ph| state.visual.index.phash_distance(h.product_id, ph))
                .is_some_and(|d| d <= 6 && h.score > 0.9);
            let thumbnail_url = if thumbnails {
                product
                    .image_id
                    .as_deref()
                    .map(|id| urls::product_thumbnail_url(keys, id))
            } else {
                None
            };
            Some(ImageHit {
                product,
                score: h.score,
                duplicate,
                thumbnail_url,
            })
        })
        .collect();
    // Stable: duplicates first, otherwise the index's order (score, then id).
    out.sort_by_key(|h| !h.duplicate);
    Ok(out)
}

fn field_error(name: &'static str, e: impl std::fmt::Display) -> ApiError {
    ApiError::InvalidField(vitrine_common::error::InvalidInput::new(
        name,
        e.to_string(),
    ))
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge("the upload is larger than the limit".into())
    } else {
        ApiError::BadRequest(format!("malformed multipart body: {}", e.body_text()))
    }
}

fn parse_bool(name: &'static str, v: &str) -> Result<bool, ApiError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(field_error(name, "expected true or false")),
    }
}

fn parse_int(name: &'static str, v: &str) -> Result<i64, ApiError> {
    v.trim()
        .parse::<i64>()
        .map_err(|_| field_error(name, "expected an integer"))
}

/// Search by photo.
#[utoipa::path(post, path = "/api/search/image", tag = "search",
    request_body(content = crate::http::openapi::ImageSearchFormDoc, content_type = "multipart/form-data"),
    responses((status = 200, body = crate::http::openapi::ImageSearchResponseDoc),
        (status = 400, description = "Malformed form, unknown field or empty image"),
        (status = 413, description = "Larger than `IMAGE_SEARCH_MAX_BYTES`, or too many pixels"),
        (status = 415, description = "Not multipart, or not a supported image"),
        (status = 422, description = "A field is invalid, or the image is corrupt"),
        (status = 503, description = "The database is unavailable")))]
pub async fn search_image(
    State(state): State<AppState>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let mut multipart = multipart.map_err(|e| {
        ApiError::UnsupportedMediaType(format!(
            "send the photo as multipart/form-data with a field named `image` ({})",
            e.body_text()
        ))
    })?;
    let mut image: Option<Vec<u8>> = None;
    let mut limit = Limit::default();
    let mut filters = SearchFilters::default();
    let mut thumbnails = true;
    let mut cache_result = true;
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "image" => image = Some(field.bytes().await.map_err(multipart_error)?.to_vec()),
            other => {
                let text = field.text().await.map_err(multipart_error)?;
                match other {
                    "limit" => limit = Limit::parse(parse_int("limit", &text)?)?,
                    "category" => filters.category.push(Category::parse(&text)?),
                    "brand" => filters.brand.push(Brand::parse(&text)?),
                    "price_min" => {
                        filters.price_min = Some(Price::parse(parse_int("price_min", &text)?)?)
                    }
                    "price_max" => {
                        filters.price_max = Some(Price::parse(parse_int("price_max", &text)?)?)
                    }
                    "generate_thumbnails" => thumbnails = parse_bool("generate_thumbnails", &text)?,
                    "cache_result" => cache_result = parse_bool("cache_result", &text)?,
                    _ => {
                        return Err(ApiError::BadRequest(format!(
                            "unknown form field {other:?}; expected image, limit, category, brand, price_min, price_max, generate_thumbnails, cache_result"
                        )));
                    }
                }
            }
        }
    }
    filters.check()?;
    let image = image.ok_or_else(|| field_error("image", "the form has no `image` file field"))?;
    let content_hash = ImageId::parse(blake3::hash(&image).to_hex().as_str())?;
    let descriptor = embedding(&state, &content_hash, image).await?;
    let model = state.visual.embedder.model_id();
    let results_key =
        cache_key::image_search_results(&content_hash, &model, &filters, limit, Offset::default());
    let compute = async {
        let hits = state.visual.index.search(
            &descriptor.vector,
            limit.get() as usize,
            &filter_of(&filters, None),
        );
        // Thumbnail URLs are always computed so one entry serves both forms of the request.
        let results = hydrate(&state, &hits, Some(descriptor.phash), true).await?;
        serde_json::to_vec(&results)
            .map(Bytes::from)
            .map_err(ApiError::internal)
    };
    let (body, source) = if cache_result {
        state
            .cache
            .get_or_compute(&results_key, None, &[], compute)
            .await
            .map_err(unshare)?
    } else {
        (compute.await?, Source::Bypass)
    };
    let mut results: Vec<ImageHit> = serde_json::from_slice(&body).map_err(ApiError::internal)?;
    if !thumbnails {
        for r in &mut results {
            r.thumbnail_url = None;
        }
    }
    let mut response = ApiJson(json!({
        "results": results,
        "took_ms": started.elapsed().as_secs_f64() * 1000.0,
        "query": {"content_hash": content_hash.as_str(), "phash": format!("{:016x}", descriptor.phash)},
    }))
    .into_response();
    response
        .headers_mut()
        .insert(X_CACHE, HeaderValue::from_static(source.as_header()));
    Ok(response)
}

/// The photo's descriptor by the running model, from the `embed` namespace when an upload,
/// a `describe` job or another search of the same bytes computed it (on this instance or,
/// through Redis, another), else computed on the CPU pool and cached (TTL 7200 s).
async fn embedding(
    state: &AppState,
    content_hash: &ImageId,
    image: Vec<u8>,
) -> Result<Descriptor, ApiError> {
    state
        .visual
        .analyse(content_hash, Arc::new(image))
        .await
        .map(|a| a.descriptor)
        .map_err(ApiError::from)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SimilarParams {
    #[serde(default)]
    #[param(inline)]
    limit: Option<Limit>,
    #[serde(default)]
    #[param(inline)]
    category: Option<Category>,
    #[serde(default)]
    #[param(inline)]
    brand: Option<Brand>,
    #[serde(default)]
    #[param(inline)]
    price_min: Option<Price>,
    #[serde(default)]
    #[param(inline)]
    price_max: Option<Price>,
}

/// Products that look like this one.
#[utoipa::path(get, path = "/api/products/{id}/similar", tag = "search",
    params(("id" = i64, Path, minimum = 1, description = "Product id"), SimilarParams),
    responses((status = 200, body = crate::http::openapi::SimilarResponseDoc),
        (status = 400, description = "Not a product id, or a bad query parameter"),
        (status = 404, description = "No such product"),
        (status = 422, description = "A filter is invalid"),
        (status = 503, description = "The database is unavailable (`Retry-After`)")))]
///
/// A product without a photo (or whose `image_id` names no stored image) has an empty list.
pub async fn similar(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(p): ApiQuery<SimilarParams>,
) -> Result<ApiJson<serde_json::Value>, ApiError> {
    let started = Instant::now();
    let id = id.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "id: {id:?} is not a product id (a positive integer)"
        ))
    })?;
    let product = state
        .db
        .get_product(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no product with id {id}")))?;
    let filters = SearchFilters {
        category: p.category.into_iter().collect(),
        brand: p.brand.into_iter().collect(),
        price_min: p.price_min,
        price_max: p.price_max,
    };
    filters.check()?;
    let no_results = || {
        ApiJson(json!({
            "product_id": id,
            "results": [],
            "took_ms": started.elapsed().as_secs_f64() * 1000.0,
        }))
    };
    let vector = match state.visual.index.vector_of(id) {
        Some((vector, _)) => vector,
        None => {
            // Not indexed (yet): a product without a photo, or whose `image_id` names no
            // stored image, has nothing to compare and never will (an empty list); a photo
            // whose indexing job has not run yet is described here, on a blocking thread
            // and through the `embed` cache, so the answer never depends on the queue.
            let Some(image_id) = product.image_id.as_deref() else {
                return Ok(no_results());
            };
            let Some(bytes) = state
                .images
                .bytes(image_id)
                .await
                .map_err(ApiError::internal)?
            else {
                return Ok(no_results());
            };
            let content_hash = ImageId::parse(blake3::hash(&bytes).to_hex().as_str())?;
            match embedding(&state, &content_hash, bytes).await {
                Ok(d) => d.vector,
                // A stored image the pipeline refuses has nothing to compare either.
                Err(e) if e.status().is_client_error() => return Ok(no_results()),
                Err(e) => return Err(e),
            }
        }
    };
    let hits = state.visual.index.search(
        &vector,
        p.limit.unwrap_or_default().get() as usize,
        &filter_of(&filters, Some(id)),
    );
    let results = hydrate(&state, &hits, None, true).await?;
    Ok(ApiJson(json!({
        "product_id": id,
        "results": results,
        "took_ms": started.elapsed().as_secs_f64() * 1000.0,
    })))
}
