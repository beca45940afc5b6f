//! Principal components of the indexed vectors: the mean and the top `r` directions of
//! their covariance, found by subspace iteration on the covariance of a sample and a
//! Rayleigh–Ritz step (Jacobi on the small projected matrix), so the directions come out
//! ordered by variance and a prefix of them is itself the best smaller projection.

use super::topk::dot;

/// Runs `f(chunk_index, chunk)` over `items` split across the machine's threads.
pub(super) fn par_chunks<T: Sync, R: Send>(items: &[T], f: impl Fn(&[T]) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = items.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(per)
            .map(|c| {
                let f = &f;
                s.spawn(move || f(c))
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    })
}

/// `y = basis · (x − mean)`: rows of `basis` are unit, orthogonal, by falling variance.
#[derive(Debug, Clone)]
pub struct Projection {
    pub dims: usize,
    pub out: usize,
    pub mean: Vec<f32>,
    /// `out × dims`, row-major.
    pub basis: Vec<f32>,
    /// Variance along each row of `basis`.
    pub variance: Vec<f32>,
}

impl Projection {
    /// `basis · v` (no centring: queries are projected as they are, see the index docs).
    pub fn apply(&self, v: &[f32], out: &mut [f32]) {
        for (o, row) in out.iter_mut().zip(self.basis.chunks_exact(self.dims)) {
            *o = dot(row, v);
        }
    }

    /// `basis · (v − mean)`.
    pub fn centred(&self, v: &[f32], out: &mut [f32]) {
        self.apply(v, out);
        for (o, row) in out.iter_mut().zip(self.basis.chunks_exact(self.dims)) {
            *o -= dot(row, &self.mean);
        }
    }

    /// `mean + basisᵀ · y`, the vector `y` stands for.
    pub fn reconstruct(&self, y: &[f32]) -> Vec<f32> {
        let mut v = self.mean.clone();
        for (c, row) in y.iter().zip(self.basis.chunks_exact(self.dims)) {
            v.iter_mut().zip(row).for_each(|(a, b)| *a += c * b);
        }
        v
    }

    /// Fits the top `out` components of `sample` (`n × dims`, row-major).
    pub fn fit(sample: &[f32], dims: usize, out: usize) -> Self {
        let n = (sample.len() / dims).max(1);
        let out = out.min(dims);
        let mut mean = vec![0f32; dims];
        for x in sample.chunks_exact(dims) {
            mean.iter_mut().zip(x).for_each(|(m, v)| *m += v);
        }
        mean.iter_mut().for_each(|m| *m /= n as f32);
        let cov = covariance(sample, dims, &mean, n);
        let m = (out + 8).min(dims);
        // Start from a fixed pseudo-random block, so a fit is reproducible.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut q: Vec<f32> = (0..m * dims)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect();
        orthonormalise(&mut q, dims);
        for _ in 0..14 {
            q = multiply(&cov, &q, dims);
            orthonormalise(&mut q, dims);
        }
        // Rayleigh–Ritz: T = Q C Qᵀ (m × m), its eigenvectors rotate Q into C's.
        let cq = multiply(&cov, &q, dims);
        let mut t = vec![0f64; m * m];
        for i in 0..m {
            for j in 0..m {
                t[i * m + j] =
                    dot(&q[i * dims..(i + 1) * dims], &cq[j * dims..(j + 1) * dims]) as f64;
            }
        }
        let (values, vectors) = jacobi(t, m);
        let mut order: Vec<usize> = (0..m).collect();
        order.sort_by(|a, b| values[*b].total_cmp(&values[*a]));
        // Directions without variance (a sample smaller than `out`) carry nothing: drop them.
        let top = order.first().map_or(0.0, |&e| values[e]);
        let out = order
            .iter()
            .take(out)
            .take_while(|&&e| values[e] > 1e-6 * top && values[e] > 0.0)
            .count()
            .max(1);
        let mut basis = vec![0f32; out * dims];
        for (r, &e) in order.iter().take(out).enumerate() {
            let row = &mut basis[r * dims..(r + 1) * dims];
            for k in 0..m {
                let w = vectors[k * m + e] as f32;
                row.iter_mut()
                    .zip(&q[k * dims..(k + 1) * dims])
                    .for_each(|(a, b)| *a += w * b);
            }
        }
        orthonormalise(&mut basis, dims);
        let variance = order
            .iter()
            .take(out)
            .map(|&e| values[e].max(0.0) as f32)
            .collect();
        Self {
            dims,
            out,
            mean,
            basis,
            variance,
        }
    }
}

