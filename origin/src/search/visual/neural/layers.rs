//! The three kinds of layer EfficientNet-Lite is made of, on channels-last feature maps
//! (`[y][x][c]`), each with its batch normalisation folded into weights and a bias at load:
//!
//! - [`Pointwise`]: a 1×1 convolution, which on channels-last data is one matrix product
//!   `(H·W × Cin) · (Cin × Cout)` (`matrixmultiply`'s sgemm, one thread);
//! - [`Depthwise`]: a k×k convolution per channel, by hand: for every output pixel and
//!   kernel tap, a multiply-add over the channel run, which the compiler vectorises;
//! - [`Conv`]: a full k×k convolution (the stem), as im2col + the same matrix product.
//!
//! Padding is TensorFlow's "SAME", which the weights were trained with: the output is
//! `ceil(input / stride)` and the padding total `max((out − 1)·stride + k − in, 0)`, its
//! smaller half before (top/left) and the rest after. It is asymmetric for stride 2 on even
//! sizes, and symmetric padding visibly lowers the model's confidence.

/// A channels-last feature map.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureMap {
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub data: Vec<f32>,
}

impl FeatureMap {
    pub fn zeros(h: usize, w: usize, c: usize) -> Self {
        Self {
            h,
            w,
            c,
            data: vec![0.0; h * w * c],
        }
    }
}

/// What follows a layer's (folded) batch normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Relu6,
    Linear,
}

impl Activation {
    #[inline]
    fn apply(self, v: f32) -> f32 {
        match self {
            Activation::Relu6 => v.clamp(0.0, 6.0),
            Activation::Linear => v,
        }
    }
}

/// Output size and padding before, for one axis under TensorFlow "SAME".
pub fn same_padding(input: usize, k: usize, stride: usize) -> (usize, usize) {
    let out = input.div_ceil(stride);
    let total = ((out.saturating_sub(1)) * stride + k).saturating_sub(input);
    (out, total / 2)
}

/// Batch normalisation as a per-channel scale and shift: `y = x·scale + shift`.
#[derive(Debug, Clone)]
pub struct FoldedNorm {
    pub scale: Vec<f32>,
    pub shift: Vec<f32>,
}

impl FoldedNorm {
    /// From gamma, beta, running mean and variance, with epsilon `eps`.
    pub fn new(gamma: &[f32], beta: &[f32], mean: &[f32], var: &[f32], eps: f32) -> Self {
        let scale: Vec<f32> = gamma
            .iter()
            .zip(var)
            .map(|(g, v)| g / (v + eps).sqrt())
            .collect();
        let shift = beta
            .iter()
            .zip(mean)
            .zip(&scale)
            .map(|((b, m), s)| b - m * s)
            .collect();
        Self { scale, shift }
    }
}

