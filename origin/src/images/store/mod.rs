//! Where original image bytes live, behind one trait so the rest of the origin does not care
//! which backend it is: a folder on disk ([`FsStore`], the embedded default) or an
//! S3-compatible bucket ([`S3Store`]), chosen by `OBJECT_STORE_URL` ([`open`]).
//!
//! Keys are only ever a validated content hash ([`ImageId`]: 64 lower-case hex characters),
//! so no request can name a path of its own. Both backends lay objects out the same way,
//! `{prefix}/{id[..2]}/{id}`, so a folder can be copied into a bucket as it is. Puts are
//! idempotent (the same key always holds the same bytes) and refresh the object's time, which
//! is what the orphan sweep's grace period counts from. Reads are bounded: an object larger
//! than the caller's bound is refused before its body is read.
//!
//! Every call is cut at `OBJECT_STORE_TIMEOUT` ([`Bounded`]), and every failure is a
//! [`StoreError`] saying what kind it is, so the HTTP layer can answer 404, 503 or 504 rather
//! than a 500.

mod bounded;
mod fs;
mod s3;

use std::{sync::Arc, time::SystemTime};

use futures::{future::BoxFuture, stream::BoxStream};
use vitrine_common::api::ImageId;

pub use bounded::Bounded;
pub use fs::FsStore;
pub use s3::S3Store;

use crate::config::{ObjectStoreSettings, StoreLocation};

/// Why a store call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// No object under that key.
    #[error("no such object")]
    NotFound,
    /// The store cannot be reached or refused the call (connection refused, 5xx, a disk
    /// error, credentials it does not accept): an outage, not a bug.
    #[error("the object store is unavailable: {0}")]
    Unavailable(String),
    /// The store did not answer within `OBJECT_STORE_TIMEOUT`.
    #[error("the object store did not answer within {0:?}")]
    Timeout(std::time::Duration),
    /// The object is larger than the caller's bound (its body was not read).
    #[error("the object is {len} bytes, over the bound of {limit}")]
    TooLarge { len: u64, limit: u64 },
    /// Anything else (a bug here or an operation the backend does not support).
    #[error("{0}")]
    Other(String),
}

/// What a listing says about one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub id: ImageId,
    /// When the object was last put.
    pub last_modified: SystemTime,
    pub size: u64,
}

pub trait ObjectStore: Send + Sync {
    /// Stores `bytes` under `id` (idempotent: the id is their content hash) and refreshes the
    /// object's modification time.
    fn put<'a>(
        &'a self,
        id: &'a ImageId,
        bytes: bytes::Bytes,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// The bytes under `id`; [`StoreError::TooLarge`] when the object is over `max_bytes`.
    fn get<'a>(
        &'a self,
        id: &'a ImageId,
        max_bytes: u64,
    ) -> BoxFuture<'a, Result<Vec<u8>, StoreError>>;
    /// The object's metadata without its bytes.
    fn head<'a>(&'a self, id: &'a ImageId) -> BoxFuture<'a, Result<ObjectMeta, StoreError>>;
    /// Removes the object; removing a missing object succeeds.
    fn delete<'a>(&'a self, id: &'a ImageId) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Every object whose key is a content id (anything else under the prefix is skipped, so
    /// it is never deleted either), in no particular order.
    fn list(&self) -> BoxStream<'_, Result<ObjectMeta, StoreError>>;
    /// Where the objects are, for logs (`file:///…`, `s3://bucket/prefix`); never a secret.
    fn describe(&self) -> String;
}

/// The key path of `id` below a prefix: `{id[..2]}/{id}`.
pub(crate) fn fan_out(id: &ImageId) -> (&str, &str) {
    let id = id.as_str();
    (&id[..2], id)
}

/// The content id named by the last two segments of a key (`{id[..2]}/{id}`), if they are one.
pub(crate) fn id_from_segments(dir: &str, name: &str) -> Option<ImageId> {
    let id = ImageId::parse(name).ok()?;
    (fan_out(&id).0 == dir).then_some(id)
}

/// The store `settings` name, every call bounded by `OBJECT_STORE_TIMEOUT`. Nothing is
/// contacted yet: a store that is down at start makes requests answer 503, not start-up fail.
pub fn open(settings: &ObjectStoreSettings) -> anyhow::Result<Arc<dyn ObjectStore>> {
    let inner: Arc<dyn ObjectStore> = match &settings.location {
        StoreLocation::Dir(dir) => Arc::new(FsStore::new(dir)),
        StoreLocation::S3(s3) => Arc::new(S3Store::new(s3, settings.timeout)?),
    };
    Ok(Arc::new(Bounded::new(inner, settings.timeout)))
}
