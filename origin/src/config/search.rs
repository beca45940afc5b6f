//! Text and visual search: where the text index lives, how often it catches up, the largest
//! query photo, when visual search switches from an exact scan to its compact index, and which visual
//! model embeds photos.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use super::{
    ConfigError,
    parse::{Lookup, parse_duration, parse_num},
};

/// Where the text-search index lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexLocation {
    /// In memory: rebuilt from the database at every start (tests, small catalogs).
    Memory,
    Dir(PathBuf),
}

/// `VISUAL_MODEL`: what visual search embeds photos with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VisualModel {
    /// `descriptor`: the hand-made descriptor alone.
    Descriptor,
    /// Unset: the EfficientNet-Lite0 folder `scripts/tools/fetch-model.sh` writes
    /// (`$VITRINE_TOOLS_DIR/models/efficientnet-lite0`, default under `/var/tmp/vitrine-tools`);
    /// when it is missing or unusable the origin warns and runs on the descriptor alone.
    Default(PathBuf),
    /// A model folder (or its `model.safetensors`) named explicitly: it must load, or
    /// start-up stops with exit code 2.
    Explicit(PathBuf),
}

/// Where `scripts/tools/fetch-model.sh` puts the model.
pub fn default_model_dir(tools_dir: Option<&str>) -> PathBuf {
    Path::new(tools_dir.unwrap_or("/var/tmp/vitrine-tools")).join("models/efficientnet-lite0")
}

#[derive(Debug, Clone)]
pub struct SearchSettings {
    /// `SEARCH_INDEX_DIR` (`memory` for an in-memory index; default `search_index` under
    /// `DATA_DIR`).
    pub index: IndexLocation,
    /// `SEARCH_SYNC_INTERVAL`: how often the index catches up with writes made elsewhere.
    pub sync_interval: Duration,
    /// `IMAGE_SEARCH_MAX_BYTES`: largest photo accepted by image search.
    pub image_max_bytes: usize,
    /// `VISUAL_EXACT_THRESHOLD`: up to this many products visual search scans exactly;
    /// above, it builds and uses the compact index (PCA codes in k-means lists).
    pub visual_exact_threshold: usize,
    /// `VISUAL_MODEL`.
    pub visual_model: VisualModel,
}

impl SearchSettings {
    pub(super) fn from_lookup(get: &impl Lookup, data_dir: &Path) -> Result<Self, ConfigError> {
        Ok(Self {
            index: match get("SEARCH_INDEX_DIR").as_deref() {
                Some("memory") | Some(":memory:") => IndexLocation::Memory,
                Some(dir) => IndexLocation::Dir(PathBuf::from(dir)),
                None => IndexLocation::Dir(data_dir.join("search_index")),
            },
            sync_interval: parse_duration(get, "SEARCH_SYNC_INTERVAL", Duration::from_secs(5))?,
            image_max_bytes: parse_num(
                get,
                "IMAGE_SEARCH_MAX_BYTES",
                16 * 1024 * 1024,
                1024,
                256 * 1024 * 1024,
            )?,
            visual_exact_threshold: parse_num(
                get,
                "VISUAL_EXACT_THRESHOLD",
                20_000,
                0,
                100_000_000,
            )?,
            visual_model: match get("VISUAL_MODEL").as_deref() {
                None => {
                    VisualModel::Default(default_model_dir(get("VITRINE_TOOLS_DIR").as_deref()))
                }
                Some("descriptor") => VisualModel::Descriptor,
                Some(path) => VisualModel::Explicit(PathBuf::from(path)),
            },
        })
    }
}
