//! Replacing the search synonyms, in the order of `propagate.rs`: database, then this
//! instance's text index, then the cache (whose announcement makes every other instance load
//! the new set before it drops its cached searches; instances without the announcement load
//! it in their sync loop).

use vitrine_common::cache_key::Namespace;

use super::{Catalog, CatalogError};
use crate::search::synonyms::{SynonymRule, Synonyms, SynonymsDocument};

impl Catalog {
    /// Stores `rules` (already checked: `compiled` is what they compile to) as the whole set.
    pub async fn replace_synonyms(
        &self,
        rules: Vec<SynonymRule>,
        mut compiled: Synonyms,
    ) -> Result<SynonymsDocument, CatalogError> {
        let json = serde_json::to_string(&rules).map_err(|e| CatalogError::Index(e.into()))?;
        let stored = self.db.put_synonyms(&json).await?;
        compiled.version = stored.version;
        compiled.updated_at = Some(stored.updated_at);
        if let Some(serving) = &self.serving {
            serving.indexes.search.set_synonyms_if_newer(compiled);
            serving.cache.invalidate_namespace(Namespace::Search).await;
        }
        Ok(SynonymsDocument {
            synonyms: rules,
            version: stored.version,
            updated_at: Some(stored.updated_at),
        })
    }
}
