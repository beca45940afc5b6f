//! `vitrine-load`: a realistic shopper mix against a Vitrine origin or edge.
//!
//! Virtual users (closed loop: each sends its next request when the last one answered)
//! browse products, search text with Zipf-distributed queries, load thumbnails of many
//! sizes, ask for similar products, search by photo and submit small batches, in the
//! proportions of `--mix`. Before the run it reads the catalog from the target itself.
//! At the end it prints, per endpoint, requests, req/s, p50/p95/p99/max latency, 4xx, 429,
//! 5xx and the cache hit rate seen in `x-cache` (and 304s), then one summary line:
//!
//! ```text
//! load: 5321 req/s, p95 12.3 ms, 0 server errors, cache hit rate 91.2 %
//! ```
//!
//! Exits 1 when any request got a 5xx or failed (connection error, timeout), so scripts can
//! use it as a check as well as a measurement.

mod mix;
mod stats;
mod zipf;

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use clap::Parser;
use rand::{Rng, SeedableRng, rngs::StdRng};
use vitrine_common::signature::SigningKeys;

use mix::{Action, Catalog, Mix};
use stats::EndpointStats;
use zipf::Zipf;

#[derive(Debug, Parser)]
#[command(about = "Realistic load against a Vitrine origin or edge")]
struct Args {
    /// Base URL of the origin or the edge.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    target: String,
    /// Seconds of load after the warm-up.
    #[arg(long, default_value_t = 20.0)]
    duration: f64,
    /// Seconds of the same mix before measuring (fills caches as real traffic would have).
    #[arg(long, default_value_t = 10.0)]
    warmup: f64,
    /// Concurrent virtual users.
    #[arg(long, default_value_t = 64)]
    users: usize,
    /// Sent as a bearer token on every request (batches need one; a key also lifts rate
    /// limits by `RATE_LIMIT_API_KEY_MULTIPLIER`).
    #[arg(long, env = "LOAD_API_KEY")]
    api_key: Option<String>,
    /// The target's `IMAGE_SIGNING_KEYS`, to sign thumbnail URLs of random sizes.
    #[arg(long, env = "IMAGE_SIGNING_KEYS", default_value = "")]
    signing_keys: String,
    /// Action weights, e.g. `product=25,list=10,search=35,thumbnail=20,similar=5,image_search=4,batch=1`.
    #[arg(long)]
    mix: Option<Mix>,
    /// Zipf exponent of the query popularity.
    #[arg(long, default_value_t = 1.0)]
    zipf: f64,
    /// Per-request timeout in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,
    /// More image ids for the thumbnail action (e.g. huge uploads for a soak run).
    #[arg(long, value_delimiter = ',')]
    image_ids: Vec<String>,
    /// A folder of photos to add to the image-search uploads.
    #[arg(long)]
    photos_dir: Option<std::path::PathBuf>,
    /// Random seed (the same seed replays the same choices).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// `Accept-Encoding` sent with the mix's requests, like a browser's by default (bodies
    /// are counted, never parsed, so the harness needs no decoders); `identity` to ask for
    /// plain bodies.
    #[arg(long, default_value = "gzip, deflate, br, zstd")]
    accept_encoding: String,
}

