//! Response compression: `common`'s negotiation and "is it worth it" rule in front of
//! tower-http's streaming encoders, with per-algorithm levels and byte counters.
//!
//! Why not a single `CompressionLayer`: tower-http negotiates `Accept-Encoding` itself and
//! takes one quality for every algorithm. We want the *same* decision the edge makes
//! (`common::negotiate`, so the edge's cached variant and the origin's body agree) and a
//! level chosen per algorithm (a brotli quality means something else than a gzip level). So
//! the outer middleware negotiates with `common`, answers 406 when the client refuses every
//! coding *and* identity (RFC 9110 §12.5.3), and rewrites `Accept-Encoding` to the one
//! chosen token; below it sit one single-algorithm `CompressionLayer` per coding, each with
//! its own level, of which only the chosen one acts. Their predicate is
//! `common::negotiate::should_compress` (more than 500 bytes, text-like types only, never
//! images, `text/event-stream` or an already-encoded body).
//!
//! Levels (`COMPRESSION_LEVEL`; `BROTLI_QUALITY` overrides brotli's):
//!
//! | level | br | zstd | gzip | deflate |
//! |---|---|---|---|---|
//! | fast | 1 | 1 | 1 | 1 |
//! | balanced (default) | 4 | 3 | 6 | 6 |
//! | maximum | 7 | 9 | 9 | 9 |
//!
//! Measured by `cargo bench --bench cache` on a 12.7 KB 20-result search response (2 shared
//! cores): br 1 → 33 % of the size in 110 µs, br 4 → 23 % in 0.67 ms, br 7 → 21.5 % in
//! 3.9 ms, br 11 → 19.8 % in 20 ms; zstd 3 → 23.5 % in 58 µs, zstd 9 → 22.4 % in 0.36 ms;
//! gzip 6 → 23.7 % in 152 µs. Past these levels each percent costs several times the CPU,
//! and brotli 11 is out of the question for dynamic responses.
//!
//! **Encoded variants are cached too.** A cached search is a map lookup, but encoding its
//! 13–25 KB of JSON with brotli 4 costs ~0.7 ms of CPU — per request, which made
//! compression the bottleneck of cached routes under browser-like traffic. So the innermost
//! layer keeps the encoded body of every cacheable response by (strong `ETag`, coding), in a
//! byte-bounded map (`COMPRESSION_CACHE_MAX_BYTES`, default 32 MiB; 0 turns it off): the
//! ETag is a hash of the body, so equal ETags mean equal bytes, and the first request of a
//! variant encodes it once (single-flight) for every later one. Only `200` answers to `GET`
//! with a strong ETag, not `private`/`no-store`, compressible and at most 1 MiB take this
//! path; everything else streams through the encoders. The edge caches each
//! variant as well, so behind it the origin compresses a given response rarely.

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::{Body, Bytes, HttpBody},
    extract::{Request, State},
    http::{HeaderValue, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use http_body::Frame;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower_http::compression::{CompressionLayer, CompressionLevel as TowerLevel, Predicate};
use vitrine_common::{
    http_cache::{CacheControl, EntityTag},
    negotiate::{Encoding, EncodingDecision, negotiate_encoding, should_compress},
};

use crate::{
    config::CompressionLevel, http::AppState, http::error::ApiError, observability::Metrics,
};

/// The level of each algorithm for a `COMPRESSION_LEVEL` (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Levels {
    pub brotli: u32,
    pub zstd: i32,
    pub gzip: u32,
    pub deflate: u32,
}

impl Levels {
    pub fn new(level: CompressionLevel, brotli_quality: Option<u32>) -> Levels {
        let l = match level {
            CompressionLevel::Fast => Levels {
                brotli: 1,
                zstd: 1,
                gzip: 1,
                deflate: 1,
            },
            CompressionLevel::Balanced => Levels {
                brotli: 4,
                zstd: 3,
                gzip: 6,
                deflate: 6,
            },
            CompressionLevel::Maximum => Levels {
                brotli: 7,
                zstd: 9,
                gzip: 9,
                deflate: 9,
            },
        };
        Levels {
            brotli: brotli_quality.unwrap_or(l.brotli).min(11),
            ..l
        }
    }

    fn of(&self, e: Encoding) -> i32 {
        match e {
            Encoding::Brotli => i32::try_from(self.brotli).unwrap_or(4),
            Encoding::Zstd => self.zstd,
            Encoding::Gzip => i32::try_from(self.gzip).unwrap_or(6),
            Encoding::Deflate => i32::try_from(self.deflate).unwrap_or(6),
        }
    }
}

fn algo_index(e: Encoding) -> usize {
    match e {
        Encoding::Brotli => 0,
        Encoding::Zstd => 1,
        Encoding::Gzip => 2,
        Encoding::Deflate => 3,
    }
}

