//! The demo catalog's pictures, rendered from signed-distance shapes: the category decides
//! the object (a laptop, a mug, a lamp…), the colour name in the title its colour, the brand
//! a background tint and accent stripe, the variant its size and position, so every demo
//! product gets a distinct, deterministic picture that visual search can tell apart.

use image::{ImageBuffer, Rgb, RgbImage};

use super::{BRANDS, COLOURS, KINDS, SIZE, mix};

fn sd_circle(x: f32, y: f32, cx: f32, cy: f32, r: f32) -> f32 {
    ((x - cx).powi(2) + (y - cy).powi(2)).sqrt() - r
}

fn sd_box(x: f32, y: f32, cx: f32, cy: f32, hw: f32, hh: f32, r: f32) -> f32 {
    let dx = (x - cx).abs() - hw + r;
    let dy = (y - cy).abs() - hh + r;
    let outside = (dx.max(0.0).powi(2) + dy.max(0.0).powi(2)).sqrt();
    outside + dx.max(dy).min(0.0) - r
}

fn sd_ring(x: f32, y: f32, cx: f32, cy: f32, r: f32, thickness: f32) -> f32 {
    sd_circle(x, y, cx, cy, r).abs() - thickness
}

fn sd_ellipse(x: f32, y: f32, cx: f32, cy: f32, rx: f32, ry: f32) -> f32 {
    // Approximate: distance in the scaled space, rescaled by the smaller radius.
    let k = ((x - cx) / rx).powi(2) + ((y - cy) / ry).powi(2);
    (k.sqrt() - 1.0) * rx.min(ry)
}

fn sd_triangle(x: f32, y: f32, cx: f32, top: f32, bottom: f32, half_base: f32) -> f32 {
    // Isosceles triangle with apex (cx, top) and base at y = bottom.
    let h = bottom - top;
    let side =
        ((x - cx).abs() * h - (y - top) * half_base) / (h * h + half_base * half_base).sqrt();
    side.max(y - bottom)
}

type Shape = Box<dyn Fn(f32, f32) -> f32>;