/// The sample covariance (`dims × dims`, full), summed over the threads' shares.
fn covariance(sample: &[f32], dims: usize, mean: &[f32], n: usize) -> Vec<f32> {
    let rows: Vec<&[f32]> = sample.chunks_exact(dims).collect();
    let parts = par_chunks(&rows, |rows| {
        let mut c = vec![0f32; dims * dims];
        let mut x = vec![0f32; dims];
        for r in rows {
            x.iter_mut()
                .zip(r.iter().zip(mean))
                .for_each(|(o, (v, m))| *o = v - m);
            for i in 0..dims {
                let xi = x[i];
                c[i * dims + i..(i + 1) * dims]
                    .iter_mut()
                    .zip(&x[i..])
                    .for_each(|(a, b)| *a += xi * b);
            }
        }
        c
    });
    let mut c = vec![0f32; dims * dims];
    for p in parts {
        c.iter_mut().zip(p).for_each(|(a, b)| *a += b);
    }
    for i in 0..dims {
        for j in i..dims {
            let v = c[i * dims + j] / n as f32;
            c[i * dims + j] = v;
            c[j * dims + i] = v;
        }
    }
    c
}

/// Rows of `q` (each `dims` long) times the symmetric `c`.
fn multiply(c: &[f32], q: &[f32], dims: usize) -> Vec<f32> {
    let rows: Vec<&[f32]> = q.chunks_exact(dims).collect();
    par_chunks(&rows, |rows| {
        let mut out = Vec::with_capacity(rows.len() * dims);
        for r in rows {
            out.extend(c.chunks_exact(dims).map(|ci| dot(ci, r)));
        }
        out
    })
    .concat()
}

/// Modified Gram–Schmidt over the rows of `q`, each row orthogonalised twice (once is not
/// enough in `f32` for nearly dependent rows); a row that (nearly) vanishes becomes zero.
fn orthonormalise(q: &mut [f32], dims: usize) {
    let m = q.len() / dims;
    for i in 0..m {
        let (done, rest) = q.split_at_mut(i * dims);
        let row = &mut rest[..dims];
        let before = dot(row, row).sqrt();
        for _ in 0..2 {
            for j in 0..i {
                let prev = &done[j * dims..(j + 1) * dims];
                let p = dot(row, prev);
                row.iter_mut().zip(prev).for_each(|(a, b)| *a -= p * b);
            }
        }
        let norm = dot(row, row).sqrt();
        if norm > 1e-4 * before && norm > 1e-20 {
            row.iter_mut().for_each(|a| *a /= norm);
        } else {
            row.iter_mut().for_each(|a| *a = 0.0);
        }
    }
}

/// Eigen-decomposition of the symmetric `m × m` matrix `a` by cyclic Jacobi rotations:
/// (eigenvalues, eigenvectors as the columns of an `m × m` row-major matrix).
fn jacobi(mut a: Vec<f64>, m: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0f64; m * m];
    for i in 0..m {
        v[i * m + i] = 1.0;
    }
    for _ in 0..30 {
        let off: f64 = (0..m)
            .flat_map(|i| (0..m).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * m + j] * a[i * m + j])
            .sum();
        let diag: f64 = (0..m).map(|i| a[i * m + i] * a[i * m + i]).sum();
        if off <= 1e-22 * diag.max(1e-300) {
            break;
        }
        for p in 0..m {
            for q in p + 1..m {
                let apq = a[p * m + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q * m + q] - a[p * m + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..m {
                    let (akp, akq) = (a[k * m + p], a[k * m + q]);
                    a[k * m + p] = c * akp - s * akq;
                    a[k * m + q] = s * akp + c * akq;
                }
                for k in 0..m {
                    let (apk, aqk) = (a[p * m + k], a[q * m + k]);
                    a[p * m + k] = c * apk - s * aqk;
                    a[q * m + k] = s * apk + c * aqk;
                }
                for k in 0..m {
                    let (vkp, vkq) = (v[k * m + p], v[k * m + q]);
                    v[k * m + p] = c * vkp - s * vkq;
                    v[k * m + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..m).map(|i| a[i * m + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_directions_of_a_low_rank_sample_in_order() {
        // Points spread 3, 2 and 1 along three orthogonal directions in 12 dimensions.
        let dims = 12;
        let dirs: Vec<Vec<f32>> = (0..3)
            .map(|k| {
                let mut d = vec![0f32; dims];
                d[k * 2] = 0.6;
                d[k * 2 + 1] = 0.8;
                d
            })
            .collect();
        let mut seed = 9u64;
        let mut sample = Vec::new();
        for _ in 0..2_000 {
            let mut x = vec![0.1f32; dims];
            for (k, d) in dirs.iter().enumerate() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let g = ((seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * (3 - k) as f32;
                x.iter_mut().zip(d).for_each(|(a, b)| *a += g * b);
            }
            sample.extend(x);
        }
        let p = Projection::fit(&sample, dims, 3);
        for (k, d) in dirs.iter().enumerate() {
            let row = &p.basis[k * dims..(k + 1) * dims];
            assert!(dot(row, d).abs() > 0.99, "component {k}");
        }
        assert!(p.variance[0] > p.variance[1] && p.variance[1] > p.variance[2]);
        let mut y = vec![0f32; 3];
        p.centred(&sample[..dims], &mut y);
        let back = p.reconstruct(&y);
        assert!(
            back.iter()
                .zip(&sample[..dims])
                .all(|(a, b)| (a - b).abs() < 1e-3)
        );
    }
}
