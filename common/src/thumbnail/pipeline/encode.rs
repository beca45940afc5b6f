//! Step 8: encoding as JPEG, WebP or PNG (alpha flattened onto white for JPEG).

use image::ImageError;

#[cfg(feature = "native-codecs")]
use super::native;
use super::{PipelineError, Pixels};
use crate::thumbnail::spec::OutputFormat;

/// Composites RGBA over white (for JPEG).
pub(super) fn flatten(px: &Pixels) -> Vec<u8> {
    if !px.alpha {
        return px.buf.clone();
    }
    let mut out = Vec::with_capacity(px.buf.len() / 4 * 3);
    for p in px.buf.chunks_exact(4) {
        let a = u32::from(p[3]);
        for &c in &p[..3] {
            out.push(((u32::from(c) * a + 255 * (255 - a) + 127) / 255) as u8);
        }
    }
    out
}

pub(super) fn encode(
    px: &Pixels,
    format: OutputFormat,
    quality: u8,
) -> Result<Vec<u8>, PipelineError> {
    let fail = |e: ImageError| PipelineError::EncodeFailed(e.to_string());
    let color = if px.alpha {
        image::ExtendedColorType::Rgba8
    } else {
        image::ExtendedColorType::Rgb8
    };
    let mut out = Vec::new();
    match format {
        OutputFormat::Jpeg => {
            let rgb = flatten(px);
            #[cfg(feature = "native-codecs")]
            {
                return native::encode_jpeg(&rgb, px.w, px.h, quality);
            }
            #[allow(unreachable_code)]
            {
                image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
                    .encode(&rgb, px.w, px.h, image::ExtendedColorType::Rgb8)
                    .map_err(fail)?;
            }
        }
        OutputFormat::Webp => {
            #[cfg(feature = "native-codecs")]
            {
                return native::encode_webp(px, quality);
            }
            #[allow(unreachable_code)]
            {
                use image::ImageEncoder as _;
                image::codecs::webp::WebPEncoder::new_lossless(&mut out)
                    .write_image(&px.buf, px.w, px.h, color)
                    .map_err(fail)?;
            }
        }
        OutputFormat::Png => {
            use image::ImageEncoder as _;
            image::codecs::png::PngEncoder::new_with_quality(
                &mut out,
                image::codecs::png::CompressionType::Default,
                image::codecs::png::FilterType::Adaptive,
            )
            .write_image(&px.buf, px.w, px.h, color)
            .map_err(fail)?;
        }
        OutputFormat::Avif => return Err(PipelineError::UnsupportedOutput(format)),
    }
    Ok(out)
}
