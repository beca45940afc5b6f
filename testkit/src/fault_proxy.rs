//! A TCP proxy owned by a test, between the origin and a real server (Postgres), that the test
//! can cut (every open connection dropped, new ones accepted and closed at once: what a
//! crashed or unreachable database looks like to the pool), reopen, or slow down (each chunk
//! forwarded after a delay). The real server is never touched.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{
        TcpListener, TcpStream,
        tcp::{OwnedReadHalf, OwnedWriteHalf},
    },
    task::JoinHandle,
};

/// The proxy: listens on a loopback port of its own ([`FaultProxy::addr`]) and forwards to
/// `upstream` while open. Stopped (and every connection dropped) on drop.
pub struct FaultProxy {
    pub addr: SocketAddr,
    open: Arc<AtomicBool>,
    delay_ms: Arc<AtomicU64>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`host:port`), open and without delay.
    pub async fn start(upstream: String) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let open = Arc::new(AtomicBool::new(true));
        let delay_ms = Arc::new(AtomicU64::new(0));
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (o, d, c) = (open.clone(), delay_ms.clone(), conns.clone());
        let accept = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                if !o.load(Ordering::SeqCst) {
                    drop(client); // cut: accept and close at once
                    continue;
                }
                let (upstream, delay) = (upstream.clone(), d.clone());
                let h = tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::select! {
                        _ = pipe(cr, sw, delay.clone()) => {},
                        _ = pipe(sr, cw, delay) => {},
                    }
                });
                let mut list = c.lock().unwrap_or_else(|p| p.into_inner());
                list.retain(|h| !h.is_finished());
                list.push(h);
            }
        });
        FaultProxy {
            addr,
            open,
            delay_ms,
            conns,
            accept,
        }
    }

    /// Drops every connection and refuses (accepts and closes) new ones.
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for h in self
            .conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            h.abort();
        }
    }

    /// Forwards new connections again.
    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    /// Every chunk in either direction waits this long before it is forwarded.
    pub fn set_delay(&self, delay: Duration) {
        self.delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// `url` (`postgres://user@host:port/db`) with its host and port replaced by the proxy's.
    pub fn rewrite(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").expect("a URL");
        let (userinfo, hostpath) = match rest.rsplit_once('@') {
            Some((u, h)) => (format!("{u}@"), h),
            None => (String::new(), rest),
        };
        let path = hostpath.find('/').map_or("", |i| &hostpath[i..]);
        format!("{scheme}://{userinfo}{}{path}", self.addr)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// Copies `from` to `to` chunk by chunk, each after the current delay, until either side
/// closes.
async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, delay_ms: Arc<AtomicU64>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let delay = delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
