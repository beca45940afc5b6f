//! Text search over the catalog with tantivy.
//!
//! Why this shape:
//! - **BM25 per field with boosts** (title ×3, brand ×2, category ×1.5, description ×1): the
//!   title says what a product *is*; a term that only appears deep in a description should
//!   rank below one in the title.
//! - **Typo tolerance** through a Levenshtein automaton on a catch-all field (1 edit for terms
//!   of 5+ characters, 2 for 9+, transpositions count as one) with a small constant score,
//!   so an exact hit always outranks a fuzzy one.
//! - **Prefix on the last term** (search-as-you-type): `lap` finds "laptop" while typing.
//! - **All terms must match** (each term: exact OR fuzzy OR prefix); when that finds
//!   nothing, any term may match, the usual fallback of shop search.
//! - **Synonyms** (`synonyms.rs`) expand the query as it is built: no re-index when they
//!   change.
//! - **Filters** (categories, brands, price range) score nothing. Several values of one facet
//!   are OR-ed, facets AND-ed. **Facet counts** are disjunctive: each facet (category, brand,
//!   price) is counted over the hits of every filter but its own (`execute.rs`).
//! - **Sort** by relevance, price or creation date through fast fields, ties broken by
//!   relevance and then product id (`collect.rs`).
//! - The full product JSON is stored in the index, so a search never touches the database.
//!
//! The index is kept in step with every write (`apply`), and rebuilt from the database at
//! start when it is missing or stale (document count, newest `updated_at` and schema
//! version are kept in the commit payload; a schema change also fails `open_or_create`, which
//! recreates the folder). A periodic sync picks up writes made by other origin instances or
//! by `vitrine-origin import`, and synonyms another instance stored (by their version).

mod collect;
mod execute;
mod highlight;
mod query;
pub mod synonyms;
pub mod visual;

use std::{
    path::Path,
    sync::{Arc, Mutex},
    time::Instant,
};

use anyhow::Context;
use chrono::{DateTime, Utc};
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term,
    collector::TopDocs,
    directory::MmapDirectory,
    schema::{
        FAST, FacetOptions, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema,
        TextFieldIndexing, TextOptions, Value,
    },
    tokenizer::{
        AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
        TextAnalyzer,
    },
};
use vitrine_common::api::{Facets, Product, SearchFilters, SearchHit, SortOrder};

use self::synonyms::{SynonymRule, Synonyms};
use crate::db::{Db, products::Fingerprint};

/// Bump when the schema or analysis changes: a stored index with another version is rebuilt.
/// 2: `created` fast field (sort by newest), positions in `all` (synonym phrases).
const SCHEMA_VERSION: u32 = 2;
const ANALYZER: &str = "vitrine";
const PREFIX_ANALYZER: &str = "vitrine_prefix";

#[derive(Clone, Copy)]
pub(crate) struct Fields {
    pub id: Field,
    pub title: Field,
    pub brand: Field,
    pub category: Field,
    pub description: Field,
    /// Everything searchable in one field: the target of fuzzy and prefix matching.
    pub all: Field,
    pub prefix: Field,
    pub category_exact: Field,
    pub brand_exact: Field,
    pub category_facet: Field,
    pub brand_facet: Field,
    pub price: Field,
    pub created: Field,
    pub doc: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |tokenizer: &str, positions: bool| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(if positions {
                    IndexRecordOption::WithFreqsAndPositions
                } else {
                    IndexRecordOption::WithFreqs
                }),
        )
    };
    let fields = Fields {
        id: b.add_u64_field("id", INDEXED | FAST | STORED),
        title: b.add_text_field("title", text(ANALYZER, true)),
        brand: b.add_text_field("brand", text(ANALYZER, false)),
        category: b.add_text_field("category", text(ANALYZER, false)),
        description: b.add_text_field("description", text(ANALYZER, false)),
        all: b.add_text_field("all", text(ANALYZER, true)),
        prefix: b.add_text_field("prefix", text(PREFIX_ANALYZER, false)),
        category_exact: b.add_text_field("category_exact", STRING),
        brand_exact: b.add_text_field("brand_exact", STRING),
        category_facet: b.add_facet_field("category_facet", FacetOptions::default()),
        brand_facet: b.add_facet_field("brand_facet", FacetOptions::default()),
        price: b.add_i64_field("price", INDEXED | FAST),
        created: b.add_i64_field("created", FAST),
        doc: b.add_text_field("doc", STORED),
    };
    (b.build(), fields)
}

/// The analysis of the searchable fields: words, lower case, ASCII-folded, English stems.
fn stemmed_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::English))
        .build()
}

