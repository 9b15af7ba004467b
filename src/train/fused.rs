//! A fused training step for the MLP VAE: forward pass, loss, backward pass and Adam on flat
//! buffers allocated once, with the matrix products done by `gemm` (the kernel candle itself
//! calls) and the hot elementwise loops in [`crate::kernels`]. candle's autograd builds the
//! same maths from dozens of small ops, each allocating a fresh tensor, and on a CPU that
//! overhead costs more than the arithmetic.
//!
//! Threads split the batch, not the products: each thread runs the whole network on its share
//! of the rows with its own activations and gradients ([`super::shard`]), the gradients are
//! summed, and Adam runs once. Products of 64 rows keep a core's registers as busy as products
//! of 128, so this scales far better than splitting every product across threads.
//!
//! The model's candle variables stay the source of truth: weights are read from them when a run
//! starts and written back (`write_to`) whenever the trainer wants the model current. Tests check
//! the gradients against candle's autograd.

use super::shard::{Shard, StepSums};
use crate::error::{Error, Result};
use crate::kernels::elementwise::{AdamStep, adam};
use crate::kernels::transpose;
use crate::model::{Likelihood, MlpRole, Model};
use candle_core::{Tensor, Var};
use rayon::prelude::*;
use std::collections::HashMap;

/// Parameters per parallel task in the Adam update and the gradient sum.
const PARAMS_PER_TASK: usize = 16 * 1024;
/// A thread gets at least this many rows of a batch; smaller shares are not worth a thread.
const MIN_ROWS_PER_SHARD: usize = 32;

/// Adam's hyper-parameters (no weight decay, as in the PyTorch reference).
#[derive(Clone, Copy, Debug)]
pub struct Adam {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
}

impl Adam {
    /// The settings of update number `step` (from 1), with its bias corrections folded in.
    pub(super) fn at_step(&self, step: i32) -> AdamStep {
        AdamStep {
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
            step_size: self.lr / (1.0 - self.beta1.powi(step)),
            inv_sqrt_bc2: 1.0 / (1.0 - self.beta2.powi(step)).sqrt(),
        }
    }

