//! Steps 1–3: the size check, sniffing the format, and the header's limits, before any
//! decoder allocates.

use image::metadata::Orientation;

use super::{Limits, PipelineError};
use crate::thumbnail::sniff::{self, Header};

pub(super) fn checked_header(bytes: &[u8], limits: &Limits) -> Result<Header, PipelineError> {
    if bytes.is_empty() {
        return Err(PipelineError::EmptyInput);
    }
    if bytes.len() > limits.max_bytes {
        return Err(PipelineError::TooManyBytes {
            len: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let format = sniff::sniff(bytes)?;
    let header = sniff::read_header(bytes, format, limits.max_frames)?;
    let (w, h) = (header.width, header.height);
    if w > limits.max_side || h > limits.max_side {
        return Err(PipelineError::TooLarge {
            width: w,
            height: h,
            limit: format!("{} px per side", limits.max_side),
        });
    }
    if u64::from(w) * u64::from(h) > limits.max_pixels {
        return Err(PipelineError::TooLarge {
            width: w,
            height: h,
            limit: format!("{} pixels", limits.max_pixels),
        });
    }
    if header.frames > limits.max_frames {
        return Err(PipelineError::TooManyFrames {
            limit: limits.max_frames,
        });
    }
    Ok(header)
}

pub(super) fn swaps_axes(o: Orientation) -> bool {
    matches!(
        o,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

pub(super) fn oriented(w: u32, h: u32, o: Orientation) -> (u32, u32) {
    if swaps_axes(o) { (h, w) } else { (w, h) }
}
