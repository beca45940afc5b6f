//! Part 0 and the backdrop of part 1: the white fill around a photo, the background colour
//! from the border ring, and trimming flat borders.

use vitrine_common::thumbnail::pipeline::RgbPixels;

use super::FILL_BACKDROP_AREA;
use super::maths::median;

/// A pixel this close to white (every channel) can be fill.
pub(super) const NEAR_WHITE: u8 = 235;

/// Marks the **white fill** around a photo: near-white pixels connected to the frame's edge
/// through near-white pixels (padding, the corners a rotation uncovers, a white studio
/// backdrop), grown by one pixel because downscaling blends the photo's outermost pixels
/// with the fill (a 10 % blend of black sky and white is still far from both). White
/// inside the photo (a highlight, a white label) is not connected to the edge and stays.
/// `true` = fill. Deterministic: a breadth-first flood in a fixed order.
pub(super) fn fill_mask(px: &RgbPixels) -> Vec<bool> {
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
pub(super) fn ring_background(px: &RgbPixels, fill: &[bool], plain: f32) -> ([f32; 3], f32, bool) {
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
pub(super) fn trim_uniform_border(px: &RgbPixels, fill: &[bool]) -> Option<(RgbPixels, Vec<bool>)> {
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
