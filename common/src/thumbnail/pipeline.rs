//! The image pipeline: bytes in, thumbnail bytes out, as one ordered list of steps.
//!
//! 1. **size check** — empty input and inputs over `Limits::max_bytes` are refused first;
//! 2. **sniff** the format from the magic bytes (JPEG, PNG, GIF, WebP; AVIF/HEIF, SVG, TIFF, BMP
//!    and PDF are recognised only to be refused by name; anything else is unknown);
//! 3. **header limits** — width, height, pixel count and animation frames read from the container
//!    headers ([`super::sniff`]) are checked *before* a decoder allocates anything;
//! 4. **decode** — with the `native-codecs` feature, JPEG goes through libjpeg-turbo with
//!    DCT-domain shrink-on-load (the smallest of its M/8 scales that still leaves ≥ 2× the final
//!    size for the resampler, as libvips does); everything else, and every JPEG in the pure build
//!    (wasm32), through the `image` crate (zune-jpeg, png, gif, image-webp). Animated inputs use
//!    their first frame. CMYK/YCCK JPEGs always take the pure path: libjpeg-turbo cannot convert
//!    them, zune-jpeg does (Adobe-inverted CMYK included);
//! 5. **to 8-bit sRGB** — 16-bit and greyscale inputs become 8-bit RGB(A); alpha is kept; an
//!    embedded RGB ICC profile (Display P3, Adobe RGB, camera profiles…) is converted to sRGB
//!    with moxcms (pure Rust, so the edge does the same). Profiles that name themselves sRGB are
//!    skipped as a no-op; CMYK profiles are not applied (zune-jpeg's conversion is used) — a
//!    known approximation for print-profiled CMYK files;
//! 6. **resize** with fast_image_resize (SIMD, Lanczos3 convolution), honouring the fit; `cover`
//!    crops the centre of the source to the box's aspect ratio in the same pass. Resizing is done
//!    in the stored orientation (on the swapped box for 90° orientations) because it is cheaper
//!    to rotate the small result than the large source;
//! 7. **orient** — EXIF orientation 1–8 applied to the resized pixels;
//! 8. **encode** — JPEG (libjpeg-turbo, optimised Huffman tables, progressive above 256×256; or
//!    the `image` crate's encoder in the pure build; alpha flattened onto white), WebP (lossy
//!    libwebp with `native-codecs`; **lossless** `image-webp` in the pure build, which cannot
//!    encode lossy), PNG (`image`'s encoder). AVIF has no encoder here:
//!    [`encoder_available`] says so, and `process` refuses it with `UnsupportedOutput`.
//!
//! No metadata is copied to the output (no EXIF, XMP or ICC): the pixels are already oriented and
//! in sRGB. The output is deterministic: same bytes and spec, same output bytes (no clock, no
//! randomness, single-threaded codecs).

use std::io::Cursor;

use fast_image_resize as fr;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, RgbImage, RgbaImage};

use super::sniff::{self, Header, SourceFormat};
use super::spec::{OutputFormat, OutputSize, ThumbSpec};

/// Bounds on what a source may be, checked from its header before decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted input, in bytes.
    pub max_bytes: usize,
    /// Largest accepted width × height (of the canvas or any frame).
    pub max_pixels: u64,
    /// Largest accepted width or height.
    pub max_side: u32,
    /// Most animation frames accepted (only the first is used, but walking thousands of frames
    /// is itself a cost and a sign of abuse).
    pub max_frames: u32,
}

impl Default for Limits {
    /// 50 MiB, 50 megapixels, 16384 px per side, 1000 frames.
    fn default() -> Self {
        Self {
            max_bytes: 50 * 1024 * 1024,
            max_pixels: 50_000_000,
            max_side: 16_384,
            max_frames: 1000,
        }
    }
}

