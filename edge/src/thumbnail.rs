//! Small thumbnails made at the edge, with common's pipeline compiled to wasm.
//!
//! Why only small ones: in a Worker the resize runs on one core under a CPU-time budget, with
//! pure-Rust codecs (zune-jpeg, image-webp, fast_image_resize without native SIMD paths). A
//! 640×480 JPEG to a grid-sized thumbnail takes milliseconds, which beats a round trip to the
//! origin; a 3000×2000 JPEG takes ~180 ms, which does not. So the edge renders only when the
//! output's longest side is ≤ `EDGE_THUMB_MAX_SIDE` (512 px) *and* the original is under the
//! byte and pixel limits (checked from the header, before decoding); everything else is
//! forwarded to the origin's `/img/…` route, which has libjpeg-turbo and libwebp.
//!
//! The URL syntax, the signature and the spec are common's: a bad signature is a 403 here,
//! before any fetch. `f:auto` is decided from `Accept` by common's negotiation, with the formats
//! this build can encode (WebP — lossless only in the pure build — and JPEG; never AVIF), and
//! such responses carry `Vary: Accept`. Originals come from the isolate's memory (`memo.rs`)
//! or through the edge cache (they are immutable), and rendered thumbnails are cached under
//! common's thumbnail key.

use vitrine_common::api::ImageId;
use vitrine_common::negotiate::{AutoFormat, negotiate_image_format};
use vitrine_common::thumbnail::{
    ImageInfo, OutputFormat, PipelineError, ThumbSpec, encoder_available, split_img_path,
};

use crate::config::Settings;
use crate::error::EdgeError;

/// What to do with an `/img/…` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Render at the edge (if the original turns out small enough).
    Edge {
        spec: ThumbSpec,
        format: OutputFormat,
        image_id: ImageId,
        /// `f:auto`: the response depends on `Accept`.
        vary_accept: bool,
    },
    /// Forward the request to the origin unchanged.
    Origin { reason: &'static str },
}

/// The formats `f:auto` may resolve to at the edge.
const EDGE_AUTO: &[AutoFormat] = &[AutoFormat::Webp, AutoFormat::Jpeg];

fn output_format(f: AutoFormat) -> OutputFormat {
    match f {
        AutoFormat::Avif => OutputFormat::Avif,
        AutoFormat::Webp => OutputFormat::Webp,
        AutoFormat::Jpeg => OutputFormat::Jpeg,
    }
}

/// Parses and authorises an `/img/…` path and decides, before any fetch, whether the edge may
/// render it. Errors: 400 for a malformed path or option, 403 for a bad signature.
pub fn plan(settings: &Settings, path: &str, accept: Option<&str>) -> Result<Plan, EdgeError> {
    let img = split_img_path(path)?;
    settings
        .signing_keys
        .verify(img.signature, img.signed_path)?;
    let spec = ThumbSpec::parse(img.options)?;
    let (format, vary_accept) = match spec.format.fixed() {
        Some(f) => (f, false),
        None => (
            output_format(negotiate_image_format(accept, EDGE_AUTO)),
            true,
        ),
    };
    if !encoder_available(format) {
        return Ok(Plan::Origin {
            reason: "format not encodable at the edge",
        });
    }
    let max = settings.thumbs.max_output_side;
    match spec.target_box() {
        (None, None) => Ok(Plan::Origin {
            reason: "full-size output",
        }),
        (w, h) if w.is_some_and(|w| w > max) || h.is_some_and(|h| h > max) => Ok(Plan::Origin {
            reason: "output larger than the edge limit",
        }),
        _ => Ok(Plan::Edge {
            spec,
            format,
            image_id: img.image_id,
            vary_accept,
        }),
    }
}

/// After probing the original: whether the edge renders it, or forwards (`Err(reason)`).
/// Over the byte/pixel limits, or an output whose free side (aspect ratio) or padded size
/// would exceed the edge's maximum, goes to the origin; other pipeline errors are the client's answer.
pub fn accept_source(
    settings: &Settings,
    spec: &ThumbSpec,
    probed: Result<ImageInfo, PipelineError>,
) -> Result<Result<ImageInfo, &'static str>, EdgeError> {
    match probed {
        Ok(info) => {
            let size = spec.output_size(info.width, info.height);
            let (final_w, final_h) = spec.final_size(info.width, info.height);
            let max = settings.thumbs.max_output_side;
            if size.resize_w.max(size.resize_h) > max.saturating_mul(2)
                || final_w.max(final_h) > max
            {
                Ok(Err("output larger than the edge limit"))
            } else {
                Ok(Ok(info))
            }
        }
        Err(PipelineError::TooManyBytes { .. } | PipelineError::TooLarge { .. }) => {
            Ok(Err("original over the edge limits"))
        }
        Err(e) => Err(EdgeError::Image(e)),
    }
}

