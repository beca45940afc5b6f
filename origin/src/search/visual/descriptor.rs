//! The visual descriptor (version 4): a fixed-length vector that says what a product photo
//! looks like, computed on the CPU from decoded pixels, with no model to download.
//!
//! Product photos are mostly one object on a plain background, and shoppers' query photos
//! are the same object cropped, rescaled, recompressed, brighter or darker, slightly
//! rotated or padded. The parts below are chosen for exactly those changes:
//!
//! 0. **White fill and trim.** Near-white pixels connected to the frame's edge are *fill*
//!    (padding, the corners a small rotation uncovers, a white backdrop), grown by one pixel
//!    for the seam that downscaling blends. Flat rows and columns at the edges (fill, or the
//!    border's own colour) are cut off, repeatedly until nothing more is cut, so a padded
//!    photo and its original describe the same frame, even when the photo has a flat
//!    margin of its own under the padding.
//! 1. **Foreground weighting.** The background colour is estimated from the border ring
//!    (per-channel median) and every pixel is weighted by how far it is from it, so a
//!    studio backdrop contributes (almost) nothing; fill always weighs zero. The object's
//!    box (the central 96 % of that weight) frames the spatial parts, which makes them
//!    insensitive to padding, translation and scale.
//!
//!    This must hold up against what padding and rotation do to the border. The ring
//!    leaves the fill out unless the fill is the backdrop itself (it covers most of the
//!    ring or 15 % of the frame): a 5° rotation turns about half of the ring white, and a
//!    median over the whole ring would land halfway between the photo and white, so the
//!    background of a night sky or a grey wall, and with it every weight, would change.
//!    The busy/plain decision is a smooth blend over the share of plain border (60–85 %),
//!    not a hard threshold, which a texture near it (a brick wall at 78 % against 70 %)
//!    would cross when rotated. On a backdrop that is not white, edges against the fill
//!    are rotation artefacts and do not count as shape. And the box is a mass quantile,
//!    not the extent of every pixel above a threshold, which a few noisy pixels stretch.
//! 2. **Colour histogram** in HSV: 12 hues × 3 saturations × 3 values, soft-assigned across
//!    neighbouring hues, plus 4 grey levels for unsaturated pixels; weighted by foreground
//!    and by a centre-weighted Gaussian. Hue barely moves under brightness changes and JPEG
//!    recompression, so colour is the most robust cue for "the same product".
//! 3. **Gradient-orientation histograms** (HOG-like) on a 4×4 grid over the object's box,
//!    8 unsigned orientations, magnitude-weighted: the shape and texture part, which tells
//!    a red mug from a red lamp. Gradients are computed on luminance, so colour shifts don't
//!    change them, and orientation bins are soft so small rotations only blur them.
//! 4. **Colour layout**: mean Lab colour on a 4×4 grid over the box — where the colours are.
//!
//! Each part is square-rooted (Hellinger kernel: stops a few dominant bins from swamping
//! the rest) and L2-normalised, weighted, concatenated and L2-normalised again, so the
//! cosine similarity of two descriptors is just their dot product.
//!
//! A 64-bit **perceptual hash** (DCT of a 32×32 luminance image, 8×8 low frequencies
//! against their median) is computed too: a Hamming distance of a few bits means "the same
//! picture", which search uses to rank exact duplicates first.
//!
//! The output is deterministic (no randomness, no threads, fixed iteration order), and every
//! stored vector carries [`DESCRIPTOR_VERSION`]: changing anything here must bump it, which
//! makes the origin re-index stored images at start.

use vitrine_common::thumbnail::pipeline::RgbPixels;

/// Bump on any change to how descriptors are computed.
pub const DESCRIPTOR_VERSION: i32 = 4;
/// Images are analysed at this longest side: enough detail for shape, cheap to scan.
pub const ANALYSIS_SIDE: u32 = 128;

const HUE_BINS: usize = 12;
const SAT_BINS: usize = 3;
const VAL_BINS: usize = 3;
const GREY_BINS: usize = 4;
const COLOUR_DIMS: usize = HUE_BINS * SAT_BINS * VAL_BINS + GREY_BINS;
const GRID: usize = 4;
const ORIENT_BINS: usize = 8;
const HOG_DIMS: usize = GRID * GRID * ORIENT_BINS;
const LAYOUT_DIMS: usize = GRID * GRID * 3;
/// Length of a descriptor.
pub const DIMS: usize = COLOUR_DIMS + HOG_DIMS + LAYOUT_DIMS;

/// Fill (see [`fill_mask`]) covering at least this share of the frame is a white backdrop
/// around the object, not the corners a small rotation uncovers (5 % of the frame at 5°,
/// 9–11 % at 10°).
const FILL_BACKDROP_AREA: f32 = 0.15;
/// Share of the border ring close to its median over which the backdrop goes from "busy"
/// (everything is foreground) to "plain" (pixels are weighted by their distance from it).
const PLAIN_SHARE: (f32, f32) = (0.6, 0.85);
/// Share of the foreground weight left outside the object's box on each side.
const BOX_TAIL: f32 = 0.02;

const COLOUR_WEIGHT: f32 = 1.0;
const HOG_WEIGHT: f32 = 0.9;
const LAYOUT_WEIGHT: f32 = 0.7;

