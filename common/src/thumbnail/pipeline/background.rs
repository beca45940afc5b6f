//! Step 10: `background` — alpha flattened onto the requested colour.
//!
//! Without `bg`, PNG and WebP keep their alpha and JPEG is flattened onto white by the encoder.

use super::Pixels;

/// `px` composited over the opaque `rgb` (a no-op without alpha).
pub(super) fn flatten_onto(px: Pixels, rgb: [u8; 3]) -> Pixels {
    if !px.alpha {
        return px;
    }
    let mut buf = Vec::with_capacity(px.buf.len() / 4 * 3);
    for p in px.buf.chunks_exact(4) {
        let a = u32::from(p[3]);
        for (&c, &b) in p[..3].iter().zip(&rgb) {
            buf.push(((u32::from(c) * a + u32::from(b) * (255 - a) + 127) / 255) as u8);
        }
    }
    Pixels {
        buf,
        w: px.w,
        h: px.h,
        alpha: false,
    }
}
