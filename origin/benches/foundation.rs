//! Foundation benchmark: import throughput and uncached text-search latency at 100k products.
//!
//! `cargo bench -p vitrine-origin --bench foundation` (set `BENCH_PRODUCTS` to change the
//! size, `TEST_DATABASE_URL` for the Postgres admin connection). Prints figures; asserts
//! nothing about time.

use std::{io::Write, time::Instant};

use sqlx::Connection;
use vitrine_origin::{
    catalog::{
        Catalog,
        import::{self, Format},
    },
    config::Settings,
    db::Db,
    search::{SearchIndex, SearchQuery},
};

const WORDS: &[&str] = &[
    "laptop",
    "computer",
    "wireless",
    "headphones",
    "leather",
    "wallet",
    "running",
    "shoes",
    "coffee",
    "mug",
    "desk",
    "lamp",
    "office",
    "chair",
    "water",
    "bottle",
    "backpack",
    "travel",
    "watch",
    "steel",
    "cotton",
    "shirt",
    "denim",
    "jacket",
    "gaming",
    "keyboard",
    "mouse",
    "monitor",
    "speaker",
    "bluetooth",
    "camera",
    "lens",
    "tripod",
    "kitchen",
    "knife",
    "pan",
    "ceramic",
    "plate",
    "glass",
    "vase",
    "garden",
    "hose",
    "yoga",
    "mat",
    "dumbbell",
    "bicycle",
    "helmet",
    "tent",
    "sleeping",
    "bag",
    "pillow",
    "blanket",
    "towel",
    "soap",
    "candle",
    "frame",
    "poster",
    "notebook",
    "pen",
    "pencil",
    "printer",
    "router",
    "charger",
    "cable",
];
const ADJ: &[&str] = &[
    "ultralight",
    "premium",
    "compact",
    "classic",
    "pro",
    "vintage",
    "organic",
    "smart",
    "portable",
    "deluxe",
];
const COLOURS: &[&str] = &[
    "red", "blue", "green", "black", "white", "grey", "navy", "pink", "teal", "brown",
];

fn rng(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

fn pick<'a>(seed: &mut u64, list: &[&'a str]) -> &'a str {
    list[(rng(seed) % list.len() as u64) as usize]
}

fn generate(n: usize) -> Vec<u8> {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut out = Vec::with_capacity(n * 300);
    for i in 0..n {
        let noun = pick(&mut seed, WORDS);
        let title = format!(
            "{} {} {} {}",
            pick(&mut seed, ADJ),
            pick(&mut seed, COLOURS),
            pick(&mut seed, WORDS),
            noun
        );
        let description = (0..12)
            .map(|_| pick(&mut seed, WORDS))
            .collect::<Vec<_>>()
            .join(" ");
        let row = serde_json::json!({
            "sku": format!("BENCH-{i:07}"),
            "title": title,
            "description": description,
            "brand": format!("Brand{}", rng(&mut seed) % 200),
            "category": format!("Category{}", rng(&mut seed) % 50),
            "price": (rng(&mut seed) % 100_000) as i64 + 100,
            "currency": "USD",
            "attributes": {"colour": pick(&mut seed, COLOURS), "rank": i},
        });
        serde_json::to_writer(&mut out, &row).expect("serialising");
        out.push(b'\n');
    }
    out
}

fn settings(url: &str, dir: &std::path::Path) -> Settings {
    let url = url.to_owned();
    let dir = dir.display().to_string();
    Settings::from_lookup(move |k| match k {
        "DATABASE_URL" => Some(url.clone()),
        "DATA_DIR" => Some(dir.clone()),
        "SEARCH_INDEX_DIR" => Some("memory".into()),
        _ => None,
    })
    .expect("settings")
}

