//! The VAE's architecture and likelihood, stored in every checkpoint.

use super::conv::{ConvGeometry, DEFAULT_CHANNELS};
use crate::data::{Dataset, ImageShape};
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

impl Likelihood {
    /// The likelihood that suits `data`, and the fraction of its values within 10% of 0 or 1
    /// (over up to 2,000 evenly spread samples). Near-binary data is well described by Bernoulli
    /// pixels (MNIST: 91% of its values, Fashion-MNIST: 59%, measured this way); natural and
    /// colour images, whose values spread over the range, by a Gaussian.
    pub fn suggested_for(data: &Dataset) -> (Likelihood, f64) {
        const SAMPLES: usize = 2_000;
        let stride = data.len().div_ceil(SAMPLES).max(1);
        let (mut near, mut total) = (0usize, 0usize);
        for i in (0..data.len()).step_by(stride) {
            let bytes = data.image_bytes(i);
            near += bytes.iter().filter(|&&b| b <= 25 || b >= 230).count();
            total += bytes.len();
        }
        let fraction = near as f64 / total.max(1) as f64;
        let likelihood = if fraction >= NEAR_BINARY_FRACTION {
            Likelihood::Bernoulli
        } else {
            Likelihood::Gaussian
        };
        (likelihood, fraction)
    }
}

/// Data with at least this fraction of values near 0 or 1 gets a Bernoulli likelihood.
pub const NEAR_BINARY_FRACTION: f64 = 0.45;

/// How the encoder and decoder are built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    /// Fully connected layers on the flattened image (every checkpoint before conv existed).
    #[default]
    Mlp,
    /// Strided convolutions down, transposed convolutions up (see `model::conv`).
    Conv,
}

impl std::fmt::Display for Architecture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Architecture::Mlp => "mlp",
            Architecture::Conv => "conv",
        })
    }
}

impl std::str::FromStr for Architecture {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "mlp" | "dense" => Ok(Architecture::Mlp),
            "conv" | "cnn" | "convolutional" => Ok(Architecture::Conv),
            other => Err(format!("unknown architecture '{other}' (mlp or conv)")),
        }
    }
}

/// The largest latent size the explorer supports (one slider per dimension).
pub const MAX_LATENT: usize = 64;

/// The most classes a conditional model may be conditioned on (one-hot inputs stay small
/// beside the image).
pub const MAX_CLASSES: usize = 1_000;

/// Architecture of a VAE: input -> hidden... -> (mean, logvar) of `latent` dims, and the
/// mirror image back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VaeConfig {
    pub input: ImageShape,
    /// MLP or conv. Absent in checkpoints written before conv models existed: those are MLPs.
    #[serde(default)]
    pub arch: Architecture,
    /// Per layer of the encoder (the decoder mirrors them): for an MLP the hidden layer
    /// widths, for a conv model the output channels of each stride-2 convolution.
    pub hidden: Vec<usize>,
    pub latent: usize,
    pub likelihood: Likelihood,
    /// Weight of the KL term (1 = the standard ELBO, > 1 a beta-VAE).
    pub beta: f64,
    /// A conditional VAE: the one-hot label is an extra input to the encoder (beside the
    /// image) and to the decoder (beside the code), so the code is left to hold the style.
    /// Absent in checkpoints written before conditional models existed: those are not.
    #[serde(default)]
    pub conditional: bool,
    /// The one-hot's width (the number of classes) of a conditional model; 0 otherwise.
    #[serde(default)]
    pub classes: usize,
}

impl VaeConfig {
    /// The classic PyTorch-examples VAE: 784-400-L-400-784, Bernoulli likelihood, beta 1.
    pub fn mnist(latent: usize) -> Self {
        Self {
            input: ImageShape::new(28, 28, 1),
            arch: Architecture::Mlp,
            hidden: vec![400],
            latent,
            likelihood: Likelihood::Bernoulli,
            beta: 1.0,
            conditional: false,
            classes: 0,
        }
    }

    /// The same architecture conditioned on `classes` classes.
    pub fn with_classes(self, classes: usize) -> Self {
        Self {
            conditional: true,
            classes,
            ..self
        }
    }

