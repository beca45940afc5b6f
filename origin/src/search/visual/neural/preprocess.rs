//! From decoded RGB pixels to the network's input, as the model was evaluated: the shortest
//! side resized to [`RESIZE_SHORT_SIDE`] with a bilinear filter that widens with the
//! reduction (Pillow's `BILINEAR`, so the independent numpy reference sees the same
//! pixels), a centre crop of [`INPUT_SIDE`] (offset `floor((side − 224) / 2)`), then
//! `(RGB − 127) / 128`, channels-last.
//!
//! The resize is separable, horizontal pass first, each pass rounded to 8 bits like
//! Pillow's, and only the rows and columns the crop keeps are computed.

use vitrine_common::thumbnail::pipeline::RgbPixels;

use super::{layers::FeatureMap, model::INPUT_SIDE};

/// The shortest side before the centre crop.
pub const RESIZE_SHORT_SIDE: usize = 256;
const MEAN: f32 = 127.0;
const STD: f32 = 128.0;

/// Filter taps of one output sample: the first input index and the normalised weights.
struct Taps {
    start: usize,
    weights: Vec<f32>,
}

/// Pillow's `precompute_coeffs` for the triangle (bilinear) filter, support 1: when
/// shrinking, the filter is stretched by the scale so every input pixel contributes.
fn taps(input: usize, output: usize) -> Vec<Taps> {
    let scale = input as f64 / output as f64;
    let filter_scale = scale.max(1.0);
    let support = filter_scale;
    (0..output)
        .map(|o| {
            let centre = (o as f64 + 0.5) * scale;
            let start = ((centre - support + 0.5).floor().max(0.0)) as usize;
            let end = ((centre + support + 0.5).floor() as usize).min(input);
            let mut weights: Vec<f64> = (start..end)
                .map(|i| {
                    let x = ((i as f64 - centre + 0.5) / filter_scale).abs();
                    if x < 1.0 { 1.0 - x } else { 0.0 }
                })
                .collect();
            let total: f64 = weights.iter().sum();
            if total > 0.0 {
                for w in &mut weights {
                    *w /= total;
                }
            }
            Taps {
                start,
                weights: weights.into_iter().map(|w| w as f32).collect(),
            }
        })
        .collect()
}

fn to_u8(v: f32) -> f32 {
    (v + 0.5).floor().clamp(0.0, 255.0)
}

/// The size after resizing the shortest side to [`RESIZE_SHORT_SIDE`] (the longer one in
/// proportion, rounded).
pub fn resized_size(w: usize, h: usize) -> (usize, usize) {
    let short = w.min(h).max(1) as f64;
    let scale = RESIZE_SHORT_SIDE as f64 / short;
    if w <= h {
        (
            RESIZE_SHORT_SIDE,
            ((h as f64 * scale).round() as usize).max(RESIZE_SHORT_SIDE),
        )
    } else {
        (
            ((w as f64 * scale).round() as usize).max(RESIZE_SHORT_SIDE),
            RESIZE_SHORT_SIDE,
        )
    }
}