/// The shapes (distance function, colour) that make up one product picture, back to front.
fn shapes(
    category: usize,
    colour: [u8; 3],
    accent: [u8; 3],
    scale: f32,
    dx: f32,
) -> Vec<(Shape, [u8; 3])> {
    let c = SIZE as f32 / 2.0 + dx;
    let s = scale;
    let dark = [40, 40, 45];
    let metal = [170, 170, 178];
    let mut v: Vec<(Shape, [u8; 3])> = Vec::new();
    match category {
        0 => {
            v.push((
                Box::new(move |x, y| sd_box(x, y, c, 140.0, 95.0 * s, 62.0 * s, 8.0)),
                colour,
            ));
            v.push((
                Box::new(move |x, y| sd_box(x, y, c, 140.0, 82.0 * s, 50.0 * s, 3.0)),
                dark,
            ));
            v.push((
                Box::new(move |x, y| sd_box(x, y, c, 140.0 + 72.0 * s, 115.0 * s, 9.0 * s, 5.0)),
                colour,
            ));
        }
        1 => {
            v.push((
                Box::new(move |x, y| sd_ring(x, y, c, 160.0, 80.0 * s, 9.0 * s).max(y - 160.0)),
                colour,
            ));
            v.push((
                Box::new(move |x, y| sd_ellipse(x, y, c - 80.0 * s, 175.0, 24.0 * s, 40.0 * s)),
                colour,
            ));
            v.push((
                Box::new(move |x, y| sd_ellipse(x, y, c + 80.0 * s, 175.0, 24.0 * s, 40.0 * s)),
                colour,
            ));
            v.push((
                Box::new(move |x, y| sd_ellipse(x, y, c - 80.0 * s, 175.0, 10.0 * s, 22.0 * s)),
                accent,
            ));
        }
        2 => {
            v.push((
                Box::new(move |x, y| sd_ring(x, y, c + 62.0 * s, 160.0, 30.0 * s, 9.0 * s)),
                colour,
            ));
            v.push((
                Box::new(move |x, y| sd_box(x, y, c, 160.0, 58.0 * s, 72.0 * s, 10.0)),
                colour,
            ));
            v.push((
                Box::new(move |x, y| sd_box(x, y, c, 115.0, 50.0 * s, 6.0 * s, 3.0)),
                accent,
            ));
        }
        3 => {
            v.push((
                Box::new(move |x, y| {
                    sd_ellipse(x, y, c, 185.0, 110.0 * s, 38.0 * s).max(185.0 - 40.0 * s - y)
                }),
                colour,
            ));
            v.push((
                Box::new(move |x, y| sd_ellipse(x, y, c - 35.0 * s, 165.0, 60.0 * s, 45.0 * s)),
                colour,
            ));
            v.push((
                Box::new(move |x, y| sd_box(x, y, c, 212.0, 112.0 * s, 8.0 * s, 4.0)),
                [235, 235, 235],
            ));
            v.push((
                Box::new(move |x, y| sd_box(x, y, c - 30.0 * s, 170.0, 40.0 * s, 4.0 * s, 2.0)),
                accent,
            ));
        }
        4 => {
            v.push((
                Box::new(move |x, y| sd_box(x, y, c, 160.0, 26.0 * s, 120.0 * s, 8.0)),
                colour,
            ));
            v.push((
                Box::new(move |x, y| sd_circle(x, y, c, 160.0, 58.0 * s)),
                metal,
            ));
            v.push((
                Box::new(move |x, y| sd_circle(x, y, c, 160.0, 48.0 * s)),
                [250, 250, 245],
            ));
            v.push((
                Box::new(move |x, y| sd_box(x, y, c + 14.0 * s, 160.0, 16.0 * s, 2.5, 1.0)),
                dark,
            ));
            v.push((
                Box::new(move |x, y| sd_box(x, y, c, 140.0 * 1.0, 2.5, 22.0 * s, 1.0)),
                accent,
            ));
        }
        5 => {
            v.push((
                Box::new(move |x, y| sd_ring(x, y, c, 75.0, 24.0 * s, 6.0)),
                colour,
            ));
            v.push((
                Box::new(move |x, y| sd_box(x, y, c, 170.0, 75.0 * s, 95.0 * s, 28.0)),
                colour,
            ));
            v.push((
                Box::new(move |x, y| sd_box(x, y, c, 205.0, 52.0 * s, 38.0 * s, 12.0)),
                accent,
            ));
        }
        6 => {
            v.push((
                Box::new(move |x, y| sd_box(x, y, c, 255.0, 55.0 * s, 8.0, 4.0)),
                metal,
            ));
            v.push((
                Box::new(move |x, y| sd_box(x, y, c, 175.0, 5.0, 80.0 * s, 2.0)),
                metal,
            ));
            v.push((
                Box::new(move |x, y| sd_triangle(x, y, c, 60.0, 125.0, 70.0 * s)),
                colour,
            ));
            v.push((
                Box::new(move |x, y| sd_ellipse(x, y, c, 125.0, 40.0 * s, 7.0)),
                [255, 236, 160],
            ));
        }
        7 => {
            v.push((
                Box::new(move |x, y| sd_box(x, y, c, 110.0, 60.0 * s, 62.0 * s, 14.0)),
                colour,
            ));
            v.push((
                Box::new(move |x, y| sd_box(x, y, c, 190.0, 75.0 * s, 16.0 * s, 8.0)),
                colour,
            ));
            v.push((
                Box::new(move |x, y| sd_box(x, y, c, 240.0, 5.0, 40.0 * s, 2.0)),
                dark,
            ));
            v.push((
                Box::new(move |x, y| sd_box(x, y, c, 280.0, 60.0 * s, 5.0, 2.0)),
                dark,
            ));
            v.push((
                Box::new(move |x, y| sd_box(x, y, c, 110.0, 45.0 * s, 6.0, 3.0)),
                accent,
            ));
        }
        8 => {
            v.push((
                Box::new(move |x, y| sd_box(x, y, c, 145.0, 18.0 * s, 4.0, 2.0)),
                dark,
            ));
            v.push((
                Box::new(move |x, y| sd_ellipse(x, y, c - 60.0 * s, 160.0, 48.0 * s, 36.0 * s)),
                colour,
            ));
            v.push((
                Box::new(move |x, y| sd_ellipse(x, y, c + 60.0 * s, 160.0, 48.0 * s, 36.0 * s)),
                colour,
            ));
            v.push((
                Box::new(move |x, y| sd_ellipse(x, y, c - 60.0 * s, 160.0, 38.0 * s, 27.0 * s)),
                dark,
            ));
            v.push((
                Box::new(move |x, y| sd_ellipse(x, y, c + 60.0 * s, 160.0, 38.0 * s, 27.0 * s)),
                dark,
            ));
            v.push((
                Box::new(move |x, y| sd_box(x, y, c - 118.0 * s, 150.0, 12.0 * s, 3.0, 1.0)),
                accent,
            ));
        }
        _ => {
            v.push((
                Box::new(move |x, y| sd_box(x, y, c, 70.0, 20.0 * s, 14.0, 4.0)),
                dark,
            ));
            v.push((
                Box::new(move |x, y| sd_box(x, y, c, 95.0, 28.0 * s, 14.0, 6.0)),
                colour,
            ));
            v.push((
                Box::new(move |x, y| sd_box(x, y, c, 185.0, 46.0 * s, 95.0 * s, 22.0)),
                colour,
            ));
            v.push((
                Box::new(move |x, y| sd_box(x, y, c, 185.0, 46.0 * s, 14.0, 2.0)),
                accent,
            ));
        }
    }
    v
}

