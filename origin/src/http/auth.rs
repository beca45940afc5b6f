//! API keys for write endpoints: `Authorization: Bearer <key>`.
//!
//! Keys come from `API_KEYS` (comma-separated). They are kept only as BLAKE3 digests and
//! compared in constant time against the digest of the presented key, so neither the
//! comparison time nor a memory dump reveals a key, and keys are never logged.

use std::sync::Arc;

use axum::{extract::FromRef, extract::FromRequestParts, http::request::Parts};
use subtle::ConstantTimeEq;

use crate::{config::ApiKey, http::error::ApiError};

#[derive(Clone, Default)]
pub struct ApiKeys {
    digests: Arc<Vec<[u8; 32]>>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeys({} configured)", self.digests.len())
    }
}

impl ApiKeys {
    pub fn new(keys: &[ApiKey]) -> Self {
        Self {
            digests: Arc::new(
                keys.iter()
                    .map(|k| *blake3::hash(k.0.as_bytes()).as_bytes())
                    .collect(),
            ),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// True when `presented` is one of the keys. Checks every key, whatever matches.
    pub fn verify(&self, presented: &str) -> bool {
        let digest = blake3::hash(presented.as_bytes());
        let mut ok = subtle::Choice::from(0);
        for known in self.digests.iter() {
            ok |= known.ct_eq(digest.as_bytes());
        }
        bool::from(ok)
    }
}

/// Extractor that admits only requests with a valid API key.
#[derive(Debug, Clone, Copy)]
pub struct RequireApiKey;

impl<S> FromRequestParts<S> for RequireApiKey
where
    S: Send + Sync,
    ApiKeys: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let keys = ApiKeys::from_ref(state);
        if keys.is_empty() {
            return Err(ApiError::Unauthorized(
                "writes are disabled: no API keys are configured (set API_KEYS)".into(),
            ));
        }
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::Unauthorized("missing `Authorization: Bearer <API key>` header".into())
            })?;
        let presented = header
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header must be `Bearer <API key>`".into())
            })?;
        if keys.verify(presented) {
            Ok(RequireApiKey)
        } else {
            Err(ApiError::Unauthorized("the API key is not valid".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_any_configured_key_only() {
        let keys = ApiKeys::new(&[ApiKey("first-key-1".into()), ApiKey("second-key-2".into())]);
        assert!(keys.verify("first-key-1"));
        assert!(keys.verify("second-key-2"));
        assert!(!keys.verify("first-key-"));
        assert!(!keys.verify(""));
        assert!(!ApiKeys::new(&[]).verify("anything"));
    }
}
