//! The VAE network in candle: an encoder to (mean, log-variance) (an MLP, or convolutions as
//! in `conv.rs`), the reparameterised sample, a decoder to logits, and per-sample losses.

use super::config::{Architecture, Likelihood, VaeConfig};
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

fn linear(vb: &VarBuilder, name: &str, inp: usize, out: usize) -> Result<Linear> {
    let vb = vb.pp(name);
    let w = vb.get((out, inp), "weight")?;
    let b = vb.get(out, "bias")?;
    Ok(Linear::new(w, Some(b)))
}

impl Vae {
    /// Builds the network from weights named as in [`VaeConfig::param_shapes`].
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
    /// [batch, latent].
    pub fn encode(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        match &self.network {
            Network::Mlp(m) => m.encode(x),
            Network::Conv(c) => c.encode(x),
        }
    }

    /// z: [batch, latent] -> decoder output before the sigmoid, [batch, D].
    pub fn decode_logits(&self, z: &Tensor) -> Result<Tensor> {
        match &self.network {
            Network::Mlp(m) => m.decode_logits(z),
            Network::Conv(c) => c.decode_logits(z),
        }
    }
}

/// The fully connected network: input -> hidden... -> (mean, logvar), latent -> hidden
/// (reversed) -> logits.
impl Mlp {
    fn new(config: &VaeConfig, vb: VarBuilder) -> Result<Self> {
        let enc = vb.pp("encoder");
        let dec = vb.pp("decoder");
        let mut widths = vec![config.input.len()];
        widths.extend(&config.hidden);
        let enc_hidden = widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| linear(&enc, &format!("hidden.{i}"), w[0], w[1]))
            .collect::<Result<Vec<_>>>()?;
        let last = *widths.last().unwrap_or(&config.input.len());
        let enc_mean = linear(&enc, "mean", last, config.latent)?;
        let enc_logvar = linear(&enc, "logvar", last, config.latent)?;
        let mut dwidths = vec![config.latent];
        dwidths.extend(config.hidden.iter().rev());
        let dec_hidden = dwidths
            .windows(2)
            .enumerate()
            .map(|(i, w)| linear(&dec, &format!("hidden.{i}"), w[0], w[1]))
            .collect::<Result<Vec<_>>>()?;
        let dec_last = *dwidths.last().unwrap_or(&config.latent);
        let dec_out = linear(&dec, "out", dec_last, config.input.len())?;
        Ok(Self {
            enc_hidden,
            enc_mean,
            enc_logvar,
            dec_hidden,
            dec_out,
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
    pub fn decode(&self, z: &Tensor) -> Result<Tensor> {
        candle_nn::ops::sigmoid(&self.decode_logits(z)?)
    }

    /// Encodes x, samples z = mean + sigma * eps with the given standard-normal noise
    /// ([batch, latent]), decodes, and scores: the per-sample terms of the negative ELBO.
    pub fn losses(&self, x: &Tensor, eps: &Tensor) -> Result<BatchLosses> {
        let (mean, logvar) = self.encode(x)?;
        let logvar = logvar.clamp(-LOGVAR_LIMIT, LOGVAR_LIMIT)?;
        let z = (&mean + (eps * (&logvar * 0.5)?.exp()?)?)?;
        let logits = self.decode_logits(&z)?;
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