/// Renders the `i`-th demo product's picture as a JPEG.
pub fn render_image(i: usize) -> anyhow::Result<Vec<u8>> {
    let category = i % KINDS.len();
    let (_, colour) = COLOURS[(i / KINDS.len()) % COLOURS.len()];
    let brand = (i * 5 + i / 7) % BRANDS.len();
    let h = mix(i as u64 + 7);
    let scale = 0.82 + (h % 30) as f32 / 100.0;
    let dx = ((h >> 8) % 41) as f32 - 20.0;
    let tints: [[u8; 3]; 4] = [
        [247, 245, 240],
        [240, 244, 248],
        [244, 248, 242],
        [248, 242, 244],
    ];
    let bg = tints[brand % tints.len()];
    let accent = COLOURS[(brand * 5 + 3) % COLOURS.len()].1;
    let parts = shapes(category, colour, accent, scale, dx);
    let shadow_cx = SIZE as f32 / 2.0 + dx;
    let img: RgbImage = ImageBuffer::from_fn(SIZE, SIZE, |px, py| {
        let (x, y) = (px as f32 + 0.5, py as f32 + 0.5);
        // Soft floor shadow under the object.
        let sh = sd_ellipse(x, y, shadow_cx, 292.0, 110.0 * scale, 10.0);
        let shadow = (1.0 - (sh / 14.0).clamp(0.0, 1.0)) * 0.18;
        let mut rgb = bg.map(|c| f32::from(c) * (1.0 - shadow));
        for (sdf, col) in &parts {
            let cover = (0.5 - sdf(x, y)).clamp(0.0, 1.0);
            if cover > 0.0 {
                // A gentle vertical gradient so objects look lit from above.
                let light = 1.08 - 0.16 * (y / SIZE as f32);
                for k in 0..3 {
                    let c = (f32::from(col[k]) * light).min(255.0);
                    rgb[k] = rgb[k] * (1.0 - cover) + c * cover;
                }
            }
        }
        Rgb(rgb.map(|c| c.round().clamp(0.0, 255.0) as u8))
    });
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 88);
    img.write_with_encoder(encoder)?;
    Ok(out)
}
