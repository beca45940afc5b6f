//! The visual descriptor (version 4): a fixed-length vector that says what a product photo
//! looks like, computed on the CPU from decoded pixels, with no model to download.
//!
//! Product photos are mostly one object on a plain background, and shoppers' query photos
//! are the same object cropped, rescaled, recompressed, brighter or darker, slightly
//! rotated or padded. The parts below are chosen for exactly those changes:
//!
//! 0. **White fill and trim.** Near-white pixels connected to the frame's edge are *fill*
//!    (padding, the corners a small rotation uncovers, a white backdrop), grown by one pixel
//!    for the seam that downscaling blends. Flat rows and columns at the edges (fill, or the
//!    border's own colour) are cut off, repeatedly until nothing more is cut, so a padded
//!    photo and its original describe the same frame, even when the photo has a flat
//!    margin of its own under the padding.
//! 1. **Foreground weighting.** The background colour is estimated from the border ring
//!    (per-channel median) and every pixel is weighted by how far it is from it, so a
//!    studio backdrop contributes (almost) nothing; fill always weighs zero. The object's
//!    box (the central 96 % of that weight) frames the spatial parts, which makes them
//!    insensitive to padding, translation and scale.
//!
//!    This must hold up against what padding and rotation do to the border. The ring
//!    leaves the fill out unless the fill is the backdrop itself (it covers most of the
//!    ring or 15 % of the frame): a 5° rotation turns about half of the ring white, and a
//!    median over the whole ring would land halfway between the photo and white, so the
//!    background of a night sky or a grey wall, and with it every weight, would change.
//!    The busy/plain decision is a smooth blend over the share of plain border (60–85 %),
//!    not a hard threshold, which a texture near it (a brick wall at 78 % against 70 %)
//!    would cross when rotated. On a backdrop that is not white, edges against the fill
//!    are rotation artefacts and do not count as shape. And the box is a mass quantile,
//!    not the extent of every pixel above a threshold, which a few noisy pixels stretch.
//! 2. **Colour histogram** in HSV: 12 hues × 3 saturations × 3 values, soft-assigned across
//!    neighbouring hues, plus 4 grey levels for unsaturated pixels; weighted by foreground
//!    and by a centre-weighted Gaussian. Hue barely moves under brightness changes and JPEG
//!    recompression, so colour is the most robust cue for "the same product".
//! 3. **Gradient-orientation histograms** (HOG-like) on a 4×4 grid over the object's box,
//!    8 unsigned orientations, magnitude-weighted: the shape and texture part, which tells
//!    a red mug from a red lamp. Gradients are computed on luminance, so colour shifts don't
//!    change them, and orientation bins are soft so small rotations only blur them.
//! 4. **Colour layout**: mean Lab colour on a 4×4 grid over the box — where the colours are.
//!
//! Each part is square-rooted (Hellinger kernel: stops a few dominant bins from swamping
//! the rest) and L2-normalised, weighted, concatenated and L2-normalised again, so the
//! cosine similarity of two descriptors is just their dot product.
//!
//! A 64-bit **perceptual hash** (DCT of a 32×32 luminance image, 8×8 low frequencies
//! against their median) is computed too: a Hamming distance of a few bits means "the same
//! picture", which search uses to rank exact duplicates first.
//!
//! The output is deterministic (no randomness, no threads, fixed iteration order), and every
//! stored vector carries [`DESCRIPTOR_VERSION`]: changing anything here must bump it, which
//! makes the origin re-index stored images at start.

mod fill;
mod frame;
mod maths;
mod phash;
#[cfg(test)]
mod tests;

use vitrine_common::thumbnail::pipeline::{Limits, PipelineError, RgbPixels, decode_rgb};

use fill::{fill_mask, trim_uniform_border};
use frame::describe_frame;
pub use phash::phash;

/// Bump on any change to how descriptors are computed.
pub const DESCRIPTOR_VERSION: i32 = 4;
/// Images are analysed at this longest side: enough detail for shape, cheap to scan.
pub const ANALYSIS_SIDE: u32 = 128;

const HUE_BINS: usize = 12;
const SAT_BINS: usize = 3;
const VAL_BINS: usize = 3;
const GREY_BINS: usize = 4;
const COLOUR_DIMS: usize = HUE_BINS * SAT_BINS * VAL_BINS + GREY_BINS;
const GRID: usize = 4;
const ORIENT_BINS: usize = 8;
const HOG_DIMS: usize = GRID * GRID * ORIENT_BINS;
const LAYOUT_DIMS: usize = GRID * GRID * 3;
/// Length of a descriptor.
pub const DIMS: usize = COLOUR_DIMS + HOG_DIMS + LAYOUT_DIMS;

