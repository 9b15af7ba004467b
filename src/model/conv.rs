//! The convolutional VAE: strided 4x4 convolutions (each halves the image) down to a small
//! feature map, one linear layer to (mean, log-variance), and the mirror image back up with
//! transposed 4x4 convolutions (each doubles it) to logits.
//!
//! Images arrive as rows of H x W x C values (the dataset's layout) and stay N x H x W x C
//! through the convolutions, which are matrix products (`conv_gemm`). A side
//! that is not a multiple of 2^layers is zero-padded (centred) before the first convolution
//! and the decoder's output is cropped back to it, so every size from 2^layers up (28x28,
//! 32x32, 45x61, ...) works without resizing the data.

use super::conv_gemm::{conv_down, conv_up};
use crate::data::ImageShape;
use candle_core::{Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};

/// Kernel side of every (transposed) convolution; with stride 2 and padding 1 a 4x4 kernel
/// halves (doubles) an even side exactly.
pub const KERNEL: usize = 4;
/// Channels of the three convolutions of a new conv model.
pub const DEFAULT_CHANNELS: [usize; 3] = [32, 64, 64];
pub const MAX_CONV_LAYERS: usize = 4;
pub const MAX_CHANNELS: usize = 512;
/// Larger images would make the convolutions far too slow on a CPU.
pub const MAX_CONV_SIDE: usize = 256;
/// The flattened feature map feeds a linear layer per latent output; cap its width.
pub const MAX_FLAT: usize = 1 << 16;

/// Where the image sits inside the padded grid the convolutions see, and how big the
/// innermost feature map is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    pub input: ImageShape,
    pub padded_height: usize,
    pub padded_width: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    /// Side lengths and channels of the innermost feature map.
    pub feature_height: usize,
    pub feature_width: usize,
    pub feature_channels: usize,
}

impl ConvGeometry {
    /// The geometry for `input` through convolutions with these output channels, or why it
    /// cannot work.
    pub fn new(input: ImageShape, channels: &[usize]) -> std::result::Result<Self, String> {
        let layers = channels.len();
        if !(1..=MAX_CONV_LAYERS).contains(&layers) {
            return Err(format!(
                "a conv VAE takes 1 to {MAX_CONV_LAYERS} conv layers, got {layers}"
            ));
        }
        if let Some(c) = channels.iter().find(|&&c| c == 0 || c > MAX_CHANNELS) {
            return Err(format!(
                "conv channels {c} are out of range (1..={MAX_CHANNELS})"
            ));
        }
        let factor = 1usize << layers;
        let (h, w) = (input.height, input.width);
        if h < factor || w < factor || h > MAX_CONV_SIDE || w > MAX_CONV_SIDE {
            return Err(format!(
                "a conv VAE with {layers} layers takes images of {factor} to {MAX_CONV_SIDE} pixels a side, got {w}x{h} (use fewer layers, the MLP, or resize the images)"
            ));
        }
        let (ph, pw) = (h.next_multiple_of(factor), w.next_multiple_of(factor));
        let geometry = Self {
            input,
            padded_height: ph,
            padded_width: pw,
            pad_top: (ph - h) / 2,
            pad_left: (pw - w) / 2,
            feature_height: ph / factor,
            feature_width: pw / factor,
            feature_channels: channels[layers - 1],
        };
        if geometry.flat() > MAX_FLAT {
            return Err(format!(
                "the innermost feature map ({} x {} x {}) is too large; use fewer channels or more layers",
                geometry.feature_channels, geometry.feature_height, geometry.feature_width
            ));
        }
        Ok(geometry)
    }

    /// Values in the flattened innermost feature map.
    pub fn flat(&self) -> usize {
        self.feature_channels * self.feature_height * self.feature_width
    }

    pub fn is_padded(&self) -> bool {
        self.padded_height != self.input.height || self.padded_width != self.input.width
    }
}

/// Channels along the decoder: the encoder's in reverse, ending at the image's.
fn decoder_channels(input: ImageShape, channels: &[usize]) -> Vec<usize> {
    channels
        .iter()
        .rev()
        .copied()
        .chain(std::iter::once(input.channels))
        .collect()
}