#[cfg(target_arch = "wasm32")]
pub use wasm::*;

#[cfg(target_arch = "wasm32")]
mod wasm {
    use std::{cell::RefCell, rc::Rc};

    use vitrine_common::cache_key;
    use vitrine_common::cache_key::Namespace;
    use vitrine_common::http_cache::{CachePolicy, EntityTag};
    use vitrine_common::thumbnail::{probe, process};

    use super::{Plan, accept_source, plan};
    use crate::cache::{self, Entry, Outcome, StoredMeta, XCache, entry_url};
    use crate::error::EdgeError;
    use crate::memo::{MEMO_BYTES, Memo};
    use crate::origin::OriginRequest;
    use crate::routes::{Cx, Reply};

    thread_local! {
        /// Originals kept between requests by this isolate (see `memo.rs`).
        static ORIGINALS: RefCell<Memo> = RefCell::new(Memo::new(MEMO_BYTES));
    }

    /// Serves an `/img/…` GET/HEAD.
    pub async fn handle(cx: &Cx<'_>) -> Result<Reply, EdgeError> {
        let accept = cx.header("accept");
        let (spec, format, image_id, vary_accept) =
            match plan(&cx.settings, &cx.path, accept.as_deref())? {
                Plan::Origin { reason } => return cx.forward(Some(reason)).await,
                Plan::Edge {
                    spec,
                    format,
                    image_id,
                    vary_accept,
                } => (spec, format, image_id, vary_accept),
            };
        let vary: &[&str] = if vary_accept { &["Accept"] } else { &[] };

        let key = cache_key::thumbnail(image_id.as_str(), &spec.canonical(), format.as_str());
        let thumb_url = entry_url("thumb", format.as_str(), &format!("/{key}"), None);
        if let Some(entry) = cache::lookup(&thumb_url).await {
            return Ok(cx.reply_entry(entry, XCache::Hit, None, vary, Some("edge")));
        }

        // The original: from this isolate's memory, else through the edge cache (immutable
        // at the origin, so either copy is current).
        let memoised = ORIGINALS.with(|m| m.borrow_mut().get(image_id.as_str()));
        let (original, origin_ms) = match memoised {
            Some(bytes) => (bytes, None),
            None => {
                let original_target = format!("/api/images/{}", image_id.as_str());
                let original_req = OriginRequest {
                    method: "GET".into(),
                    target: original_target.clone(),
                    headers: cx.origin_headers("identity", true),
                };
                let original_url = entry_url("http", "identity", &original_target, None);
                match cache::fetch_cached(&cx.settings, cx.ctx, cx.env, &original_url, original_req)
                    .await?
                {
                    Outcome::Cached {
                        entry, origin_ms, ..
                    } if entry.meta.status == 200 => {
                        let bytes = Rc::new(entry.body);
                        ORIGINALS.with(|m| m.borrow_mut().insert(image_id.as_str(), bytes.clone()));
                        (bytes, origin_ms)
                    }
                    Outcome::Cached {
                        entry,
                        x_cache,
                        origin_ms,
                    } => return Ok(cx.reply_entry(entry, x_cache, origin_ms, &[], Some("edge"))),
                    Outcome::Uncached {
                        response,
                        origin_ms,
                    } => return Ok(cx.reply_uncached(response, origin_ms)),
                }
            }
        };

        let limits = cx.settings.thumbs.source;
        if let Err(reason) = accept_source(&cx.settings, &spec, probe(&original, &limits))? {
            return cx.forward(Some(reason)).await;
        }
        let out = process(&original, &spec, format, &limits)?;

        let mut meta = StoredMeta {
            stored_at: worker::Date::now().as_millis() / 1000,
            status: 200,
            cache_control: CachePolicy::for_namespace(Namespace::Thumb, 0).header_value(),
            headers: vec![
                ("content-type".into(), out.content_type.into()),
                ("etag".into(), EntityTag::from_body(&out.bytes).to_string()),
            ],
            tags: vec![format!("image:{}", &image_id.as_str()[..16])],
        };
        if vary_accept {
            meta.headers.push(("vary".into(), "Accept".into()));
        }
        let entry = Entry {
            meta,
            body: out.bytes,
        };
        let stored = entry.clone();
        cx.ctx.wait_until(async move {
            if let Err(e) = cache::store(&thumb_url, &stored).await {
                worker::console_error!("thumbnail store failed: {e}");
            }
        });
        Ok(cx.reply_entry(entry, XCache::Miss, origin_ms, vary, Some("edge")))
    }
}

