//! The placeholder step: the decoded source (the one decode the thumbnails of an ingest
//! share) scaled to fit in 100 × 100, oriented, and handed to [`crate::placeholder`] for its
//! ThumbHash and dominant colour.

use fast_image_resize as fr;
use image::metadata::Orientation;

use super::{PipelineError, Pixels, orient, resize};
use crate::placeholder::{MAX_SIDE, Placeholder, fit_within};

/// The size the decoder must leave for the placeholder, in the stored frame of a
/// `w × h` source: the smallest decode that still holds a full [`MAX_SIDE`] rendition.
pub(super) fn placeholder_need(w: u32, h: u32) -> (u32, u32) {
    fit_within(w, h, MAX_SIDE)
}

pub(super) fn placeholder_of(
    resizer: &mut fr::Resizer,
    source: &Pixels,
    orientation: Orientation,
) -> Result<Placeholder, PipelineError> {
    let (w, h) = fit_within(source.w, source.h, MAX_SIDE);
    let small = orient(&resize(resizer, source, w, h, None)?, orientation);
    let rgba = if small.alpha {
        small.buf
    } else {
        let mut out = Vec::with_capacity(small.buf.len() / 3 * 4);
        for px in small.buf.chunks_exact(3) {
            out.extend_from_slice(&[px[0], px[1], px[2], 255]);
        }
        out
    };
    Placeholder::from_rgba(small.w, small.h, &rgba)
        .map_err(|e| PipelineError::EncodeFailed(format!("placeholder: {e}")))
}
