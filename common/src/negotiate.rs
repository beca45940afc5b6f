//! Content negotiation: response compression (`Accept-Encoding`) and the `f:auto` image
//! format (`Accept`).
//!
//! Why one shared implementation: the edge caches *one variant per normalised encoding* and
//! asks the origin for exactly that encoding, so the edge and the origin must reach the same
//! decision from the same header, or the edge would cache a gzip body under the `br` variant.
//! The rules follow RFC 9110 §12.5.3 and §12.4.2:
//!
//! * An element with a malformed or out-of-range `q` (`br;q=1.5`, `gzip;q=abc`,
//!   `gzip;q=0.0001`) is ignored as a whole — never an error, never a 500.
//! * `q=0` means "not acceptable"; `*` stands for every coding not listed explicitly.
//! * `identity` is acceptable unless `identity;q=0`, or `*;q=0` without an explicit
//!   `identity` entry, excludes it. If then nothing enabled is acceptable, the answer is
//!   [`EncodingDecision::NotAcceptable`] and the caller sends 406.
//! * An *empty* `Accept-Encoding` means "no coding, please"; a *missing* one means any coding
//!   would do, but clients that send none (scripts, health checks) are better served plain,
//!   so both give identity.
//! * On equal `q` the server's order wins: br > zstd > gzip > deflate > identity. A coding the
//!   client merely tolerates through `*` is used too (it is acceptable by definition), but an
//!   explicit `identity` with a higher `q` than every coding is honoured.
//!
//! For images, wildcards are *not* trusted for modern formats: many clients send `*/*` and
//! cannot decode AVIF, so AVIF and WebP are chosen only when named explicitly; JPEG is the
//! universal fallback (an image endpoint sends JPEG rather than 406).

use std::fmt;

/// A content coding this server can produce (identity is the absence of one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Encoding {
    Brotli,
    Zstd,
    Gzip,
    Deflate,
}

impl Encoding {
    /// All codings in server preference order (best ratio/speed trade-off first).
    pub const PREFERENCE: [Encoding; 4] = [
        Encoding::Brotli,
        Encoding::Zstd,
        Encoding::Gzip,
        Encoding::Deflate,
    ];

    /// The coding's token in `Content-Encoding`.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Zstd => "zstd",
            Encoding::Gzip => "gzip",
            Encoding::Deflate => "deflate",
        }
    }

    /// Parses a coding token, case-insensitively; `x-gzip` is `gzip` (RFC 9110 §8.4.1.3).
    pub fn parse(token: &str) -> Option<Encoding> {
        let t = token.trim();
        Encoding::PREFERENCE
            .into_iter()
            .find(|e| t.eq_ignore_ascii_case(e.as_str()))
            .or_else(|| t.eq_ignore_ascii_case("x-gzip").then_some(Encoding::Gzip))
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of `Accept-Encoding` negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EncodingDecision {
    /// Compress with this coding.
    Use(Encoding),
    /// Send the body unencoded.
    Identity,
    /// Nothing acceptable (identity excluded too): respond 406.
    NotAcceptable,
}

impl EncodingDecision {
    /// The normalised token for cache variant keys and for the `Accept-Encoding` the edge
    /// sends to the origin: `br`, `zstd`, `gzip`, `deflate` or `identity`; `None` for 406.
    pub fn token(self) -> Option<&'static str> {
        match self {
            EncodingDecision::Use(e) => Some(e.as_str()),
            EncodingDecision::Identity => Some("identity"),
            EncodingDecision::NotAcceptable => None,
        }
    }
}

/// A quality value in thousandths, `0..=1000`.
pub type Qvalue = u16;

/// Parses `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )` into thousandths.
pub fn parse_qvalue(raw: &str) -> Option<Qvalue> {
    let (int, frac) = match raw.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (raw, None),
    };
    let whole: u16 = match int {
        "0" => 0,
        "1" => 1,
        _ => return None,
    };
    let mut thousandths: u16 = 0;
    if let Some(frac) = frac {
        if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        for (i, b) in frac.bytes().enumerate() {
            thousandths += u16::from(b - b'0') * [100, 10, 1][i];
        }
    }
    if whole == 1 && thousandths > 0 {
        return None;
    }
    Some(whole * 1000 + thousandths)
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// Splits one list element `value *( OWS ";" OWS param )` into its value and its `q`
/// (1000 when absent). `None` when the element is malformed: a bad `q`, two `q`s, or a
/// parameter without `=`. Other parameters are ignored.
fn split_weight(element: &str) -> Option<(&str, Qvalue)> {
    let mut parts = element.split(';');
    let value = parts.next()?.trim();
    let mut q = None;
    for param in parts {
        let (name, val) = param.split_once('=')?;
        let name = name.trim();
        if name.eq_ignore_ascii_case("q") {
            if q.is_some() {
                return None;
            }
            q = Some(parse_qvalue(val.trim())?);
        } else if !is_token(name) {
            return None;
        }
    }
    Some((value, q.unwrap_or(1000)))
}

