//! Thumbnail, `/img` and queue benchmark. Prints figures and ratios; asserts nothing.
//!
//! `scripts/bench/thumbnails.sh` (installs the baselines, fetches real photos, runs this), or
//! `BENCH_PHOTOS=DIR cargo bench -p vitrine-origin --bench thumbnails`.
//!
//! 1. Throughput over a folder of real JPEG photos: 3 thumbnails per source (150/300/600 px
//!    longest side), JPEG q80 and WebP q80, in source images/s on 1 thread and on all cores:
//!    our pipeline (decode once with shrink-on-load, cascade 600 → 300 → 150), `vipsthumbnail`
//!    (one process per size, as an imgproxy-style baseline) and libvips in-process through
//!    pyvips (decode once, cascade), with the ratios. Baselines run with `VIPS_CONCURRENCY=1`
//!    per worker, parallelism comes from running as many workers as threads.
//! 2. HTTP latency p50/p95 through `/img` for 1000×1000 JPEG → 300 px WebP, cold (a distinct
//!    source per request, so every request decodes) and cached.
//! 3. No-op jobs/s through the Redis Streams queue (`TEST_REDIS_URL`; skipped with a message
//!    when Redis is unreachable).

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use futures::{FutureExt, future::BoxFuture};
use vitrine_common::thumbnail::{
    Format, Limits, OutputFormat, Preset, ThumbSpec,
    pipeline::{RgbPixels, decode_rgb, encode_rgb},
    process, process_many,
};
use vitrine_origin::jobs::{
    JobQueue, JobStats, NewJob, Priority, QueueConfig, Task, TaskError, TaskHandler,
    redis_queue::RedisQueue, worker::Workers,
};
use vitrine_origin::observability::Snapshot;

const SIZES: [u32; 3] = [600, 300, 150];

fn photos(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                        e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("jpeg")
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .filter_map(|p| std::fs::read(&p).ok().map(|b| (p, b)))
        .collect()
}

fn jobs(format: OutputFormat) -> Vec<(ThumbSpec, OutputFormat)> {
    [Preset::Large, Preset::Medium, Preset::Small]
        .into_iter()
        .map(|p| {
            let mut s = p.spec();
            s.format = Format::Fixed(format);
            (s, format)
        })
        .collect()
}

/// Runs `work` once per item on `threads` threads (each takes the next item); items/s.
fn per_second<T: Sync>(items: &[T], threads: usize, work: impl Fn(&T) + Sync) -> f64 {
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                while let Some(item) = items.get(next.fetch_add(1, Ordering::Relaxed)) {
                    work(item);
                }
            });
        }
    });
    items.len() as f64 / started.elapsed().as_secs_f64()
}

/// Our pipeline on `threads` threads; source images/s.
fn ours(sources: &[(PathBuf, Vec<u8>)], format: OutputFormat, threads: usize) -> f64 {
    let jobs = jobs(format);
    let limits = Limits::default();
    per_second(sources, threads, |(path, bytes)| {
        if let Err(e) = process_many(bytes, &jobs, &limits) {
            eprintln!("{}: {e}", path.display());
        }
    })
}

/// The floor under any pipeline on the same decoder: each source decoded once at the scale
/// the 600 px output needs (shrink-on-load, as `ours` does) and resized to 600 px, with no
/// further sizes and no encoding, on `threads` threads; source images/s. libvips decodes
/// with the same libjpeg-turbo, so `floor / pyvips` is the highest ratio to pyvips that
/// faster resizing or encoding alone could reach.
fn decode_floor(sources: &[(PathBuf, Vec<u8>)], threads: usize) -> f64 {
    let limits = Limits::default();
    per_second(sources, threads, |(path, bytes)| {
        if let Err(e) = decode_rgb(bytes, SIZES[0], &limits) {
            eprintln!("{}: {e}", path.display());
        }
    })
}

/// The three outputs of every source as pixels (decoded and resized untimed, once), for
/// [`encode_only`].
fn resized_outputs(sources: &[(PathBuf, Vec<u8>)]) -> Vec<Vec<RgbPixels>> {
    let limits = Limits::default();
    sources
        .iter()
        .filter_map(|(_, b)| {
            SIZES
                .iter()
                .map(|&side| decode_rgb(b, side, &limits).ok())
                .collect::<Option<Vec<_>>>()
        })
        .collect()
}