/// Per algorithm: responses compressed, bytes before and after, time spent encoding.
#[derive(Debug, Default)]
pub struct CompressionStats {
    responses: [AtomicU64; 4],
    bytes_in: [AtomicU64; 4],
    bytes_out: [AtomicU64; 4],
    encode_nanos: [AtomicU64; 4],
    /// Requests answered 406 (nothing acceptable, identity refused).
    not_acceptable: AtomicU64,
    /// Encoded variants served from the variant cache / encoded and stored there.
    variant_hits: AtomicU64,
    variant_misses: AtomicU64,
}

/// One algorithm's totals (for `compression_bytes_total{algorithm, direction}` and friends).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlgorithmTotals {
    pub algorithm: &'static str,
    pub responses: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub encode_seconds: f64,
}

impl CompressionStats {
    fn record(&self, e: Encoding, bytes_in: u64, bytes_out: u64, busy: Duration) {
        let i = algo_index(e);
        self.responses[i].fetch_add(1, Ordering::Relaxed);
        self.bytes_in[i].fetch_add(bytes_in, Ordering::Relaxed);
        self.bytes_out[i].fetch_add(bytes_out, Ordering::Relaxed);
        self.add_encode_time(e, busy);
    }

    /// Time spent encoding: a streamed response's (from `record`), or a variant's for the
    /// variant cache (whose bytes are counted when the response is sent, like any other).
    fn add_encode_time(&self, e: Encoding, busy: Duration) {
        self.encode_nanos[algo_index(e)].fetch_add(
            u64::try_from(busy.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    pub fn totals(&self) -> Vec<AlgorithmTotals> {
        Encoding::PREFERENCE
            .into_iter()
            .map(|e| {
                let i = algo_index(e);
                AlgorithmTotals {
                    algorithm: e.as_str(),
                    responses: self.responses[i].load(Ordering::Relaxed),
                    bytes_in: self.bytes_in[i].load(Ordering::Relaxed),
                    bytes_out: self.bytes_out[i].load(Ordering::Relaxed),
                    encode_seconds: self.encode_nanos[i].load(Ordering::Relaxed) as f64 / 1e9,
                }
            })
            .collect()
    }

    pub fn not_acceptable(&self) -> u64 {
        self.not_acceptable.load(Ordering::Relaxed)
    }

    /// (hits, misses) of the encoded-variant cache.
    pub fn variants(&self) -> (u64, u64) {
        (
            self.variant_hits.load(Ordering::Relaxed),
            self.variant_misses.load(Ordering::Relaxed),
        )
    }
}

/// tower-http predicate delegating to `common::negotiate::should_compress`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Compressible;

impl Predicate for Compressible {
    fn should_compress<B>(&self, response: &axum::http::Response<B>) -> bool
    where
        B: HttpBody,
    {
        let headers = response.headers();
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let length = response.body().size_hint().exact().or_else(|| {
            headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
        });
        let encoded = headers
            .get(header::CONTENT_ENCODING)
            .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"));
        should_compress(content_type, length, encoded)
    }
}

/// The uncompressed size of a response, noted below the encoders for the byte counters.
#[derive(Debug, Clone, Copy)]
struct OriginalSize(u64);

/// Encodes a whole body with `encoding` at `level`, with the codec crates tower-http's
/// streaming encoders run on (HTTP `deflate` is the zlib format, RFC 9110 §8.4.1.2).
pub fn encode_bytes(encoding: Encoding, level: i32, input: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let flate_level = flate2::Compression::new(u32::try_from(level.clamp(0, 9)).unwrap_or(6));
    match encoding {
        Encoding::Brotli => {
            let params = brotli::enc::BrotliEncoderParams {
                quality: level.clamp(0, 11),
                lgwin: 22,
                ..Default::default()
            };
            let mut out = Vec::with_capacity(input.len() / 3);
            brotli::BrotliCompress(&mut &input[..], &mut out, &params)?;
            Ok(out)
        }
        Encoding::Zstd => zstd::bulk::compress(input, level),
        Encoding::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate_level);
            e.write_all(input)?;
            e.finish()
        }
        Encoding::Deflate => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate_level);
            e.write_all(input)?;
            e.finish()
        }
    }
}

/// Bodies larger than this stream through the encoders instead of the variant cache.
const VARIANT_MAX_BODY: u64 = 1024 * 1024;

/// The encoded-variant cache (see the module docs) and what it needs to fill itself.
#[derive(Clone)]
struct Variants {
    map: Option<moka::future::Cache<(Arc<str>, Encoding), Bytes>>,
    levels: Levels,
    stats: Arc<CompressionStats>,
}

