//! A trainable VAE with its weights, config and history, plus batched per-sample inference
//! (encode to means, decode codes, score samples) that the window, CLI and tests share.

mod checkpoint;
mod config;
pub mod conv;
mod conv_gemm;
mod fast_encode;
mod fused_loss;
mod import;
mod vae;

pub use checkpoint::{CHECKPOINT_FORMAT, is_checkpoint_path};
pub use config::{
    Architecture, Likelihood, MAX_LATENT, MlpLayer, MlpRole, NEAR_BINARY_FRACTION, VaeConfig,
};
pub use fused_loss::bce_with_logits_rows;
pub use vae::{BatchLosses, Vae, kl_divergence, kl_per_dim, reconstruction_error};

use crate::data::{BatchBuffer, Dataset};
use crate::error::{Error, Result};
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal, Uniform};
use serde::{Deserialize, Serialize};

/// What a checkpoint remembers of how its weights came to be.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelHistory {
    pub dataset_name: Option<String>,
    pub dataset_shape: Option<crate::data::ImageShape>,
    pub dataset_size: Option<usize>,
    pub epochs: usize,
    pub samples_seen: u64,
    /// Per-sample training loss of the last epoch.
    pub train_loss: Option<f64>,
    /// Per-sample held-out loss of the last epoch.
    pub test_loss: Option<f64>,
    pub seed: Option<u64>,
    /// "latent-explorer 0.1.0".
    pub created_with: String,
    /// Set when the weights came from a file without our config: what kind of file it was
    /// ("PyTorch state dict (fc1, fc21, fc22, fc3, fc4)"). Kept when the model is saved again.
    pub imported_from: Option<String>,
}

/// Per-sample scores for a set of samples (same order as the indices asked for).
#[derive(Clone, Debug, Default)]
pub struct SampleScores {
    pub recon: Vec<f32>,
    pub kl: Vec<f32>,
}

impl SampleScores {
    /// Negative ELBO per sample at beta = 1.
    pub fn loss(&self) -> Vec<f32> {
        self.recon
            .iter()
            .zip(&self.kl)
            .map(|(r, k)| r + k)
            .collect()
    }
}

/// Posterior parameters for a set of samples, row-major [n, latent].
#[derive(Clone, Debug, Default)]
pub struct Codes {
    pub latent: usize,
    pub mean: Vec<f32>,
    pub logvar: Vec<f32>,
}

impl Codes {
    pub fn len(&self) -> usize {
        self.mean.len() / self.latent.max(1)
    }
    pub fn is_empty(&self) -> bool {
        self.mean.is_empty()
    }
    pub fn mean_of(&self, i: usize) -> &[f32] {
        &self.mean[i * self.latent..(i + 1) * self.latent]
    }

    /// Average KL(q(z|x) || N(0, 1)) of each latent dimension over these samples: a dimension
    /// whose KL stays near zero carries no information (the posterior has collapsed onto the
    /// prior there).
    pub fn kl_per_dim(&self) -> Vec<f32> {
        let l = self.latent.max(1);
        let mut sums = vec![0f64; l];
        for (m, lv) in self.mean.chunks_exact(l).zip(self.logvar.chunks_exact(l)) {
            for d in 0..l {
                let (m, lv) = (m[d] as f64, lv[d] as f64);
                sums[d] += 0.5 * (m * m + lv.exp() - 1.0 - lv);
            }
        }
        let n = self.len().max(1) as f64;
        sums.into_iter().map(|s| (s / n) as f32).collect()
    }
}

/// A latent dimension counts as active when its average KL exceeds this (nats).
pub const ACTIVE_KL_THRESHOLD: f32 = 0.01;

/// Batch size used for inference over many samples.
pub const INFERENCE_BATCH: usize = 1024;

pub struct Model {
    config: VaeConfig,
    vae: Vae,
    varmap: VarMap,
    pub history: ModelHistory,
    /// The checkpoint it was loaded from or last saved to, if any.
    pub source: Option<std::path::PathBuf>,
    device: Device,
}

