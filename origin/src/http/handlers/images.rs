//! Images over HTTP: uploads (`POST /api/images`), originals by content id (immutable: the
//! id is their hash) and thumbnails (`GET /img/{signature}/{options…}/{image_id}`).
//!
//! The thumbnail handler does the cheap checks first — path shape, signature, options,
//! format — so a forged or malformed URL costs no I/O; a conditional request whose ETag
//! matches is answered 304 before the original is even read (the ETag is derived from the
//! cache key, see `images::thumbs::etag`).

use axum::{
    Json,
    body::Bytes,
    extract::{FromRequest, Multipart, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use vitrine_common::{
    api::ImageId,
    http_cache::{CachePolicy, EntityTag, is_not_modified},
    negotiate::{AutoFormat, negotiate_image_format, prefers_json},
    thumbnail::{
        Format, OutputFormat, PipelineError, ThumbSpec, encoder_available, split_img_path,
    },
};

use crate::{
    http::AppState,
    http::auth::RequireApiKey,
    http::error::{ApiError, ApiPath},
    images::{content_type, thumbs},
};

/// `POST /api/images`: the raw image as the body, or `multipart/form-data` with the field
/// `image`. 201 with the new record; **200** with the existing record when the same bytes were
/// uploaded before (the id is their BLAKE3 hash). The body limit (`IMAGE_MAX_BYTES`) is enforced
/// by the route's body limit before anything is buffered past it.
/// Uploads an original (raw body or multipart field `image`).
#[utoipa::path(post, path = "/api/images", tag = "images", security(("api_key" = [])),
    request_body(content(
        (Vec<u8> = "application/octet-stream"),
        (crate::http::openapi::UploadFormDoc = "multipart/form-data"))),
    responses((status = 200, description = "These bytes were uploaded before", body = crate::http::openapi::UploadedImageDoc),
        (status = 201, description = "Stored", body = crate::http::openapi::UploadedImageDoc),
        (status = 400, description = "Empty, or a malformed multipart body"),
        (status = 413, description = "Larger than `IMAGE_MAX_BYTES`, or too many pixels or frames"),
        (status = 415, description = "Not an image format the pipeline reads"),
        (status = 422, description = "Truncated or corrupt"),
        (status = 503, description = "The object store or database is unavailable or slow (`Retry-After`); nothing was stored")))]
pub async fn upload(
    State(state): State<AppState>,
    _key: RequireApiKey,
    req: Request,
) -> Result<Response, ApiError> {
    let limit = state.settings.images.max_bytes;
    let too_large = || {
        ApiError::Image(PipelineError::TooManyBytes {
            len: limit + 1,
            limit,
        })
    };
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && len > limit + MULTIPART_SLACK
    {
        return Err(too_large());
    }
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let bytes: Vec<u8> = if is_multipart {
        let mut form = Multipart::from_request(req, &state)
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        let mut found = None;
        loop {
            let field = form.next_field().await.map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large()
                } else {
                    ApiError::BadRequest(e.body_text())
                }
            })?;
            let Some(mut field) = field else { break };
            if field.name() != Some("image") {
                continue;
            }
            let mut buf = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large()
                } else {
                    ApiError::BadRequest(e.body_text())
                }
            })? {
                if buf.len() + chunk.len() > limit {
                    return Err(too_large());
                }
                buf.extend_from_slice(&chunk);
            }
            found = Some(buf);
            break;
        }
        found.ok_or_else(|| {
            ApiError::BadRequest("the multipart body has no field named `image`".into())
        })?
    } else {
        Bytes::from_request(req, &state)
            .await
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large()
                } else {
                    ApiError::BadRequest(e.body_text())
                }
            })?
            .to_vec()
    };
    let for_analysis = std::sync::Arc::new(bytes.clone());
    let (record, created) = state.thumbs.ingest_checked(bytes).await?;
    state
        .thumbs
        .stats
        .uploads
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let location = format!("/api/images/{}", record.id);
    let mut body = serde_json::json!({
        "id": record.id,
        "width": record.width,
        "height": record.height,
        "format": record.format,
        "bytes": record.bytes,
        "created": created,
        "url": location,
        "placeholder": record.placeholder(),
    });
    // The visual analysis, stored with the image (what `GET /api/images/{id}` reports and
    // the `describe` job of a product showing it reuses); the same bytes again compute
    // nothing. The image decoded already, so only a failure of the analysis task or of the
    // database lands here: the upload stands, and the labels are left out.
    match ImageId::parse(&record.id) {
        Ok(id) => match state.visual.analyse_upload(&id, for_analysis).await {
            // What the model saw, with a classifier loaded.
            Ok(labels) if state.visual.embedder.has_labels() => {
                body["labels"] = serde_json::to_value(labels).unwrap_or_default();
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, image_id = %record.id, "analysing an upload failed")
            }
        },
        Err(e) => tracing::warn!(error = %e, "an upload's id is not a content hash"),
    }
    let mut response = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// Room for multipart boundaries and headers on top of `IMAGE_MAX_BYTES`.
