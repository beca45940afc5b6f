//! Reading a safetensors file: an 8-byte little-endian header length, a JSON header naming
//! every tensor's dtype, shape and byte range, then the raw data. Only `F32` tensors are
//! accepted (what `scripts/tools/convert-torch-legacy.py` writes). Parsed by hand: the format
//! is a few lines, and every malformed part becomes a [`ModelError`] naming it.

use std::collections::HashMap;

use super::ModelError;

/// A named float tensor, row-major.
#[derive(Debug, Clone)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Every tensor of a file, by name.
#[derive(Debug, Default)]
pub struct Weights {
    tensors: HashMap<String, Tensor>,
}

#[derive(serde::Deserialize)]
struct Entry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [usize; 2],
}

impl Weights {
    /// Parses a whole safetensors file.
    pub fn parse(bytes: &[u8]) -> Result<Self, ModelError> {
        let corrupt = |why: String| ModelError::Corrupt(why);
        let len = bytes
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
            .ok_or_else(|| corrupt("shorter than a safetensors header".into()))?;
        let len = usize::try_from(len).map_err(|_| corrupt("header length overflows".into()))?;
        let header = bytes
            .get(8..8usize.saturating_add(len))
            .ok_or_else(|| corrupt(format!("header of {len} bytes past the end of the file")))?;
        let data = &bytes[8 + len..];
        let raw: HashMap<String, serde_json::Value> = serde_json::from_slice(header)
            .map_err(|e| corrupt(format!("header is not a JSON object: {e}")))?;
        let mut tensors = HashMap::with_capacity(raw.len());
        for (name, value) in raw {
            if name == "__metadata__" {
                continue;
            }
            let entry: Entry = serde_json::from_value(value)
                .map_err(|e| corrupt(format!("tensor {name}: {e}")))?;
            if entry.dtype != "F32" {
                return Err(corrupt(format!(
                    "tensor {name} is {}, not F32",
                    entry.dtype
                )));
            }
            let [start, end] = entry.data_offsets;
            let numel = entry
                .shape
                .iter()
                .try_fold(1usize, |acc, &d| acc.checked_mul(d))
                .ok_or_else(|| corrupt(format!("tensor {name}: shape overflows")))?;
            let raw = data
                .get(start..end)
                .filter(|r| r.len() == numel * 4)
                .ok_or_else(|| {
                    corrupt(format!(
                        "tensor {name}: bytes {start}..{end} do not hold {numel} floats inside the file"
                    ))
                })?;
            let values = raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect::<Vec<f32>>();
            if values.iter().any(|v| !v.is_finite()) {
                return Err(corrupt(format!("tensor {name} holds a non-finite value")));
            }
            tensors.insert(
                name,
                Tensor {
                    shape: entry.shape,
                    data: values,
                },
            );
        }
        Ok(Self { tensors })
    }

    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// The tensor `name`, which must have exactly `shape`.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<&Tensor, ModelError> {
        let t = self
            .tensors
            .get(name)
            .ok_or_else(|| ModelError::Shape(format!("tensor {name} is missing")))?;
        if t.shape != shape {
            return Err(ModelError::Shape(format!(
                "tensor {name} has shape {:?}, expected {shape:?}",
                t.shape
            )));
        }
        Ok(t)
    }

    /// The shape of `name`, if present.
    pub fn shape(&self, name: &str) -> Option<&[usize]> {
        self.tensors.get(name).map(|t| t.shape.as_slice())
    }

    /// Writes `tensors` as a safetensors file in memory (what [`Weights::parse`] reads;
    /// the tests build small or broken models with it).
    pub fn to_safetensors(tensors: &[(&str, Vec<usize>, Vec<f32>)]) -> Vec<u8> {
        let mut header = serde_json::Map::new();
        let mut data = Vec::new();
        for (name, shape, values) in tensors {
            let start = data.len();
            data.extend(values.iter().flat_map(|v| v.to_le_bytes()));
            header.insert(
                (*name).to_owned(),
                serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [start, data.len()]}),
            );
        }
        let header = serde_json::to_vec(&header).unwrap_or_default();
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend(header);
        out.extend(data);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_it_writes() {
        let file = Weights::to_safetensors(&[("a", vec![2, 2], vec![1.0, 2.0, 3.0, 4.0])]);
        let w = Weights::parse(&file).expect("parses");
        assert_eq!(
            w.get("a", &[2, 2]).expect("a").data,
            vec![1.0, 2.0, 3.0, 4.0]
        );
        assert!(matches!(w.get("a", &[4]), Err(ModelError::Shape(_))));
        assert!(matches!(w.get("b", &[4]), Err(ModelError::Shape(_))));
    }

    #[test]
    fn truncated_or_garbage_files_are_corrupt() {
        let file = Weights::to_safetensors(&[("a", vec![4], vec![1.0; 4])]);
        assert!(matches!(
            Weights::parse(&file[..file.len() - 1]),
            Err(ModelError::Corrupt(_))
        ));
        assert!(matches!(
            Weights::parse(b"abc"),
            Err(ModelError::Corrupt(_))
        ));
        assert!(matches!(
            Weights::parse(b"\xff\xff\xff\xff\xff\xff\xff\x7f{}"),
            Err(ModelError::Corrupt(_))
        ));
        let nan = Weights::to_safetensors(&[("a", vec![1], vec![f32::NAN])]);
        assert!(matches!(Weights::parse(&nan), Err(ModelError::Corrupt(_))));
    }
}
