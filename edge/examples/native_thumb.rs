//! Fixtures and the native half of the edge thumbnail benchmark.
//!
//! * `native_thumb fixtures <dir>` writes `small.jpg` (640×480) and `large.jpg` (3000×2000),
//!   photo-like JPEGs (smooth gradients plus deterministic grain, so the decoder does real work)
//!   that the edge tests and benchmark serve from their stub origin.
//! * `native_thumb bench <file.jpg> <iterations>` runs common's pipeline natively on the same
//!   job the edge benchmark asks the Worker for (→ 300 px WebP) and prints p50/p95 in ms.
//!
//! Why a program and not a `#[test]`: benchmarks print figures, tests assert behaviour (rule 9).
//! It uses the same pure-Rust codecs as the wasm build (common without `native-codecs`), so the
//! ratio it feeds measures wasm-vs-native for the *same* code; WebP output is lossless in this
//! build (image-webp cannot encode lossy).

use std::time::Instant;

use image::{ImageBuffer, Rgb};
use vitrine_common::thumbnail::{Limits, OutputFormat, ThumbSpec, process};

fn photo(w: u32, h: u32) -> Vec<u8> {
    let mut seed: u32 = 0x9e37_79b9;
    let img = ImageBuffer::from_fn(w, h, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let grain = (seed % 24) as f32 - 12.0;
        let fx = x as f32 / w as f32;
        let fy = y as f32 / h as f32;
        let cx = (fx - 0.5).powi(2) + (fy - 0.45).powi(2);
        let r = 200.0 * (1.0 - fy) + 40.0 * (fx * 9.0).sin() + grain;
        let g = 120.0 + 100.0 * (-cx * 8.0).exp() + grain;
        let b = 60.0 + 150.0 * fy * fx + grain;
        Rgb([
            r.clamp(0.0, 255.0) as u8,
            g.clamp(0.0, 255.0) as u8,
            b.clamp(0.0, 255.0) as u8,
        ])
    });
    let mut out = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85);
    if let Err(e) = enc.encode_image(&img) {
        eprintln!("encoding failed: {e}");
        std::process::exit(1);
    }
    out
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("fixtures") => {
            let dir = std::path::Path::new(args.get(2).map_or(".", String::as_str));
            for (name, w, h) in [("small.jpg", 640, 480), ("large.jpg", 3000, 2000)] {
                let path = dir.join(name);
                if let Err(e) = std::fs::write(&path, photo(w, h)) {
                    eprintln!("writing {}: {e}", path.display());
                    std::process::exit(1);
                }
            }
        }
        Some("bench") => {
            let (Some(file), Some(n)) = (args.get(2), args.get(3).and_then(|n| n.parse().ok()))
            else {
                eprintln!("usage: native_thumb bench <file.jpg> <iterations>");
                std::process::exit(2);
            };
            let n: usize = n;
            let bytes = match std::fs::read(file) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("reading {file}: {e}");
                    std::process::exit(1);
                }
            };
            let Ok(spec) = ThumbSpec::parse("w:300/f:webp") else {
                std::process::exit(1);
            };
            let mut times = Vec::with_capacity(n);
            let mut size = 0;
            for _ in 0..n.max(1) {
                let t = Instant::now();
                match process(&bytes, &spec, OutputFormat::Webp, &Limits::default()) {
                    Ok(out) => size = out.bytes.len(),
                    Err(e) => {
                        eprintln!("pipeline: {e}");
                        std::process::exit(1);
                    }
                }
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            times.sort_by(f64::total_cmp);
            println!(
                "native p50_ms={:.2} p95_ms={:.2} n={} out_bytes={size}",
                percentile(&times, 0.5),
                percentile(&times, 0.95),
                times.len()
            );
        }
        _ => {
            eprintln!("usage: native_thumb fixtures <dir> | bench <file.jpg> <iterations>");
            std::process::exit(2);
        }
    }
}
