//! The ImageNet class names (`labels.txt` beside the weights: 1000 lines in class order,
//! written by `scripts/tools/fetch-model.sh` from timm's synset tables) and the top classes
//! of a forward pass as softmax probabilities.

use super::{ModelError, model::CLASSES};

/// A class the model saw, with its probability.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Label {
    pub name: String,
    pub score: f32,
}

/// Parses `labels.txt`: exactly [`CLASSES`] non-empty lines.
pub fn parse(text: &str) -> Result<Vec<String>, ModelError> {
    let names: Vec<String> = text.lines().map(|l| l.trim().to_owned()).collect();
    if names.len() != CLASSES || names.iter().any(String::is_empty) {
        return Err(ModelError::Labels(format!(
            "labels.txt has {} lines (empty ones included), expected {CLASSES} class names",
            names.len()
        )));
    }
    Ok(names)
}

/// Softmax over `logits`, numerically stable.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let total: f32 = exp.iter().sum();
    exp.into_iter()
        .map(|e| e / total.max(f32::MIN_POSITIVE))
        .collect()
}

/// The `k` most probable classes, best first (ties by class index).
pub fn top_k(logits: &[f32], names: &[String], k: usize) -> Vec<Label> {
    let p = softmax(logits);
    let mut order: Vec<usize> = (0..p.len().min(names.len())).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
    order
        .into_iter()
        .take(k)
        .map(|i| Label {
            name: names[i].clone(),
            score: p[i],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_exactly_a_thousand_names() {
        let ok = (0..CLASSES).map(|i| format!("c{i}\n")).collect::<String>();
        assert_eq!(parse(&ok).expect("parses").len(), CLASSES);
        assert!(parse("a\nb\n").is_err());
        assert!(parse(&ok.replace("c7\n", "\n")).is_err());
    }

    #[test]
    fn top_k_is_ordered_by_probability() {
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let top = top_k(&[0.0, 2.0, 1.0], &names, 2);
        assert_eq!(top[0].name, "b");
        assert_eq!(top[1].name, "c");
        assert!(top[0].score > top[1].score);
        let total: f32 = softmax(&[0.0, 2.0, 1.0]).iter().sum();
        assert!((total - 1.0).abs() < 1e-6);
    }
}
