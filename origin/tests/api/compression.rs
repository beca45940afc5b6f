//! Response compression: the negotiation table over real HTTP, what is never compressed,
//! the 406 case, the off switch and the byte counters.

use std::io::Read;

use crate::helpers::{Backend, TestApp, product_json, spawn_app, spawn_app_with};

async fn seeded(app: &TestApp) {
    for i in 0..8 {
        app.create_product(product_json(
            &format!("Z-{i}"),
            &format!("Wireless Headphones Model {i}"),
            "Headphones",
            "Kumo",
            19_900 + i,
        ))
        .await;
    }
}

async fn fetch(app: &TestApp, path: &str, accept_encoding: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    if let Some(ae) = accept_encoding {
        req = req.header("accept-encoding", ae);
    }
    req.send().await.unwrap()
}

fn decode(encoding: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        "" => out.extend_from_slice(body),
        "gzip" => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .unwrap();
        }
        "deflate" => {
            flate2::read::ZlibDecoder::new(body)
                .read_to_end(&mut out)
                .unwrap();
        }
        "br" => {
            brotli::Decompressor::new(body, 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        "zstd" => out = zstd::decode_all(body).unwrap(),
        other => panic!("unexpected encoding {other}"),
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negotiation_table() {
    let app = spawn_app(Backend::Sqlite).await;
    seeded(&app).await;
    let path = "/api/products?limit=50";
    let plain = fetch(&app, path, None).await.bytes().await.unwrap();
    assert!(plain.len() > 1000, "the listing must be worth compressing");

    // (Accept-Encoding, expected Content-Encoding; "" = identity)
    let table: &[(Option<&str>, &str)] = &[
        (None, ""),
        (Some(""), ""),
        (Some("br"), "br"),
        (Some("gzip"), "gzip"),
        (Some("zstd"), "zstd"),
        (Some("deflate"), "deflate"),
        (Some("x-gzip"), "gzip"),
        (Some("gzip, deflate, br, zstd"), "br"),
        (Some("gzip, deflate"), "gzip"),
        (Some("gzip;q=0.5, br;q=0.8"), "br"),
        (Some("gzip;q=1.0, br;q=0.5"), "gzip"),
        (Some("br;q=0, gzip"), "gzip"),
        (Some("*"), "br"),
        (Some("*;q=0.5, gzip"), "gzip"),
        (Some("identity"), ""),
        (Some("identity, gzip;q=0.5"), ""),
        (Some("GZIP"), "gzip"),
        // Malformed or unknown elements are ignored, never an error.
        (Some("br;q=2"), ""),
        (Some("gzip;q=abc, zstd"), "zstd"),
        (Some("compress, foo"), ""),
        (Some(";;;,,,"), ""),
        (Some("br;q=0.0001"), ""),
    ];
    for (ae, want) in table {
        let r = fetch(&app, path, *ae).await;
        assert_eq!(r.status(), 200, "{ae:?}");
        let got = r
            .headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        assert_eq!(&got, want, "Accept-Encoding {ae:?}");
        if !want.is_empty() {
            let vary = r.headers().get("vary").unwrap().to_str().unwrap();
            assert!(vary.to_ascii_lowercase().contains("accept-encoding"));
        }
        let body = r.bytes().await.unwrap();
        if !want.is_empty() {
            assert!(body.len() < plain.len() / 2, "{want}: {} bytes", body.len());
        }
        assert_eq!(decode(&got, &body), plain.to_vec(), "{ae:?}");
    }

    // Identity refused and nothing else usable: 406 problem, never a 500.
    for ae in [
        "identity;q=0",
        "identity;q=0, *;q=0",
        "*;q=0",
        "compress, identity;q=0",
    ] {
        let r = fetch(&app, path, Some(ae)).await;
        assert_eq!(r.status(), 406, "{ae}");
        assert_eq!(
            r.headers().get("content-type").unwrap(),
            "application/problem+json"
        );
    }
    // …but identity;q=0 with a usable coding is fine.
    let r = fetch(&app, path, Some("identity;q=0, gzip")).await;
    assert_eq!(r.headers().get("content-encoding").unwrap(), "gzip");

    // Small bodies are never compressed.
    let r = fetch(&app, "/api/health/live", Some("br, gzip")).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("content-encoding").is_none());

    // The cached search responses are compressed too, and the 304 has no body.
    let r = fetch(&app, "/api/search/text?q=headphones", Some("br")).await;
    assert_eq!(r.headers().get("content-encoding").unwrap(), "br");
    let etag = r.headers().get("etag").unwrap().clone();
    let r = app
        .client
        .get(app.url("/api/search/text?q=headphones"))
        .header("accept-encoding", "br")
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    assert!(r.bytes().await.unwrap().is_empty());

    // Images are never compressed, whatever the client accepts.
    let png = noise_png();
    let (record, _) = app.state.thumbs.ingest_checked(png.clone()).await.unwrap();
    let r = fetch(
        &app,
        &format!("/api/images/{}", record.id.as_str()),
        Some("br, gzip"),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get("content-type").unwrap(), "image/png");
    assert!(r.headers().get("content-encoding").is_none());
    assert_eq!(r.bytes().await.unwrap().to_vec(), png);

    // The counters saw it all.
    let totals = app.state.compression.totals();
    let br = totals.iter().find(|t| t.algorithm == "br").unwrap();
    assert!(br.responses >= 5, "{totals:?}");
    assert!(br.bytes_in > br.bytes_out * 2, "{totals:?}");
    assert!(app.state.compression.not_acceptable() >= 4);
    app.stop().await;
}

fn noise_png() -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    let img = image::RgbImage::from_fn(64, 64, |_, _| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        image::Rgb([x as u8, (x >> 8) as u8, (x >> 16) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compression_can_be_turned_off() {
    let app = spawn_app_with(Backend::Sqlite, &[("COMPRESSION_ENABLED", "false")]).await;
    seeded(&app).await;
    let r = fetch(&app, "/api/products?limit=50", Some("br, gzip")).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("content-encoding").is_none());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fast_and_maximum_levels_still_decode() {
    for level in ["fast", "maximum"] {
        let app = spawn_app_with(Backend::Sqlite, &[("COMPRESSION_LEVEL", level)]).await;
        seeded(&app).await;
        let plain = fetch(&app, "/api/products?limit=50", None)
            .await
            .bytes()
            .await
            .unwrap();
        for enc in ["br", "zstd", "gzip", "deflate"] {
            let r = fetch(&app, "/api/products?limit=50", Some(enc)).await;
            assert_eq!(r.headers().get("content-encoding").unwrap(), enc);
            let body = r.bytes().await.unwrap();
            assert_eq!(decode(enc, &body), plain.to_vec(), "{level} {enc}");
        }
        app.stop().await;
    }
}

/// A cacheable response is encoded once per coding (the variant cache, keyed by its strong
/// ETag), every later request gets the same bytes, and a changed response is a new variant,
/// never the old one's bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_responses_are_encoded_once_per_coding() {
    let app = spawn_app(Backend::Sqlite).await;
    seeded(&app).await;
    let path = "/api/search/text?q=headphones&limit=20";
    let plain = fetch(&app, path, None).await.bytes().await.unwrap();
    assert_eq!(
        app.state.compression.variants(),
        (0, 0),
        "identity is not a variant"
    );
    let mut first: Option<Vec<u8>> = None;
    for _ in 0..3 {
        let r = fetch(&app, path, Some("gzip, deflate, br, zstd")).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers().get("content-encoding").unwrap(), "br");
        let length: usize = r.headers()["content-length"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            r.headers()["vary"]
                .to_str()
                .unwrap()
                .contains("accept-encoding")
        );
        let body = r.bytes().await.unwrap().to_vec();
        assert_eq!(body.len(), length);
        assert_eq!(decode("br", &body), plain.to_vec());
        assert_eq!(first.get_or_insert_with(|| body.clone()), &body);
    }
    assert_eq!(app.state.compression.variants(), (2, 1));
    let r = fetch(&app, path, Some("gzip")).await;
    assert_eq!(decode("gzip", &r.bytes().await.unwrap()), plain.to_vec());
    assert_eq!(app.state.compression.variants(), (2, 2));

    // A write changes the results: a new ETag, so a new variant with the new bytes.
    app.create_product(product_json(
        "Z-NEW",
        "Wireless Headphones Model New",
        "Headphones",
        "Kumo",
        9_900,
    ))
    .await;
    let changed = fetch(&app, path, None).await.bytes().await.unwrap();
    assert_ne!(changed, plain, "the new product must show up");
    let r = fetch(&app, path, Some("br")).await;
    assert_eq!(decode("br", &r.bytes().await.unwrap()), changed.to_vec());
    assert_eq!(app.state.compression.variants(), (2, 3));
    app.stop().await;

    // Turned off: still compressed, by the streaming encoders.
    let app = spawn_app_with(Backend::Sqlite, &[("COMPRESSION_CACHE_MAX_BYTES", "0")]).await;
    seeded(&app).await;
    let plain = fetch(&app, path, None).await.bytes().await.unwrap();
    for _ in 0..2 {
        let r = fetch(&app, path, Some("br")).await;
        assert_eq!(r.headers().get("content-encoding").unwrap(), "br");
        assert_eq!(decode("br", &r.bytes().await.unwrap()), plain.to_vec());
    }
    assert_eq!(app.state.compression.variants(), (0, 0));
    app.stop().await;
}