/// A descriptor and its perceptual hash.
#[derive(Debug, Clone, PartialEq)]
pub struct Descriptor {
    pub vector: Vec<f32>,
    pub phash: u64,
}

/// Anything that turns pixels into a unit vector. The hand-made descriptor below is one; a
/// neural embedder (e.g. CLIP through candle, weights given by a setting) can be another,
/// without touching the index or the API.
pub trait Embedder: Send + Sync {
    /// A short name and version stored with every vector (e.g. `hist-hog-v1`).
    fn version(&self) -> i32;
    fn dims(&self) -> usize;
    fn embed(&self, pixels: &RgbPixels) -> Descriptor;
}

/// The CPU descriptor described in the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub struct HandcraftedEmbedder;

impl Embedder for HandcraftedEmbedder {
    fn version(&self) -> i32 {
        DESCRIPTOR_VERSION
    }
    fn dims(&self) -> usize {
        DIMS
    }
    fn embed(&self, pixels: &RgbPixels) -> Descriptor {
        describe(pixels)
    }
}

fn median(values: &mut [u8]) -> u8 {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or(255)
}

/// RGB (0..=255) → HSV with h in [0, 1), s and v in [0, 1].
fn hsv(r: f32, g: f32, b: f32) -> (f32, f32, f32) {
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let d = max - min;
    let v = max / 255.0;
    let s = if max > 0.0 { d / max } else { 0.0 };
    let h = if d <= f32::EPSILON {
        0.0
    } else if max == r {
        ((g - b) / d).rem_euclid(6.0) / 6.0
    } else if max == g {
        ((b - r) / d + 2.0) / 6.0
    } else {
        ((r - g) / d + 4.0) / 6.0
    };
    (h.rem_euclid(1.0), s, v)
}

fn srgb_to_linear(c: f32) -> f32 {
    let c = c / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// sRGB → CIE Lab (D65), scaled to roughly unit range.
fn lab(r: f32, g: f32, b: f32) -> [f32; 3] {
    let (r, g, b) = (srgb_to_linear(r), srgb_to_linear(g), srgb_to_linear(b));
    let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
    let f = |t: f32| {
        if t > 0.008856 {
            t.cbrt()
        } else {
            7.787 * t + 16.0 / 116.0
        }
    };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    [
        (116.0 * fy - 16.0) / 100.0,
        5.0 * (fx - fy),
        2.0 * (fy - fz),
    ]
}

/// Linear ("soft") assignment of `x` in [0, 1] to `bins` bins: two bins and their weights.
fn soft_bins(x: f32, bins: usize) -> [(usize, f32); 2] {
    let f = (x.clamp(0.0, 1.0) * bins as f32 - 0.5).clamp(0.0, (bins - 1) as f32);
    let lo = f.floor() as usize;
    let hi = (lo + 1).min(bins - 1);
    let frac = f - lo as f32;
    [(lo, 1.0 - frac), (hi, frac)]
}

fn sqrt_l2(part: &mut [f32]) {
    for v in part.iter_mut() {
        *v = v.max(0.0).sqrt();
    }
    l2(part);
}

fn l2(part: &mut [f32]) {
    let norm = part.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm > 1e-12 {
        for v in part.iter_mut() {
            *v /= norm;
        }
    }
}

/// Computes the descriptor of `px` (any size; typically ≤ [`ANALYSIS_SIDE`]).
pub fn describe(px: &RgbPixels) -> Descriptor {
    let fill = fill_mask(px);
    match trim_uniform_border(px, &fill) {
        Some((trimmed, fill)) => describe_frame(&trimmed, &fill),
        None => describe_frame(px, &fill),
    }
}

/// A pixel this close to white (every channel) can be fill.
const NEAR_WHITE: u8 = 235;

/// Marks the **white fill** around a photo: near-white pixels connected to the frame's edge
/// through near-white pixels (padding, the corners a rotation uncovers, a white studio
/// backdrop), grown by one pixel because downscaling blends the photo's outermost pixels
/// with the fill (a 10 % blend of black sky and white is still far from both). White
/// inside the photo (a highlight, a white label) is not connected to the edge and stays.
/// `true` = fill. Deterministic: a breadth-first flood in a fixed order.
fn fill_mask(px: &RgbPixels) -> Vec<bool> {
    let (w, h) = (px.w as usize, px.h as usize);
    let n = w * h;
    if w == 0 || h == 0 || px.buf.len() < n * 3 {
        return vec![false; n];
    }
    let white = |i: usize| px.buf[i * 3..i * 3 + 3].iter().all(|&c| c >= NEAR_WHITE);
    let mut fill = vec![false; n];
    let mut queue = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            if (x == 0 || y == 0 || x + 1 == w || y + 1 == h) && white(i) && !fill[i] {
                fill[i] = true;
                queue.push(i);
            }
        }
    }
    let mut head = 0;
    while let Some(&i) = queue.get(head) {
        head += 1;
        let (x, y) = (i % w, i / w);
        let mut visit = |j: usize| {
            if !fill[j] && white(j) {
                fill[j] = true;
                queue.push(j);
            }
        };
        if x > 0 {
            visit(i - 1);
        }
        if x + 1 < w {
            visit(i + 1);
        }
        if y > 0 {
            visit(i - w);
        }
        if y + 1 < h {
            visit(i + w);
        }
    }
    if queue.is_empty() {
        return fill;
    }
    // Grow by one pixel (8-neighbourhood): the blended seam between photo and fill.
    let mut grown = fill.clone();
    for y in 0..h {
        for x in 0..w {
            if fill[y * w + x] {
                continue;
            }
            let near = (y.saturating_sub(1)..(y + 2).min(h))
                .any(|yy| (x.saturating_sub(1)..(x + 2).min(w)).any(|xx| fill[yy * w + xx]));
            grown[y * w + x] = near;
        }
    }
    grown
}