struct Shared {
    base: String,
    accept_encoding: reqwest::header::HeaderValue,
    client: reqwest::Client,
    api_key: Option<String>,
    keys: SigningKeys,
    catalog: Catalog,
    zipf: Zipf,
    mix: Mix,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(args.timeout_ms))
        .pool_max_idle_per_host(args.users)
        .build()?;
    let base = args.target.trim_end_matches('/').to_owned();
    let keys: Vec<&str> = args
        .signing_keys
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .collect();
    let mut catalog = read_catalog(&client, &base, args.api_key.as_deref()).await?;
    catalog.thumb_images.extend(args.image_ids.iter().cloned());
    if let Some(dir) = &args.photos_dir {
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            if path.is_file() {
                catalog.photos.push(std::fs::read(&path)?);
            }
        }
    }
    println!(
        "target {base}: {} products ({} with images), {} queries, {} photos; {} users, {} s (+{} s warm-up)",
        catalog.product_ids.len(),
        catalog.images.len(),
        catalog.queries.len(),
        catalog.photos.len(),
        args.users,
        args.duration,
        args.warmup
    );
    let accept_encoding = reqwest::header::HeaderValue::from_str(&args.accept_encoding)
        .context("--accept-encoding is not a valid header value")?;
    let shared = Arc::new(Shared {
        zipf: Zipf::new(catalog.queries.len(), args.zipf),
        base,
        accept_encoding,
        client,
        api_key: args.api_key.clone(),
        keys: SigningKeys::from_keys(&keys),
        catalog,
        mix: args.mix.clone().unwrap_or_default(),
    });

    if args.warmup > 0.0 {
        run(
            &shared,
            args.users,
            Duration::from_secs_f64(args.warmup),
            args.seed ^ 0xa5a5,
        )
        .await;
    }
    let started = Instant::now();
    let results = run(
        &shared,
        args.users,
        Duration::from_secs_f64(args.duration),
        args.seed,
    )
    .await;
    let elapsed = started.elapsed();
    let (rps, p95, errors) = stats::report(&results, elapsed);
    let (hits, reported) = results
        .values()
        .fold((0, 0), |(h, r), s| (h + s.cache_hits, r + s.cache_reported));
    let hit_rate = if reported == 0 {
        0.0
    } else {
        100.0 * hits as f64 / reported as f64
    };
    if let Some(server) = server_hit_rate(&shared).await {
        println!(
            "origin's own cache hit rate (/api/performance, last 5 min): {:.1} %",
            server * 100.0
        );
    }
    println!(
        "load: {rps:.0} req/s, p95 {p95:.1} ms, {errors} server errors, cache hit rate {hit_rate:.1} %"
    );
    if errors > 0 {
        std::process::exit(1);
    }
    Ok(())
}

/// Runs the mix with `users` tasks for `duration`; per-action results.
async fn run(
    shared: &Arc<Shared>,
    users: usize,
    duration: Duration,
    seed: u64,
) -> BTreeMap<&'static str, EndpointStats> {
    let deadline = Instant::now() + duration;
    let tasks: Vec<_> = (0..users.max(1))
        .map(|u| {
            let shared = shared.clone();
            tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(seed.wrapping_add(u as u64));
                let mut mine: BTreeMap<&'static str, EndpointStats> = BTreeMap::new();
                while Instant::now() < deadline {
                    let action = shared.mix.pick(&mut rng);
                    let started = Instant::now();
                    let (status, x_cache) =
                        send(&shared, action, &mut rng).await.unwrap_or_default();
                    mine.entry(action.name()).or_default().record(
                        status,
                        started.elapsed(),
                        x_cache.as_deref(),
                    );
                }
                mine
            })
        })
        .collect();
    let mut all: BTreeMap<&'static str, EndpointStats> = BTreeMap::new();
    for t in tasks {
        if let Ok(mine) = t.await {
            for (k, v) in mine {
                all.entry(k).or_default().merge(v);
            }
        }
    }
    all
}

