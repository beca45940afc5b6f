//! The accept loop: every client connection is served by hyper (HTTP/1.1, and HTTP/2 by prior
//! knowledge) under the limits of [`ConnectionSettings`]:
//!
//! - **header-read timeout**: hyper closes a connection whose request header has not arrived
//!   in full within `HEADER_READ_TIMEOUT` of the connection opening or, on HTTP/1 keep-alive,
//!   of the previous response (so it also bounds an idle HTTP/1 connection);
//! - **idle timeout**: a connection with no bytes either way for `KEEP_ALIVE_TIMEOUT` is shut
//!   down gracefully ([`idle`]);
//! - **connection cap**: at most `MAX_CONNECTIONS` are served at once; at the cap the loop
//!   stops accepting (the kernel's backlog holds new connections) and logs it, once per
//!   episode, until one closes;
//! - **HTTP/2**: `H2_MAX_CONCURRENT_STREAMS` per connection; `MAX_HEADER_BYTES` for both
//!   protocols (HTTP/1 answers 431 past it).
//!
//! On shutdown the loop stops accepting, asks every connection to finish its in-flight
//! requests and close, and waits for them up to `drain`.

mod connection;
mod idle;

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use axum::Router;
use tokio::{net::TcpListener, sync::Semaphore};

use crate::{config::ConnectionSettings, observability::metrics::connections::ConnectionMetrics};

/// Serves `app` on `listener` until `shutdown` resolves, then drains connections for at most
/// `drain`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionSettings,
    metrics: ConnectionMetrics,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain: Duration,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // Closed when the loop ends: every connection task holds a receiver and starts its
    // graceful shutdown when the sender goes.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(());
    let mut tasks = tokio::task::JoinSet::new();
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    tokio::pin!(shutdown);
    loop {
        let permit = match slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                metrics.capped();
                tracing::warn!(
                    max_connections = limits.max_connections,
                    "connection cap reached (MAX_CONNECTIONS): new connections wait until one closes"
                );
                tokio::select! {
                    p = slots.clone().acquire_owned() => match p {
                        Ok(p) => p,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // wait a moment instead of spinning, as hyper's and axum's loops do.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Responses are small writes; Nagle's delay would add up to 40 ms to each.
        let _ = stream.set_nodelay(true);
        let mut make = service.clone();
        let app = match tower::Service::call(&mut make, peer).await {
            Ok(app) => app,
            Err(never) => match never {},
        };
        metrics.opened();
        tasks.spawn(connection::serve_one(
            stream,
            app,
            limits,
            metrics.clone(),
            stop_rx.clone(),
            permit,
        ));
        // Reap finished tasks so the set does not grow with every connection ever served.
        while tasks.try_join_next().is_some() {}
    }
    drop(stop_tx);
    drop(listener);
    let drained =
        tokio::time::timeout(drain, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(
            open = tasks.len(),
            "connections still open after SHUTDOWN_TIMEOUT; closing them"
        );
        tasks.abort_all();
    }
}
