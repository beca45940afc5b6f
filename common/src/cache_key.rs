//! Canonical, versioned cache keys, the TTL table and invalidation tags.
//!
//! Why this lives in `common`: the origin's L1 (in-process), its L2 (Redis) and the edge all
//! have to agree, byte for byte, on what a cached thing is called. Two requests that mean the
//! same search (`"  Red  Shoes"` and `"red shoes"`, filters given in any order) must share one
//! entry, and two processes — or a native origin and a wasm32 Worker — must compute the same
//! key. So keys are built from a *canonical* form of the input and hashed with BLAKE3, a
//! stable, specified hash; never with `std`'s `DefaultHasher`, whose output is randomised per
//! process and may change between Rust releases.
//!
//! Shape: `v1:<namespace>:<id>`, e.g. `v1:search:6f1c…` (32 hex characters = 128 bits of
//! BLAKE3, plenty against accidental collisions at any cache size and half the memory of a
//! full hash) or `v1:product:42`. The `v1` prefix is the key *format* version: changing the
//! canonical encoding means bumping it, which orphans (rather than misreads) old entries.
//! A cached *response* that gains an optional field (products' `images.placeholder`) needs no
//! bump: entries are bytes served as they were stored, so an older entry is a valid answer of
//! the older shape until its TTL or the invalidation that made the new field appear.
//!
//! Invalidation has two tools, both without `KEYS`:
//! * **Namespace generations.** [`CacheKey::in_generation`] inserts a generation number
//!   (`v1:search:g7:…`). The current generation of a namespace is a counter stored at
//!   [`generation_counter_key`]; bumping it makes every key of the old generation unreachable
//!   at once (they then age out by TTL, or a background `SCAN`/`UNLINK` on `v1:search:g6:*`
//!   reclaims them). A product write bumps the search generation, because any cached search
//!   could contain that product. Generation 0 is the plain key, so a namespace that was never
//!   bumped keeps its original keys.
//! * **Tags.** [`Tag`] names a group of entries across tiers (`product:42`), used for the
//!   product key itself and for edge purges by tag.
//!
//! TTLs come from the seed's table ([`Namespace::base_ttl`]), with reduce-only jitter
//! ([`ttl_with_jitter`]) so that entries written together do not expire together and
//! stampede the database. Randomness is passed in: `common` has no RNG and no clock.

use std::fmt;
use std::time::Duration;

use crate::api::{ImageId, Limit, Offset, SearchFilters, SortOrder};
use crate::error::InvalidInput;

/// The key-format version, the first segment of every key.
pub const KEY_VERSION: &str = "v1";

/// Hex characters of BLAKE3 output kept in hashed keys (128 bits).
const HASH_HEX_CHARS: usize = 32;

/// TTL of thumbnails: they are keyed by source content hash + spec + format, so an entry can
/// never become wrong, only unused; a day keeps the working set warm without pinning it.
const THUMB_TTL_SECS: u64 = 86_400;

/// What kind of thing a key names; decides the TTL and the invalidation unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Namespace {
    /// Text and image search result pages.
    Search,
    /// Image embeddings, keyed by image content hash.
    Embed,
    /// One product by id.
    Product,
    /// Per-user data (never shared across users).
    User,
    /// Recommendations ("similar items").
    Rec,
    /// Resized thumbnails.
    Thumb,
    /// Anything else; uses the configured default TTL.
    Other,
}

impl Namespace {
    /// Every namespace, in a fixed order (for metrics and admin listings).
    pub const ALL: [Namespace; 7] = [
        Namespace::Search,
        Namespace::Embed,
        Namespace::Product,
        Namespace::User,
        Namespace::Rec,
        Namespace::Thumb,
        Namespace::Other,
    ];

    /// This namespace's position in [`Namespace::ALL`] (for per-namespace arrays).
    pub fn index(self) -> usize {
        Namespace::ALL
            .iter()
            .position(|n| *n == self)
            .unwrap_or(Namespace::ALL.len() - 1)
    }

