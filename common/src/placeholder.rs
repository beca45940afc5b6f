//! Image placeholders: what a page paints in an image's box before the image arrives.
//!
//! Two parts, both computed once at ingest from a small RGBA rendition of the original:
//!
//! * a **ThumbHash** (Evan Wallace's format, the `thumbhash` crate): ~25 bytes that decode to
//!   a blurred 32 px picture with the image's layout, colours, alpha and aspect ratio;
//! * a **dominant colour** (`#rrggbb`), the box's background until the ThumbHash is decoded,
//!   and a colour a page can use before any script runs.
//!
//! The dominant colour is the mean of the most populated cell of a coarse colour histogram
//! (4 bits per channel, 4096 cells; a cell's population counts its 26 neighbours too, so a
//! colour split across a cell boundary is not outvoted by a smaller uniform one), not the
//! mean of the image: the mean of a red shoe on white is pink, a colour the picture does not
//! have. Two kinds of pixel do not vote, as in Color Thief and the palette APIs of image
//! services: **transparent** ones (alpha < 128) and, when the image is a product shot on a
//! white background (≥ 90 % of its opaque border pixels are near-white, every channel ≥ 235),
//! the **near-white** ones, so the colour is the product's. If that leaves fewer than 2 % of
//! the opaque pixels, the image is mostly white and its colour is the white's; an image with
//! no opaque pixel at all is `#ffffff`.
//!
//! The ThumbHash encoder asserts that its input is at most 100 × 100: [`Placeholder::from_rgba`]
//! box-filters anything larger down to [`MAX_SIDE`] first, so no input size reaches the
//! assert (the pipeline already hands it a rendition of that size).

use base64::Engine as _;

use crate::product_images::ImagePlaceholder;

/// The largest side the ThumbHash encoder accepts (and what is worth encoding).
pub const MAX_SIDE: u32 = 100;

/// Alpha below this is transparent: such pixels do not vote for the dominant colour.
const OPAQUE_ALPHA: u8 = 128;
/// Every channel at least this is near-white (JPEG noise keeps white backgrounds near 255).
const NEAR_WHITE: u8 = 235;
/// Share of the opaque border that must be near-white for the image to count as a white
/// product shot, in percent.
const WHITE_BORDER_PERCENT: u64 = 90;
/// With the background left out, at least this share of the opaque pixels (in percent) must
/// remain, else the image is mostly white and white is its colour.
const MIN_SUBJECT_PERCENT: u64 = 2;

/// A computed placeholder: the ThumbHash bytes and the dominant sRGB colour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    pub thumbhash: Vec<u8>,
    pub color: [u8; 3],
}

/// Why a placeholder could not be computed from pixels (a caller's bug, never the image's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceholderError {
    #[error("an image of {w}×{h} has no pixels")]
    Empty { w: u32, h: u32 },
    #[error("{len} bytes are not {w}×{h} RGBA pixels")]
    Length { w: u32, h: u32, len: usize },
}

impl Placeholder {
    /// The placeholder of `w × h` RGBA pixels (row-major, not premultiplied), any size.
    pub fn from_rgba(w: u32, h: u32, rgba: &[u8]) -> Result<Placeholder, PlaceholderError> {
        if w == 0 || h == 0 {
            return Err(PlaceholderError::Empty { w, h });
        }
        if rgba.len() as u64 != u64::from(w) * u64::from(h) * 4 {
            return Err(PlaceholderError::Length {
                w,
                h,
                len: rgba.len(),
            });
        }
        let (w, h, small) = if w > MAX_SIDE || h > MAX_SIDE {
            let (tw, th) = fit_within(w, h, MAX_SIDE);
            (tw, th, box_downscale(w, h, rgba, tw, th))
        } else {
            (w, h, rgba.to_vec())
        };
        Ok(Placeholder {
            thumbhash: thumbhash::rgba_to_thumb_hash(w as usize, h as usize, &small),
            color: dominant_color(w, h, &small),
        })
    }

