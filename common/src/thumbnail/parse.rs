//! Parsing thumbnail URLs: `/img/{signature}/{options…}/{image_id}`.
//!
//! Options are `name:value` segments separated by `/` (`w:300/h:300/fit:cover/f:webp/q:80`),
//! with long names and short aliases (`width`/`w`, `height`/`h`, `fit`, `format`/`f`,
//! `quality`/`q`, `dpr`, and the product-shot options of [`super::options`]: `enlarge`/`el`,
//! `trim`/`t` (also bare `trim`), `pad`/`padding`/`pd`, `background`/`bg`, `gravity`/`g`),
//! plus a bare preset (`small`, `medium`, `large`). The rules, chosen so
//! that one meaning has few spellings (cache keys stay few):
//!
//! - an option given twice (under either name) is refused, naming it;
//! - a preset sets width, height and fit, so it cannot be combined with those, nor with another
//!   preset; it can be combined with format, quality and dpr;
//! - an unknown name, an empty segment or a segment without `:` is refused, naming it.
//!
//! Errors are [`InvalidInput`] whose `field` is the option's long name (or `options` for a
//! malformed segment), so the origin answers 400 naming the option.

use crate::api::ImageId;
use crate::error::InvalidInput;

use super::options::{Background, Gravity, Pad, ShotOptions, Trim};
use super::spec::{Dpr, Fit, Format, Preset, Quality, ThumbSpec};

/// The parts of a thumbnail URL path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImgPath<'a> {
    /// The first segment after `/img/`: a base64url signature, or `_`.
    pub signature: &'a str,
    /// The options between the signature and the image id, without surrounding slashes
    /// (may be empty).
    pub options: &'a str,
    /// The image id (last segment).
    pub image_id: ImageId,
    /// What the signature covers: `/{options…}/{image_id}` (or `/{image_id}` without options).
    pub signed_path: &'a str,
}

/// Splits `/img/{signature}/{options…}/{image_id}` (a path without query string).
pub fn split_img_path(path: &str) -> Result<ImgPath<'_>, InvalidInput> {
    let rest = path
        .strip_prefix("/img/")
        .ok_or_else(|| InvalidInput::new("path", "must start with /img/"))?;
    let slash = rest.find('/').ok_or_else(|| {
        InvalidInput::new("path", "must be /img/{signature}/{options}/{image_id}")
    })?;
    let signature = &rest[..slash];
    if signature.is_empty() {
        return Err(InvalidInput::new(
            "signature",
            "must not be empty (use _ when unsigned)",
        ));
    }
    let signed_path = &rest[slash..];
    let (options, id) = match signed_path.rfind('/') {
        Some(0) => ("", &signed_path[1..]),
        Some(i) => (&signed_path[1..i], &signed_path[i + 1..]),
        None => ("", signed_path),
    };
    let image_id = ImageId::parse(id)?;
    Ok(ImgPath {
        signature,
        options,
        image_id,
        signed_path,
    })
}

