//! A fused training step for the conv VAE on the CPU, the conv counterpart of
//! [`super::fused::FusedVae`]: forward pass, loss, backward pass and Adam on flat buffers that
//! are allocated once, channels-last throughout, each convolution one `gemm` product plus a
//! gather or scatter of 4x4 patches ([`crate::kernels::conv`]). candle's autograd builds the
//! same network from hundreds of small pads, slices, stacks and sums per step (`model::conv_gemm`),
//! and on a CPU those cost several times the arithmetic.
//!
//! Threads split the batch: each shard ([`super::conv_shard`]) runs the whole network on its
//! rows with its own activations and gradients, the gradients are summed, and Adam runs once.
//!
//! Parameters are held in the layouts the products want; each keeps the map from its layout to
//! the candle variable's, so reading the model at the start and writing it back are exact
//! permutations. The model's candle variables stay the source of truth, as for the MLP.

use super::conv_shard::ConvShard;
use super::fused::{Adam, var_values};
use super::shard::StepSums;
use crate::error::{Error, Result};
use crate::kernels::conv::K;
use crate::kernels::elementwise::{AdamStep, adam, add_assign};
use crate::model::conv::{ConvGeometry, param_shapes};
use crate::model::{Architecture, Likelihood, Model};
use candle_core::{Tensor, Var};
use gemm::Parallelism;
use rayon::prelude::*;
use std::collections::HashMap;

/// Parameters per parallel task in the Adam update and the gradient sum.
const PARAMS_PER_TASK: usize = 16 * 1024;
/// A thread gets at least this many rows of a batch.
const MIN_ROWS_PER_SHARD: usize = 16;

/// One parameter tensor in the trainer's layout, with its Adam moments.
pub(super) struct Param {
    name: String,
    shape: Vec<usize>,
    /// value[i] = candle's flat value[map[i]]; None where the layouts are the same.
    map: Option<Vec<usize>>,
    pub value: Vec<f32>,
    m: Vec<f32>,
    v: Vec<f32>,
}

impl Param {
    fn new(vars: &HashMap<String, Var>, name: &str, shape: &[usize], map: Option<Vec<usize>>) -> Result<Self> {
        let len: usize = shape.iter().product();
        let candle = var_values(vars, name, len)?;
        let value = match &map {
            Some(map) => map.iter().map(|&j| candle[j]).collect(),
            None => candle,
        };
        Ok(Self {
            name: name.to_string(),
            shape: shape.to_vec(),
            map,
            value,
            m: vec![0.0; len],
            v: vec![0.0; len],
        })
    }

