//! Weights without a latent-explorer config: a PyTorch state dict written with
//! `safetensors.torch.save_file(model.state_dict(), path)`. Two namings are understood: the
//! classic pytorch/examples VAE (fc1, fc21, fc22, fc3, fc4) and this program's own. The
//! architecture is read off the weights' shapes; PyTorch's nn.Linear stores [out, in] as we do,
//! so the values need no transposing.

use super::{Likelihood, MlpRole, VaeConfig};
use crate::data::ImageShape;
use crate::error::{Error, Result};
use safetensors::tensor::SafeTensors;
use std::collections::HashMap;
use std::path::Path;

/// The classic example's layers and ours, in the example's order.
const CLASSIC: [(&str, MlpRole); 5] = [
    ("fc1", MlpRole::EncoderHidden(0)),
    ("fc21", MlpRole::Mean),
    ("fc22", MlpRole::Logvar),
    ("fc3", MlpRole::DecoderHidden(0)),
    ("fc4", MlpRole::Output),
];

/// What an import found: the config and, for each of our weight names, the name in the file.
pub(super) struct Import {
    pub config: VaeConfig,
    pub file_names: HashMap<String, String>,
    /// "PyTorch state dict (fc1..fc4)" or "... (latent-explorer names)", for `info`.
    pub description: String,
    /// Set for RGB models in PyTorch's naming: PyTorch flattens an image C,H,W (an NCHW tensor
    /// through `x.view(-1, 3*H*W)`), we flatten H,W,C, so the input and output layers are
    /// reordered on import and the codes match PyTorch's.
    pub channels_first: Option<ImageShape>,
}

/// The index in PyTorch's C,H,W flattening of our H,W,C index `i`.
fn chw_index(shape: ImageShape, i: usize) -> usize {
    let c = shape.channels;
    (i % c) * (shape.height * shape.width) + i / c
}

/// Our layout of weight `name` (shape `shape`, values row-major) read from a file whose images
/// were flattened channels first (`channels_first`: the input shape), else the values as they
/// are.
pub(super) fn to_our_layout(
    channels_first: Option<ImageShape>,
    name: &str,
    shape: &[usize],
    values: Vec<f32>,
) -> Vec<f32> {
    {
        let Some(input) = channels_first else {
            return values;
        };
        let d = input.len();
        match (name, shape) {
            // [hidden, input]: the columns follow the input's flattening.
            ("encoder.hidden.0.weight", [rows, cols]) if *cols == d => {
                let mut out = Vec::with_capacity(values.len());
                for r in 0..*rows {
                    let row = &values[r * d..(r + 1) * d];
                    out.extend((0..d).map(|i| row[chw_index(input, i)]));
                }
                out
            }
            // [input, hidden] and [input]: the rows follow the output's flattening.
            ("decoder.out.weight", [rows, cols]) if *rows == d => {
                let mut out = Vec::with_capacity(values.len());
                for i in 0..d {
                    let src = chw_index(input, i);
                    out.extend_from_slice(&values[src * cols..(src + 1) * cols]);
                }
                out
            }
            ("decoder.out.bias", [n]) if *n == d => {
                (0..d).map(|i| values[chw_index(input, i)]).collect()
            }
            _ => values,
        }
    }
}

/// Our name for a weight in the file, under the classic naming.
fn classic_to_ours(name: &str) -> Option<String> {
    let (layer, param) = name.split_once('.')?;
    let ours = CLASSIC.iter().find(|(c, _)| *c == layer)?.1;
    Some(format!("{}.{param}", ours.name()))
}

/// The input image a flat width stands for: 784 is MNIST's 28x28, other squares are grey,
/// three times a square is RGB.
fn input_shape(width: usize) -> Option<ImageShape> {
    let square = |k: usize| (k > 0 && k.isqrt() * k.isqrt() == k).then(|| k.isqrt());
    if let Some(s) = square(width) {
        Some(ImageShape::new(s, s, 1))
    } else if width.is_multiple_of(3) {
        square(width / 3).map(|s| ImageShape::new(s, s, 3))
    } else {
        None
    }
}

