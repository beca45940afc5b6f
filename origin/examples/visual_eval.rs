//! Visual-search quality evaluation.
//!
//! `cargo run --release -p vitrine-origin --example visual_eval -- [IMAGE_DIR] [DISTRACTORS]`
//!
//! Indexes every image in IMAGE_DIR (default: the real photographs that
//! `scripts/bench/fetch-eval-images.sh` extracts to /var/tmp/vitrine-eval-images) plus DISTRACTORS
//! generated product photos (default 1000), then queries with distorted copies of each real
//! image — crop to 80%, scale to 50%, JPEG q40, brightness ±20%, a 5° rotation, padding
//! onto white — through the same decode + descriptor path as `POST /api/search/image`, and
//! prints recall@1, recall@10 and MRR per distortion and overall, plus descriptor timings.
#![allow(clippy::unwrap_used)]

use std::{io::Cursor, time::Instant};

use image::{DynamicImage, ImageFormat, Rgb, RgbImage, imageops::FilterType};
use vitrine_common::thumbnail::pipeline::{Limits, decode_rgb};
use vitrine_origin::{
    catalog::demo,
    search::visual::{
        descriptor::{ANALYSIS_SIDE, describe},
        index::{IndexConfig, ItemMeta, MetaFilter, VisualIndex},
    },
};

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn jpeg(img: &DynamicImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
    img.to_rgb8().write_with_encoder(enc).unwrap();
    out
}

fn rotate(img: &RgbImage, degrees: f32) -> RgbImage {
    let (w, h) = img.dimensions();
    let (s, c) = degrees.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
        let (sx, sy) = (c * dx + s * dy + cx - 0.5, -s * dx + c * dy + cy - 0.5);
        if sx < 0.0 || sy < 0.0 || sx >= (w - 1) as f32 || sy >= (h - 1) as f32 {
            return Rgb([255, 255, 255]);
        }
        let (x0, y0) = (sx.floor() as u32, sy.floor() as u32);
        let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
        let p = |xx: u32, yy: u32, k: usize| f32::from(img.get_pixel(xx, yy)[k]);
        Rgb(std::array::from_fn(|k| {
            let top = p(x0, y0, k) * (1.0 - fx) + p(x0 + 1, y0, k) * fx;
            let bottom = p(x0, y0 + 1, k) * (1.0 - fx) + p(x0 + 1, y0 + 1, k) * fx;
            (top * (1.0 - fy) + bottom * fy).round() as u8
        }))
    })
}