/// A function giving the tokens of a text as the searchable fields index them (what
/// synonyms are matched on); one analyzer serves every call.
pub fn analyser() -> impl Fn(&str) -> Vec<String> {
    let analyzer = std::cell::RefCell::new(stemmed_analyzer());
    move |text| {
        let mut analyzer = analyzer.borrow_mut();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }
}

/// The analysis of the prefix field: as [`stemmed_analyzer`] without stemming.
fn plain_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

fn register_analyzers(index: &Index) {
    let stemmed = stemmed_analyzer();
    let plain = plain_analyzer();
    index.tokenizers().register(ANALYZER, stemmed);
    index.tokenizers().register(PREFIX_ANALYZER, plain);
}

/// What the commit payload records about the indexed catalog.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq)]
struct Payload {
    schema_version: u32,
    max_updated_at: Option<DateTime<Utc>>,
}

/// What a sync found.
#[derive(Debug, Default)]
pub struct SyncOutcome {
    pub changed: Vec<Product>,
    pub rebuilt: bool,
    /// Another synonym set was loaded (every cached search may be stale).
    pub synonyms_changed: bool,
}

/// One search request after parsing.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    pub text: String,
    pub filters: SearchFilters,
    pub sort: SortOrder,
    pub limit: u32,
    pub offset: u32,
}

/// The outcome of a search, before it is wrapped into the API response.
#[derive(Debug, Clone)]
pub struct SearchOutcome {
    pub hits: Vec<SearchHit>,
    pub total: u64,
    pub facets: Facets,
}

struct Inner {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter<TantivyDocument>>,
    fields: Fields,
    indexed_max: Mutex<Option<DateTime<Utc>>>,
    /// The synonyms in force (swapped whole when another set is loaded).
    synonyms: parking_lot::RwLock<Arc<Synonyms>>,
}

/// The text-search index; cheap to clone.
#[derive(Clone)]
pub struct SearchIndex {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("docs", &self.num_docs())
            .finish()
    }
}

