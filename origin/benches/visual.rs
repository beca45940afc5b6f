//! Visual-search speed: descriptor time, k-NN at 100k (exact scan and the compact IVF), and
//! `POST /api/search/image` latency against 100,000 indexed products.
//!
//! `cargo bench -p vitrine-origin --bench visual` (`BENCH_PRODUCTS` to change the size).
//! Prints figures; asserts nothing about time.
#![allow(clippy::unwrap_used)]

use std::{sync::Arc, time::Instant};

use vitrine_common::{
    api::{Brand, Category, Currency, Description, ImageId, NewProduct, Price, Sku, Title},
    thumbnail::pipeline::{Limits, decode_rgb},
};
use vitrine_origin::{
    catalog::demo,
    config::Settings,
    search::visual::{
        descriptor::{ANALYSIS_SIDE, DESCRIPTOR_VERSION, DIMS, describe, to_bytes},
        index::{IndexConfig, ItemMeta, MetaFilter, VisualIndex},
    },
    startup,
};

fn percentiles(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
    (at(0.5), at(0.95), at(0.99))
}

fn rng(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

/// A 1000×1000 JPEG photo: a real sample image when available, else a rendered product.
fn photo_1000() -> Vec<u8> {
    let source = std::fs::read("/var/tmp/vitrine-eval-images/chelsea.png")
        .ok()
        .and_then(|b| image::load_from_memory(&b).ok())
        .unwrap_or_else(|| image::load_from_memory(&demo::render_image(5).unwrap()).unwrap());
    let big = source.resize_exact(1000, 1000, image::imageops::FilterType::CatmullRom);
    let mut out = Vec::new();
    big.to_rgb8()
        .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
            &mut out, 85,
        ))
        .unwrap();
    out
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("BENCH_PRODUCTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let limits = Limits::default();
    let photo = photo_1000();

    // 1. Descriptor for a 1000×1000 JPEG (decode with shrink-on-load + describe).
    let mut t = Vec::new();
    for _ in 0..60 {
        let s = Instant::now();
        let px = decode_rgb(&photo, ANALYSIS_SIDE, &limits)?;
        std::hint::black_box(describe(&px));
        t.push(s.elapsed().as_secs_f64() * 1000.0);
    }
    let (p50, p95, _) = percentiles(t[10..].to_vec());
    println!("descriptor, 1000x1000 JPEG: p50 {p50:.2} ms  p95 {p95:.2} ms  (target < 15 ms)");

    // 2. Realistic vectors at scale: descriptors of 500 rendered products, mixed and jittered.
    let mut base = Vec::new();
    for i in 0..500 {
        let px = decode_rgb(&demo::render_image(20_000 + i)?, ANALYSIS_SIDE, &limits)?;
        base.push(describe(&px).vector);
    }
    let mut seed = 7u64;
    let mut vectors = Vec::with_capacity(n);
    for _ in 0..n {
        let a = &base[(rng(&mut seed) % 500) as usize];
        let b = &base[(rng(&mut seed) % 500) as usize];
        let mix = (rng(&mut seed) % 1000) as f32 / 4000.0;
        let mut v: Vec<f32> = a
            .iter()
            .zip(b)
            .map(|(x, y)| {
                x * (1.0 - mix) + y * mix + ((rng(&mut seed) % 1000) as f32 / 1000.0 - 0.5) * 0.02
            })
            .collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        vectors.push(v);
    }
    let meta = |i: usize| ItemMeta {
        category: format!("Category{}", i % 50),
        brand: format!("Brand{}", i % 200),
        price: (i % 100_000) as i64,
    };
    let index = VisualIndex::new(DIMS, IndexConfig::default());
    for (i, v) in vectors.iter().enumerate() {
        index.upsert(i as i64, v, 0, meta(i));
    }
    let queries: Vec<Vec<f32>> = (0..300).map(|i| vectors[(i * 331) % n].clone()).collect();
    let run = |index: &VisualIndex, filter: &MetaFilter| {
        let mut t = Vec::new();
        for q in &queries {
            let s = Instant::now();
            std::hint::black_box(index.search(q, 20, filter));
            t.push(s.elapsed().as_secs_f64() * 1000.0);
        }
        percentiles(t)
    };
    let exact_only = VisualIndex::new(
        DIMS,
        IndexConfig {
            exact_threshold: usize::MAX,
            ..IndexConfig::default()
        },
    );
    for (i, v) in vectors.iter().enumerate() {
        exact_only.upsert(i as i64, v, 0, meta(i));
    }
    let (p50, p95, p99) = run(&exact_only, &MetaFilter::default());
    println!("k-NN exact scan, {n} x {DIMS}: p50 {p50:.2} ms  p95 {p95:.2} ms  p99 {p99:.2} ms");
    let s = Instant::now();
    index.build_ann_blocking();
    println!(
        "compact index build (PCA + IVF, {n} vectors, 2 threads): {:.1} s",
        s.elapsed().as_secs_f64()
    );
    let (p50, p95, p99) = run(&index, &MetaFilter::default());
    println!(
        "k-NN compact IVF, {n}: p50 {p50:.2} ms  p95 {p95:.2} ms  p99 {p99:.2} ms  (target p95 < 5 ms)"
    );
    // Recall of the compact index against the exact scan.
    let mut agree = 0;
    for q in queries.iter().take(100) {
        let a = index.search(q, 10, &MetaFilter::default());
        let b = exact_only.search(q, 10, &MetaFilter::default());
        agree += a
            .iter()
            .filter(|h| b.iter().any(|e| e.product_id == h.product_id))
            .count();
    }
    println!(
        "compact IVF recall@10 vs exact: {:.3}",
        agree as f64 / 1000.0
    );
    let filter = MetaFilter {
        category: vec!["Category7".into()],
        ..Default::default()
    };
    let (p50, p95, _) = run(&index, &filter);
    println!("k-NN with a category filter (2% of products): p50 {p50:.2} ms  p95 {p95:.2} ms");
    let filter = MetaFilter {
        price_max: Some(60_000),
        ..Default::default()
    };
    let (p50, p95, _) = run(&index, &filter);
    println!("k-NN with a price filter (60% of products, IVF): p50 {p50:.2} ms  p95 {p95:.2} ms");

    // 3. The HTTP endpoint against n indexed products in SQLite.
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite:{}", dir.path().join("bench.db").display());
    let data = dir.path().display().to_string();
    let settings = Settings::from_lookup(move |k| match k {
        "DATABASE_URL" => Some(url.clone()),
        "DATA_DIR" => Some(data.clone()),
        "SEARCH_INDEX_DIR" => Some("memory".into()),
        "LOG_LEVEL" => Some("warn".into()),
        "VISUAL_MODEL" => Some("descriptor".into()),
        // Uncached: every request computes the descriptor and searches (the embedding and
        // result caches would answer all but the first of these identical uploads).
        "CACHE_ENABLED" => Some("false".into()),
        // One client sends them all, faster than a shopper's quota.
        "RATE_LIMIT_ENABLED" => Some("false".into()),
        _ => None,
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let db = vitrine_origin::db::Db::connect(&settings).await?;
    let s = Instant::now();
    let rows: Vec<NewProduct> = (0..n)
        .map(|i| NewProduct {
            sku: Sku::parse(format!("VB-{i:07}")).unwrap(),
            title: Title::parse(format!("Bench product {i}")).unwrap(),
            description: Description::parse("").unwrap(),
            brand: Brand::parse(format!("Brand{}", i % 200)).unwrap(),
            category: Category::parse(format!("Category{}", i % 50)).unwrap(),
            price: Price::parse((i % 100_000) as i64).unwrap(),
            currency: Currency::parse("USD").unwrap(),
            attributes: Default::default(),
            image_id: Some(
                ImageId::parse(blake3::hash(&i.to_le_bytes()).to_hex().as_str()).unwrap(),
            ),
        })
        .collect();
    db.upsert_many(&rows).await?;
    for (i, row) in rows.iter().enumerate() {
        let id = row.image_id.as_ref().unwrap();
        db.put_visual(&vitrine_origin::db::descriptors::NewVisualRow {
            image_id: id.as_str(),
            version: DESCRIPTOR_VERSION,
            model: &format!("descriptor-v{DESCRIPTOR_VERSION}"),
            vector: &to_bytes(&vectors[i]),
            dims: DIMS as i32,
            phash: 0,
            labels_json: "[]",
        })
        .await?;
    }
    db.close().await;
    println!(
        "seeded {n} products with descriptors in {:.1} s",
        s.elapsed().as_secs_f64()
    );
    let s = Instant::now();
    let state = startup::build_state(settings).await?;
    println!(
        "origin start with {} indexed products: {:.1} s",
        state.visual.index.len(),
        s.elapsed().as_secs_f64()
    );
    while !state.visual.index.has_ann() {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(startup::run(listener, state, async move {
        let _ = rx.await;
    }));
    let client = reqwest::Client::new();
    let photo = Arc::new(photo);
    let mut t = Vec::new();
    for i in 0..120 {
        let form = reqwest::multipart::Form::new()
            .part(
                "image",
                reqwest::multipart::Part::bytes(photo.to_vec()).file_name("q.jpg"),
            )
            .text("limit", "20");
        let s = Instant::now();
        let r = client
            .post(format!("http://{addr}/api/search/image"))
            .multipart(form)
            .send()
            .await?;
        anyhow::ensure!(r.status() == 200, "POST /api/search/image: {}", r.status());
        r.bytes().await?;
        if i >= 20 {
            t.push(s.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let (p50, p95, p99) = percentiles(t);
    println!(
        "POST /api/search/image, 1000x1000 JPEG, {n} products, uncached: p50 {p50:.1} ms  p95 {p95:.1} ms  p99 {p99:.1} ms  (target p95 < 50 ms)"
    );
    let _ = tx.send(());
    let _ = server.await;
    Ok(())
}