    /// The ThumbHash as standard base64 (with padding), as the API carries it.
    pub fn thumbhash_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.thumbhash)
    }

    /// The colour as `#rrggbb` (lower case).
    pub fn color_hex(&self) -> String {
        let [r, g, b] = self.color;
        format!("#{r:02x}{g:02x}{b:02x}")
    }

    /// The API's form of it.
    pub fn to_api(&self) -> ImagePlaceholder {
        ImagePlaceholder {
            thumbhash: self.thumbhash_base64(),
            color: self.color_hex(),
        }
    }
}

/// `w × h` scaled to fit inside `max × max`, keeping the aspect ratio (each side ≥ 1, never
/// enlarged).
pub fn fit_within(w: u32, h: u32, max: u32) -> (u32, u32) {
    let max = max.max(1);
    if w <= max && h <= max {
        return (w.max(1), h.max(1));
    }
    let scale = |a: u32, b: u32| -> u32 {
        ((u64::from(a) * u64::from(max) + u64::from(b) / 2) / u64::from(b)).clamp(1, u64::from(max))
            as u32
    };
    if w >= h {
        (max, scale(h, w))
    } else {
        (scale(w, h), max)
    }
}

/// Area-averaged downscale of RGBA pixels (alpha-weighted colour, so transparent pixels do
/// not darken their neighbours).
fn box_downscale(w: u32, h: u32, rgba: &[u8], tw: u32, th: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(tw as usize * th as usize * 4);
    for ty in 0..th {
        let y0 = (u64::from(ty) * u64::from(h) / u64::from(th)) as usize;
        let y1 = ((u64::from(ty + 1) * u64::from(h)).div_ceil(u64::from(th)) as usize).max(y0 + 1);
        for tx in 0..tw {
            let x0 = (u64::from(tx) * u64::from(w) / u64::from(tw)) as usize;
            let x1 =
                ((u64::from(tx + 1) * u64::from(w)).div_ceil(u64::from(tw)) as usize).max(x0 + 1);
            let (mut r, mut g, mut b, mut a, mut n) = (0u64, 0u64, 0u64, 0u64, 0u64);
            for y in y0..y1 {
                let row = &rgba[y * w as usize * 4..(y + 1) * w as usize * 4];
                for px in row[x0 * 4..x1 * 4].chunks_exact(4) {
                    let alpha = u64::from(px[3]);
                    r += u64::from(px[0]) * alpha;
                    g += u64::from(px[1]) * alpha;
                    b += u64::from(px[2]) * alpha;
                    a += alpha;
                    n += 1;
                }
            }
            let mean = |c: u64| (c + a / 2).checked_div(a).unwrap_or(0) as u8;
            out.extend_from_slice(&[mean(r), mean(g), mean(b), ((a + n / 2) / n) as u8]);
        }
    }
    out
}

fn near_white(px: &[u8]) -> bool {
    px[0] >= NEAR_WHITE && px[1] >= NEAR_WHITE && px[2] >= NEAR_WHITE
}

fn opaque(px: &[u8]) -> bool {
    px[3] >= OPAQUE_ALPHA
}

/// Whether the opaque border of the image is (≥ 90 %) near-white: a product-shot background.
fn white_background(w: u32, h: u32, rgba: &[u8]) -> bool {
    let (w, h) = (w as usize, h as usize);
    let (mut border, mut white) = (0u64, 0u64);
    for y in 0..h {
        for x in 0..w {
            if x != 0 && y != 0 && x != w - 1 && y != h - 1 {
                continue;
            }
            let px = &rgba[(y * w + x) * 4..(y * w + x) * 4 + 4];
            if opaque(px) {
                border += 1;
                white += u64::from(near_white(px));
            }
        }
    }
    border > 0 && white * 100 >= border * WHITE_BORDER_PERCENT
}

