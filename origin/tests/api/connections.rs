//! Connection limits (`http::serve`): clients that send half a request header are dropped at
//! `HEADER_READ_TIMEOUT` while normal requests keep being served; at `MAX_CONNECTIONS` a new
//! connection waits for a slot instead of being served beyond the cap; an idle HTTP/2
//! connection is closed at `KEEP_ALIVE_TIMEOUT`.

use std::time::{Duration, Instant};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{Backend, spawn_app_with};

/// Reads until the server closes the connection (or `limit` passes); returns when it closed.
async fn closed_within(mut stream: TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    let outcome = tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    outcome.ok().map(|()| started.elapsed())
}

/// The value of one series in the Prometheus text at `/api/metrics`.
async fn metric(app: &crate::helpers::TestApp, series: &str) -> f64 {
    let text = app.get("/api/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no series {series} in /api/metrics"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_headers_are_dropped_in_time_while_normal_requests_are_served() {
    let app = spawn_app_with(Backend::Sqlite, &[("HEADER_READ_TIMEOUT", "1s")]).await;
    let slow = 300;
    let mut held = Vec::new();
    for _ in 0..slow {
        let mut s = TcpStream::connect(app.addr).await.unwrap();
        // A request line and one header, never the blank line that ends the header.
        s.write_all(b"GET /api/health HTTP/1.1\r\nHost: vitrine\r\n")
            .await
            .unwrap();
        held.push(tokio::spawn(closed_within(s, Duration::from_secs(20))));
    }
    // Normal requests while the slow clients hold their connections.
    let client = reqwest::Client::new();
    let (mut served, mut failed) = (0u32, 0u32);
    let until = Instant::now() + Duration::from_millis(2500);
    while Instant::now() < until {
        match client.get(app.url("/api/health")).send().await {
            Ok(r) if r.status() == 200 => served += 1,
            _ => failed += 1,
        }
    }
    let mut closed_after = Vec::new();
    for h in held {
        closed_after.push(
            h.await
                .unwrap()
                .expect("a half-sent header was never dropped"),
        );
    }
    closed_after.sort();
    eprintln!(
        "{slow} half-sent headers dropped after {:.2?}..{:.2?} (HEADER_READ_TIMEOUT=1s); \
         {served} normal requests served meanwhile, {failed} failed",
        closed_after[0],
        closed_after[closed_after.len() - 1]
    );
    assert_eq!(failed, 0);
    assert!(served > 0);
    assert!(
        closed_after[0] >= Duration::from_millis(900),
        "dropped before the timeout: {:?}",
        closed_after[0]
    );
    let timed_out = metric(
        &app,
        "http_connections_closed_by_server_total{reason=\"header_timeout\"}",
    )
    .await;
    assert!(timed_out >= f64::from(slow), "counted {timed_out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_cap_a_new_connection_waits_for_a_free_slot() {
    let app = spawn_app_with(
        Backend::Sqlite,
        &[("MAX_CONNECTIONS", "4"), ("HEADER_READ_TIMEOUT", "60s")],
    )
    .await;
    // Four connections that say nothing take every slot.
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(app.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let client = reqwest::Client::new();
    let url = app.url("/api/health");
    let waiting = tokio::spawn(async move {
        let r = client.get(url).send().await.unwrap();
        (r.status(), Instant::now())
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "a fifth connection was served past MAX_CONNECTIONS=4"
    );
    let freed = Instant::now();
    drop(idle.pop());
    let (status, answered) = waiting.await.unwrap();
    assert_eq!(status, 200);
    eprintln!(
        "MAX_CONNECTIONS=4: the fifth connection waited, and was answered {:.2?} after a slot freed",
        answered - freed
    );
    drop(idle);
    assert!(metric(&app, "http_connections_capped_total").await >= 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_by_prior_knowledge_is_served_and_an_idle_connection_is_closed() {
    let app = spawn_app_with(
        Backend::Sqlite,
        &[("REQUEST_TIMEOUT", "1s"), ("KEEP_ALIVE_TIMEOUT", "2s")],
    )
    .await;
    let stream = TcpStream::connect(app.addr).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    let opened = Instant::now();
    let conn = tokio::spawn(conn);
    for _ in 0..3 {
        let req = http::Request::get(format!("http://{}/api/health", app.addr))
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap();
        let r = send.send_request(req).await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.version(), http::Version::HTTP_2);
    }
    // Nothing more is sent: the server says GOAWAY at KEEP_ALIVE_TIMEOUT and the connection ends.
    let ended = tokio::time::timeout(Duration::from_secs(20), conn).await;
    assert!(ended.is_ok(), "the idle HTTP/2 connection was never closed");
    eprintln!(
        "HTTP/2: 3 requests served; the idle connection closed {:.2?} after opening (KEEP_ALIVE_TIMEOUT=2s)",
        opened.elapsed()
    );
    assert!(
        metric(
            &app,
            "http_connections_closed_by_server_total{reason=\"idle\"}"
        )
        .await
            >= 1.0
    );
}