    /// The key segment and metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            Namespace::Search => "search",
            Namespace::Embed => "embed",
            Namespace::Product => "product",
            Namespace::User => "user",
            Namespace::Rec => "rec",
            Namespace::Thumb => "thumb",
            Namespace::Other => "other",
        }
    }

    /// Parses a namespace name (exact, lower-case), e.g. from `POST /api/cache/invalidate`.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        Namespace::ALL
            .into_iter()
            .find(|ns| ns.as_str() == raw.trim())
            .ok_or_else(|| {
                InvalidInput::new(
                    "namespace",
                    "must be one of search, embed, product, user, rec, thumb, other",
                )
            })
    }

    /// The seed's TTL table. `default_ttl` is `CACHE_TTL_DEFAULT`, used for [`Namespace::Other`].
    ///
    /// search 1800 s, embed 7200 s (an embedding of given bytes never changes, but the model
    /// might), product 3600 s (writes invalidate explicitly), user 1800 s, rec 900 s
    /// (recommendations should follow stock and trends), thumb 86400 s (content-addressed).
    pub fn base_ttl(self, default_ttl: Duration) -> Duration {
        let secs = match self {
            Namespace::Search => 1800,
            Namespace::Embed => 7200,
            Namespace::Product => 3600,
            Namespace::User => 1800,
            Namespace::Rec => 900,
            Namespace::Thumb => THUMB_TTL_SECS,
            Namespace::Other => return default_ttl,
        };
        Duration::from_secs(secs)
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The namespace TTL shortened by a random fraction of up to `jitter_fraction` of itself.
///
/// Jitter only ever *shortens* the TTL: the table is a bound on staleness that callers rely
/// on, so it must not be exceeded. `jitter_fraction` is clamped to `0.0..=0.5` (NaN → 0);
/// `random` is any uniformly random `u32` the caller drew. The result is whole milliseconds
/// and never below one second (or the base TTL, if that is shorter), so a jittered entry is
/// never written already expired.
pub fn ttl_with_jitter(
    ns: Namespace,
    default_ttl: Duration,
    jitter_fraction: f64,
    random: u32,
) -> Duration {
    let base = ns.base_ttl(default_ttl);
    let fraction = if jitter_fraction.is_nan() {
        0.0
    } else {
        jitter_fraction.clamp(0.0, 0.5)
    };
    let base_ms = u64::try_from(base.as_millis()).unwrap_or(u64::MAX);
    // `random / 2^32` is uniform in [0, 1); f64 holds both factors exactly enough.
    let unit = f64::from(random) / 4_294_967_296.0;
    let cut_ms = (base_ms as f64 * fraction * unit) as u64;
    let floor_ms = base_ms.min(1000);
    Duration::from_millis(base_ms.saturating_sub(cut_ms).max(floor_ms))
}

/// A canonical cache key. Only the builders in this module make one, so a `CacheKey` is
/// always well formed: `v1:<namespace>:[g<generation>:]<id>`, ASCII, no spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey {
    key: String,
    namespace: Namespace,
}

impl CacheKey {
    fn new(namespace: Namespace, id: &str) -> Self {
        Self {
            key: format!("{KEY_VERSION}:{}:{id}", namespace.as_str()),
            namespace,
        }
    }

    /// A key of `namespace` for an arbitrary caller-chosen identity: the parts are hashed
    /// (length-prefixed, so `["ab", "c"]` and `["a", "bc"]` differ). For [`Namespace::User`],
    /// [`Namespace::Rec`] and [`Namespace::Other`] entries that have no dedicated builder.
    pub fn hashed(namespace: Namespace, parts: &[&str]) -> Self {
        let mut h = Canonical::new(namespace.as_str());
        for part in parts {
            h.str(part);
        }
        Self::new(namespace, &h.finish_hex())
    }

