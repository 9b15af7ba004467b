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
//! Parameters and the forward pass are [`crate::model::conv_flat`]'s (shared with encoding and
//! scoring); each parameter keeps the map from its layout to the candle variable's, so reading
//! the model at the start and writing it back are exact permutations. The model's candle
//! variables stay the source of truth, as for the MLP.

use super::conv_shard::ConvShard;
use super::fused::{Adam, adam_update};
use super::shard::StepSums;
use crate::error::{Error, Result};
use crate::kernels::elementwise::add_assign;
use crate::model::Model;
use crate::model::conv_flat::FlatConvNet;
use candle_core::{Tensor, Var};
use gemm::Parallelism;
use rayon::prelude::*;
use std::collections::HashMap;

/// Parameters per parallel task in the Adam update and the gradient sum.
const PARAMS_PER_TASK: usize = 16 * 1024;
/// A thread gets at least this many rows of a batch.
const MIN_ROWS_PER_SHARD: usize = 16;

/// The whole conv network as flat buffers, plus one workspace per thread.
pub struct FusedConvVae {
    net: FlatConvNet,
    /// Adam's first and second moments, one pair per parameter, in its layout.
    moments: Vec<(Vec<f32>, Vec<f32>)>,
    shards: Vec<ConvShard>,
    /// Shards used by the last `forward_backward` (shard 0 then holds the summed gradients).
    active: usize,
    step: i32,
}

impl FusedConvVae {
    /// Copies a conv model's current weights into the trainer's layouts.
    pub fn from_model(model: &Model) -> Result<Self> {
        let net = FlatConvNet::from_model(model)?;
        let moments = net
            .params
            .iter()
            .map(|p| (vec![0.0; p.value.len()], vec![0.0; p.value.len()]))
            .collect();
        Ok(Self {
            net,
            moments,
            shards: Vec::new(),
            active: 0,
            step: 0,
        })
    }

    /// Writes the current weights back into the model's variables.
    pub fn write_to(&self, model: &Model) -> Result<()> {
        let vars: HashMap<String, Var> = model.vars().into_iter().collect();
        for p in &self.net.params {
            let var = vars.get(&p.name).ok_or_else(|| {
                Error::InvalidConfig(format!("the model has no weight {}", p.name))
            })?;
            let values = p.to_candle(&p.value);
            var.set(&Tensor::from_vec(values, p.shape.as_slice(), var.device())?)?;
        }
        model.mark_weights_changed();
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

    /// Appends the posterior means and log-variances the last `forward_backward` computed for
    /// its rows, in the batch's order ([n, latent] each).
    pub fn batch_codes(&self, mean: &mut Vec<f32>, logvar: &mut Vec<f32>) {
        for shard in &self.shards[..self.active] {
            mean.extend_from_slice(&shard.codes_mean);
            logvar.extend_from_slice(&shard.codes_logvar);
        }
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
        let step = a.at_step(self.step);
        let params = self.net.params.iter_mut().zip(&mut self.moments);
        for ((p, (m, v)), g) in params.zip(&grads.grads) {
            adam_update(step, &mut p.value, g, m, v);
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