/// Fill (see [`fill_mask`]) covering at least this share of the frame is a white backdrop
/// around the object, not the corners a small rotation uncovers (5 % of the frame at 5°,
/// 9–11 % at 10°).
const FILL_BACKDROP_AREA: f32 = 0.15;
/// Share of the border ring close to its median over which the backdrop goes from "busy"
/// (everything is foreground) to "plain" (pixels are weighted by their distance from it).
const PLAIN_SHARE: (f32, f32) = (0.6, 0.85);
/// Share of the foreground weight left outside the object's box on each side.
const BOX_TAIL: f32 = 0.02;

const COLOUR_WEIGHT: f32 = 1.0;
const HOG_WEIGHT: f32 = 0.9;
const LAYOUT_WEIGHT: f32 = 0.7;

/// A descriptor and its perceptual hash.
#[derive(Debug, Clone, PartialEq)]
pub struct Descriptor {
    pub vector: Vec<f32>,
    pub phash: u64,
}

/// Anything that turns pixels into a unit vector. The hand-made descriptor below is one;
/// [`crate::search::visual::neural::combined::CombinedEmbedder`] (the descriptor beside
/// EfficientNet-Lite0's features) is another, without touching the index or the API.
pub trait Embedder: Send + Sync {
    /// The version stored with every vector: a change re-indexes every image.
    fn version(&self) -> i32;
    fn dims(&self) -> usize;
    fn embed(&self, pixels: &RgbPixels) -> Descriptor;
    /// What this embedder is, for `/api/health/detailed` (`descriptor`, `efficientnet-lite0+descriptor`).
    fn name(&self) -> &'static str {
        "descriptor"
    }
    /// The id and version of the model, stored with every row it computes and part of
    /// every cache key of its output: `descriptor-v4`, or
    /// `efficientnet-lite0@<first 16 hex of the weights' BLAKE3>+descriptor-v4`.
    fn model_id(&self) -> String {
        format!("descriptor-v{}", self.version())
    }
    /// The descriptor of an encoded image: decoded by the shared pipeline at the size this
    /// embedder analyses (the hand-made descriptor: [`ANALYSIS_SIDE`]), then embedded. CPU
    /// work: call it on a blocking thread.
    fn embed_bytes(&self, bytes: &[u8], limits: &Limits) -> Result<Descriptor, PipelineError> {
        Ok(self.embed(&decode_rgb(bytes, ANALYSIS_SIDE, limits)?))
    }
    /// Whether [`Embedder::labels_bytes`] names what is in a photo (a classifier is loaded).
    fn has_labels(&self) -> bool {
        false
    }
    /// The `k` most probable class names of an encoded image with their probabilities,
    /// best first; empty without a classifier. CPU work: call it on a blocking thread.
    fn labels_bytes(
        &self,
        _bytes: &[u8],
        _limits: &Limits,
        _k: usize,
    ) -> Result<Vec<(String, f32)>, PipelineError> {
        Ok(Vec::new())
    }
    /// The descriptor and the top `k` labels of an encoded image (what uploads and
    /// `describe` jobs store). An embedder with a classifier overrides it to get both from
    /// one forward pass. CPU work: call it on a blocking thread.
    fn analyse_bytes(
        &self,
        bytes: &[u8],
        limits: &Limits,
        k: usize,
    ) -> Result<(Descriptor, Vec<(String, f32)>), PipelineError> {
        let descriptor = self.embed_bytes(bytes, limits)?;
        let labels = if self.has_labels() {
            self.labels_bytes(bytes, limits, k)?
        } else {
            Vec::new()
        };
        Ok((descriptor, labels))
    }
}

/// The CPU descriptor described in the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub struct HandcraftedEmbedder;

impl Embedder for HandcraftedEmbedder {
    fn version(&self) -> i32 {
        DESCRIPTOR_VERSION
    }
    fn dims(&self) -> usize {
        DIMS
    }
    fn embed(&self, pixels: &RgbPixels) -> Descriptor {
        describe(pixels)
    }
}

/// Computes the descriptor of `px` (any size; typically ≤ [`ANALYSIS_SIDE`]).
pub fn describe(px: &RgbPixels) -> Descriptor {
    let fill = fill_mask(px);
    match trim_uniform_border(px, &fill) {
        Some((trimmed, fill)) => describe_frame(&trimmed, &fill),
        None => describe_frame(px, &fill),
    }
}

/// Serialises a vector for the database (little-endian f32s).
pub fn to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The inverse of [`to_bytes`]; `None` when the length is not a whole number of f32s.
pub fn from_bytes(b: &[u8]) -> Option<Vec<f32>> {
    if !b.len().is_multiple_of(4) {
        return None;
    }
    Some(
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}
