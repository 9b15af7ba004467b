//! The conv VAE on flat buffers, without candle: parameters in the layouts the products want,
//! and a forward pass (encoder to mean and log-variance, decoder to logits) over channels-last
//! grids, each convolution one `gemm` product plus a gather or scatter of 4x4 patches
//! ([`crate::kernels::conv`]). candle builds the same network from hundreds of small pads,
//! slices, stacks and sums (`conv_gemm`), and on a CPU those cost several times the arithmetic.
//!
//! Used by the fused trainer (`train::fused_conv`, which adds the backward pass and Adam) and
//! by whole-dataset encoding and scoring on the CPU. Tests compare both with the candle model.

use super::conv::{ConvGeometry, param_shapes};
use super::{Architecture, Likelihood, Model};
use crate::data::{BatchBuffer, Dataset};
use crate::error::{Error, Result};
use crate::kernels::conv::{K, col2im_s2, im2col_s2};
use crate::kernels::dense::{self, Weights, product};
use crate::kernels::elementwise::{loss_and_grad, relu_in_place};
use gemm::Parallelism;
use rayon::prelude::*;
use std::collections::HashMap;

/// Images per parallel task when encoding or scoring many: enough rows that the products keep
/// the registers busy, few enough that the patches of the widest layer (16 images x 64
/// pixels x 512 values, 2 MB) stay in the caches. With 64 images (8 MB) the products
/// streamed them from memory: encoding 10,000 took 25% longer (AMD EPYC Zen 4; 4 to 16 were
/// alike).
const CHUNK: usize = 16;
/// Same clamp as the candle path (`vae.rs`).
const LOGVAR_LIMIT: f32 = 30.0;

/// One parameter tensor in the layout its product reads.
pub(crate) struct FlatParam {
    pub name: String,
    pub shape: Vec<usize>,
    /// value[i] = candle's flat value[map[i]]; None where the layouts are the same.
    map: Option<Vec<usize>>,
    pub value: Vec<f32>,
}

impl FlatParam {
    /// `values` (in this parameter's layout) in candle's layout.
    pub fn to_candle(&self, values: &[f32]) -> Vec<f32> {
        match &self.map {
            Some(map) => {
                let mut out = vec![0.0; values.len()];
                for (&j, &v) in map.iter().zip(values) {
                    out[j] = v;
                }
                out
            }
            None => values.to_vec(),
        }
    }
}

/// Candle index of each element of a conv kernel laid out [(ky, kx, c_in), c_out], from
/// candle's [c_out, c_in, 4, 4].
fn conv_down_map(c_in: usize, c_out: usize) -> Vec<usize> {
    let mut map = Vec::with_capacity(K * K * c_in * c_out);
    for ky in 0..K {
        for kx in 0..K {
            for ci in 0..c_in {
                for co in 0..c_out {
                    map.push(((co * c_in + ci) * K + ky) * K + kx);
                }
            }
        }
    }
    map
}

/// Candle index of each element of a transposed-conv kernel laid out [c_in, (ky, kx, c_out)],
/// from candle's [c_in, c_out, 4, 4].
fn conv_up_map(c_in: usize, c_out: usize) -> Vec<usize> {
    let mut map = Vec::with_capacity(K * K * c_in * c_out);
    for ci in 0..c_in {
        for ky in 0..K {
            for kx in 0..K {
                for co in 0..c_out {
                    map.push(((ci * c_out + co) * K + ky) * K + kx);
                }
            }
        }
    }
    map
}

/// For each position of the innermost map in (y, x, c) order, its index in PyTorch's (c, y, x)
/// flattening, which the linear layers' weights follow.
fn hwc_to_chw(g: &ConvGeometry) -> Vec<usize> {
    let (fh, fw, fc) = (g.feature_height, g.feature_width, g.feature_channels);
    let mut map = Vec::with_capacity(fh * fw * fc);
    for y in 0..fh {
        for x in 0..fw {
            for c in 0..fc {
                map.push((c * fh + y) * fw + x);
            }
        }
    }
    map
}

