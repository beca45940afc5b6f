//! Step 9: `pad` — a border around the oriented image, in the background colour.

use super::Pixels;

/// `px` inside `[top, right, bottom, left]` pixels of `colour` (RGBA; the alpha byte is used
/// only when `px` has alpha).
pub(super) fn pad(px: &Pixels, sides: [u32; 4], colour: [u8; 4]) -> Pixels {
    let [top, right, bottom, left] = sides;
    if sides == [0; 4] {
        return px.clone();
    }
    let ch = if px.alpha { 4 } else { 3 };
    let (w, h) = (px.w + left + right, px.h + top + bottom);
    let mut buf = Vec::with_capacity(w as usize * h as usize * ch);
    let fill = |buf: &mut Vec<u8>, n: u32| {
        for _ in 0..n {
            buf.extend_from_slice(&colour[..ch]);
        }
    };
    fill(&mut buf, w * top);
    let row = px.w as usize * ch;
    for y in 0..px.h as usize {
        fill(&mut buf, left);
        buf.extend_from_slice(&px.buf[y * row..(y + 1) * row]);
        fill(&mut buf, right);
    }
    fill(&mut buf, w * bottom);
    Pixels {
        buf,
        w,
        h,
        alpha: px.alpha,
    }
}
