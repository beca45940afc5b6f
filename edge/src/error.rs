//! The edge's one error enum: every way a request can fail at the edge, each with its status,
//! a stable code and a public message, rendered as `application/problem+json` (RFC 9457).
//!
//! Why one enum: the Worker answers errors of its own (a bad signature, a rate limit, an origin
//! that timed out) next to the origin's problem bodies, and clients should not be able to tell
//! the difference in shape. Private causes (a JS exception, a config variable's reason) go to
//! the log through [`EdgeError::log_cause`], never into the body.

use serde::Serialize;
use vitrine_common::error::InvalidInput;
use vitrine_common::signature::SignatureError;
use vitrine_common::thumbnail::PipelineError;

use crate::config::ConfigError;

/// Why the edge answered with an error.
#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    /// A URL option, path or header failed to parse.
    #[error("{0}")]
    BadRequest(InvalidInput),
    /// The image URL's signature is missing or wrong.
    #[error("{0}")]
    Forbidden(SignatureError),
    /// The purge endpoint was called without the right token.
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// No acceptable content coding (`Accept-Encoding` excludes identity and all we have).
    #[error("none of the content codings this server offers is acceptable")]
    NotAcceptable,
    /// Over the rate limit; the caller adds `Retry-After` and the `RateLimit*` headers.
    #[error("too many requests; retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// The thumbnail pipeline refused the image.
    #[error("{0}")]
    Image(PipelineError),
    /// The origin did not answer in time.
    #[error("the origin did not answer within {0} ms")]
    OriginTimeout(u128),
    /// The origin could not be reached (and nothing stale could be served).
    #[error("the origin could not be reached")]
    OriginUnreachable(String),
    /// The Worker is misconfigured (the variable is named, its value is not).
    #[error("the edge is misconfigured ({})", .0.name)]
    Config(ConfigError),
    /// Anything else; the cause is logged only.
    #[error("internal error at the edge")]
    Internal(String),
}

/// The problem+json body.
#[derive(Debug, Serialize)]
pub struct Problem<'a> {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'a str,
    pub status: u16,
    pub detail: String,
    pub code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<&'a str>,
}

impl EdgeError {
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::Unauthorized => 401,
            Self::Forbidden(_) => 403,
            Self::NotAcceptable => 406,
            Self::RateLimited { .. } => 429,
            Self::Image(e) => e.status(),
            Self::OriginTimeout(_) => 504,
            Self::OriginUnreachable(_) => 502,
            Self::Config(_) | Self::Internal(_) => 500,
        }
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden(e) => e.code(),
            Self::NotAcceptable => "not_acceptable",
            Self::RateLimited { .. } => "rate_limited",
            Self::Image(e) => e.code(),
            Self::OriginTimeout(_) => "origin_timeout",
            Self::OriginUnreachable(_) => "origin_unreachable",
            Self::Config(_) => "misconfigured",
            Self::Internal(_) => "internal",
        }
    }

    fn title(&self) -> &'static str {
        match self.status() {
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            406 => "Not Acceptable",
            413 => "Content Too Large",
            415 => "Unsupported Media Type",
            422 => "Unprocessable Content",
            429 => "Too Many Requests",
            502 => "Bad Gateway",
            504 => "Gateway Timeout",
            _ => "Internal Server Error",
        }
    }

    /// What may be logged but never sent.
    pub fn log_cause(&self) -> Option<String> {
        match self {
            Self::OriginUnreachable(c) | Self::Internal(c) => Some(c.clone()),
            Self::Config(c) => Some(c.to_string()),
            _ => None,
        }
    }

    /// The `application/problem+json` body.
    pub fn problem_json(&self, request_id: Option<&str>) -> String {
        let problem = Problem {
            kind: format!("https://vitrine.dev/problems/{}", self.code()),
            title: self.title(),
            status: self.status(),
            detail: self.to_string(),
            code: self.code(),
            request_id,
        };
        serde_json::to_string(&problem).unwrap_or_else(|_| {
            format!(
                r#"{{"title":"{}","status":{}}}"#,
                self.title(),
                self.status()
            )
        })
    }
}

impl From<InvalidInput> for EdgeError {
    fn from(e: InvalidInput) -> Self {
        Self::BadRequest(e)
    }
}

impl From<SignatureError> for EdgeError {
    fn from(e: SignatureError) -> Self {
        Self::Forbidden(e)
    }
}

impl From<PipelineError> for EdgeError {
    fn from(e: PipelineError) -> Self {
        Self::Image(e)
    }
}

impl From<ConfigError> for EdgeError {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}

#[cfg(target_arch = "wasm32")]
impl From<worker::Error> for EdgeError {
    fn from(e: worker::Error) -> Self {
        Self::Internal(e.to_string())
    }
}

#[cfg(target_arch = "wasm32")]
impl EdgeError {
    /// The response: problem body, `no-store`, the request id echoed.
    pub fn into_response(self, request_id: Option<&str>) -> worker::Response {
        if let Some(cause) = self.log_cause() {
            worker::console_error!("edge error {}: {cause}", self.code());
        }
        let headers = worker::Headers::new();
        let _ = headers.set("content-type", "application/problem+json");
        let _ = headers.set("cache-control", "no-store");
        let _ = headers.set("x-cache", "MISS");
        if let Some(id) = request_id {
            let _ = headers.set("x-request-id", id);
        }
        if let Self::RateLimited { retry_after_secs } = &self {
            let _ = headers.set("retry-after", &retry_after_secs.to_string());
        }
        worker::Response::builder()
            .with_status(self.status())
            .with_headers(headers)
            .fixed(self.problem_json(request_id).into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_bodies_carry_status_code_and_no_private_cause() {
        let e = EdgeError::OriginUnreachable("connect ECONNREFUSED 10.0.0.1".into());
        let body: serde_json::Value = serde_json::from_str(&e.problem_json(Some("r1"))).unwrap();
        assert_eq!(body["status"], 502);
        assert_eq!(body["code"], "origin_unreachable");
        assert_eq!(body["request_id"], "r1");
        assert!(!body.to_string().contains("ECONNREFUSED"));
        assert_eq!(EdgeError::OriginTimeout(100).status(), 504);
        assert_eq!(EdgeError::Forbidden(SignatureError::Invalid).status(), 403);
        assert_eq!(
            EdgeError::Forbidden(SignatureError::Invalid).code(),
            "signature_invalid"
        );
        let cfg = EdgeError::Config(ConfigError {
            name: "PURGE_TOKEN",
            reason: "must be at least 16 characters".into(),
        });
        assert!(cfg.problem_json(None).contains("PURGE_TOKEN"));
        assert!(!cfg.problem_json(None).contains("16 characters"));
    }
}
