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
//! 6. **trim** (`trim`) — a uniform border (the top-left pixel's colour) removed; the source is
//!    then decoded in full so the trimmed part keeps its resolution;
//! 7. **resize** with fast_image_resize (SIMD, Lanczos3 convolution), honouring the fit and,
//!    unless `enlarge:1`, never past the source's size; `cover` crops the source to the box's
//!    aspect ratio in the same pass, where the `gravity` says (compass points, or `sm`: the
//!    window with the most edge energy). Resizing is done in the stored orientation (on the
//!    swapped box for 90° orientations) because it is cheaper to rotate the small result than
//!    the large source; compass gravities are mapped to the stored frame;
//! 8. **orient** — EXIF orientation 1–8 applied to the resized pixels;
//! 9. **pad** (`pad`) — a border in the background colour around the oriented image;
//! 10. **background** (`bg`) — alpha flattened onto the colour;
//! 11. **encode** — JPEG (libjpeg-turbo, optimised Huffman tables, progressive above 256×256; or
//!     the `image` crate's encoder in the pure build; alpha flattened onto white), WebP (lossy
//!     libwebp with `native-codecs`; **lossless** `image-webp` in the pure build, which cannot
//!     encode lossy), PNG (`image`'s encoder). AVIF has no encoder here:
//!     [`encoder_available`] says so, and `process` refuses it with `UnsupportedOutput`.
//!
//! No metadata is copied to the output (no EXIF, XMP or ICC): the pixels are already oriented and
//! in sRGB. The output is deterministic: same bytes and spec, same output bytes (no clock, no
//! randomness, single-threaded codecs).

//!
//! One file per step: `header.rs` (1–3), `decode.rs` (4–5), `trim.rs` (6), `gravity.rs` and
//! `smart.rs` (the crop of 7), `resize.rs` (7), `orient.rs` (8), `pad.rs` (9), `background.rs`
//! (10), `encode.rs` (11), with `native.rs` for the C codecs; `analysis.rs` gives search its
//! pixels, `placeholder.rs` the ThumbHash and dominant colour an ingest stores (from the same
//! decode as its thumbnails, [`ingest`]).

mod analysis;
mod background;
mod decode;
mod encode;
mod error;
mod gravity;
mod header;
#[cfg(feature = "native-codecs")]
mod native;
mod orient;
mod pad;
mod placeholder;
mod resize;
mod smart;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_options;
#[cfg(test)]
mod tests_placeholder;
mod trim;

use fast_image_resize as fr;

pub use analysis::{RgbPixels, decode_rgb, encode_rgb};
use background::flatten_onto;
use decode::decode;
use encode::{encode, flatten};
pub use error::PipelineError;
use error::map_image_error;
use gravity::crop_for;
use header::{checked_header, oriented, swaps_axes};
use orient::orient;
use pad::pad;
use placeholder::{placeholder_need, placeholder_of};
use resize::resize;
use trim::trim;

use super::options::Background;
use super::sniff::SourceFormat;
use super::spec::{OutputFormat, OutputSize, ThumbSpec};
use crate::placeholder::Placeholder;

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
/// needs, or in full when a job trims) and cascading: each size is resized from the previous,
/// larger result when that result keeps the whole image and is big enough, as in
/// 600 → 300 → 150. Trimmed jobs start from their own trimmed source. Outputs are in input order.
pub fn process_many(
    bytes: &[u8],
    jobs: &[(ThumbSpec, OutputFormat)],
    limits: &Limits,
) -> Result<Vec<Output>, PipelineError> {
    run(bytes, jobs, limits, false).map(|(outputs, _)| outputs)
}

/// What an ingest keeps from its one decode: the thumbnails of `jobs` and the image's
/// placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    pub outputs: Vec<Output>,
    pub placeholder: Placeholder,
}

/// [`process_many`], and the placeholder ([`crate::placeholder`]) of the whole, oriented
/// image from the same decode. With no jobs, the placeholder alone (a decode just large
/// enough for it).
pub fn ingest(
    bytes: &[u8],
    jobs: &[(ThumbSpec, OutputFormat)],
    limits: &Limits,
) -> Result<Ingested, PipelineError> {
    let (outputs, placeholder) = run(bytes, jobs, limits, true)?;
    let placeholder = placeholder
        .ok_or_else(|| PipelineError::EncodeFailed("placeholder: not computed".into()))?;
    Ok(Ingested {
        outputs,
        placeholder,
    })
}