/// Sends one request of `action`; (status, `x-cache`). The body is read to the end, as a
/// browser would.
async fn send(
    s: &Shared,
    action: Action,
    rng: &mut StdRng,
) -> anyhow::Result<(Option<u16>, Option<String>)> {
    let c = &s.catalog;
    let pick_product = |rng: &mut StdRng| c.product_ids[rng.random_range(0..c.product_ids.len())];
    let request = match action {
        Action::Product => s
            .client
            .get(format!("{}/api/products/{}", s.base, pick_product(rng))),
        Action::List => {
            // Half the time the first catalog page, else a category page (the storefront's
            // facet browse, which is a search with an empty query).
            let url = if !c.categories.is_empty() && rng.random_bool(0.5) {
                let cat = &c.categories[rng.random_range(0..c.categories.len())];
                format!(
                    "{}/api/search/text?q=&category={}&limit=20",
                    s.base,
                    mix::encode(cat)
                )
            } else {
                format!("{}/api/products?limit=20", s.base)
            };
            s.client.get(url)
        }
        Action::Search => s
            .client
            .get(format!("{}{}", s.base, mix::search_path(c, &s.zipf, rng))),
        Action::Thumbnail if !c.thumb_images.is_empty() => {
            let image = &c.thumb_images[rng.random_range(0..c.thumb_images.len())];
            s.client
                .get(format!(
                    "{}{}",
                    s.base,
                    mix::thumbnail_path(&s.keys, image, rng)
                ))
                .header("accept", "image/avif,image/webp,image/*,*/*;q=0.8")
        }
        Action::Thumbnail | Action::Similar if c.images.is_empty() => {
            s.client
                .get(format!("{}/api/products/{}", s.base, pick_product(rng)))
        }
        Action::Thumbnail => {
            let (_, image) = &c.images[rng.random_range(0..c.images.len())];
            s.client
                .get(format!(
                    "{}{}",
                    s.base,
                    mix::thumbnail_path(&s.keys, image, rng)
                ))
                .header("accept", "image/avif,image/webp,image/*,*/*;q=0.8")
        }
        Action::Similar => {
            let (id, _) = c.images[rng.random_range(0..c.images.len())];
            s.client
                .get(format!("{}/api/products/{id}/similar?limit=12", s.base))
        }
        Action::ImageSearch => {
            let Some(photo) =
                (!c.photos.is_empty()).then(|| &c.photos[rng.random_range(0..c.photos.len())])
            else {
                bail!("no photos to search with");
            };
            let form = reqwest::multipart::Form::new()
                .part(
                    "image",
                    reqwest::multipart::Part::bytes(photo.clone()).file_name("photo.jpg"),
                )
                .text("limit", "12");
            s.client
                .post(format!("{}/api/search/image", s.base))
                .multipart(form)
        }
        Action::Batch => {
            let ids: Vec<&str> = if c.images.is_empty() {
                Vec::new()
            } else {
                (0..2)
                    .map(|_| c.images[rng.random_range(0..c.images.len())].1.as_str())
                    .collect()
            };
            s.client
                .post(format!("{}/api/images/batch", s.base))
                .json(&serde_json::json!({
                    "images": ids, "generate_thumbnails": true, "thumbnail_sizes": ["small"],
                    "priority": "low",
                }))
        }
    };
    let request = request.header("accept-encoding", s.accept_encoding.clone());
    let request = match &s.api_key {
        Some(k) => request.bearer_auth(k),
        None => request,
    };
    let response = request.send().await?;
    let status = response.status().as_u16();
    // The response cache says `x-cache`; the thumbnail cache `x-image-cache` (hit, miss,
    // coalesced), which the edge's `x-cache` replaces when it answers.
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let x_cache = header("x-cache").or_else(|| header("x-image-cache"));
    let _ = response.bytes().await?;
    Ok((Some(status), x_cache))
}

/// Reads up to 2,000 products (cursor pages) and up to 8 photos from the target.
async fn read_catalog(
    client: &reqwest::Client,
    base: &str,
    api_key: Option<&str>,
) -> anyhow::Result<Catalog> {
    let mut products: Vec<serde_json::Value> = Vec::new();
    let mut cursor: Option<String> = None;
    while products.len() < 2_000 {
        let mut url = format!("{base}/api/products?limit=100");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={}", mix::encode(c)));
        }
        // Plain JSON to parse (the harness has no decoders; see README).
        let mut req = client.get(&url).header("accept-encoding", "identity");
        if let Some(k) = api_key {
            req = req.bearer_auth(k);
        }
        let page: serde_json::Value = req
            .send()
            .await
            .with_context(|| format!("GET {url}"))?
            .error_for_status()
            .with_context(|| format!("GET {url}"))?
            .json()
            .await?;
        let items = page["products"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            break;
        }
        products.extend(items);
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    if products.is_empty() {
        bail!(
            "the target's catalog is empty: seed it first (the origin seeds a demo catalog on first start)"
        );
    }
    let mut catalog = Catalog {
        product_ids: products.iter().filter_map(|p| p["id"].as_i64()).collect(),
        images: products
            .iter()
            .filter_map(|p| Some((p["id"].as_i64()?, p["image_id"].as_str()?.to_owned())))
            .collect(),
        queries: Catalog::queries_from(&products),
        ..Catalog::default()
    };
    catalog.thumb_images = catalog.images.iter().map(|(_, i)| i.clone()).collect();
    let mut categories: Vec<String> = products
        .iter()
        .filter_map(|p| p["category"].as_str().map(str::to_owned))
        .collect();
    categories.sort();
    categories.dedup();
    catalog.categories = categories;
    for (_, image) in catalog
        .images
        .iter()
        .step_by((catalog.images.len() / 8).max(1))
        .take(8)
    {
        let r = client
            .get(format!("{base}/api/images/{image}"))
            .send()
            .await?;
        if r.status().is_success() {
            catalog.photos.push(r.bytes().await?.to_vec());
        }
    }
    Ok(catalog)
}

/// The origin's cache hit rate over its last five minutes, when `/api/performance` answers.
async fn server_hit_rate(s: &Shared) -> Option<f64> {
    let v: serde_json::Value = s
        .client
        .get(format!("{}/api/performance", s.base))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    v["cache"]["hit_rate"].as_f64()
}
