//! The VAE's architecture and likelihood, stored in every checkpoint.

use crate::data::ImageShape;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// How the decoder's output is scored against the input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Likelihood {
    /// Pixels as Bernoulli probabilities: binary cross-entropy with logits, summed over pixels.
    /// The natural choice for data in [0, 1] such as MNIST.
    #[default]
    Bernoulli,
    /// Pixels as Gaussian means (the sigmoid of the decoder output): squared error summed
    /// over pixels.
    Gaussian,
}

impl std::fmt::Display for Likelihood {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Likelihood::Bernoulli => "bernoulli",
            Likelihood::Gaussian => "gaussian",
        })
    }
}

impl std::str::FromStr for Likelihood {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "bernoulli" | "bce" => Ok(Likelihood::Bernoulli),
            "gaussian" | "mse" => Ok(Likelihood::Gaussian),
            other => Err(format!(
                "unknown likelihood '{other}' (bernoulli or gaussian)"
            )),
        }
    }
}

/// The largest latent size the explorer supports (one slider per dimension).
pub const MAX_LATENT: usize = 64;

/// Architecture of an MLP VAE: input -> hidden... -> (mean, logvar) of `latent` dims, and the
/// mirror image back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VaeConfig {
    pub input: ImageShape,
    /// Hidden layer widths of the encoder; the decoder uses them in reverse.
    pub hidden: Vec<usize>,
    pub latent: usize,
    pub likelihood: Likelihood,
    /// Weight of the KL term (1 = the standard ELBO, > 1 a beta-VAE).
    pub beta: f64,
}

impl VaeConfig {
    /// The classic PyTorch-examples VAE: 784-400-L-400-784, Bernoulli likelihood, beta 1.
    pub fn mnist(latent: usize) -> Self {
        Self {
            input: ImageShape::new(28, 28, 1),
            hidden: vec![400],
            latent,
            likelihood: Likelihood::Bernoulli,
            beta: 1.0,
        }
    }

    /// The default architecture for another image shape.
    pub fn for_shape(input: ImageShape, latent: usize) -> Self {
        Self {
            input,
            ..Self::mnist(latent)
        }
    }

    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_LATENT).contains(&self.latent) {
            return Err(Error::InvalidConfig(format!(
                "latent dims must be 1..={MAX_LATENT}, got {}",
                self.latent
            )));
        }
        if self.input.is_empty() || !(self.input.channels == 1 || self.input.channels == 3) {
            return Err(Error::InvalidConfig(format!(
                "input must be H x W x 1 or 3, got {:?}",
                self.input
            )));
        }
        if self.input.len() > 1 << 24 {
            return Err(Error::InvalidConfig(format!(
                "input of {} values is too large for an MLP VAE",
                self.input.len()
            )));
        }
        if self.hidden.is_empty() || self.hidden.len() > 8 {
            return Err(Error::InvalidConfig(format!(
                "1 to 8 hidden layers, got {}",
                self.hidden.len()
            )));
        }
        if let Some(h) = self.hidden.iter().find(|&&h| h == 0 || h > 16_384) {
            return Err(Error::InvalidConfig(format!(
                "hidden layer width {h} is out of range (1..=16384)"
            )));
        }
        if !(self.beta.is_finite() && self.beta >= 0.0) {
            return Err(Error::InvalidConfig(format!(
                "beta must be a finite number >= 0, got {}",
                self.beta
            )));
        }
        Ok(())
    }

    /// Layer widths along the encoder, e.g. [784, 400].
    fn encoder_widths(&self) -> Vec<usize> {
        std::iter::once(self.input.len())
            .chain(self.hidden.iter().copied())
            .collect()
    }

    /// Every parameter's name and shape, in a fixed order. The model, the initialiser and the
    /// checkpoint loader all use this one list.
    pub fn param_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let mut out = Vec::new();
        let mut linear = |name: String, inp: usize, outp: usize| {
            out.push((format!("{name}.weight"), vec![outp, inp]));
            out.push((format!("{name}.bias"), vec![outp]));
        };
        let enc = self.encoder_widths();
        for (i, w) in enc.windows(2).enumerate() {
            linear(format!("encoder.hidden.{i}"), w[0], w[1]);
        }
        let last = *enc.last().unwrap_or(&self.input.len());
        linear("encoder.mean".into(), last, self.latent);
        linear("encoder.logvar".into(), last, self.latent);
        let mut dec: Vec<usize> = std::iter::once(self.latent)
            .chain(self.hidden.iter().rev().copied())
            .collect();
        for (i, w) in dec.windows(2).enumerate() {
            linear(format!("decoder.hidden.{i}"), w[0], w[1]);
        }
        let dec_last = dec.pop().unwrap_or(self.latent);
        linear("decoder.out".into(), dec_last, self.input.len());
        out
    }

    pub fn parameter_count(&self) -> usize {
        self.param_shapes()
            .iter()
            .map(|(_, s)| s.iter().product::<usize>())
            .sum()
    }

    /// "784-400-20-400-784 bernoulli, beta 1".
    pub fn summary(&self) -> String {
        let mut widths: Vec<String> = self
            .encoder_widths()
            .iter()
            .map(|w| w.to_string())
            .collect();
        widths.push(self.latent.to_string());
        widths.extend(self.hidden.iter().rev().map(|w| w.to_string()));
        widths.push(self.input.len().to_string());
        format!(
            "{} {}, beta {}",
            widths.join("-"),
            self.likelihood,
            self.beta
        )
    }
}
