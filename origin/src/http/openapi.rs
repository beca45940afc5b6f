//! The OpenAPI 3.1 document served at `GET /api/openapi.json`, generated from the code.
//!
//! Why one module assembles it: the handlers carry only short `#[utoipa::path]` annotations
//! (method, path, parameters, body, success responses and the errors peculiar to them); the
//! rules that hold for every route are applied here once, by [`Conventions`], so they cannot
//! be forgotten on a new handler:
//!
//! * every 4xx/5xx response is an RFC 9457 `application/problem+json` [`Problem`]
//!   (`origin/src/http/error/`);
//! * every operation can answer 406 (compression negotiation refused every coding), 500 (a
//!   failure or a panic) and 504 (`REQUEST_TIMEOUT`), and 429 unless the rate limiter
//!   exempts its path (health and metrics);
//! * an operation marked `security(("api_key" = []))` can answer 401, and the `api_key`
//!   scheme is a bearer token (`origin/src/http/auth.rs`).
//!
//! The request and response types come from `vitrine_common::api` (with its `openapi`
//! feature) and the route modules; the few bodies the handlers build as ad-hoc JSON are
//! described by the `*Doc` types below. The document is built once and served as bytes.
//! `tests/api/openapi.rs` checks that every route of [`crate::http::router::routes`] is in it, and
//! `scripts/ci/schemathesis.sh` checks the running server against it.

use std::sync::OnceLock;

use axum::{
    http::header,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::{
    Modify, OpenApi, ToSchema,
    openapi::{
        Content, OpenApi as Document, Ref, RefOr, ResponseBuilder,
        path::Operation,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};
use vitrine_common::api::{Limit, Price};

use crate::{
    http::error::Problem,
    http::handlers::{self, visual::ImageHit},
    jobs::{ItemError, ItemOutcome, ItemStatus, JobState, JobView, Priority, Progress},
};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";
/// The name of the security scheme (bearer API key) in the document.
pub const API_KEY_SCHEME: &str = "api_key";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Vitrine origin",
        description = "Catalog, text and image search, images, batch jobs, health and metrics. \
                       Writes need `Authorization: Bearer <API key>` (a key of `API_KEYS`); every \
                       error is an RFC 9457 `application/problem+json` body."
    ),
    paths(
        handlers::products::list,
        handlers::products::create,
        handlers::products::bulk,
        handlers::products::get,
        handlers::products::update,
        handlers::products::delete,
        handlers::search::get,
        handlers::search::post,
        handlers::synonyms::get,
        handlers::synonyms::put,
        handlers::visual::search_image,
        handlers::visual::similar,
        handlers::images::upload,
        handlers::images::original,
        handlers::images::thumbnail,
        handlers::jobs::submit,
        handlers::jobs::status,
        handlers::jobs::result,
        handlers::jobs::cancel,
        handlers::job_admin::list,
        handlers::job_admin::dead,
        handlers::job_admin::retry_one,
        handlers::job_admin::discard_one,
        handlers::job_admin::retry_many,
        handlers::job_admin::discard_many,
        handlers::schedules::list,
        handlers::cache::invalidate,
        handlers::health::health,
        handlers::health::detailed,
        handlers::health::cache_health,
        handlers::health::database_health,
        handlers::health::performance_health,
        handlers::health::live,
        handlers::health::ready,
        handlers::health::status,
        handlers::metrics::prometheus,
        handlers::metrics::performance,
        serve,
        handlers::storefront::index,
        handlers::storefront::asset,
        handlers::admin::index,
        handlers::admin::asset,
        handlers::session::check,
    ),
    components(schemas(
        Problem,
        JobView,
        crate::jobs::schedule::ScheduleView,
        crate::db::schedules::ScheduleRun,
        handlers::schedules::SchedulesResponse,
        JobState,
        Priority,
        Progress,
        ItemOutcome,
        ItemStatus,
        ItemError,
        crate::jobs::admin::JobPage,
        crate::jobs::admin::JobSummary,
        crate::jobs::admin::DeadCount,
        handlers::job_admin::DeadLetterPage,
        handlers::job_admin::DeadLetterView,
        handlers::job_admin::DeadIds,
    )),
    modifiers(&Conventions),
    tags(
        (name = "products", description = "The catalog"),
        (name = "search", description = "Text and image search"),
        (name = "images", description = "Originals, uploads and thumbnails"),
        (name = "jobs", description = "Batch image processing, recent jobs and dead letters"),
        (name = "cache", description = "Cache administration"),
        (name = "health", description = "Health, status and metrics"),
        (name = "storefront", description = "The shop page and its hashed assets"),
        (name = "console", description = "The operator console and its API-key check"),
    )
)]
struct ApiDoc;

