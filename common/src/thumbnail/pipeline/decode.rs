//! Steps 4–5: decoding (libjpeg-turbo shrink-on-load with `native-codecs`, the `image` crate
//! otherwise) to 8-bit pixels, then to sRGB through the embedded ICC profile.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder};

#[cfg(feature = "native-codecs")]
use super::native;
use super::{PipelineError, Pixels, map_image_error};
use crate::thumbnail::sniff::{Header, SourceFormat};

/// Decodes at least `need` (stored-frame) pixels. Returns the orientation when the decoder
/// found one the header walk could not (EXIF inside PNG/WebP).
pub(super) fn decode(
    bytes: &[u8],
    header: &Header,
    need: (u32, u32),
) -> Result<(Pixels, Option<Orientation>), PipelineError> {
    #[cfg(feature = "native-codecs")]
    if header.format == SourceFormat::Jpeg
        && !header.cmyk
        && let Some(mut px) = native::decode_jpeg(bytes, header, need)?
    {
        if let Some(icc) = crate::thumbnail::sniff::jpeg_icc_profile(bytes) {
            to_srgb(&mut px, &icc);
        }
        return Ok((px, None));
    }
    let _ = need;
    decode_pure(bytes, header)
}

/// Converts pixels tagged with the RGB ICC profile `icc` to sRGB in place. Unparseable, non-RGB
/// and sRGB profiles leave the pixels as they are (the decoders' output is then taken as sRGB,
/// which is what browsers do with untagged images).
fn to_srgb(px: &mut Pixels, icc: &[u8]) {
    use moxcms::{ColorProfile, DataColorSpace, Layout, TransformOptions};
    if icc.windows(4).any(|w| w == b"sRGB") {
        return;
    }
    let Ok(profile) = ColorProfile::new_from_slice(icc) else {
        return;
    };
    if profile.color_space != DataColorSpace::Rgb {
        return;
    }
    let layout = if px.alpha { Layout::Rgba } else { Layout::Rgb };
    let Ok(transform) = profile.create_transform_8bit(
        layout,
        &ColorProfile::new_srgb(),
        layout,
        TransformOptions::default(),
    ) else {
        return;
    };
    let mut out = vec![0u8; px.buf.len()];
    if transform.transform(&px.buf, &mut out).is_ok() {
        px.buf = out;
    }
}

fn decode_pure(
    bytes: &[u8],
    header: &Header,
) -> Result<(Pixels, Option<Orientation>), PipelineError> {
    let format = match header.format {
        SourceFormat::Jpeg => image::ImageFormat::Jpeg,
        SourceFormat::Png => image::ImageFormat::Png,
        SourceFormat::Gif => image::ImageFormat::Gif,
        SourceFormat::Webp => image::ImageFormat::WebP,
    };
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    // Defence in depth: the header walk already bounded the size, but decoders that find a
    // different size than the header walk did must not allocate past it either.
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(header.width);
    limits.max_image_height = Some(header.height);
    limits.max_alloc = Some(u64::from(header.width) * u64::from(header.height) * 8 + (1 << 20));
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(map_image_error)?;
    let orientation = decoder.orientation().ok();
    let icc = decoder.icc_profile().ok().flatten();
    let image = DynamicImage::from_decoder(decoder).map_err(map_image_error)?;
    let (w, h) = (image.width(), image.height());
    let alpha = image.color().has_alpha();
    let buf = if alpha {
        image.into_rgba8().into_raw()
    } else {
        image.into_rgb8().into_raw()
    };
    let orientation = match orientation {
        Some(Orientation::NoTransforms) | None => None,
        other => other,
    };
    let mut px = Pixels { buf, w, h, alpha };
    if let Some(icc) = icc
        && !header.cmyk
    {
        to_srgb(&mut px, &icc);
    }
    Ok((px, orientation))
}
