#!/usr/bin/env python3
"""An independent reference for the origin's neural embedder: EfficientNet-Lite0 written
again in numpy, straight from the safetensors file, sharing no code with the Rust one.

    embed-reference.py MODEL_DIR OUT_DIR PHOTO...

For each photo it writes OUT_DIR/<name>.rgb (the 224×224 RGB crop it fed the network, raw
bytes, row-major) and one line of OUT_DIR/reference.json with the L2-normalised 1280-d
embedding and the top-5 classes; the Rust test (origin/tests/neural_reference.rs) runs its
own pass on the same crops and on the photos themselves and compares.

The model as the numpy pass understands it:
- input: converted to sRGB when tagged with another ICC profile, shortest side resized to 256 (Pillow's bilinear, which widens its filter when
  shrinking), centre crop 224 (offset = floor((side - 224) / 2)), (RGB - 127) / 128;
- TensorFlow "SAME" padding: output = ceil(input / stride), the padding total
  max((out - 1) * stride + k - in, 0), its smaller half before, the rest after;
- every convolution without bias, followed by batch normalisation (eps 1e-3) computed as
  such (not folded into the weights), then ReLU6 except after the projection;
- stem 3×3/2 → 16 MBConv blocks (1×1 expand unless block 0, k×k depthwise with stride 2 at
  blocks 1, 3, 5, 11, 1×1 project, residual when stride is 1 and in == out channels) →
  1×1 head to 1280 → global average → embedding; the linear classifier on top → logits.
"""

import io
import json
import os
import struct
import sys

import numpy as np
from PIL import Image, ImageCms

EPS = 1e-3
STRIDE2_BLOCKS = {1, 3, 5, 11}


def load(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        a, b = meta["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(meta["shape"]).astype(np.float64)
    return out


def to_srgb(img, icc):
    """Pixels tagged with an RGB ICC profile other than sRGB, converted to sRGB (as the
    origin's pipeline does; an untagged image is taken as sRGB)."""
    if not icc or b"sRGB" in icc:
        return img
    try:
        return ImageCms.profileToProfile(
            img, io.BytesIO(icc), ImageCms.createProfile("sRGB"),
            renderingIntent=ImageCms.Intent.PERCEPTUAL, outputMode="RGB",
        )
    except (ImageCms.PyCMSError, OSError):
        return img


def crop(path):
    src = Image.open(path)
    img = to_srgb(src.convert("RGB"), src.info.get("icc_profile"))
    w, h = img.size
    scale = 256 / min(w, h)
    nw, nh = max(256, round(w * scale)), max(256, round(h * scale))
    if w <= h:
        nw = 256
    else:
        nh = 256
    img = img.resize((nw, nh), Image.BILINEAR)
    left, top = (nw - 224) // 2, (nh - 224) // 2
    return np.asarray(img.crop((left, top, left + 224, top + 224)), dtype=np.uint8)


def same_pad(x, k, stride):
    """x: (C, H, W) → zero-padded the way TensorFlow's SAME does."""
    _, h, w = x.shape
    pads = []
    for size in (h, w):
        out = -(-size // stride)
        total = max((out - 1) * stride + k - size, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, ((0, 0), pads[0], pads[1]))


def conv(x, weight, stride, groups):
    """Direct convolution as a sum over kernel offsets; weight (O, I/groups, k, k)."""
    o, _, k, _ = weight.shape
    xp = same_pad(x, k, stride)
    c, h, w = x.shape
    oh, ow = -(-h // stride), -(-w // stride)
    out = np.zeros((o, oh, ow))
    for dy in range(k):
        for dx in range(k):
            patch = xp[:, dy : dy + stride * oh : stride, dx : dx + stride * ow : stride]
            if groups == 1:
                out += np.einsum("oi,ihw->ohw", weight[:, :, dy, dx], patch)
            else:
                out += weight[:, 0, dy, dx][:, None, None] * patch
    return out


def bn(x, w, prefix):
    scale = w[prefix + ".weight"] / np.sqrt(w[prefix + ".running_var"] + EPS)
    return (x - w[prefix + ".running_mean"][:, None, None]) * scale[:, None, None] + w[prefix + ".bias"][:, None, None]


def relu6(x):
    return np.clip(x, 0.0, 6.0)


def forward(w, rgb):
    x = (rgb.astype(np.float64).transpose(2, 0, 1) - 127.0) / 128.0
    x = relu6(bn(conv(x, w["_conv_stem.weight"], 2, 1), w, "_bn0"))
    i = 0
    while f"_blocks.{i}._depthwise_conv.weight" in w:
        p = f"_blocks.{i}."
        inp = x
        if p + "_expand_conv.weight" in w:
            x = relu6(bn(conv(x, w[p + "_expand_conv.weight"], 1, 1), w, p + "_bn0"))
        stride = 2 if i in STRIDE2_BLOCKS else 1
        x = relu6(bn(conv(x, w[p + "_depthwise_conv.weight"], stride, x.shape[0]), w, p + "_bn1"))
        x = bn(conv(x, w[p + "_project_conv.weight"], 1, 1), w, p + "_bn2")
        if stride == 1 and x.shape == inp.shape:
            x = x + inp
        i += 1
    x = relu6(bn(conv(x, w["_conv_head.weight"], 1, 1), w, "_bn1"))
    features = x.mean(axis=(1, 2))
    logits = w["_fc.weight"] @ features + w["_fc.bias"]
    return features, logits


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: embed-reference.py MODEL_DIR OUT_DIR PHOTO...")
    model_dir, out_dir, photos = sys.argv[1], sys.argv[2], sys.argv[3:]
    w = load(os.path.join(model_dir, "model.safetensors"))
    with open(os.path.join(model_dir, "labels.txt")) as f:
        labels = [line.strip() for line in f]
    os.makedirs(out_dir, exist_ok=True)
    lines = []
    for photo in photos:
        name = os.path.splitext(os.path.basename(photo))[0]
        rgb = crop(photo)
        with open(os.path.join(out_dir, name + ".rgb"), "wb") as f:
            f.write(rgb.tobytes())
        features, logits = forward(w, rgb)
        embedding = features / np.linalg.norm(features)
        p = np.exp(logits - logits.max())
        p /= p.sum()
        top = np.argsort(-p)[:5]
        lines.append({
            "name": name,
            "photo": os.path.abspath(photo),
            "embedding": [float(v) for v in embedding],
            "top5": [{"class": int(c), "name": labels[c], "score": float(p[c])} for c in top],
        })
        print(f"{name}: {labels[top[0]]} {p[top[0]]:.3f}", file=sys.stderr)
    with open(os.path.join(out_dir, "reference.json"), "w") as f:
        json.dump(lines, f)


if __name__ == "__main__":
    main()
