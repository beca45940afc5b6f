//! HTTP caching semantics (RFC 9111, RFC 9110 §8.8 and §13, RFC 5861): `Cache-Control`,
//! per-namespace cache policies, ETags, `If-None-Match`, freshness and storability.
//!
//! Why here: the origin *emits* these headers and the edge *obeys* them. If each side had its
//! own reading of `s-maxage` or `stale-while-revalidate`, the edge would cache what the
//! origin meant to keep private, or serve stale data the origin never allowed. One parser,
//! one freshness function, used by both, makes "the edge honours exactly these headers" true
//! by construction.
//!
//! Choices worth knowing:
//! * Parsing is tolerant: unknown directives, empty list elements and malformed arguments
//!   never fail. A malformed `max-age`/`s-maxage` argument makes the response *stale*
//!   (treated as 0), as RFC 9111 §4.2.1 encourages; a malformed `stale-while-revalidate` or
//!   `stale-if-error` is ignored, which is the cautious reading. The first occurrence of a
//!   repeated directive wins. Values past 2^31 saturate (§1.2.2).
//! * The freshness function honours SWR and SIE even with `s-maxage`, whose implied
//!   `proxy-revalidate` would otherwise forbid stale serving: the RFC 5861 directives are an
//!   explicit permission from the origin and every CDN reads them that way. An explicit
//!   `must-revalidate`, `proxy-revalidate` (shared caches) or `no-cache` still forbids it.
//! * ETags are strong, computed from the identity body with BLAKE3 (`"b3-<22 chars>"`, 128
//!   bits base64url). A content-coded variant of the same body (gzip, br) should carry the
//!   *weak* form of that tag ([`EntityTag::weak`]), as nginx does: `If-None-Match` uses weak
//!   comparison, so a revalidation matches regardless of which coding the client received.
//! * Shared-cache storability is stricter than the RFC minimum: no `Set-Cookie` responses,
//!   and explicit freshness (`max-age`/`s-maxage`) is required since we compute no
//!   heuristic freshness.

use std::fmt;

use crate::cache_key::Namespace;

/// The largest delta-seconds value kept; larger ones saturate to it (RFC 9111 §1.2.2).
pub const DELTA_SECONDS_MAX: u64 = 1 << 31;

/// A parsed `Cache-Control` field (response directives, plus the request ones that share
/// names). `Default` is the empty field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheControl {
    pub public: bool,
    pub private: bool,
    pub no_store: bool,
    pub no_cache: bool,
    pub max_age: Option<u64>,
    pub s_maxage: Option<u64>,
    pub must_revalidate: bool,
    pub proxy_revalidate: bool,
    pub no_transform: bool,
    pub immutable: bool,
    pub stale_while_revalidate: Option<u64>,
    pub stale_if_error: Option<u64>,
}

/// Parses delta-seconds (`1*DIGIT`, also accepted quoted), saturating.
fn delta_seconds(raw: &str) -> Option<u64> {
    let raw = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(raw);
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        raw.parse::<u64>()
            .map_or(DELTA_SECONDS_MAX, |n| n.min(DELTA_SECONDS_MAX)),
    )
}