/// A parsed `Accept-Encoding` field: the well-formed elements, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AcceptEncoding {
    /// `(lower-case coding, q)`; `*` and `identity` appear as themselves.
    elements: Vec<(String, Qvalue)>,
}

impl AcceptEncoding {
    /// Parses a field value; malformed elements are skipped.
    pub fn parse(header: &str) -> Self {
        let elements = header
            .split(',')
            .filter_map(|el| {
                let el = el.trim();
                if el.is_empty() {
                    return None;
                }
                let (coding, q) = split_weight(el)?;
                is_token(coding).then(|| (coding.to_ascii_lowercase(), q))
            })
            .collect();
        Self { elements }
    }

    /// True when no element survived parsing.
    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }

    fn explicit(&self, coding: &str) -> Option<Qvalue> {
        self.elements
            .iter()
            .find(|(c, _)| c == coding || (coding == "gzip" && c == "x-gzip"))
            .map(|&(_, q)| q)
    }

    /// The `q` the client gives `encoding`: explicit, else through `*`, else 0.
    pub fn quality(&self, encoding: Encoding) -> Qvalue {
        self.explicit(encoding.as_str())
            .or_else(|| self.explicit("*"))
            .unwrap_or(0)
    }

    /// The `q` of identity: explicit, else `*` if that is 0, else acceptable. An implicit
    /// identity ranks below every acceptable coding (it gets the lowest positive `q`).
    pub fn identity_quality(&self) -> Qvalue {
        match (self.explicit("identity"), self.explicit("*")) {
            (Some(q), _) => q,
            (None, Some(0)) => 0,
            _ => 1,
        }
    }

    /// Chooses among `enabled` codings (any order; the server order is fixed).
    pub fn decide(&self, enabled: &[Encoding]) -> EncodingDecision {
        let best = Encoding::PREFERENCE
            .into_iter()
            .filter(|e| enabled.contains(e))
            .map(|e| (self.quality(e), e))
            .filter(|&(q, _)| q > 0)
            // First of the maximum: `max_by_key` keeps the last, so compare by hand.
            .fold(None, |acc: Option<(Qvalue, Encoding)>, cur| match acc {
                Some(a) if a.0 >= cur.0 => Some(a),
                _ => Some(cur),
            });
        let identity = self.identity_quality();
        match best {
            Some((q, e)) if q >= identity => EncodingDecision::Use(e),
            _ if identity > 0 => EncodingDecision::Identity,
            _ => EncodingDecision::NotAcceptable,
        }
    }
}

/// Negotiates the response coding. `header` is the request's `Accept-Encoding` (several
/// field lines joined with `, `), `None` when absent; `enabled` are the codings this server
/// may use (`COMPRESSION_ENABLED=false` → pass `&[]`).
pub fn negotiate_encoding(header: Option<&str>, enabled: &[Encoding]) -> EncodingDecision {
    match header {
        None => EncodingDecision::Identity,
        Some(h) if h.trim().is_empty() => EncodingDecision::Identity,
        Some(h) => AcceptEncoding::parse(h).decide(enabled),
    }
}

/// The cache variant an `Accept-Encoding` maps to: one of `br`, `zstd`, `gzip`, `deflate`,
/// `identity`, or `None` when the request must be answered 406 (never cached).
pub fn encoding_variant(header: Option<&str>, enabled: &[Encoding]) -> Option<&'static str> {
    negotiate_encoding(header, enabled).token()
}

/// Bodies of at most this many bytes are sent unencoded: below it the coding's framing and
/// the CPU cost outweigh the bytes saved. Compression applies to bodies strictly larger.
pub const COMPRESSION_THRESHOLD_BYTES: u64 = 500;