/// What [`probe`] learns from the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    pub format: SourceFormat,
    /// Display size: after the EXIF orientation (so a portrait photo stored sideways is
    /// reported portrait).
    pub width: u32,
    pub height: u32,
    /// Animation frames (1 for a still image).
    pub frames: u32,
}

/// An encoded thumbnail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub format: OutputFormat,
    pub content_type: &'static str,
}

/// Why an image could not be processed. [`PipelineError::code`] is stable for machines,
/// `Display` is a message a client can read, [`PipelineError::status`] the HTTP status to answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PipelineError {
    #[error("the image is empty")]
    EmptyInput,
    #[error("the image is {len} bytes, more than the limit of {limit}")]
    TooManyBytes { len: usize, limit: usize },
    #[error("the image format is not recognised (JPEG, PNG, GIF and WebP are accepted)")]
    UnknownFormat,
    #[error("{0} images are not supported (JPEG, PNG, GIF and WebP are accepted)")]
    Unsupported(&'static str),
    #[error("the image is {width}×{height}, over the limit ({limit})")]
    TooLarge {
        width: u32,
        height: u32,
        limit: String,
    },
    #[error("the image has more than {limit} frames")]
    TooManyFrames { limit: u32 },
    #[error("the image data is truncated")]
    Truncated,
    #[error("the image data is corrupt: {0}")]
    Corrupt(String),
    #[error("{0} output is not available on this server")]
    UnsupportedOutput(OutputFormat),
    #[error("encoding failed: {0}")]
    EncodeFailed(String),
}

impl PipelineError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::EmptyInput => "empty_input",
            Self::TooManyBytes { .. } => "too_many_bytes",
            Self::UnknownFormat => "unknown_format",
            Self::Unsupported(_) => "unsupported_format",
            Self::TooLarge { .. } => "too_large",
            Self::TooManyFrames { .. } => "too_many_frames",
            Self::Truncated => "truncated",
            Self::Corrupt(_) => "corrupt",
            Self::UnsupportedOutput(_) => "unsupported_output",
            Self::EncodeFailed(_) => "encode_failed",
        }
    }

    /// The HTTP status the origin and the edge answer with.
    pub fn status(&self) -> u16 {
        match self {
            Self::EmptyInput => 400,
            Self::TooManyBytes { .. } | Self::TooLarge { .. } | Self::TooManyFrames { .. } => 413,
            Self::UnknownFormat | Self::Unsupported(_) => 415,
            Self::Truncated | Self::Corrupt(_) => 422,
            Self::UnsupportedOutput(_) => 406,
            Self::EncodeFailed(_) => 500,
        }
    }
}

/// Whether this build can encode `format` (AVIF: never; WebP: lossy with `native-codecs`,
/// lossless otherwise).
pub fn encoder_available(format: OutputFormat) -> bool {
    !matches!(format, OutputFormat::Avif)
}

/// Steps 1–3: identifies the image and checks it against `limits`, without decoding.
pub fn probe(bytes: &[u8], limits: &Limits) -> Result<ImageInfo, PipelineError> {
    let header = checked_header(bytes, limits)?;
    let (width, height) = oriented(header.width, header.height, header.orientation);
    Ok(ImageInfo {
        format: header.format,
        width,
        height,
        frames: header.frames,
    })
}

/// Makes one thumbnail of `bytes` as `format` (the caller resolves `f:auto` first).
pub fn process(
    bytes: &[u8],
    spec: &ThumbSpec,
    format: OutputFormat,
    limits: &Limits,
) -> Result<Output, PipelineError> {
    let mut outputs = process_many(bytes, &[(*spec, format)], limits)?;
    outputs
        .pop()
        .ok_or_else(|| PipelineError::EncodeFailed("no output".into()))
}