impl Variants {
    fn new(max_bytes: u64, levels: Levels, stats: Arc<CompressionStats>) -> Variants {
        let map = (max_bytes > 0).then(|| {
            moka::future::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|k: &(Arc<str>, Encoding), v: &Bytes| {
                    u32::try_from(k.0.len() + v.len() + 64).unwrap_or(u32::MAX)
                })
                // Entries are immutable (keyed by content); idle ones make room for others.
                .time_to_idle(Duration::from_secs(3600))
                .build()
        });
        Variants { map, levels, stats }
    }
}

/// The strong ETag of a response whose encoded body may be cached and shared: a `200` with
/// a strong validator, a compressible type of known size up to [`VARIANT_MAX_BODY`], not yet
/// encoded, and not `private` or `no-store`.
fn shareable_etag(response: &Response, length: u64) -> Option<Arc<str>> {
    if response.status() != axum::http::StatusCode::OK || length > VARIANT_MAX_BODY {
        return None;
    }
    let headers = response.headers();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !should_compress(
        content_type,
        Some(length),
        headers.contains_key(header::CONTENT_ENCODING),
    ) {
        return None;
    }
    let cc = CacheControl::parse_lines(
        headers
            .get_all(header::CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok()),
    );
    if cc.private || cc.no_store {
        return None;
    }
    let raw = headers.get(header::ETAG)?.to_str().ok()?;
    let etag = EntityTag::parse(raw)?;
    (!etag.is_weak()).then(|| Arc::from(raw))
}

/// Wraps `router` in the negotiation middleware and the encoders; a no-op when
/// `COMPRESSION_ENABLED=false`.
pub fn apply(router: Router, state: &AppState) -> Router {
    if !state.settings.compression.enabled {
        return router;
    }
    let levels = Levels::new(
        state.settings.compression.level,
        state.settings.compression.brotli_quality,
    );
    let only = |e: Encoding| {
        CompressionLayer::new()
            .br(e == Encoding::Brotli)
            .zstd(e == Encoding::Zstd)
            .gzip(e == Encoding::Gzip)
            .deflate(e == Encoding::Deflate)
            .quality(TowerLevel::Precise(levels.of(e)))
            .compress_when(Compressible)
    };
    // In an Arc: the middleware clones its state for every request, and a moka cache's clone
    // (and drop) was ~6 % of a cheap request's CPU time.
    let variants = Arc::new(Variants::new(
        state.settings.compression.cache_max_bytes,
        levels,
        state.compression.clone(),
    ));
    router
        .layer(middleware::from_fn_with_state(variants, encode_cached))
        .layer(only(Encoding::Deflate))
        .layer(only(Encoding::Gzip))
        .layer(only(Encoding::Zstd))
        .layer(only(Encoding::Brotli))
        .layer(middleware::from_fn_with_state(state.clone(), negotiate))
}

/// Innermost: notes the body's size for the counters, and answers cacheable responses with
/// their encoded variant from (or into) the variant cache. The encoders above pass an
/// already-encoded body through.
async fn encode_cached(
    State(variants): State<Arc<Variants>>,
    req: Request,
    next: Next,
) -> Response {
    // `negotiate` has rewritten `Accept-Encoding` to the one chosen token.
    let encoding = (req.method() == axum::http::Method::GET)
        .then(|| req.headers().get(header::ACCEPT_ENCODING))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(Encoding::parse);
    let mut response = next.run(req).await;
    let Some(length) = response.body().size_hint().exact() else {
        return response;
    };
    response.extensions_mut().insert(OriginalSize(length));
    let (Some(map), Some(encoding)) = (&variants.map, encoding) else {
        return response;
    };
    let Some(etag) = shareable_etag(&response, length) else {
        return response;
    };
    let (mut parts, body) = response.into_parts();
    let raw = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => return ApiError::internal(anyhow::anyhow!("response body: {e}")).into_response(),
    };
    let level = variants.levels.of(encoding);
    let entry = map
        .entry((etag, encoding))
        .or_try_insert_with(async {
            let (raw, stats) = (raw.clone(), variants.stats.clone());
            tokio::task::spawn_blocking(move || {
                let started = std::time::Instant::now();
                let encoded = encode_bytes(encoding, level, &raw);
                stats.add_encode_time(encoding, started.elapsed());
                encoded
            })
            .await
            .map_err(std::io::Error::other)?
            .map(Bytes::from)
        })
        .await;
    let encoded = match entry {
        Ok(entry) => {
            let counter = if entry.is_fresh() {
                &variants.stats.variant_misses
            } else {
                &variants.stats.variant_hits
            };
            counter.fetch_add(1, Ordering::Relaxed);
            entry.into_value()
        }
        // Cannot happen with in-memory codecs; the encoders above get their chance.
        Err(_) => return Response::from_parts(parts, Body::from(raw)),
    };
    let h = &mut parts.headers;
    h.insert(
        header::CONTENT_ENCODING,
        HeaderValue::from_static(encoding.as_str()),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(encoded.len()));
    let varies = h
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("accept-encoding") || t.trim() == "*")
        });
    if !varies {
        h.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    Response::from_parts(parts, Body::from(encoded))
}

