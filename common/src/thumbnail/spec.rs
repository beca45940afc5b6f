//! What a thumbnail URL asks for: [`ThumbSpec`], its parts, and its canonical form.
//!
//! Every field is a parsed newtype or enum, so a `ThumbSpec` that exists is valid: the pipeline
//! never re-checks. Two URLs that mean the same thing (`small` and `w:150/h:150/fit:inside`,
//! `q:80` and no quality, options in any order) have the same [`ThumbSpec::canonical`] string,
//! which is what cache keys are built from.
//!
//! DPR decision: a device-pixel ratio from 1 to 3 with at most two decimals (`1`, `1.5`, `2.25`),
//! stored as hundredths so specs stay `Eq + Hash` and the canonical form is exact. The requested
//! width/height are CSS pixels, each 1..=4096; the *effective* size (× DPR, rounded to the nearest
//! pixel) must also stay within 4096, otherwise the `dpr` option is refused.

use std::fmt;

use crate::error::InvalidInput;

use super::options::ShotOptions;

/// The largest output side, in device pixels, after DPR.
pub const MAX_SIDE: u32 = 4096;

/// How the image is fitted into the requested box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Fit {
    /// Scale, keeping the aspect ratio, to fit inside the box (enlarges only with `enlarge:1`).
    /// Output is the scaled size, not padded to the box.
    #[default]
    Contain,
    /// Scale, keeping the aspect ratio, to cover the box, then crop the centre to exactly the box.
    Cover,
    /// Stretch to exactly the box, ignoring the aspect ratio.
    Fill,
    /// Like `Contain` but never enlarges, even with `enlarge:1`: a smaller source keeps its size.
    Inside,
}

impl Fit {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Contain => "contain",
            Self::Cover => "cover",
            Self::Fill => "fill",
            Self::Inside => "inside",
        }
    }

    pub fn parse(value: &str) -> Result<Self, InvalidInput> {
        match value {
            "contain" => Ok(Self::Contain),
            "cover" => Ok(Self::Cover),
            "fill" => Ok(Self::Fill),
            "inside" => Ok(Self::Inside),
            _ => Err(InvalidInput::new(
                "fit",
                "must be one of contain, cover, fill, inside",
            )),
        }
    }
}

/// A concrete output encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    Jpeg,
    Webp,
    Png,
    Avif,
}

impl OutputFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jpeg => "jpeg",
            Self::Webp => "webp",
            Self::Png => "png",
            Self::Avif => "avif",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Webp => "image/webp",
            Self::Png => "image/png",
            Self::Avif => "image/avif",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Webp => "webp",
            Self::Png => "png",
            Self::Avif => "avif",
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The format the URL asks for: a fixed one, or `auto` (the server picks from `Accept`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    #[default]
    Auto,
    Fixed(OutputFormat),
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Fixed(f) => f.as_str(),
        }
    }

    pub fn parse(value: &str) -> Result<Self, InvalidInput> {
        match value {
            "auto" => Ok(Self::Auto),
            "jpeg" | "jpg" => Ok(Self::Fixed(OutputFormat::Jpeg)),
            "webp" => Ok(Self::Fixed(OutputFormat::Webp)),
            "png" => Ok(Self::Fixed(OutputFormat::Png)),
            "avif" => Ok(Self::Fixed(OutputFormat::Avif)),
            _ => Err(InvalidInput::new(
                "format",
                "must be one of jpeg, webp, png, avif, auto",
            )),
        }
    }

    /// The fixed format, or `None` for `auto`.
    pub fn fixed(self) -> Option<OutputFormat> {
        match self {
            Self::Auto => None,
            Self::Fixed(f) => Some(f),
        }
    }
}

/// Encoder quality, 1..=100 (default 80). PNG ignores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Quality(u8);

impl Quality {
    pub const DEFAULT: Self = Self(80);