/// Makes several thumbnails of one source, decoding it once (at the resolution the largest
/// needs) and cascading: each size is resized from the previous, larger result when that result
/// keeps the whole image and is big enough, as in 600 → 300 → 150. Outputs are in input order.
pub fn process_many(
    bytes: &[u8],
    jobs: &[(ThumbSpec, OutputFormat)],
    limits: &Limits,
) -> Result<Vec<Output>, PipelineError> {
    if let Some((_, f)) = jobs.iter().find(|(_, f)| !encoder_available(*f)) {
        return Err(PipelineError::UnsupportedOutput(*f));
    }
    let header = checked_header(bytes, limits)?;
    let swap = swaps_axes(header.orientation);
    let (ow, oh) = oriented(header.width, header.height, header.orientation);

    // Geometry per job, in the stored (pre-orientation) frame.
    let geometry: Vec<OutputSize> = jobs
        .iter()
        .map(|(spec, _)| {
            let g = spec.output_size(ow, oh);
            if swap {
                OutputSize {
                    resize_w: g.resize_h,
                    resize_h: g.resize_w,
                    out_w: g.out_h,
                    out_h: g.out_w,
                }
            } else {
                g
            }
        })
        .collect();
    let need = geometry
        .iter()
        .map(|g| (g.resize_w, g.resize_h))
        .fold((1, 1), |(a, b), (w, h)| (a.max(w), b.max(h)));

    let (source, decoded_orientation) = decode(bytes, &header, need)?;
    let orientation = decoded_orientation.unwrap_or(header.orientation);

    // Largest first, so smaller sizes can cascade from larger results.
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| {
        std::cmp::Reverse(u64::from(geometry[i].out_w) * u64::from(geometry[i].out_h))
    });

    let mut resizer = fr::Resizer::new();
    let mut results: Vec<Option<Output>> = vec![None; jobs.len()];
    // The last whole-image (uncropped, aspect-kept) intermediate.
    let mut cascade: Option<Pixels> = None;
    for i in order {
        let g = geometry[i];
        let (spec, format) = jobs[i];
        let cropped = g.out_w != g.resize_w || g.out_h != g.resize_h;
        let from = match &cascade {
            Some(c) if !cropped && c.w >= g.out_w && c.h >= g.out_h => c,
            _ => &source,
        };
        let resized = resize(&mut resizer, from, g.out_w, g.out_h, cropped)?;
        let keeps_aspect = !cropped && {
            // Fill may distort: only cascade from results with the source's aspect ratio.
            let a = u64::from(resized.w) * u64::from(source.h);
            let b = u64::from(resized.h) * u64::from(source.w);
            a.abs_diff(b) <= u64::from(source.w.max(source.h))
        };
        let oriented_px = orient(&resized, orientation);
        let bytes = encode(&oriented_px, format, spec.quality.get())?;
        results[i] = Some(Output {
            bytes,
            width: oriented_px.w,
            height: oriented_px.h,
            format,
            content_type: format.content_type(),
        });
        if keeps_aspect {
            cascade = Some(resized);
        }
    }
    Ok(results.into_iter().flatten().collect())
}

// ---------------------------------------------------------------------------------------------
// Steps 1–3: size, sniff, header limits.

