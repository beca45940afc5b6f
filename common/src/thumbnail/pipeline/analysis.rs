//! Analysis input: decoded, oriented, downscaled RGB pixels (for visual descriptors), and the
//! encode step alone for benchmarks.

use fast_image_resize as fr;

use super::{
    Limits, PipelineError, Pixels, checked_header, decode, encode, flatten, orient, oriented,
    resize, swaps_axes,
};
use crate::thumbnail::spec::OutputFormat;

/// Decoded RGB8 pixels, row-major, `w * h * 3` bytes, alpha composited over white.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbPixels {
    pub w: u32,
    pub h: u32,
    pub buf: Vec<u8>,
}

/// Decodes `bytes` through the same steps as a thumbnail (sniff, header limits, shrink-on-load
/// decode, sRGB, orientation) and scales it to fit inside `max_side` × `max_side` (never
/// enlarging). Used by image search, which needs pixels, not an encoded file.
pub fn decode_rgb(
    bytes: &[u8],
    max_side: u32,
    limits: &Limits,
) -> Result<RgbPixels, PipelineError> {
    let header = checked_header(bytes, limits)?;
    let swap = swaps_axes(header.orientation);
    let (ow, oh) = oriented(header.width, header.height, header.orientation);
    let side = max_side.max(1);
    let (tw, th) = if ow <= side && oh <= side {
        (ow, oh)
    } else if ow >= oh {
        (
            side,
            ((u64::from(oh) * u64::from(side) + u64::from(ow) / 2) / u64::from(ow)).max(1) as u32,
        )
    } else {
        (
            ((u64::from(ow) * u64::from(side) + u64::from(oh) / 2) / u64::from(oh)).max(1) as u32,
            side,
        )
    };
    let (sw, sh) = if swap { (th, tw) } else { (tw, th) };
    let (source, decoded_orientation) = decode(bytes, &header, (sw, sh))?;
    let orientation = decoded_orientation.unwrap_or(header.orientation);
    let mut resizer = fr::Resizer::new();
    let resized = resize(&mut resizer, &source, sw, sh, None)?;
    let oriented_px = orient(&resized, orientation);
    Ok(RgbPixels {
        w: oriented_px.w,
        h: oriented_px.h,
        buf: flatten(&oriented_px),
    })
}

/// Encodes RGB pixels (from [`decode_rgb`]) as `format` with the pipeline's encoders and
/// settings: the encode step alone. The thumbnail benchmark times it to bound what any
/// pipeline on the same encoders could reach.
pub fn encode_rgb(
    px: &RgbPixels,
    format: OutputFormat,
    quality: u8,
) -> Result<Vec<u8>, PipelineError> {
    let expected = u64::from(px.w) * u64::from(px.h) * 3;
    if px.w == 0 || px.h == 0 || px.buf.len() as u64 != expected {
        return Err(PipelineError::EncodeFailed(format!(
            "{} bytes are not {}×{} RGB pixels",
            px.buf.len(),
            px.w,
            px.h
        )));
    }
    let pixels = Pixels {
        buf: px.buf.clone(),
        w: px.w,
        h: px.h,
        alpha: false,
    };
    encode(&pixels, format, quality)
}