    /// This architecture conditioned on `data`'s classes. A dataset without labels (or with
    /// a single class) is refused with a message naming it.
    pub fn conditioned_on(self, data: &Dataset) -> Result<Self> {
        let named = format!("the dataset {} ({})", data.name, data.source.display());
        match data.class_count() {
            None => Err(Error::Conditional(format!(
                "a conditional model needs labels, but {named} has none"
            ))),
            Some(k) if k < 2 => Err(Error::Conditional(format!(
                "a conditional model needs at least 2 classes, but {named} has {k}"
            ))),
            Some(k) => Ok(self.with_classes(k)),
        }
    }

    /// Width of the one-hot condition fed beside the image and beside the code (0 for an
    /// unconditional model).
    pub fn condition_width(&self) -> usize {
        if self.conditional { self.classes } else { 0 }
    }

    /// The default architecture for another image shape.
    pub fn for_shape(input: ImageShape, latent: usize) -> Self {
        Self {
            input,
            ..Self::mnist(latent)
        }
    }

    /// The default conv architecture for an image shape: 4x4 stride-2 convolutions with 32,
    /// 64 and 64 channels, Bernoulli likelihood, beta 1.
    pub fn conv(input: ImageShape, latent: usize) -> Self {
        Self {
            arch: Architecture::Conv,
            hidden: DEFAULT_CHANNELS.to_vec(),
            ..Self::for_shape(input, latent)
        }
    }

    /// Where the image sits in the padded grid the convolutions see (conv models only).
    pub fn conv_geometry(&self) -> Result<ConvGeometry> {
        ConvGeometry::new(self.input, &self.hidden).map_err(Error::InvalidConfig)
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
        if self.arch == Architecture::Conv {
            self.conv_geometry()?;
        } else if self.hidden.is_empty() || self.hidden.len() > 8 {
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
        if self.conditional {
            if self.arch != Architecture::Mlp {
                return Err(Error::InvalidConfig(
                    "conditional models are MLPs; a conv model cannot be conditional".into(),
                ));
            }
            if !(2..=MAX_CLASSES).contains(&self.classes) {
                return Err(Error::InvalidConfig(format!(
                    "a conditional model needs 2..={MAX_CLASSES} classes, got {}",
                    self.classes
                )));
            }
        } else if self.classes != 0 {
            return Err(Error::InvalidConfig(format!(
                "an unconditional model has no classes, got {}",
                self.classes
            )));
        }
        Ok(())
    }

    /// Layer widths along the encoder, e.g. [784, 400] (a conditional model's first layer
    /// also reads the one-hot: [794, 400] for ten classes).
    fn encoder_widths(&self) -> Vec<usize> {
        std::iter::once(self.input.len() + self.condition_width())
            .chain(self.hidden.iter().copied())
            .collect()
    }

    /// Every parameter's name and shape, in a fixed order. The model, the initialiser and the
    /// checkpoint loader all use this one list; for an MLP it is [`VaeConfig::mlp_layers`]'
    /// weights and biases.
    pub fn param_shapes(&self) -> Vec<(String, Vec<usize>)> {
        if self.arch == Architecture::Conv {
            // validate() refuses a config without a geometry before anything asks for shapes.
            return match self.conv_geometry() {
                Ok(g) => super::conv::param_shapes(&g, &self.hidden, self.latent),
                Err(_) => Vec::new(),
            };
        }
        self.mlp_layers()
            .iter()
            .flat_map(|l| {
                [
                    (l.weight_name(), vec![l.out, l.inp]),
                    (l.bias_name(), vec![l.out]),
                ]
            })
            .collect()
    }

    /// The fully connected layers of an MLP model, in their fixed order: the encoder's hidden
    /// layers, the mean head, the log-variance head, the decoder's hidden layers (the
    /// encoder's widths reversed), the output layer. Creating, loading, importing, the fast
    /// encoder and the fused trainer all build on this one list.
    pub fn mlp_layers(&self) -> Vec<MlpLayer> {
        let mut layers = Vec::with_capacity(2 * self.hidden.len() + 3);
        let enc = self.encoder_widths();
        for (i, w) in enc.windows(2).enumerate() {
            layers.push(MlpLayer::new(MlpRole::EncoderHidden(i), w[0], w[1]));
        }
        let last = enc[enc.len() - 1];
        layers.push(MlpLayer::new(MlpRole::Mean, last, self.latent));
        layers.push(MlpLayer::new(MlpRole::Logvar, last, self.latent));
        // The decoder's first layer reads the code and, for a conditional model, the one-hot.
        let dec: Vec<usize> = std::iter::once(self.latent + self.condition_width())
            .chain(self.hidden.iter().rev().copied())
            .collect();
        for (i, w) in dec.windows(2).enumerate() {
            layers.push(MlpLayer::new(MlpRole::DecoderHidden(i), w[0], w[1]));
        }
        let dec_last = dec[dec.len() - 1];
        layers.push(MlpLayer::new(MlpRole::Output, dec_last, self.input.len()));
        layers
    }

    pub fn parameter_count(&self) -> usize {
        self.param_shapes()
            .iter()
            .map(|(_, s)| s.iter().product::<usize>())
            .sum()
    }

    /// "784-400-20-400-784 bernoulli, beta 1", or for a conv model
    /// "conv 28x28 grey (padded to 32x32), channels 32-64-64, 4x4x64 -> 16 latent, bernoulli, beta 1".
    pub fn summary(&self) -> String {
        if self.arch == Architecture::Conv {
            let channels: Vec<String> = self.hidden.iter().map(|c| c.to_string()).collect();
            let (padded, feature) = match self.conv_geometry() {
                Ok(g) => (
                    if g.is_padded() {
                        format!(" (padded to {}x{})", g.padded_width, g.padded_height)
                    } else {
                        String::new()
                    },
                    format!(
                        "{}x{}x{}",
                        g.feature_width, g.feature_height, g.feature_channels
                    ),
                ),
                Err(_) => (String::new(), "?".into()),
            };
            return format!(
                "conv {}{padded}, channels {}, {feature} -> {} latent, {}, beta {}",
                self.input,
                channels.join("-"),
                self.latent,
                self.likelihood,
                self.beta
            );
        }
        let mut widths: Vec<String> = std::iter::once(self.input.len())
            .chain(self.hidden.iter().copied())
            .map(|w| w.to_string())
            .collect();
        widths.push(self.latent.to_string());
        widths.extend(self.hidden.iter().rev().map(|w| w.to_string()));
        widths.push(self.input.len().to_string());
        let condition = if self.conditional {
            format!(", conditional on {} classes", self.classes)
        } else {
            String::new()
        };
        format!(
            "{} {}, beta {}{condition}",
            widths.join("-"),
            self.likelihood,
            self.beta
        )
    }
}

/// What a fully connected layer of an MLP model does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MlpRole {
    /// The encoder's i-th hidden layer (ReLU).
    EncoderHidden(usize),
    /// The head giving the posterior means.
    Mean,
    /// The head giving the posterior log-variances.
    Logvar,
    /// The decoder's i-th hidden layer (ReLU).
    DecoderHidden(usize),
    /// The decoder's output layer (logits).
    Output,
}