/// Every parameter's name and shape (each weight followed by its bias). Conv weights are
/// [out, in, k, k]; transposed-conv weights [in, out, k, k] as candle (and PyTorch) store them.
pub fn param_shapes(
    geometry: &ConvGeometry,
    channels: &[usize],
    latent: usize,
) -> Vec<(String, Vec<usize>)> {
    let mut out = Vec::new();
    let mut push = |name: String, weight: Vec<usize>, bias: usize| {
        out.push((format!("{name}.weight"), weight));
        out.push((format!("{name}.bias"), vec![bias]));
    };
    let mut c_in = geometry.input.channels;
    for (i, &c) in channels.iter().enumerate() {
        push(
            format!("encoder.conv.{i}"),
            vec![c, c_in, KERNEL, KERNEL],
            c,
        );
        c_in = c;
    }
    let flat = geometry.flat();
    push("encoder.mean".into(), vec![latent, flat], latent);
    push("encoder.logvar".into(), vec![latent, flat], latent);
    push("decoder.input".into(), vec![flat, latent], flat);
    let dec = decoder_channels(geometry.input, channels);
    for (i, pair) in dec.windows(2).enumerate() {
        push(
            format!("decoder.deconv.{i}"),
            vec![pair[0], pair[1], KERNEL, KERNEL],
            pair[1],
        );
    }
    out
}

/// A convolution's kernel and its per-channel bias.
struct ConvLayer {
    weight: Tensor,
    bias: Tensor,
}

impl ConvLayer {
    fn load(vb: &VarBuilder, name: &str, weight: &[usize], channels: usize) -> Result<Self> {
        let vb = vb.pp(name);
        Ok(Self {
            weight: vb.get(weight, "weight")?,
            bias: vb.get(channels, "bias")?,
        })
    }
}

pub struct ConvNet {
    geometry: ConvGeometry,
    encoder: Vec<ConvLayer>,
    mean: Linear,
    logvar: Linear,
    decoder_input: Linear,
    decoder: Vec<ConvLayer>,
}

impl ConvNet {
    /// Builds the network from weights named as in [`param_shapes`].
    pub fn new(
        geometry: ConvGeometry,
        channels: &[usize],
        latent: usize,
        vb: &VarBuilder,
    ) -> Result<Self> {
        let enc = vb.pp("encoder");
        let dec = vb.pp("decoder");
        let mut encoder = Vec::with_capacity(channels.len());
        let mut c_in = geometry.input.channels;
        for (i, &c) in channels.iter().enumerate() {
            let shape = [c, c_in, KERNEL, KERNEL];
            encoder.push(ConvLayer::load(&enc, &format!("conv.{i}"), &shape, c)?);
            c_in = c;
        }
        let flat = geometry.flat();
        let dec_channels = decoder_channels(geometry.input, channels);
        let decoder = dec_channels
            .windows(2)
            .enumerate()
            .map(|(i, p)| {
                let shape = [p[0], p[1], KERNEL, KERNEL];
                ConvLayer::load(&dec, &format!("deconv.{i}"), &shape, p[1])
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            geometry,
            encoder,
            mean: candle_nn::linear(flat, latent, enc.pp("mean"))?,
            logvar: candle_nn::linear(flat, latent, enc.pp("logvar"))?,
            decoder_input: candle_nn::linear(latent, flat, dec.pp("input"))?,
            decoder,
        })
    }

    /// x: [batch, H*W*C] in [0, 1] -> (mean, logvar), each [batch, latent].
    pub fn encode(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let g = &self.geometry;
        let s = g.input;
        let n = x.dim(0)?;
        let mut h = x.reshape((n, s.height, s.width, s.channels))?;
        if g.is_padded() {
            let bottom = g.padded_height - s.height - g.pad_top;
            let right = g.padded_width - s.width - g.pad_left;
            h = h
                .pad_with_zeros(1, g.pad_top, bottom)?
                .pad_with_zeros(2, g.pad_left, right)?;
        }
        for layer in &self.encoder {
            h = conv_down(&h, &layer.weight, &layer.bias)?.relu()?;
        }
        // The linear layers read the feature map in C x H x W order (PyTorch's flattening).
        let h = h.permute((0, 3, 1, 2))?.contiguous()?;
        let flat = h.flatten_from(1)?;
        Ok((self.mean.forward(&flat)?, self.logvar.forward(&flat)?))
    }

    /// z: [batch, latent] -> logits, [batch, H*W*C] in the dataset's H x W x C order.
    pub fn decode_logits(&self, z: &Tensor) -> Result<Tensor> {
        let g = &self.geometry;
        let s = g.input;
        let n = z.dim(0)?;
        let mut h = self
            .decoder_input
            .forward(z)?
            .relu()?
            .reshape((n, g.feature_channels, g.feature_height, g.feature_width))?
            .permute((0, 2, 3, 1))?
            .contiguous()?;
        let last = self.decoder.len() - 1;
        for (i, layer) in self.decoder.iter().enumerate() {
            h = conv_up(&h, &layer.weight, &layer.bias)?;
            if i < last {
                h = h.relu()?;
            }
        }
        if g.is_padded() {
            h = h
                .narrow(1, g.pad_top, s.height)?
                .narrow(2, g.pad_left, s.width)?;
        }
        h.contiguous()?.reshape((n, s.len()))
    }
}