fn distortions(img: &DynamicImage) -> Vec<(&'static str, Vec<u8>)> {
    let (w, h) = (img.width(), img.height());
    let rgb = img.to_rgb8();
    let brightness = |factor: f32| {
        let mut out = rgb.clone();
        for p in out.pixels_mut() {
            for c in p.0.iter_mut() {
                *c = (f32::from(*c) * factor).round().clamp(0.0, 255.0) as u8;
            }
        }
        DynamicImage::ImageRgb8(out)
    };
    let pad = {
        let (pw, ph) = (w * 14 / 10, h * 14 / 10);
        let mut canvas = RgbImage::from_pixel(pw, ph, Rgb([255, 255, 255]));
        image::imageops::overlay(
            &mut canvas,
            &rgb,
            i64::from((pw - w) / 2),
            i64::from((ph - h) / 2),
        );
        DynamicImage::ImageRgb8(canvas)
    };
    vec![
        (
            "crop80",
            encode(
                &img.crop_imm(w / 10, h / 10, w * 8 / 10, h * 8 / 10),
                ImageFormat::Png,
            ),
        ),
        (
            "scale50",
            encode(
                &img.resize(w / 2, h / 2, FilterType::Triangle),
                ImageFormat::Png,
            ),
        ),
        ("jpeg_q40", jpeg(img, 40)),
        ("bright+20", encode(&brightness(1.2), ImageFormat::Png)),
        ("bright-20", encode(&brightness(0.8), ImageFormat::Png)),
        (
            "rotate5",
            encode(
                &DynamicImage::ImageRgb8(rotate(&rgb, 5.0)),
                ImageFormat::Png,
            ),
        ),
        ("pad_white", encode(&pad, ImageFormat::Png)),
    ]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .unwrap_or_else(|| "/var/tmp/vitrine-eval-images".into());
    let distractors: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let limits = Limits::default();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e} (run scripts/bench/fetch-eval-images.sh first)"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("png" | "jpg" | "jpeg")
            )
        })
        .collect();
    files.sort();
    let index = VisualIndex::new(
        vitrine_origin::search::visual::descriptor::DIMS,
        IndexConfig::default(),
    );
    let meta = || ItemMeta {
        category: String::new(),
        brand: String::new(),
        price: 0,
    };
    let mut originals = Vec::new();
    let mut times = Vec::new();
    for (i, path) in files.iter().enumerate() {
        let bytes = std::fs::read(path).unwrap();
        let t = Instant::now();
        let px = decode_rgb(&bytes, ANALYSIS_SIDE, &limits).unwrap();
        let d = describe(&px);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        index.upsert(i as i64, &d.vector, d.phash, meta());
        originals.push(image::load_from_memory(&bytes).unwrap());
    }
    for j in 0..distractors {
        let bytes = demo::render_image(10_000 + j).unwrap();
        let px = decode_rgb(&bytes, ANALYSIS_SIDE, &limits).unwrap();
        let d = describe(&px);
        index.upsert(1_000_000 + j as i64, &d.vector, d.phash, meta());
    }
    println!(
        "indexed {} real images from {dir} + {distractors} generated distractors",
        files.len()
    );
    let names = [
        "crop80",
        "scale50",
        "jpeg_q40",
        "bright+20",
        "bright-20",
        "rotate5",
        "pad_white",
    ];
    let mut per: Vec<(u32, u32, f64, u32)> = vec![(0, 0, 0.0, 0); names.len()];
    for (i, img) in originals.iter().enumerate() {
        for (k, (name, bytes)) in distortions(img).into_iter().enumerate() {
            debug_assert_eq!(name, names[k]);
            let px = decode_rgb(&bytes, ANALYSIS_SIDE, &limits).unwrap();
            let d = describe(&px);
            let hits = index.search(&d.vector, 10, &MetaFilter::default());
            let rank = hits.iter().position(|h| h.product_id == i as i64);
            let e = &mut per[k];
            e.3 += 1;
            if rank == Some(0) {
                e.0 += 1;
            } else if std::env::var("VERBOSE").is_ok() {
                let top = hits.first().map(|h| h.product_id).unwrap_or(-1);
                let top = usize::try_from(top)
                    .ok()
                    .and_then(|t| files.get(t))
                    .map(|p| p.display().to_string())
                    .unwrap_or(format!("distractor {top}"));
                println!(
                    "  {} under {name}: rank {:?}, first is {top}",
                    files[i].display(),
                    rank.map(|r| r + 1)
                );
            }
            if let Some(r) = rank {
                e.1 += 1;
                e.2 += 1.0 / (r as f64 + 1.0);
            } else if std::env::var("VERBOSE").is_ok() {
                println!("  miss: {} under {name}", files[i].display());
            }
        }
    }
    println!(
        "{:<12} {:>9} {:>10} {:>7}",
        "distortion", "recall@1", "recall@10", "MRR"
    );
    let (mut a, mut b, mut c, mut n) = (0, 0, 0.0, 0);
    for (k, name) in names.iter().enumerate() {
        let (r1, r10, mrr, count) = per[k];
        println!(
            "{name:<12} {:>9.3} {:>10.3} {:>7.3}",
            f64::from(r1) / f64::from(count),
            f64::from(r10) / f64::from(count),
            mrr / f64::from(count)
        );
        a += r1;
        b += r10;
        c += mrr;
        n += count;
    }
    println!(
        "{:<12} {:>9.3} {:>10.3} {:>7.3}   ({n} queries; targets recall@1 >= 0.95, recall@10 >= 0.99)",
        "overall",
        f64::from(a) / f64::from(n),
        f64::from(b) / f64::from(n),
        c / f64::from(n)
    );
    times.sort_by(|x, y| x.total_cmp(y));
    println!(
        "descriptor time per real image (decode + describe): median {:.1} ms, max {:.1} ms",
        times[times.len() / 2],
        times[times.len() - 1]
    );
}