/// The document, built on first use.
pub fn document() -> &'static Document {
    static DOC: OnceLock<Document> = OnceLock::new();
    DOC.get_or_init(ApiDoc::openapi)
}

/// The document as JSON bytes, serialized once.
fn document_json() -> &'static [u8] {
    static JSON: OnceLock<Vec<u8>> = OnceLock::new();
    JSON.get_or_init(|| serde_json::to_vec(document()).unwrap_or_default())
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "health",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", body = Object))
)]
pub async fn serve() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document_json(),
    )
        .into_response()
}

/// The rules that hold for every operation (see the module doc).
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            API_KEY_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key from `API_KEYS`: `Authorization: Bearer <key>`",
                    ))
                    .build(),
            ),
        );
        for (path, item) in doc.paths.paths.iter_mut() {
            let limited = !crate::http::middleware::rate_limit::is_exempt(path);
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                apply(op, limited);
            }
        }
    }
}

fn apply(op: &mut Operation, limited: bool) {
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let mut common = vec![
        (
            "406",
            "The client's `Accept-Encoding` refuses every coding, identity included",
        ),
        ("500", "The server failed; the cause is logged, not sent"),
        ("504", "The request took longer than `REQUEST_TIMEOUT`"),
    ];
    if secured {
        common.push(("401", "Missing or invalid API key (or no `API_KEYS` set)"));
    }
    if limited {
        common.push(("429", "Rate limited; see `Retry-After`"));
    }
    for (status, description) in common {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| {
                ResponseBuilder::new()
                    .description(description)
                    .build()
                    .into()
            });
    }
    for (status, response) in op.responses.responses.iter_mut() {
        let is_error = status.starts_with('4') || status.starts_with('5');
        if let (true, RefOr::T(response)) = (is_error, response)
            && response.content.is_empty()
        {
            response.content.insert(
                PROBLEM_JSON.to_owned(),
                Content::new(Some(Ref::from_schema_name("Problem"))),
            );
        }
    }
}

// ---- Bodies the handlers build as ad-hoc JSON -------------------------------------------

/// What `POST /api/products/bulk` did.
#[derive(Serialize, ToSchema)]
pub struct BulkSummaryDoc {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Lines that were not a valid product.
    pub rejected: u64,
    /// The first 100 rejected lines.
    pub errors: Vec<crate::http::handlers::products::Rejected>,
}

/// An uploaded original.
#[derive(Serialize, ToSchema)]
pub struct UploadedImageDoc {
    /// BLAKE3 of the bytes (content address).
    pub id: String,
    pub width: u32,
    pub height: u32,
    pub format: String,
    pub bytes: u64,
    /// False when the same bytes had been uploaded before.
    pub created: bool,
    pub url: String,
    /// What to paint before the image arrives (also in every product's `images`); null only
    /// for bytes stored before placeholders existed, until the background pass reaches them.
    pub placeholder: Option<vitrine_common::api::ImagePlaceholder>,
    /// With a visual model loaded (`VISUAL_MODEL`): the 5 most probable ImageNet classes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<ImageLabelDoc>>,
}