/// Negotiates with `common`, then lets exactly one encoder see the request.
async fn negotiate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let lines: Vec<&str> = req
        .headers()
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let joined = (!lines.is_empty()).then(|| lines.join(", "));
    let decision = negotiate_encoding(joined.as_deref(), &Encoding::PREFERENCE);
    let token = match decision {
        EncodingDecision::NotAcceptable => {
            state
                .compression
                .not_acceptable
                .fetch_add(1, Ordering::Relaxed);
            let mut r = ApiError::NotAcceptable(
                "Accept-Encoding refuses identity and every coding this server offers (br, zstd, gzip, deflate)".into(),
            )
            .into_response();
            r.headers_mut()
                .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            return r;
        }
        EncodingDecision::Use(e) => e.as_str(),
        EncodingDecision::Identity => "identity",
    };
    req.headers_mut()
        .insert(header::ACCEPT_ENCODING, HeaderValue::from_static(token));
    let response = next.run(req).await;
    let EncodingDecision::Use(encoding) = decision else {
        return response;
    };
    let applied = response
        .headers()
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes() == encoding.as_str().as_bytes());
    let Some(OriginalSize(bytes_in)) = response.extensions().get::<OriginalSize>().copied() else {
        return response;
    };
    if !applied {
        return response;
    }
    let (parts, body) = response.into_parts();
    let counted = Counted {
        inner: body,
        encoding,
        stats: state.compression.clone(),
        metrics: state.metrics.clone(),
        bytes_in,
        bytes_out: 0,
        busy: Duration::ZERO,
        recorded: false,
    };
    Response::from_parts(parts, Body::new(counted))
}

/// Counts the encoded bytes and the time spent producing them (encoding happens lazily,
/// while the body is polled).
struct Counted {
    inner: Body,
    encoding: Encoding,
    stats: Arc<CompressionStats>,
    metrics: Arc<Metrics>,
    bytes_in: u64,
    bytes_out: u64,
    busy: Duration,
    recorded: bool,
}

impl Counted {
    fn finish(&mut self) {
        if !self.recorded {
            self.recorded = true;
            self.stats
                .record(self.encoding, self.bytes_in, self.bytes_out, self.busy);
            self.metrics
                .compression(self.encoding.as_str(), self.bytes_in, self.bytes_out);
        }
    }
}

impl HttpBody for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let started = Instant::now();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        this.busy += started.elapsed();
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.bytes_out += data.len() as u64;
                }
            }
            Poll::Ready(None) => this.finish(),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        if self.bytes_out > 0 {
            self.finish();
        }
    }
}

impl crate::observability::Snapshot for CompressionStats {
    fn snapshot(&self) -> Value {
        let algorithms: serde_json::Map<String, Value> = self
            .totals()
            .into_iter()
            .map(|t| {
                let ratio = (t.bytes_in > 0).then(|| t.bytes_out as f64 / t.bytes_in as f64);
                (
                    t.algorithm.to_owned(),
                    json!({
                        "responses": t.responses,
                        "bytes_in": t.bytes_in,
                        "bytes_out": t.bytes_out,
                        "bytes_saved": t.bytes_in.saturating_sub(t.bytes_out),
                        "ratio": ratio,
                        "encode_seconds": t.encode_seconds,
                    }),
                )
            })
            .collect();
        let (hits, misses) = self.variants();
        json!({
            "algorithms": algorithms,
            "not_acceptable": self.not_acceptable(),
            "variant_cache": {"hits": hits, "misses": misses},
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_the_setting_and_brotli_quality_overrides() {
        let b = Levels::new(CompressionLevel::Balanced, None);
        assert_eq!((b.brotli, b.zstd, b.gzip), (4, 3, 6));
        assert_eq!(Levels::new(CompressionLevel::Fast, Some(5)).brotli, 5);
        assert_eq!(Levels::new(CompressionLevel::Maximum, None).brotli, 7);
    }

    #[test]
    fn predicate_uses_commons_rule() {
        let resp = |ct: &str, body: &'static str| {
            axum::http::Response::builder()
                .header(header::CONTENT_TYPE, ct)
                .body(Body::from(body))
                .unwrap()
        };
        let big = "x".repeat(600).leak();
        assert!(Compressible.should_compress(&resp("application/json", big)));
        assert!(!Compressible.should_compress(&resp("application/json", "{}")));
        assert!(!Compressible.should_compress(&resp("image/png", big)));
        assert!(!Compressible.should_compress(&resp("text/event-stream", big)));
    }
}