/// The encode step alone: the three thumbnails of every source encoded as `format` at q80
/// with the pipeline's encoders (libjpeg-turbo or libwebp, as libvips uses), on `threads`
/// threads; sources/s. Together with [`decode_floor`] it bounds any pipeline on these codecs:
/// `1 / (1/floor + 1/encode)` sources/s is decode, encode and the first resize, with the others free.
fn encode_only(outputs: &[Vec<RgbPixels>], format: OutputFormat, threads: usize) -> f64 {
    per_second(outputs, threads, |sizes| {
        for px in sizes {
            if let Err(e) = encode_rgb(px, format, 80) {
                eprintln!("encoding: {e}");
            }
        }
    })
}

/// `vipsthumbnail`, one process per source and size, `threads` processes at a time.
fn vipsthumbnail(
    sources: &[(PathBuf, Vec<u8>)],
    format: OutputFormat,
    threads: usize,
) -> Option<f64> {
    let out = tempfile::tempdir().ok()?;
    let probe = Command::new("vipsthumbnail")
        .arg("--version")
        .output()
        .ok()?;
    if !probe.status.success() {
        return None;
    }
    let suffix = match format {
        OutputFormat::Webp => "webp[Q=80,strip]",
        _ => "jpg[Q=80,optimize_coding,strip]",
    };
    Some(per_second(sources, threads, |(path, _)| {
        // Sources come from one folder, so their stems are distinct.
        let stem = path
            .file_stem()
            .map_or_else(Default::default, |s| s.to_string_lossy());
        for size in SIZES {
            let target = out.path().join(format!("{stem}_{size}.{suffix}"));
            let status = Command::new("vipsthumbnail")
                .env("VIPS_CONCURRENCY", "1")
                .arg(path)
                .arg("--size")
                .arg(format!("{size}x{size}"))
                .arg("-o")
                .arg(&target)
                .status();
            if !status.is_ok_and(|s| s.success()) {
                eprintln!("vipsthumbnail failed on {}", path.display());
            }
        }
    }))
}

/// libvips in-process (pyvips), decode once + cascade, `threads` worker processes.
fn pyvips(dir: &Path, format: OutputFormat, threads: usize) -> Option<f64> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/bench/pyvips.py");
    // BENCH_PYTHON: the bench venv's interpreter (scripts/bench/thumbnails.sh sets it).
    let python = std::env::var("BENCH_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let out = Command::new(python)
        .arg(script)
        .arg(dir)
        .arg(format.as_str())
        .arg(threads.to_string())
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "pyvips baseline failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v["images_per_s"].as_f64()
}

