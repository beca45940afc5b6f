//! Errors raised while parsing untrusted input at a boundary.
//!
//! Each variant names the field that was wrong so that the origin and the edge can turn it
//! into an `application/problem+json` body without guessing.

/// A value from outside (a request field, a header, a URL option) that failed to parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidInput {
    /// The field, option or header that was wrong.
    pub field: &'static str,
    /// Why, in words a client can act on.
    pub reason: String,
}

impl InvalidInput {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}
