//! The VAE network in candle: an encoder to (mean, log-variance) (an MLP, or convolutions as
//! in `conv.rs`), the reparameterised sample, a decoder to logits, and per-sample losses.

use super::config::{Architecture, Likelihood, MlpRole, VaeConfig};
use super::conv::ConvNet;
use candle_core::{Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};

/// Log-variance is clamped to this range in the loss path so one bad batch cannot turn
/// exp(logvar) into infinity; real posteriors sit far inside it.
const LOGVAR_LIMIT: f64 = 30.0;

pub struct Vae {
    config: VaeConfig,
    network: Network,
}

enum Network {
    Mlp(Mlp),
    Conv(ConvNet),
}

struct Mlp {
    enc_hidden: Vec<Linear>,
    enc_mean: Linear,
    enc_logvar: Linear,
    dec_hidden: Vec<Linear>,
    dec_out: Linear,
}

/// Per-sample loss terms of a batch, each of shape [batch].
pub struct BatchLosses {
    /// Negative log-likelihood of the input under the decoder, summed over pixels.
    pub recon: Tensor,
    /// KL(q(z|x) || N(0, I)), summed over latent dims.
    pub kl: Tensor,
}

impl Vae {
    /// Builds the network from weights named as in [`VaeConfig::param_shapes`] (which the
    /// variable builder must already hold: a missing one would be initialised, not loaded).
    pub fn new(config: &VaeConfig, vb: VarBuilder) -> Result<Self> {
        let network = match config.arch {
            Architecture::Mlp => Network::Mlp(Mlp::new(config, vb)?),
            Architecture::Conv => {
                let geometry = config
                    .conv_geometry()
                    .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
                Network::Conv(ConvNet::new(geometry, &config.hidden, config.latent, &vb)?)
            }
        };
        Ok(Self {
            config: config.clone(),
            network,
        })
    }

    pub fn config(&self) -> &VaeConfig {
        &self.config
    }

    /// x: [batch, D] in [0, 1] (D = H*W*C, H x W x C order) -> (mean, logvar), each
    /// [batch, latent]. `cond`: the one-hot labels [batch, classes] a conditional model needs
    /// (see [`one_hot`]); an unconditional model ignores them.
    pub fn encode(&self, x: &Tensor, cond: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        match &self.network {
            Network::Mlp(m) => m.encode(&self.with_condition(x, cond)?),
            Network::Conv(c) => c.encode(x),
        }
    }

    /// z: [batch, latent] -> decoder output before the sigmoid, [batch, D]. `cond` as for
    /// [`Vae::encode`].
    pub fn decode_logits(&self, z: &Tensor, cond: Option<&Tensor>) -> Result<Tensor> {
        match &self.network {
            Network::Mlp(m) => m.decode_logits(&self.with_condition(z, cond)?),
            Network::Conv(c) => c.decode_logits(z),
        }
    }

    /// `t` with the one-hot condition appended to each row, for a conditional model; `t`
    /// itself otherwise. A conditional model without a condition is an error, never a guess.
    fn with_condition(&self, t: &Tensor, cond: Option<&Tensor>) -> Result<Tensor> {
        let width = self.config.condition_width();
        if width == 0 {
            return Ok(t.clone());
        }
        let Some(cond) = cond else {
            return Err(candle_core::Error::Msg(format!(
                "this model is conditional on {width} classes: it needs a class for every row"
            )));
        };
        if cond.dims() != [t.dim(0)?, width] {
            return Err(candle_core::Error::Msg(format!(
                "the condition has shape {:?}, expected [{}, {width}]",
                cond.dims(),
                t.dim(0)?
            )));
        }
        Tensor::cat(&[t, cond], 1)
    }
}

/// One-hot rows [n, classes] for the given labels (each below `classes`).
pub fn one_hot_values(labels: &[u16], classes: usize) -> Vec<f32> {
    let mut values = vec![0f32; labels.len() * classes];
    for (row, &label) in values.chunks_exact_mut(classes.max(1)).zip(labels) {
        if let Some(v) = row.get_mut(label as usize) {
            *v = 1.0;
        }
    }
    values
}

/// [`one_hot_values`] as a tensor on `device`.
pub fn one_hot(labels: &[u16], classes: usize, device: &candle_core::Device) -> Result<Tensor> {
    Tensor::from_vec(
        one_hot_values(labels, classes),
        (labels.len(), classes),
        device,
    )
}