/// `GET /api/images/{id}` with `Accept: application/json`: what the original is and what
/// the visual model saw in it.
#[derive(Serialize, ToSchema)]
pub struct ImageMetadataDoc {
    /// BLAKE3 of the bytes (content address).
    pub id: String,
    pub format: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    /// What to paint before the image arrives (also in every product's `images`); null until
    /// the background pass reaches an image stored before placeholders existed.
    pub placeholder: Option<vitrine_common::api::ImagePlaceholder>,
    /// The top 5 ImageNet classes stored with the image (empty with the descriptor alone,
    /// or before it was analysed).
    pub labels: Vec<ImageLabelDoc>,
    /// The model that analysed it (`descriptor-v4`,
    /// `efficientnet-lite0@<weights>+descriptor-v4`); null before it was analysed.
    pub model: Option<String>,
}

/// An ImageNet class the visual model saw in an image, with its probability.
#[derive(Serialize, ToSchema)]
pub struct ImageLabelDoc {
    pub name: String,
    pub score: f32,
}

/// `POST /api/images` as `multipart/form-data`.
#[derive(ToSchema)]
pub struct UploadFormDoc {
    /// The image file.
    #[schema(value_type = String, format = Binary)]
    pub image: Vec<u8>,
}

/// `POST /api/search/image`: the photo and optional filters.
#[derive(ToSchema)]
pub struct ImageSearchFormDoc {
    /// The photo.
    #[schema(value_type = String, format = Binary)]
    pub image: Vec<u8>,
    pub limit: Option<Limit>,
    #[schema(value_type = Option<String>, min_length = 1, max_length = 100)]
    pub category: Option<String>,
    #[schema(value_type = Option<String>, min_length = 1, max_length = 100)]
    pub brand: Option<String>,
    pub price_min: Option<Price>,
    pub price_max: Option<Price>,
    /// Include `thumbnail_url` in the hits (default true).
    pub generate_thumbnails: Option<bool>,
    /// Cache the results by the photo's content hash (default true).
    pub cache_result: Option<bool>,
}

/// The query image as the server saw it.
#[derive(Serialize, ToSchema)]
pub struct ImageQueryDoc {
    /// BLAKE3 of the photo's bytes.
    pub content_hash: String,
    /// The photo's perceptual hash, 16 hex digits.
    pub phash: String,
}

/// `POST /api/search/image`.
#[derive(Serialize, ToSchema)]
pub struct ImageSearchResponseDoc {
    pub results: Vec<ImageHit>,
    pub took_ms: f64,
    pub query: ImageQueryDoc,
}

/// `GET /api/products/{id}/similar`.
#[derive(Serialize, ToSchema)]
pub struct SimilarResponseDoc {
    pub product_id: i64,
    pub results: Vec<ImageHit>,
    pub took_ms: f64,
}

/// A batch was accepted (202) or its idempotency key was seen before (200).
#[derive(Serialize, ToSchema)]
pub struct BatchAcceptedDoc {
    pub job_id: String,
    pub status_url: String,
    pub result_url: String,
    /// How many images the batch holds.
    pub items: u64,
    /// True when the idempotency key had been used: this is the first job.
    pub duplicate: bool,
}

/// The results of a finished job.
#[derive(Serialize, ToSchema)]
pub struct JobResultDoc {
    pub job_id: String,
    pub state: JobState,
    pub progress: Progress,
    pub results: Vec<ItemOutcome>,
}

/// A cancelled job.
#[derive(Serialize, ToSchema)]
pub struct JobCancelledDoc {
    pub job_id: String,
    pub state: JobState,
}

/// A cache namespace.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum NamespaceDoc {
    Search,
    Embed,
    Product,
    User,
    Rec,
    Thumb,
    Other,
}

/// A thumbnail preset of a batch.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum ThumbnailSizeDoc {
    Small,
    Medium,
    Large,
}

/// The thumbnail format of a batch.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum BatchFormatDoc {
    Webp,
    Jpeg,
    Jpg,
    Png,
}

/// What `POST /api/cache/invalidate` dropped: `{"tag": …}` or `{"namespace": …, "generation": …}`.
#[derive(Serialize, ToSchema)]
pub struct InvalidatedDoc {
    #[schema(value_type = Object)]
    pub invalidated: serde_json::Value,
}
