//! The HTTP face of the cache: cached JSON responses with a strong `ETag`, `304 Not
//! Modified`, `Cache-Control` per namespace and `Vary: Accept-Encoding`.
//!
//! Why the ETag is stored with the body: a hit should cost a map lookup and a copy of a
//! reference-counted buffer, not a hash of the body; so the cached value is
//! `[etag length: u8][etag][JSON body]`, computed once when the body is. The header rules
//! themselves (the policy table, ETag format, `If-None-Match` matching) are `common`'s, so
//! the edge reads exactly what the origin writes.

use std::{future::Future, sync::Arc};

use axum::{
    body::Body,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::Response,
};
use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use vitrine_common::{
    cache_key::{CacheKey, Tag},
    http_cache::{CachePolicy, EntityTag, is_not_modified},
};

use crate::{
    cache::Source,
    http::{ApiError, AppState},
};

/// The response header naming the tier that answered (`HIT-L1`, `HIT-L2`, `MISS`, `BYPASS`).
pub const X_CACHE: &str = "x-cache";

/// How a cached JSON response may be stored downstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Downstream {
    /// A GET with a canonical URL: the namespace's policy (`public, max-age…, s-maxage…`).
    Namespace,
    /// A POST (cached here only): `no-store` for browsers and the edge.
    NoStore,
}

fn encode_entry(etag: &str, body: &[u8]) -> Bytes {
    let tag = etag.as_bytes();
    let len = u8::try_from(tag.len()).unwrap_or(0);
    let mut b = BytesMut::with_capacity(1 + usize::from(len) + body.len());
    b.put_u8(len);
    b.put_slice(&tag[..usize::from(len)]);
    b.put_slice(body);
    b.freeze()
}

fn decode_entry(entry: &Bytes) -> Option<(&str, Bytes)> {
    let len = usize::from(*entry.first()?);
    let etag = std::str::from_utf8(entry.get(1..1 + len)?).ok()?;
    Some((etag, entry.slice(1 + len..)))
}

/// Rebuilds an error shared between single-flight waiters.
pub(crate) fn unshare(e: Arc<ApiError>) -> ApiError {
    Arc::try_unwrap(e).unwrap_or_else(|shared| shared.duplicate())
}

/// Answers with the JSON of `compute`, through the cache when `use_cache` (and the cache is
/// enabled), honouring `If-None-Match`.
pub async fn cached_json<T, F>(
    state: &AppState,
    request_headers: &HeaderMap,
    key: &CacheKey,
    tags: &[Tag],
    use_cache: bool,
    downstream: Downstream,
    compute: F,
) -> Result<Response, ApiError>
where
    T: Serialize,
    F: Future<Output = Result<T, ApiError>> + Send,
{
    let produce = async {
        let value = compute.await?;
        let body = serde_json::to_vec(&value).map_err(ApiError::internal)?;
        let etag = EntityTag::from_body(&body).to_string();
        Ok::<Bytes, ApiError>(encode_entry(&etag, &body))
    };
    let (entry, source) = if use_cache {
        state
            .cache
            .get_or_compute(key, None, tags, produce)
            .await
            .map_err(unshare)?
    } else {
        state.cache.stats().record_bypass();
        (produce.await?, Source::Bypass)
    };
    let (etag, body) = decode_entry(&entry)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("malformed cache entry for {key}")))?;
    let cache_control = match downstream {
        Downstream::Namespace => {
            CachePolicy::for_namespace(key.namespace(), state.settings.cache.ttl_default.as_secs())
                .header_value()
        }
        Downstream::NoStore => CachePolicy::NO_STORE.header_value(),
    };
    let not_modified = request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .zip(EntityTag::parse(etag))
        .is_some_and(|(inm, current)| is_not_modified(inm, &current));
    let mut response = if not_modified {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let mut r = Response::new(Body::from(body));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&cache_control) {
        h.insert(header::CACHE_CONTROL, v);
    }
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    h.insert(X_CACHE, HeaderValue::from_static(source.as_header()));
    // The edge purges by these tags when the origin invalidates (`Cache-Tag`, comma list).
    let mut cache_tags: Vec<&str> = tags.iter().map(Tag::as_str).collect();
    let ns_tag = Tag::namespace(key.namespace());
    cache_tags.push(ns_tag.as_str());
    if let Ok(v) = HeaderValue::from_str(&cache_tags.join(", ")) {
        h.insert("cache-tag", v);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip() {
        let e = encode_entry("\"b3-abc\"", b"{}");
        let (etag, body) = decode_entry(&e).unwrap();
        assert_eq!(etag, "\"b3-abc\"");
        assert_eq!(&body[..], b"{}");
        assert!(decode_entry(&Bytes::new()).is_none());
        assert!(decode_entry(&Bytes::from_static(b"\x09ab")).is_none());
    }
}