/// The fully connected network: input -> hidden... -> (mean, logvar), latent -> hidden
/// (reversed) -> logits.
impl Mlp {
    /// The layers of [`VaeConfig::mlp_layers`], each a `candle_nn::linear` on its weights.
    fn new(config: &VaeConfig, vb: VarBuilder) -> Result<Self> {
        let (mut enc_hidden, mut dec_hidden) = (Vec::new(), Vec::new());
        let (mut enc_mean, mut enc_logvar, mut dec_out) = (None, None, None);
        for layer in config.mlp_layers() {
            let linear = candle_nn::linear(layer.inp, layer.out, vb.pp(&layer.name))?;
            match layer.role {
                MlpRole::EncoderHidden(_) => enc_hidden.push(linear),
                MlpRole::Mean => enc_mean = Some(linear),
                MlpRole::Logvar => enc_logvar = Some(linear),
                MlpRole::DecoderHidden(_) => dec_hidden.push(linear),
                MlpRole::Output => dec_out = Some(linear),
            }
        }
        let missing = |what: &str| candle_core::Error::Msg(format!("the MLP has no {what} layer"));
        Ok(Self {
            enc_hidden,
            enc_mean: enc_mean.ok_or_else(|| missing("mean"))?,
            enc_logvar: enc_logvar.ok_or_else(|| missing("log-variance"))?,
            dec_hidden,
            dec_out: dec_out.ok_or_else(|| missing("output"))?,
        })
    }

    fn encode(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let mut h = x.clone();
        for layer in &self.enc_hidden {
            h = layer.forward(&h)?.relu()?;
        }
        Ok((self.enc_mean.forward(&h)?, self.enc_logvar.forward(&h)?))
    }

    fn decode_logits(&self, z: &Tensor) -> Result<Tensor> {
        let mut h = z.clone();
        for layer in &self.dec_hidden {
            h = layer.forward(&h)?.relu()?;
        }
        self.dec_out.forward(&h)
    }
}

impl Vae {
    /// z: [batch, latent] -> images in [0, 1], [batch, D].
    pub fn decode(&self, z: &Tensor, cond: Option<&Tensor>) -> Result<Tensor> {
        candle_nn::ops::sigmoid(&self.decode_logits(z, cond)?)
    }

    /// Encodes x, samples z = mean + sigma * eps with the given standard-normal noise
    /// ([batch, latent]), decodes, and scores: the per-sample terms of the negative ELBO.
    /// A conditional model's encoder and decoder both see the one-hot `cond`.
    pub fn losses(&self, x: &Tensor, cond: Option<&Tensor>, eps: &Tensor) -> Result<BatchLosses> {
        let (mean, logvar) = self.encode(x, cond)?;
        let logvar = logvar.clamp(-LOGVAR_LIMIT, LOGVAR_LIMIT)?;
        let z = (&mean + (eps * (&logvar * 0.5)?.exp()?)?)?;
        let logits = self.decode_logits(&z, cond)?;
        let recon = reconstruction_error(self.config.likelihood, &logits, x)?;
        let kl = kl_divergence(&mean, &logvar)?;
        Ok(BatchLosses { recon, kl })
    }
}

/// Per-sample reconstruction error, [batch]. For Bernoulli this is binary cross-entropy with
/// logits in its stable form max(l, 0) - l * x + log(1 + exp(-|l|)), which never overflows
/// (candle's own `binary_cross_entropy_with_logit` goes to inf for large logits), computed by
/// one fused op.
pub fn reconstruction_error(likelihood: Likelihood, logits: &Tensor, x: &Tensor) -> Result<Tensor> {
    let per_pixel = match likelihood {
        Likelihood::Bernoulli => return super::fused_loss::bce_with_logits_rows(logits, x),
        Likelihood::Gaussian => {
            let mean = candle_nn::ops::sigmoid(logits)?;
            (mean - x)?.sqr()?
        }
    };
    per_pixel.sum(1)
}

/// Per-dimension KL(N(mean, exp(logvar)) || N(0, 1)), [batch, latent].
pub fn kl_per_dim(mean: &Tensor, logvar: &Tensor) -> Result<Tensor> {
    // 0.5 * (mean^2 + exp(logvar) - 1 - logvar)
    (((mean.sqr()? + logvar.exp()?)? - 1.0)? - logvar)? * 0.5
}

/// Per-sample KL, [batch].
pub fn kl_divergence(mean: &Tensor, logvar: &Tensor) -> Result<Tensor> {
    kl_per_dim(mean, logvar)?.sum(1)
}