#[cfg(test)]
mod tests {
    use vitrine_common::signature::sign;
    use vitrine_common::thumbnail::{Limits, probe};

    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const KEY: &str = "edge-test-key-0123456789";

    fn settings() -> Settings {
        Settings::from_lookup(|k| match k {
            "ORIGIN_URL" => Some("http://o".into()),
            "IMAGE_SIGNING_KEYS" => Some(KEY.into()),
            _ => None,
        })
        .unwrap()
    }

    fn url(options: &str) -> String {
        let signed = format!("/{options}/{ID}");
        format!("/img/{}{signed}", sign(KEY.as_bytes(), &signed))
    }

    #[test]
    fn small_signed_requests_render_at_the_edge() {
        let s = settings();
        match plan(&s, &url("w:300/f:auto"), Some("image/webp,*/*")).unwrap() {
            Plan::Edge {
                format,
                vary_accept,
                ..
            } => {
                assert_eq!(format, OutputFormat::Webp);
                assert!(vary_accept);
            }
            other => panic!("{other:?}"),
        }
        match plan(&s, &url("w:300/f:auto"), Some("*/*")).unwrap() {
            Plan::Edge { format, .. } => assert_eq!(format, OutputFormat::Jpeg),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn large_or_unencodable_outputs_go_to_the_origin() {
        let s = settings();
        for opts in ["w:800", "w:300/dpr:2", "f:webp", "w:100/f:avif"] {
            assert!(
                matches!(plan(&s, &url(opts), None).unwrap(), Plan::Origin { .. }),
                "{opts}"
            );
        }
    }

    #[test]
    fn bad_signatures_and_options_are_refused_before_any_fetch() {
        let s = settings();
        let e = plan(&s, &format!("/img/AAAA/w:300/{ID}"), None).unwrap_err();
        assert_eq!(e.status(), 403);
        let e = plan(&s, &format!("/img/_/w:300/{ID}"), None).unwrap_err();
        assert_eq!(e.status(), 403);
        // A valid signature over other options does not carry over.
        let good = url("w:300");
        let forged = good.replace("w:300", "w:301");
        assert_eq!(plan(&s, &forged, None).unwrap_err().status(), 403);
        assert_eq!(plan(&s, &url("w:0"), None).unwrap_err().status(), 400);
        assert_eq!(plan(&s, "/img/x", None).unwrap_err().status(), 400);
    }

    #[test]
    fn sources_over_the_limits_are_forwarded() {
        let s = settings();
        let spec = ThumbSpec::parse("w:300").unwrap();
        let big = |w, h| {
            Ok(ImageInfo {
                format: vitrine_common::thumbnail::SourceFormat::Jpeg,
                width: w,
                height: h,
                frames: 1,
            })
        };
        assert!(accept_source(&s, &spec, big(640, 480)).unwrap().is_ok());
        // w:300 of a 100×1000 image stays 100×1000 (never enlarged): too tall for the edge.
        assert!(accept_source(&s, &spec, big(100, 1000)).unwrap().is_err());
        // Padding counts: 300×225 with 150 px each side is 600×525.
        let padded = ThumbSpec::parse("w:300/pad:150").unwrap();
        assert!(accept_source(&s, &padded, big(640, 480)).unwrap().is_err());
        let too_many = Err(PipelineError::TooLarge {
            width: 3000,
            height: 2000,
            limit: "2000000 pixels".into(),
        });
        assert!(accept_source(&s, &spec, too_many).unwrap().is_err());
        assert_eq!(
            accept_source(&s, &spec, probe(b"not an image", &Limits::default()))
                .unwrap_err()
                .status(),
            415
        );
    }
}