/// Whether a response body is worth compressing.
///
/// `content_type` is the `Content-Type` value (parameters ignored); `content_length` is
/// `None` when unknown (streamed bodies are assumed large); `already_encoded` is true when
/// the response already has a `Content-Encoding` (other than identity) — it is passed
/// through, never encoded twice. Server-sent events are never compressed: a compressor
/// buffers, which delays events.
pub fn should_compress(
    content_type: &str,
    content_length: Option<u64>,
    already_encoded: bool,
) -> bool {
    if already_encoded {
        return false;
    }
    if content_length.is_some_and(|n| n <= COMPRESSION_THRESHOLD_BYTES) {
        return false;
    }
    is_compressible_type(content_type)
}

/// Whether a media type is text-like enough for compression to pay off.
pub fn is_compressible_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let Some((ty, sub)) = essence.split_once('/') else {
        return false;
    };
    match ty {
        "text" => sub != "event-stream" && is_token(sub),
        "image" => sub == "svg+xml",
        "font" => matches!(sub, "ttf" | "otf" | "sfnt" | "collection"),
        "application" => {
            matches!(
                sub,
                "json"
                    | "javascript"
                    | "x-javascript"
                    | "ecmascript"
                    | "xml"
                    | "wasm"
                    | "x-ndjson"
                    | "ndjson"
                    | "jsonl"
                    | "yaml"
                    | "x-yaml"
                    | "toml"
                    | "graphql"
                    | "x-www-form-urlencoded"
                    | "vnd.ms-fontobject"
                    | "x-font-ttf"
                    | "x-font-otf"
                    | "csv"
            ) || sub.ends_with("+json")
                || sub.ends_with("+xml")
        }
        _ => false,
    }
}

/// An output format `f:auto` can resolve to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AutoFormat {
    Avif,
    Webp,
    Jpeg,
}

impl AutoFormat {
    /// Server preference on equal `q`: smallest files first.
    pub const PREFERENCE: [AutoFormat; 3] = [AutoFormat::Avif, AutoFormat::Webp, AutoFormat::Jpeg];

    pub fn as_str(self) -> &'static str {
        match self {
            AutoFormat::Avif => "avif",
            AutoFormat::Webp => "webp",
            AutoFormat::Jpeg => "jpeg",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            AutoFormat::Avif => "image/avif",
            AutoFormat::Webp => "image/webp",
            AutoFormat::Jpeg => "image/jpeg",
        }
    }
}

impl fmt::Display for AutoFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `q` an `Accept` field gives a concrete `image/<sub>` type: the most specific matching
/// range wins (`image/webp` over `image/*` over `*/*`); `None` when no range matches.
/// With `explicit_only`, wildcards are not consulted.
fn accept_quality(accept: &str, sub: &str, explicit_only: bool) -> Option<Qvalue> {
    media_quality(accept, "image", sub, explicit_only)
}

/// The `q` an `Accept` field gives the concrete type `<ty>/<sub>` (see [`accept_quality`]).
fn media_quality(accept: &str, ty: &str, sub: &str, explicit_only: bool) -> Option<Qvalue> {
    let mut best: Option<(u8, Qvalue)> = None; // (specificity, q)
    for el in accept.split(',') {
        let el = el.trim();
        if el.is_empty() {
            continue;
        }
        let Some((range, q)) = split_weight(el) else {
            continue;
        };
        let Some((t, s)) = range.split_once('/') else {
            continue;
        };
        let (t, s) = (t.trim(), s.trim());
        if !is_token(t) || !is_token(s) {
            continue;
        }
        let specificity = if t.eq_ignore_ascii_case(ty) && s.eq_ignore_ascii_case(sub) {
            3
        } else if explicit_only {
            continue;
        } else if t.eq_ignore_ascii_case(ty) && s == "*" {
            2
        } else if t == "*" && s == "*" {
            1
        } else {
            continue;
        };
        // Equal specificity repeated: the first one counts.
        if best.is_none_or(|(sp, _)| specificity > sp) {
            best = Some((specificity, q));
        }
    }
    best.map(|(_, q)| q)
}