    /// `values` (in this parameter's layout) in candle's layout.
    fn to_candle(&self, values: &[f32]) -> Vec<f32> {
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
pub(super) struct ConvParams {
    pub geometry: ConvGeometry,
    pub likelihood: Likelihood,
    pub latent: usize,
    /// Encoder channels, image first: [C, c1, c2, ...].
    enc_channels: Vec<usize>,
    /// Decoder channels: [c_last, ..., c1, C].
    dec_channels: Vec<usize>,
    pub params: Vec<Param>,
}

impl ConvParams {
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
}

/// The whole conv network as flat buffers, plus one workspace per thread.
pub struct FusedConvVae {
    net: ConvParams,
    shards: Vec<ConvShard>,
    /// Shards used by the last `forward_backward` (shard 0 then holds the summed gradients).
    active: usize,
    step: i32,
}

impl FusedConvVae {
    /// Copies a conv model's current weights into the trainer's layouts.
    pub fn from_model(model: &Model) -> Result<Self> {
        let c = model.config();
        if c.arch != Architecture::Conv {
            return Err(Error::InvalidConfig(
                "the fused conv trainer takes conv models only".into(),
            ));
        }
        let g = c.conv_geometry()?;
        let vars: HashMap<String, Var> = model.vars().into_iter().collect();
        let channels = &c.hidden;
        let enc_channels: Vec<usize> = std::iter::once(g.input.channels)
            .chain(channels.iter().copied())
            .collect();
        let dec_channels: Vec<usize> = enc_channels.iter().rev().copied().collect();
        let layers = channels.len();
        let hwc = hwc_to_chw(&g);
        let flat = g.flat();
        let params = param_shapes(&g, channels, c.latent)
            .into_iter()
            .enumerate()
            .map(|(k, (name, shape))| {
                let (layer, is_weight) = (k / 2, k % 2 == 0);
                let map = if layer < layers {
                    let i = layer;
                    is_weight.then(|| conv_down_map(enc_channels[i], enc_channels[i + 1]))
                } else if layer < layers + 2 {
                    // The heads read the map in (c, y, x) order; ours is (y, x, c).
                    is_weight.then(|| {
                        (0..c.latent)
                            .flat_map(|o| hwc.iter().map(move |&f| o * flat + f))
                            .collect()
                    })
                } else if layer == layers + 2 {
                    // The decoder's linear layer writes the map: its rows (and bias) permute.
                    Some(if is_weight {
                        hwc.iter()
                            .flat_map(|&f| (0..c.latent).map(move |i| f * c.latent + i))
                            .collect()
                    } else {
                        hwc.clone()
                    })
                } else {
                    let j = layer - layers - 3;
                    is_weight.then(|| conv_up_map(dec_channels[j], dec_channels[j + 1]))
                };
                Param::new(&vars, &name, &shape, map)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            net: ConvParams {
                geometry: g,
                likelihood: c.likelihood,
                latent: c.latent,
                enc_channels,
                dec_channels,
                params,
            },
            shards: Vec::new(),
            active: 0,
            step: 0,
        })
    }

    /// Writes the current weights back into the model's variables.
    pub fn write_to(&self, model: &Model) -> Result<()> {
        let vars: HashMap<String, Var> = model.vars().into_iter().collect();
        for p in &self.net.params {
            let var = vars
                .get(&p.name)
                .ok_or_else(|| Error::InvalidConfig(format!("the model has no weight {}", p.name)))?;
            let values = p.to_candle(&p.value);
            var.set(&Tensor::from_vec(values, p.shape.as_slice(), var.device())?)?;
        }
        Ok(())
    }

    /// Forward and backward for a batch x[n, H*W*C] with reparameterisation noise
    /// eps[n, latent]: fills every gradient of sum_over_batch(recon + beta * KL) and returns
    /// the sums.
    pub fn forward_backward(&mut self, x: &[f32], eps: &[f32], n: usize, beta: f32) -> StepSums {
        let threads = rayon::current_num_threads().max(1);
        let shards = threads.min(n / MIN_ROWS_PER_SHARD).max(1);
        // Equal shares, none empty (an empty shard would leave stale gradients in the sum).
        let rows = n.div_ceil(shards).max(1);
        let shards = n.div_ceil(rows).max(1);
        while self.shards.len() < shards {
            self.shards.push(ConvShard::new(&self.net));
        }
        self.active = shards;
        let (d, l) = (self.net.geometry.input.len(), self.net.latent);
        let net = &self.net;
        let sums = if shards == 1 {
            // Alone, the shard may spread its products over the threads.
            let par = if threads > 1 {
                Parallelism::Rayon(threads)
            } else {
                Parallelism::None
            };
            self.shards[0].forward_backward(net, x, eps, n, beta, par)
        } else {
            self.shards[..shards]
                .par_iter_mut()
                .enumerate()
                .map(|(s, shard)| {
                    let (a, b) = ((s * rows).min(n), ((s + 1) * rows).min(n));
                    shard.forward_backward(
                        net,
                        &x[a * d..b * d],
                        &eps[a * l..b * l],
                        b - a,
                        beta,
                        Parallelism::None,
                    )
                })
                .reduce(StepSums::default, |a, b| StepSums {
                    recon: a.recon + b.recon,
                    kl: a.kl + b.kl,
                })
        };
        if shards > 1 {
            let (first, rest) = self.shards.split_at_mut(1);
            for other in &rest[..shards - 1] {
                for (mine, theirs) in first[0].grads.iter_mut().zip(&other.grads) {
                    mine.par_chunks_mut(PARAMS_PER_TASK)
                        .zip(theirs.par_chunks(PARAMS_PER_TASK))
                        .for_each(|(a, b)| add_assign(a, b));
                }
            }
        }
        sums
    }

    /// Whether every gradient of the last `forward_backward` is finite.
    pub fn grads_finite(&self) -> bool {
        self.shards.first().is_none_or(ConvShard::grads_finite)
    }

    /// One Adam step with the gradients of the last `forward_backward`.
    pub fn adam_step(&mut self, a: &Adam) {
        let Some(grads) = self.shards.first() else {
            return;
        };
        self.step += 1;
        let step = AdamStep {
            beta1: a.beta1,
            beta2: a.beta2,
            eps: a.eps,
            step_size: a.lr / (1.0 - a.beta1.powi(self.step)),
            inv_sqrt_bc2: 1.0 / (1.0 - a.beta2.powi(self.step)).sqrt(),
        };
        for (p, g) in self.net.params.iter_mut().zip(&grads.grads) {
            p.value
                .par_chunks_mut(PARAMS_PER_TASK)
                .zip(g.par_chunks(PARAMS_PER_TASK))
                .zip(p.m.par_chunks_mut(PARAMS_PER_TASK))
                .zip(p.v.par_chunks_mut(PARAMS_PER_TASK))
                .for_each(|(((p, g), m), v)| adam(step, p, g, m, v));
        }
    }

    /// Each parameter's gradient by name, in candle's layout (for tests against autograd).
    pub fn gradients(&self) -> Vec<(String, Vec<f32>)> {
        let Some(grads) = self.shards.first().filter(|_| self.active > 0) else {
            return Vec::new();
        };
        self.net
            .params
            .iter()
            .zip(&grads.grads)
            .map(|(p, g)| (p.name.clone(), p.to_candle(g)))
            .collect()
    }
}
