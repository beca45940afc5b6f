//! The native fast path: libjpeg-turbo (decode with DCT scaling, encode) and libwebp.

use super::{PipelineError, Pixels};
use crate::thumbnail::sniff::Header;

/// Decodes a (non-CMYK) JPEG with the smallest DCT scale that leaves ≥ 2× `need` for the
/// resampler. `Ok(None)` means "let the pure decoder try" (e.g. a colour space libjpeg-turbo
/// cannot convert).
pub(super) fn decode_jpeg(
    bytes: &[u8],
    header: &Header,
    need: (u32, u32),
) -> Result<Option<Pixels>, PipelineError> {
    let mut d =
        turbojpeg::Decompressor::new().map_err(|e| PipelineError::Corrupt(e.to_string()))?;
    let Ok(h) = d.read_header(bytes) else {
        return Ok(None);
    };
    if matches!(
        h.colorspace,
        turbojpeg::Colorspace::CMYK | turbojpeg::Colorspace::YCCK
    ) || h.width != header.width as usize
        || h.height != header.height as usize
    {
        return Ok(None);
    }
    let mut factor = turbojpeg::ScalingFactor::ONE;
    // From the smallest scale up: the first that keeps 2× the needed size.
    let mut factors: Vec<_> = turbojpeg::Decompressor::supported_scaling_factors()
        .into_iter()
        .filter(|f| f.num() <= f.denom() && f.denom() <= 8)
        .collect();
    factors.sort_by(|a, b| (a.num() * b.denom()).cmp(&(b.num() * a.denom())));
    for f in factors {
        if f.scale(h.width) >= 2 * need.0 as usize && f.scale(h.height) >= 2 * need.1 as usize {
            factor = f;
            break;
        }
    }
    d.set_scaling_factor(factor)
        .map_err(|e| PipelineError::Corrupt(e.to_string()))?;
    let scaled = h.scaled(factor);
    let (w, hh) = (scaled.width, scaled.height);
    let mut buf = vec![0u8; w * hh * 3];
    let image = turbojpeg::Image {
        pixels: buf.as_mut_slice(),
        width: w,
        pitch: w * 3,
        height: hh,
        format: turbojpeg::PixelFormat::RGB,
    };
    if let Err(e) = d.decompress(bytes, image) {
        let msg = e.to_string();
        return Err(if msg.to_ascii_lowercase().contains("premature end") {
            PipelineError::Truncated
        } else {
            PipelineError::Corrupt(msg)
        });
    }
    Ok(Some(Pixels {
        buf,
        w: w as u32,
        h: hh as u32,
        alpha: false,
    }))
}

pub(super) fn encode_jpeg(
    rgb: &[u8],
    w: u32,
    h: u32,
    quality: u8,
) -> Result<Vec<u8>, PipelineError> {
    let fail = |e: turbojpeg::Error| PipelineError::EncodeFailed(e.to_string());
    let mut c = turbojpeg::Compressor::new().map_err(fail)?;
    c.set_quality(i32::from(quality)).map_err(fail)?;
    c.set_subsamp(turbojpeg::Subsamp::Sub2x2).map_err(fail)?;
    c.set_optimize(true).map_err(fail)?;
    c.set_progressive(u64::from(w) * u64::from(h) >= 256 * 256)
        .map_err(fail)?;
    let image = turbojpeg::Image {
        pixels: rgb,
        width: w as usize,
        pitch: w as usize * 3,
        height: h as usize,
        format: turbojpeg::PixelFormat::RGB,
    };
    c.compress_to_vec(image).map_err(fail)
}

/// Lossy WebP through libwebp. Not `Encoder::encode`, which panics when libwebp refuses
/// (a side over 16,383 px, memory): that becomes an `EncodeFailed` answer instead.
pub(super) fn encode_webp(px: &Pixels, quality: u8) -> Result<Vec<u8>, PipelineError> {
    let encoder = if px.alpha {
        webp::Encoder::from_rgba(&px.buf, px.w, px.h)
    } else {
        webp::Encoder::from_rgb(&px.buf, px.w, px.h)
    };
    encoder
        .encode_simple(false, f32::from(quality))
        .map(|m| m.to_vec())
        .map_err(|e| PipelineError::EncodeFailed(format!("libwebp: {e:?}")))
}