impl MlpRole {
    /// The layer's name in checkpoints: `encoder.hidden.{i}`, `encoder.mean`, `encoder.logvar`,
    /// `decoder.hidden.{i}`, `decoder.out`.
    pub fn name(self) -> String {
        match self {
            MlpRole::EncoderHidden(i) => format!("encoder.hidden.{i}"),
            MlpRole::Mean => "encoder.mean".into(),
            MlpRole::Logvar => "encoder.logvar".into(),
            MlpRole::DecoderHidden(i) => format!("decoder.hidden.{i}"),
            MlpRole::Output => "decoder.out".into(),
        }
    }
}

/// One fully connected layer of an MLP model: weight `{name}.weight` of shape [out, inp] (as
/// PyTorch's nn.Linear stores it) and bias `{name}.bias` of shape [out].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MlpLayer {
    pub role: MlpRole,
    /// [`MlpRole::name`].
    pub name: String,
    pub inp: usize,
    pub out: usize,
}

impl MlpLayer {
    fn new(role: MlpRole, inp: usize, out: usize) -> Self {
        Self {
            role,
            name: role.name(),
            inp,
            out,
        }
    }

    pub fn weight_name(&self) -> String {
        format!("{}.weight", self.name)
    }

    pub fn bias_name(&self) -> String {
        format!("{}.bias", self.name)
    }
}
