//! Objects in an S3-compatible bucket (`s3://bucket[/prefix]`), through the `object_store`
//! crate's S3 client: SigV4 signing, path-style or virtual-hosted addressing, retries.
//!
//! Retries are kept short (two, within `OBJECT_STORE_TIMEOUT`) so a store that is down
//! answers the request with a 503 in well under a second instead of backing off for minutes.
//! A put always overwrites: the key is the content hash, so the bytes are the same, and the
//! new `Last-Modified` restarts the orphan sweep's grace period.

use std::time::{Duration, SystemTime};

use futures::{StreamExt, TryStreamExt, future::BoxFuture, stream::BoxStream};
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore as _, PutPayload, RetryConfig,
    aws::{AmazonS3, AmazonS3Builder},
    client::{HttpError, HttpErrorKind},
    path::Path,
};
use vitrine_common::api::ImageId;

use super::{ObjectMeta, ObjectStore, StoreError, fan_out, id_from_segments};
use crate::config::S3Location;

pub struct S3Store {
    client: AmazonS3,
    prefix: Option<Path>,
    describe: String,
    timeout: Duration,
}

impl S3Store {
    /// A client for `location`; nothing is contacted until the first call.
    pub fn new(location: &S3Location, timeout: Duration) -> anyhow::Result<Self> {
        let http = location
            .endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("http://"));
        let options = ClientOptions::new()
            .with_timeout(timeout)
            .with_connect_timeout(timeout.min(Duration::from_secs(3)))
            .with_allow_http(http);
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(50),
                max_backoff: Duration::from_millis(500),
                base: 2.0,
            },
            max_retries: 2,
            retry_timeout: timeout,
        };
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&location.bucket)
            .with_region(&location.region)
            .with_virtual_hosted_style_request(!location.path_style)
            .with_allow_http(http)
            .with_client_options(options)
            .with_retry(retry);
        if let Some(endpoint) = &location.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(c) = &location.credentials {
            builder = builder
                .with_access_key_id(&c.access_key_id)
                .with_secret_access_key(&c.secret_access_key);
            if let Some(token) = &c.session_token {
                builder = builder.with_token(token);
            }
        }
        let client = builder.build()?;
        let describe = match &location.prefix {
            Some(p) => format!("s3://{}/{p}", location.bucket),
            None => format!("s3://{}", location.bucket),
        };
        Ok(Self {
            client,
            prefix: location.prefix.as_deref().map(Path::from),
            describe,
            timeout,
        })
    }

    fn path(&self, id: &ImageId) -> Path {
        let (dir, name) = fan_out(id);
        match &self.prefix {
            Some(p) => p.child(dir).child(name),
            None => Path::from(dir).child(name),
        }
    }

    fn meta(&self, m: object_store::ObjectMeta) -> Option<ObjectMeta> {
        let mut parts: Vec<_> = m.location.parts().collect();
        let name = parts.pop()?;
        let dir = parts.pop()?;
        // Only keys directly below the prefix: `{prefix}/{dir}/{id}`.
        let depth = self.prefix.as_ref().map_or(0, |p| p.parts().count());
        if parts.len() != depth {
            return None;
        }
        Some(ObjectMeta {
            id: id_from_segments(dir.as_ref(), name.as_ref())?,
            last_modified: SystemTime::from(m.last_modified),
            size: m.size,
        })
    }
}

/// Sorts an `object_store` error into a [`StoreError`]: a 404 is a missing object, a timeout
/// anywhere in the chain is a timeout, connection failures, 5xx and refused credentials mean
/// the store is unavailable; what is left is a bug or an unsupported call.
fn classify(e: object_store::Error, timeout: Duration) -> StoreError {
    use object_store::Error as E;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    // `object_store` wraps the client's error transparently, so the chain may show the
    // `HttpError` or go straight to the `reqwest::Error` (or the I/O error) below it.
    while let Some(s) = source {
        let timed_out = s
            .downcast_ref::<HttpError>()
            .is_some_and(|h| h.kind() == HttpErrorKind::Timeout)
            || s.downcast_ref::<reqwest::Error>()
                .is_some_and(reqwest::Error::is_timeout)
            || s.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut);
        if timed_out {
            return StoreError::Timeout(timeout);
        }
        source = s.source();
    }
    match e {
        E::NotFound { .. } => StoreError::NotFound,
        E::Generic { .. } | E::PermissionDenied { .. } | E::Unauthenticated { .. } => {
            StoreError::Unavailable(e.to_string())
        }
        other => StoreError::Other(other.to_string()),
    }
}

impl ObjectStore for S3Store {
    fn put<'a>(
        &'a self,
        id: &'a ImageId,
        bytes: bytes::Bytes,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.client
                .put(&self.path(id), PutPayload::from_bytes(bytes))
                .await
                .map(|_| ())
                .map_err(|e| classify(e, self.timeout))
        })
    }

    /// The size comes with the response headers: an object over the bound is refused before
    /// its body is read, and the body is read chunk by chunk up to the bound.
    fn get<'a>(
        &'a self,
        id: &'a ImageId,
        max_bytes: u64,
    ) -> BoxFuture<'a, Result<Vec<u8>, StoreError>> {
        Box::pin(async move {
            let result = self
                .client
                .get(&self.path(id))
                .await
                .map_err(|e| classify(e, self.timeout))?;
            let len = result.meta.size;
            if len > max_bytes {
                return Err(StoreError::TooLarge {
                    len,
                    limit: max_bytes,
                });
            }
            let mut bytes = Vec::with_capacity(len as usize);
            let mut body = result.into_stream();
            while let Some(chunk) = body
                .try_next()
                .await
                .map_err(|e| classify(e, self.timeout))?
            {
                if (bytes.len() + chunk.len()) as u64 > max_bytes {
                    return Err(StoreError::TooLarge {
                        len: (bytes.len() + chunk.len()) as u64,
                        limit: max_bytes,
                    });
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(bytes)
        })
    }

    fn head<'a>(&'a self, id: &'a ImageId) -> BoxFuture<'a, Result<ObjectMeta, StoreError>> {
        Box::pin(async move {
            let m = self
                .client
                .head(&self.path(id))
                .await
                .map_err(|e| classify(e, self.timeout))?;
            Ok(ObjectMeta {
                id: id.clone(),
                last_modified: SystemTime::from(m.last_modified),
                size: m.size,
            })
        })
    }

    fn delete<'a>(&'a self, id: &'a ImageId) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            match self.client.delete(&self.path(id)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(classify(e, self.timeout)),
            }
        })
    }

    fn list(&self) -> BoxStream<'_, Result<ObjectMeta, StoreError>> {
        self.client
            .list(self.prefix.as_ref())
            .filter_map(move |item| async move {
                match item {
                    Ok(m) => self.meta(m).map(Ok),
                    Err(e) => Some(Err(classify(e, self.timeout))),
                }
            })
            .boxed()
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }
}