/// The background as the frame's border ring sees it: the per-channel median of the ring's
/// pixels that are not white fill, and the share of those within `plain` of it. When fill
/// covers more than three quarters of the ring or [`FILL_BACKDROP_AREA`] of the frame, the
/// fill is the backdrop (a product on white) and the whole ring is used. Leaving the fill out otherwise keeps a rotated or
/// padded photo's background (the black sky of a night shot, a grey wall) what the
/// original's border says it is, instead of a mix of the photo and the white corners.
/// Returns (background, plain share, whether the fill is the backdrop).
fn ring_background(px: &RgbPixels, fill: &[bool], plain: f32) -> ([f32; 3], f32, bool) {
    let (w, h) = (px.w as usize, px.h as usize);
    let mut all: Vec<usize> = Vec::with_capacity(2 * (w + h));
    for y in 0..h {
        for x in 0..w {
            if x == 0 || y == 0 || x + 1 == w || y + 1 == h {
                all.push(y * w + x);
            }
        }
    }
    let solid: Vec<usize> = all
        .iter()
        .copied()
        .filter(|&i| !fill.get(i).copied().unwrap_or(false))
        .collect();
    let fill_area = fill.iter().filter(|&&f| f).count() as f32 / (w * h).max(1) as f32;
    let fill_is_backdrop = solid.len() * 4 < all.len() || fill_area >= FILL_BACKDROP_AREA;
    let ring = if fill_is_backdrop { &all } else { &solid };
    let pixel = |i: usize| match px.buf.get(i * 3..i * 3 + 3) {
        Some(p) => [f32::from(p[0]), f32::from(p[1]), f32::from(p[2])],
        None => [255.0; 3],
    };
    let mut channels: [Vec<u8>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for &i in ring {
        let p = pixel(i);
        (0..3).for_each(|c| channels[c].push(p[c] as u8));
    }
    let bg = [
        f32::from(median(&mut channels[0])),
        f32::from(median(&mut channels[1])),
        f32::from(median(&mut channels[2])),
    ];
    let close = ring
        .iter()
        .filter(|&&i| {
            let p = pixel(i);
            ((p[0] - bg[0]).powi(2) + (p[1] - bg[1]).powi(2) + (p[2] - bg[2]).powi(2)).sqrt()
                < plain
        })
        .count();
    (
        bg,
        close as f32 / ring.len().max(1) as f32,
        fill_is_backdrop,
    )
}

/// Cuts off rows and columns at the edges that are flat: white fill, or (on 98 % of their
/// pixels, within a small tolerance) the border ring's background colour. That is the
/// padding a shop or a shopper adds around a photo, the plain margin of a studio shot, and
/// the rows a small rotation fills partly with white. A padded query and its unpadded
/// original then describe the same frame, whether the photo inside is a product on a plain
/// backdrop or a busy scene. Repeated (up to three passes) until nothing more is cut, so a
/// photo with a flat margin of its own, padded with white, loses the white and then the
/// same margin as the original: trimming is idempotent. `None` when nothing (or too much:
/// more than three quarters of a side) would be cut; otherwise the frame and its fill mask.
fn trim_uniform_border(px: &RgbPixels, fill: &[bool]) -> Option<(RgbPixels, Vec<bool>)> {
    let (w0, h0) = (px.w as usize, px.h as usize);
    if w0 < 8 || h0 < 8 || px.buf.len() < w0 * h0 * 3 || fill.len() < w0 * h0 {
        return None;
    }
    let mut frame: Option<(RgbPixels, Vec<bool>)> = None;
    for _ in 0..3 {
        let (cur, cur_fill) = match &frame {
            Some((p, f)) => (p, f.as_slice()),
            None => (px, fill),
        };
        let (w, h) = (cur.w as usize, cur.h as usize);
        let (bg, _, _) = ring_background(cur, cur_fill, 30.0);
        let bg = bg.map(|c| c as i32);
        let flat = |x: usize, y: usize| {
            let i = y * w + x;
            cur_fill[i] || (0..3).all(|c| (i32::from(cur.buf[i * 3 + c]) - bg[c]).abs() <= 16)
        };
        let row_flat = |y: usize, x0: usize, x1: usize| {
            let n = (x0..x1).filter(|&x| flat(x, y)).count();
            n * 50 >= (x1 - x0) * 49
        };
        let col_flat = |x: usize, y0: usize, y1: usize| {
            let n = (y0..y1).filter(|&y| flat(x, y)).count();
            n * 50 >= (y1 - y0) * 49
        };
        let (mut top, mut bottom, mut left, mut right) = (0, h, 0, w);
        while bottom - top > h0 / 4 && row_flat(top, 0, w) {
            top += 1;
        }
        while bottom - top > h0 / 4 && row_flat(bottom - 1, 0, w) {
            bottom -= 1;
        }
        while right - left > w0 / 4 && col_flat(left, top, bottom) {
            left += 1;
        }
        while right - left > w0 / 4 && col_flat(right - 1, top, bottom) {
            right -= 1;
        }
        let (tw, th) = (right - left, bottom - top);
        // Nothing (more) to cut, or the "border" is most of the picture (a flat photo).
        if (tw == w && th == h) || tw <= w0 / 4 || th <= h0 / 4 {
            break;
        }
        let mut buf = Vec::with_capacity(tw * th * 3);
        let mut mask = Vec::with_capacity(tw * th);
        for y in top..bottom {
            let start = (y * w + left) * 3;
            buf.extend_from_slice(&cur.buf[start..start + tw * 3]);
            mask.extend_from_slice(&cur_fill[y * w + left..y * w + right]);
        }
        frame = Some((
            RgbPixels {
                w: tw as u32,
                h: th as u32,
                buf,
            },
            mask,
        ));
    }
    frame
}

fn describe_frame(px: &RgbPixels, fill: &[bool]) -> Descriptor {
    let (w, h) = (px.w.max(1) as usize, px.h.max(1) as usize);
    let n = w * h;
    let at = |x: usize, y: usize| {
        let i = (y * w + x) * 3;
        match px.buf.get(i..i + 3) {
            Some(p) => [f32::from(p[0]), f32::from(p[1]), f32::from(p[2])],
            None => [255.0; 3],
        }
    };
    let is_fill = |x: usize, y: usize| fill.get(y * w + x).copied().unwrap_or(false);

    // 1. Background from the border ring (white fill left out); foreground weight per pixel.
    // A plain backdrop (most of the border close to its median colour) is suppressed; a
    // photo whose border is busy (a scene, a full-frame shot) is all foreground. Deciding
    // this from the border without the fill keeps padding and rotation (which add white
    // around or into the corners of a photo) consistent with the original.
    let (bg, plain_share, fill_is_backdrop) = ring_background(px, fill, 30.0);
    let distance_to_bg = |p: [f32; 3]| {
        ((p[0] - bg[0]).powi(2) + (p[1] - bg[1]).powi(2) + (p[2] - bg[2]).powi(2)).sqrt()
    };
    // How much of a plain backdrop this is, from 0 (busy border) to 1 (plain), rising
    // smoothly over PLAIN_SHARE: a texture whose border is only fairly uniform (a brick
    // wall) sits in between, and a rotation or crop that moves its share a little moves the
    // descriptor a little instead of flipping every weight (version 4).
    let t = ((plain_share - PLAIN_SHARE.0) / (PLAIN_SHARE.1 - PLAIN_SHARE.0)).clamp(0.0, 1.0);
    let alpha = t * t * (3.0 - 2.0 * t);
    let mut fg = vec![0f32; n];
    let mut col_mass = vec![0f32; w];
    let mut row_mass = vec![0f32; h];
    for y in 0..h {
        for x in 0..w {
            let p = at(x, y);
            let weight = if is_fill(x, y) {
                // White fill (padding, rotation corners, a white backdrop) never says what
                // the product is.
                0.0
            } else {
                let against_bg = ((distance_to_bg(p) - 12.0) / 40.0).clamp(0.0, 1.0);
                alpha * against_bg + (1.0 - alpha)
            };
            fg[y * w + x] = weight;
            col_mass[x] += weight;
            row_mass[y] += weight;
        }
    }
    // The object's box holds the central mass of the foreground weight (BOX_TAIL cut at
    // each side), not every pixel above a threshold: a few noisy pixels far from the
    // object (sensor noise on a grey backdrop, a speck of dust) do not stretch it.
    let q = BOX_TAIL;
    let quantiles = |mass: &[f32]| -> (usize, usize) {
        let total: f32 = mass.iter().sum();
        let (mut lo, mut hi) = (0usize, mass.len().saturating_sub(1));
        let mut acc = 0.0;
        for (i, m) in mass.iter().enumerate() {
            acc += m;
            if acc > total * q {
                lo = i;
                break;
            }
        }
        acc = 0.0;
        for (i, m) in mass.iter().enumerate().rev() {
            acc += m;
            if acc > total * q {
                hi = i;
                break;
            }
        }
        (lo, hi)
    };
    let total_mass: f32 = col_mass.iter().sum();
    let ((mut x0, mut x1), (mut y0, mut y1)) = (quantiles(&col_mass), quantiles(&row_mass));
    // No clear foreground (a flat or busy photo): use the whole frame, every pixel counts.
    let foreground_found = total_mass > 4.0 && x1 > x0 + 2 && y1 > y0 + 2;
    if !foreground_found {
        (x0, y0, x1, y1) = (0, 0, w - 1, h - 1);
        fg.iter_mut().for_each(|v| *v = 1.0);
    }
    let (bw, bh) = ((x1 - x0 + 1) as f32, (y1 - y0 + 1) as f32);
    let (cx, cy) = (x0 as f32 + bw / 2.0, y0 as f32 + bh / 2.0);

    let mut colour = vec![0f32; COLOUR_DIMS];
    let mut layout = vec![0f32; LAYOUT_DIMS];
    let mut layout_w = [0f32; GRID * GRID];
    let mut hog = vec![0f32; HOG_DIMS];
    let mut luma = vec![0f32; n];
    for y in 0..h {
        for x in 0..w {
            let p = at(x, y);
            luma[y * w + x] = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
        }
    }
    let cell_of = |x: usize, y: usize| -> Option<(usize, usize, f32, f32)> {
        if x < x0 || x > x1 || y < y0 || y > y1 {
            return None;
        }
        let gx = ((x - x0) as f32 + 0.5) / bw * GRID as f32;
        let gy = ((y - y0) as f32 + 0.5) / bh * GRID as f32;
        Some((
            (gx as usize).min(GRID - 1),
            (gy as usize).min(GRID - 1),
            gx,
            gy,
        ))
    };

    for y in 0..h {
        for x in 0..w {
            let weight = fg[y * w + x];
            if weight <= 0.0 {
                continue;
            }
            let p = at(x, y);
            // 2. Colour, centre-weighted.
            let dx = (x as f32 + 0.5 - cx) / (bw * 0.6);
            let dy = (y as f32 + 0.5 - cy) / (bh * 0.6);
            let centre = (-(dx * dx + dy * dy)).exp().max(0.2);
            let cw = weight * centre;
            let (hue, sat, val) = hsv(p[0], p[1], p[2]);
            if sat < 0.2 || val < 0.12 {
                for (g, gw) in soft_bins(val, GREY_BINS) {
                    colour[HUE_BINS * SAT_BINS * VAL_BINS + g] += cw * gw;
                }
            } else {
                let s = (((sat - 0.2) / 0.8 * SAT_BINS as f32) as usize).min(SAT_BINS - 1);
                let hf = hue * HUE_BINS as f32 - 0.5;
                let h0 = hf.floor();
                let frac = hf - h0;
                let h0 = (h0 as i32).rem_euclid(HUE_BINS as i32) as usize;
                let h1 = (h0 + 1) % HUE_BINS;
                // Value is soft-binned too: a brighter or darker copy moves mass gradually.
                for (v, vw) in soft_bins(val, VAL_BINS) {
                    colour[(h0 * SAT_BINS + s) * VAL_BINS + v] += cw * (1.0 - frac) * vw;
                    colour[(h1 * SAT_BINS + s) * VAL_BINS + v] += cw * frac * vw;
                }
            }
            // 4. Colour layout.
            if let Some((gx, gy, _, _)) = cell_of(x, y) {
                let l = lab(p[0], p[1], p[2]);
                let cell = gy * GRID + gx;
                for c in 0..3 {
                    layout[cell * 3 + c] += l[c] * weight;
                }
                layout_w[cell] += weight;
            }
        }
    }
    for cell in 0..GRID * GRID {
        if layout_w[cell] > 1e-6 {
            for c in 0..3 {
                layout[cell * 3 + c] /= layout_w[cell];
            }
        } else {
            // An empty cell looks like the background.
            let l = lab(bg[0], bg[1], bg[2]);
            layout[cell * 3..cell * 3 + 3].copy_from_slice(&l);
        }
    }

    // 3. Gradient orientations over the object's box.
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let Some((_, _, gx, gy)) = cell_of(x, y) else {
                continue;
            };
            let l = |xx: usize, yy: usize| luma[yy * w + xx];
            let dx = l(x + 1, y) - l(x - 1, y);
            let dy = l(x, y + 1) - l(x, y - 1);
            // In a busy photo, edges against white fill (rotation corners) are artefacts and
            // count only as much as both sides are foreground. On a plain backdrop the
            // silhouette is the product's shape and counts fully, unless the backdrop is
            // not the white fill (a dark sky, a grey wall) and the edge is against the fill.
            let f = |xx: usize, yy: usize| fg[yy * w + xx];
            let artefact = |xx: usize, yy: usize| !fill_is_backdrop && is_fill(xx, yy);
            let plain_support = if artefact(x + 1, y)
                || artefact(x - 1, y)
                || artefact(x, y + 1)
                || artefact(x, y - 1)
            {
                0.0
            } else {
                1.0
            };
            let busy_support = f(x + 1, y)
                .min(f(x - 1, y))
                .min(f(x, y + 1))
                .min(f(x, y - 1));
            let support = alpha * plain_support + (1.0 - alpha) * busy_support;
            let mag = (dx * dx + dy * dy).sqrt() * support;
            if mag < 4.0 {
                continue;
            }
            let angle = dy.atan2(dx).rem_euclid(std::f32::consts::PI) / std::f32::consts::PI;
            let of = angle * ORIENT_BINS as f32 - 0.5;
            let o0f = of.floor();
            let ofrac = of - o0f;
            let o0 = (o0f as i32).rem_euclid(ORIENT_BINS as i32) as usize;
            let o1 = (o0 + 1) % ORIENT_BINS;
            // Bilinear over cells, so an edge near a cell boundary counts in both.
            let (fx, fy) = (gx - 0.5, gy - 0.5);
            let (cx0, cy0) = (fx.floor(), fy.floor());
            let (ax, ay) = (fx - cx0, fy - cy0);
            for (ddx, wx) in [(0i32, 1.0 - ax), (1, ax)] {
                for (ddy, wy) in [(0i32, 1.0 - ay), (1, ay)] {
                    let (ci, cj) = (cx0 as i32 + ddx, cy0 as i32 + ddy);
                    if ci < 0 || cj < 0 || ci >= GRID as i32 || cj >= GRID as i32 {
                        continue;
                    }
                    let cell = cj as usize * GRID + ci as usize;
                    let m = mag * wx * wy;
                    hog[cell * ORIENT_BINS + o0] += m * (1.0 - ofrac);
                    hog[cell * ORIENT_BINS + o1] += m * ofrac;
                }
            }
        }
    }

    // Relative lightness only: a brighter or darker copy keeps its layout.
    let mean_l = (0..GRID * GRID).map(|c| layout[c * 3]).sum::<f32>() / (GRID * GRID) as f32;
    for cell in 0..GRID * GRID {
        layout[cell * 3] -= mean_l;
    }
    sqrt_l2(&mut colour);
    sqrt_l2(&mut hog);
    l2(&mut layout);
    let mut vector = Vec::with_capacity(DIMS);
    vector.extend(colour.iter().map(|v| v * COLOUR_WEIGHT));
    vector.extend(hog.iter().map(|v| v * HOG_WEIGHT));
    vector.extend(layout.iter().map(|v| v * LAYOUT_WEIGHT));
    l2(&mut vector);
    Descriptor {
        vector,
        phash: phash(&luma, w, h),
    }
}