/// The centre `INPUT_SIDE`² crop of the resized image, as 8-bit RGB, row-major.
pub fn crop_rgb(px: &RgbPixels) -> Vec<u8> {
    let (w, h) = (px.w as usize, px.h as usize);
    if w == 0 || h == 0 || px.buf.len() < w * h * 3 {
        return vec![0; INPUT_SIDE * INPUT_SIDE * 3];
    }
    let (rw, rh) = resized_size(w, h);
    let (left, top) = ((rw - INPUT_SIDE) / 2, (rh - INPUT_SIDE) / 2);
    let xs = taps(w, rw);
    let ys = taps(h, rh);
    let xs = &xs[left..left + INPUT_SIDE];
    let ys = &ys[top..top + INPUT_SIDE];
    // Rows of the source the kept output rows read.
    let row_lo = ys.iter().map(|t| t.start).min().unwrap_or(0);
    let row_hi = ys
        .iter()
        .map(|t| t.start + t.weights.len())
        .max()
        .unwrap_or(0)
        .min(h);
    // Horizontal pass over those rows: (row_hi − row_lo) × INPUT_SIDE × 3.
    let mut horiz = vec![0.0f32; (row_hi - row_lo) * INPUT_SIDE * 3];
    for y in row_lo..row_hi {
        let src = &px.buf[y * w * 3..(y + 1) * w * 3];
        let dst = &mut horiz[(y - row_lo) * INPUT_SIDE * 3..][..INPUT_SIDE * 3];
        for (ox, t) in xs.iter().enumerate() {
            let mut acc = [0.0f32; 3];
            for (j, wt) in t.weights.iter().enumerate() {
                let p = &src[(t.start + j) * 3..][..3];
                for ch in 0..3 {
                    acc[ch] += f32::from(p[ch]) * wt;
                }
            }
            for ch in 0..3 {
                dst[ox * 3 + ch] = to_u8(acc[ch]);
            }
        }
    }
    let mut out = vec![0u8; INPUT_SIDE * INPUT_SIDE * 3];
    for (oy, t) in ys.iter().enumerate() {
        let dst = &mut out[oy * INPUT_SIDE * 3..][..INPUT_SIDE * 3];
        for (i, d) in dst.iter_mut().enumerate() {
            let mut acc = 0.0f32;
            for (j, wt) in t.weights.iter().enumerate() {
                acc += horiz[(t.start + j - row_lo) * INPUT_SIDE * 3 + i] * wt;
            }
            *d = to_u8(acc) as u8;
        }
    }
    out
}

/// The network input for a `INPUT_SIDE`² RGB crop.
pub fn normalise(rgb: &[u8]) -> FeatureMap {
    FeatureMap {
        h: INPUT_SIDE,
        w: INPUT_SIDE,
        c: 3,
        data: rgb.iter().map(|&v| (f32::from(v) - MEAN) / STD).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_side_becomes_256_and_the_other_follows() {
        assert_eq!(resized_size(512, 512), (256, 256));
        assert_eq!(resized_size(600, 400), (384, 256));
        assert_eq!(resized_size(427, 640), (256, 384));
        assert_eq!(resized_size(100, 50), (512, 256));
    }

    #[test]
    fn taps_are_normalised_and_cover_the_reduction() {
        let shrink = taps(1000, 256);
        for t in &shrink {
            let s: f32 = t.weights.iter().sum();
            assert!((s - 1.0).abs() < 1e-5);
        }
        // Away from the edges (where the filter is cut), a 3.9× reduction reads ~8 pixels.
        for t in &shrink[2..254] {
            assert!(t.weights.len() >= 7, "{}", t.weights.len());
        }
        for t in taps(100, 256) {
            assert!(
                t.weights.len() <= 3,
                "enlarging reads at most the two neighbours"
            );
        }
    }

    #[test]
    fn a_flat_image_stays_flat_and_normalises_around_127() {
        let px = RgbPixels {
            w: 300,
            h: 500,
            buf: [10u8, 127, 255].repeat(300 * 500),
        };
        let rgb = crop_rgb(&px);
        assert_eq!(rgb.len(), INPUT_SIDE * INPUT_SIDE * 3);
        assert!(rgb.chunks_exact(3).all(|p| p == [10, 127, 255]));
        let input = normalise(&rgb);
        assert_eq!(&input.data[..3], &[(10.0 - 127.0) / 128.0, 0.0, 1.0]);
    }

    #[test]
    fn the_crop_is_the_centre() {
        // Left half black, right half white, 512×256: already 256 high, so the crop spans
        // columns 144..368 and the boundary (column 256) is its middle.
        let (w, h) = (512usize, 256usize);
        let mut buf = vec![0u8; w * h * 3];
        for y in 0..h {
            for x in w / 2..w {
                buf[(y * w + x) * 3..][..3].copy_from_slice(&[255, 255, 255]);
            }
        }
        let rgb = crop_rgb(&RgbPixels {
            w: w as u32,
            h: h as u32,
            buf,
        });
        let at = |x: usize| rgb[(100 * INPUT_SIDE + x) * 3];
        assert_eq!(at(0), 0);
        assert_eq!(at(INPUT_SIDE - 1), 255);
        assert_eq!(at(INPUT_SIDE / 2 - 2), 0);
        assert_eq!(at(INPUT_SIDE / 2 + 1), 255);
    }
}
