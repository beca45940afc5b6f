//! Which embedder visual search runs with, from `VISUAL_MODEL` (see
//! [`crate::config::VisualModel`]): an explicitly named model that does not load is a
//! configuration error (start-up exits with code 2 naming the variable); the default one
//! missing or unusable is a warning, and the descriptor alone serves.

use std::{path::Path, sync::Arc};

use super::{NeuralModel, combined::CombinedEmbedder};
use crate::{
    config::{ConfigError, VisualModel},
    search::visual::descriptor::{Embedder, HandcraftedEmbedder},
};

/// What was chosen, for `/api/health/detailed`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EmbedderStatus {
    /// `descriptor` or `efficientnet-lite0+descriptor`.
    pub active: &'static str,
    /// The model folder, when a model is loaded.
    pub model_dir: Option<String>,
    /// The first 16 hex digits of the weights' BLAKE3, when a model is loaded.
    pub weights: Option<String>,
    /// Why the default model is not in use, when it is not.
    pub warning: Option<String>,
}

/// Loads the embedder `VISUAL_MODEL` asks for.
pub fn select(model: &VisualModel) -> Result<(Arc<dyn Embedder>, EmbedderStatus), ConfigError> {
    let descriptor = |warning: Option<String>| {
        let e: Arc<dyn Embedder> = Arc::new(HandcraftedEmbedder);
        (
            e,
            EmbedderStatus {
                active: "descriptor",
                model_dir: None,
                weights: None,
                warning,
            },
        )
    };
    match model {
        VisualModel::Descriptor => Ok(descriptor(None)),
        VisualModel::Explicit(path) => load(path).map_err(|reason| ConfigError {
            var: "VISUAL_MODEL",
            reason,
        }),
        VisualModel::Default(path) => match load(path) {
            Ok(chosen) => Ok(chosen),
            Err(reason) => {
                let warning = format!(
                    "the default visual model is unusable ({reason}); visual search runs on the \
                     descriptor alone (fetch it with scripts/tools/fetch-model.sh, or set \
                     VISUAL_MODEL=descriptor)"
                );
                tracing::warn!("{warning}");
                Ok(descriptor(Some(warning)))
            }
        },
    }
}

fn load(path: &Path) -> Result<(Arc<dyn Embedder>, EmbedderStatus), String> {
    let started = std::time::Instant::now();
    let model = NeuralModel::load(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let status = EmbedderStatus {
        active: "efficientnet-lite0+descriptor",
        model_dir: Some(model.dir.display().to_string()),
        weights: Some(model.weights_id.clone()),
        warning: None,
    };
    tracing::info!(
        model = %model.dir.display(),
        weights = %model.weights_id,
        ms = started.elapsed().as_millis() as u64,
        "visual model loaded"
    );
    Ok((Arc::new(CombinedEmbedder::new(Arc::new(model))), status))
}
