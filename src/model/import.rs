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
    let names: Vec<String> = st.names().into_iter().map(String::from).collect();
    let classic = names.iter().any(|n| n == "fc1.weight");
    let weight = |role: MlpRole| format!("{}.weight", role.name());
    let ours = names.iter().any(|n| *n == weight(MlpRole::Mean));
    if !classic && !ours {
        let mut shown: Vec<&String> = names.iter().take(6).collect();
        shown.sort();
        return Err(bad(format!(
            "no latent-explorer model config in its metadata, and not a known PyTorch VAE state dict (expected fc1, fc21, fc22, fc3, fc4 as in PyTorch's VAE example, or encoder.* / decoder.* names); it holds {shown:?}"
        )));
    }
    let mut file_names = HashMap::new();
    for n in &names {
        let mine = if classic {
            classic_to_ours(n).unwrap_or_else(|| n.clone())
        } else {
            n.clone()
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
    };
    config.validate().map_err(|e| bad(format!("{e}")))?;
    let description = if classic {
        "PyTorch state dict (fc1, fc21, fc22, fc3, fc4)"
    } else {
        "PyTorch state dict (latent-explorer names)"
    };
    Ok(Import {
        config,
        file_names,
        description: description.into(),
    })
}
