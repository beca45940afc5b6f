//! Parts 1–4 on a trimmed frame: foreground weights, the object's box, the colour histogram,
//! the gradient-orientation grid and the colour layout, combined into one unit vector.

use vitrine_common::thumbnail::pipeline::RgbPixels;

use super::fill::ring_background;
use super::maths::{hsv, l2, lab, soft_bins, sqrt_l2};
use super::phash::phash;
use super::{
    BOX_TAIL, COLOUR_DIMS, COLOUR_WEIGHT, DIMS, Descriptor, GREY_BINS, GRID, HOG_DIMS, HOG_WEIGHT,
    HUE_BINS, LAYOUT_DIMS, LAYOUT_WEIGHT, ORIENT_BINS, PLAIN_SHARE, SAT_BINS, VAL_BINS,
};

pub(super) fn describe_frame(px: &RgbPixels, fill: &[bool]) -> Descriptor {
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