fn throughput(dir: &Path) {
    let sources = photos(dir);
    if sources.is_empty() {
        println!(
            "no JPEGs in {} — run scripts/bench/thumbnails.sh (fetches real photos) or set BENCH_PHOTOS",
            dir.display()
        );
        return;
    }
    let limits = Limits::default();
    let mut sizes: Vec<(u32, u32)> = sources
        .iter()
        .filter_map(|(_, b)| vitrine_common::thumbnail::probe(b, &limits).ok())
        .map(|i| (i.width, i.height))
        .collect();
    sizes.sort_by_key(|(w, h)| u64::from(*w) * u64::from(*h));
    let mp: f64 = sizes
        .iter()
        .map(|(w, h)| f64::from(*w) * f64::from(*h) / 1e6)
        .sum();
    println!(
        "corpus: {} JPEGs from {} ({:.1} MP total; smallest {:?}, largest {:?})",
        sources.len(),
        dir.display(),
        mp,
        sizes.first(),
        sizes.last()
    );
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    // Warm-up (page cache, codec tables).
    let _ = ours(&sources[..sources.len().min(3)], OutputFormat::Jpeg, 1);
    let outputs = resized_outputs(&sources);
    println!(
        "\n{:<6} {:>7} {:>11} {:>12} {:>9} {:>8} {:>8} {:>13}",
        "format",
        "threads",
        "ours img/s",
        "vipsthumb/s",
        "pyvips/s",
        "×vipsth",
        "×pyvips",
        "ceil ×pyvips"
    );
    let mut bounds = Vec::new();
    for format in [OutputFormat::Jpeg, OutputFormat::Webp] {
        for threads in [1, cores] {
            let o = ours(&sources, format, threads);
            let v = vipsthumbnail(&sources, format, threads);
            let p = pyvips(dir, format, threads);
            let floor = decode_floor(&sources, threads);
            let enc = encode_only(&outputs, format, threads);
            let ceiling = 1.0 / (1.0 / floor + 1.0 / enc);
            let fmt = |x: Option<f64>| x.map_or("n/a".to_owned(), |x| format!("{x:.1}"));
            let ratio =
                |n: f64, x: Option<f64>| x.map_or("n/a".to_owned(), |x| format!("{:.2}", n / x));
            println!(
                "{:<6} {:>7} {:>11.1} {:>12} {:>9} {:>8} {:>8} {:>13}",
                format.as_str(),
                threads,
                o,
                fmt(v),
                fmt(p),
                ratio(o, v),
                ratio(o, p),
                ratio(ceiling, p)
            );
            bounds.push((format, threads, floor, enc, ceiling));
        }
    }
    println!(
        "\nwhere the time goes (same run): decode = each source decoded once with shrink-on-load \
         and resized to 600 px; encode = its three thumbnails encoded from ready pixels"
    );
    for (format, threads, floor, enc, ceiling) in bounds {
        println!(
            "  {:<5} {threads} thread(s): decode {floor:.1} sources/s ({:.1} ms each), encode \
             {enc:.1} sources/s ({:.1} ms each) → at most {ceiling:.1} img/s with the 300 and 150 px resizes free",
            format.as_str(),
            1000.0 / floor * threads as f64,
            1000.0 / enc * threads as f64,
        );
    }
    println!(
        "ceil ×pyvips: that bound over pyvips. libvips decodes with the same libjpeg-turbo and \
         encodes with libjpeg-turbo/libwebp, so no resizer or scheduling change can take \
         ×pyvips past it; only a faster decoder or encoder could."
    );
    println!(
        "targets: JPEG ≥ 4× vipsthumbnail and ≥ 1.8× pyvips; WebP ≥ 2.5× and ≥ 1.5× (both thread counts)"
    );
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn http_latency(dir: &Path) -> anyhow::Result<()> {
    let sources = photos(dir);
    let tmp = tempfile::tempdir()?;
    let db = format!("sqlite:{}", tmp.path().join("b.db").display());
    let data = tmp.path().display().to_string();
    let env: std::collections::HashMap<&str, &str> = [
        ("DATABASE_URL", db.as_str()),
        ("DATA_DIR", data.as_str()),
        ("API_KEYS", "bench-key-0123456789"),
        ("SEARCH_INDEX_DIR", "memory"),
        ("SEED_DEMO", "false"),
        ("LOG_LEVEL", "error"),
        ("ASYNC_WORKERS", "0"),
        ("BIND_ADDR", "127.0.0.1:0"),
        // The latency of the pipeline and its cache, not of the rate limiter's 429s.
        ("RATE_LIMIT_ENABLED", "false"),
    ]
    .into_iter()
    .collect();
    let settings =
        vitrine_origin::config::Settings::from_lookup(|k| env.get(k).map(|v| (*v).to_owned()))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let state = vitrine_origin::startup::build_state(settings).await?;
    let thumbs = state.thumbs.clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(vitrine_origin::startup::run(listener, state, async move {
        let _ = rx.await;
    }));
    let client = reqwest::Client::new();

    // 100 distinct 1000×1000 JPEG sources (crops of the photos, or generated when none).
    let n = 100;
    let limits = Limits::default();
    let mut ids = Vec::new();
    for i in 0..n {
        let src = if sources.is_empty() {
            generated_photo(1600, 1200, i)
        } else {
            let (_, bytes) = &sources[i % sources.len()];
            let q = 85 + (i / sources.len().max(1)) as u32;
            let spec = ThumbSpec::parse(&format!("w:1000/h:1000/fit:cover/f:jpeg/q:{q}"))
                .map_err(|e| anyhow::anyhow!(e))?;
            process(bytes, &spec, OutputFormat::Jpeg, &limits)?.bytes
        };
        let r = client
            .post(format!("{base}/api/images"))
            .bearer_auth("bench-key-0123456789")
            .body(src)
            .send()
            .await?;
        let v: serde_json::Value = r.json().await?;
        if let Some(id) = v["id"].as_str() {
            ids.push(id.to_owned());
        }
    }
    ids.dedup();
    let get = |id: &str| {
        let url = format!("{base}/img/_/w:300/h:300/f:webp/{id}");
        let c = client.clone();
        async move {
            let started = Instant::now();
            let r = c.get(url).send().await?;
            let status = r.status();
            let _ = r.bytes().await?;
            anyhow::ensure!(status == 200, "status {status}");
            Ok::<_, anyhow::Error>(started.elapsed())
        }
    };
    let before = thumbs.snapshot();
    let mut cold = Vec::new();
    for id in &ids {
        cold.push(get(id).await?);
    }
    // Where a cold request's time goes, from the thumbnailer's own counters (seconds).
    let after = thumbs.snapshot();
    let spent = |field: &str| {
        let v = |s: &serde_json::Value| s[field].as_f64().unwrap_or(0.0);
        (v(&after) - v(&before)) * 1000.0 / cold.len().max(1) as f64
    };
    let (load, wait, pipeline) = (
        spent("load_seconds"),
        spent("wait_seconds"),
        spent("process_seconds"),
    );
    let total: f64 =
        cold.iter().map(|d| d.as_secs_f64() * 1000.0).sum::<f64>() / cold.len().max(1) as f64;
    let mut cached = Vec::new();
    for _ in 0..1000 {
        cached.push(get(&ids[0]).await?);
    }
    cold.sort();
    cached.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "\n/img 1000×1000 JPEG → 300 px WebP: cold p50 {:.2} ms, p95 {:.2} ms ({} distinct sources); cached p50 {:.3} ms, p95 {:.3} ms (1000 requests)",
        ms(percentile(&cold, 0.5)),
        ms(percentile(&cold, 0.95)),
        cold.len(),
        ms(percentile(&cached, 0.5)),
        ms(percentile(&cached, 0.95)),
    );
    println!(
        "cold, mean per request: {total:.2} ms = original read {load:.2} ms + queueing for CPU/memory \
         {wait:.2} ms + pipeline (decode, resize, encode) {pipeline:.2} ms + the rest (HTTP, routing, \
         signature, coalescing) {:.2} ms",
        total - load - wait - pipeline
    );
    println!("targets: cold p95 < 20 ms, cached p95 < 2 ms");
    let _ = tx.send(());
    let _ = server.await;
    Ok(())
}

