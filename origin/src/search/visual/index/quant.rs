//! The codec: PCA to `out` dimensions, then two scalar quantisations of the centred
//! coordinates `y = basis · (x − mean)`, each with a per-dimension scale:
//!
//! - *fine*: all `out` coordinates as `i16` (what re-ranking, exact scans of a filtered
//!   set and `vector_of` use), `y ≈ code · b / 32767`, `b` twice the sample's
//!   largest `|y|` (room for products unlike the sample, for one bit of the 16);
//! - *scan*: the first `scan` coordinates (the highest-variance ones) as `i8`, what the
//!   IVF lists hold and the integer dot product reads, `y ≈ code · a / 127`, `a` clipped
//!   at 4 standard deviations (rare larger values saturate).
//!
//! A query `q` is projected without centring: `q · x = q · mean + (basis · q) · y + ε`,
//! where `ε` is the part of `q · (x − mean)` outside the kept directions.

use super::{pca::Projection, topk::dot};

#[derive(Debug, Clone)]
pub struct Codec {
    pub proj: Projection,
    pub scan: usize,
    scan_scale: Vec<f32>,
    fine_scale: Vec<f32>,
}

/// A query prepared for one search.
#[derive(Debug, Clone)]
pub struct Query {
    /// `q · mean`.
    pub base: f32,
    /// `basis · q`, its first `scan` values (for ordering the lists).
    pub scan_y: Vec<f32>,
    /// Integer weights for the `i8` scan.
    pub scan_w: Vec<i16>,
    /// Weights for the `i16` fine codes: score = `base + Σ fine_w · code`.
    pub fine_w: Vec<f32>,
}

impl Codec {
    /// Fits the projection and the scales to `sample` (`n × dims`).
    pub fn train(sample: &[f32], dims: usize, out: usize, scan: usize) -> Self {
        let proj = Projection::fit(sample, dims, out);
        let out = proj.out;
        let scan = scan.min(out);
        let mut max = vec![0f32; out];
        let mut sq = vec![0f64; out];
        let mut y = vec![0f32; out];
        let n = (sample.len() / dims).max(1);
        for x in sample.chunks_exact(dims) {
            proj.centred(x, &mut y);
            for j in 0..out {
                max[j] = max[j].max(y[j].abs());
                sq[j] += (y[j] as f64) * (y[j] as f64);
            }
        }
        let floor = 1e-9f32;
        let fine_scale = max.iter().map(|m| (m * 2.0).max(floor)).collect();
        let scan_scale = (0..scan)
            .map(|j| {
                let sd = (sq[j] / n as f64).sqrt() as f32;
                (4.0 * sd).min(max[j]).max(floor)
            })
            .collect();
        Self {
            proj,
            scan,
            scan_scale,
            fine_scale,
        }
    }

    pub fn out(&self) -> usize {
        self.proj.out
    }

    /// The fine codes of a full vector.
    pub fn encode(&self, v: &[f32], fine: &mut [i16]) {
        let mut y = vec![0f32; self.out()];
        self.proj.centred(v, &mut y);
        for ((c, y), b) in fine.iter_mut().zip(&y).zip(&self.fine_scale) {
            *c = (y / b * 32767.0).round().clamp(-32767.0, 32767.0) as i16;
        }
    }

    /// The coordinates fine codes stand for.
    pub fn decode(&self, fine: &[i16]) -> Vec<f32> {
        fine.iter()
            .zip(&self.fine_scale)
            .map(|(c, b)| *c as f32 * b / 32767.0)
            .collect()
    }

    /// The scan codes (and the scan-space point, for list assignment) of fine codes.
    pub fn scan_codes(&self, fine: &[i16], codes: &mut [i8], point: &mut [f32]) {
        for j in 0..self.scan {
            let y = fine[j] as f32 * self.fine_scale[j] / 32767.0;
            point[j] = y;
            codes[j] = (y / self.scan_scale[j] * 127.0)
                .round()
                .clamp(-127.0, 127.0) as i8;
        }
    }

    /// The full vector fine codes stand for (`mean + basisᵀ y`).
    pub fn reconstruct(&self, fine: &[i16]) -> Vec<f32> {
        self.proj.reconstruct(&self.decode(fine))
    }

    pub fn query(&self, q: &[f32]) -> Query {
        let mut y = vec![0f32; self.out()];
        self.proj.apply(q, &mut y);
        let w: Vec<f32> = (0..self.scan)
            .map(|j| y[j] * self.scan_scale[j] / 127.0)
            .collect();
        let wmax = w.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-30);
        Query {
            base: dot(q, &self.proj.mean),
            scan_w: w
                .iter()
                .map(|v| (v / wmax * 32767.0).round() as i16)
                .collect(),
            fine_w: y
                .iter()
                .zip(&self.fine_scale)
                .map(|(y, b)| y * b / 32767.0)
                .collect(),
            scan_y: y[..self.scan].to_vec(),
        }
    }
}