impl ThumbSpec {
    /// Parses URL options (`w:300/h:300/fit:cover`); empty means all defaults.
    pub fn parse(options: &str) -> Result<Self, InvalidInput> {
        let mut width = None;
        let mut height = None;
        let mut fit = None;
        let mut format = None;
        let mut quality = None;
        let mut dpr = None;
        let mut preset: Option<Preset> = None;
        let mut enlarge = None;
        let mut trim = None;
        let mut pad = None;
        let mut background = None;
        let mut gravity = None;

        fn once<T>(slot: &mut Option<T>, name: &'static str, v: T) -> Result<(), InvalidInput> {
            if slot.is_some() {
                return Err(InvalidInput::new(name, "given more than once"));
            }
            *slot = Some(v);
            Ok(())
        }

        let options = options.trim_matches('/');
        if options.len() > 256 {
            return Err(InvalidInput::new("options", "too long"));
        }
        if !options.is_empty() {
            for seg in options.split('/') {
                let Some((name, value)) = seg.split_once(':') else {
                    match seg {
                        "small" | "medium" | "large" => {
                            if preset.is_some() {
                                return Err(InvalidInput::new(
                                    "preset",
                                    "only one of small, medium, large may be given",
                                ));
                            }
                            preset = Preset::parse(seg).ok();
                            continue;
                        }
                        "trim" | "t" => {
                            once(&mut trim, "trim", Trim::parse(None)?)?;
                            continue;
                        }
                        "" => return Err(InvalidInput::new("options", "empty option segment")),
                        _ => {
                            return Err(InvalidInput::new(
                                "options",
                                format!("unknown option {:?}", truncate(seg)),
                            ));
                        }
                    }
                };
                match name {
                    "width" | "w" => once(&mut width, "width", dimension("width", value)?)?,
                    "height" | "h" => once(&mut height, "height", dimension("height", value)?)?,
                    "fit" => once(&mut fit, "fit", Fit::parse(value)?)?,
                    "format" | "f" => once(&mut format, "format", Format::parse(value)?)?,
                    "quality" | "q" => {
                        let q = integer(value).ok_or_else(|| {
                            InvalidInput::new("quality", "must be an integer from 1 to 100")
                        })?;
                        once(&mut quality, "quality", Quality::new(q)?)?;
                    }
                    "dpr" => once(&mut dpr, "dpr", Dpr::parse(value)?)?,
                    "enlarge" | "el" => {
                        once(&mut enlarge, "enlarge", ShotOptions::parse_enlarge(value)?)?
                    }
                    "trim" | "t" => once(&mut trim, "trim", Trim::parse(Some(value))?)?,
                    "pad" | "padding" | "pd" => once(&mut pad, "pad", Pad::parse(value)?)?,
                    "background" | "bg" => {
                        once(&mut background, "background", Background::parse(value)?)?
                    }
                    "gravity" | "g" => once(&mut gravity, "gravity", Gravity::parse(value)?)?,
                    _ => {
                        return Err(InvalidInput::new(
                            "options",
                            format!("unknown option {:?}", truncate(name)),
                        ));
                    }
                }
            }
        }

        if let Some(p) = preset {
            if width.is_some() || height.is_some() || fit.is_some() {
                return Err(InvalidInput::new(
                    "preset",
                    "a preset (small, medium, large) cannot be combined with width, height or fit",
                ));
            }
            let base = p.spec();
            width = base.width;
            height = base.height;
            fit = Some(base.fit);
        }

        ThumbSpec::new(
            width,
            height,
            fit.unwrap_or_default(),
            format.unwrap_or_default(),
            quality.unwrap_or_default(),
            dpr.unwrap_or_default(),
        )?
        .with_shot(ShotOptions {
            enlarge: enlarge.unwrap_or_default(),
            trim,
            pad: pad.unwrap_or_default(),
            background,
            gravity: gravity.unwrap_or_default(),
        })
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(32).collect()
}

/// A plain decimal integer (no sign, no leading `+`, at most 5 digits).
fn integer(value: &str) -> Option<u32> {
    if value.is_empty() || value.len() > 5 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

fn dimension(name: &'static str, value: &str) -> Result<u32, InvalidInput> {
    match integer(value) {
        Some(v) if (1..=super::spec::MAX_SIDE).contains(&v) => Ok(v),
        _ => Err(InvalidInput::new(
            name,
            format!("must be an integer from 1 to {}", super::spec::MAX_SIDE),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::thumbnail::spec::OutputFormat;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_the_example() {
        let s = ThumbSpec::parse("w:300/h:300/fit:cover/f:webp/q:80").unwrap();
        assert_eq!(s.width, Some(300));
        assert_eq!(s.height, Some(300));
        assert_eq!(s.fit, Fit::Cover);
        assert_eq!(s.format, Format::Fixed(OutputFormat::Webp));
        assert_eq!(s.quality.get(), 80);
        assert_eq!(s.dpr, Dpr::ONE);
    }

    #[test]
    fn long_names_aliases_and_order_give_one_canonical_form() {
        let a =
            ThumbSpec::parse("width:300/height:200/fit:fill/format:jpeg/quality:70/dpr:2").unwrap();
        let b = ThumbSpec::parse("dpr:2.00/q:70/f:jpg/fit:fill/h:200/w:300").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.canonical(), "w:300/h:200/fit:fill/f:jpeg/q:70/dpr:2");
        assert_eq!(
            ThumbSpec::parse(&a.canonical()).unwrap(),
            a,
            "canonical form re-parses"
        );
        assert_eq!(
            ThumbSpec::parse("").unwrap().canonical(),
            "fit:contain/f:auto/q:80/dpr:1"
        );
        assert_eq!(
            ThumbSpec::parse("q:80").unwrap(),
            ThumbSpec::parse("").unwrap()
        );
    }

    #[test]
    fn presets_expand() {
        let s = ThumbSpec::parse("small").unwrap();
        assert_eq!(s, Preset::Small.spec());
        assert_eq!(s.canonical(), "w:150/h:150/fit:inside/f:auto/q:80/dpr:1");
        assert_eq!(s, ThumbSpec::parse("w:150/h:150/fit:inside").unwrap());
        let s = ThumbSpec::parse("large/f:webp/dpr:1.5").unwrap();
        assert_eq!(s.target_box(), (Some(900), Some(900)));
        assert_eq!(ThumbSpec::parse("medium").unwrap().width, Some(300));
    }

    #[test]
    fn invalid_options_name_the_option() {
        let field = |s: &str| ThumbSpec::parse(s).unwrap_err().field;
        assert_eq!(field("w:0"), "width");
        assert_eq!(field("w:4097"), "width");
        assert_eq!(field("w:abc"), "width");
        assert_eq!(field("w:-5"), "width");
        assert_eq!(field("w:"), "width");
        assert_eq!(field("h:99999999999"), "height");
        assert_eq!(field("fit:stretch"), "fit");
        assert_eq!(field("f:gif"), "format");
        assert_eq!(field("q:0"), "quality");
        assert_eq!(field("q:101"), "quality");
        assert_eq!(field("q:8.5"), "quality");
        assert_eq!(field("dpr:4"), "dpr");
        assert_eq!(field("w:3000/dpr:2"), "dpr");
        assert_eq!(field("w:1/width:2"), "width");
        assert_eq!(field("small/w:100"), "preset");
        assert_eq!(field("small/large"), "preset");
        assert_eq!(field("blur:5"), "options");
        assert_eq!(field("huge"), "options");
        assert_eq!(field("w:1//h:1"), "options");
        assert_eq!(field(&"w:1/".repeat(100)), "options");
        let e = ThumbSpec::parse("fit:stretch").unwrap_err();
        assert!(e.to_string().starts_with("fit:"), "{e}");
    }

    #[test]
    fn product_shot_options_aliases_and_canonical_form() {
        let long = ThumbSpec::parse(
            "w:300/h:300/fit:cover/enlarge:1/trim:20/padding:1:2:3:4/background:FFAA00/gravity:no",
        )
        .unwrap();
        let short =
            ThumbSpec::parse("g:no/bg:ffaa00/pd:1:2:3:4/t:20/el:1/fit:cover/h:300/w:300").unwrap();
        let mid = ThumbSpec::parse("w:300/h:300/fit:cover/el:1/trim:20/pad:1:2:3:4/bg:ffaa00/g:no")
            .unwrap();
        assert_eq!(long, short);
        assert_eq!(long, mid);
        assert_eq!(
            long.canonical(),
            "w:300/h:300/fit:cover/f:auto/q:80/dpr:1/el:1/trim:20/pad:1:2:3:4/bg:ffaa00/g:no"
        );
        assert_eq!(ThumbSpec::parse(&long.canonical()).unwrap(), long);
        // Defaults are left out of the canonical form (old cache keys stay).
        let defaults = ThumbSpec::parse("w:300/el:0/pad:0/g:ce/fit:cover").unwrap();
        assert_eq!(defaults.canonical(), "w:300/fit:cover/f:auto/q:80/dpr:1");
        // Bare trim is the default threshold; pad:N is every side.
        assert_eq!(
            ThumbSpec::parse("trim").unwrap(),
            ThumbSpec::parse("t:10").unwrap()
        );
        assert_eq!(
            ThumbSpec::parse("pad:5").unwrap(),
            ThumbSpec::parse("pad:5:5:5:5").unwrap()
        );
        assert!(ThumbSpec::parse("small/bg:000000/trim:0").is_ok());
    }

    #[test]
    fn bad_product_shot_options_name_the_option() {
        let field = |s: &str| ThumbSpec::parse(s).unwrap_err().field;
        assert_eq!(field("el:2"), "enlarge");
        assert_eq!(field("enlarge:yes"), "enlarge");
        assert_eq!(field("el:1/enlarge:1"), "enlarge");
        assert_eq!(field("trim:256"), "trim");
        assert_eq!(field("trim:-1"), "trim");
        assert_eq!(field("trim/t:3"), "trim");
        assert_eq!(field("pad:1:2"), "pad");
        assert_eq!(field("pad:4097"), "pad");
        assert_eq!(field("w:100/pad:0:101:0:0"), "pad");
        assert_eq!(field("h:50/pad:51"), "pad");
        assert_eq!(field("w:2000/pad:0:0:0:1100/dpr:2"), "pad");
        assert_eq!(field("bg:fff"), "background");
        assert_eq!(field("bg:%23ffffff"), "background");
        assert_eq!(field("bg:zzzzzz"), "background");
        assert_eq!(field("g:north"), "gravity");
        assert_eq!(field("w:100/h:100/g:no"), "gravity");
        assert_eq!(field("small/g:sm"), "gravity");
        assert!(ThumbSpec::parse("w:100/pad:0:100:0:100").is_ok());
        assert!(ThumbSpec::parse("w:100/h:100/fit:cover/g:sm").is_ok());
    }

    #[test]
    fn splits_img_paths() {
        let path = format!("/img/abc_-DEF/w:300/h:300/fit:cover/{ID}");
        let p = split_img_path(&path).unwrap();
        assert_eq!(p.signature, "abc_-DEF");
        assert_eq!(p.options, "w:300/h:300/fit:cover");
        assert_eq!(p.image_id.as_str(), ID);
        assert_eq!(p.signed_path, format!("/w:300/h:300/fit:cover/{ID}"));

        let path = format!("/img/_/{ID}");
        let p = split_img_path(&path).unwrap();
        assert_eq!((p.signature, p.options), ("_", ""));
        assert_eq!(p.signed_path, format!("/{ID}"));

        let path = format!("/img/_/small/{ID}");
        assert_eq!(split_img_path(&path).unwrap().options, "small");
    }

    #[test]
    fn rejects_bad_img_paths() {
        assert_eq!(split_img_path("/images/_/x").unwrap_err().field, "path");
        assert_eq!(split_img_path("/img/_").unwrap_err().field, "path");
        assert_eq!(
            split_img_path(&format!("/img//{ID}")).unwrap_err().field,
            "signature"
        );
        assert_eq!(
            split_img_path("/img/_/w:1/abc").unwrap_err().field,
            "image_id"
        );
        let upper = ID.to_uppercase();
        assert_eq!(
            split_img_path(&format!("/img/_/{upper}"))
                .unwrap_err()
                .field,
            "image_id"
        );
        assert_eq!(
            split_img_path(&format!("/img/_/w:1/{ID}/"))
                .unwrap_err()
                .field,
            "image_id"
        );
    }

    #[test]
    fn signed_path_round_trip() {
        use crate::signature::{sign, verify};
        let key = b"key-0123456789abcdef";
        let signed = format!("/w:300/f:webp/{ID}");
        let url = format!("/img/{}{signed}", sign(key, &signed));
        let p = split_img_path(&url).unwrap();
        assert_eq!(verify(&[key], p.signature, p.signed_path), Ok(()));
        ThumbSpec::parse(p.options).unwrap();
    }
}