    /// The same key in namespace generation `generation` (`v1:search:g7:…`). Generation 0 is
    /// the key itself; calling this on a key that already has a generation replaces it.
    pub fn in_generation(&self, generation: u64) -> CacheKey {
        let prefix = format!("{KEY_VERSION}:{}:", self.namespace.as_str());
        let rest = self.key.strip_prefix(&prefix).unwrap_or(&self.key);
        let id = strip_generation(rest);
        if generation == 0 {
            Self::new(self.namespace, id)
        } else {
            Self::new(self.namespace, &format!("g{generation}:{id}"))
        }
    }

    /// The key as stored in Redis / used in the L1 map.
    pub fn as_str(&self) -> &str {
        &self.key
    }

    /// The namespace, for the TTL and metrics labels.
    pub fn namespace(&self) -> Namespace {
        self.namespace
    }
}

/// Removes a leading `g<digits>:` generation segment from an id, if present.
fn strip_generation(id: &str) -> &str {
    if let Some(rest) = id.strip_prefix('g')
        && let Some((digits, tail)) = rest.split_once(':')
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        return tail;
    }
    id
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

impl AsRef<str> for CacheKey {
    fn as_ref(&self) -> &str {
        &self.key
    }
}

/// Where the current generation number of `ns` is stored (`v1:gen:search`).
pub fn generation_counter_key(ns: Namespace) -> String {
    format!("{KEY_VERSION}:gen:{}", ns.as_str())
}

/// The `SCAN` pattern matching every key of `ns`, all generations (`v1:search:*`).
pub fn namespace_pattern(ns: Namespace) -> String {
    format!("{KEY_VERSION}:{}:*", ns.as_str())
}

/// Length-prefixed, domain-separated BLAKE3 input: the canonical encoding of a key.
struct Canonical(blake3::Hasher);

impl Canonical {
    fn new(domain: &str) -> Self {
        let mut h = blake3::Hasher::new();
        h.update(b"vitrine.cache_key.");
        h.update(KEY_VERSION.as_bytes());
        h.update(b"\0");
        let mut c = Self(h);
        c.str(domain);
        c
    }

    fn bytes(&mut self, b: &[u8]) {
        self.0.update(&(b.len() as u64).to_le_bytes());
        self.0.update(b);
    }

    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    fn u64(&mut self, n: u64) {
        self.0.update(&n.to_le_bytes());
    }

    fn finish_hex(&self) -> String {
        let hash = self.0.finalize();
        let mut hex = hash.to_hex().to_string();
        hex.truncate(HASH_HEX_CHARS);
        hex
    }
}

/// The canonical form of a search query: Unicode lower case, trimmed, runs of (Unicode)
/// whitespace collapsed to one ASCII space. `"  Red\u{3000}SHOES "` → `"red shoes"`.
///
/// Not applied: Unicode normalisation (NFC), which would need tables this crate does not
/// carry; the search index tokenises both forms alike, so at worst NFD input gets its own
/// cache entry.
pub fn normalize_query(query: &str) -> String {
    let mut out = String::with_capacity(query.len());
    for word in query.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        // `str::to_lowercase` (not per char) so Greek final sigma comes out as `ς`.
        out.push_str(&word.to_lowercase());
    }
    out
}

/// Search filters as `(name, value)` pairs, the form [`search_results_with_pairs`] sorts.
pub fn filter_pairs(filters: &SearchFilters) -> Vec<(&'static str, String)> {
    let mut pairs = Vec::with_capacity(2 + filters.category.len() + filters.brand.len());
    for c in &filters.category {
        pairs.push(("category", c.as_str().to_owned()));
    }
    for b in &filters.brand {
        pairs.push(("brand", b.as_str().to_owned()));
    }
    if let Some(p) = filters.price_min {
        pairs.push(("price_min", p.minor_units().to_string()));
    }
    if let Some(p) = filters.price_max {
        pairs.push(("price_max", p.minor_units().to_string()));
    }
    pairs
}