pub const MULTIPART_SLACK: usize = 64 * 1024;

/// `GET /img/{signature}/{options…}/{image_id}`.
/// A thumbnail at a signed URL: `/img/{signature}/{options…}/{image_id}`.
#[utoipa::path(get, path = "/img/{path}", tag = "images",
    params(("path" = String, Path, description = "`{signature}/{options…}/{image_id}`, e.g. `_/w:300/f:webp/<id>`. Options: `w:` `h:` `fit:contain|cover|fill|inside` `f:jpeg|webp|png|avif|auto` `q:` `dpr:` or `small|medium|large`; `el:1` (enlarge past the original), `trim[:0-255]`, `pad:N|T:R:B:L`, `bg:RRGGBB`, `g:ce|no|so|ea|we|nowe|noea|sowe|soea|sm` (`fit:cover` only)")),
    responses(
        (status = 200, description = "The thumbnail", content(
            (Vec<u8> = "image/webp"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"),
            (Vec<u8> = "image/gif"), (Vec<u8> = "image/avif"))),
        (status = 304, description = "`If-None-Match` matched"),
        (status = 400, description = "A malformed path or option (named in `field`)"),
        (status = 403, description = "The signature is wrong"),
        (status = 404, description = "No such image"),
        (status = 413, description = "The original has too many pixels"),
        (status = 415, description = "The original cannot be decoded"),
        (status = 422, description = "The original is corrupt"),
        (status = 503, description = "The object store is unavailable (`Retry-After`)"),
        (status = 504, description = "The object store did not answer in time")))]
pub async fn thumbnail(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let path = split_img_path(uri.path()).map_err(ApiError::InvalidOption)?;
    state
        .thumbs
        .keys
        .verify(path.signature, path.signed_path)
        .map_err(|e| ApiError::Forbidden(format!("{e} ({})", e.code())))?;
    let mut spec = ThumbSpec::parse(path.options).map_err(ApiError::InvalidOption)?;
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let (format, negotiated) = match spec.format.fixed() {
        Some(f) => (f, false),
        // IMAGE_OPTIMIZATION=false: `auto` always means JPEG (no format negotiation).
        None if !state.settings.images.optimization => (OutputFormat::Jpeg, false),
        None => {
            let available: Vec<AutoFormat> = [AutoFormat::Avif, AutoFormat::Webp]
                .into_iter()
                .filter(|f| encoder_available(auto_to_output(*f)))
                .collect();
            (
                auto_to_output(negotiate_image_format(accept, &available)),
                true,
            )
        }
    };
    if !encoder_available(format) {
        return Err(ApiError::Image(PipelineError::UnsupportedOutput(format)));
    }
    if !state.settings.images.thumbnail_generation {
        return serve_original_instead(&state, &path.image_id, &headers).await;
    }
    // Equivalent URLs (`f:auto` resolved to webp, `f:webp`) share one cache entry.
    spec.format = Format::Fixed(format);
    let key = thumbs::cache_key(path.image_id.as_str(), &spec, format);
    let etag = thumbs::etag(&key);
    let cache_control =
        CachePolicy::for_namespace(vitrine_common::cache_key::Namespace::Thumb, 0).header_value();
    let mut common = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        common.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&cache_control) {
        common.insert(header::CACHE_CONTROL, v);
    }
    if negotiated {
        common.insert(header::VARY, HeaderValue::from_static("Accept"));
    }
    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        && let Some(current) = EntityTag::parse(&etag)
        && is_not_modified(inm, &current)
    {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    let (bytes, source) = state.thumbs.render(&path.image_id, spec, format).await?;
    common.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    common.insert("x-image-cache", HeaderValue::from_static(source.as_str()));
    Ok((StatusCode::OK, common, bytes).into_response())
}

