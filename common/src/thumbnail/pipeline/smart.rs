//! Step 7b: the `sm` gravity — the crop window with the most detail.
//!
//! Like libvips' attention crop, but simpler: the image is sampled on a grid of at most
//! [`GRID`] points along its longest side, each sample's edge energy (luma differences to the
//! next sample right and below) is summed per column (or row), and the window of the output's
//! aspect ratio, full height (or width), with the largest sum is kept. Ties go to the window
//! nearest the centre, so a flat image crops like `ce`. It reads about `GRID²` pixels, so it
//! costs little next to the resize.

use super::Pixels;

const GRID: u32 = 256;

/// Left, top, width, height (source pixels) of the best window with the `out_w:out_h` ratio.
pub(super) fn smart_window(src: &Pixels, out_w: u32, out_h: u32) -> (f64, f64, f64, f64) {
    let (sw, sh) = (f64::from(src.w), f64::from(src.h));
    let (ow, oh) = (f64::from(out_w.max(1)), f64::from(out_h.max(1)));
    // Slide horizontally when the source is wider than the output's ratio.
    let horizontal = sw * oh > sh * ow;
    // Whole pixels, so the window provably stays inside the source.
    let (cw, ch) = if horizontal {
        ((sh * ow / oh).round().clamp(1.0, sw), sh)
    } else {
        (sw, (sw * oh / ow).round().clamp(1.0, sh))
    };
    let step = (src.w.max(src.h) / GRID).max(1) as usize;
    let profile = energy_profile(src, step, horizontal);
    let n = profile.len();
    let extent = if horizontal { sw } else { sh };
    let window = if horizontal { cw } else { ch };
    // The window's length in samples, at least one.
    let win = (((window / extent) * n as f64).round() as usize).clamp(1, n.max(1));
    let best = best_start(&profile, win);
    let travel = extent - window;
    let offset = if n > win {
        (best as f64 / (n - win) as f64 * travel)
            .round()
            .clamp(0.0, travel)
    } else {
        (travel / 2.0).floor()
    };
    if horizontal {
        (offset, 0.0, cw, ch)
    } else {
        (0.0, offset, cw, ch)
    }
}

/// Edge energy summed per sampled column (`horizontal`) or row.
fn energy_profile(src: &Pixels, step: usize, horizontal: bool) -> Vec<u64> {
    let ch = if src.alpha { 4 } else { 3 };
    let (w, h) = (src.w as usize, src.h as usize);
    let luma = |x: usize, y: usize| -> i32 {
        let i = (y * w + x) * ch;
        match src.buf.get(i..i + 3) {
            Some(p) => (i32::from(p[0]) * 77 + i32::from(p[1]) * 150 + i32::from(p[2]) * 29) >> 8,
            None => 0,
        }
    };
    let cols = w.div_ceil(step);
    let rows = h.div_ceil(step);
    let mut profile = vec![0u64; if horizontal { cols } else { rows }];
    for (j, y) in (0..h).step_by(step).enumerate() {
        for (i, x) in (0..w).step_by(step).enumerate() {
            let l = luma(x, y);
            let right = if x + step < w { luma(x + step, y) } else { l };
            let below = if y + step < h { luma(x, y + step) } else { l };
            let e = (l - right).unsigned_abs() + (l - below).unsigned_abs();
            profile[if horizontal { i } else { j }] += u64::from(e);
        }
    }
    profile
}

/// The start of the `win`-long run with the largest sum; ties to the one nearest the centre.
fn best_start(profile: &[u64], win: usize) -> usize {
    let n = profile.len();
    if win >= n {
        return 0;
    }
    let centre = (n - win) as f64 / 2.0;
    let mut sum: u64 = profile[..win].iter().sum();
    let (mut best, mut best_sum) = (0, sum);
    for start in 1..=n - win {
        sum = sum + profile[start + win - 1] - profile[start - 1];
        let closer = (start as f64 - centre).abs() < (best as f64 - centre).abs();
        if sum > best_sum || (sum == best_sum && closer) {
            best = start;
            best_sum = sum;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_go_to_the_centre_and_peaks_win() {
        assert_eq!(best_start(&[1, 1, 1, 1, 1], 3), 1);
        assert_eq!(best_start(&[0, 0, 0, 9, 9], 2), 3);
        assert_eq!(best_start(&[9, 0, 0, 0, 0], 2), 0);
        assert_eq!(best_start(&[1, 2], 5), 0);
    }
}