fn search_key<K: AsRef<str>, V: AsRef<str>>(
    kind: &str,
    subject: &str,
    filters: &[(K, V)],
    limit: Limit,
    offset: Offset,
) -> CacheKey {
    let mut sorted: Vec<(&str, &str)> = filters
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .collect();
    sorted.sort_unstable();
    let mut h = Canonical::new(Namespace::Search.as_str());
    h.str(kind);
    h.str(subject);
    h.u64(sorted.len() as u64);
    for (k, v) in sorted {
        h.str(k);
        h.str(v);
    }
    h.u64(u64::from(limit.get()));
    h.u64(u64::from(offset.get()));
    CacheKey::new(Namespace::Search, &h.finish_hex())
}

/// The key of one page of text-search results: normalised query, filters, sort, limit,
/// offset.
///
/// Filter values are kept as given (already trimmed by their `parse`): whether "Laptops" and
/// "laptops" are the same category is the catalog's business, not the cache's. The sort is
/// one more pair, left out for relevance (the default), so keys of relevance-ordered pages
/// stay what they were before sorting existed.
pub fn search_results(
    query: &str,
    filters: &SearchFilters,
    sort: SortOrder,
    limit: Limit,
    offset: Offset,
) -> CacheKey {
    let mut pairs = filter_pairs(filters);
    if sort != SortOrder::Relevance {
        pairs.push(("sort", sort.as_str().to_owned()));
    }
    search_results_with_pairs(query, &pairs, limit, offset)
}

/// Like [`search_results`] for filters given as `(name, value)` pairs in any order (e.g.
/// straight from a query string). Pairs are sorted by name, then value, so order never
/// matters; repeated names (multi-valued filters) are kept.
pub fn search_results_with_pairs<K: AsRef<str>, V: AsRef<str>>(
    query: &str,
    filters: &[(K, V)],
    limit: Limit,
    offset: Offset,
) -> CacheKey {
    search_key("text", &normalize_query(query), filters, limit, offset)
}

/// The key of one page of image-search results for an uploaded image's content hash and the
/// visual model that embedded it (`model`: the model id and version, e.g.
/// `descriptor-v4`), so instances running different models during a rollout never share
/// results. It is in the search namespace, so the same generation bump invalidates it on
/// product writes.
pub fn image_search_results(
    content_hash: &ImageId,
    model: &str,
    filters: &SearchFilters,
    limit: Limit,
    offset: Offset,
) -> CacheKey {
    let mut subject = String::with_capacity(content_hash.as_str().len() + 1 + model.len());
    subject.push_str(content_hash.as_str());
    subject.push('\0');
    subject.push_str(model);
    search_key("image", &subject, &filter_pairs(filters), limit, offset)
}

/// The key of an image's analysis (embedding, descriptor, labels) by one visual model:
/// `v1:embed:<content hash>:<model>`. The content hash is already a BLAKE3 hash of the
/// bytes, so it is used as is (readable in `redis-cli`); `model` is the model id and
/// version (`descriptor-v4`, `efficientnet-lite0@<weights>+descriptor-v4`), so another
/// model never reads this one's entry. Characters outside `A–Z a–z 0–9 . _ @ + -` in
/// `model` become `_`, which keeps the key ASCII without spaces.
pub fn image_embedding(content_hash: &ImageId, model: &str) -> CacheKey {
    let model: String = model
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._@+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    CacheKey::new(
        Namespace::Embed,
        &format!("{}:{model}", content_hash.as_str()),
    )
}

/// The key of one product: `v1:product:<id>`.
pub fn product(id: i64) -> CacheKey {
    CacheKey::new(Namespace::Product, &id.to_string())
}

/// What the renderer makes of a spec: bumped when the same spec string renders other pixels
/// (2: no enlargement unless `el:1`), so thumbnails cached on disk or at the edge under the
/// old meaning are never served again.
pub const THUMBNAIL_RENDER_VERSION: u32 = 2;

