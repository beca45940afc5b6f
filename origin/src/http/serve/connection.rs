//! One client connection: hyper's automatic HTTP/1.1 or HTTP/2 server with the configured
//! limits, shut down gracefully when idle too long or when the server stops.

use std::{convert::Infallible, pin::pin};

use axum::{body::Body, extract::Request, response::Response};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto::Builder,
    service::TowerToHyperService,
};
use tokio::{net::TcpStream, sync::OwnedSemaphorePermit};
use tower::ServiceExt as _;

use super::idle::{Activity, Watched};
use crate::{
    config::ConnectionSettings,
    observability::metrics::connections::{Closed, ConnectionMetrics},
};

/// Serves `stream` with `app` until the client closes it, a limit closes it, or `stop`'s
/// sender is dropped (then in-flight requests finish first). Holds `permit` (a slot under
/// `MAX_CONNECTIONS`) until the connection is gone.
pub(super) async fn serve_one<S>(
    stream: TcpStream,
    app: S,
    limits: ConnectionSettings,
    metrics: ConnectionMetrics,
    mut stop: tokio::sync::watch::Receiver<()>,
    permit: OwnedSemaphorePermit,
) where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let activity = Activity::new();
    let io = TokioIo::new(Watched::new(stream, activity.clone()));
    let service =
        TowerToHyperService::new(app.map_request(|req: Request<Incoming>| req.map(Body::new)));
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.h2_max_concurrent_streams)
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX));
    let mut conn = pin!(builder.serve_connection_with_upgrades(io, service));
    let mut shutting_down = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    if is_header_timeout(e.as_ref()) {
                        metrics.closed(Closed::HeaderTimeout);
                    }
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                break;
            }
            () = activity.idle(limits.keep_alive_timeout), if !shutting_down => {
                metrics.closed(Closed::Idle);
                conn.as_mut().graceful_shutdown();
                shutting_down = true;
            }
            _ = stop.changed(), if !shutting_down => {
                conn.as_mut().graceful_shutdown();
                shutting_down = true;
            }
        }
    }
    metrics.ended();
    drop(permit);
}

/// Whether hyper ended the connection because the request header took too long.
fn is_header_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(e);
    while let Some(err) = source {
        if let Some(h) = err.downcast_ref::<hyper::Error>()
            && h.is_timeout()
        {
            return true;
        }
        source = err.source();
    }
    false
}