impl Model {
    /// A freshly initialised model. Weights follow PyTorch's nn.Linear / nn.Conv2d default
    /// (uniform in +-1/sqrt(fan_in), fan_in = every dim of the weight but the first) drawn from
    /// a seeded generator, because candle's CPU generator cannot be seeded.
    pub fn new_random(config: VaeConfig, seed: u64) -> Result<Self> {
        config.validate()?;
        crate::budget::Budget::current().check_model(&config, crate::budget::DEFAULT_BATCH)?;
        let mut rng = StdRng::seed_from_u64(seed);
        let device = Device::Cpu;
        let mut tensors = Vec::new();
        for (name, shape) in config.param_shapes() {
            let fan_in: usize = if shape.len() >= 2 {
                shape[1..].iter().product()
            } else {
                // A bias shares its layer's fan-in: that of the weight just listed.
                tensors
                    .last()
                    .map(|(_, t): &(String, Tensor)| t.dims()[1..].iter().product())
                    .unwrap_or(1)
            };
            let bound = 1.0 / (fan_in as f32).sqrt();
            let dist = Uniform::new(-bound, bound)
                .map_err(|e| Error::InvalidConfig(format!("initialiser: {e}")))?;
            let n: usize = shape.iter().product();
            let values: Vec<f32> = (0..n).map(|_| dist.sample(&mut rng)).collect();
            tensors.push((name, Tensor::from_vec(values, shape, &device)?));
        }
        let history = ModelHistory {
            seed: Some(seed),
            created_with: version_string(),
            ..Default::default()
        };
        Self::from_tensors(config, tensors, history)
    }

