//! The embedder visual search uses when a model is loaded: the hand-made descriptor (look:
//! colour, shape, layout, and the perceptual hash that finds near-duplicates) beside
//! EfficientNet-Lite0's features (what the object is), in one unit vector
//!
//! `[√(1 − w) · descriptor, √w · features]` with w = [`NEURAL_WEIGHT`],
//!
//! so the index's cosine of two such vectors is `(1 − w)·cos_descriptor + w·cos_neural`:
//! one number, no change to the index, the stored rows or the cache. A near-copy of a
//! catalog photo scores near 1 on both and still ranks first (and the pHash still marks it
//! `"duplicate"`); other products rank mostly by what they are, then by look.
//!
//! Its version mixes the weights' hash, the model code's version, the descriptor's version
//! and the blend, so changing any of them re-indexes every image in the background. The
//! descriptor is computed from its own decode at [`ANALYSIS_SIDE`] (exactly as without a
//! model); the network gets a second decode at [`NEURAL_DECODE_SIDE`].

use std::sync::Arc;

use vitrine_common::thumbnail::pipeline::{Limits, PipelineError, RgbPixels, decode_rgb};

use super::{FEATURES, Label, NeuralModel, l2_normalised};
use crate::search::visual::descriptor::{
    ANALYSIS_SIDE, DESCRIPTOR_VERSION, DIMS, Descriptor, Embedder, describe,
};

/// Share of the similarity that comes from the network.
pub const NEURAL_WEIGHT: f32 = 0.7;
/// Longest side the network's input is decoded at: the shortest side of most photos is
/// then ≥ 256, what the preprocessing resizes to.
pub const NEURAL_DECODE_SIDE: u32 = 512;
/// Stored versions of this embedder are ≥ this, far from the descriptor's small ones.
const VERSION_BASE: u32 = 1 << 30;

/// The descriptor and EfficientNet-Lite0, blended (see the module docs).
#[derive(Debug, Clone)]
pub struct CombinedEmbedder {
    pub model: Arc<NeuralModel>,
    version: i32,
    model_id: String,
}

impl CombinedEmbedder {
    pub fn new(model: Arc<NeuralModel>) -> Self {
        let mut salt = DESCRIPTOR_VERSION.to_le_bytes().to_vec();
        salt.extend_from_slice(&NEURAL_WEIGHT.to_le_bytes());
        let id = model.identity(&salt);
        let version = (VERSION_BASE | (id & (VERSION_BASE - 1))) as i32;
        let model_id = format!(
            "efficientnet-lite0@{}+descriptor-v{DESCRIPTOR_VERSION}",
            model.weights_id
        );
        Self {
            model,
            version,
            model_id,
        }
    }

    /// The unit-length neural embedding and the top `k` labels of `px`.
    pub fn neural(&self, px: &RgbPixels, k: usize) -> (Vec<f32>, Vec<Label>) {
        let out = self.model.run(px);
        (l2_normalised(&out.features), self.model.labels(&out, k))
    }

    fn blend(&self, descriptor: Descriptor, neural: &[f32]) -> Descriptor {
        let (a, b) = ((1.0 - NEURAL_WEIGHT).sqrt(), NEURAL_WEIGHT.sqrt());
        let mut vector = Vec::with_capacity(DIMS + FEATURES);
        vector.extend(descriptor.vector.iter().map(|v| v * a));
        vector.extend(neural.iter().map(|v| v * b));
        Descriptor {
            vector,
            phash: descriptor.phash,
        }
    }
}

impl Embedder for CombinedEmbedder {
    fn version(&self) -> i32 {
        self.version
    }
    fn dims(&self) -> usize {
        DIMS + FEATURES
    }
    fn name(&self) -> &'static str {
        "efficientnet-lite0+descriptor"
    }
    fn model_id(&self) -> String {
        self.model_id.clone()
    }
    /// Both parts from the same pixels (the descriptor expects ≤ [`ANALYSIS_SIDE`]; serving
    /// uses [`Embedder::embed_bytes`], which decodes once for each).
    fn embed(&self, px: &RgbPixels) -> Descriptor {
        let (neural, _) = self.neural(px, 0);
        self.blend(describe(px), &neural)
    }
    fn embed_bytes(&self, bytes: &[u8], limits: &Limits) -> Result<Descriptor, PipelineError> {
        let small = decode_rgb(bytes, ANALYSIS_SIDE, limits)?;
        let large = decode_rgb(bytes, NEURAL_DECODE_SIDE, limits)?;
        let (neural, _) = self.neural(&large, 0);
        Ok(self.blend(describe(&small), &neural))
    }
    fn has_labels(&self) -> bool {
        true
    }
    fn labels_bytes(
        &self,
        bytes: &[u8],
        limits: &Limits,
        k: usize,
    ) -> Result<Vec<(String, f32)>, PipelineError> {
        let px = decode_rgb(bytes, NEURAL_DECODE_SIDE, limits)?;
        let (_, labels) = self.neural(&px, k);
        Ok(labels.into_iter().map(|l| (l.name, l.score)).collect())
    }
    /// One forward pass gives both the embedding and the labels.
    fn analyse_bytes(
        &self,
        bytes: &[u8],
        limits: &Limits,
        k: usize,
    ) -> Result<(Descriptor, Vec<(String, f32)>), PipelineError> {
        let small = decode_rgb(bytes, ANALYSIS_SIDE, limits)?;
        let large = decode_rgb(bytes, NEURAL_DECODE_SIDE, limits)?;
        let (neural, labels) = self.neural(&large, k);
        let labels = labels.into_iter().map(|l| (l.name, l.score)).collect();
        Ok((self.blend(describe(&small), &neural), labels))
    }
}