fn generated_photo(w: u32, h: u32, seed: usize) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            ((x * 7 + seed as u32) % 256) as u8,
            ((y * 5) % 256) as u8,
            (((x ^ y) + seed as u32) % 256) as u8,
        ])
    });
    let mut out = Vec::new();
    let _ = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90).encode(
        &img,
        w,
        h,
        image::ExtendedColorType::Rgb8,
    );
    out
}

struct Noop;

impl TaskHandler for Noop {
    fn handle<'a>(
        &'a self,
        _task: &'a Task,
    ) -> BoxFuture<'a, Result<serde_json::Value, TaskError>> {
        async { Ok(serde_json::Value::Null) }.boxed()
    }
}

async fn queue_throughput() -> anyhow::Result<()> {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let config = QueueConfig {
        visibility_timeout: Duration::from_secs(60),
        max_attempts: 3,
        retry_base: Duration::from_millis(100),
        ttl: Duration::from_secs(600),
    };
    let connected = match RedisQueue::connect(&url, &prefix, config).await {
        Ok(q) => q.check().await.map(|()| q),
        Err(e) => Err(e),
    };
    let queue: Arc<dyn JobQueue> = match connected {
        Ok(q) => Arc::new(q),
        Err(e) => {
            println!(
                "\nqueue: Redis at {url} unreachable ({e:#}); start it with redis-server --daemonize yes"
            );
            return Ok(());
        }
    };
    let jobs = 20;
    let per_job = 1000;
    let total = jobs * per_job;
    let started = Instant::now();
    let mut ids = Vec::new();
    for _ in 0..jobs {
        let s = queue
            .submit(NewJob {
                kind: "noop".into(),
                priority: Priority::Normal,
                idempotency_key: None,
                unique: None,
                items: vec![serde_json::Value::Null; per_job],
                prefailed: vec![],
                meta: serde_json::Value::Null,
            })
            .await?;
        ids.push(s.id().to_owned());
    }
    let submit_secs = started.elapsed().as_secs_f64();
    let stats = Arc::new(JobStats::default());
    let started = Instant::now();
    let workers = Workers::start(queue.clone(), Arc::new(Noop), stats.clone(), 8, 100);
    for id in &ids {
        loop {
            let v = queue.job(id).await?;
            if v.as_ref().is_some_and(|v| v.state.is_terminal()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    workers.shutdown(Duration::from_secs(5)).await;
    println!(
        "\nqueue (Redis Streams, no-op handler, 8 workers fetching 100 at a time): {total} items enqueued in {submit_secs:.2} s ({:.0}/s, pipelined XADD), processed in {secs:.2} s = {:.0} jobs/s",
        total as f64 / submit_secs,
        total as f64 / secs
    );
    println!("target: ≥ 10,000 jobs/s");
    if let Ok(client) = redis::Client::open(url.as_str())
        && let Ok(mut c) = client.get_multiplexed_async_connection().await
    {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}:*"))
            .query_async(&mut c)
            .await
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query_async(&mut c).await;
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(std::env::var("BENCH_PHOTOS").unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../data/bench-photos")
            .display()
            .to_string()
    }));
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "throughput" {
        throughput(&dir);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if only.is_empty() || only == "http" {
        rt.block_on(http_latency(&dir))?;
    }
    if only.is_empty() || only == "queue" {
        rt.block_on(queue_throughput())?;
    }
    Ok(())
}