    pub fn new(value: u32) -> Result<Self, InvalidInput> {
        if (1..=100).contains(&value) {
            Ok(Self(value as u8))
        } else {
            Err(InvalidInput::new(
                "quality",
                "must be an integer from 1 to 100",
            ))
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl Default for Quality {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Device-pixel ratio, 1..=3 with at most two decimals, stored in hundredths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Dpr(u16);

impl Dpr {
    pub const ONE: Self = Self(100);

    /// From hundredths: 100 = 1×, 150 = 1.5×, 300 = 3×.
    pub fn from_hundredths(value: u16) -> Result<Self, InvalidInput> {
        if (100..=300).contains(&value) {
            Ok(Self(value))
        } else {
            Err(InvalidInput::new("dpr", "must be from 1 to 3"))
        }
    }

    /// Parses `2`, `1.5`, `1.25` (at most two decimals).
    pub fn parse(value: &str) -> Result<Self, InvalidInput> {
        let err = || {
            InvalidInput::new(
                "dpr",
                "must be a number from 1 to 3 with at most two decimals",
            )
        };
        let (int, frac) = value.split_once('.').unwrap_or((value, ""));
        if int.is_empty()
            || int.len() > 1
            || !int.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > 2
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || (value.contains('.') && frac.is_empty())
        {
            return Err(err());
        }
        let int: u16 = int.parse().map_err(|_| err())?;
        let mut hundredths = int * 100;
        let frac_bytes = frac.as_bytes();
        if let Some(d) = frac_bytes.first() {
            hundredths += u16::from(d - b'0') * 10;
        }
        if let Some(d) = frac_bytes.get(1) {
            hundredths += u16::from(d - b'0');
        }
        Self::from_hundredths(hundredths).map_err(|_| err())
    }

    pub fn hundredths(self) -> u16 {
        self.0
    }

    /// `css_px × dpr`, rounded to the nearest pixel (half up).
    pub fn apply(self, css_px: u32) -> u32 {
        ((u64::from(css_px) * u64::from(self.0) + 50) / 100) as u32
    }
}

impl Default for Dpr {
    fn default() -> Self {
        Self::ONE
    }
}

impl fmt::Display for Dpr {
    /// Shortest exact decimal: `1`, `1.5`, `1.25`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let int = self.0 / 100;
        let frac = self.0 % 100;
        if frac == 0 {
            write!(f, "{int}")
        } else if frac.is_multiple_of(10) {
            write!(f, "{int}.{}", frac / 10)
        } else {
            write!(f, "{int}.{frac:02}")
        }
    }
}

/// A named size: the longest side in CSS pixels, never enlarged (the seed's `thumbnail_sizes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Preset {
    Small,
    Medium,
    Large,
}

impl Preset {
    pub const ALL: [Self; 3] = [Self::Small, Self::Medium, Self::Large];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Small => "small",
            Self::Medium => "medium",
            Self::Large => "large",
        }
    }

    pub fn parse(value: &str) -> Result<Self, InvalidInput> {
        match value {
            "small" => Ok(Self::Small),
            "medium" => Ok(Self::Medium),
            "large" => Ok(Self::Large),
            _ => Err(InvalidInput::new(
                "thumbnail_sizes",
                "must be one of small, medium, large",
            )),
        }
    }

    /// Longest side in pixels: 150, 300, 600.
    pub fn longest_side(self) -> u32 {
        match self {
            Self::Small => 150,
            Self::Medium => 300,
            Self::Large => 600,
        }
    }

    /// The spec this preset stands for: a `side × side` box, `fit:inside`, other fields default.
    pub fn spec(self) -> ThumbSpec {
        let side = self.longest_side();
        ThumbSpec {
            width: Some(side),
            height: Some(side),
            fit: Fit::Inside,
            ..ThumbSpec::default()
        }
    }
}

/// A validated thumbnail request.
///
/// `width`/`height` are CSS pixels (before DPR). Neither given: the source size (still capped at
/// [`MAX_SIDE`]). One given: the other follows the aspect ratio, whatever the fit. Without
/// `enlarge:1` no output side exceeds the source's (the box shrinks, keeping its aspect ratio
/// for `fill` and `cover`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ThumbSpec {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub fit: Fit,
    pub format: Format,
    pub quality: Quality,
    pub dpr: Dpr,
    /// Enlarge, trim, pad, background, gravity (none by default).
    pub shot: ShotOptions,
}

