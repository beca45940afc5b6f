//! One image's analysis by the running visual model: its vector and perceptual hash (what
//! the index compares) and its top labels (what the model saw), computed at most once per
//! (image content, model).
//!
//! Three callers share it: uploads (`POST /api/images`), `describe` jobs and photo search.
//! Each goes through the `embed` cache namespace, keyed by the content hash and the model id
//! (`cache_key::image_embedding`), so a second identical upload, a job for an uploaded image
//! or a photo search with a catalog photo reuses the first computation on every instance
//! (through Redis). Uploads and jobs then store the analysis as the image's visual row
//! (`image_descriptors`: vector, hash, model id, labels as JSON), which outlives the cache.

use std::sync::{Arc, atomic::Ordering};

use bytes::Bytes;
use vitrine_common::{
    api::ImageId,
    cache_key,
    thumbnail::{pipeline::PipelineError, probe},
};

use super::{
    VisualSearch,
    descriptor::{Descriptor, from_bytes, to_bytes},
    neural::Label,
};
use crate::db::{DbError, descriptors::NewVisualRow};

/// Labels kept per image (upload responses, stored rows, `GET /api/images/{id}`).
pub const LABELS: usize = 5;

/// What the running model made of one image.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub descriptor: Descriptor,
    /// Best first; empty without a classifier.
    pub labels: Vec<Label>,
}

impl Analysis {
    /// The `embed` cache entry: `[version: i32 LE][phash: u64 LE][n: u32 LE][n × f32 LE]`
    /// then the labels as JSON. The version travels with the vector so an entry written by
    /// another embedder (an older instance during a rollout) is never used as this one's.
    pub fn to_cache_entry(&self, version: i32) -> Vec<u8> {
        let v = &self.descriptor.vector;
        let mut out = Vec::with_capacity(16 + v.len() * 4 + 64 * self.labels.len());
        out.extend_from_slice(&version.to_le_bytes());
        out.extend_from_slice(&self.descriptor.phash.to_le_bytes());
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
        out.extend_from_slice(&to_bytes(v));
        out.extend_from_slice(self.labels_json().as_bytes());
        out
    }

    /// The inverse of [`Analysis::to_cache_entry`]; `None` unless the entry has this
    /// `version` and `dims` floats and its labels parse.
    pub fn from_cache_entry(b: &[u8], version: i32, dims: usize) -> Option<Analysis> {
        let v = i32::from_le_bytes(b.get(..4)?.try_into().ok()?);
        let phash = u64::from_le_bytes(b.get(4..12)?.try_into().ok()?);
        let n = u32::from_le_bytes(b.get(12..16)?.try_into().ok()?) as usize;
        if v != version || n != dims {
            return None;
        }
        let end = 16usize.checked_add(n.checked_mul(4)?)?;
        let vector = from_bytes(b.get(16..end)?)?;
        let labels = serde_json::from_slice(b.get(end..)?).ok()?;
        Some(Analysis {
            descriptor: Descriptor { vector, phash },
            labels,
        })
    }

    /// The labels as stored: `[{"name": …, "score": …}, …]`.
    pub fn labels_json(&self) -> String {
        serde_json::to_string(&self.labels).unwrap_or_else(|_| "[]".into())
    }
}

/// Stored labels read back; a value that does not parse (hand-edited) reads as none.
pub fn labels_from_json(json: &str) -> Vec<Label> {
    serde_json::from_str(json).unwrap_or_default()
}

impl VisualSearch {
    /// Analyses `bytes` on the CPU pool (inside the memory budget) with no cache: the
    /// model runs. Counted in [`VisualSearch::analyses_computed`].
    pub async fn analyse_uncached(&self, bytes: Arc<Vec<u8>>) -> Result<Analysis, PipelineError> {
        let info = probe(&bytes, &self.limits)?;
        let (embedder, limits) = (self.embedder.clone(), self.limits);
        let (descriptor, labels) = self
            .shared
            .pool
            .run(info.width, info.height, move || {
                embedder.analyse_bytes(&bytes, &limits, LABELS)
            })
            .await
            .map_err(|e| PipelineError::Corrupt(format!("analysis task failed: {e}")))??;
        self.shared.analyses.fetch_add(1, Ordering::Relaxed);
        Ok(Analysis {
            descriptor,
            labels: labels
                .into_iter()
                .map(|(name, score)| Label { name, score })
                .collect(),
        })
    }