/// Splits a comma-separated list, respecting quoted strings (`no-cache="a, b"`).
fn split_list(field: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in field.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => {
                out.push(&field[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&field[start..]);
    out
}

impl CacheControl {
    /// Parses one field value (join multiple field lines with `", "` first, or use
    /// [`CacheControl::parse_lines`]). Never fails: see the module docs for what is ignored.
    pub fn parse(field: &str) -> Self {
        let mut cc = CacheControl::default();
        let mut seen_max_age = false;
        let mut seen_s_maxage = false;
        for element in split_list(field) {
            let element = element.trim();
            if element.is_empty() {
                continue;
            }
            let (name, arg) = match element.split_once('=') {
                Some((n, a)) => (n.trim(), Some(a.trim())),
                None => (element, None),
            };
            let name = name.to_ascii_lowercase();
            match name.as_str() {
                "public" => cc.public = true,
                // `private="set-cookie"` and `no-cache="set-cookie"` (field-qualified forms)
                // are treated as the unqualified directive: stricter, never wrong.
                "private" => cc.private = true,
                "no-cache" => cc.no_cache = true,
                "no-store" => cc.no_store = true,
                "must-revalidate" => cc.must_revalidate = true,
                "proxy-revalidate" => cc.proxy_revalidate = true,
                "no-transform" => cc.no_transform = true,
                "immutable" => cc.immutable = true,
                "max-age" if !seen_max_age => {
                    seen_max_age = true;
                    cc.max_age = Some(arg.and_then(delta_seconds).unwrap_or(0));
                }
                "s-maxage" if !seen_s_maxage => {
                    seen_s_maxage = true;
                    cc.s_maxage = Some(arg.and_then(delta_seconds).unwrap_or(0));
                }
                "stale-while-revalidate" if cc.stale_while_revalidate.is_none() => {
                    cc.stale_while_revalidate = arg.and_then(delta_seconds);
                }
                "stale-if-error" if cc.stale_if_error.is_none() => {
                    cc.stale_if_error = arg.and_then(delta_seconds);
                }
                _ => {}
            }
        }
        cc
    }

    /// Parses several field lines of one message as a single list.
    pub fn parse_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> Self {
        let joined: Vec<&str> = lines.into_iter().collect();
        Self::parse(&joined.join(", "))
    }

    /// The field value, directives in a fixed order (stable output for tests and caches).
    pub fn to_header_value(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        fn flag(on: bool, name: &str, parts: &mut Vec<String>) {
            if on {
                parts.push(name.to_owned());
            }
        }
        flag(self.public, "public", &mut parts);
        flag(self.private, "private", &mut parts);
        flag(self.no_store, "no-store", &mut parts);
        flag(self.no_cache, "no-cache", &mut parts);
        if let Some(v) = self.max_age {
            parts.push(format!("max-age={v}"));
        }
        if let Some(v) = self.s_maxage {
            parts.push(format!("s-maxage={v}"));
        }
        flag(self.must_revalidate, "must-revalidate", &mut parts);
        flag(self.proxy_revalidate, "proxy-revalidate", &mut parts);
        flag(self.no_transform, "no-transform", &mut parts);
        flag(self.immutable, "immutable", &mut parts);
        if let Some(v) = self.stale_while_revalidate {
            parts.push(format!("stale-while-revalidate={v}"));
        }
        if let Some(v) = self.stale_if_error {
            parts.push(format!("stale-if-error={v}"));
        }
        parts.join(", ")
    }

    /// The freshness lifetime in seconds for a shared or a private cache; `None` when the
    /// response gives no explicit lifetime (we compute no heuristic one).
    pub fn freshness_lifetime(&self, shared: bool) -> Option<u64> {
        if shared {
            self.s_maxage.or(self.max_age)
        } else {
            self.max_age
        }
    }
}

impl fmt::Display for CacheControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_header_value())
    }
}

/// What a response of one namespace tells browsers and shared caches.
///
/// Browsers cannot be purged, so their `max-age` stays short wherever data can change; the
/// edge and the origin's own caches can be purged by tag on writes, so `s-maxage` follows
/// the namespace TTL. `stale-while-revalidate` hides the refresh latency from shoppers, and a
/// long `stale-if-error` keeps the storefront browsable through an origin outage (showing a
/// slightly old price beats an error page; checkout re-reads prices anyway).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachePolicy(pub CacheControl);

impl CachePolicy {
    /// For responses that must never be stored: errors, admin, health, metrics.
    pub const NO_STORE: CachePolicy = CachePolicy(CacheControl {
        public: false,
        private: false,
        no_store: true,
        no_cache: false,
        max_age: None,
        s_maxage: None,
        must_revalidate: false,
        proxy_revalidate: false,
        no_transform: false,
        immutable: false,
        stale_while_revalidate: None,
        stale_if_error: None,
    });

    fn public(max_age: u64, s_maxage: u64, swr: u64, sie: u64) -> Self {
        CachePolicy(CacheControl {
            public: true,
            max_age: Some(max_age),
            s_maxage: Some(s_maxage),
            stale_while_revalidate: Some(swr),
            stale_if_error: Some(sie),
            ..CacheControl::default()
        })
    }