impl ThumbSpec {
    /// Builds and validates a spec from parts (the same checks as URL parsing).
    pub fn new(
        width: Option<u32>,
        height: Option<u32>,
        fit: Fit,
        format: Format,
        quality: Quality,
        dpr: Dpr,
    ) -> Result<Self, InvalidInput> {
        for (name, v) in [("width", width), ("height", height)] {
            if let Some(v) = v {
                if !(1..=MAX_SIDE).contains(&v) {
                    return Err(InvalidInput::new(
                        name,
                        format!("must be an integer from 1 to {MAX_SIDE}"),
                    ));
                }
                if dpr.apply(v) > MAX_SIDE {
                    return Err(InvalidInput::new(
                        "dpr",
                        format!("{name} {v} × dpr {dpr} exceeds {MAX_SIDE} pixels"),
                    ));
                }
            }
        }
        Ok(Self {
            width,
            height,
            fit,
            format,
            quality,
            dpr,
            shot: ShotOptions::default(),
        })
    }

    /// This spec with product-shot options, checked against it: gravity needs `fit:cover`, and
    /// each padding side is at most the requested size on its axis, the padded size at most
    /// [`MAX_SIDE`] after DPR.
    pub fn with_shot(self, shot: ShotOptions) -> Result<Self, InvalidInput> {
        if shot.gravity != super::options::Gravity::Centre && self.fit != Fit::Cover {
            return Err(InvalidInput::new("gravity", "applies to fit:cover only"));
        }
        let p = shot.pad;
        for (axis, size, a, b) in [
            ("width", self.width, p.left, p.right),
            ("height", self.height, p.top, p.bottom),
        ] {
            let Some(size) = size else { continue };
            let (a, b) = (u32::from(a), u32::from(b));
            if a > size || b > size {
                return Err(InvalidInput::new(
                    "pad",
                    format!("each side must be at most the {axis} ({size})"),
                ));
            }
            if self.dpr.apply(size + a + b) > MAX_SIDE {
                return Err(InvalidInput::new(
                    "pad",
                    format!("{axis} with padding exceeds {MAX_SIDE} pixels"),
                ));
            }
        }
        Ok(Self { shot, ..self })
    }

    /// Padding in device pixels `[top, right, bottom, left]` around an `out_w × out_h` image:
    /// each side at most the image's size on its axis, and cut proportionally so the padded
    /// image stays within [`MAX_SIDE`].
    pub fn padding(&self, out_w: u32, out_h: u32) -> [u32; 4] {
        let p = self.shot.pad;
        let fit = |a: u16, b: u16, size: u32| -> (u32, u32) {
            let a = self.dpr.apply(u32::from(a)).min(size);
            let b = self.dpr.apply(u32::from(b)).min(size);
            let avail = MAX_SIDE.saturating_sub(size);
            if a + b <= avail {
                (a, b)
            } else {
                let a2 = (u64::from(a) * u64::from(avail) / u64::from(a + b)) as u32;
                let b2 = (u64::from(b) * u64::from(avail) / u64::from(a + b)) as u32;
                (a2, b2)
            }
        };
        let (left, right) = fit(p.left, p.right, out_w);
        let (top, bottom) = fit(p.top, p.bottom, out_h);
        [top, right, bottom, left]
    }

    /// The final output size for a source of `src_w × src_h` (oriented, after any trim):
    /// [`ThumbSpec::output_size`] plus [`ThumbSpec::padding`].
    pub fn final_size(&self, src_w: u32, src_h: u32) -> (u32, u32) {
        let g = self.output_size(src_w, src_h);
        let [t, r, b, l] = self.padding(g.out_w, g.out_h);
        (g.out_w + l + r, g.out_h + t + b)
    }

    /// The requested box in device pixels (after DPR).
    pub fn target_box(&self) -> (Option<u32>, Option<u32>) {
        (
            self.width.map(|w| self.dpr.apply(w).max(1)),
            self.height.map(|h| self.dpr.apply(h).max(1)),
        )
    }

    /// The stable textual form used in cache keys: `w:…/h:…/fit:…/f:…/q:…/dpr:…`, absent sizes
    /// omitted, every other field always present, presets expanded; then the product-shot
    /// options that differ from their defaults (`/el:1/trim:…/pad:T:R:B:L/bg:…/g:…`).
    pub fn canonical(&self) -> String {
        let mut s = String::with_capacity(48);
        if let Some(w) = self.width {
            s.push_str(&format!("w:{w}/"));
        }
        if let Some(h) = self.height {
            s.push_str(&format!("h:{h}/"));
        }
        s.push_str(&format!(
            "fit:{}/f:{}/q:{}/dpr:{}",
            self.fit.as_str(),
            self.format.as_str(),
            self.quality.get(),
            self.dpr
        ));
        s.push_str(&self.shot.canonical_suffix());
        s
    }

