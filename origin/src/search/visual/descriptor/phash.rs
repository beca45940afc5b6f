//! The 64-bit perceptual hash (DCT of a 32×32 luminance image).

/// 64-bit DCT perceptual hash of a luminance image.
pub fn phash(luma: &[f32], w: usize, h: usize) -> u64 {
    const N: usize = 32;
    // Box-sample to 32×32.
    let mut small = [[0f32; N]; N];
    for (j, row) in small.iter_mut().enumerate() {
        for (i, v) in row.iter_mut().enumerate() {
            let (xa, xb) = (i * w / N, ((i + 1) * w / N).max(i * w / N + 1).min(w));
            let (ya, yb) = (j * h / N, ((j + 1) * h / N).max(j * h / N + 1).min(h));
            let mut sum = 0.0;
            let mut count = 0.0;
            for y in ya..yb {
                for x in xa..xb {
                    sum += luma.get(y * w + x).copied().unwrap_or(0.0);
                    count += 1.0;
                }
            }
            *v = if count > 0.0 { sum / count } else { 0.0 };
        }
    }
    // 2-D DCT-II, only the 8×8 lowest frequencies.
    let cos: Vec<Vec<f32>> = (0..8)
        .map(|k| {
            (0..N)
                .map(|n| (std::f32::consts::PI / N as f32 * (n as f32 + 0.5) * k as f32).cos())
                .collect()
        })
        .collect();
    let mut coeffs = [0f32; 64];
    for v in 0..8 {
        for u in 0..8 {
            let mut s = 0.0;
            for (y, row) in small.iter().enumerate() {
                let mut r = 0.0;
                for (x, value) in row.iter().enumerate() {
                    r += value * cos[u][x];
                }
                s += r * cos[v][y];
            }
            coeffs[v * 8 + u] = s;
        }
    }
    let mut ac: Vec<f32> = coeffs[1..].to_vec();
    ac.sort_by(|a, b| a.total_cmp(b));
    let median = ac[ac.len() / 2];
    let mut hash = 0u64;
    for (i, c) in coeffs.iter().enumerate().skip(1) {
        if *c > median {
            hash |= 1 << i;
        }
    }
    hash
}