    /// The policy of a namespace; `default_ttl_secs` is `CACHE_TTL_DEFAULT` (for `Other`).
    ///
    /// | namespace | header |
    /// |---|---|
    /// | search | `public, max-age=60, s-maxage=1800, stale-while-revalidate=300, stale-if-error=86400` |
    /// | product | `public, max-age=60, s-maxage=3600, stale-while-revalidate=60, stale-if-error=86400` |
    /// | rec | `public, max-age=60, s-maxage=900, stale-while-revalidate=300, stale-if-error=86400` |
    /// | embed | `public, max-age=3600, s-maxage=7200, stale-while-revalidate=600, stale-if-error=86400` |
    /// | thumb | `public, max-age=31536000, immutable` |
    /// | user | `private, no-cache` |
    /// | other | `public, max-age=0, s-maxage=<default>, stale-while-revalidate=60, stale-if-error=3600` |
    ///
    /// * search: results shift as stock and ranking change, so browsers keep them a minute;
    ///   the edge keeps them for the search TTL and is purged on product writes. Five minutes
    ///   of SWR: a popular query is refreshed in the background, never waited for.
    /// * product: a price change must reach shoppers fast; browsers a minute, the edge an
    ///   hour (purged by tag on write), a short SWR so a purge-less change lags at most 61 s.
    /// * rec: similar-item lists (keyed by product, not by user), shorter TTL to follow trends.
    /// * embed: a pure function of image bytes and the model; longer everywhere.
    /// * thumb: the URL carries the source content hash and the signed spec, so the bytes at
    ///   a thumbnail URL never change: cache for a year, `immutable` stops reloads from
    ///   revalidating. (`f:auto` responses also need `Vary: Accept`.)
    /// * user: per-shopper data never goes to a shared cache; browsers revalidate each time
    ///   (cheap with the ETag: a 304 has no body).
    /// * other: browsers always revalidate, shared caches keep it for the default TTL.
    pub fn for_namespace(ns: Namespace, default_ttl_secs: u64) -> CachePolicy {
        match ns {
            Namespace::Search => Self::public(60, 1800, 300, 86_400),
            Namespace::Product => Self::public(60, 3600, 60, 86_400),
            Namespace::Rec => Self::public(60, 900, 300, 86_400),
            Namespace::Embed => Self::public(3600, 7200, 600, 86_400),
            Namespace::Thumb => CachePolicy(CacheControl {
                public: true,
                max_age: Some(31_536_000),
                immutable: true,
                ..CacheControl::default()
            }),
            Namespace::User => CachePolicy(CacheControl {
                private: true,
                no_cache: true,
                ..CacheControl::default()
            }),
            Namespace::Other => Self::public(0, default_ttl_secs.min(DELTA_SECONDS_MAX), 60, 3600),
        }
    }

    /// The `Cache-Control` field value.
    pub fn header_value(&self) -> String {
        self.0.to_header_value()
    }

    pub fn cache_control(&self) -> CacheControl {
        self.0
    }
}

/// An entity tag (RFC 9110 §8.8.3): opaque characters between quotes, maybe weak.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntityTag {
    weak: bool,
    /// Without the quotes.
    opaque: String,
}

fn is_etagc(b: u8) -> bool {
    b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80
}

impl EntityTag {
    /// A strong tag; `None` if `opaque` has characters an entity tag cannot carry.
    pub fn strong(opaque: &str) -> Option<Self> {
        opaque.bytes().all(is_etagc).then(|| Self {
            weak: false,
            opaque: opaque.to_owned(),
        })
    }

    /// The strong ETag of a body: `"b3-"` + base64url (no padding) of the first 16 bytes of
    /// its BLAKE3 hash. Deterministic across processes and targets.
    pub fn from_body(body: &[u8]) -> Self {
        let hash = blake3::hash(body);
        let mut opaque = String::from("b3-");
        base64url(&hash.as_bytes()[..16], &mut opaque);
        Self {
            weak: false,
            opaque,
        }
    }

