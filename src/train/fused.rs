//! A fused training step for the MLP VAE: forward pass, loss, backward pass and Adam on flat
//! buffers allocated once, with the matrix products done by `gemm` (the kernel candle itself
//! calls). candle's autograd builds the same maths from dozens of small ops, each allocating a
//! fresh tensor, and on a CPU that overhead costs more than the arithmetic; here every
//! elementwise pass is written once, next to the product it follows.
//!
//! The model's candle variables stay the source of truth: weights are read from them when a run
//! starts and written back (`write_to`) whenever the trainer wants the model current. Tests check
//! the gradients against candle's autograd.

use crate::error::{Error, Result};
use crate::model::{Likelihood, Model};
use candle_core::{Tensor, Var};
use gemm::{Parallelism, gemm};
use rayon::prelude::*;
use std::collections::HashMap;

/// Same clamp as the candle path (`model::vae`): keeps exp(logvar) finite on a bad batch.
const LOGVAR_LIMIT: f32 = 30.0;
/// Rows per parallel task in the per-pixel passes.
const ROWS_PER_TASK: usize = 16;
/// Parameters per parallel task in the Adam update.
const PARAMS_PER_TASK: usize = 16 * 1024;

/// Adam's hyper-parameters (no weight decay, as in the PyTorch reference).
#[derive(Clone, Copy, Debug)]
pub struct Adam {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
}

