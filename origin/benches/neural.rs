//! Neural-embedder speed on one thread (the sgemm is single-threaded; each image runs on one
//! blocking-pool thread): the network alone on a 224×224 input, the whole path for a
//! 1000×1000 JPEG (decode + preprocess + network), and the blended embedder serving uses
//! (two decodes, the descriptor and the network).
//!
//! `cargo bench -p vitrine-origin --bench neural` (`BENCH_RUNS`, default 60). Needs the model:
//! `scripts/tools/fetch-model.sh` (its folder in `VISUAL_MODEL`, else the default folder).
//! Prints figures; asserts nothing about time.
#![allow(clippy::unwrap_used)]

use std::{path::PathBuf, sync::Arc, time::Instant};

use vitrine_common::thumbnail::pipeline::{Limits, decode_rgb};
use vitrine_origin::search::visual::{
    descriptor::Embedder,
    neural::{
        INPUT_SIDE, NeuralModel,
        combined::{CombinedEmbedder, NEURAL_DECODE_SIDE},
        preprocess,
    },
};

fn percentiles(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
    (at(0.5), at(0.95))
}

fn time(runs: usize, mut f: impl FnMut()) -> (f64, f64) {
    f();
    let ms = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    percentiles(ms)
}

/// A 1000×1000 JPEG (quality 85) made from a real photo of the reference set when it is
/// there, else a rendered demo product.
fn photo_1000() -> Vec<u8> {
    let tools =
        std::env::var("VITRINE_TOOLS_DIR").unwrap_or_else(|_| "/var/tmp/vitrine-tools".into());
    let source = std::fs::read_dir(&tools)
        .ok()
        .and_then(|d| {
            d.flatten()
                .map(|e| e.path().join("chelsea.png"))
                .find(|p| p.is_file())
        })
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| image::load_from_memory(&b).ok())
        .unwrap_or_else(|| {
            image::load_from_memory(&vitrine_origin::catalog::demo::render_image(5).unwrap())
                .unwrap()
        });
    let big = source.resize_exact(1000, 1000, image::imageops::FilterType::CatmullRom);
    let mut out = Vec::new();
    big.to_rgb8()
        .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
            &mut out, 85,
        ))
        .unwrap();
    out
}

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let dir = std::env::var("VISUAL_MODEL")
        .ok()
        .filter(|v| v != "descriptor")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(
                std::env::var("VITRINE_TOOLS_DIR")
                    .unwrap_or_else(|_| "/var/tmp/vitrine-tools".into()),
            )
            .join("models/efficientnet-lite0")
        });
    let t = Instant::now();
    let model =
        Arc::new(NeuralModel::load(&dir).unwrap_or_else(|e| {
            panic!("{}: {e} (run scripts/tools/fetch-model.sh)", dir.display())
        }));
    println!(
        "model load (parse, check, fold): {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let limits = Limits::default();
    let jpeg = photo_1000();
    let crop = preprocess::crop_rgb(&decode_rgb(&jpeg, NEURAL_DECODE_SIDE, &limits).unwrap());
    assert_eq!(crop.len(), INPUT_SIDE * INPUT_SIDE * 3);

    let (p50, p95) = time(runs, || {
        std::hint::black_box(model.run_crop(&crop));
    });
    println!(
        "network, 224×224 input, 1 thread:            p50 {p50:6.1} ms  p95 {p95:6.1} ms  ({runs} runs)"
    );
    let (p50, p95) = time(runs, || {
        let px = decode_rgb(&jpeg, NEURAL_DECODE_SIDE, &limits).unwrap();
        std::hint::black_box(model.run(&px));
    });
    println!("1000×1000 JPEG: decode + preprocess + network: p50 {p50:6.1} ms  p95 {p95:6.1} ms");
    let combined = CombinedEmbedder::new(model.clone());
    let (p50, p95) = time(runs, || {
        std::hint::black_box(combined.embed_bytes(&jpeg, &limits).unwrap());
    });
    println!("1000×1000 JPEG: blended embedder (serving):    p50 {p50:6.1} ms  p95 {p95:6.1} ms");
    let out = model.run_crop(&crop);
    let top: Vec<String> = model
        .labels(&out, 3)
        .iter()
        .map(|l| format!("{} {:.2}", l.name, l.score))
        .collect();
    println!("labels of the benchmark photo: {}", top.join(", "));
}
