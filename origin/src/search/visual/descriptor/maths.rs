//! Small numeric helpers: colour spaces (HSV, linear RGB, Lab), soft binning, normalisation.

pub(super) fn median(values: &mut [u8]) -> u8 {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or(255)
}

/// RGB (0..=255) → HSV with h in [0, 1), s and v in [0, 1].
pub(super) fn hsv(r: f32, g: f32, b: f32) -> (f32, f32, f32) {
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let d = max - min;
    let v = max / 255.0;
    let s = if max > 0.0 { d / max } else { 0.0 };
    let h = if d <= f32::EPSILON {
        0.0
    } else if max == r {
        ((g - b) / d).rem_euclid(6.0) / 6.0
    } else if max == g {
        ((b - r) / d + 2.0) / 6.0
    } else {
        ((r - g) / d + 4.0) / 6.0
    };
    (h.rem_euclid(1.0), s, v)
}

pub(super) fn srgb_to_linear(c: f32) -> f32 {
    let c = c / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// sRGB → CIE Lab (D65), scaled to roughly unit range.
pub(super) fn lab(r: f32, g: f32, b: f32) -> [f32; 3] {
    let (r, g, b) = (srgb_to_linear(r), srgb_to_linear(g), srgb_to_linear(b));
    let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
    let f = |t: f32| {
        if t > 0.008856 {
            t.cbrt()
        } else {
            7.787 * t + 16.0 / 116.0
        }
    };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    [
        (116.0 * fy - 16.0) / 100.0,
        5.0 * (fx - fy),
        2.0 * (fy - fz),
    ]
}

/// Linear ("soft") assignment of `x` in [0, 1] to `bins` bins: two bins and their weights.
pub(super) fn soft_bins(x: f32, bins: usize) -> [(usize, f32); 2] {
    let f = (x.clamp(0.0, 1.0) * bins as f32 - 0.5).clamp(0.0, (bins - 1) as f32);
    let lo = f.floor() as usize;
    let hi = (lo + 1).min(bins - 1);
    let frac = f - lo as f32;
    [(lo, 1.0 - frac), (hi, frac)]
}

pub(super) fn sqrt_l2(part: &mut [f32]) {
    for v in part.iter_mut() {
        *v = v.max(0.0).sqrt();
    }
    l2(part);
}

pub(super) fn l2(part: &mut [f32]) {
    let norm = part.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm > 1e-12 {
        for v in part.iter_mut() {
            *v /= norm;
        }
    }
}