    /// The analysis of `bytes` (whose BLAKE3 is `content_hash`) by the running model,
    /// from the `embed` cache when any instance computed it before, else computed and
    /// cached. An entry of another version is ignored and recomputed.
    pub async fn analyse(
        &self,
        content_hash: &ImageId,
        bytes: Arc<Vec<u8>>,
    ) -> Result<Analysis, PipelineError> {
        let (version, dims) = (self.embedder.version(), self.embedder.dims());
        let key = cache_key::image_embedding(content_hash, &self.embedder.model_id());
        let compute = {
            let bytes = bytes.clone();
            async move {
                self.analyse_uncached(bytes)
                    .await
                    .map(|a| Bytes::from(a.to_cache_entry(version)))
            }
        };
        let (entry, _) = self
            .shared
            .cache
            .get_or_compute(&key, None, &[], compute)
            .await
            .map_err(Arc::unwrap_or_clone)?;
        match Analysis::from_cache_entry(&entry, version, dims) {
            Some(a) => Ok(a),
            None => self.analyse_uncached(bytes).await,
        }
    }

    /// Stores `analysis` as `image_id`'s visual row of the running model.
    pub async fn store_analysis(&self, image_id: &str, analysis: &Analysis) -> Result<(), DbError> {
        let d = &analysis.descriptor;
        self.shared
            .db
            .put_visual(&NewVisualRow {
                image_id,
                version: self.embedder.version(),
                model: &self.embedder.model_id(),
                vector: &to_bytes(&d.vector),
                dims: d.vector.len() as i32,
                phash: d.phash,
                labels_json: &analysis.labels_json(),
            })
            .await
    }

    /// An upload's labels by the running model: from its stored row when the same bytes
    /// were analysed before, else analysed (through the cache) and stored, so the
    /// `describe` job for a product showing it finds the row. `Err` leaves the upload
    /// standing without labels.
    pub async fn analyse_upload(
        &self,
        id: &ImageId,
        bytes: Arc<Vec<u8>>,
    ) -> anyhow::Result<Vec<Label>> {
        let version = self.embedder.version();
        if let Some(meta) = self.shared.db.visual_meta(id.as_str(), version).await?
            && meta.version == version
        {
            return Ok(labels_from_json(&meta.labels));
        }
        let analysis = self.analyse(id, bytes).await?;
        self.store_analysis(id.as_str(), &analysis).await?;
        Ok(analysis.labels)
    }

    /// How many times this instance ran the model (cache and stored rows aside).
    pub fn analyses_computed(&self) -> u64 {
        self.shared.analyses.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_entry_round_trip_checks_version_and_dims() {
        let a = Analysis {
            descriptor: Descriptor {
                vector: vec![0.5, -0.25, 1.0],
                phash: 0xdead_beef_0123_4567,
            },
            labels: vec![Label {
                name: "coffee mug".into(),
                score: 0.5,
            }],
        };
        let e = a.to_cache_entry(7);
        assert_eq!(Analysis::from_cache_entry(&e, 7, 3), Some(a.clone()));
        assert_eq!(Analysis::from_cache_entry(&e, 8, 3), None);
        assert_eq!(Analysis::from_cache_entry(&e, 7, 4), None);
        assert_eq!(Analysis::from_cache_entry(&e[..10], 7, 3), None);
        assert_eq!(Analysis::from_cache_entry(&e[..20], 7, 3), None);
        assert_eq!(labels_from_json(&a.labels_json()), a.labels);
        assert_eq!(labels_from_json("not json"), Vec::new());
    }
}