    /// Output dimensions for a source of `src_w × src_h` (already oriented), before any crop:
    /// `(resize_w, resize_h, out_w, out_h)`. For `Cover` the image is resized to `resize_*` and
    /// the centre `out_*` is cropped; for the other fits both pairs are equal.
    pub fn output_size(&self, src_w: u32, src_h: u32) -> OutputSize {
        let (sw, sh) = (src_w.max(1), src_h.max(1));
        let enlarge = self.shot.enlarge && self.fit != Fit::Inside;
        let g = output_size(self.target_box(), self.fit, sw, sh);
        if enlarge || (g.out_w <= sw && g.out_h <= sh) {
            g
        } else {
            no_enlargement(self.target_box(), self.fit, sw, sh)
        }
    }
}

impl fmt::Display for ThumbSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

/// The geometry the pipeline will produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputSize {
    /// The size the whole source is scaled to.
    pub resize_w: u32,
    pub resize_h: u32,
    /// The final size (equal to the resize size except for `Cover`, which crops the centre).
    pub out_w: u32,
    pub out_h: u32,
}

fn scale(v: u32, num: u64, den: u64) -> u32 {
    // Rounded to nearest, at least 1, at most MAX_SIDE.
    let r = (u64::from(v) * num + den / 2) / den.max(1);
    r.clamp(1, u64::from(MAX_SIDE)) as u32
}

/// The geometry when [`output_size`] would exceed the source: `contain`/`inside` and one-side
/// requests keep the source size; `fill` and `cover` shrink the box, keeping its aspect ratio,
/// until it fits the source (so `cover` crops at the source's resolution).
fn no_enlargement(target: (Option<u32>, Option<u32>), fit: Fit, sw: u32, sh: u32) -> OutputSize {
    let source = OutputSize {
        resize_w: sw,
        resize_h: sh,
        out_w: sw,
        out_h: sh,
    };
    let (Some(bw), Some(bh)) = target else {
        return source;
    };
    if !matches!(fit, Fit::Fill | Fit::Cover) {
        return source;
    }
    // The largest box of bw:bh inside sw × sh.
    let (w, h) = if u64::from(sw) * u64::from(bh) <= u64::from(sh) * u64::from(bw) {
        (sw, scale(bh, u64::from(sw), u64::from(bw)).min(sh))
    } else {
        (scale(bw, u64::from(sh), u64::from(bh)).min(sw), sh)
    };
    output_size((Some(w), Some(h)), fit, sw, sh)
}