impl Adam {
    pub fn new(lr: f64) -> Self {
        Self {
            lr: lr as f32,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

/// One fully connected layer with its gradient and Adam moments.
struct Dense {
    name: String,
    inp: usize,
    out: usize,
    w: Vec<f32>,
    b: Vec<f32>,
    gw: Vec<f32>,
    gb: Vec<f32>,
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
    fn from_vars(vars: &HashMap<String, Var>, name: &str, inp: usize, out: usize) -> Result<Self> {
        Ok(Self {
            name: name.to_string(),
            inp,
            out,
            w: var_values(vars, &format!("{name}.weight"), inp * out)?,
            b: var_values(vars, &format!("{name}.bias"), out)?,
            gw: vec![0.0; inp * out],
            gb: vec![0.0; out],
            mw: vec![0.0; inp * out],
            vw: vec![0.0; inp * out],
            mb: vec![0.0; out],
            vb: vec![0.0; out],
        })
    }

    /// y[n, out] = x[n, inp] W^T + b.
    fn forward(&self, x: &[f32], n: usize, y: &mut [f32], par: Parallelism) {
        debug_assert!(x.len() >= n * self.inp && y.len() >= n * self.out);
        for row in y[..n * self.out].chunks_exact_mut(self.out) {
            row.copy_from_slice(&self.b);
        }
        // SAFETY: the slices hold n*inp, inp*out and n*out values, and the strides below
        // address exactly those (row-major x and y; W read transposed).
        unsafe {
            gemm(
                n,
                self.out,
                self.inp,
                y.as_mut_ptr(),
                1,
                self.out as isize,
                true,
                x.as_ptr(),
                1,
                self.inp as isize,
                self.w.as_ptr(),
                self.inp as isize,
                1,
                1.0,
                1.0,
                false,
                false,
                false,
                par,
            );
        }
    }

    /// Gradients of W and b from the input x[n, inp] and the output gradient dy[n, out]; and,
    /// when asked, dx[n, inp] = dy W (added to what dx holds when `accumulate`).
    fn backward(
        &mut self,
        x: &[f32],
        dy: &[f32],
        n: usize,
        dx: Option<(&mut [f32], bool)>,
        par: Parallelism,
    ) {
        debug_assert!(x.len() >= n * self.inp && dy.len() >= n * self.out);
        // SAFETY: as in `forward`; gw is out x inp, dy is read transposed (n x out).
        unsafe {
            gemm(
                self.out,
                self.inp,
                n,
                self.gw.as_mut_ptr(),
                1,
                self.inp as isize,
                false,
                dy.as_ptr(),
                self.out as isize,
                1,
                x.as_ptr(),
                1,
                self.inp as isize,
                0.0,
                1.0,
                false,
                false,
                false,
                par,
            );
        }
        self.gb.iter_mut().for_each(|g| *g = 0.0);
        for row in dy[..n * self.out].chunks_exact(self.out) {
            for (g, d) in self.gb.iter_mut().zip(row) {
                *g += d;
            }
        }
        if let Some((dx, accumulate)) = dx {
            debug_assert!(dx.len() >= n * self.inp);
            // SAFETY: dx is n x inp, dy n x out, W out x inp, all row-major.
            unsafe {
                gemm(
                    n,
                    self.inp,
                    self.out,
                    dx.as_mut_ptr(),
                    1,
                    self.inp as isize,
                    accumulate,
                    dy.as_ptr(),
                    1,
                    self.out as isize,
                    self.w.as_ptr(),
                    1,
                    self.inp as isize,
                    1.0,
                    1.0,
                    false,
                    false,
                    false,
                    par,
                );
            }
        }
    }

    fn grads_finite(&self) -> bool {
        self.gw.iter().chain(&self.gb).all(|g| g.is_finite())
    }

    fn adam(&mut self, a: &Adam, bc1: f32, bc2: f32) {
        adam_update(
            &mut self.w,
            &self.gw,
            &mut self.mw,
            &mut self.vw,
            a,
            bc1,
            bc2,
        );
        adam_update(
            &mut self.b,
            &self.gb,
            &mut self.mb,
            &mut self.vb,
            a,
            bc1,
            bc2,
        );
    }

    fn write_to(&self, vars: &HashMap<String, Var>) -> Result<()> {
        for (suffix, values, shape) in [
            ("weight", &self.w, vec![self.out, self.inp]),
            ("bias", &self.b, vec![self.out]),
        ] {
            let name = format!("{}.{suffix}", self.name);
            let var = vars
                .get(&name)
                .ok_or_else(|| Error::InvalidConfig(format!("the model has no weight {name}")))?;
            var.set(&Tensor::from_slice(values, shape, var.device())?)?;
        }
        Ok(())
    }
}

fn adam_update(
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    a: &Adam,
    bc1: f32,
    bc2: f32,
) {
    let (b1, b2) = (a.beta1, a.beta2);
    let step = a.lr / bc1;
    let inv_sqrt_bc2 = 1.0 / bc2.sqrt();
    p.par_chunks_mut(PARAMS_PER_TASK)
        .zip(g.par_chunks(PARAMS_PER_TASK))
        .zip(m.par_chunks_mut(PARAMS_PER_TASK))
        .zip(v.par_chunks_mut(PARAMS_PER_TASK))
        .for_each(|(((p, g), m), v)| {
            for i in 0..p.len() {
                let gi = g[i];
                m[i] = b1 * m[i] + (1.0 - b1) * gi;
                v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
                // PyTorch's form: lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps).
                p[i] -= step * m[i] / (v[i].sqrt() * inv_sqrt_bc2 + a.eps);
            }
        });
}

fn relu_in_place(v: &mut [f32]) {
    v.iter_mut().for_each(|x| *x = x.max(0.0));
}

/// Zeroes the gradient where the ReLU was inactive.
fn relu_mask(grad: &mut [f32], activation: &[f32]) {
    for (g, &a) in grad.iter_mut().zip(activation) {
        if a <= 0.0 {
            *g = 0.0;
        }
    }
}

/// Per-sample sums of one step, over the batch.
#[derive(Clone, Copy, Debug, Default)]
pub struct StepSums {
    pub recon: f64,
    pub kl: f64,
}

/// The whole network as flat buffers, plus per-batch workspaces sized on first use.
pub struct FusedVae {
    likelihood: Likelihood,
    latent: usize,
    input: usize,
    enc: Vec<Dense>,
    mean: Dense,
    logvar: Dense,
    dec: Vec<Dense>,
    out: Dense,
    step: i32,
    // Activations (post-ReLU for hidden layers) and their gradients.
    enc_act: Vec<Vec<f32>>,
    enc_grad: Vec<Vec<f32>>,
    mu: Vec<f32>,
    lv: Vec<f32>,
    sigma: Vec<f32>,
    z: Vec<f32>,
    d_mu: Vec<f32>,
    d_lv: Vec<f32>,
    d_z: Vec<f32>,
    dec_act: Vec<Vec<f32>>,
    dec_grad: Vec<Vec<f32>>,
    logits: Vec<f32>,
    d_logits: Vec<f32>,
    row_recon: Vec<f32>,
}

fn parallelism() -> Parallelism {
    match rayon::current_num_threads() {
        0 | 1 => Parallelism::None,
        n => Parallelism::Rayon(n),
    }
}

impl FusedVae {
    /// Copies the model's current weights into flat buffers.
    pub fn from_model(model: &Model) -> Result<Self> {
        let c = model.config();
        let vars: HashMap<String, Var> = model.vars().into_iter().collect();
        let mut widths = vec![c.input.len()];
        widths.extend(&c.hidden);
        let enc = widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| Dense::from_vars(&vars, &format!("encoder.hidden.{i}"), w[0], w[1]))
            .collect::<Result<Vec<_>>>()?;
        let h = *widths.last().unwrap_or(&c.input.len());
        let mut dwidths = vec![c.latent];
        dwidths.extend(c.hidden.iter().rev());
        let dec = dwidths
            .windows(2)
            .enumerate()
            .map(|(i, w)| Dense::from_vars(&vars, &format!("decoder.hidden.{i}"), w[0], w[1]))
            .collect::<Result<Vec<_>>>()?;
        let dh = *dwidths.last().unwrap_or(&c.latent);
        Ok(Self {
            likelihood: c.likelihood,
            latent: c.latent,
            input: c.input.len(),
            mean: Dense::from_vars(&vars, "encoder.mean", h, c.latent)?,
            logvar: Dense::from_vars(&vars, "encoder.logvar", h, c.latent)?,
            out: Dense::from_vars(&vars, "decoder.out", dh, c.input.len())?,
            enc_act: enc.iter().map(|_| Vec::new()).collect(),
            enc_grad: enc.iter().map(|_| Vec::new()).collect(),
            dec_act: dec.iter().map(|_| Vec::new()).collect(),
            dec_grad: dec.iter().map(|_| Vec::new()).collect(),
            enc,
            dec,
            step: 0,
            mu: Vec::new(),
            lv: Vec::new(),
            sigma: Vec::new(),
            z: Vec::new(),
            d_mu: Vec::new(),
            d_lv: Vec::new(),
            d_z: Vec::new(),
            logits: Vec::new(),
            d_logits: Vec::new(),
            row_recon: Vec::new(),
        })
    }

    fn layers(&self) -> impl Iterator<Item = &Dense> {
        self.enc
            .iter()
            .chain([&self.mean, &self.logvar])
            .chain(&self.dec)
            .chain([&self.out])
    }

    fn layers_mut(&mut self) -> impl Iterator<Item = &mut Dense> {
        self.enc
            .iter_mut()
            .chain([&mut self.mean, &mut self.logvar])
            .chain(self.dec.iter_mut())
            .chain([&mut self.out])
    }

    /// Writes the current weights back into the model's variables.
    pub fn write_to(&self, model: &Model) -> Result<()> {
        let vars: HashMap<String, Var> = model.vars().into_iter().collect();
        self.layers().try_for_each(|l| l.write_to(&vars))
    }

    fn size_workspace(&mut self, n: usize) {
        let fit = |v: &mut Vec<f32>, len: usize| {
            if v.len() < len {
                v.resize(len, 0.0);
            }
        };
        for (i, l) in self.enc.iter().enumerate() {
            fit(&mut self.enc_act[i], n * l.out);
            fit(&mut self.enc_grad[i], n * l.out);
        }
        for (i, l) in self.dec.iter().enumerate() {
            fit(&mut self.dec_act[i], n * l.out);
            fit(&mut self.dec_grad[i], n * l.out);
        }
        for v in [&mut self.mu, &mut self.lv, &mut self.sigma, &mut self.z] {
            fit(v, n * self.latent);
        }
        for v in [&mut self.d_mu, &mut self.d_lv, &mut self.d_z] {
            fit(v, n * self.latent);
        }
        fit(&mut self.logits, n * self.input);
        fit(&mut self.d_logits, n * self.input);
        fit(&mut self.row_recon, n);
    }

    /// Forward and backward for a batch x[n, D] with reparameterisation noise eps[n, latent]:
    /// fills every gradient of sum_over_batch(recon + beta * KL) and returns the sums.
    pub fn forward_backward(&mut self, x: &[f32], eps: &[f32], n: usize, beta: f32) -> StepSums {
        let par = parallelism();
        self.size_workspace(n);
        let (d, l) = (self.input, self.latent);

        // Encoder.
        for i in 0..self.enc.len() {
            let (done, rest) = self.enc_act.split_at_mut(i);
            let input: &[f32] = if i == 0 { x } else { &done[i - 1] };
            self.enc[i].forward(input, n, &mut rest[0], par);
            relu_in_place(&mut rest[0][..n * self.enc[i].out]);
        }
        let h: &[f32] = self.enc_act.last().map(Vec::as_slice).unwrap_or(x);
        self.mean.forward(h, n, &mut self.mu, par);
        self.logvar.forward(h, n, &mut self.lv, par);

        // Reparameterise; the KL and its gradient need only these small [n, latent] arrays.
        let mut kl = 0f64;
        let nl = n * l;
        let codes = self.mu[..nl].iter().zip(&self.lv[..nl]).zip(&eps[..nl]);
        for ((s, z), ((&m, &lv), &e)) in self.sigma.iter_mut().zip(self.z.iter_mut()).zip(codes) {
            let lv = lv.clamp(-LOGVAR_LIMIT, LOGVAR_LIMIT);
            *s = (0.5 * lv).exp();
            *z = m + *s * e;
            kl += 0.5 * (m * m + lv.exp() - 1.0 - lv) as f64;
        }

        // Decoder.
        for i in 0..self.dec.len() {
            let (done, rest) = self.dec_act.split_at_mut(i);
            let input: &[f32] = if i == 0 { &self.z } else { &done[i - 1] };
            self.dec[i].forward(input, n, &mut rest[0], par);
            relu_in_place(&mut rest[0][..n * self.dec[i].out]);
        }
        let dh: &[f32] = self.dec_act.last().map(Vec::as_slice).unwrap_or(&self.z);
        self.out.forward(dh, n, &mut self.logits, par);

        // Reconstruction error per sample and its gradient w.r.t. the logits, in one pass.
        let likelihood = self.likelihood;
        self.d_logits[..n * d]
            .par_chunks_mut(ROWS_PER_TASK * d)
            .zip(self.row_recon[..n].par_chunks_mut(ROWS_PER_TASK))
            .enumerate()
            .for_each(|(task, (grad_block, sums))| {
                for (k, (grad, sum)) in grad_block.chunks_mut(d).zip(sums.iter_mut()).enumerate() {
                    let r = task * ROWS_PER_TASK + k;
                    let (lo, xo) = (&self.logits[r * d..(r + 1) * d], &x[r * d..(r + 1) * d]);
                    let mut acc = 0f32;
                    for ((g, &lg), &t) in grad.iter_mut().zip(lo).zip(xo) {
                        // One exp serves both the stable log-loss and the sigmoid.
                        let e = (-lg.abs()).exp();
                        let inv = 1.0 / (1.0 + e);
                        let s = if lg >= 0.0 { inv } else { e * inv };
                        match likelihood {
                            Likelihood::Bernoulli => {
                                acc += lg.max(0.0) - lg * t + e.ln_1p();
                                *g = s - t;
                            }
                            Likelihood::Gaussian => {
                                let err = s - t;
                                acc += err * err;
                                *g = 2.0 * err * s * (1.0 - s);
                            }
                        }
                    }
                    *sum = acc;
                }
            });
        let recon: f64 = self.row_recon[..n].iter().map(|&v| v as f64).sum();

        // Decoder backward.
        let last = self.dec.len();
        {
            let input: &[f32] = self.dec_act.last().map(Vec::as_slice).unwrap_or(&self.z);
            let dx = if last == 0 {
                &mut self.d_z
            } else {
                &mut self.dec_grad[last - 1]
            };
            self.out
                .backward(input, &self.d_logits, n, Some((dx, false)), par);
        }
        for i in (0..last).rev() {
            relu_mask(
                &mut self.dec_grad[i][..n * self.dec[i].out],
                &self.dec_act[i],
            );
            let (before, this) = self.dec_grad.split_at_mut(i);
            let input: &[f32] = if i == 0 {
                &self.z
            } else {
                &self.dec_act[i - 1]
            };
            let dx = if i == 0 {
                &mut self.d_z
            } else {
                &mut before[i - 1]
            };
            self.dec[i].backward(input, &this[0], n, Some((dx, false)), par);
        }

        // Through the sample to the posterior's mean and log-variance.
        let inputs = self.d_z[..nl]
            .iter()
            .zip(&self.mu[..nl])
            .zip(&self.lv[..nl])
            .zip(&self.sigma[..nl])
            .zip(&eps[..nl]);
        let outputs = self.d_mu.iter_mut().zip(self.d_lv.iter_mut());
        for ((d_mu, d_lv), ((((&dz, &m), &lv_raw), &s), &e)) in outputs.zip(inputs) {
            *d_mu = dz + beta * m;
            // Where the log-variance was clamped, it gets no gradient (as in candle's clamp).
            *d_lv = if lv_raw.abs() > LOGVAR_LIMIT {
                0.0
            } else {
                dz * e * 0.5 * s + beta * 0.5 * (lv_raw.exp() - 1.0)
            };
        }

        // Encoder backward: both heads feed the last hidden layer's gradient.
        let depth = self.enc.len();
        {
            let h: &[f32] = self.enc_act.last().map(Vec::as_slice).unwrap_or(x);
            if depth == 0 {
                self.mean.backward(h, &self.d_mu, n, None, par);
                self.logvar.backward(h, &self.d_lv, n, None, par);
            } else {
                let dh = &mut self.enc_grad[depth - 1];
                self.mean.backward(h, &self.d_mu, n, Some((dh, false)), par);
                self.logvar
                    .backward(h, &self.d_lv, n, Some((dh, true)), par);
            }
        }
        for i in (0..depth).rev() {
            relu_mask(
                &mut self.enc_grad[i][..n * self.enc[i].out],
                &self.enc_act[i],
            );
            let (before, this) = self.enc_grad.split_at_mut(i);
            let input: &[f32] = if i == 0 { x } else { &self.enc_act[i - 1] };
            // The input images need no gradient.
            let dx = if i == 0 {
                None
            } else {
                Some((&mut before[i - 1][..], false))
            };
            self.enc[i].backward(input, &this[0], n, dx, par);
        }
        StepSums { recon, kl }
    }

    /// Whether every gradient of the last `forward_backward` is finite.
    pub fn grads_finite(&self) -> bool {
        self.layers().all(Dense::grads_finite)
    }

    /// One Adam step with the gradients of the last `forward_backward`.
    pub fn adam_step(&mut self, adam: &Adam) {
        self.step += 1;
        let bc1 = 1.0 - adam.beta1.powi(self.step);
        let bc2 = 1.0 - adam.beta2.powi(self.step);
        self.layers_mut().for_each(|l| l.adam(adam, bc1, bc2));
    }

    /// Each parameter's gradient by name (for tests against candle's autograd).
    pub fn gradients(&self) -> Vec<(String, Vec<f32>)> {
        self.layers()
            .flat_map(|l| {
                [
                    (format!("{}.weight", l.name), l.gw.clone()),
                    (format!("{}.bias", l.name), l.gb.clone()),
                ]
            })
            .collect()
    }
}
