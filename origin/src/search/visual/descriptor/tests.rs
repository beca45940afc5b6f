use super::fill::ring_background;
use super::*;

#[test]
fn white_padding_is_trimmed_before_describing() {
    // A busy picture (no plain backdrop), then the same with a white margin.
    let (w, h) = (64u32, 48u32);
    let busy: Vec<u8> = (0..w * h)
        .flat_map(|i| {
            let (x, y) = (i % w, i / w);
            [
                (x * 7 + y * 3) as u8 % 200,
                (x * y) as u8 % 180,
                (x + y * 11) as u8 % 220,
            ]
        })
        .collect();
    let original = RgbPixels {
        w,
        h,
        buf: busy.clone(),
    };
    let pad = 20u32;
    let (pw, ph) = (w + 2 * pad, h + 2 * pad);
    let mut padded = vec![255u8; (pw * ph * 3) as usize];
    for y in 0..h {
        let src = (y * w * 3) as usize;
        let dst = (((y + pad) * pw + pad) * 3) as usize;
        padded[dst..dst + (w * 3) as usize].copy_from_slice(&busy[src..src + (w * 3) as usize]);
    }
    let padded = RgbPixels {
        w: pw,
        h: ph,
        buf: padded,
    };
    // The padding goes, and with it the one-pixel seam that downscaling would blend.
    let (trimmed, fill) = trim_uniform_border(&padded, &fill_mask(&padded)).unwrap();
    assert_eq!((trimmed.w, trimmed.h), (w - 2, h - 2));
    assert!(fill.iter().all(|f| !f));
    let inner: Vec<u8> = (1..h - 1)
        .flat_map(|y| {
            let start = ((y * w + 1) * 3) as usize;
            busy[start..start + ((w - 2) * 3) as usize].to_vec()
        })
        .collect();
    assert_eq!(trimmed.buf, inner);
    assert!(trim_uniform_border(&original, &fill_mask(&original)).is_none());
    let same = dot(&describe(&padded).vector, &describe(&original).vector);
    assert!(same > 0.97, "{same}");
}

/// A photo of a dark scene (a night sky: small bright stars, one coloured nebula) of
/// `size`², with the stars and the nebula placed by `seed`.
fn night_sky(size: u32, seed: u32) -> RgbPixels {
    let f = size as f32;
    let (bx, by, colour) = if seed % 2 == 1 {
        (0.6, 0.4, [200, 120, 60])
    } else {
        (0.3, 0.7, [70, 110, 210])
    };
    let mut buf = Vec::with_capacity((size * size * 3) as usize);
    for y in 0..size {
        for x in 0..size {
            let h = (x / 4).wrapping_mul(73_856_093) ^ (y / 4).wrapping_mul(19_349_663) ^ seed;
            let h = h.wrapping_mul(2_654_435_761) >> 24;
            let (dx, dy) = (x as f32 - f * bx, y as f32 - f * by);
            let p = if (dx * dx + dy * dy).sqrt() < f * 0.14 {
                colour
            } else if h < 10 {
                [230, 230, 200]
            } else {
                [14 + (h % 6) as u8, 15, 20]
            };
            buf.extend_from_slice(&p);
        }
    }
    RgbPixels {
        w: size,
        h: size,
        buf,
    }
}

/// Halves both sides (2×2 box filter): the analysis downscale.
fn halve(px: &RgbPixels) -> RgbPixels {
    let (w, h) = (px.w as usize / 2, px.h as usize / 2);
    let mut buf = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            for k in 0..3 {
                let p = |xx: usize, yy: usize| u32::from(px.buf[(yy * px.w as usize + xx) * 3 + k]);
                let sum = p(2 * x, 2 * y)
                    + p(2 * x + 1, 2 * y)
                    + p(2 * x, 2 * y + 1)
                    + p(2 * x + 1, 2 * y + 1);
                buf.push(((sum + 2) / 4) as u8);
            }
        }
    }
    RgbPixels {
        w: w as u32,
        h: h as u32,
        buf,
    }
}

/// Rotates about the centre by `degrees` (bilinear), white where the source is outside:
/// what a shopper's slightly tilted copy looks like.
fn rotate(px: &RgbPixels, degrees: f32) -> RgbPixels {
    let (w, h) = (px.w as usize, px.h as usize);
    let (s, c) = degrees.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let mut buf = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            let (sx, sy) = (c * dx + s * dy + cx - 0.5, -s * dx + c * dy + cy - 0.5);
            if sx < 0.0 || sy < 0.0 || sx >= (w - 1) as f32 || sy >= (h - 1) as f32 {
                buf.extend_from_slice(&[255, 255, 255]);
                continue;
            }
            let (x0, y0) = (sx as usize, sy as usize);
            let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
            for k in 0..3 {
                let p = |xx: usize, yy: usize| f32::from(px.buf[(yy * w + xx) * 3 + k]);
                let top = p(x0, y0) * (1.0 - fx) + p(x0 + 1, y0) * fx;
                let bottom = p(x0, y0 + 1) * (1.0 - fx) + p(x0 + 1, y0 + 1) * fx;
                buf.push((top * (1.0 - fy) + bottom * fy).round() as u8);
            }
        }
    }
    RgbPixels {
        w: px.w,
        h: px.h,
        buf,
    }
}

