//! Checkpoints: one `.safetensors` file with the weights and, in its metadata, the config and
//! history. Loading reads and validates everything before building a model, so a bad file
//! never leaves a half-loaded one; saving writes a temp file beside the target and renames it,
//! so a crash mid-save leaves the previous file intact. A file without a config in its metadata
//! is tried as a PyTorch state dict (see `import.rs`).

use super::{Model, ModelHistory, VaeConfig};
use crate::atomic::write_atomically;
use crate::error::{Error, Result};
use candle_core::safetensors::Load;
use candle_core::{DType, Device, Tensor};
use safetensors::tensor::{Dtype, SafeTensors};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Value of the `format` metadata key.
pub const CHECKPOINT_FORMAT: &str = "latent-explorer/1";
/// Whether a path names a model (a `.safetensors` file, any case) rather than a dataset: how
/// `latent-explorer open` and files dropped onto the window tell the two apart.
pub fn is_checkpoint_path(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("safetensors"))
}

/// Checkpoints larger than this are refused before reading (MLP VAEs are megabytes).
const MAX_CHECKPOINT_BYTES: u64 = 4 << 30;

impl Model {
    /// Loads and validates a checkpoint.
    pub fn load(path: &Path) -> Result<Self> {
        let bad = |reason: String| Error::BadCheckpoint {
            path: path.into(),
            reason,
        };
        if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
            return Err(bad("this is a folder, not a .safetensors file".into()));
        }
        // A regular file, read only as far as its header says, within the budget.
        let bytes = crate::budget::read_safetensors(path, MAX_CHECKPOINT_BYTES)?;
        let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(format!("{e}")))?;
        let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| bad(format!("{e}")))?;
        let info = header.metadata().clone().unwrap_or_default();
        // Our weight names and each one's name in the file (the same, except for imports).
        let (config, history, file_names, imported, channels_first) = match info.get("config") {
            Some(config_json) => {
                let config: VaeConfig =
                    serde_json::from_str(config_json).map_err(|e| bad(format!("config: {e}")))?;
                config.validate().map_err(|e| bad(format!("config: {e}")))?;
                let history: ModelHistory = match info.get("history") {
                    Some(h) => serde_json::from_str(h).map_err(|e| bad(format!("history: {e}")))?,
                    None => ModelHistory::default(),
                };
                let names: HashMap<String, String> = st
                    .names()
                    .into_iter()
                    .map(|n| (n.to_string(), n.to_string()))
                    .collect();
                (config, history, names, false, None)
            }
            None => {
                let import = super::import::infer(path, &st)?;
                let history = ModelHistory {
                    imported_from: Some(import.description),
                    created_with: "PyTorch (imported)".into(),
                    ..Default::default()
                };
                (
                    import.config,
                    history,
                    import.file_names,
                    true,
                    import.channels_first,
                )
            }
        };

        let expected = config.param_shapes();
        let mut problems = Vec::new();
        let present: HashSet<String> = file_names.keys().cloned().collect();
        let wanted: HashSet<String> = expected.iter().map(|(n, _)| n.clone()).collect();
        let mut missing: Vec<&String> = wanted.difference(&present).collect();
        missing.sort();
        let mut extra: Vec<&String> = present.difference(&wanted).collect();
        extra.sort();
        if !missing.is_empty() {
            problems.push(format!("missing weights {missing:?}"));
        }
        if !extra.is_empty() {
            problems.push(format!("unexpected weights {extra:?}"));
        }
        let mut tensors = Vec::with_capacity(expected.len());
        for (name, shape) in &expected {
            let Some(file_name) = file_names.get(name) else {
                continue;
            };
            let Ok(view) = st.tensor(file_name) else {
                continue;
            };
            if view.shape() != shape.as_slice() {
                problems.push(format!(
                    "{file_name} has shape {:?}, the config needs {:?}",
                    view.shape(),
                    shape
                ));
                continue;
            }
            // Our own checkpoints are always F32; PyTorch's may be saved in other precisions.
            match (view.dtype(), imported) {
                (Dtype::F32, _) | (Dtype::F16 | Dtype::BF16 | Dtype::F64, true) => {}
                (other, true) => {
                    problems.push(format!(
                        "{file_name} is {other:?}; F32, F16, BF16 or F64 weights can be imported"
                    ));
                    continue;
                }
                (other, false) => {
                    problems.push(format!("{name} is {other:?}, expected F32"));
                    continue;
                }
            }
            // candle's own conversion from the file's bytes (f16, bf16 and f64 to f32).
            let tensor = view.load(&Device::Cpu)?.to_dtype(DType::F32)?;
            let values = tensor.flatten_all()?.to_vec1::<f32>()?;
            if values.iter().any(|v| !v.is_finite()) {
                problems.push(format!("{file_name} holds NaN or infinite values"));
                continue;
            }
            // PyTorch flattens images channels first; ours are channels last.
            let tensor = if channels_first.is_some() {
                let values = super::import::to_our_layout(channels_first, name, shape, values);
                Tensor::from_vec(values, shape.as_slice(), &Device::Cpu)?
            } else {
                tensor
            };
            tensors.push((name.clone(), tensor));
        }
        if !problems.is_empty() {
            return Err(Error::CheckpointMismatch {
                path: path.into(),
                problems,
            });
        }
        let mut model = Model::from_tensors(config, tensors, history)?;
        model.source = Some(path.to_path_buf());
        Ok(model)
    }

    /// Serialises weights, config and history to safetensors bytes.
    pub fn to_safetensors_bytes(&self) -> Result<Vec<u8>> {
        // candle's tensors are safetensors views (all F32; on a GPU they are copied back).
        let named = self.named_tensors();
        let mut info = HashMap::new();
        info.insert("format".to_string(), CHECKPOINT_FORMAT.to_string());
        info.insert(
            "config".to_string(),
            serde_json::to_string(&self.config)
                .map_err(|e| Error::InvalidArgument(e.to_string()))?,
        );
        info.insert(
            "history".to_string(),
            serde_json::to_string(&self.history)
                .map_err(|e| Error::InvalidArgument(e.to_string()))?,
        );
        safetensors::serialize(named, Some(info))
            .map_err(|e| Error::InvalidArgument(format!("serialising checkpoint: {e}")))
    }

    /// Saves atomically: temp file in the same folder, flushed to disk, then renamed.
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = self.to_safetensors_bytes()?;
        write_atomically(path, &bytes)
    }
}
