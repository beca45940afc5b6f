//! How each failure the domain modules and extractors report becomes an [`ApiError`]: the
//! HTTP layer decides statuses, the domain modules only say what went wrong.

use axum::{
    extract::rejection::{JsonRejection, PathRejection, QueryRejection},
    http::StatusCode,
};
use vitrine_common::{error::InvalidInput, thumbnail::PipelineError};

use super::ApiError;
use crate::{
    catalog::CatalogError,
    db::DbError,
    images::{IngestError, ReadError, store::StoreError, thumbs::RenderError},
};

impl From<InvalidInput> for ApiError {
    fn from(e: InvalidInput) -> Self {
        ApiError::InvalidField(e)
    }
}

impl From<PipelineError> for ApiError {
    fn from(e: PipelineError) -> Self {
        ApiError::Image(e)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(e) => ApiError::Unprocessable(e.body_text()),
            JsonRejection::JsonSyntaxError(e) => ApiError::BadRequest(e.body_text()),
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
                "expected a request with `Content-Type: application/json`".into(),
            ),
            JsonRejection::BytesRejection(e) => {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge("request body is larger than the limit".into())
                } else {
                    ApiError::BadRequest(e.body_text())
                }
            }
            other => ApiError::BadRequest(other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::BadRequest(rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::BadRequest(rejection.body_text())
    }
}

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::Db(e) => e.into(),
            CatalogError::Index(e) => ApiError::internal(e),
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Conflict(detail) => ApiError::Conflict(detail),
            DbError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                ApiError::database_unavailable()
            }
            DbError::Timeout => ApiError::database_timeout(),
            DbError::Other(cause) => ApiError::Internal(cause),
        }
    }
}

/// A store failure on a read (an original, a thumbnail's source): a missing object is a 404,
/// an unreachable store a 503 + `Retry-After`, a slow one a 504; only a bug is a 500.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound("no such image in the object store".into()),
            StoreError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "object store unavailable");
                ApiError::store_unavailable()
            }
            StoreError::Timeout(after) => ApiError::Timeout(format!(
                "the object store did not answer within {after:?}; retry shortly"
            )),
            StoreError::TooLarge { len, limit } => ApiError::Image(PipelineError::TooManyBytes {
                len: usize::try_from(len).unwrap_or(usize::MAX),
                limit: usize::try_from(limit).unwrap_or(usize::MAX),
            }),
            StoreError::Other(cause) => ApiError::Internal(anyhow::anyhow!(cause)),
        }
    }
}

impl ApiError {
    /// A store failure on a write (an upload, a staged batch item): as on a read, except that
    /// a slow store is a 503 + `Retry-After` too. The object may or may not have landed, but
    /// nothing was acknowledged, and a retry of the same bytes is idempotent.
    pub fn store_write(e: StoreError) -> Self {
        match e {
            StoreError::Timeout(after) => {
                tracing::warn!(?after, "object store timed out on a write");
                ApiError::store_unavailable()
            }
            other => other.into(),
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::Refused(p) => ApiError::from(p),
            IngestError::Store(e) => ApiError::store_write(e),
            IngestError::Db(e) => e.into(),
            IngestError::Internal(m) => ApiError::Internal(anyhow::anyhow!(m)),
        }
    }
}

impl From<ReadError> for ApiError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Store(e) => e.into(),
            ReadError::Db(e) => e.into(),
        }
    }
}

impl From<RenderError> for ApiError {
    fn from(e: RenderError) -> Self {
        match e {
            RenderError::NotFound(m) => ApiError::NotFound(m),
            RenderError::Pipeline(p) => ApiError::Image(p),
            RenderError::Store(e) => e.into(),
            RenderError::Internal(m) => ApiError::Internal(anyhow::anyhow!(m)),
        }
    }
}