/// 64-bit DCT perceptual hash of a luminance image.
pub fn phash(luma: &[f32], w: usize, h: usize) -> u64 {
    const N: usize = 32;
    // Box-sample to 32×32.
    let mut small = [[0f32; N]; N];
    for (j, row) in small.iter_mut().enumerate() {
        for (i, v) in row.iter_mut().enumerate() {
            let (xa, xb) = (i * w / N, ((i + 1) * w / N).max(i * w / N + 1).min(w));
            let (ya, yb) = (j * h / N, ((j + 1) * h / N).max(j * h / N + 1).min(h));
            let mut sum = 0.0;
            let mut count = 0.0;
            for y in ya..yb {
                for x in xa..xb {
                    sum += luma.get(y * w + x).copied().unwrap_or(0.0);
                    count += 1.0;
                }
            }
            *v = if count > 0.0 { sum / count } else { 0.0 };
        }
    }
    // 2-D DCT-II, only the 8×8 lowest frequencies.
    let cos: Vec<Vec<f32>> = (0..8)
        .map(|k| {
            (0..N)
                .map(|n| (std::f32::consts::PI / N as f32 * (n as f32 + 0.5) * k as f32).cos())
                .collect()
        })
        .collect();
    let mut coeffs = [0f32; 64];
    for v in 0..8 {
        for u in 0..8 {
            let mut s = 0.0;
            for (y, row) in small.iter().enumerate() {
                let mut r = 0.0;
                for (x, value) in row.iter().enumerate() {
                    r += value * cos[u][x];
                }
                s += r * cos[v][y];
            }
            coeffs[v * 8 + u] = s;
        }
    }
    let mut ac: Vec<f32> = coeffs[1..].to_vec();
    ac.sort_by(|a, b| a.total_cmp(b));
    let median = ac[ac.len() / 2];
    let mut hash = 0u64;
    for (i, c) in coeffs.iter().enumerate().skip(1) {
        if *c > median {
            hash |= 1 << i;
        }
    }
    hash
}