/// The key of one rendered thumbnail: source content hash, canonical spec string (as the
/// thumbnail module prints it), concrete output format (`"webp"`, never `"auto"`) and
/// [`THUMBNAIL_RENDER_VERSION`].
pub fn thumbnail(source_hash: &str, spec: &str, format: &str) -> CacheKey {
    let mut h = Canonical::new(Namespace::Thumb.as_str());
    h.str(&THUMBNAIL_RENDER_VERSION.to_string());
    h.str(source_hash);
    h.str(spec);
    h.str(format);
    CacheKey::new(Namespace::Thumb, &h.finish_hex())
}

/// An invalidation tag: a name for a group of cached entries, in every tier and at the edge
/// (sent as `Cache-Tag`). Lower-case ASCII `a–z 0–9 : _ - .`, 1–128 characters, so it is
/// safe in a header, a Redis key and a Cloudflare purge request alike.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    /// Longest accepted tag (Cloudflare's per-tag limit is 1024 bytes; ours are short).
    pub const MAX_LEN: usize = 128;

    /// The tag of everything derived from one product: `product:{id}`.
    pub fn product(id: i64) -> Self {
        Self(format!("product:{id}"))
    }

    /// The tag of a whole namespace: `ns:{name}`.
    pub fn namespace(ns: Namespace) -> Self {
        Self(format!("ns:{}", ns.as_str()))
    }

    /// Parses an untrusted tag (admin endpoint, purge request). Upper case is folded.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let tag = raw.trim().to_ascii_lowercase();
        if tag.is_empty() || tag.len() > Self::MAX_LEN {
            return Err(InvalidInput::new(
                "tag",
                format!("must be 1 to {} characters", Self::MAX_LEN),
            ));
        }
        if !tag
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b":_-.".contains(&b))
        {
            return Err(InvalidInput::new(
                "tag",
                "may contain only a-z, 0-9, ':', '_', '-' and '.'",
            ));
        }
        Ok(Self(tag))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Where the set of keys carrying this tag is stored (`v1:tag:product:42`).
    pub fn members_key(&self) -> String {
        format!("{KEY_VERSION}:tag:{}", self.0)
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The canonical form of a request target for URL-keyed caches (the edge's Cache API, the
/// origin's response cache): the path as is, then the query's `name=value` pairs sorted
/// (byte order, stable among equal names) with empty pairs dropped. `?b=2&a=1&` and `?a=1&b=2`
/// name one entry; percent-encoding is kept as sent, so the same bytes mean the same entry
/// and nothing is decoded twice. No query (or an empty one) gives the bare path.
pub fn canonical_target(path: &str, query: Option<&str>) -> String {
    let mut pairs: Vec<&str> = query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .collect();
    if pairs.is_empty() {
        return path.to_owned();
    }
    pairs.sort_by(|a, b| {
        let name = |p: &str| p.split_once('=').map_or(p, |(n, _)| n).to_owned();
        name(a).cmp(&name(b))
    });
    format!("{path}?{}", pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_targets_sort_query_pairs() {
        assert_eq!(canonical_target("/api/products", None), "/api/products");
        assert_eq!(canonical_target("/api/products", Some("")), "/api/products");
        assert_eq!(
            canonical_target("/api/search/text", Some("q=red&limit=5&&")),
            "/api/search/text?limit=5&q=red"
        );
        assert_eq!(
            canonical_target("/a", Some("b=2&a=1")),
            canonical_target("/a", Some("a=1&b=2"))
        );
        // Equal names keep their order: `tag=x&tag=y` and `tag=y&tag=x` may differ in meaning.
        assert_eq!(
            canonical_target("/a", Some("t=y&a=1&t=x")),
            "/a?a=1&t=y&t=x"
        );
    }
    use crate::api::{Brand, Category, Price};

    fn filters() -> SearchFilters {
        SearchFilters {
            category: vec![Category::parse("Laptops").unwrap()],
            brand: vec![Brand::parse("Acme").unwrap()],
            price_min: Some(Price::parse(1000).unwrap()),
            price_max: None,
        }
    }

    #[test]
    fn search_key_is_stable_across_releases() {
        // Hard-coded on purpose: if this changes, every cache in production is orphaned.
        // Change it only together with KEY_VERSION.
        let key = search_results(
            "Laptop Computer",
            &filters(),
            SortOrder::Relevance,
            Limit::parse(20).unwrap(),
            Offset::parse(0).unwrap(),
        );
        assert_eq!(key.as_str(), "v1:search:22a33416b747c643e11c415b297c9fbc");
        assert_eq!(key.namespace(), Namespace::Search);
    }

    #[test]
    fn thumbnail_key_is_stable_across_releases() {
        // Change it only together with THUMBNAIL_RENDER_VERSION.
        let key = thumbnail("ab".repeat(32).as_str(), "w:300/h:200/fit:cover", "webp");
        assert_eq!(key.as_str(), "v1:thumb:e66f194fbab14a08474fd29ec8a6635c");
    }

    #[test]
    fn query_normalisation_is_unicode_safe() {
        assert_eq!(normalize_query("  Red \t\n SHOES  "), "red shoes");
        assert_eq!(normalize_query("ÉCOLE\u{3000}Straße"), "école straße");
        assert_eq!(normalize_query("İstanbul"), "i\u{307}stanbul");
        assert_eq!(normalize_query(" \u{a0} "), "");
        assert_eq!(normalize_query("ΣΊΣΥΦΟΣ  ΟΔΟΣ"), "σίσυφος οδος");
    }

    #[test]
    fn equivalent_queries_share_a_key() {
        let l = Limit::default();
        let o = Offset::default();
        let f = SearchFilters::default();
        let a = search_results("laptop computer", &f, SortOrder::Relevance, l, o);
        for q in [
            "Laptop Computer",
            "  laptop   computer ",
            "LAPTOP\tCOMPUTER\n",
        ] {
            assert_eq!(
                search_results(q, &f, SortOrder::Relevance, l, o),
                a,
                "{q:?}"
            );
        }
        assert_ne!(
            search_results("laptop computers", &f, SortOrder::Relevance, l, o),
            a
        );
        assert_ne!(
            search_results("laptopcomputer", &f, SortOrder::Relevance, l, o),
            a
        );
    }

    #[test]
    fn limit_offset_and_filters_change_the_key() {
        let f = filters();
        let base = search_results(
            "x",
            &f,
            SortOrder::Relevance,
            Limit::default(),
            Offset::default(),
        );
        let other_limit = search_results(
            "x",
            &f,
            SortOrder::Relevance,
            Limit::parse(21).unwrap(),
            Offset::default(),
        );
        let other_offset = search_results(
            "x",
            &f,
            SortOrder::Relevance,
            Limit::default(),
            Offset::parse(20).unwrap(),
        );
        let no_filters = search_results(
            "x",
            &SearchFilters::default(),
            SortOrder::Relevance,
            Limit::default(),
            Offset::default(),
        );
        let mut moved = f.clone();
        moved.price_max = moved.price_min.take();
        let moved = search_results(
            "x",
            &moved,
            SortOrder::Relevance,
            Limit::default(),
            Offset::default(),
        );
        let mut two_brands = f.clone();
        two_brands
            .brand
            .push(crate::api::Brand::parse("Kumo").unwrap());
        let two_brands = search_results(
            "x",
            &two_brands,
            SortOrder::Relevance,
            Limit::default(),
            Offset::default(),
        );
        let sorted: Vec<CacheKey> = [SortOrder::PriceAsc, SortOrder::PriceDesc, SortOrder::Newest]
            .into_iter()
            .map(|s| search_results("x", &f, s, Limit::default(), Offset::default()))
            .collect();
        let mut all = vec![
            &base,
            &other_limit,
            &other_offset,
            &no_filters,
            &moved,
            &two_brands,
        ];
        all.extend(sorted.iter());
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn filter_order_does_not_matter() {
        let pairs = [
            ("category", "Laptops"),
            ("brand", "Acme"),
            ("brand", "Zeta"),
            ("price_min", "1000"),
        ];
        let l = Limit::default();
        let o = Offset::default();
        let reference = search_results_with_pairs("q", &pairs, l, o);
        // Every rotation and the reverse of the list give the same key.
        for r in 0..pairs.len() {
            let mut p = pairs;
            p.rotate_left(r);
            assert_eq!(search_results_with_pairs("q", &p, l, o), reference);
            p.reverse();
            assert_eq!(search_results_with_pairs("q", &p, l, o), reference);
        }
        // The typed filters are the same pairs.
        let typed = search_results(
            "q",
            &SearchFilters {
                brand: Vec::new(),
                ..filters()
            },
            SortOrder::Relevance,
            l,
            o,
        );
        let untyped =
            search_results_with_pairs("q", &[("price_min", "1000"), ("category", "Laptops")], l, o);
        assert_eq!(typed, untyped);
    }

    #[test]
    fn length_prefixing_prevents_ambiguity() {
        let l = Limit::default();
        let o = Offset::default();
        let a = search_results_with_pairs("q", &[("ab", "c")], l, o);
        let b = search_results_with_pairs("q", &[("a", "bc")], l, o);
        assert_ne!(a, b);
        assert_ne!(
            CacheKey::hashed(Namespace::User, &["ab", "c"]),
            CacheKey::hashed(Namespace::User, &["a", "bc"])
        );
        assert_ne!(thumbnail("a", "b", "c"), thumbnail("a", "bc", ""));
    }

    #[test]
    fn text_and_image_searches_never_collide() {
        let id = ImageId::parse("0".repeat(64)).unwrap();
        let f = SearchFilters::default();
        let img = image_search_results(
            &id,
            "descriptor-v4",
            &f,
            Limit::default(),
            Offset::default(),
        );
        let other_model = image_search_results(
            &id,
            "descriptor-v5",
            &f,
            Limit::default(),
            Offset::default(),
        );
        assert_ne!(img, other_model);
        let txt = search_results(
            id.as_str(),
            &f,
            SortOrder::Relevance,
            Limit::default(),
            Offset::default(),
        );
        assert_ne!(img, txt);
        assert_eq!(img.namespace(), Namespace::Search);
    }

    #[test]
    fn readable_keys() {
        assert_eq!(product(42).as_str(), "v1:product:42");
        assert_eq!(product(-1).as_str(), "v1:product:-1");
        let id = ImageId::parse("ab".repeat(32)).unwrap();
        assert_eq!(
            image_embedding(&id, "efficientnet-lite0@0123+descriptor-v4").as_str(),
            format!(
                "v1:embed:{}:efficientnet-lite0@0123+descriptor-v4",
                "ab".repeat(32)
            )
        );
        assert_eq!(
            image_embedding(&id, "a b").as_str(),
            format!("v1:embed:{}:a_b", "ab".repeat(32))
        );
        assert_eq!(generation_counter_key(Namespace::Search), "v1:gen:search");
        assert_eq!(namespace_pattern(Namespace::Thumb), "v1:thumb:*");
    }

    #[test]
    fn generations_rewrite_keys() {
        let k = product(7);
        let g3 = k.in_generation(3);
        assert_eq!(g3.as_str(), "v1:product:g3:7");
        assert_eq!(g3.namespace(), Namespace::Product);
        assert_eq!(g3.in_generation(4).as_str(), "v1:product:g4:7");
        assert_eq!(g3.in_generation(0), k);
        assert_eq!(k.in_generation(0), k);
        let s = search_results(
            "q",
            &SearchFilters::default(),
            SortOrder::Relevance,
            Limit::default(),
            Offset::default(),
        );
        let g = s.in_generation(12);
        assert!(g.as_str().starts_with("v1:search:g12:"));
        assert_ne!(g, s.in_generation(13));
        assert!(
            g.as_str()
                .starts_with(&namespace_pattern(Namespace::Search)[..10])
        );
    }

    #[test]
    fn keys_are_header_and_redis_safe() {
        let weird = "\u{0}\"'\\ \n\r ключ 🔑";
        let keys = [
            search_results(
                weird,
                &SearchFilters::default(),
                SortOrder::Relevance,
                Limit::default(),
                Offset::default(),
            ),
            thumbnail(weird, weird, weird),
            CacheKey::hashed(Namespace::Other, &[weird]),
            product(i64::MIN),
        ];
        for k in keys {
            assert!(k.as_str().bytes().all(|b| b.is_ascii_graphic()), "{k}");
            assert!(k.as_str().starts_with("v1:"));
        }
    }

    #[test]
    fn namespaces_round_trip_and_ttls_match_the_table() {
        for ns in Namespace::ALL {
            assert_eq!(Namespace::parse(ns.as_str()).unwrap(), ns);
        }
        assert!(Namespace::parse("Search").is_err());
        assert!(Namespace::parse("").is_err());
        let d = Duration::from_secs(600);
        let secs = |ns: Namespace| ns.base_ttl(d).as_secs();
        assert_eq!(secs(Namespace::Search), 1800);
        assert_eq!(secs(Namespace::Embed), 7200);
        assert_eq!(secs(Namespace::Product), 3600);
        assert_eq!(secs(Namespace::User), 1800);
        assert_eq!(secs(Namespace::Rec), 900);
        assert_eq!(secs(Namespace::Other), 600);
    }

    #[test]
    fn jitter_only_shortens_and_stays_in_bounds() {
        let d = Duration::from_secs(300);
        assert_eq!(
            ttl_with_jitter(Namespace::Search, d, 0.1, 0),
            Duration::from_secs(1800)
        );
        assert_eq!(
            ttl_with_jitter(Namespace::Search, d, 0.0, u32::MAX),
            Duration::from_secs(1800)
        );
        assert_eq!(
            ttl_with_jitter(Namespace::Search, d, f64::NAN, u32::MAX),
            Duration::from_secs(1800)
        );
        // Half of the max random value cuts half of 10 % of 1800 s = 90 s.
        assert_eq!(
            ttl_with_jitter(Namespace::Search, d, 0.1, 1 << 31),
            Duration::from_secs(1710)
        );
        // A property-style sweep: always within [base·(1−f), base], f clamped to 0.5.
        let mut x: u32 = 0x9e37_79b9;
        for ns in Namespace::ALL {
            let base = ns.base_ttl(d);
            for f in [0.05, 0.1, 0.5, 3.0, -1.0] {
                let lo = base.mul_f64(1.0 - f64::clamp(f, 0.0, 0.5));
                for _ in 0..200 {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    let t = ttl_with_jitter(ns, d, f, x);
                    assert!(
                        t <= base && t + Duration::from_millis(1) >= lo,
                        "{ns} {f} {t:?}"
                    );
                }
            }
        }
        // Never below a second, even for a tiny default.
        assert_eq!(
            ttl_with_jitter(Namespace::Other, Duration::from_millis(1500), 0.5, u32::MAX),
            Duration::from_millis(1000)
        );
        assert_eq!(
            ttl_with_jitter(Namespace::Other, Duration::ZERO, 0.5, u32::MAX),
            Duration::ZERO
        );
    }

    #[test]
    fn tags() {
        assert_eq!(Tag::product(42).as_str(), "product:42");
        assert_eq!(Tag::namespace(Namespace::Search).as_str(), "ns:search");
        assert_eq!(Tag::parse(" Product:42 ").unwrap(), Tag::product(42));
        assert_eq!(Tag::product(42).members_key(), "v1:tag:product:42");
        assert!(Tag::parse("").is_err());
        assert!(Tag::parse("a b").is_err());
        assert!(Tag::parse("x\r\ny").is_err());
        assert!(Tag::parse(&"a".repeat(129)).is_err());
        assert!(Tag::parse(&"a".repeat(128)).is_ok());
    }
}