    /// Parses one `entity-tag` (`"x"` or `W/"x"`); `None` if malformed.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        let (weak, rest) = match raw.strip_prefix("W/") {
            Some(r) => (true, r),
            None => (false, raw),
        };
        let opaque = rest.strip_prefix('"')?.strip_suffix('"')?;
        opaque.bytes().all(is_etagc).then(|| Self {
            weak,
            opaque: opaque.to_owned(),
        })
    }

    /// The weak form of this tag (for content-coded variants of the same body).
    pub fn weak(&self) -> Self {
        Self {
            weak: true,
            opaque: self.opaque.clone(),
        }
    }

    pub fn is_weak(&self) -> bool {
        self.weak
    }

    pub fn opaque(&self) -> &str {
        &self.opaque
    }

    /// Weak comparison: opaque parts equal, weakness ignored (RFC 9110 §8.8.3.2).
    pub fn weak_eq(&self, other: &EntityTag) -> bool {
        self.opaque == other.opaque
    }

    /// Strong comparison: both strong and opaque parts equal.
    pub fn strong_eq(&self, other: &EntityTag) -> bool {
        !self.weak && !other.weak && self.opaque == other.opaque
    }
}

impl fmt::Display for EntityTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.weak {
            f.write_str("W/")?;
        }
        write!(f, "\"{}\"", self.opaque)
    }
}

/// Shorthand for `EntityTag::from_body(body).to_string()`: the `ETag` header value.
pub fn strong_etag(body: &[u8]) -> String {
    EntityTag::from_body(body).to_string()
}

fn base64url(bytes: &[u8], out: &mut String) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let idx = (n >> (18 - 6 * i)) & 63;
            out.push(char::from(ALPHABET[idx as usize]));
        }
    }
}

/// Scans an `If-None-Match`-style list of entity tags, skipping malformed members. Entity
/// tags may contain commas, so this walks the quotes rather than splitting on `,`.
fn entity_tags(field: &str) -> Vec<EntityTag> {
    let bytes = field.as_bytes();
    let mut tags = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i] == b',' || bytes[i] == b' ' || bytes[i] == b'\t') {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let start = i;
        let mut weak = false;
        if bytes[i..].starts_with(b"W/") {
            weak = true;
            i += 2;
        }
        if i < bytes.len() && bytes[i] == b'"' {
            let open = i + 1;
            if let Some(len) = bytes[open..].iter().position(|&b| b == b'"') {
                let close = open + len;
                let opaque = &field[open..close];
                i = close + 1;
                // A member must end here: at the end, or at OWS then a comma.
                let mut j = i;
                while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'\t') {
                    j += 1;
                }
                if (j == bytes.len() || bytes[j] == b',') && opaque.bytes().all(is_etagc) {
                    tags.push(EntityTag {
                        weak,
                        opaque: opaque.to_owned(),
                    });
                    i = j;
                    continue;
                }
            } else {
                break; // unterminated quote: nothing after it can be trusted
            }
        }
        // Malformed member: skip to the next comma outside quotes.
        i = start.max(i);
        while i < bytes.len() && bytes[i] != b',' {
            i += 1;
        }
    }
    tags
}

/// Evaluates `If-None-Match` (RFC 9110 §13.1.2) against the current representation's tag:
/// `true` means "not modified" — answer a GET/HEAD with 304 and no body (other methods get
/// 412). `*` matches any current representation; a list matches when any member is weakly
/// equal (`W/"x"` matches `"x"`). Malformed members are ignored; an empty or entirely
/// malformed field matches nothing, so the full response is sent.
pub fn is_not_modified(if_none_match: &str, current: &EntityTag) -> bool {
    if if_none_match.trim() == "*" {
        return true;
    }
    entity_tags(if_none_match)
        .iter()
        .any(|tag| tag.weak_eq(current))
}

/// How usable a stored response is at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Serve it; it stays fresh for `remaining` more seconds.
    Fresh { remaining: u64 },
    /// Serve it and refresh in the background; the SWR window ends in `remaining` seconds.
    StaleWhileRevalidate { remaining: u64 },
    /// Serve it only if the origin fails; that allowance ends in `remaining` seconds.
    StaleIfError { remaining: u64 },
    /// Do not serve it without a successful revalidation.
    Expired,
}

impl Freshness {
    /// Servable without waiting for the origin.
    pub fn is_servable(self) -> bool {
        matches!(
            self,
            Freshness::Fresh { .. } | Freshness::StaleWhileRevalidate { .. }
        )
    }

    /// Servable when the origin errs or is unreachable.
    pub fn is_servable_on_error(self) -> bool {
        !matches!(self, Freshness::Expired)
    }
}

