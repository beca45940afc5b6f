//! The neural image model: EfficientNet-Lite0 trained on ImageNet, run on the CPU by hand
//! (im2col + `matrixmultiply`'s sgemm for the full and 1×1 convolutions, depthwise
//! convolutions as vectorised loops; one thread per image).
//!
//! It reads a folder written by `scripts/tools/fetch-model.sh` (`model.safetensors`: the
//! torch state dict converted once; `labels.txt`: the 1000 class names) and gives, per
//! photo, the 1280-d pooled features — L2-normalised, the embedding that says *what* is in
//! the photo — and the 1000 class logits, whose softmax top-k are rough labels.
//!
//! [`combined::CombinedEmbedder`] puts it behind the [`super::descriptor::Embedder`] seam
//! beside the hand-made descriptor. An independent numpy forward pass
//! (`scripts/bench/embed-reference.py`) checks this one (`origin/tests/neural_reference.rs`).
//!
//! Files: [`weights`] (safetensors), [`layers`] (the convolutions), [`model`] (the
//! network), [`preprocess`] (resize, crop, normalise), [`labels`] (names, top-k).

pub mod combined;
pub mod labels;
pub mod layers;
pub mod model;
pub mod preprocess;
pub mod select;
pub mod weights;

use std::path::{Path, PathBuf};

use vitrine_common::thumbnail::pipeline::RgbPixels;

pub use labels::Label;
use model::EfficientNetLite;
pub use model::{CLASSES, FEATURES, INPUT_SIDE, Output};

/// Bump on any change to how an embedding is computed from the same weights (preprocessing,
/// layers); the stored version also hashes the weights themselves.
pub const CODE_VERSION: u32 = 1;
/// The weights file inside a model folder.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// The class names inside a model folder.
pub const LABELS_FILE: &str = "labels.txt";

/// Why a model could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("not a valid safetensors file: {0}")]
    Corrupt(String),
    #[error("not EfficientNet-Lite0: {0}")]
    Shape(String),
    #[error("bad class names: {0}")]
    Labels(String),
}

/// A loaded model: the network, its class names and an identity of its weights.
#[derive(Debug)]
pub struct NeuralModel {
    net: EfficientNetLite,
    labels: Vec<String>,
    /// BLAKE3 of the weights file (hex, first 16 digits): which model this is.
    pub weights_id: String,
    weights_hash: [u8; 32],
    pub dir: PathBuf,
}

fn read(path: &Path) -> Result<Vec<u8>, ModelError> {
    std::fs::read(path).map_err(|source| ModelError::Read {
        path: path.to_owned(),
        source,
    })
}

impl NeuralModel {
    /// Loads the model folder `dir` (or the folder of `dir` when it names the weights
    /// file), checking the file, every tensor's shape and the class names.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let dir = if path.is_file() {
            path.parent().unwrap_or(Path::new(".")).to_owned()
        } else {
            path.to_owned()
        };
        let bytes = read(&dir.join(WEIGHTS_FILE))?;
        let weights_hash = *blake3::hash(&bytes).as_bytes();
        let weights = weights::Weights::parse(&bytes)?;
        drop(bytes);
        let net = EfficientNetLite::from_weights(&weights)?;
        let text = read(&dir.join(LABELS_FILE))?;
        let labels = labels::parse(&String::from_utf8_lossy(&text))?;
        Ok(Self {
            net,
            labels,
            weights_id: blake3::Hash::from(weights_hash).to_hex()[..16].to_owned(),
            weights_hash,
            dir,
        })
    }

    /// A stable 32-bit identity of (weights, code version, `salt`), for stored versions.
    pub fn identity(&self, salt: &[u8]) -> u32 {
        let mut h = blake3::Hasher::new();
        h.update(&self.weights_hash);
        h.update(&CODE_VERSION.to_le_bytes());
        h.update(salt);
        let b = h.finalize();
        u32::from_le_bytes([
            b.as_bytes()[0],
            b.as_bytes()[1],
            b.as_bytes()[2],
            b.as_bytes()[3],
        ])
    }

    /// Preprocesses `px` (any size; see [`preprocess`]) and runs the network.
    pub fn run(&self, px: &RgbPixels) -> Output {
        self.run_crop(&preprocess::crop_rgb(px))
    }

    /// Runs the network on an already cropped `INPUT_SIDE`² RGB image (row-major bytes).
    pub fn run_crop(&self, rgb: &[u8]) -> Output {
        self.net.forward(&preprocess::normalise(rgb))
    }

    /// The `k` most probable ImageNet classes of a forward pass.
    pub fn labels(&self, out: &Output, k: usize) -> Vec<Label> {
        labels::top_k(&out.logits, &self.labels, k)
    }

    /// The class name of index `class`.
    pub fn class_name(&self, class: usize) -> Option<&str> {
        self.labels.get(class).map(String::as_str)
    }
}

/// `v` scaled to unit length (zero stays zero).
pub fn l2_normalised(v: &[f32]) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter().map(|x| x / n).collect()
    } else {
        v.to_vec()
    }
}

/// The index of the largest logit.
pub fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i)
}