fn checked_header(bytes: &[u8], limits: &Limits) -> Result<Header, PipelineError> {
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

fn swaps_axes(o: Orientation) -> bool {
    matches!(
        o,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

fn oriented(w: u32, h: u32, o: Orientation) -> (u32, u32) {
    if swaps_axes(o) { (h, w) } else { (w, h) }
}

// ---------------------------------------------------------------------------------------------
// Steps 4–5: decode to 8-bit sRGB.

/// 8-bit pixels, RGB or RGBA, tightly packed.
#[derive(Debug, Clone)]
struct Pixels {
    buf: Vec<u8>,
    w: u32,
    h: u32,
    alpha: bool,
}

/// Decodes at least `need` (stored-frame) pixels. Returns the orientation when the decoder
/// found one the header walk could not (EXIF inside PNG/WebP).
fn decode(
    bytes: &[u8],
    header: &Header,
    need: (u32, u32),
) -> Result<(Pixels, Option<Orientation>), PipelineError> {
    #[cfg(feature = "native-codecs")]
    if header.format == SourceFormat::Jpeg
        && !header.cmyk
        && let Some(mut px) = native::decode_jpeg(bytes, header, need)?
    {
        if let Some(icc) = sniff::jpeg_icc_profile(bytes) {
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

fn map_image_error(e: ImageError) -> PipelineError {
    match e {
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            PipelineError::Truncated
        }
        ImageError::Limits(_) => PipelineError::TooLarge {
            width: 0,
            height: 0,
            limit: "decoder memory limit".into(),
        },
        ImageError::Unsupported(u) => PipelineError::Corrupt(u.to_string()),
        other => {
            let msg = other.to_string();
            let lower = msg.to_ascii_lowercase();
            if lower.contains("eof") || lower.contains("end of") || lower.contains("truncat") {
                PipelineError::Truncated
            } else {
                PipelineError::Corrupt(msg)
            }
        }
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

// ---------------------------------------------------------------------------------------------
// Step 6: resize.

fn resize(
    resizer: &mut fr::Resizer,
    src: &Pixels,
    w: u32,
    h: u32,
    crop_to_aspect: bool,
) -> Result<Pixels, PipelineError> {
    if src.w == w && src.h == h {
        return Ok(src.clone());
    }
    let pixel_type = if src.alpha {
        fr::PixelType::U8x4
    } else {
        fr::PixelType::U8x3
    };
    let src_view = fr::images::ImageRef::new(src.w, src.h, &src.buf, pixel_type)
        .map_err(|e| PipelineError::Corrupt(e.to_string()))?;
    let mut dst = fr::images::Image::new(w, h, pixel_type);
    let mut options =
        fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Lanczos3));
    if crop_to_aspect {
        options = options.fit_into_destination(Some((0.5, 0.5)));
    }
    resizer
        .resize(&src_view, &mut dst, &options)
        .map_err(|e| PipelineError::EncodeFailed(format!("resize: {e}")))?;
    Ok(Pixels {
        buf: dst.into_vec(),
        w,
        h,
        alpha: src.alpha,
    })
}

// ---------------------------------------------------------------------------------------------
// Step 7: orient.

fn orient(px: &Pixels, o: Orientation) -> Pixels {
    if o == Orientation::NoTransforms {
        return px.clone();
    }
    let image = if px.alpha {
        RgbaImage::from_raw(px.w, px.h, px.buf.clone()).map(DynamicImage::ImageRgba8)
    } else {
        RgbImage::from_raw(px.w, px.h, px.buf.clone()).map(DynamicImage::ImageRgb8)
    };
    let Some(mut image) = image else {
        return px.clone();
    };
    image.apply_orientation(o);
    let (w, h) = (image.width(), image.height());
    let buf = match image {
        DynamicImage::ImageRgba8(i) => i.into_raw(),
        DynamicImage::ImageRgb8(i) => i.into_raw(),
        other => other.into_rgb8().into_raw(),
    };
    Pixels {
        buf,
        w,
        h,
        alpha: px.alpha,
    }
}

// ---------------------------------------------------------------------------------------------
// Step 8: encode.

/// Composites RGBA over white (for JPEG).
fn flatten(px: &Pixels) -> Vec<u8> {
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

fn encode(px: &Pixels, format: OutputFormat, quality: u8) -> Result<Vec<u8>, PipelineError> {
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

// ---------------------------------------------------------------------------------------------
// Native fast path: libjpeg-turbo and libwebp.

#[cfg(feature = "native-codecs")]
mod native {
    use super::{Header, PipelineError, Pixels};

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
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;

// ---------------------------------------------------------------------------------------------
// Analysis input: decoded, oriented, downscaled RGB pixels (for visual descriptors).

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
    let resized = resize(&mut resizer, &source, sw, sh, false)?;
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
