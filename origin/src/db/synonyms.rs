//! The stored search synonyms: one JSON document and its version (see `search::synonyms`).

use chrono::{DateTime, Utc};

use super::{Db, DbResult};

/// The stored synonym document.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredSynonyms {
    /// The rules as JSON text, as the API took them.
    pub rules: String,
    /// Incremented by every replacement; 0 is never stored (it means "none yet").
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

impl Db {
    /// The stored synonyms, or `None` when none were ever stored.
    pub async fn synonyms(&self) -> DbResult<Option<StoredSynonyms>> {
        let sql = "SELECT rules, version, updated_at FROM search_synonyms WHERE id = 1";
        dispatch!(self, "synonyms_get", |p| sqlx::query_as(sql)
            .fetch_optional(p))
    }

    /// Only the version of the stored synonyms (0 when none): what the sync loop polls.
    pub async fn synonyms_version(&self) -> DbResult<i64> {
        let sql = "SELECT version FROM search_synonyms WHERE id = 1";
        let row: Option<(i64,)> = dispatch!(self, "synonyms_version", |p| sqlx::query_as(sql)
            .fetch_optional(p))?;
        Ok(row.map_or(0, |(v,)| v))
    }

    /// Replaces the stored synonyms with `rules` (JSON text) and returns the new row.
    pub async fn put_synonyms(&self, rules: &str) -> DbResult<StoredSynonyms> {
        let sql = "INSERT INTO search_synonyms (id, rules, version, updated_at) VALUES (1, $1, 1, $2) \
                   ON CONFLICT (id) DO UPDATE SET rules = excluded.rules, \
                   version = search_synonyms.version + 1, updated_at = excluded.updated_at \
                   RETURNING rules, version, updated_at";
        let now = Utc::now();
        dispatch!(self, "synonyms_put", |p| sqlx::query_as(sql)
            .bind(rules)
            .bind(now)
            .fetch_one(p))
    }
}
