//! Graceful shutdown lets an in-flight request finish.

use std::time::Duration;

use crate::helpers::{Backend, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_requests_finish_after_shutdown_starts() {
    let app = spawn_app(Backend::Sqlite).await;
    // A large bulk body, sent slowly, is still in flight when shutdown begins.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(4);
    let url = app.url("/api/products/bulk");
    let client = app.client.clone();
    let request = tokio::spawn(async move {
        client
            .post(url)
            .bearer_auth(crate::helpers::API_KEY)
            .header("content-type", "application/x-ndjson")
            .body(reqwest::Body::wrap_stream(tokio_stream_from(rx)))
            .send()
            .await
    });
    let line = r#"{"sku":"G-1","title":"Graceful","brand":"B","category":"C","price":5}"#;
    tx.send(Ok(format!("{line}\n"))).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let addr = app.addr;
    let stopping = tokio::spawn(app.stop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    tx.send(Ok(line.replace("G-1", "G-2") + "\n"))
        .await
        .unwrap();
    drop(tx);
    let response = request
        .await
        .unwrap()
        .expect("the in-flight request completed");
    assert_eq!(response.status(), 200);
    let summary: serde_json::Value = response.json().await.unwrap();
    assert_eq!(summary["inserted"], 2, "{summary}");
    stopping.await.unwrap();
    // And the server is gone.
    assert!(
        reqwest::get(format!("http://{addr}/api/health/live"))
            .await
            .is_err()
    );
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<String, std::io::Error>>,
) -> impl futures::Stream<Item = Result<String, std::io::Error>> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