/// Reads the architecture off a metadata-less file's weight names and shapes.
pub(super) fn infer(path: &Path, st: &SafeTensors) -> Result<Import> {
    let bad = |reason: String| Error::BadCheckpoint {
        path: path.into(),
        reason,
    };
    // Sorted: the same names, in the same order, on every run (safetensors' own order is a
    // hash map's).
    let mut names: Vec<String> = st.names().into_iter().map(String::from).collect();
    names.sort();
    // nn.DataParallel saves every name with a `module.` prefix.
    let data_parallel = !names.is_empty() && names.iter().all(|n| n.starts_with("module."));
    let bare = |n: &str| -> String {
        if data_parallel {
            n.strip_prefix("module.").unwrap_or(n).to_string()
        } else {
            n.to_string()
        }
    };
    let weight = |role: MlpRole| format!("{}.weight", role.name());
    let classic = names.iter().any(|n| bare(n) == "fc1.weight");
    let ours = names.iter().any(|n| bare(n) == weight(MlpRole::Mean));
    if !classic && !ours {
        let shown: Vec<&String> = names.iter().take(6).collect();
        let more = if names.len() > 6 {
            format!(" and {} more", names.len() - 6)
        } else {
            String::new()
        };
        return Err(bad(format!(
            "no latent-explorer model config in its metadata, and not a known PyTorch VAE state dict (expected fc1, fc21, fc22, fc3, fc4 as in PyTorch's VAE example, or encoder.* / decoder.* names, optionally with nn.DataParallel's module. prefix); it holds {shown:?}{more}"
        )));
    }
    let mut file_names = HashMap::new();
    for n in &names {
        let b = bare(n);
        let mine = if classic {
            classic_to_ours(&b).unwrap_or(b)
        } else {
            b
        };
        file_names.insert(mine, n.clone());
    }
    let dims = |ours: &str| -> Result<Vec<usize>> {
        let file = file_names
            .get(ours)
            .ok_or_else(|| bad(format!("state dict has no weight for {ours}")))?;
        let view = st.tensor(file).map_err(|e| bad(format!("{file}: {e}")))?;
        match view.shape() {
            [o, i] => Ok(vec![*o, *i]),
            s => Err(bad(format!(
                "{file} has shape {s:?}; a linear layer's weight is 2-D"
            ))),
        }
    };
    // The config is read off the encoder's weights; the loader then checks every weight
    // against the config's full layer list (`VaeConfig::mlp_layers`).
    let mut hidden = Vec::new();
    while file_names.contains_key(&weight(MlpRole::EncoderHidden(hidden.len()))) {
        hidden.push(dims(&weight(MlpRole::EncoderHidden(hidden.len())))?[0]);
    }
    let width = dims(&weight(MlpRole::EncoderHidden(0)))?[1];
    let latent = dims(&weight(MlpRole::Mean))?[0];
    let input = input_shape(width).ok_or_else(|| {
        bad(format!(
            "input width {width} is neither a square grey image (e.g. 784 = 28x28) nor 3 times one (RGB)"
        ))
    })?;
    let config = VaeConfig {
        input,
        arch: super::Architecture::Mlp,
        hidden,
        latent,
        likelihood: Likelihood::Bernoulli,
        beta: 1.0,
        // PyTorch state dicts we import are of plain VAEs.
        conditional: false,
        classes: 0,
    };
    config.validate().map_err(|e| bad(format!("{e}")))?;
    let mut description = if classic {
        "PyTorch state dict (fc1, fc21, fc22, fc3, fc4)".to_string()
    } else {
        "PyTorch state dict (latent-explorer names)".to_string()
    };
    if data_parallel {
        description.push_str(" saved from nn.DataParallel (module. prefix)");
    }
    let channels_first = (classic && input.channels == 3).then_some(input);
    if channels_first.is_some() {
        description.push_str("; RGB pixels reordered from PyTorch's C,H,W flattening");
    }
    Ok(Import {
        config,
        file_names,
        description,
        channels_first,
    })
}