#[test]
fn white_rotation_corners_do_not_change_a_dark_backdrop() {
    // About half of the border ring of a 5° rotation is white: the background must still
    // be the dark sky, so the stars stay the foreground and the corners count for nothing.
    let big = night_sky(192, 1);
    let (sky, tilted) = (halve(&big), halve(&rotate(&big, 5.0)));
    let fill = fill_mask(&tilted);
    let (bg, _, fill_is_backdrop) = ring_background(&tilted, &fill, 30.0);
    assert!(!fill_is_backdrop);
    assert!(bg.iter().all(|&c| c < 40.0), "{bg:?}");
    let original = describe(&sky).vector;
    let same = dot(&original, &describe(&tilted).vector);
    let other = dot(&original, &describe(&halve(&night_sky(192, 2))).vector);
    assert!(same > 0.8, "{same} (other {other})");
    assert!(same > other + 0.2, "{same} vs {other}");
}

#[test]
fn padding_a_photo_with_a_flat_margin_of_its_own_trims_both() {
    // A bright disc off-centre on a flat grey backdrop; padded with white, the white goes
    // first and then the same grey margin as the original's (trimming is idempotent).
    let size = 96u32;
    let grey: Vec<u8> = (0..size * size)
        .flat_map(|i| {
            let (x, y) = (i % size, i / size);
            let (dx, dy) = (x as f32 - 60.0, y as f32 - 54.0);
            let v = if (dx * dx + dy * dy).sqrt() < 20.0 {
                220
            } else {
                60 + ((x * 7 + y * 13) % 9) as u8
            };
            [v, v, v]
        })
        .collect();
    let original = RgbPixels {
        w: size,
        h: size,
        buf: grey.clone(),
    };
    let pad = 24u32;
    let side = size + 2 * pad;
    let mut padded = vec![255u8; (side * side * 3) as usize];
    for y in 0..size {
        let src = (y * size * 3) as usize;
        let dst = (((y + pad) * side + pad) * 3) as usize;
        padded[dst..dst + (size * 3) as usize]
            .copy_from_slice(&grey[src..src + (size * 3) as usize]);
    }
    let padded = RgbPixels {
        w: side,
        h: side,
        buf: padded,
    };
    let (a, _) = trim_uniform_border(&original, &fill_mask(&original)).unwrap();
    let (b, _) = trim_uniform_border(&padded, &fill_mask(&padded)).unwrap();
    assert!(
        a.w.abs_diff(b.w) <= 2 && a.h.abs_diff(b.h) <= 2,
        "{}x{} vs {}x{}",
        a.w,
        a.h,
        b.w,
        b.h
    );
    let same = dot(&describe(&original).vector, &describe(&padded).vector);
    assert!(same > 0.97, "{same}");
}

fn solid_with_square(bg: [u8; 3], fgc: [u8; 3], size: u32, sq: (u32, u32, u32)) -> RgbPixels {
    let mut buf = Vec::new();
    for y in 0..size {
        for x in 0..size {
            let inside = x >= sq.0 && x < sq.0 + sq.2 && y >= sq.1 && y < sq.1 + sq.2;
            buf.extend_from_slice(if inside { &fgc } else { &bg });
        }
    }
    RgbPixels {
        w: size,
        h: size,
        buf,
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn unit_length_fixed_size_and_deterministic() {
    let px = solid_with_square([255, 255, 255], [200, 30, 30], 64, (16, 16, 32));
    let a = describe(&px);
    let b = describe(&px);
    assert_eq!(a.vector.len(), DIMS);
    assert_eq!(
        a.vector.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        b.vector.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    assert_eq!(a.phash, b.phash);
    assert!((dot(&a.vector, &a.vector) - 1.0).abs() < 1e-4);
}

#[test]
fn padding_and_position_matter_little_colour_matters_a_lot() {
    let red = describe(&solid_with_square(
        [255, 255, 255],
        [200, 30, 30],
        64,
        (16, 16, 32),
    ));
    let red_moved = describe(&solid_with_square(
        [255, 255, 255],
        [200, 30, 30],
        96,
        (10, 40, 32),
    ));
    let blue = describe(&solid_with_square(
        [255, 255, 255],
        [30, 30, 200],
        64,
        (16, 16, 32),
    ));
    let same = dot(&red.vector, &red_moved.vector);
    let other = dot(&red.vector, &blue.vector);
    assert!(same > 0.95, "{same}");
    assert!(other < same - 0.2, "{other} vs {same}");
}

#[test]
fn bytes_round_trip() {
    let v = vec![0.5f32, -1.25, 3.0];
    assert_eq!(from_bytes(&to_bytes(&v)).unwrap(), v);
    assert!(from_bytes(&[1, 2, 3]).is_none());
}
