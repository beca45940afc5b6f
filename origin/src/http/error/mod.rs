//! The origin's one error type at the HTTP boundary.
//!
//! Every failure a handler can meet becomes an `ApiError`, which knows its status code and
//! its public message and renders as an RFC 9457 `application/problem+json` body. The
//! private cause of a 5xx is logged with the request id, never sent to the client.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

mod convert;
use vitrine_common::{error::InvalidInput, thumbnail::PipelineError};

/// The RFC 9457 problem document: the body of every error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem, e.g. `https://vitrine.dev/problems/not-found`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request field that was invalid, when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    InvalidField(InvalidInput),
    /// A malformed request option (an `/img` URL option, a batch field): 400 naming it.
    #[error("{0}")]
    InvalidOption(InvalidInput),
    /// The image pipeline refused an image: its own status (413, 415, 422…) and code.
    #[error("{0}")]
    Image(PipelineError),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    NotAcceptable(String),
    #[error("too many requests; retry after {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("{detail}")]
    Unavailable {
        detail: String,
        retry_after_secs: u64,
    },
    #[error("{0}")]
    Timeout(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::InvalidOption(_) => StatusCode::BAD_REQUEST,
            ApiError::Image(e) => {
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY)
            }
            ApiError::InvalidField(_) | ApiError::Unprocessable(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A failure the handler did not classify: 500, unless a database error saying "cannot
    /// reach the database" or "it did not answer in time" is somewhere in its chain (a
    /// storage layer that wraps `DbError` in `anyhow`, such as image lookups and uploads): that
    /// is an outage, not a bug, and gets the same 503 + `Retry-After` as a direct database
    /// error.
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        let e = e.into();
        for cause in e.chain() {
            if let Some(db) = cause.downcast_ref::<crate::db::DbError>() {
                match db {
                    crate::db::DbError::Unavailable(detail) => {
                        tracing::warn!(error = %detail, "database unavailable");
                        return Self::database_unavailable();
                    }
                    crate::db::DbError::Timeout => return Self::database_timeout(),
                    _ => {}
                }
            }
        }
        ApiError::Internal(e)
    }

    fn database_unavailable() -> Self {
        ApiError::Unavailable {
            detail: "the catalog database is unavailable; retry shortly".into(),
            retry_after_secs: 5,
        }
    }

    fn store_unavailable() -> Self {
        ApiError::Unavailable {
            detail: "the image object store is unavailable; retry shortly".into(),
            retry_after_secs: 5,
        }
    }

    fn database_timeout() -> Self {
        ApiError::Unavailable {
            detail: "the catalog database did not answer in time; retry shortly".into(),
            retry_after_secs: 5,
        }
    }

    /// A job-queue failure: 503 + `Retry-After` when the queue's store (Redis) cannot be
    /// reached or did not answer in time — the job was *not* accepted, and the client should
    /// resubmit (with its idempotency key) — else 500. Accepting a batch into process memory
    /// while Redis is down would acknowledge work that a crash could silently lose.
    pub fn queue(e: anyhow::Error) -> Self {
        if crate::jobs::is_unavailable(&e) {
            tracing::warn!(error = %e, "job queue unavailable");
            ApiError::Unavailable {
                detail: "the job queue is unavailable; retry shortly".into(),
                retry_after_secs: 5,
            }
        } else {
            ApiError::Internal(e)
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        ApiError::NotFound(what.into())
    }

    /// An equivalent error (same status and public message), for errors shared between
    /// several waiters of one cached computation.
    pub fn duplicate(&self) -> ApiError {
        match self {
            ApiError::BadRequest(m) => ApiError::BadRequest(m.clone()),
            ApiError::InvalidField(e) => ApiError::InvalidField(e.clone()),
            ApiError::InvalidOption(e) => ApiError::InvalidOption(e.clone()),
            ApiError::Image(e) => ApiError::Image(e.clone()),
            ApiError::Unprocessable(m) => ApiError::Unprocessable(m.clone()),
            ApiError::Unauthorized(m) => ApiError::Unauthorized(m.clone()),
            ApiError::Forbidden(m) => ApiError::Forbidden(m.clone()),
            ApiError::NotFound(m) => ApiError::NotFound(m.clone()),
            ApiError::Conflict(m) => ApiError::Conflict(m.clone()),
            ApiError::PayloadTooLarge(m) => ApiError::PayloadTooLarge(m.clone()),
            ApiError::UnsupportedMediaType(m) => ApiError::UnsupportedMediaType(m.clone()),
            ApiError::NotAcceptable(m) => ApiError::NotAcceptable(m.clone()),
            ApiError::TooManyRequests { retry_after_secs } => ApiError::TooManyRequests {
                retry_after_secs: *retry_after_secs,
            },
            ApiError::Unavailable {
                detail,
                retry_after_secs,
            } => ApiError::Unavailable {
                detail: detail.clone(),
                retry_after_secs: *retry_after_secs,
            },
            ApiError::Timeout(m) => ApiError::Timeout(m.clone()),
            ApiError::Internal(e) => ApiError::Internal(anyhow::anyhow!("{e:#}")),
        }
    }

    fn slug(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad-request",
            ApiError::InvalidField(_) => "invalid-field",
            ApiError::InvalidOption(_) => "invalid-option",
            ApiError::Image(e) => e.code(),
            ApiError::Unprocessable(_) => "unprocessable",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge(_) => "payload-too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::NotAcceptable(_) => "not-acceptable",
            ApiError::TooManyRequests { .. } => "rate-limited",
            ApiError::Unavailable { .. } => "unavailable",
            ApiError::Timeout(_) => "timeout",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The problem document sent to the client (no private detail).
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let detail = match self {
            ApiError::Internal(_) => {
                "the server failed to handle this request; it has been logged".to_owned()
            }
            other => other.to_string(),
        };
        Problem {
            kind: format!("https://vitrine.dev/problems/{}", self.slug()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            field: match self {
                ApiError::InvalidField(e) | ApiError::InvalidOption(e) => Some(e.field.to_owned()),
                _ => None,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Internal(cause) = &self {
            tracing::error!(error = ?cause, "request failed");
        }
        let mut response = (status, Json(self.problem())).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        let retry = match &self {
            ApiError::TooManyRequests { retry_after_secs }
            | ApiError::Unavailable {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        };
        if let Some(secs) = retry {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// `Json` whose rejections are `ApiError`s (so malformed bodies get problem+json).
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

/// `Query` whose rejections are `ApiError`s.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `Path` whose rejections are `ApiError`s.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::DbError;

    #[test]
    fn database_outages_inside_anyhow_are_503_and_bugs_stay_500() {
        let wrapped = anyhow::Error::from(DbError::Unavailable("refused".into()))
            .context("looking up an image");
        let e = ApiError::internal(wrapped);
        assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
        let r = e.into_response();
        assert_eq!(r.headers()[header::RETRY_AFTER], "5");
        assert_eq!(
            ApiError::internal(anyhow::Error::from(DbError::Timeout)).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            ApiError::internal(anyhow::Error::from(DbError::Other(anyhow::anyhow!(
                "syntax error"
            ))))
            .status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            ApiError::internal(anyhow::anyhow!("a bug")).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn queue_store_unreachable_is_503_and_other_queue_errors_500() {
        let refused =
            redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let e = ApiError::queue(anyhow::Error::from(refused).context("submitting"));
        assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(e.to_string().contains("queue"));
        let parse = serde_json::from_str::<u32>("x").unwrap_err();
        assert_eq!(
            ApiError::queue(parse.into()).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