    /// Builds a model from named tensors already checked against `config`.
    pub(crate) fn from_tensors(
        config: VaeConfig,
        tensors: Vec<(String, Tensor)>,
        history: ModelHistory,
    ) -> Result<Self> {
        // Weights are read and initialised on the CPU, then moved to the chosen device.
        let device = crate::device::compute().device.clone();
        let varmap = VarMap::new();
        {
            let mut data = varmap
                .data()
                .lock()
                .map_err(|_| Error::InvalidConfig("weight store is poisoned".into()))?;
            for (name, t) in tensors {
                data.insert(name, Var::from_tensor(&t.to_device(&device)?)?);
            }
        }
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &device);
        let vae = Vae::new(&config, vb)?;
        Ok(Self {
            config,
            vae,
            varmap,
            history,
            source: None,
            device,
        })
    }

    /// A deep copy whose weights do not follow this one's training (e.g. a decoder for the
    /// window while the worker trains the original).
    pub fn duplicate(&self) -> Result<Self> {
        let tensors = self
            .named_tensors()
            .into_iter()
            .map(|(n, t)| Ok((n, t.copy()?)))
            .collect::<Result<Vec<_>>>()?;
        let mut copy = Self::from_tensors(self.config.clone(), tensors, self.history.clone())?;
        copy.source = self.source.clone();
        Ok(copy)
    }

    pub fn config(&self) -> &VaeConfig {
        &self.config
    }

    /// Changes beta (it does not change the weights' shapes).
    pub fn set_beta(&mut self, beta: f64) {
        self.config.beta = beta;
    }

    pub fn vae(&self) -> &Vae {
        &self.vae
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn latent(&self) -> usize {
        self.config.latent
    }

    /// All weights, sorted by name.
    pub fn vars(&self) -> Vec<(String, Var)> {
        let data = match self.varmap.data().lock() {
            Ok(d) => d,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut vars: Vec<(String, Var)> =
            data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        vars
    }

    pub(crate) fn named_tensors(&self) -> Vec<(String, Tensor)> {
        self.vars()
            .into_iter()
            .map(|(n, v)| (n, v.as_tensor().clone()))
            .collect()
    }

    /// Refuses a dataset whose images are not the shape this model was built for.
    pub fn check_fits(&self, data: &Dataset) -> Result<()> {
        if data.shape != self.config.input {
            return Err(Error::ShapeMismatch {
                model_name: match &self.source {
                    Some(p) => format!("the model {}", p.display()),
                    None => "the new model".into(),
                },
                model: self.config.input.to_string(),
                dataset: data.shape.to_string(),
                dataset_name: format!("{} ({})", data.name, data.source.display()),
            });
        }
        Ok(())
    }

    fn batch_tensor(&self, values: Vec<f32>, rows: usize) -> Result<Tensor> {
        let cols = values.len() / rows.max(1);
        Ok(Tensor::from_vec(values, (rows, cols), &self.device)?)
    }

    /// Posterior means and log-variances of the samples at `indices`, batched.
    pub fn encode(&self, data: &Dataset, indices: &[usize]) -> Result<Codes> {
        self.check_fits(data)?;
        if self.config.arch == Architecture::Mlp && !self.config.hidden.is_empty() {
            let (mean, logvar) = fast_encode::FlatEncoder::from_model(self)?.encode(data, indices);
            return Ok(Codes {
                latent: self.latent(),
                mean,
                logvar,
            });
        }
        let mut buf = BatchBuffer::new();
        let mut codes = Codes {
            latent: self.latent(),
            mean: Vec::with_capacity(indices.len() * self.latent()),
            logvar: Vec::with_capacity(indices.len() * self.latent()),
        };
        for chunk in indices.chunks(INFERENCE_BATCH) {
            let x = self.batch_tensor(buf.take(data, chunk), chunk.len())?;
            let (m, lv) = self.vae.encode(&x)?;
            codes.mean.extend(m.flatten_all()?.to_vec1::<f32>()?);
            codes.logvar.extend(lv.flatten_all()?.to_vec1::<f32>()?);
        }
        Ok(codes)
    }

    /// Posterior parameters of images given as values in [0, 1] (row-major [n, D]).
    pub fn encode_values(&self, values: &[f32]) -> Result<Codes> {
        let d = self.config.input.len();
        if values.is_empty() || !values.len().is_multiple_of(d) {
            return Err(Error::InvalidArgument(format!(
                "images must be a non-empty multiple of {d} values, got {}",
                values.len()
            )));
        }
        let n = values.len() / d;
        let x = Tensor::from_slice(values, (n, d), &self.device)?;
        let (m, lv) = self.vae.encode(&x)?;
        Ok(Codes {
            latent: self.latent(),
            mean: m.flatten_all()?.to_vec1::<f32>()?,
            logvar: lv.flatten_all()?.to_vec1::<f32>()?,
        })
    }

    /// Decodes codes (row-major [n, latent]) to images in [0, 1], row-major [n, D].
    pub fn decode(&self, z: &[f32]) -> Result<Vec<f32>> {
        let l = self.latent();
        if z.is_empty() || !z.len().is_multiple_of(l) {
            return Err(Error::InvalidArgument(format!(
                "codes must be a non-empty multiple of {l} values, got {}",
                z.len()
            )));
        }
        let mut out = Vec::with_capacity(z.len() / l * self.config.input.len());
        for chunk in z.chunks(INFERENCE_BATCH * l) {
            let zt = Tensor::from_slice(chunk, (chunk.len() / l, l), &self.device)?;
            out.extend(self.vae.decode(&zt)?.flatten_all()?.to_vec1::<f32>()?);
        }
        Ok(out)
    }

    /// Reconstructions (decoded posterior means) of the samples at `indices`.
    pub fn reconstruct(&self, data: &Dataset, indices: &[usize]) -> Result<Vec<f32>> {
        let codes = self.encode(data, indices)?;
        self.decode(&codes.mean)
    }

    /// Per-sample reconstruction error and KL, with z drawn from q(z|x) using a seeded
    /// generator (the same estimate of the ELBO the training loss uses).
    pub fn score(&self, data: &Dataset, indices: &[usize], seed: u64) -> Result<SampleScores> {
        self.check_fits(data)?;
        let mut rng = StdRng::seed_from_u64(seed);
        let mut buf = BatchBuffer::new();
        let mut scores = SampleScores::default();
        for chunk in indices.chunks(INFERENCE_BATCH) {
            let x = self.batch_tensor(buf.take(data, chunk), chunk.len())?;
            let eps = standard_normal(&mut rng, chunk.len(), self.latent(), &self.device)?;
            let l = self.vae.losses(&x, &eps)?;
            scores.recon.extend(l.recon.to_vec1::<f32>()?);
            scores.kl.extend(l.kl.to_vec1::<f32>()?);
        }
        Ok(scores)
    }
}

/// A [rows, cols] tensor of standard-normal noise from a seeded generator.
pub fn standard_normal(
    rng: &mut StdRng,
    rows: usize,
    cols: usize,
    device: &Device,
) -> Result<Tensor> {
    let v: Vec<f32> = (0..rows * cols)
        .map(|_| StandardNormal.sample(rng))
        .collect();
    Ok(Tensor::from_vec(v, (rows, cols), device)?)
}

pub fn version_string() -> String {
    format!("latent-explorer {}", env!("CARGO_PKG_VERSION"))
}