/// Resolves `f:auto` from the request's `Accept` (`None` when absent).
///
/// `available` lists the encoders this build has (AVIF is usually origin-only); JPEG is
/// always assumed available — it is the baseline every build can encode. AVIF and WebP need
/// an explicit, non-zero entry (`image/avif`); JPEG's `q` comes from `image/jpeg`,
/// `image/*` or `*/*`. The highest `q` wins, AVIF > WebP > JPEG on ties, and when nothing
/// is acceptable the answer is JPEG anyway. The response must carry `Vary: Accept`.
pub fn negotiate_image_format(accept: Option<&str>, available: &[AutoFormat]) -> AutoFormat {
    let Some(accept) = accept else {
        return AutoFormat::Jpeg;
    };
    let mut best: Option<(Qvalue, AutoFormat)> = None;
    for format in AutoFormat::PREFERENCE {
        let q = match format {
            AutoFormat::Jpeg => accept_quality(accept, "jpeg", false),
            _ if !available.contains(&format) => None,
            _ => accept_quality(accept, format.as_str(), true),
        }
        .unwrap_or(0);
        if q > 0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, format));
        }
    }
    best.map_or(AutoFormat::Jpeg, |(_, f)| f)
}

/// Whether a request for a resource that is an image *or* its JSON metadata (`GET
/// /api/images/{id}`) wants the JSON: `application/json` must get a non-zero `q` higher
/// than every image type the original can be (`image/jpeg`, `png`, `webp`, `gif`, through
/// `image/*` or `*/*` too). Ties, a missing field and `*/*` keep the image, as before the
/// metadata existed. The response must carry `Vary: Accept`.
pub fn prefers_json(accept: Option<&str>) -> bool {
    let Some(accept) = accept else { return false };
    let json = media_quality(accept, "application", "json", false).unwrap_or(0);
    let image = ["jpeg", "png", "webp", "gif"]
        .into_iter()
        .filter_map(|sub| accept_quality(accept, sub, false))
        .max()
        .unwrap_or(0);
    json > 0 && json > image
}

#[cfg(test)]
mod tests {
    use super::*;
    use Encoding::{Brotli, Deflate, Gzip, Zstd};
    use EncodingDecision::{Identity, NotAcceptable, Use};

    const ALL: &[Encoding] = &Encoding::PREFERENCE;