impl SearchIndex {
    /// Opens (or creates) the index in `dir`, or in memory when `dir` is `None`.
    pub fn open(dir: Option<&Path>) -> anyhow::Result<Self> {
        let (schema, fields) = schema();
        let index = match dir {
            None => Index::create_in_ram(schema.clone()),
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating search index folder {}", dir.display()))?;
                let directory = MmapDirectory::open(dir)?;
                match Index::open_or_create(directory, schema.clone()) {
                    Ok(index) => index,
                    Err(e) => {
                        // A schema change or a damaged index: start afresh, it is rebuilt from the DB.
                        tracing::warn!(error = %e, "search index unusable; recreating it");
                        std::fs::remove_dir_all(dir)?;
                        std::fs::create_dir_all(dir)?;
                        Index::create_in_dir(dir, schema.clone())?
                    }
                }
            }
        };
        register_analyzers(&index);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let writer = index.writer_with_num_threads(1, 64 * 1024 * 1024)?;
        let payload = Self::read_payload(&index);
        Ok(SearchIndex {
            inner: Arc::new(Inner {
                index,
                reader,
                writer: Mutex::new(writer),
                fields,
                indexed_max: Mutex::new(payload.and_then(|p| p.max_updated_at)),
                synonyms: parking_lot::RwLock::new(Arc::new(Synonyms::default())),
            }),
        })
    }

    fn read_payload(index: &Index) -> Option<Payload> {
        let metas = index.load_metas().ok()?;
        serde_json::from_str(metas.payload.as_deref()?).ok()
    }

    pub fn num_docs(&self) -> u64 {
        self.inner.reader.searcher().num_docs()
    }

    /// Newest `updated_at` the index has seen.
    pub fn indexed_max_updated_at(&self) -> Option<DateTime<Utc>> {
        self.inner.indexed_max.lock().map(|g| *g).unwrap_or(None)
    }

    /// True when the stored index matches the catalog fingerprint and schema version.
    pub fn is_fresh(&self, fp: &Fingerprint) -> bool {
        let payload = Self::read_payload(&self.inner.index);
        let version_ok = payload
            .as_ref()
            .is_some_and(|p| p.schema_version == SCHEMA_VERSION);
        version_ok
            && self.num_docs() == fp.count as u64
            && self.indexed_max_updated_at() == fp.max_updated_at
    }

    fn to_document(&self, p: &Product) -> anyhow::Result<TantivyDocument> {
        let f = &self.inner.fields;
        let mut doc = TantivyDocument::default();
        doc.add_u64(f.id, p.id as u64);
        doc.add_text(f.title, &p.title);
        doc.add_text(f.brand, &p.brand);
        doc.add_text(f.category, &p.category);
        doc.add_text(f.description, &p.description);
        for text in [&p.title, &p.brand, &p.category, &p.description] {
            doc.add_text(f.all, text);
            doc.add_text(f.prefix, text);
        }
        doc.add_text(f.category_exact, &p.category);
        doc.add_text(f.brand_exact, &p.brand);
        doc.add_facet(
            f.category_facet,
            tantivy::schema::Facet::from_path([&p.category]),
        );
        doc.add_facet(f.brand_facet, tantivy::schema::Facet::from_path([&p.brand]));
        doc.add_i64(f.price, p.price);
        doc.add_i64(f.created, p.created_at.timestamp_micros());
        doc.add_text(f.doc, serde_json::to_string(p)?);
        Ok(doc)
    }

    fn commit(
        &self,
        writer: &mut IndexWriter<TantivyDocument>,
        max: Option<DateTime<Utc>>,
    ) -> anyhow::Result<()> {
        let payload = serde_json::to_string(&Payload {
            schema_version: SCHEMA_VERSION,
            max_updated_at: max,
        })?;
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&payload);
        prepared.commit()?;
        self.inner.reader.reload()?;
        if let Ok(mut g) = self.inner.indexed_max.lock() {
            *g = max;
        }
        Ok(())
    }

    /// Upserts and deletes documents, then commits (blocking: call from a blocking thread).
    pub fn apply_blocking(&self, upserts: &[Product], deletes: &[i64]) -> anyhow::Result<()> {
        let f = self.inner.fields;
        let mut writer = self
            .inner
            .writer
            .lock()
            .map_err(|_| anyhow::anyhow!("search writer lock poisoned"))?;
        let mut max = self.indexed_max_updated_at();
        for id in deletes {
            writer.delete_term(Term::from_field_u64(f.id, *id as u64));
        }
        // Two catch-ups can overlap (the sync loop and another instance's announcement): one
        // that read the database before a write may apply after the one that read it after.
        // Under the writer lock the committed documents are the newest applied, so a row older
        // than the indexed one is the stale read and is skipped.
        let searcher = self.inner.reader.searcher();
        for p in upserts {
            if self
                .indexed_updated_at(&searcher, p.id)?
                .is_some_and(|indexed| indexed > p.updated_at)
            {
                continue;
            }
            writer.delete_term(Term::from_field_u64(f.id, p.id as u64));
            writer.add_document(self.to_document(p)?)?;
            if max.is_none_or(|m| p.updated_at > m) {
                max = Some(p.updated_at);
            }
        }
        self.commit(&mut writer, max)
    }

    /// `updated_at` of the indexed document of product `id`, if there is one.
    fn indexed_updated_at(
        &self,
        searcher: &tantivy::Searcher,
        id: i64,
    ) -> anyhow::Result<Option<DateTime<Utc>>> {
        let term = Term::from_field_u64(self.inner.fields.id, id as u64);
        let query = tantivy::query::TermQuery::new(term, IndexRecordOption::Basic);
        let top = searcher.search(&query, &TopDocs::with_limit(1))?;
        match top.first() {
            Some((_, addr)) => Ok(Some(self.stored_product(searcher, *addr)?.updated_at)),
            None => Ok(None),
        }
    }

    /// Async wrapper of [`Self::apply_blocking`].
    pub async fn apply(&self, upserts: Vec<Product>, deletes: Vec<i64>) -> anyhow::Result<()> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.apply_blocking(&upserts, &deletes)).await?
    }

    /// Replaces the whole index with the catalog in `db`.
    ///
    /// Holds the writer for the whole rebuild, so a concurrent write waits instead of
    /// committing a half-built index; readers keep the previous commit until the end.
    pub async fn rebuild(&self, db: &Db) -> anyhow::Result<u64> {
        let started = Instant::now();
        let this = self.clone();
        let db = db.clone();
        let handle = tokio::runtime::Handle::current();
        let docs = tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
            let mut w = this
                .inner
                .writer
                .lock()
                .map_err(|_| anyhow::anyhow!("search writer lock poisoned"))?;
            w.delete_all_documents()?;
            let mut after = 0i64;
            let mut docs = 0u64;
            let mut max: Option<DateTime<Utc>> = None;
            loop {
                let page = handle.block_on(db.list_products(after, 5_000))?;
                let Some(last) = page.last() else { break };
                after = last.id;
                for p in &page {
                    if max.is_none_or(|m| p.updated_at > m) {
                        max = Some(p.updated_at);
                    }
                    w.add_document(this.to_document(p)?)?;
                }
                docs += page.len() as u64;
            }
            this.commit(&mut w, max)?;
            Ok(docs)
        })
        .await??;
        tracing::info!(
            docs,
            ms = started.elapsed().as_millis() as u64,
            "search index rebuilt"
        );
        Ok(docs)
    }

    /// Rebuilds when stale; returns whether it did.
    pub async fn ensure_fresh(&self, db: &Db) -> anyhow::Result<bool> {
        let fp = db.fingerprint().await?;
        if self.is_fresh(&fp) {
            tracing::info!(docs = fp.count, "search index is up to date");
            Ok(false)
        } else {
            self.rebuild(db).await?;
            Ok(true)
        }
    }

    /// Catches up with writes made elsewhere (other instances, the import command) and
    /// returns what changed, so other indexes can follow.
    pub async fn sync(&self, db: &Db) -> anyhow::Result<SyncOutcome> {
        let fp = db.fingerprint().await?;
        let indexed = self.indexed_max_updated_at();
        let mut outcome = SyncOutcome::default();
        if fp.max_updated_at > indexed {
            // Re-read a small window before the newest indexed change: another writer's
            // clock may lag ours. Re-applying a row is idempotent.
            let since = indexed
                .map(|t| t - chrono::Duration::seconds(5))
                // From the start when nothing is indexed: the epoch, not `MIN_UTC`, which is
                // outside Postgres's timestamp range (the query would fail on every sync).
                .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
            let mut after = 0;
            loop {
                let page = db.products_changed_since(since, after, 5_000).await?;
                let Some(last) = page.last() else { break };
                after = last.id;
                outcome.changed.extend(page.iter().cloned());
                self.apply(page, Vec::new()).await?;
            }
        }
        if self.num_docs() != fp.count as u64 {
            // Deletions made elsewhere leave no trace to sync from: rebuild.
            self.rebuild(db).await?;
            outcome.rebuilt = true;
        }
        outcome.synonyms_changed = self.load_synonyms_if_changed(db).await?;
        Ok(outcome)
    }

    /// The synonyms in force.
    pub fn synonyms(&self) -> Arc<Synonyms> {
        self.inner.synonyms.read().clone()
    }

    /// Puts `synonyms` in force for every search from now on.
    pub fn set_synonyms(&self, synonyms: Synonyms) {
        *self.inner.synonyms.write() = Arc::new(synonyms);
    }

    /// Like [`Self::set_synonyms`] unless a newer version is already in force (two
    /// replacements racing: the one stored last wins here too).
    pub fn set_synonyms_if_newer(&self, synonyms: Synonyms) {
        let mut current = self.inner.synonyms.write();
        if synonyms.version >= current.version {
            *current = Arc::new(synonyms);
        }
    }

    /// Loads the stored synonyms when their version is not the one in force; returns whether
    /// it did. A stored set that no longer compiles (bounds tightened since) is logged and
    /// the set in force kept.
    pub async fn load_synonyms_if_changed(&self, db: &Db) -> anyhow::Result<bool> {
        if db.synonyms_version().await? == self.synonyms().version {
            return Ok(false);
        }
        let Some(stored) = db.synonyms().await? else {
            return Ok(false);
        };
        let rules: Vec<SynonymRule> =
            serde_json::from_str(&stored.rules).context("stored synonyms are not valid JSON")?;
        match Synonyms::compile(&rules, &analyser()) {
            Ok(mut compiled) => {
                compiled.version = stored.version;
                compiled.updated_at = Some(stored.updated_at);
                self.set_synonyms(compiled);
                tracing::info!(
                    version = stored.version,
                    rules = rules.len(),
                    "search synonyms loaded"
                );
                Ok(true)
            }
            Err(e) => {
                tracing::warn!(error = %e, version = stored.version, "stored synonyms refused; keeping the set in force");
                Ok(false)
            }
        }
    }

    /// Runs a search (blocking: call from a blocking thread).
    pub fn search_blocking(&self, q: &SearchQuery) -> anyhow::Result<SearchOutcome> {
        execute::run(self, q)
    }

    pub(crate) fn stored_product(
        &self,
        searcher: &tantivy::Searcher,
        addr: DocAddress,
    ) -> anyhow::Result<Product> {
        let doc: TantivyDocument = searcher.doc(addr)?;
        let json = doc
            .get_first(self.inner.fields.doc)
            .and_then(|v| v.as_str())
            .context("indexed document has no stored product")?;
        Ok(serde_json::from_str(json)?)
    }

    /// Async wrapper of [`Self::search_blocking`].
    pub async fn search(&self, q: SearchQuery) -> anyhow::Result<SearchOutcome> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.search_blocking(&q)).await?
    }
}

#[cfg(test)]
mod tests;
