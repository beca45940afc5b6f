//! Step 6: `trim` — removes a uniform border before resizing.
//!
//! The border colour is the top-left pixel's; rows and columns are removed from each edge while
//! every channel (alpha included) of every pixel is within the threshold of it. An image that is
//! all border is kept whole (there is nothing to keep otherwise). Trimming is symmetric, so it
//! is done in the stored orientation.

use super::Pixels;

pub(super) fn trim(px: &Pixels, threshold: u8) -> Pixels {
    let ch = if px.alpha { 4 } else { 3 };
    let (w, h) = (px.w as usize, px.h as usize);
    if w == 0 || h == 0 || px.buf.len() < w * h * ch {
        return px.clone();
    }
    let border = &px.buf[..ch];
    let t = i16::from(threshold);
    let is_border = |x: usize, y: usize| {
        let i = (y * w + x) * ch;
        px.buf[i..i + ch]
            .iter()
            .zip(border)
            .all(|(&a, &b)| (i16::from(a) - i16::from(b)).abs() <= t)
    };
    let row_is_border = |y: usize, x0: usize, x1: usize| (x0..x1).all(|x| is_border(x, y));
    let col_is_border = |x: usize, y0: usize, y1: usize| (y0..y1).all(|y| is_border(x, y));

    let mut top = 0;
    while top < h && row_is_border(top, 0, w) {
        top += 1;
    }
    if top == h {
        return px.clone();
    }
    let mut bottom = h;
    while bottom > top + 1 && row_is_border(bottom - 1, 0, w) {
        bottom -= 1;
    }
    let mut left = 0;
    while left < w && col_is_border(left, top, bottom) {
        left += 1;
    }
    let mut right = w;
    while right > left + 1 && col_is_border(right - 1, top, bottom) {
        right -= 1;
    }
    if (left, top, right, bottom) == (0, 0, w, h) {
        return px.clone();
    }
    let mut buf = Vec::with_capacity((right - left) * (bottom - top) * ch);
    for y in top..bottom {
        buf.extend_from_slice(&px.buf[(y * w + left) * ch..(y * w + right) * ch]);
    }
    Pixels {
        buf,
        w: (right - left) as u32,
        h: (bottom - top) as u32,
        alpha: px.alpha,
    }
}
