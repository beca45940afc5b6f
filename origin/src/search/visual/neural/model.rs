//! EfficientNet-Lite0 (ImageNet) built from its torch state dict's names and shapes
//! (`_conv_stem`, `_bn0`, `_blocks.N._{expand,depthwise,project}_conv`/`_bn{0,1,2}`,
//! `_conv_head`, `_bn1`, `_fc`), every normalisation folded into its convolution at load.
//!
//! The network: stem 3×3 stride 2 → 16 MBConv blocks (1×1 expand + ReLU6 except block 0,
//! k×k depthwise + ReLU6 with stride 2 at blocks 1, 3, 5 and 11, 1×1 linear projection, the
//! input added back when the stride is 1 and the shapes match) → 1×1 head to 1280 + ReLU6 →
//! global average (the 1280-d features) → linear classifier (1000 ImageNet logits). Lite
//! drops EfficientNet's squeeze-excitation and swish, which is why it quantises and runs
//! well on CPUs. Every shape is checked at load: a file of another model is refused.

use super::{
    ModelError,
    layers::{Activation, Conv, Depthwise, FeatureMap, FoldedNorm, Pointwise},
    weights::Weights,
};

/// Batch-norm epsilon the weights were trained with (TensorFlow's default 1e-3).
const BN_EPS: f32 = 1e-3;
/// Blocks whose depthwise convolution has stride 2.
const STRIDE_TWO_BLOCKS: [usize; 4] = [1, 3, 5, 11];
const BLOCKS: usize = 16;
/// Length of the pooled features (the embedding).
pub const FEATURES: usize = 1280;
/// ImageNet classes.
pub const CLASSES: usize = 1000;
/// Side of the square input.
pub const INPUT_SIDE: usize = 224;

#[derive(Debug, Clone)]
struct Block {
    expand: Option<Pointwise>,
    depthwise: Depthwise,
    project: Pointwise,
    residual: bool,
}

/// The loaded network.
#[derive(Debug, Clone)]
pub struct EfficientNetLite {
    stem: Conv,
    blocks: Vec<Block>,
    head: Pointwise,
    /// `[class][feature]`, row-major.
    fc_weight: Vec<f32>,
    fc_bias: Vec<f32>,
}

/// What one forward pass gives.
#[derive(Debug, Clone)]
pub struct Output {
    /// The globally averaged head activations (not normalised).
    pub features: Vec<f32>,
    pub logits: Vec<f32>,
}

fn norm(w: &Weights, prefix: &str, c: usize) -> Result<FoldedNorm, ModelError> {
    let get = |part: &str| {
        w.get(&format!("{prefix}.{part}"), &[c])
            .map(|t| t.data.as_slice())
    };
    Ok(FoldedNorm::new(
        get("weight")?,
        get("bias")?,
        get("running_mean")?,
        get("running_var")?,
        BN_EPS,
    ))
}

/// `[out, in, k, k]` of a convolution weight, whatever it is.
fn conv_shape(w: &Weights, name: &str) -> Result<[usize; 4], ModelError> {
    match w.shape(name) {
        Some(&[o, i, kh, kw]) if kh == kw && o > 0 && i > 0 => Ok([o, i, kh, kw]),
        Some(s) => Err(ModelError::Shape(format!(
            "tensor {name} has shape {s:?}, expected [out, in, k, k]"
        ))),
        None => Err(ModelError::Shape(format!("tensor {name} is missing"))),
    }
}

fn pointwise(
    w: &Weights,
    conv: &str,
    bn: &str,
    cin: usize,
    act: Activation,
) -> Result<Pointwise, ModelError> {
    let [cout, i, k, _] = conv_shape(w, conv)?;
    if i != cin || k != 1 {
        return Err(ModelError::Shape(format!(
            "tensor {conv} has shape [{cout}, {i}, {k}, {k}], expected [_, {cin}, 1, 1]"
        )));
    }
    let weight = &w.get(conv, &[cout, cin, 1, 1])?.data;
    Ok(Pointwise::new(weight, cin, cout, &norm(w, bn, cout)?, act))
}