/// The dominant colour of `w × h` RGBA pixels (see the module's documentation for the rule).
pub fn dominant_color(w: u32, h: u32, rgba: &[u8]) -> [u8; 3] {
    let pixels = || rgba.chunks_exact(4).filter(|px| opaque(px));
    let total = pixels().count() as u64;
    if total == 0 {
        return [255, 255, 255];
    }
    let mut skip_white = white_background(w, h, rgba);
    if skip_white {
        let subject = pixels().filter(|px| !near_white(px)).count() as u64;
        skip_white = subject * 100 >= total * MIN_SUBJECT_PERCENT && subject > 0;
    }
    let mut counts = vec![0u32; 4096];
    let mut sums = vec![[0u64; 3]; 4096];
    for px in pixels().filter(|px| !(skip_white && near_white(px))) {
        let cell = cell_of(px[0], px[1], px[2]);
        counts[cell] += 1;
        for c in 0..3 {
            sums[cell][c] += u64::from(px[c]);
        }
    }
    let mut best = (0u64, 0usize);
    for cell in 0..4096 {
        if counts[cell] == 0 {
            continue;
        }
        let score = neighbourhood(&counts, cell);
        // Strictly greater: ties go to the lowest cell, so the answer is deterministic.
        if score > best.0 {
            best = (score, cell);
        }
    }
    let (n, sum) = (u64::from(counts[best.1]).max(1), sums[best.1]);
    [0, 1, 2].map(|c| ((sum[c] + n / 2) / n) as u8)
}

fn cell_of(r: u8, g: u8, b: u8) -> usize {
    (usize::from(r >> 4) << 8) | (usize::from(g >> 4) << 4) | usize::from(b >> 4)
}