/// The conv network's parameters in the order of [`param_shapes`]: each encoder convolution's
/// kernel and bias, the mean and log-variance heads, the decoder's linear layer, each
/// transposed convolution's kernel and bias.
pub(crate) struct FlatConvNet {
    pub geometry: ConvGeometry,
    pub likelihood: Likelihood,
    pub latent: usize,
    /// Encoder channels, image first: [C, c1, c2, ...].
    enc_channels: Vec<usize>,
    /// Decoder channels: [c_last, ..., c1, C].
    dec_channels: Vec<usize>,
    pub params: Vec<FlatParam>,
}

impl FlatConvNet {
    /// Copies a conv model's current weights into the products' layouts (a permutation of
    /// its 248,097 values for the default model: well under a millisecond).
    pub fn from_model(model: &Model) -> Result<Self> {
        let c = model.config();
        if c.arch != Architecture::Conv {
            return Err(Error::InvalidConfig(
                "the flat conv network takes conv models only".into(),
            ));
        }
        let g = c.conv_geometry()?;
        let tensors: HashMap<String, candle_core::Tensor> =
            model.named_tensors().into_iter().collect();
        let channels = &c.hidden;
        let enc_channels: Vec<usize> = std::iter::once(g.input.channels)
            .chain(channels.iter().copied())
            .collect();
        let dec_channels: Vec<usize> = enc_channels.iter().rev().copied().collect();
        let layers = channels.len();
        let hwc = hwc_to_chw(&g);
        let (flat, latent) = (g.flat(), c.latent);
        let params = param_shapes(&g, channels, latent)
            .into_iter()
            .enumerate()
            .map(|(k, (name, shape))| {
                let (layer, is_weight) = (k / 2, k % 2 == 0);
                let map = if layer < layers {
                    is_weight.then(|| conv_down_map(enc_channels[layer], enc_channels[layer + 1]))
                } else if layer < layers + 2 {
                    // The heads read the map in (c, y, x) order; ours is (y, x, c).
                    is_weight.then(|| {
                        (0..latent)
                            .flat_map(|o| hwc.iter().map(move |&f| o * flat + f))
                            .collect()
                    })
                } else if layer == layers + 2 {
                    // The decoder's linear layer writes the map: its rows (and bias) permute.
                    Some(if is_weight {
                        hwc.iter()
                            .flat_map(|&f| (0..latent).map(move |i| f * latent + i))
                            .collect()
                    } else {
                        hwc.clone()
                    })
                } else {
                    let j = layer - layers - 3;
                    is_weight.then(|| conv_up_map(dec_channels[j], dec_channels[j + 1]))
                };
                let len: usize = shape.iter().product();
                let candle: Vec<f32> = tensors
                    .get(&name)
                    .ok_or_else(|| Error::InvalidConfig(format!("the model has no weight {name}")))?
                    .flatten_all()?
                    .to_vec1()?;
                if candle.len() != len {
                    return Err(Error::InvalidConfig(format!(
                        "{name} has {} values, expected {len}",
                        candle.len()
                    )));
                }
                let value = match &map {
                    Some(map) => map.iter().map(|&j| candle[j]).collect(),
                    None => candle,
                };
                Ok(FlatParam {
                    name,
                    shape,
                    map,
                    value,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            geometry: g,
            likelihood: c.likelihood,
            latent,
            enc_channels,
            dec_channels,
            params,
        })
    }

    pub fn enc_layers(&self) -> usize {
        self.enc_channels.len() - 1
    }
    pub fn dec_layers(&self) -> usize {
        self.dec_channels.len() - 1
    }
    /// Encoder layer i's input grid and channels: (height, width, c_in, c_out).
    pub fn enc_shape(&self, i: usize) -> (usize, usize, usize, usize) {
        let g = &self.geometry;
        let (c_in, c_out) = (self.enc_channels[i], self.enc_channels[i + 1]);
        (g.padded_height >> i, g.padded_width >> i, c_in, c_out)
    }
    /// Decoder layer j's input grid and channels: (height, width, c_in, c_out).
    pub fn dec_shape(&self, j: usize) -> (usize, usize, usize, usize) {
        let g = &self.geometry;
        let (c_in, c_out) = (self.dec_channels[j], self.dec_channels[j + 1]);
        (g.feature_height << j, g.feature_width << j, c_in, c_out)
    }
    /// Bytes of one image's patches in the widest layer (the largest buffer a training step
    /// gathers into): a 4x4 patch of every output pixel of a convolution, and of every input
    /// pixel of a transposed one.
    pub fn widest_patch_bytes(&self) -> usize {
        let enc = (0..self.enc_layers()).map(|i| {
            let (h, w, c_in, _) = self.enc_shape(i);
            (h / 2) * (w / 2) * K * K * c_in
        });
        let dec = (0..self.dec_layers()).map(|j| {
            let (h, w, _, c_out) = self.dec_shape(j);
            h * w * K * K * c_out
        });
        enc.chain(dec).max().unwrap_or(0) * std::mem::size_of::<f32>()
    }
    pub fn enc_weight(&self, i: usize) -> usize {
        2 * i
    }
    pub fn enc_bias(&self, i: usize) -> usize {
        2 * i + 1
    }
    /// The mean head's weight (its bias follows, then the log-variance head's weight and bias).
    pub fn mean_weight(&self) -> usize {
        2 * self.enc_layers()
    }
    pub fn dec_input_weight(&self) -> usize {
        2 * self.enc_layers() + 4
    }
    /// Transposed convolution j's kernel (its bias follows).
    pub fn dec_weight(&self, j: usize) -> usize {
        2 * self.enc_layers() + 6 + 2 * j
    }

    /// A linear layer's weights in [out, inp] order for the dense kernel.
    fn dense(&self, weight: usize, inp: usize, out: usize) -> Weights<'_> {
        Weights {
            w: &self.params[weight].value,
            b: &self.params[weight + 1].value,
            inp,
            out,
            input_major: false,
        }
    }
}

pub(crate) fn fit(v: &mut Vec<f32>, len: usize) {
    if v.len() < len {
        v.resize(len, 0.0);
    }
}

/// Sets every row of `rows` (width `bias.len()`) to the bias.
fn fill_bias(rows: &mut [f32], bias: &[f32]) {
    for row in rows.chunks_exact_mut(bias.len()) {
        row.copy_from_slice(bias);
    }
}

/// One thread's buffers for the forward pass, sized on first use and reused; the trainer's
/// backward pass reads the activations kept here.
#[derive(Default)]
pub(crate) struct ConvForward {
    /// The images zero-padded to the grid the convolutions see, [n, Hp, Wp, C].
    pub input: Vec<f32>,
    /// Each encoder layer's gathered patches (kept for its weight gradient) and ReLU output.
    pub cols: Vec<Vec<f32>>,
    pub enc_act: Vec<Vec<f32>>,
    pub mu: Vec<f32>,
    pub lv: Vec<f32>,
    /// The decoder's linear layer after its ReLU: the innermost map, [n, fh, fw, fc].
    pub dec_h: Vec<f32>,
    /// Each transposed convolution's output (after ReLU but for the last: padded logits).
    pub dec_act: Vec<Vec<f32>>,
    /// Scratch for patches (the trainer uses it for patch gradients too).
    pub patches: Vec<f32>,
    /// The image's part of the last grid, [n, H*W*C].
    pub logits: Vec<f32>,
}

impl ConvForward {
    /// x[n, H*W*C] -> mu, lv [n, latent] (and the activations the backward pass needs).
    pub fn encode(&mut self, net: &FlatConvNet, x: &[f32], n: usize, par: Parallelism) {
        let g = net.geometry;
        let s = g.input;
        let (hp, wp, c0) = (g.padded_height, g.padded_width, s.channels);
        let (l, flat, enc) = (net.latent, g.flat(), net.enc_layers());
        assert!(x.len() >= n * s.len(), "batch smaller than n rows");
        self.cols.resize_with(enc, Vec::new);
        self.enc_act.resize_with(enc, Vec::new);

        // The images, centred in the padded grid.
        fit(&mut self.input, n * hp * wp * c0);
        self.input[..n * hp * wp * c0].fill(0.0);
        let run = s.width * c0;
        for b in 0..n {
            for y in 0..s.height {
                let dst = ((b * hp + y + g.pad_top) * wp + g.pad_left) * c0;
                self.input[dst..dst + run].copy_from_slice(&x[(b * s.height + y) * run..][..run]);
            }
        }

        // Each layer: gather, product with the kernel on top of the bias, ReLU.
        for i in 0..enc {
            let (h, w, c_in, c_out) = net.enc_shape(i);
            let rows = n * (h / 2) * (w / 2);
            fit(&mut self.cols[i], rows * K * K * c_in);
            fit(&mut self.enc_act[i], rows * c_out);
            let (done, rest) = self.enc_act.split_at_mut(i);
            let src: &[f32] = if i == 0 { &self.input } else { &done[i - 1] };
            im2col_s2(src, n, h, w, c_in, &mut self.cols[i]);
            let act = &mut rest[0][..rows * c_out];
            fill_bias(act, &net.params[net.enc_bias(i)].value);
            let kernel = &net.params[net.enc_weight(i)].value;
            let dims = (rows, c_out, K * K * c_in);
            product(dims, act, true, &self.cols[i], false, kernel, false, par);
            relu_in_place(act);
        }
        let h_flat = &self.enc_act[enc - 1][..n * flat];
        fit(&mut self.mu, n * l);
        fit(&mut self.lv, n * l);
        let mean = net.mean_weight();
        dense::forward(net.dense(mean, flat, l), h_flat, n, &mut self.mu, par);
        dense::forward(net.dense(mean + 2, flat, l), h_flat, n, &mut self.lv, par);
    }