/// Block `i` of the state dict, taking `cin` channels.
fn block(w: &Weights, i: usize, cin: usize) -> Result<Block, ModelError> {
    let p = format!("_blocks.{i}.");
    let expand = if w.contains(&format!("{p}_expand_conv.weight")) {
        Some(pointwise(
            w,
            &format!("{p}_expand_conv.weight"),
            &format!("{p}_bn0"),
            cin,
            Activation::Relu6,
        )?)
    } else {
        None
    };
    let mid = expand.as_ref().map_or(cin, |e| e.cout);
    let dw_name = format!("{p}_depthwise_conv.weight");
    let [dc, one, k, _] = conv_shape(w, &dw_name)?;
    if dc != mid || one != 1 {
        return Err(ModelError::Shape(format!(
            "tensor {dw_name} has shape [{dc}, {one}, {k}, {k}], expected [{mid}, 1, k, k]"
        )));
    }
    let stride = if STRIDE_TWO_BLOCKS.contains(&i) { 2 } else { 1 };
    let depthwise = Depthwise::new(
        &w.get(&dw_name, &[mid, 1, k, k])?.data,
        mid,
        k,
        stride,
        &norm(w, &format!("{p}_bn1"), mid)?,
    );
    let project = pointwise(
        w,
        &format!("{p}_project_conv.weight"),
        &format!("{p}_bn2"),
        mid,
        Activation::Linear,
    )?;
    Ok(Block {
        residual: stride == 1 && project.cout == cin,
        expand,
        depthwise,
        project,
    })
}

impl EfficientNetLite {
    /// Builds the network from a state dict, checking every shape.
    pub fn from_weights(w: &Weights) -> Result<Self, ModelError> {
        let [c0, cin, k, _] = conv_shape(w, "_conv_stem.weight")?;
        if cin != 3 {
            return Err(ModelError::Shape(format!(
                "the stem takes {cin} channels, expected 3 (RGB)"
            )));
        }
        let stem = Conv::new(
            &w.get("_conv_stem.weight", &[c0, 3, k, k])?.data,
            3,
            c0,
            k,
            2,
            &norm(w, "_bn0", c0)?,
        );
        let mut blocks = Vec::with_capacity(BLOCKS);
        let mut c = c0;
        for i in 0..BLOCKS {
            let b = block(w, i, c)?;
            c = b.project.cout;
            blocks.push(b);
        }
        if w.contains(&format!("_blocks.{BLOCKS}._depthwise_conv.weight")) {
            return Err(ModelError::Shape(format!(
                "more than {BLOCKS} blocks: not EfficientNet-Lite0"
            )));
        }
        let head = pointwise(w, "_conv_head.weight", "_bn1", c, Activation::Relu6)?;
        if head.cout != FEATURES {
            return Err(ModelError::Shape(format!(
                "the head gives {} features, expected {FEATURES}",
                head.cout
            )));
        }
        let fc_weight = w.get("_fc.weight", &[CLASSES, FEATURES])?.data.clone();
        let fc_bias = w.get("_fc.bias", &[CLASSES])?.data.clone();
        Ok(Self {
            stem,
            blocks,
            head,
            fc_weight,
            fc_bias,
        })
    }

    /// Runs the network on a preprocessed input (channels-last, any size; the model was
    /// trained at [`INPUT_SIDE`]).
    pub fn forward(&self, input: &FeatureMap) -> Output {
        let mut x = self.stem.forward(input);
        for b in &self.blocks {
            let expanded = match &b.expand {
                Some(e) => e.forward(&x),
                None => x.clone(),
            };
            let mut y = b.project.forward(&b.depthwise.forward(&expanded));
            if b.residual {
                for (v, skip) in y.data.iter_mut().zip(&x.data) {
                    *v += skip;
                }
            }
            x = y;
        }
        let x = self.head.forward(&x);
        let pixels = (x.h * x.w).max(1) as f32;
        let mut features = vec![0.0f32; FEATURES];
        for px in x.data.chunks_exact(FEATURES) {
            for (f, v) in features.iter_mut().zip(px) {
                *f += v;
            }
        }
        for f in &mut features {
            *f /= pixels;
        }
        let logits = self
            .fc_weight
            .chunks_exact(FEATURES)
            .zip(&self.fc_bias)
            .map(|(row, b)| row.iter().zip(&features).map(|(w, f)| w * f).sum::<f32>() + b)
            .collect();
        Output { features, logits }
    }
}