fn percentiles(mut samples: Vec<f64>) -> (f64, f64, f64) {
    samples.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
    (at(0.50), at(0.95), at(0.99))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("BENCH_PRODUCTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let data = generate(n);
    let path = dir.path().join("products.ndjson");
    std::fs::File::create(&path)?.write_all(&data)?;
    println!(
        "== foundation benchmark: {n} products ({} MB NDJSON)",
        data.len() / 1_000_000
    );

    // Import into SQLite.
    let sqlite_url = format!("sqlite:{}", dir.path().join("bench.db").display());
    let sqlite = Db::connect(&settings(&sqlite_url, dir.path())).await?;
    let sqlite_catalog = Catalog::database_only(sqlite.clone());
    let s = import::import_reader(
        &sqlite_catalog,
        std::fs::File::open(&path)?,
        Format::Ndjson,
        |_| {},
    )
    .await?;
    println!(
        "import sqlite:   {:>8.0} products/s  ({} inserted in {:.2} s)",
        s.rows_per_second(),
        s.inserted,
        s.seconds
    );
    let again = import::import_reader(
        &sqlite_catalog,
        std::fs::File::open(&path)?,
        Format::Ndjson,
        |_| {},
    )
    .await?;
    println!(
        "re-import sqlite (idempotent, all unchanged={}): {:.0} products/s",
        again.unchanged,
        again.rows_per_second()
    );

    // Import into Postgres.
    let admin = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    match sqlx::PgConnection::connect(&admin).await {
        Ok(mut conn) => {
            let name = format!("vitrine_bench_{}", std::process::id());
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name}"
            )))
            .execute(&mut conn)
            .await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await?;
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
            let pg = Db::connect(&settings(&format!("{base}/{name}"), dir.path())).await?;
            let s = import::import_reader(
                &Catalog::database_only(pg.clone()),
                std::fs::File::open(&path)?,
                Format::Ndjson,
                |_| {},
            )
            .await?;
            println!(
                "import postgres: {:>8.0} products/s  ({} inserted in {:.2} s)",
                s.rows_per_second(),
                s.inserted,
                s.seconds
            );
            pg.close().await;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name}"
            )))
            .execute(&mut conn)
            .await?;
        }
        Err(e) => println!("import postgres: SKIPPED, cannot connect to {admin}: {e}"),
    }

    // Build the index and measure uncached searches.
    let index = SearchIndex::open(None)?;
    let started = Instant::now();
    let docs = index.rebuild(&sqlite).await?;
    println!(
        "index build:     {docs} docs in {:.2} s",
        started.elapsed().as_secs_f64()
    );

    let mut seed = 42u64;
    let mut queries = Vec::new();
    for i in 0..2_000 {
        let q = match i % 6 {
            0 => pick(&mut seed, WORDS).to_owned(),
            1 => format!("{} {}", pick(&mut seed, ADJ), pick(&mut seed, WORDS)),
            2 => {
                // A typo: swap two inner letters.
                let mut w: Vec<char> = pick(&mut seed, WORDS).chars().collect();
                if w.len() > 4 {
                    w.swap(2, 3);
                }
                w.into_iter().collect()
            }
            3 => pick(&mut seed, WORDS)[..3].to_owned(),
            4 => format!(
                "{} {} {}",
                pick(&mut seed, COLOURS),
                pick(&mut seed, WORDS),
                &pick(&mut seed, WORDS)[..2]
            ),
            _ => format!("{} {}", pick(&mut seed, COLOURS), pick(&mut seed, WORDS)),
        };
        let mut filters = vitrine_common::api::SearchFilters::default();
        if i % 4 == 0 {
            filters.category =
                vitrine_common::api::Category::parse(format!("Category{}", rng(&mut seed) % 50))
                    .into_iter()
                    .collect();
        }
        if i % 5 == 0 {
            filters.price_max = vitrine_common::api::Price::parse(50_000).ok();
        }
        queries.push(SearchQuery {
            text: q,
            filters,
            sort: Default::default(),
            limit: 20,
            offset: 0,
        });
    }
    // Warm the OS page cache and the term dictionaries once.
    for q in queries.iter().take(100) {
        index.search_blocking(q)?;
    }
    let mut samples = Vec::with_capacity(queries.len());
    let mut hits = 0u64;
    for q in &queries {
        let t = Instant::now();
        let out = index.search_blocking(q)?;
        samples.push(t.elapsed().as_secs_f64() * 1000.0);
        hits += out.total.min(1);
    }
    let (p50, p95, p99) = percentiles(samples);
    println!(
        "search (engine, uncached, {} queries, {} with hits): p50 {p50:.2} ms  p95 {p95:.2} ms  p99 {p99:.2} ms  (target p95 < 10 ms)",
        queries.len(),
        hits
    );
    Ok(())
}