/// `c (m×n) = a (m×k) · b (k×n)`, all row-major and contiguous.
fn matmul(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    // The one unsafe call of the model: sgemm takes raw pointers and strides.
    // SAFETY: the slices hold at least m·k, k·n and m·n elements (asserted above), laid out
    // row-major with the strides given, and `c` does not alias `a` or `b` (a distinct `&mut`).
    #[allow(unsafe_code)]
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            k as isize,
            1,
            b.as_ptr(),
            n as isize,
            1,
            0.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

fn bias_and_activate(data: &mut [f32], bias: &[f32], act: Activation) {
    for row in data.chunks_exact_mut(bias.len()) {
        for (v, b) in row.iter_mut().zip(bias) {
            *v = act.apply(*v + b);
        }
    }
}

/// A 1×1 convolution with its normalisation folded in.
#[derive(Debug, Clone)]
pub struct Pointwise {
    pub cin: usize,
    pub cout: usize,
    /// `cin × cout`, row-major.
    weight: Vec<f32>,
    bias: Vec<f32>,
    act: Activation,
}

impl Pointwise {
    /// From a torch weight `[cout][cin]` (the 1×1 kernel's taps) and its normalisation.
    pub fn new(
        torch_weight: &[f32],
        cin: usize,
        cout: usize,
        norm: &FoldedNorm,
        act: Activation,
    ) -> Self {
        let mut weight = vec![0.0; cin * cout];
        for o in 0..cout {
            for i in 0..cin {
                weight[i * cout + o] = torch_weight[o * cin + i] * norm.scale[o];
            }
        }
        Self {
            cin,
            cout,
            weight,
            bias: norm.shift.clone(),
            act,
        }
    }

    pub fn forward(&self, x: &FeatureMap) -> FeatureMap {
        let mut out = FeatureMap::zeros(x.h, x.w, self.cout);
        matmul(
            x.h * x.w,
            self.cin,
            self.cout,
            &x.data,
            &self.weight,
            &mut out.data,
        );
        bias_and_activate(&mut out.data, &self.bias, self.act);
        out
    }
}

/// A k×k convolution applied to each channel separately.
#[derive(Debug, Clone)]
pub struct Depthwise {
    pub c: usize,
    pub k: usize,
    pub stride: usize,
    /// `[tap][c]` with tap = ky·k + kx.
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl Depthwise {
    /// From a torch weight `[c][1][k][k]` and its normalisation (always followed by ReLU6).
    pub fn new(torch_weight: &[f32], c: usize, k: usize, stride: usize, norm: &FoldedNorm) -> Self {
        let mut weight = vec![0.0; k * k * c];
        for ch in 0..c {
            for tap in 0..k * k {
                weight[tap * c + ch] = torch_weight[ch * k * k + tap] * norm.scale[ch];
            }
        }
        Self {
            c,
            k,
            stride,
            weight,
            bias: norm.shift.clone(),
        }
    }

    pub fn forward(&self, x: &FeatureMap) -> FeatureMap {
        let (c, k, s) = (self.c, self.k, self.stride);
        let (oh, pad_top) = same_padding(x.h, k, s);
        let (ow, pad_left) = same_padding(x.w, k, s);
        let mut out = FeatureMap::zeros(oh, ow, c);
        for oy in 0..oh {
            for ox in 0..ow {
                let acc = &mut out.data[(oy * ow + ox) * c..][..c];
                acc.copy_from_slice(&self.bias);
                for ky in 0..k {
                    let Some(iy) = (oy * s + ky).checked_sub(pad_top).filter(|&y| y < x.h) else {
                        continue;
                    };
                    for kx in 0..k {
                        let Some(ix) = (ox * s + kx).checked_sub(pad_left).filter(|&v| v < x.w)
                        else {
                            continue;
                        };
                        let input = &x.data[(iy * x.w + ix) * c..][..c];
                        let w = &self.weight[(ky * k + kx) * c..][..c];
                        for ((a, i), w) in acc.iter_mut().zip(input).zip(w) {
                            *a += i * w;
                        }
                    }
                }
                for a in acc.iter_mut() {
                    *a = a.clamp(0.0, 6.0);
                }
            }
        }
        out
    }
}

/// A full k×k convolution (the stem), as im2col + matrix product.
#[derive(Debug, Clone)]
pub struct Conv {
    pub cin: usize,
    pub cout: usize,
    pub k: usize,
    pub stride: usize,
    /// `(k·k·cin) × cout`, rows ordered (ky, kx, ci) like the im2col patches.
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl Conv {
    /// From a torch weight `[cout][cin][k][k]` and its normalisation (followed by ReLU6).
    pub fn new(
        torch_weight: &[f32],
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        norm: &FoldedNorm,
    ) -> Self {
        let mut weight = vec![0.0; k * k * cin * cout];
        for o in 0..cout {
            for i in 0..cin {
                for tap in 0..k * k {
                    weight[(tap * cin + i) * cout + o] =
                        torch_weight[(o * cin + i) * k * k + tap] * norm.scale[o];
                }
            }
        }
        Self {
            cin,
            cout,
            k,
            stride,
            weight,
            bias: norm.shift.clone(),
        }
    }

    pub fn forward(&self, x: &FeatureMap) -> FeatureMap {
        let (k, s, cin) = (self.k, self.stride, self.cin);
        let (oh, pad_top) = same_padding(x.h, k, s);
        let (ow, pad_left) = same_padding(x.w, k, s);
        let patch = k * k * cin;
        let mut cols = vec![0.0; oh * ow * patch];
        for oy in 0..oh {
            for ox in 0..ow {
                let row = &mut cols[(oy * ow + ox) * patch..][..patch];
                for ky in 0..k {
                    let Some(iy) = (oy * s + ky).checked_sub(pad_top).filter(|&y| y < x.h) else {
                        continue;
                    };
                    for kx in 0..k {
                        let Some(ix) = (ox * s + kx).checked_sub(pad_left).filter(|&v| v < x.w)
                        else {
                            continue;
                        };
                        row[(ky * k + kx) * cin..][..cin]
                            .copy_from_slice(&x.data[(iy * x.w + ix) * cin..][..cin]);
                    }
                }
            }
        }
        let mut out = FeatureMap::zeros(oh, ow, self.cout);
        matmul(
            oh * ow,
            patch,
            self.cout,
            &cols,
            &self.weight,
            &mut out.data,
        );
        bias_and_activate(&mut out.data, &self.bias, Activation::Relu6);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity_norm(c: usize) -> FoldedNorm {
        FoldedNorm {
            scale: vec![1.0; c],
            shift: vec![0.0; c],
        }
    }

    #[test]
    fn same_padding_is_asymmetric_for_stride_two_on_even_sizes() {
        assert_eq!(same_padding(224, 3, 2), (112, 0));
        assert_eq!(same_padding(112, 5, 2), (56, 1));
        assert_eq!(same_padding(7, 3, 1), (7, 1));
        assert_eq!(same_padding(7, 5, 2), (4, 2));
    }

    #[test]
    fn norm_folds_into_scale_and_shift() {
        let n = FoldedNorm::new(&[2.0], &[1.0], &[3.0], &[4.0 - 1e-3], 1e-3);
        // (x − 3) / 2 · 2 + 1 = x − 2
        assert!((n.scale[0] - 1.0).abs() < 1e-6);
        assert!((n.shift[0] + 2.0).abs() < 1e-6);
    }

    #[test]
    fn pointwise_is_a_per_pixel_matrix_product() {
        // two inputs → one output: 1·a + 2·b, then ReLU6
        let pw = Pointwise::new(&[1.0, 2.0], 2, 1, &identity_norm(1), Activation::Relu6);
        let x = FeatureMap {
            h: 1,
            w: 2,
            c: 2,
            data: vec![1.0, 1.0, 3.0, 3.0],
        };
        assert_eq!(pw.forward(&x).data, vec![3.0, 6.0]);
    }

    #[test]
    fn depthwise_sums_the_taps_inside_the_frame() {
        // 3×3 of ones over a 3×3 map of ones, stride 1: corners see 4, edges 6, centre 9
        // (clamped at 6 by ReLU6).
        let dw = Depthwise::new(&[1.0; 9], 1, 3, 1, &identity_norm(1));
        let x = FeatureMap {
            h: 3,
            w: 3,
            c: 1,
            data: vec![1.0; 9],
        };
        assert_eq!(
            dw.forward(&x).data,
            vec![4.0, 6.0, 4.0, 6.0, 6.0, 6.0, 4.0, 6.0, 4.0]
        );
    }

    #[test]
    fn stride_two_conv_pads_after_on_even_sizes() {
        // 4×4 input, 3×3 kernel picking the top-left tap, stride 2: out 2×2, pad 0 before,
        // so output (0,0) reads input (0,0) — symmetric padding would read a zero instead.
        let mut w = vec![0.0; 9];
        w[0] = 1.0;
        let conv = Conv::new(&w, 1, 1, 3, 2, &identity_norm(1));
        let x = FeatureMap {
            h: 4,
            w: 4,
            c: 1,
            data: (1..=16).map(|v| v as f32 / 4.0).collect(),
        };
        let out = conv.forward(&x);
        assert_eq!((out.h, out.w), (2, 2));
        assert_eq!(out.data, vec![0.25, 0.75, 2.25, 2.75]);
    }
}