/// The freshness of a response stored at `stored_at` (unix seconds, when it was received,
/// its `Age` already subtracted by the caller if one came with it), evaluated at `now` by a
/// shared (`shared = true`, the edge) or private cache.
///
/// Age is `now - stored_at`, 0 if the clock went backwards. Fresh while age < lifetime;
/// then stale-while-revalidate up to lifetime + SWR; then stale-if-error up to lifetime +
/// SIE; then expired. Responses with `no-store`, `no-cache` or no explicit lifetime are
/// always expired (they need revalidation); `must-revalidate` (and `proxy-revalidate` in a
/// shared cache) forbid the two stale states.
pub fn freshness(cc: &CacheControl, stored_at: u64, now: u64, shared: bool) -> Freshness {
    if cc.no_store || cc.no_cache {
        return Freshness::Expired;
    }
    let Some(lifetime) = cc.freshness_lifetime(shared) else {
        return Freshness::Expired;
    };
    let age = now.saturating_sub(stored_at);
    if age < lifetime {
        return Freshness::Fresh {
            remaining: lifetime - age,
        };
    }
    if cc.must_revalidate || (shared && cc.proxy_revalidate) {
        return Freshness::Expired;
    }
    let stale_for = age - lifetime;
    if let Some(swr) = cc.stale_while_revalidate
        && stale_for < swr
    {
        return Freshness::StaleWhileRevalidate {
            remaining: swr - stale_for,
        };
    }
    if let Some(sie) = cc.stale_if_error
        && stale_for < sie
    {
        return Freshness::StaleIfError {
            remaining: sie - stale_for,
        };
    }
    Freshness::Expired
}

/// How long a shared cache should keep an entry at all: lifetime plus the longer stale
/// window (after that it can never be served). `None` if it should not be stored.
pub fn retention_secs(cc: &CacheControl) -> Option<u64> {
    let lifetime = cc.freshness_lifetime(true)?;
    if cc.no_store {
        return None;
    }
    let stale = if cc.must_revalidate || cc.proxy_revalidate {
        0
    } else {
        cc.stale_while_revalidate
            .unwrap_or(0)
            .max(cc.stale_if_error.unwrap_or(0))
    };
    Some(lifetime.saturating_add(stale))
}

/// Status codes a shared cache may store when the response allows it (final, understood,
/// and either heuristically cacheable or commonly given explicit freshness). 206 is left out
/// on purpose: we store no partial content.
fn cacheable_status(status: u16) -> bool {
    matches!(
        status,
        200 | 203 | 204 | 300 | 301 | 302 | 303 | 307 | 308 | 404 | 405 | 410 | 414 | 501
    )
}