/// Serialises a vector for the database (little-endian f32s).
pub fn to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The inverse of [`to_bytes`]; `None` when the length is not a whole number of f32s.
pub fn from_bytes(b: &[u8]) -> Option<Vec<f32>> {
    if !b.len().is_multiple_of(4) {
        return None;
    }
    Some(
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

impl Descriptor {
    /// The `embed` cache entry: `[version: i32 LE][phash: u64 LE][vector: f32 LE…]`. The
    /// version travels with the vector so an entry written by another embedder (an older
    /// instance during a rollout) is never used as this one's.
    pub fn to_cache_entry(&self, version: i32) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + self.vector.len() * 4);
        out.extend_from_slice(&version.to_le_bytes());
        out.extend_from_slice(&self.phash.to_le_bytes());
        out.extend_from_slice(&to_bytes(&self.vector));
        out
    }

    /// The inverse of [`Descriptor::to_cache_entry`]; `None` unless the entry has this
    /// `version` and `dims` floats.
    pub fn from_cache_entry(b: &[u8], version: i32, dims: usize) -> Option<Descriptor> {
        let v = i32::from_le_bytes(b.get(..4)?.try_into().ok()?);
        let phash = u64::from_le_bytes(b.get(4..12)?.try_into().ok()?);
        let vector = from_bytes(b.get(12..)?)?;
        (v == version && vector.len() == dims).then_some(Descriptor { vector, phash })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn white_padding_is_trimmed_before_describing() {
        // A busy picture (no plain backdrop), then the same with a white margin.
        let (w, h) = (64u32, 48u32);
        let busy: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                [
                    (x * 7 + y * 3) as u8 % 200,
                    (x * y) as u8 % 180,
                    (x + y * 11) as u8 % 220,
                ]
            })
            .collect();
        let original = RgbPixels {
            w,
            h,
            buf: busy.clone(),
        };
        let pad = 20u32;
        let (pw, ph) = (w + 2 * pad, h + 2 * pad);
        let mut padded = vec![255u8; (pw * ph * 3) as usize];
        for y in 0..h {
            let src = (y * w * 3) as usize;
            let dst = (((y + pad) * pw + pad) * 3) as usize;
            padded[dst..dst + (w * 3) as usize].copy_from_slice(&busy[src..src + (w * 3) as usize]);
        }
        let padded = RgbPixels {
            w: pw,
            h: ph,
            buf: padded,
        };
        // The padding goes, and with it the one-pixel seam that downscaling would blend.
        let (trimmed, fill) = trim_uniform_border(&padded, &fill_mask(&padded)).unwrap();
        assert_eq!((trimmed.w, trimmed.h), (w - 2, h - 2));
        assert!(fill.iter().all(|f| !f));
        let inner: Vec<u8> = (1..h - 1)
            .flat_map(|y| {
                let start = ((y * w + 1) * 3) as usize;
                busy[start..start + ((w - 2) * 3) as usize].to_vec()
            })
            .collect();
        assert_eq!(trimmed.buf, inner);
        assert!(trim_uniform_border(&original, &fill_mask(&original)).is_none());
        let same = dot(&describe(&padded).vector, &describe(&original).vector);
        assert!(same > 0.97, "{same}");
    }

    /// A photo of a dark scene (a night sky: small bright stars, one coloured nebula) of
    /// `size`², with the stars and the nebula placed by `seed`.
    fn night_sky(size: u32, seed: u32) -> RgbPixels {
        let f = size as f32;
        let (bx, by, colour) = if seed % 2 == 1 {
            (0.6, 0.4, [200, 120, 60])
        } else {
            (0.3, 0.7, [70, 110, 210])
        };
        let mut buf = Vec::with_capacity((size * size * 3) as usize);
        for y in 0..size {
            for x in 0..size {
                let h = (x / 4).wrapping_mul(73_856_093) ^ (y / 4).wrapping_mul(19_349_663) ^ seed;
                let h = h.wrapping_mul(2_654_435_761) >> 24;
                let (dx, dy) = (x as f32 - f * bx, y as f32 - f * by);
                let p = if (dx * dx + dy * dy).sqrt() < f * 0.14 {
                    colour
                } else if h < 10 {
                    [230, 230, 200]
                } else {
                    [14 + (h % 6) as u8, 15, 20]
                };
                buf.extend_from_slice(&p);
            }
        }
        RgbPixels {
            w: size,
            h: size,
            buf,
        }
    }

    /// Halves both sides (2×2 box filter): the analysis downscale.
    fn halve(px: &RgbPixels) -> RgbPixels {
        let (w, h) = (px.w as usize / 2, px.h as usize / 2);
        let mut buf = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                for k in 0..3 {
                    let p =
                        |xx: usize, yy: usize| u32::from(px.buf[(yy * px.w as usize + xx) * 3 + k]);
                    let sum = p(2 * x, 2 * y)
                        + p(2 * x + 1, 2 * y)
                        + p(2 * x, 2 * y + 1)
                        + p(2 * x + 1, 2 * y + 1);
                    buf.push(((sum + 2) / 4) as u8);
                }
            }
        }
        RgbPixels {
            w: w as u32,
            h: h as u32,
            buf,
        }
    }

    /// Rotates about the centre by `degrees` (bilinear), white where the source is outside:
    /// what a shopper's slightly tilted copy looks like.
    fn rotate(px: &RgbPixels, degrees: f32) -> RgbPixels {
        let (w, h) = (px.w as usize, px.h as usize);
        let (s, c) = degrees.to_radians().sin_cos();
        let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
        let mut buf = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
                let (sx, sy) = (c * dx + s * dy + cx - 0.5, -s * dx + c * dy + cy - 0.5);
                if sx < 0.0 || sy < 0.0 || sx >= (w - 1) as f32 || sy >= (h - 1) as f32 {
                    buf.extend_from_slice(&[255, 255, 255]);
                    continue;
                }
                let (x0, y0) = (sx as usize, sy as usize);
                let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
                for k in 0..3 {
                    let p = |xx: usize, yy: usize| f32::from(px.buf[(yy * w + xx) * 3 + k]);
                    let top = p(x0, y0) * (1.0 - fx) + p(x0 + 1, y0) * fx;
                    let bottom = p(x0, y0 + 1) * (1.0 - fx) + p(x0 + 1, y0 + 1) * fx;
                    buf.push((top * (1.0 - fy) + bottom * fy).round() as u8);
                }
            }
        }
        RgbPixels {
            w: px.w,
            h: px.h,
            buf,
        }
    }

    #[test]
    fn white_rotation_corners_do_not_change_a_dark_backdrop() {
        // About half of the border ring of a 5° rotation is white: the background must still
        // be the dark sky, so the stars stay the foreground and the corners count for nothing.
        let big = night_sky(192, 1);
        let (sky, tilted) = (halve(&big), halve(&rotate(&big, 5.0)));
        let fill = fill_mask(&tilted);
        let (bg, _, fill_is_backdrop) = ring_background(&tilted, &fill, 30.0);
        assert!(!fill_is_backdrop);
        assert!(bg.iter().all(|&c| c < 40.0), "{bg:?}");
        let original = describe(&sky).vector;
        let same = dot(&original, &describe(&tilted).vector);
        let other = dot(&original, &describe(&halve(&night_sky(192, 2))).vector);
        assert!(same > 0.8, "{same} (other {other})");
        assert!(same > other + 0.2, "{same} vs {other}");
    }

    #[test]
    fn padding_a_photo_with_a_flat_margin_of_its_own_trims_both() {
        // A bright disc off-centre on a flat grey backdrop; padded with white, the white goes
        // first and then the same grey margin as the original's (trimming is idempotent).
        let size = 96u32;
        let grey: Vec<u8> = (0..size * size)
            .flat_map(|i| {
                let (x, y) = (i % size, i / size);
                let (dx, dy) = (x as f32 - 60.0, y as f32 - 54.0);
                let v = if (dx * dx + dy * dy).sqrt() < 20.0 {
                    220
                } else {
                    60 + ((x * 7 + y * 13) % 9) as u8
                };
                [v, v, v]
            })
            .collect();
        let original = RgbPixels {
            w: size,
            h: size,
            buf: grey.clone(),
        };
        let pad = 24u32;
        let side = size + 2 * pad;
        let mut padded = vec![255u8; (side * side * 3) as usize];
        for y in 0..size {
            let src = (y * size * 3) as usize;
            let dst = (((y + pad) * side + pad) * 3) as usize;
            padded[dst..dst + (size * 3) as usize]
                .copy_from_slice(&grey[src..src + (size * 3) as usize]);
        }
        let padded = RgbPixels {
            w: side,
            h: side,
            buf: padded,
        };
        let (a, _) = trim_uniform_border(&original, &fill_mask(&original)).unwrap();
        let (b, _) = trim_uniform_border(&padded, &fill_mask(&padded)).unwrap();
        assert!(
            a.w.abs_diff(b.w) <= 2 && a.h.abs_diff(b.h) <= 2,
            "{}x{} vs {}x{}",
            a.w,
            a.h,
            b.w,
            b.h
        );
        let same = dot(&describe(&original).vector, &describe(&padded).vector);
        assert!(same > 0.97, "{same}");
    }

    #[test]
    fn cache_entry_round_trip_checks_version_and_dims() {
        let d = Descriptor {
            vector: vec![0.5, -0.25, 1.0],
            phash: 0xdead_beef_0123_4567,
        };
        let e = d.to_cache_entry(7);
        assert_eq!(Descriptor::from_cache_entry(&e, 7, 3), Some(d));
        assert_eq!(Descriptor::from_cache_entry(&e, 8, 3), None);
        assert_eq!(Descriptor::from_cache_entry(&e, 7, 4), None);
        assert_eq!(Descriptor::from_cache_entry(&e[..10], 7, 3), None);
    }

    fn solid_with_square(bg: [u8; 3], fgc: [u8; 3], size: u32, sq: (u32, u32, u32)) -> RgbPixels {
        let mut buf = Vec::new();
        for y in 0..size {
            for x in 0..size {
                let inside = x >= sq.0 && x < sq.0 + sq.2 && y >= sq.1 && y < sq.1 + sq.2;
                buf.extend_from_slice(if inside { &fgc } else { &bg });
            }
        }
        RgbPixels {
            w: size,
            h: size,
            buf,
        }
    }

    fn dot(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn unit_length_fixed_size_and_deterministic() {
        let px = solid_with_square([255, 255, 255], [200, 30, 30], 64, (16, 16, 32));
        let a = describe(&px);
        let b = describe(&px);
        assert_eq!(a.vector.len(), DIMS);
        assert_eq!(
            a.vector.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            b.vector.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        assert_eq!(a.phash, b.phash);
        assert!((dot(&a.vector, &a.vector) - 1.0).abs() < 1e-4);
    }

    #[test]
    fn padding_and_position_matter_little_colour_matters_a_lot() {
        let red = describe(&solid_with_square(
            [255, 255, 255],
            [200, 30, 30],
            64,
            (16, 16, 32),
        ));
        let red_moved = describe(&solid_with_square(
            [255, 255, 255],
            [200, 30, 30],
            96,
            (10, 40, 32),
        ));
        let blue = describe(&solid_with_square(
            [255, 255, 255],
            [30, 30, 200],
            64,
            (16, 16, 32),
        ));
        let same = dot(&red.vector, &red_moved.vector);
        let other = dot(&red.vector, &blue.vector);
        assert!(same > 0.95, "{same}");
        assert!(other < same - 0.2, "{other} vs {same}");
    }

    #[test]
    fn bytes_round_trip() {
        let v = vec![0.5f32, -1.25, 3.0];
        assert_eq!(from_bytes(&to_bytes(&v)).unwrap(), v);
        assert!(from_bytes(&[1, 2, 3]).is_none());
    }
}