/// The population of `cell` and its (up to 26) neighbours in the 16 × 16 × 16 grid.
fn neighbourhood(counts: &[u32], cell: usize) -> u64 {
    let (r, g, b) = (
        (cell >> 8) as i32,
        ((cell >> 4) & 15) as i32,
        (cell & 15) as i32,
    );
    let mut sum = 0u64;
    for dr in -1..=1 {
        for dg in -1..=1 {
            for db in -1..=1 {
                let (nr, ng, nb) = (r + dr, g + dg, b + db);
                if (0..16).contains(&nr) && (0..16).contains(&ng) && (0..16).contains(&nb) {
                    sum += u64::from(counts[((nr << 8) | (ng << 4) | nb) as usize]);
                }
            }
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(w: u32, h: u32, px: [u8; 4]) -> Vec<u8> {
        px.repeat((w * h) as usize)
    }

    /// A `w × h` white (or `bg`) canvas with a centred `fg` rectangle covering `share` of
    /// each side.
    fn product_shot(w: u32, h: u32, bg: [u8; 4], fg: [u8; 4], share: f32) -> Vec<u8> {
        let mut out = Vec::new();
        let (mx, my) = (
            (w as f32 * (1.0 - share) / 2.0) as u32,
            (h as f32 * (1.0 - share) / 2.0) as u32,
        );
        for y in 0..h {
            for x in 0..w {
                let inside = x >= mx && x < w - mx && y >= my && y < h - my;
                out.extend_from_slice(if inside { &fg } else { &bg });
            }
        }
        out
    }

    #[test]
    fn a_solid_image_has_its_colour_and_a_thumbhash_that_decodes_to_it() {
        let p = Placeholder::from_rgba(64, 32, &solid(64, 32, [200, 30, 60, 255])).unwrap();
        assert_eq!(p.color_hex(), "#c81e3c");
        let (w, h, rgba) = thumbhash::thumb_hash_to_rgba(&p.thumbhash).unwrap();
        assert_eq!(w, 32, "landscape: 32 px wide");
        // ThumbHash keeps the ratio as 7 : n (here 7 : 4), so it is close, not exact.
        assert!((w as f32 / h as f32 / 2.0 - 1.0).abs() < 0.15, "{w}×{h}");
        let mid = &rgba[(h / 2 * w + 16) * 4..(h / 2 * w + 16) * 4 + 4];
        for (got, want) in mid.iter().zip([200u8, 30, 60, 255]) {
            assert!(got.abs_diff(want) <= 12, "{mid:?}");
        }
    }

    #[test]
    fn a_product_on_white_takes_the_products_colour() {
        let shot = product_shot(
            80,
            80,
            [255, 255, 255, 255],
            [20, 90, 200, 255],
            0.5, // a quarter of the pixels
        );
        assert_eq!(dominant_color(80, 80, &shot), [20, 90, 200]);
        // The mean would be a washed-out blue no pixel has.
        let p = Placeholder::from_rgba(80, 80, &shot).unwrap();
        assert_eq!(p.color_hex(), "#145ac8");
    }

    #[test]
    fn a_coloured_background_is_the_colour_when_it_dominates() {
        let shot = product_shot(80, 80, [40, 160, 60, 255], [240, 240, 240, 255], 0.5);
        assert_eq!(dominant_color(80, 80, &shot), [40, 160, 60]);
    }

    #[test]
    fn a_white_image_or_a_tiny_subject_on_white_is_white() {
        assert_eq!(
            dominant_color(20, 20, &solid(20, 20, [250, 250, 250, 255])),
            [250, 250, 250]
        );
        // One red pixel in 10,000 white ones is noise, not a subject.
        let mut px = solid(100, 100, [255, 255, 255, 255]);
        px[5050 * 4..5050 * 4 + 4].copy_from_slice(&[255, 0, 0, 255]);
        assert_eq!(dominant_color(100, 100, &px), [255, 255, 255]);
    }

    #[test]
    fn transparent_pixels_do_not_vote_and_a_fully_transparent_image_is_white() {
        let cutout = product_shot(60, 60, [0, 0, 0, 0], [230, 120, 10, 255], 0.3);
        assert_eq!(dominant_color(60, 60, &cutout), [230, 120, 10]);
        assert_eq!(
            dominant_color(10, 10, &solid(10, 10, [0, 0, 0, 0])),
            [255, 255, 255]
        );
        let p = Placeholder::from_rgba(60, 60, &cutout).unwrap();
        let (_, _, rgba) = thumbhash::thumb_hash_to_rgba(&p.thumbhash).unwrap();
        assert!(
            rgba[3] < 128,
            "the corner stays transparent: {:?}",
            &rgba[..4]
        );
    }

    #[test]
    fn the_most_populated_colour_wins_even_when_it_straddles_a_cell_boundary() {
        // 40 % in two shades on either side of a cell boundary (0x7f | 0x80) beat 30 % of one
        // uniform colour.
        let mut px = Vec::new();
        for i in 0..100 {
            let c: [u8; 4] = match i {
                0..20 => [0x7f, 0x20, 0x20, 255],
                20..40 => [0x80, 0x20, 0x20, 255],
                40..70 => [0x20, 0x20, 0xd0, 255],
                _ => [0x10, 0xe0, 0x10, 255],
            };
            px.extend_from_slice(&c);
        }
        let [r, g, b] = dominant_color(10, 10, &px);
        assert!(
            (0x7f..=0x80).contains(&r) && g == 0x20 && b == 0x20,
            "{r} {g} {b}"
        );
    }

    #[test]
    fn large_inputs_are_reduced_before_the_encoder_and_keep_their_aspect() {
        // 1000 × 250 would trip the encoder's assert (≤ 100 per side) if passed through.
        let p = Placeholder::from_rgba(1000, 250, &solid(1000, 250, [10, 200, 90, 255])).unwrap();
        assert_eq!(p.color, [10, 200, 90]);
        let ratio = thumbhash::thumb_hash_to_approximate_aspect_ratio(&p.thumbhash).unwrap();
        assert!((ratio / 4.0 - 1.0).abs() < 0.15, "{ratio}");
        let tall = Placeholder::from_rgba(3, 400, &solid(3, 400, [1, 2, 3, 255])).unwrap();
        assert_eq!(tall.color, [1, 2, 3]);
    }

    #[test]
    fn bad_pixel_buffers_are_errors_not_panics() {
        assert_eq!(
            Placeholder::from_rgba(0, 10, &[]),
            Err(PlaceholderError::Empty { w: 0, h: 10 })
        );
        assert!(matches!(
            Placeholder::from_rgba(2, 2, &[0; 15]),
            Err(PlaceholderError::Length { .. })
        ));
    }

    #[test]
    fn fit_within_keeps_the_ratio_and_never_enlarges() {
        assert_eq!(fit_within(1000, 500, 100), (100, 50));
        assert_eq!(fit_within(500, 1000, 100), (50, 100));
        assert_eq!(fit_within(5000, 1, 100), (100, 1));
        assert_eq!(fit_within(40, 30, 100), (40, 30));
    }

    #[test]
    fn the_api_form_is_base64_and_a_hex_colour() {
        let p = Placeholder {
            thumbhash: vec![0xfb, 0xff, 0x01],
            color: [0, 10, 255],
        };
        let api = p.to_api();
        assert_eq!(api.thumbhash, "+/8B");
        assert_eq!(api.color, "#000aff");
    }
}