/// Whether a shared cache (the edge, the origin's response cache) may store a response to a
/// GET (RFC 9111 §3, stricter where noted in the module docs): a cacheable status, no
/// `no-store`, no `private`, no `Set-Cookie`, and an explicit `s-maxage` or `max-age`.
/// (A request that carried `Authorization` additionally needs `public` or `s-maxage`; the
/// caller knows the request.)
pub fn is_storable(status: u16, cc: &CacheControl, has_set_cookie: bool) -> bool {
    cacheable_status(status)
        && !cc.no_store
        && !cc.private
        && !has_set_cookie
        && cc.freshness_lifetime(true).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_directives() {
        let cc = CacheControl::parse(
            "public, max-age=60, s-maxage=1800, stale-while-revalidate=300, stale-if-error=86400",
        );
        assert!(cc.public && !cc.private && !cc.no_store);
        assert_eq!(cc.max_age, Some(60));
        assert_eq!(cc.s_maxage, Some(1800));
        assert_eq!(cc.stale_while_revalidate, Some(300));
        assert_eq!(cc.stale_if_error, Some(86_400));
        let cc = CacheControl::parse(
            "Private, NO-CACHE, no-store, must-revalidate, proxy-revalidate, no-transform, immutable",
        );
        assert!(cc.private && cc.no_cache && cc.no_store && cc.must_revalidate);
        assert!(cc.proxy_revalidate && cc.no_transform && cc.immutable);
        assert_eq!(cc.max_age, None);
    }

    #[test]
    fn tolerates_malformed_input() {
        let cases: &[(&str, CacheControl)] = &[
            ("", CacheControl::default()),
            (",,, ,", CacheControl::default()),
            ("=", CacheControl::default()),
            ("bogus, x=y=z, ==", CacheControl::default()),
            (
                "max-age=abc",
                CacheControl {
                    max_age: Some(0),
                    ..Default::default()
                },
            ),
            (
                "max-age=-5",
                CacheControl {
                    max_age: Some(0),
                    ..Default::default()
                },
            ),
            (
                "max-age",
                CacheControl {
                    max_age: Some(0),
                    ..Default::default()
                },
            ),
            (
                "max-age=\"30\"",
                CacheControl {
                    max_age: Some(30),
                    ..Default::default()
                },
            ),
            (
                "max-age = 30",
                CacheControl {
                    max_age: Some(30),
                    ..Default::default()
                },
            ),
            (
                "max-age=30, max-age=90",
                CacheControl {
                    max_age: Some(30),
                    ..Default::default()
                },
            ),
            (
                "max-age=99999999999999999999999",
                CacheControl {
                    max_age: Some(DELTA_SECONDS_MAX),
                    ..Default::default()
                },
            ),
            ("stale-while-revalidate=x", CacheControl::default()),
            ("stale-if-error", CacheControl::default()),
            (
                "no-cache=\"set-cookie, x-foo\", max-age=5",
                CacheControl {
                    no_cache: true,
                    max_age: Some(5),
                    ..Default::default()
                },
            ),
            (
                "private=\"a,b\", public",
                CacheControl {
                    private: true,
                    public: true,
                    ..Default::default()
                },
            ),
            ("\"unterminated, max-age=5", CacheControl::default()),
            (
                "ünïcödé=1, s-maxage=7",
                CacheControl {
                    s_maxage: Some(7),
                    ..Default::default()
                },
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(CacheControl::parse(raw), *want, "{raw:?}");
        }
    }

    #[test]
    fn parse_never_panics_and_round_trips() {
        let atoms = [
            "max-age",
            "s-maxage",
            "=",
            "1",
            "99999999999999999999",
            ",",
            " ",
            "\"",
            "\\",
            "no-store",
            "private",
            "stale-if-error",
            "stale-while-revalidate",
            "é",
            ";",
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..5000 {
            let mut s = String::new();
            for _ in 0..(x % 10) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push_str(atoms[(x % atoms.len() as u64) as usize]);
            }
            let cc = CacheControl::parse(&s);
            // What we print, we read back identically.
            assert_eq!(CacheControl::parse(&cc.to_header_value()), cc, "{s:?}");
        }
    }

    #[test]
    fn parse_lines_joins() {
        let cc = CacheControl::parse_lines(["public", "max-age=5", ""]);
        assert!(cc.public);
        assert_eq!(cc.max_age, Some(5));
    }

    #[test]
    fn namespace_policies() {
        let v = |ns| CachePolicy::for_namespace(ns, 300).header_value();
        assert_eq!(
            v(Namespace::Search),
            "public, max-age=60, s-maxage=1800, stale-while-revalidate=300, stale-if-error=86400"
        );
        assert_eq!(
            v(Namespace::Product),
            "public, max-age=60, s-maxage=3600, stale-while-revalidate=60, stale-if-error=86400"
        );
        assert_eq!(v(Namespace::Thumb), "public, max-age=31536000, immutable");
        assert_eq!(v(Namespace::User), "private, no-cache");
        assert_eq!(
            v(Namespace::Other),
            "public, max-age=0, s-maxage=300, stale-while-revalidate=60, stale-if-error=3600"
        );
        assert_eq!(CachePolicy::NO_STORE.header_value(), "no-store");
        // The edge's s-maxage equals the origin cache TTL for the namespace.
        for ns in [
            Namespace::Search,
            Namespace::Product,
            Namespace::Rec,
            Namespace::Embed,
        ] {
            let cc = CachePolicy::for_namespace(ns, 300).cache_control();
            assert_eq!(
                cc.s_maxage,
                Some(ns.base_ttl(std::time::Duration::from_secs(300)).as_secs())
            );
            assert!(is_storable(200, &cc, false), "{ns}");
        }
        assert!(!is_storable(
            200,
            &CachePolicy::for_namespace(Namespace::User, 300).cache_control(),
            false
        ));
    }

    #[test]
    fn etags_are_stable_and_well_formed() {
        let tag = EntityTag::from_body(b"hello");
        // Pinned: BLAKE3("hello") starts ea8f163db38682925e4491c5e58d4bb3.
        assert_eq!(tag.to_string(), "\"b3-6o8WPbOGgpJeRJHF5Y1Lsw\"");
        assert_eq!(strong_etag(b""), "\"b3-rxNJufX5oaagQE3qNtzJSQ\"");
        assert_ne!(strong_etag(b"hello"), strong_etag(b"hello "));
        assert_eq!(EntityTag::parse(&tag.to_string()), Some(tag.clone()));
        assert_eq!(tag.weak().to_string(), "W/\"b3-6o8WPbOGgpJeRJHF5Y1Lsw\"");
        assert_eq!(tag.opaque().len(), 3 + 22);
        assert!(EntityTag::parse("abc").is_none());
        assert!(EntityTag::parse("\"a\"b\"").is_none());
        assert!(EntityTag::parse("w/\"a\"").is_none());
        assert!(EntityTag::strong("a b").is_none());
    }

    #[test]
    fn base64url_matches_known_vectors() {
        let enc = |b: &[u8]| {
            let mut s = String::new();
            base64url(b, &mut s);
            s
        };
        assert_eq!(enc(b""), "");
        assert_eq!(enc(b"f"), "Zg");
        assert_eq!(enc(b"fo"), "Zm8");
        assert_eq!(enc(b"foo"), "Zm9v");
        assert_eq!(enc(b"foobar"), "Zm9vYmFy");
        assert_eq!(enc(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn if_none_match_cases() {
        let cur = EntityTag::strong("b3-abc").unwrap();
        let cases = [
            ("\"b3-abc\"", true),
            ("W/\"b3-abc\"", true),
            ("*", true),
            (" * ", true),
            ("\"x\", \"b3-abc\"", true),
            ("\"x\",W/\"b3-abc\" ,\"y\"", true),
            ("\"x\", \"y\"", false),
            ("\"b3-abcd\"", false),
            ("\"B3-ABC\"", false),
            ("b3-abc", false),
            ("", false),
            ("w/\"b3-abc\"", false),
            ("\"b3-abc", false),
            ("\"a,b\", \"b3-abc\"", true),
            ("\"a,b\"", false),
            ("garbage, \"b3-abc\"", true),
            ("\"x\"junk, \"b3-abc\"", true),
            ("\"b3-abc\"junk", false),
            ("*, \"x\"", false),
            (",,,", false),
        ];
        for (field, want) in cases {
            assert_eq!(is_not_modified(field, &cur), want, "{field:?}");
        }
        // A weak current tag (compressed variant) still matches the strong one sent back.
        assert!(is_not_modified("\"b3-abc\"", &cur.weak()));
        assert!(cur.weak_eq(&cur.weak()));
        assert!(!cur.strong_eq(&cur.weak()));
        assert!(cur.strong_eq(&cur));
    }

    #[test]
    fn freshness_transitions() {
        let cc = CacheControl::parse(
            "max-age=60, s-maxage=100, stale-while-revalidate=50, stale-if-error=300",
        );
        let t0 = 1_700_000_000;
        let at = |age: u64, shared| freshness(&cc, t0, t0 + age, shared);
        assert_eq!(at(0, true), Freshness::Fresh { remaining: 100 });
        assert_eq!(at(99, true), Freshness::Fresh { remaining: 1 });
        assert_eq!(
            at(100, true),
            Freshness::StaleWhileRevalidate { remaining: 50 }
        );
        assert_eq!(
            at(149, true),
            Freshness::StaleWhileRevalidate { remaining: 1 }
        );
        assert_eq!(at(150, true), Freshness::StaleIfError { remaining: 250 });
        assert_eq!(at(399, true), Freshness::StaleIfError { remaining: 1 });
        assert_eq!(at(400, true), Freshness::Expired);
        // A private cache uses max-age.
        assert_eq!(at(59, false), Freshness::Fresh { remaining: 1 });
        assert_eq!(
            at(60, false),
            Freshness::StaleWhileRevalidate { remaining: 50 }
        );
        // Clock skew: stored "in the future" counts as age 0.
        assert_eq!(
            freshness(&cc, t0 + 10, t0, true),
            Freshness::Fresh { remaining: 100 }
        );
        // Servability.
        assert!(at(0, true).is_servable());
        assert!(at(120, true).is_servable());
        assert!(!at(200, true).is_servable() && at(200, true).is_servable_on_error());
        assert!(!at(400, true).is_servable_on_error());
    }

    #[test]
    fn freshness_prohibitions() {
        let t0 = 1000;
        let f = |raw: &str, age: u64| freshness(&CacheControl::parse(raw), t0, t0 + age, true);
        assert_eq!(f("no-store, max-age=60", 0), Freshness::Expired);
        assert_eq!(f("no-cache, max-age=60", 0), Freshness::Expired);
        assert_eq!(f("public", 0), Freshness::Expired);
        assert_eq!(f("max-age=0", 0), Freshness::Expired);
        assert_eq!(
            f("max-age=abc, stale-while-revalidate=10", 0),
            Freshness::StaleWhileRevalidate { remaining: 10 }
        );
        assert_eq!(
            f("max-age=10, must-revalidate, stale-while-revalidate=10", 10),
            Freshness::Expired
        );
        assert_eq!(
            f("max-age=10, proxy-revalidate, stale-if-error=10", 10),
            Freshness::Expired
        );
        assert_eq!(
            freshness(
                &CacheControl::parse("max-age=10, proxy-revalidate, stale-if-error=10"),
                t0,
                t0 + 10,
                false
            ),
            Freshness::StaleIfError { remaining: 10 }
        );
        // An SIE window shorter than SWR adds nothing.
        let short_sie = "max-age=10, stale-while-revalidate=30, stale-if-error=5";
        assert_eq!(
            f(short_sie, 35),
            Freshness::StaleWhileRevalidate { remaining: 5 }
        );
        assert_eq!(f(short_sie, 40), Freshness::Expired);
        // Huge values do not overflow.
        let huge = format!("max-age={}", u64::MAX);
        assert!(matches!(f(&huge, u64::MAX - t0), Freshness::Expired));
        assert_eq!(
            f(&huge, 0),
            Freshness::Fresh {
                remaining: DELTA_SECONDS_MAX
            }
        );
    }

    #[test]
    fn freshness_is_monotonic() {
        // Property: as time passes, the state only ever moves forward.
        let rank = |f: Freshness| match f {
            Freshness::Fresh { .. } => 0,
            Freshness::StaleWhileRevalidate { .. } => 1,
            Freshness::StaleIfError { .. } => 2,
            Freshness::Expired => 3,
        };
        for raw in [
            "max-age=5, stale-while-revalidate=3, stale-if-error=9",
            "s-maxage=2, stale-if-error=4",
            "max-age=3, stale-while-revalidate=10, stale-if-error=2",
            "max-age=0",
        ] {
            let cc = CacheControl::parse(raw);
            let mut last = 0;
            for now in 0..30 {
                let r = rank(freshness(&cc, 0, now, true));
                assert!(r >= last, "{raw} at {now}");
                last = r;
            }
            assert_eq!(last, 3, "{raw}");
        }
    }

    #[test]
    fn storability() {
        let cc = |raw: &str| CacheControl::parse(raw);
        assert!(is_storable(200, &cc("public, max-age=60"), false));
        assert!(is_storable(200, &cc("s-maxage=60"), false));
        assert!(is_storable(404, &cc("max-age=60"), false));
        assert!(is_storable(301, &cc("max-age=60"), false));
        assert!(is_storable(200, &cc("no-cache, max-age=60"), false));
        assert!(!is_storable(200, &cc("public, max-age=60"), true));
        assert!(!is_storable(200, &cc("private, max-age=60"), false));
        assert!(!is_storable(200, &cc("no-store, max-age=60"), false));
        assert!(!is_storable(200, &cc("public"), false));
        assert!(!is_storable(200, &cc(""), false));
        for status in [100, 206, 304, 400, 401, 403, 429, 500, 502, 503, 504] {
            assert!(
                !is_storable(status, &cc("public, max-age=60"), false),
                "{status}"
            );
        }
        assert_eq!(
            retention_secs(&cc(
                "s-maxage=100, stale-while-revalidate=50, stale-if-error=300"
            )),
            Some(400)
        );
        assert_eq!(
            retention_secs(&cc("max-age=100, must-revalidate, stale-if-error=300")),
            Some(100)
        );
        assert_eq!(retention_secs(&cc("no-store, max-age=1")), None);
        assert_eq!(retention_secs(&cc("public")), None);
    }
}