fn run(
    bytes: &[u8],
    jobs: &[(ThumbSpec, OutputFormat)],
    limits: &Limits,
    with_placeholder: bool,
) -> Result<(Vec<Output>, Option<Placeholder>), PipelineError> {
    if let Some((_, f)) = jobs.iter().find(|(_, f)| !encoder_available(*f)) {
        return Err(PipelineError::UnsupportedOutput(*f));
    }
    let header = checked_header(bytes, limits)?;
    let swap = swaps_axes(header.orientation);
    // Geometry of a job for a stored-frame source of `w × h`, in the stored frame.
    let stored_geometry = |spec: &ThumbSpec, w: u32, h: u32| -> OutputSize {
        let (ow, oh) = if swap { (h, w) } else { (w, h) };
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
    };
    let geometry: Vec<OutputSize> = jobs
        .iter()
        .map(|(spec, _)| stored_geometry(spec, header.width, header.height))
        .collect();
    let floor = if with_placeholder {
        placeholder_need(header.width, header.height)
    } else {
        (1, 1)
    };
    let need = if jobs.iter().any(|(s, _)| s.shot.trim.is_some()) {
        (header.width, header.height)
    } else {
        geometry
            .iter()
            .map(|g| (g.resize_w, g.resize_h))
            .fold(floor, |(a, b), (w, h)| (a.max(w), b.max(h)))
    };

    let (source, decoded_orientation) = decode(bytes, &header, need)?;
    let orientation = decoded_orientation.unwrap_or(header.orientation);
    let mut resizer = fr::Resizer::new();
    let placeholder = if with_placeholder {
        Some(placeholder_of(&mut resizer, &source, orientation)?)
    } else {
        None
    };

    // Largest first, so smaller sizes can cascade from larger results.
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| {
        std::cmp::Reverse(u64::from(geometry[i].out_w) * u64::from(geometry[i].out_h))
    });

    let mut results: Vec<Option<Output>> = vec![None; jobs.len()];
    // The last whole-image (uncropped, aspect-kept, untrimmed) intermediate.
    let mut cascade: Option<Pixels> = None;
    for i in order {
        let (spec, format) = jobs[i];
        let trimmed = spec.shot.trim.map(|t| trim(&source, t.threshold));
        let (base, g) = match &trimmed {
            Some(t) => (t, stored_geometry(&spec, t.w, t.h)),
            None => (&source, geometry[i]),
        };
        let cropped = g.out_w != g.resize_w || g.out_h != g.resize_h;
        let from = match &cascade {
            Some(c) if trimmed.is_none() && !cropped && c.w >= g.out_w && c.h >= g.out_h => c,
            _ => base,
        };
        let crop =
            cropped.then(|| crop_for(spec.shot.gravity, orientation, base, g.out_w, g.out_h));
        let resized = resize(&mut resizer, from, g.out_w, g.out_h, crop)?;
        let keeps_aspect = trimmed.is_none() && !cropped && {
            // Fill may distort: only cascade from results with the source's aspect ratio.
            let a = u64::from(resized.w) * u64::from(source.h);
            let b = u64::from(resized.h) * u64::from(source.w);
            a.abs_diff(b) <= u64::from(source.w.max(source.h))
        };
        let oriented_px = orient(&resized, orientation);
        let finished = finish(&spec, oriented_px);
        let bytes = encode(&finished, format, spec.quality.get())?;
        results[i] = Some(Output {
            bytes,
            width: finished.w,
            height: finished.h,
            format,
            content_type: format.content_type(),
        });
        if keeps_aspect {
            cascade = Some(resized);
        }
    }
    Ok((results.into_iter().flatten().collect(), placeholder))
}

/// Steps 9–10 on the oriented pixels: padding in the background colour (transparent when the
/// image has alpha and no `bg` is given, white otherwise), then alpha flattened onto `bg`.
fn finish(spec: &ThumbSpec, px: Pixels) -> Pixels {
    let bg = spec.shot.background;
    let sides = spec.padding(px.w, px.h);
    let px = if sides == [0; 4] {
        px
    } else {
        let colour = match bg {
            Some(Background([r, g, b])) => [r, g, b, 255],
            None if px.alpha => [255, 255, 255, 0],
            None => [255, 255, 255, 255],
        };
        pad(&px, sides, colour)
    };
    match bg {
        Some(Background(rgb)) => flatten_onto(px, rgb),
        None => px,
    }
}

/// 8-bit pixels, RGB or RGBA, tightly packed.
#[derive(Debug, Clone)]
struct Pixels {
    buf: Vec<u8>,
    w: u32,
    h: u32,
    alpha: bool,
}