fn auto_to_output(f: AutoFormat) -> OutputFormat {
    match f {
        AutoFormat::Avif => OutputFormat::Avif,
        AutoFormat::Webp => OutputFormat::Webp,
        AutoFormat::Jpeg => OutputFormat::Jpeg,
    }
}

/// `THUMBNAIL_GENERATION=false`: the storefront keeps working with originals, which a
/// short `max-age` lets caches replace once thumbnails are switched back on.
async fn serve_original_instead(
    state: &AppState,
    id: &ImageId,
    _headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let (record, bytes) = state
        .images
        .original(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no image with id {}", id.as_str())))?;
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&record.format)),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    h.insert("x-image-cache", HeaderValue::from_static("original"));
    Ok(response)
}

/// An original image (immutable, content-addressed), or its metadata as JSON when `Accept`
/// prefers `application/json`.
#[utoipa::path(get, path = "/api/images/{id}", tag = "images",
    params(("id" = String, Path, pattern = "^[0-9a-f]{64}$", description = "The image id")),
    responses(
        (status = 200, description = "The original (`immutable`), or with `Accept: application/json` its metadata (`private, max-age=60`); `Vary: Accept` on both", content(
            (Vec<u8> = "image/webp"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"),
            (Vec<u8> = "image/gif"), (Vec<u8> = "application/octet-stream"),
            (crate::http::openapi::ImageMetadataDoc = "application/json"))),
        (status = 304, description = "`If-None-Match` matched"),
        (status = 400, description = "Not an image id (64 lower-case hex characters)"),
        (status = 404, description = "No such image"),
        (status = 503, description = "The object store is unavailable (`Retry-After`)"),
        (status = 504, description = "The object store did not answer in time")))]
pub async fn original(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // The id is the object's key: anything but a content hash (`../x`, upper case) is a 400.
    let id = ImageId::parse(&id).map_err(ApiError::InvalidOption)?;
    if prefers_json(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())) {
        return metadata(&state, &id).await;
    }
    // Content-addressed: the id is the strong validator.
    let etag = format!("\"{}\"", id.as_str());
    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        && let Some(current) = EntityTag::strong(id.as_str())
        && is_not_modified(inm, &current)
    {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag), (header::VARY, "Accept".to_owned())],
        )
            .into_response());
    }
    let (record, bytes) = state
        .images
        .original(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no image with id {}", id.as_str())))?;
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&record.format)),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    Ok(response)
}

/// `GET /api/images/{id}` as JSON: what the original is, its placeholder (`null` until the
/// background pass reaches an image stored before placeholders existed), and what the running
/// visual model saw in it (`labels`, `model`: of its row of the running model, else of its
/// newest row; `[]` and `null` when it was never analysed). The labels change when the model does, so
/// the answer is `private, max-age=60`, never the original's `immutable`.
async fn metadata(state: &AppState, id: &ImageId) -> Result<Response, ApiError> {
    let record = state
        .db
        .get_image(id.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no image with id {}", id.as_str())))?;
    let meta = state
        .db
        .visual_meta(id.as_str(), state.visual.embedder.version())
        .await?;
    let (labels, model) = match meta {
        Some(m) => (
            crate::search::visual::analysis::labels_from_json(&m.labels),
            Some(m.model).filter(|m| !m.is_empty()),
        ),
        None => (Vec::new(), None),
    };
    let body = serde_json::json!({
        "id": record.id,
        "format": record.format,
        "width": record.width,
        "height": record.height,
        "bytes": record.bytes,
        "placeholder": record.placeholder(),
        "labels": labels,
        "model": model,
    });
    let mut response = Json(body).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=60"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    Ok(response)
}