    #[test]
    fn qvalues() {
        let cases = [
            ("1", Some(1000)),
            ("1.", Some(1000)),
            ("1.000", Some(1000)),
            ("0", Some(0)),
            ("0.5", Some(500)),
            ("0.05", Some(50)),
            ("0.001", Some(1)),
            ("0.999", Some(999)),
            ("1.5", None),
            ("1.001", None),
            ("2", None),
            ("-0.5", None),
            ("0.0001", None),
            (".5", None),
            ("0.5x", None),
            ("", None),
            ("01", None),
            ("0,5", None),
            (" 0.5", None),
        ];
        for (raw, want) in cases {
            assert_eq!(parse_qvalue(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn accept_encoding_table() {
        let cases: &[(Option<&str>, &[Encoding], EncodingDecision)] = &[
            (None, ALL, Identity),
            (Some(""), ALL, Identity),
            (Some("   "), ALL, Identity),
            (Some("gzip, deflate, br, zstd"), ALL, Use(Brotli)),
            (Some("gzip, deflate, br"), ALL, Use(Brotli)),
            (Some("gzip, deflate"), ALL, Use(Gzip)),
            (Some("deflate, gzip"), ALL, Use(Gzip)),
            (Some("zstd, gzip"), ALL, Use(Zstd)),
            (Some("gzip;q=0.5, br;q=0.4"), ALL, Use(Gzip)),
            (Some("br;q=0.1, deflate"), ALL, Use(Deflate)),
            // `*` covers everything not listed; gzip is explicitly refused.
            (Some("gzip;q=0, *"), ALL, Use(Brotli)),
            (Some("gzip;q=0, *"), &[Gzip], Identity),
            (Some("*"), ALL, Use(Brotli)),
            (Some("*"), &[Gzip, Deflate], Use(Gzip)),
            (Some("*"), &[], Identity),
            // Identity refused.
            (Some("identity;q=0"), ALL, NotAcceptable),
            (Some("identity;q=0, gzip"), ALL, Use(Gzip)),
            (Some("identity;q=0, gzip"), &[Brotli], NotAcceptable),
            (Some("*;q=0"), ALL, NotAcceptable),
            (Some("*;q=0, identity"), ALL, Identity),
            (Some("*;q=0, gzip"), ALL, Use(Gzip)),
            (Some("*;q=0, identity;q=0.5, br"), ALL, Use(Brotli)),
            (Some("br;q=0, gzip;q=0"), ALL, Identity),
            // Explicit identity preferred over every coding is honoured.
            (Some("identity, gzip;q=0.5"), ALL, Identity),
            (Some("identity;q=0.5, gzip;q=0.5"), ALL, Use(Gzip)),
            // Malformed q: the whole element is ignored.
            (Some("br;q=1.5"), ALL, Identity),
            (Some("br;q=1.5, gzip"), ALL, Use(Gzip)),
            (Some("br;q=abc, gzip;q=0.2"), ALL, Use(Gzip)),
            (Some("br;q=0.0001"), ALL, Identity),
            (Some("br;q=0.5;q=0.6, gzip;q=0.1"), ALL, Use(Gzip)),
            (Some("br;q, deflate"), ALL, Use(Deflate)),
            (Some("identity;q=2"), ALL, Identity),
            // Unknown codings and junk are ignored.
            (Some("compress, sdch, exi"), ALL, Identity),
            (Some("bröt, gz ip, gzip"), ALL, Use(Gzip)),
            (Some(",,, ,gzip,,"), ALL, Use(Gzip)),
            (Some(";;;"), ALL, Identity),
            (Some("=;q="), ALL, Identity),
            // Case-insensitive, whitespace-tolerant, x-gzip is gzip.
            (Some("GZIP ; Q=0.8 , BR;q=0.7"), ALL, Use(Gzip)),
            (Some("x-gzip"), ALL, Use(Gzip)),
            // Disabled codings are never chosen; ties go to the server order.
            (Some("br, gzip"), &[Gzip], Use(Gzip)),
            (Some("br, gzip"), &[], Identity),
            (
                Some("deflate;q=0.9, gzip;q=0.9, zstd;q=0.9"),
                ALL,
                Use(Zstd),
            ),
            (
                Some("deflate;q=0.9, gzip;q=0.9"),
                &[Deflate, Gzip],
                Use(Gzip),
            ),
            // The first occurrence of a repeated coding counts.
            (Some("gzip;q=0, gzip"), &[Gzip], Identity),
        ];
        for (header, enabled, want) in cases {
            assert_eq!(
                negotiate_encoding(*header, enabled),
                *want,
                "{header:?} with {enabled:?}"
            );
        }
    }

    #[test]
    fn variant_tokens() {
        assert_eq!(encoding_variant(Some("gzip, br"), ALL), Some("br"));
        assert_eq!(encoding_variant(Some("gzip;q=0"), ALL), Some("identity"));
        assert_eq!(encoding_variant(None, ALL), Some("identity"));
        assert_eq!(encoding_variant(Some("*;q=0"), ALL), None);
        for e in Encoding::PREFERENCE {
            assert_eq!(Encoding::parse(e.as_str()), Some(e));
            assert_eq!(Encoding::parse(&e.as_str().to_uppercase()), Some(e));
            // The variant token fed back as a header gives the same variant (idempotent).
            assert_eq!(encoding_variant(Some(e.as_str()), ALL), Some(e.as_str()));
        }
        assert_eq!(encoding_variant(Some("identity"), ALL), Some("identity"));
        assert_eq!(Encoding::parse("identity"), None);
    }

    #[test]
    fn negotiation_never_panics_and_respects_enabled() {
        // Property-style sweep over generated headers.
        let atoms = [
            "br", "gzip", "zstd", "deflate", "identity", "*", "x-gzip", "q", ";", ",", "=", "q=",
            ";q=0", ";q=1", ";q=0.5", ";q=1.5", ";q=", " ", "é", "\"", "W/",
        ];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..5000 {
            let mut h = String::new();
            for _ in 0..(x % 9) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                h.push_str(atoms[(x % atoms.len() as u64) as usize]);
            }
            for enabled in [ALL, &[Gzip][..], &[][..]] {
                match negotiate_encoding(Some(&h), enabled) {
                    Use(e) => {
                        assert!(enabled.contains(&e), "{h:?}");
                        assert!(AcceptEncoding::parse(&h).quality(e) > 0, "{h:?}");
                    }
                    Identity => assert!(
                        AcceptEncoding::parse(&h).identity_quality() > 0 || h.trim().is_empty()
                    ),
                    NotAcceptable => assert_eq!(AcceptEncoding::parse(&h).identity_quality(), 0),
                }
            }
        }
    }

    #[test]
    fn compressibility() {
        let yes = [
            "text/html; charset=utf-8",
            "text/plain",
            "text/css",
            "TEXT/CSV",
            "application/json",
            "application/problem+json",
            "application/ld+json",
            "application/javascript",
            "application/xml",
            "application/rss+xml",
            "image/svg+xml",
            "application/wasm",
            "application/x-ndjson",
            "font/ttf",
        ];
        let no = [
            "text/event-stream",
            "text/event-stream; charset=utf-8",
            "image/jpeg",
            "image/png",
            "image/webp",
            "image/avif",
            "image/x-icon",
            "video/mp4",
            "audio/ogg",
            "font/woff2",
            "application/octet-stream",
            "application/zip",
            "application/gzip",
            "application/pdf",
            "multipart/form-data",
            "",
            "json",
            "text/",
        ];
        for t in yes {
            assert!(should_compress(t, Some(501), false), "{t}");
            assert!(should_compress(t, None, false), "{t}");
            assert!(!should_compress(t, Some(500), false), "{t}");
            assert!(!should_compress(t, Some(0), false), "{t}");
            assert!(!should_compress(t, Some(1_000_000), true), "{t}");
        }
        for t in no {
            assert!(!should_compress(t, Some(1_000_000), false), "{t}");
            assert!(!should_compress(t, None, false), "{t}");
        }
    }

    const AVAIL: &[AutoFormat] = &[AutoFormat::Avif, AutoFormat::Webp];

    #[test]
    fn image_format_table() {
        use AutoFormat::{Avif, Jpeg, Webp};
        let chrome = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";
        let safari = "image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5";
        let firefox_old = "image/webp,*/*";
        let cases: &[(Option<&str>, &[AutoFormat], AutoFormat)] = &[
            (Some(chrome), AVAIL, Avif),
            (Some(chrome), &[Webp], Webp),
            (Some(chrome), &[], Jpeg),
            (Some(safari), AVAIL, Avif),
            (Some(firefox_old), AVAIL, Webp),
            (None, AVAIL, Jpeg),
            (Some(""), AVAIL, Jpeg),
            // Wildcards do not unlock modern formats.
            (Some("*/*"), AVAIL, Jpeg),
            (Some("image/*"), AVAIL, Jpeg),
            // q-values are respected.
            (Some("image/avif;q=0.5, image/webp;q=0.9"), AVAIL, Webp),
            (Some("image/avif;q=0.5, image/*"), AVAIL, Jpeg),
            (Some("image/avif;q=0.5, image/jpeg;q=0.4"), AVAIL, Avif),
            (Some("image/avif;q=0, image/webp"), AVAIL, Webp),
            (
                Some("image/avif, image/webp;q=0, image/*;q=0"),
                &[Webp],
                Jpeg,
            ),
            (Some("image/webp, image/jpeg;q=0"), AVAIL, Webp),
            (Some("image/jpeg;q=0"), AVAIL, Jpeg),
            // Specific beats wildcard for JPEG.
            (
                Some("image/webp;q=0.5, image/jpeg;q=0.1, image/*"),
                AVAIL,
                Webp,
            ),
            // Malformed elements are ignored.
            (Some("image/avif;q=1.5, image/webp"), AVAIL, Webp),
            (Some("image/avif;q=x"), AVAIL, Jpeg),
            (Some("IMAGE/AVIF"), AVAIL, Avif),
            (Some("image/avif ; q=0.7 , image/webp;q=0.7"), AVAIL, Avif),
            (Some("avif, webp"), AVAIL, Jpeg),
        ];
        for (accept, avail, want) in cases {
            assert_eq!(
                negotiate_image_format(*accept, avail),
                *want,
                "{accept:?} with {avail:?}"
            );
        }
    }

    #[test]
    fn json_metadata_only_when_preferred_over_the_image() {
        let cases = [
            (None, false),
            (Some("application/json"), true),
            (Some("Application/JSON"), true),
            (Some("application/json, */*;q=0.1"), true),
            (Some("application/*"), true),
            (Some("*/*"), false),
            (Some("image/webp,*/*"), false),
            (Some("application/json, image/*"), false),
            (Some("application/json;q=0.5, image/png;q=0.4"), true),
            (Some("application/json;q=0"), false),
            (Some("text/html,application/xhtml+xml,*/*;q=0.8"), false),
            (Some("image/*;q=0, application/json;q=0.1"), true),
            (Some("garbage"), false),
        ];
        for (accept, want) in cases {
            assert_eq!(prefers_json(accept), want, "{accept:?}");
        }
    }
}