    /// z[n, latent] -> logits [n, H*W*C] in `self.logits` (and the activations the backward
    /// pass needs): the linear layer to the innermost map, then transposed convolutions, each
    /// a product to every input pixel's 4x4 patch and a scatter of the patches.
    pub fn decode(&mut self, net: &FlatConvNet, z: &[f32], n: usize, par: Parallelism) {
        let g = net.geometry;
        let s = g.input;
        let (hp, wp, c0) = (g.padded_height, g.padded_width, s.channels);
        let (l, flat, dec) = (net.latent, g.flat(), net.dec_layers());
        assert!(z.len() >= n * l, "codes smaller than n rows");
        self.dec_act.resize_with(dec, Vec::new);
        fit(&mut self.dec_h, n * flat);
        let dec_in = net.dense(net.dec_input_weight(), l, flat);
        dense::forward(dec_in, z, n, &mut self.dec_h, par);
        relu_in_place(&mut self.dec_h[..n * flat]);
        for j in 0..dec {
            let (hs, ws, c_in, c_out) = net.dec_shape(j);
            let rows = n * hs * ws;
            fit(&mut self.patches, rows * K * K * c_out);
            let out_len = n * 4 * hs * ws * c_out;
            fit(&mut self.dec_act[j], out_len);
            let (done, rest) = self.dec_act.split_at_mut(j);
            let src: &[f32] = if j == 0 { &self.dec_h } else { &done[j - 1] };
            let kernel = &net.params[net.dec_weight(j)].value;
            let dims = (rows, K * K * c_out, c_in);
            product(
                dims,
                &mut self.patches,
                false,
                src,
                false,
                kernel,
                false,
                par,
            );
            let out = &mut rest[0][..out_len];
            let bias = &net.params[net.dec_weight(j) + 1].value;
            col2im_s2(&self.patches, n, 2 * hs, 2 * ws, c_out, Some(bias), out);
            if j + 1 < dec {
                relu_in_place(out);
            }
        }
        fit(&mut self.logits, n * s.len());
        let padded = &self.dec_act[dec - 1];
        let run = s.width * c0;
        for b in 0..n {
            for y in 0..s.height {
                let src = ((b * hp + y + g.pad_top) * wp + g.pad_left) * c0;
                self.logits[(b * s.height + y) * run..][..run]
                    .copy_from_slice(&padded[src..src + run]);
            }
        }
    }
}

/// Forward-pass workspaces for the tasks of one parallel call: a task takes one (or makes one
/// when all are in use) and gives it back, so each thread's buffers are allocated and their
/// pages touched once per call, not once per task (the widest layer's patches are megabytes).
#[derive(Default)]
struct WorkspacePool(std::sync::Mutex<Vec<ConvForward>>);

impl WorkspacePool {
    fn with<R>(&self, f: impl FnOnce(&mut ConvForward) -> R) -> R {
        let taken = self.0.lock().ok().and_then(|mut free| free.pop());
        let mut fwd = taken.unwrap_or_default();
        let result = f(&mut fwd);
        if let Ok(mut free) = self.0.lock() {
            free.push(fwd);
        }
        result
    }
}

/// Posterior means and log-variances (each [indices, latent]) of the samples at `indices`,
/// chunks spread over the threads.
pub(crate) fn encode_dataset(
    net: &FlatConvNet,
    data: &Dataset,
    indices: &[usize],
) -> (Vec<f32>, Vec<f32>) {
    let l = net.latent;
    let pool = WorkspacePool::default();
    let parts: Vec<(Vec<f32>, Vec<f32>)> = indices
        .par_chunks(CHUNK)
        .map(|chunk| {
            pool.with(|fwd| {
                let x = BatchBuffer::new().take(data, chunk);
                fwd.encode(net, &x, chunk.len(), Parallelism::None);
                let rows = chunk.len() * l;
                (fwd.mu[..rows].to_vec(), fwd.lv[..rows].to_vec())
            })
        })
        .collect();
    let mut mean = Vec::with_capacity(indices.len() * l);
    let mut logvar = Vec::with_capacity(indices.len() * l);
    for (m, lv) in parts {
        mean.extend(m);
        logvar.extend(lv);
    }
    (mean, logvar)
}

/// Per-sample reconstruction error and KL (each [n]) of images x[n, D] with the
/// reparameterisation noise eps[n, latent]: the terms of `Vae::losses`, chunks spread over
/// the threads.
pub(crate) fn score_rows(
    net: &FlatConvNet,
    x: &[f32],
    eps: &[f32],
    n: usize,
) -> (Vec<f32>, Vec<f32>) {
    let (d, l) = (net.geometry.input.len(), net.latent);
    let pool = WorkspacePool::default();
    let parts: Vec<(Vec<f32>, Vec<f32>)> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|k| {
            pool.with(|fwd| {
                let (z, grad) = (&mut Vec::new(), &mut Vec::new());
                let (a, b) = (k * CHUNK, ((k + 1) * CHUNK).min(n));
                let rows = b - a;
                fwd.encode(net, &x[a * d..b * d], rows, Parallelism::None);
                fit(z, rows * l);
                let mut kl = vec![0f32; rows];
                for (r, kl_row) in kl.iter_mut().enumerate() {
                    for j in r * l..(r + 1) * l {
                        let (m, lv) = (fwd.mu[j], fwd.lv[j].clamp(-LOGVAR_LIMIT, LOGVAR_LIMIT));
                        z[j] = m + (0.5 * lv).exp() * eps[a * l + j];
                        *kl_row += 0.5 * (m * m + lv.exp() - 1.0 - lv);
                    }
                }
                fwd.decode(net, z, rows, Parallelism::None);
                fit(grad, d);
                let recon = (0..rows)
                    .map(|r| {
                        let row = r * d..(r + 1) * d;
                        let target = &x[(a + r) * d..(a + r + 1) * d];
                        loss_and_grad(net.likelihood, &fwd.logits[row], target, &mut grad[..d])
                    })
                    .collect();
                (recon, kl)
            })
        })
        .collect();
    let (mut recon, mut kl) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for (r, k) in parts {
        recon.extend(r);
        kl.extend(k);
    }
    (recon, kl)
}
