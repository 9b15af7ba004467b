//! A trainable VAE with its weights, config and history, plus batched per-sample inference
//! (encode to means, decode codes, score samples) that the window, CLI and tests share.

mod checkpoint;
mod config;
pub mod conv;
pub(crate) mod conv_flat;
mod conv_gemm;
mod fast_encode;
mod flat_decoder;
mod fused_loss;
mod import;
mod vae;

pub use checkpoint::{CHECKPOINT_FORMAT, is_checkpoint_path};
pub use config::{
    Architecture, Likelihood, MAX_CLASSES, MAX_LATENT, MlpLayer, MlpRole, NEAR_BINARY_FRACTION,
    VaeConfig,
};
pub use fused_loss::bce_with_logits_rows;
pub use vae::{
    BatchLosses, Vae, kl_divergence, kl_per_dim, one_hot, one_hot_values, reconstruction_error,
};

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

    /// Overwrites sample `row`'s code with row `k` of `mean` and `logvar` ([n, latent] each).
    pub fn set_row(&mut self, row: usize, mean: &[f32], logvar: &[f32], k: usize) {
        let l = self.latent;
        let (from, to) = (k * l..(k + 1) * l, row * l..(row + 1) * l);
        self.mean[to.clone()].copy_from_slice(&mean[from.clone()]);
        self.logvar[to].copy_from_slice(&logvar[from]);
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

/// The classes rows are conditioned on when a conditional model encodes or decodes them.
/// An unconditional model ignores them; a conditional one refuses [`Classes::None`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Classes<'a> {
    /// No class (unconditional models).
    None,
    /// Every row the same class.
    All(u16),
    /// One class per row.
    Each(&'a [u16]),
    /// Rows of class weights [n, classes] fed in place of the one-hot: a blend between
    /// classes (e.g. interpolating from one class to another with the code held).
    Weights(&'a [f32]),
}

/// An owned [`Classes`], for work handed to another thread.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Condition {
    #[default]
    None,
    Class(u16),
    Each(Vec<u16>),
    Weights(Vec<f32>),
}

impl Condition {
    pub fn classes(&self) -> Classes<'_> {
        match self {
            Condition::None => Classes::None,
            Condition::Class(c) => Classes::All(*c),
            Condition::Each(each) => Classes::Each(each),
            Condition::Weights(w) => Classes::Weights(w),
        }
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
    /// Counts changes to the weights, so that what is built from them knows when it is stale.
    weights_version: flat_decoder::WeightsVersion,
    /// A conv model's decoder laid out for the CPU kernels, for the weights of one version.
    flat_decoder: flat_decoder::FlatDecoderCache,
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
            weights_version: Default::default(),
            flat_decoder: Default::default(),
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

    /// The number of classes a conditional model is conditioned on; None when it is not.
    pub fn classes(&self) -> Option<usize> {
        self.config.conditional.then_some(self.config.classes)
    }

    /// How this model is named in messages: its file, or "the new model".
    fn display_name(&self) -> String {
        match &self.source {
            Some(p) => format!("the model {}", p.display()),
            None => "the new model".into(),
        }
    }

    /// The labels of `indices` in `data` for a conditional model (None for an unconditional
    /// one). A dataset without labels, or with a label the model was not trained on, is
    /// refused with a message naming both.
    pub fn labels_of(&self, data: &Dataset, indices: &[usize]) -> Result<Option<Vec<u16>>> {
        let Some(classes) = self.classes() else {
            return Ok(None);
        };
        let Some(labels) = data.labels() else {
            return Err(Error::Conditional(format!(
                "{} is conditional on {classes} classes, but the dataset {} ({}) has no labels",
                self.display_name(),
                data.name,
                data.source.display()
            )));
        };
        let picked: Vec<u16> = indices.iter().map(|&i| labels[i]).collect();
        if let Some((k, &label)) = picked
            .iter()
            .enumerate()
            .find(|(_, l)| **l as usize >= classes)
        {
            return Err(Error::Conditional(format!(
                "{} is conditional on {classes} classes, but sample {} of {} ({}) has label {label}",
                self.display_name(),
                indices[k],
                data.name,
                data.source.display()
            )));
        }
        Ok(Some(picked))
    }

    /// The one-hot condition for the labels of `indices` in `data` (see [`Model::labels_of`]).
    pub fn condition_for(&self, data: &Dataset, indices: &[usize]) -> Result<Option<Tensor>> {
        match (self.labels_of(data, indices)?, self.classes()) {
            (Some(labels), Some(classes)) => Ok(Some(one_hot(&labels, classes, &self.device)?)),
            _ => Ok(None),
        }
    }

    /// The one-hot condition for `rows` rows of `classes`, for a conditional model (None for
    /// an unconditional one, whatever was given).
    pub fn condition_of(&self, classes: Classes, rows: usize) -> Result<Option<Tensor>> {
        let Some(count) = self.classes() else {
            return Ok(None);
        };
        let labels: Vec<u16> = match classes {
            Classes::None => {
                return Err(Error::Conditional(format!(
                    "{} is conditional on {count} classes: it decodes and encodes only with a \
                     class, and none was given",
                    self.display_name()
                )));
            }
            Classes::Weights(w) => {
                if w.len() != rows * count || w.iter().any(|v| !v.is_finite()) {
                    return Err(Error::InvalidArgument(format!(
                        "class weights must be {rows} x {count} finite values, got {}",
                        w.len()
                    )));
                }
                return Ok(Some(Tensor::from_slice(w, (rows, count), &self.device)?));
            }
            Classes::All(c) => vec![c; rows],
            Classes::Each(each) if each.len() == rows => each.to_vec(),
            Classes::Each(each) => {
                return Err(Error::InvalidArgument(format!(
                    "{} classes given for {rows} rows",
                    each.len()
                )));
            }
        };
        if let Some(&bad) = labels.iter().find(|&&c| c as usize >= count) {
            return Err(Error::Conditional(format!(
                "class {bad} is out of range: {} is conditional on classes 0..{count}",
                self.display_name()
            )));
        }
        Ok(Some(one_hot(&labels, count, &self.device)?))
    }

    /// All weights, sorted by name, as variables through which they can be changed in place:
    /// taking them counts as a change (see [`Self::weights_version`]). Whoever writes through
    /// them later, as an optimiser does at every step, calls [`Self::mark_weights_changed`].
    pub fn vars(&self) -> Vec<(String, Var)> {
        self.mark_weights_changed();
        self.read_vars()
    }

    /// Bumped at every change to the weights (and whenever their variables are handed out).
    pub fn weights_version(&self) -> u64 {
        self.weights_version.get()
    }

    /// Says the weights were written in place: caches built from the old ones are rebuilt.
    pub fn mark_weights_changed(&self) {
        self.weights_version.bump();
    }

    fn read_vars(&self) -> Vec<(String, Var)> {
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
        self.read_vars()
            .into_iter()
            .map(|(n, v)| (n, v.as_tensor().clone()))
            .collect()
    }

    /// Refuses a dataset whose images are not the shape this model was built for, and a
    /// dataset without labels for a conditional model.
    pub fn check_fits(&self, data: &Dataset) -> Result<()> {
        if data.shape != self.config.input {
            return Err(Error::ShapeMismatch {
                model_name: self.display_name(),
                model: self.config.input.to_string(),
                dataset: data.shape.to_string(),
                dataset_name: format!("{} ({})", data.name, data.source.display()),
            });
        }
        self.labels_of(data, &[])?;
        // A labelled dataset with more classes than the model was trained on: refused whole,
        // naming its first sample of an unknown class (a scan of the labels, microseconds).
        if let (Some(classes), Some(labels)) = (self.classes(), data.labels())
            && let Some(i) = labels.iter().position(|&l| l as usize >= classes)
        {
            self.labels_of(data, &[i])?;
        }
        Ok(())
    }

    fn batch_tensor(&self, values: Vec<f32>, rows: usize) -> Result<Tensor> {
        let cols = values.len() / rows.max(1);
        Ok(Tensor::from_vec(values, (rows, cols), &self.device)?)
    }

    /// Posterior means and log-variances of the samples at `indices`, batched. A conditional
    /// model encodes each sample with its own label.
    pub fn encode(&self, data: &Dataset, indices: &[usize]) -> Result<Codes> {
        self.check_fits(data)?;
        if self.config.arch == Architecture::Mlp && !self.config.hidden.is_empty() {
            // A conditional model's labels are checked here, before any work.
            self.labels_of(data, indices)?;
            let labels = data.labels().filter(|_| self.config.conditional);
            let (mean, logvar) =
                fast_encode::FlatEncoder::from_model(self)?.encode(data, indices, labels);
            return Ok(Codes {
                latent: self.latent(),
                mean,
                logvar,
            });
        }
        if self.config.arch == Architecture::Conv && self.device.is_cpu() {
            let net = conv_flat::FlatConvNet::from_model(self)?;
            let (mean, logvar) = conv_flat::encode_dataset(&net, data, indices);
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
            let cond = self.condition_for(data, chunk)?;
            let (m, lv) = self.vae.encode(&x, cond.as_ref())?;
            codes.mean.extend(m.flatten_all()?.to_vec1::<f32>()?);
            codes.logvar.extend(lv.flatten_all()?.to_vec1::<f32>()?);
        }
        Ok(codes)
    }

    /// Posterior parameters of images given as values in [0, 1] (row-major [n, D]), for an
    /// unconditional model (a conditional one refuses: see [`Model::encode_values_as`]).
    pub fn encode_values(&self, values: &[f32]) -> Result<Codes> {
        self.encode_values_as(values, Classes::None)
    }

    /// Posterior parameters of images in [0, 1] (row-major [n, D]) conditioned on `classes`.
    pub fn encode_values_as(&self, values: &[f32], classes: Classes) -> Result<Codes> {
        let d = self.config.input.len();
        if values.is_empty() || !values.len().is_multiple_of(d) {
            return Err(Error::InvalidArgument(format!(
                "images must be a non-empty multiple of {d} values, got {}",
                values.len()
            )));
        }
        let n = values.len() / d;
        let x = Tensor::from_slice(values, (n, d), &self.device)?;
        let cond = self.condition_of(classes, n)?;
        let (m, lv) = self.vae.encode(&x, cond.as_ref())?;
        Ok(Codes {
            latent: self.latent(),
            mean: m.flatten_all()?.to_vec1::<f32>()?,
            logvar: lv.flatten_all()?.to_vec1::<f32>()?,
        })
    }

    /// Decodes codes (row-major [n, latent]) to images in [0, 1], row-major [n, D], for an
    /// unconditional model (a conditional one refuses: see [`Model::decode_as`]).
    pub fn decode(&self, z: &[f32]) -> Result<Vec<f32>> {
        self.decode_as(z, Classes::None)
    }

    /// Decodes codes (row-major [n, latent]) conditioned on `classes` (ignored by an
    /// unconditional model) to images in [0, 1], row-major [n, D].
    pub fn decode_as(&self, z: &[f32], classes: Classes) -> Result<Vec<f32>> {
        let l = self.latent();
        if z.is_empty() || !z.len().is_multiple_of(l) {
            return Err(Error::InvalidArgument(format!(
                "codes must be a non-empty multiple of {l} values, got {}",
                z.len()
            )));
        }
        let n = z.len() / l;
        // Checked once for every row, before any work.
        let cond = self.condition_of(classes, n)?;
        if self.config.arch == Architecture::Conv
            && self.device.is_cpu()
            && cond.is_none()
            && let Some(images) = self.flat_decoder.decode(self, z, n)?
        {
            return Ok(images);
        }
        let mut out = Vec::with_capacity(n * self.config.input.len());
        for (k, chunk) in z.chunks(INFERENCE_BATCH * l).enumerate() {
            let rows = chunk.len() / l;
            let zt = Tensor::from_slice(chunk, (rows, l), &self.device)?;
            let c = match &cond {
                Some(c) => Some(c.narrow(0, k * INFERENCE_BATCH, rows)?),
                None => None,
            };
            out.extend(
                self.vae
                    .decode(&zt, c.as_ref())?
                    .flatten_all()?
                    .to_vec1::<f32>()?,
            );
        }
        Ok(out)
    }

    /// Reconstructions (decoded posterior means) of the samples at `indices`; a conditional
    /// model encodes and decodes each with its own label.
    pub fn reconstruct(&self, data: &Dataset, indices: &[usize]) -> Result<Vec<f32>> {
        let codes = self.encode(data, indices)?;
        let labels = self.labels_of(data, indices)?;
        let classes = labels.as_deref().map_or(Classes::None, Classes::Each);
        self.decode_as(&codes.mean, classes)
    }

    /// Per-sample reconstruction error and KL, with z drawn from q(z|x) using a seeded
    /// generator (the same estimate of the ELBO the training loss uses).
    pub fn score(&self, data: &Dataset, indices: &[usize], seed: u64) -> Result<SampleScores> {
        self.check_fits(data)?;
        let mut rng = StdRng::seed_from_u64(seed);
        let mut buf = BatchBuffer::new();
        let mut scores = SampleScores::default();
        // A conv model on the CPU scores on flat buffers, with the same noise draws.
        let flat_conv = (self.config.arch == Architecture::Conv && self.device.is_cpu())
            .then(|| conv_flat::FlatConvNet::from_model(self))
            .transpose()?;
        for chunk in indices.chunks(INFERENCE_BATCH) {
            if let Some(net) = &flat_conv {
                let x = buf.take(data, chunk);
                let eps: Vec<f32> = (0..chunk.len() * self.latent())
                    .map(|_| StandardNormal.sample(&mut rng))
                    .collect();
                let (recon, kl) = conv_flat::score_rows(net, &x, &eps, chunk.len());
                scores.recon.extend(recon);
                scores.kl.extend(kl);
                continue;
            }
            let x = self.batch_tensor(buf.take(data, chunk), chunk.len())?;
            let eps = standard_normal(&mut rng, chunk.len(), self.latent(), &self.device)?;
            let cond = self.condition_for(data, chunk)?;
            let l = self.vae.losses(&x, cond.as_ref(), &eps)?;
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
