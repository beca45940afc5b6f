//! Every store call cut at `OBJECT_STORE_TIMEOUT`, whatever the backend: a hung NFS mount or
//! a bucket that accepts connections and never answers costs a request at most that long,
//! and the caller gets [`StoreError::Timeout`] (uploads answer 503, reads 504).

use std::{future::Future, sync::Arc, time::Duration};

use futures::{StreamExt, future::BoxFuture, stream::BoxStream};
use vitrine_common::api::ImageId;

use super::{ObjectMeta, ObjectStore, StoreError};

pub struct Bounded {
    inner: Arc<dyn ObjectStore>,
    timeout: Duration,
}

impl Bounded {
    pub fn new(inner: Arc<dyn ObjectStore>, timeout: Duration) -> Self {
        Self { inner, timeout }
    }

    fn cut<'a, T: Send + 'a>(
        &self,
        fut: impl Future<Output = Result<T, StoreError>> + Send + 'a,
    ) -> BoxFuture<'a, Result<T, StoreError>> {
        let timeout = self.timeout;
        Box::pin(async move {
            tokio::time::timeout(timeout, fut)
                .await
                .unwrap_or(Err(StoreError::Timeout(timeout)))
        })
    }
}

impl ObjectStore for Bounded {
    fn put<'a>(
        &'a self,
        id: &'a ImageId,
        bytes: bytes::Bytes,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.cut(self.inner.put(id, bytes))
    }

    fn get<'a>(
        &'a self,
        id: &'a ImageId,
        max_bytes: u64,
    ) -> BoxFuture<'a, Result<Vec<u8>, StoreError>> {
        self.cut(self.inner.get(id, max_bytes))
    }

    fn head<'a>(&'a self, id: &'a ImageId) -> BoxFuture<'a, Result<ObjectMeta, StoreError>> {
        self.cut(self.inner.head(id))
    }

    fn delete<'a>(&'a self, id: &'a ImageId) -> BoxFuture<'a, Result<(), StoreError>> {
        self.cut(self.inner.delete(id))
    }

    /// Each page of the listing is bounded: a listing stalled longer than the timeout ends
    /// with [`StoreError::Timeout`].
    fn list(&self) -> BoxStream<'_, Result<ObjectMeta, StoreError>> {
        let timeout = self.timeout;
        futures::stream::unfold(Some(self.inner.list()), move |state| async move {
            let mut stream = state?;
            match tokio::time::timeout(timeout, stream.next()).await {
                Ok(Some(item)) => Some((item, Some(stream))),
                Ok(None) => None,
                Err(_) => Some((Err(StoreError::Timeout(timeout)), None)),
            }
        })
        .boxed()
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}