    pub fn new(lr: f64) -> Self {
        Self {
            lr: lr as f32,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

/// One Adam update of the parameters `p` with gradients `g` and moments `m`, `v`, in chunks
/// spread over the threads (the fused MLP and conv trainers both use it).
pub(super) fn adam_update(step: AdamStep, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
    p.par_chunks_mut(PARAMS_PER_TASK)
        .zip(g.par_chunks(PARAMS_PER_TASK))
        .zip(m.par_chunks_mut(PARAMS_PER_TASK))
        .zip(v.par_chunks_mut(PARAMS_PER_TASK))
        .for_each(|(((p, g), m), v)| adam(step, p, g, m, v));
}

/// One fully connected layer's parameters and Adam moments.
pub(super) struct Dense {
    pub name: String,
    pub inp: usize,
    pub out: usize,
    /// Weights stored [inp, out] instead of [out, inp]: the first layer keeps this layout so a
    /// non-zero input pixel adds one contiguous row (see `kernels::sparse`).
    pub input_major: bool,
    pub w: Vec<f32>,
    pub b: Vec<f32>,
    mw: Vec<f32>,
    vw: Vec<f32>,
    mb: Vec<f32>,
    vb: Vec<f32>,
}

fn var_values(vars: &HashMap<String, Var>, name: &str, len: usize) -> Result<Vec<f32>> {
    let var = vars
        .get(name)
        .ok_or_else(|| Error::InvalidConfig(format!("the model has no weight {name}")))?;
    let values = var.as_tensor().flatten_all()?.to_vec1::<f32>()?;
    if values.len() != len {
        return Err(Error::InvalidConfig(format!(
            "{name} has {} values, expected {len}",
            values.len()
        )));
    }
    Ok(values)
}

impl Dense {
    fn from_vars(
        vars: &HashMap<String, Var>,
        name: &str,
        inp: usize,
        out: usize,
        input_major: bool,
    ) -> Result<Self> {
        let mut w = var_values(vars, &format!("{name}.weight"), inp * out)?;
        if input_major {
            w = transpose(&w, out, inp);
        }
        Ok(Self {
            name: name.to_string(),
            inp,
            out,
            input_major,
            w,
            b: var_values(vars, &format!("{name}.bias"), out)?,
            mw: vec![0.0; inp * out],
            vw: vec![0.0; inp * out],
            mb: vec![0.0; out],
            vb: vec![0.0; out],
        })
    }

    pub fn weights(&self) -> crate::kernels::dense::Weights<'_> {
        crate::kernels::dense::Weights {
            w: &self.w,
            b: &self.b,
            inp: self.inp,
            out: self.out,
            input_major: self.input_major,
        }
    }

    /// The weights as candle and PyTorch store them, [out, inp].
    fn weight_out_major(&self, w: &[f32]) -> Vec<f32> {
        if self.input_major {
            transpose(w, self.inp, self.out)
        } else {
            w.to_vec()
        }
    }

    fn write_to(&self, vars: &HashMap<String, Var>) -> Result<()> {
        for (suffix, values, shape) in [
            (
                "weight",
                self.weight_out_major(&self.w),
                vec![self.out, self.inp],
            ),
            ("bias", self.b.clone(), vec![self.out]),
        ] {
            let name = format!("{}.{suffix}", self.name);
            let var = vars
                .get(&name)
                .ok_or_else(|| Error::InvalidConfig(format!("the model has no weight {name}")))?;
            var.set(&Tensor::from_vec(values, shape, var.device())?)?;
        }
        Ok(())
    }
}

/// The network's layers in [`crate::model::VaeConfig::mlp_layers`]' order: encoder hidden
/// layers, mean head, log-variance head, decoder hidden layers, output layer.
pub(super) struct Layers {
    pub likelihood: Likelihood,
    pub latent: usize,
    pub input: usize,
    /// Width of a conditional model's one-hot (0 for an unconditional one).
    pub classes: usize,
    pub enc_depth: usize,
    pub dec_depth: usize,
    pub all: Vec<Dense>,
}

impl Layers {
    pub fn enc(&self, i: usize) -> &Dense {
        &self.all[i]
    }
    pub fn mean(&self) -> &Dense {
        &self.all[self.enc_depth]
    }
    pub fn logvar(&self) -> &Dense {
        &self.all[self.enc_depth + 1]
    }
    pub fn dec(&self, i: usize) -> &Dense {
        &self.all[self.enc_depth + 2 + i]
    }
    pub fn out(&self) -> &Dense {
        &self.all[self.enc_depth + 2 + self.dec_depth]
    }
    pub fn mean_index(&self) -> usize {
        self.enc_depth
    }
    pub fn dec_index(&self, i: usize) -> usize {
        self.enc_depth + 2 + i
    }
}

/// The whole network as flat buffers, plus one workspace per thread.
pub struct FusedVae {
    layers: Layers,
    shards: Vec<Shard>,
    /// Shards used by the last `forward_backward` (shard 0 then holds the summed gradients).
    active: usize,
    /// Whether the summed gradients of the last step are all finite (None: one shard, not
    /// summed; checked on demand).
    summed_finite: Option<bool>,
    step: i32,
}

impl FusedVae {
    /// Copies the model's current weights into flat buffers.
    pub fn from_model(model: &Model) -> Result<Self> {
        let c = model.config();
        let vars: HashMap<String, Var> = model.vars().into_iter().collect();
        // The first hidden layer is stored [inp, out] for the sparse product. Without hidden
        // layers the heads read the images themselves: they stay out-major and dense (a toy
        // configuration; the sparse path is for the first hidden layer).
        let all = c
            .mlp_layers()
            .iter()
            .map(|l| {
                let input_major = l.role == MlpRole::EncoderHidden(0);
                Dense::from_vars(&vars, &l.name, l.inp, l.out, input_major)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            layers: Layers {
                likelihood: c.likelihood,
                latent: c.latent,
                input: c.input.len(),
                classes: c.condition_width(),
                enc_depth: c.hidden.len(),
                dec_depth: c.hidden.len(),
                all,
            },
            shards: Vec::new(),
            active: 0,
            summed_finite: None,
            step: 0,
        })
    }

    /// Writes the current weights back into the model's variables.
    pub fn write_to(&self, model: &Model) -> Result<()> {
        let vars: HashMap<String, Var> = model.vars().into_iter().collect();
        self.layers.all.iter().try_for_each(|l| l.write_to(&vars))?;
        model.mark_weights_changed();
        Ok(())
    }

    /// Forward and backward for a batch x[n, D] with reparameterisation noise eps[n, latent]
    /// and, for a conditional model, one-hot labels cond[n, classes] (empty otherwise):
    /// fills every gradient of sum_over_batch(recon + beta * KL) and returns the sums.
    pub fn forward_backward(
        &mut self,
        x: &[f32],
        cond: &[f32],
        eps: &[f32],
        n: usize,
        beta: f32,
    ) -> StepSums {
        let threads = rayon::current_num_threads().max(1);
        let shards = threads.min(n / MIN_ROWS_PER_SHARD).max(1);
        while self.shards.len() < shards {
            self.shards.push(Shard::new(&self.layers));
        }
        self.active = shards;
        let (d, l, c) = (self.layers.input, self.layers.latent, self.layers.classes);
        let layers = &self.layers;
        let rows = n.div_ceil(shards);
        let sums = if shards == 1 {
            // Alone, a shard may spread its products over the threads.
            self.shards[0].forward_backward(layers, x, cond, eps, n, beta, threads > 1)
        } else {
            self.shards[..shards]
                .par_iter_mut()
                .enumerate()
                .map(|(s, shard)| {
                    let (a, b) = (s * rows, ((s + 1) * rows).min(n));
                    shard.forward_backward(
                        layers,
                        &x[a * d..b * d],
                        &cond[a * c..b * c],
                        &eps[a * l..b * l],
                        b - a,
                        beta,
                        false,
                    )
                })
                .reduce(StepSums::default, |a, b| StepSums {
                    recon: a.recon + b.recon,
                    kl: a.kl + b.kl,
                })
        };
        self.summed_finite = None;
        if shards > 1 {
            let (first, rest) = self.shards.split_at_mut(1);
            for other in &rest[..shards - 1] {
                // The last addition gives the gradients Adam will take.
                self.summed_finite = Some(first[0].add_gradients(other, PARAMS_PER_TASK));
            }
        }
        sums
    }

    /// Whether every gradient of the last `forward_backward` is finite (found while the
    /// shards' gradients were summed, when there were several).
    pub fn grads_finite(&self) -> bool {
        self.summed_finite
            .unwrap_or_else(|| self.shards.first().is_none_or(Shard::grads_finite))
    }

    /// Appends the posterior means and log-variances the last `forward_backward` computed for
    /// its rows, in the batch's order ([n, latent] each): the codes of the batch's images under
    /// the weights before that step.
    pub fn batch_codes(&self, mean: &mut Vec<f32>, logvar: &mut Vec<f32>) {
        for shard in &self.shards[..self.active] {
            let (m, lv) = shard.codes(self.layers.latent);
            mean.extend_from_slice(m);
            logvar.extend_from_slice(lv);
        }
    }

    /// One Adam step with the gradients of the last `forward_backward`.
    pub fn adam_step(&mut self, a: &Adam) {
        let Some(grads) = self.shards.first() else {
            return;
        };
        self.step += 1;
        let step = a.at_step(self.step);
        for (layer, (gw, gb)) in self.layers.all.iter_mut().zip(grads.gradients()) {
            adam_update(step, &mut layer.w, gw, &mut layer.mw, &mut layer.vw);
            adam_update(step, &mut layer.b, gb, &mut layer.mb, &mut layer.vb);
        }
    }

    /// Each parameter's gradient by name, weights [out, inp] as candle stores them (for tests
    /// against candle's autograd).
    pub fn gradients(&self) -> Vec<(String, Vec<f32>)> {
        let Some(grads) = self.shards.first().filter(|_| self.active > 0) else {
            return Vec::new();
        };
        self.layers
            .all
            .iter()
            .zip(grads.gradients())
            .flat_map(|(l, (gw, gb))| {
                [
                    (format!("{}.weight", l.name), l.weight_out_major(gw)),
                    (format!("{}.bias", l.name), gb.to_vec()),
                ]
            })
            .collect()
    }
}