fn output_size(target: (Option<u32>, Option<u32>), fit: Fit, sw: u32, sh: u32) -> OutputSize {
    let same = |w: u32, h: u32| OutputSize {
        resize_w: w,
        resize_h: h,
        out_w: w,
        out_h: h,
    };
    // Fits the source inside a `bw × bh` box keeping the aspect ratio.
    let contain = |bw: u32, bh: u32| -> (u32, u32) {
        // Compare sw/sh with bw/bh without floating point.
        if u64::from(sw) * u64::from(bh) >= u64::from(sh) * u64::from(bw) {
            (bw, scale(sh, u64::from(bw), u64::from(sw)))
        } else {
            (scale(sw, u64::from(bh), u64::from(sh)), bh)
        }
    };
    match target {
        (None, None) => {
            // Source size, capped.
            if sw.max(sh) > MAX_SIDE {
                let (w, h) = contain(MAX_SIDE, MAX_SIDE);
                same(w, h)
            } else {
                same(sw, sh)
            }
        }
        (Some(w), None) => {
            let w = if fit == Fit::Inside { w.min(sw) } else { w };
            same(w, scale(sh, u64::from(w), u64::from(sw)))
        }
        (None, Some(h)) => {
            let h = if fit == Fit::Inside { h.min(sh) } else { h };
            same(scale(sw, u64::from(h), u64::from(sh)), h)
        }
        (Some(bw), Some(bh)) => match fit {
            Fit::Fill => same(bw, bh),
            Fit::Contain => {
                let (w, h) = contain(bw, bh);
                same(w, h)
            }
            Fit::Inside => {
                if sw <= bw && sh <= bh {
                    same(sw, sh)
                } else {
                    let (w, h) = contain(bw, bh);
                    same(w, h)
                }
            }
            Fit::Cover => {
                // Scale so both sides cover the box, then crop the centre.
                let (rw, rh) = if u64::from(sw) * u64::from(bh) >= u64::from(sh) * u64::from(bw) {
                    (scale(sw, u64::from(bh), u64::from(sh)).max(bw), bh)
                } else {
                    (bw, scale(sh, u64::from(bw), u64::from(sw)).max(bh))
                };
                OutputSize {
                    resize_w: rw,
                    resize_h: rh,
                    out_w: bw,
                    out_h: bh,
                }
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(w: Option<u32>, h: Option<u32>, fit: Fit) -> ThumbSpec {
        ThumbSpec::new(w, h, fit, Format::Auto, Quality::DEFAULT, Dpr::ONE).unwrap()
    }

    fn out(s: &ThumbSpec, sw: u32, sh: u32) -> (u32, u32) {
        let o = s.output_size(sw, sh);
        (o.out_w, o.out_h)
    }

    #[test]
    fn golden_dimensions_for_every_fit() {
        // Landscape 1000×500 into a 300×300 box.
        assert_eq!(
            out(&spec(Some(300), Some(300), Fit::Contain), 1000, 500),
            (300, 150)
        );
        assert_eq!(
            out(&spec(Some(300), Some(300), Fit::Inside), 1000, 500),
            (300, 150)
        );
        assert_eq!(
            out(&spec(Some(300), Some(300), Fit::Fill), 1000, 500),
            (300, 300)
        );
        let cover = spec(Some(300), Some(300), Fit::Cover).output_size(1000, 500);
        assert_eq!((cover.resize_w, cover.resize_h), (600, 300));
        assert_eq!((cover.out_w, cover.out_h), (300, 300));
        // Portrait 400×1000 into 200×100.
        assert_eq!(
            out(&spec(Some(200), Some(100), Fit::Contain), 400, 1000),
            (40, 100)
        );
        let cover = spec(Some(200), Some(100), Fit::Cover).output_size(400, 1000);
        assert_eq!(
            (cover.resize_w, cover.resize_h, cover.out_w, cover.out_h),
            (200, 500, 200, 100)
        );
        // Small source 100×50: nothing enlarges by default.
        assert_eq!(
            out(&spec(Some(300), Some(300), Fit::Contain), 100, 50),
            (100, 50)
        );
        assert_eq!(
            out(&spec(Some(300), Some(300), Fit::Inside), 100, 50),
            (100, 50)
        );
        assert_eq!(
            out(&spec(Some(300), Some(300), Fit::Fill), 100, 50),
            (50, 50)
        );
        // One side only.
        assert_eq!(
            out(&spec(Some(300), None, Fit::Contain), 1000, 500),
            (300, 150)
        );
        assert_eq!(
            out(&spec(None, Some(100), Fit::Cover), 1000, 500),
            (200, 100)
        );
        assert_eq!(
            out(&spec(Some(300), None, Fit::Inside), 200, 100),
            (200, 100)
        );
        // Neither: source size, capped at MAX_SIDE.
        assert_eq!(out(&spec(None, None, Fit::Contain), 640, 480), (640, 480));
        assert_eq!(
            out(&spec(None, None, Fit::Contain), 8192, 4096),
            (4096, 2048)
        );
        // Extreme aspect ratios never produce a zero side.
        assert_eq!(
            out(&spec(Some(100), Some(100), Fit::Contain), 10_000, 1),
            (100, 1)
        );
    }

    fn enlarged(s: ThumbSpec) -> ThumbSpec {
        let shot = ShotOptions {
            enlarge: true,
            ..ShotOptions::default()
        };
        s.with_shot(shot).unwrap()
    }

    #[test]
    fn no_enlargement_unless_asked() {
        // The examples: a 14×25 GIF and a 265×352 illustration at w:300.
        assert_eq!(out(&spec(Some(300), None, Fit::Contain), 14, 25), (14, 25));
        assert_eq!(
            out(&spec(Some(300), None, Fit::Contain), 265, 352),
            (265, 352)
        );
        assert_eq!(
            out(&enlarged(spec(Some(300), None, Fit::Contain)), 265, 352),
            (300, 398)
        );
        // Cover and fill shrink the box, keeping its aspect ratio, to fit the source.
        let cover = spec(Some(300), Some(300), Fit::Cover).output_size(265, 352);
        assert_eq!(
            (cover.resize_w, cover.resize_h, cover.out_w, cover.out_h),
            (265, 352, 265, 265)
        );
        let cover = spec(Some(400), Some(200), Fit::Cover).output_size(300, 300);
        assert_eq!((cover.out_w, cover.out_h), (300, 150));
        assert_eq!(
            out(&enlarged(spec(Some(300), Some(300), Fit::Cover)), 265, 352),
            (300, 300)
        );
        assert_eq!(
            out(&enlarged(spec(Some(300), Some(300), Fit::Fill)), 100, 50),
            (300, 300)
        );
        // Inside never enlarges.
        assert_eq!(
            out(&enlarged(spec(Some(300), Some(300), Fit::Inside)), 100, 50),
            (100, 50)
        );
        // DPR multiplies the request, but not past the source.
        let s = ThumbSpec::parse("w:100/dpr:2").unwrap();
        assert_eq!(out(&s, 150, 300), (150, 300));
        assert_eq!(out(&s, 1000, 2000), (200, 400));
        let s = ThumbSpec::parse("w:100/h:100/fit:cover/dpr:3").unwrap();
        assert_eq!(out(&s, 250, 200), (200, 200));
    }

    #[test]
    fn padding_is_bounded() {
        let s = ThumbSpec::parse("w:100/h:50/pad:10:20:30:40/dpr:2").unwrap();
        assert_eq!(s.padding(200, 100), [20, 40, 60, 80]);
        assert_eq!(s.final_size(1000, 500), (320, 180));
        // Without a requested size each side is at most the image, the total at most MAX_SIDE.
        let s = ThumbSpec::parse("pad:4000").unwrap();
        assert_eq!(s.padding(10, 4000), [48, 10, 48, 10]);
    }

    #[test]
    fn dpr_scales_the_box_and_is_bounded() {
        let s = ThumbSpec::new(
            Some(300),
            Some(200),
            Fit::Fill,
            Format::Auto,
            Quality::DEFAULT,
            Dpr::parse("1.5").unwrap(),
        )
        .unwrap();
        assert_eq!(s.target_box(), (Some(450), Some(300)));
        assert_eq!(out(&s, 1000, 1000), (450, 300));
        let err = ThumbSpec::new(
            Some(3000),
            None,
            Fit::Fill,
            Format::Auto,
            Quality::DEFAULT,
            Dpr::parse("2").unwrap(),
        )
        .unwrap_err();
        assert_eq!(err.field, "dpr");
    }

    #[test]
    fn dpr_parsing_and_display() {
        for (s, h, shown) in [
            ("1", 100, "1"),
            ("1.5", 150, "1.5"),
            ("1.25", 125, "1.25"),
            ("3", 300, "3"),
            ("2.0", 200, "2"),
            ("1.05", 105, "1.05"),
        ] {
            let d = Dpr::parse(s).unwrap();
            assert_eq!(d.hundredths(), h, "{s}");
            assert_eq!(d.to_string(), shown);
        }
        for bad in [
            "", "0", "0.5", "3.01", "4", "1.", ".5", "1.234", "-1", "1e0", "nan", "１",
        ] {
            assert_eq!(Dpr::parse(bad).unwrap_err().field, "dpr", "{bad}");
        }
    }

    #[test]
    fn presets_are_longest_side_never_enlarged() {
        assert_eq!(out(&Preset::Small.spec(), 1000, 500), (150, 75));
        assert_eq!(out(&Preset::Medium.spec(), 500, 1000), (150, 300));
        assert_eq!(out(&Preset::Large.spec(), 4000, 3000), (600, 450));
        assert_eq!(out(&Preset::Large.spec(), 320, 200), (320, 200));
    }

    #[test]
    fn quality_bounds() {
        assert!(Quality::new(0).is_err());
        assert!(Quality::new(101).is_err());
        assert_eq!(Quality::new(100).unwrap().get(), 100);
        assert_eq!(Quality::default().get(), 80);
    }
}
