//! One thread's share of a conv VAE training step: forward pass, loss and backward pass over
//! some rows of the batch, channels-last throughout, with this shard's own activations and
//! gradients in buffers that are sized once and reused. Every convolution is a gather
//! ([`im2col_s2`]) or scatter ([`col2im_s2`]) plus one `gemm` product; bias and ReLU are
//! applied in place. [`super::fused_conv::FusedConvVae`] sums the shards' gradients and runs
//! Adam. The maths is the candle model's (`model::conv`), checked against its autograd.

use super::shard::StepSums;
use crate::kernels::conv::{K, col2im_s2, im2col_s2};
use crate::kernels::cpu::CpuCaches;
use crate::kernels::dense::product;
use crate::kernels::elementwise::{add_row_sums, loss_and_grad, relu_mask};
use crate::model::conv_flat::{ConvForward, FlatConvNet, fit};
use gemm::Parallelism;

/// Same clamp as the candle path (`model::vae`): keeps exp(logvar) finite on a bad batch.
const LOGVAR_LIMIT: f32 = 30.0;

/// Rows of a shard that go through the network together, the weight gradients adding up over
/// them, where the CPU is not an Intel one. A whole shard at once (128 images on one thread,
/// 64 on two) makes the widest layer's patches 8-16 MB, which the products then stream from
/// memory; 32 images' (4 MB) stay in the caches. Measured on Fashion-MNIST (AMD EPYC Zen 4):
/// 32 trained 7-10% faster than whole shards at 1 and 2 threads, and than 8, 16 or 64.
const MICRO_BATCH: usize = 32;

/// Sets the micro-batch, for measuring one against another.
const MICRO_BATCH_VAR: &str = "LATENT_EXPLORER_CONV_MICRO_BATCH";

/// The micro-batch for a network whose widest layer's patches take `patch_bytes` an image.
///
/// On an Intel CPU the level 3 cache is a mesh shared by every core, much slower to fetch
/// from than AMD's, so there the widest patches must fit in the core's level 2 cache: the
/// largest count of images (at most [`MICRO_BATCH`], at least 4) whose patches do. On an
/// Intel Xeon (Emerald Rapids, 2 MB level 2), steps timed in one process alternating the two
/// sizes, Fashion-MNIST's conv model: 16 images a step took 7-8% less time than 32 on one
/// thread and 10-11% less on two; 4, 8 and 16 were alike, 24 was 3-5% slower than 16.
pub(super) fn micro_batch(patch_bytes: usize) -> usize {
    if let Some(n) = std::env::var(MICRO_BATCH_VAR)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
    {
        return n;
    }
    micro_batch_on(crate::kernels::cpu::caches(), patch_bytes)
}

fn micro_batch_on(cpu: CpuCaches, patch_bytes: usize) -> usize {
    match cpu.l2_bytes {
        Some(l2) if cpu.intel => (l2 / patch_bytes.max(1)).clamp(4, MICRO_BATCH),
        _ => MICRO_BATCH,
    }
}

/// The bias gradient: the sum of the output gradient's rows (added to `out` when
/// `accumulate`, as a later micro-batch of the same shard does).
fn bias_grad(dy: &[f32], out: &mut [f32], accumulate: bool) {
    if !accumulate {
        out.fill(0.0);
    }
    add_row_sums(out, dy);
}

pub(super) struct ConvShard {
    /// Gradients in the parameters' order and layout.
    pub grads: Vec<Vec<f32>>,
    /// The forward pass's buffers and activations.
    fwd: ConvForward,
    sigma: Vec<f32>,
    z: Vec<f32>,
    d_mu: Vec<f32>,
    d_lv: Vec<f32>,
    d_z: Vec<f32>,
    /// Two gradient buffers the backward pass alternates between.
    grad_a: Vec<f32>,
    grad_b: Vec<f32>,
    d_logits: Vec<f32>,
    row_recon: Vec<f32>,
    /// Images a pass ([`micro_batch`]).
    micro_batch: usize,
    /// The posterior means and log-variances of the last `forward_backward`'s rows, gathered
    /// from its micro-batches ([rows, latent] each).
    pub codes_mean: Vec<f32>,
    pub codes_logvar: Vec<f32>,
}

impl ConvShard {
    pub fn new(net: &FlatConvNet) -> Self {
        Self {
            grads: net
                .params
                .iter()
                .map(|p| vec![0.0; p.value.len()])
                .collect(),
            fwd: ConvForward::default(),
            sigma: Vec::new(),
            z: Vec::new(),
            d_mu: Vec::new(),
            d_lv: Vec::new(),
            d_z: Vec::new(),
            grad_a: Vec::new(),
            grad_b: Vec::new(),
            d_logits: Vec::new(),
            row_recon: Vec::new(),
            micro_batch: micro_batch(net.widest_patch_bytes()),
            codes_mean: Vec::new(),
            codes_logvar: Vec::new(),
        }
    }

    pub fn grads_finite(&self) -> bool {
        self.grads
            .iter()
            .all(|g| crate::kernels::elementwise::all_finite(g))
    }

    /// Forward and backward over x[n, H*W*C] with noise eps[n, latent]; leaves this shard's
    /// gradients of sum_over_rows(recon + beta * KL) in `grads` and returns the sums.
    /// `par`: how each product may spread over threads (only when this shard runs alone).
    pub fn forward_backward(
        &mut self,
        net: &FlatConvNet,
        x: &[f32],
        eps: &[f32],
        n: usize,
        beta: f32,
        par: Parallelism,
    ) -> StepSums {
        let (d, l) = (net.geometry.input.len(), net.latent);
        assert!(
            x.len() >= n * d && eps.len() >= n * l,
            "batch smaller than n rows"
        );
        let mut sums = StepSums::default();
        self.codes_mean.clear();
        self.codes_logvar.clear();
        // An empty shard still runs once, so its gradients are zeroes, not the last batch's.
        for start in (0..n.max(1)).step_by(self.micro_batch) {
            let rows = self.micro_batch.min(n - start);
            let part = self.micro_step(
                net,
                &x[start * d..(start + rows) * d],
                &eps[start * l..(start + rows) * l],
                rows,
                beta,
                par,
                start > 0,
            );
            sums.recon += part.recon;
            sums.kl += part.kl;
            let nl = rows * l;
            self.codes_mean.extend_from_slice(&self.fwd.mu[..nl]);
            self.codes_logvar.extend_from_slice(&self.fwd.lv[..nl]);
        }
        sums
    }

    /// [`Self::forward_backward`] over at most `micro_batch` rows; adds to the gradients
    /// already in `grads` when `accumulate`.
    #[allow(clippy::too_many_arguments)]
    fn micro_step(
        &mut self,
        net: &FlatConvNet,
        x: &[f32],
        eps: &[f32],
        n: usize,
        beta: f32,
        par: Parallelism,
        accumulate: bool,
    ) -> StepSums {
        let g = net.geometry;
        let s = g.input;
        let (hp, wp, c0) = (g.padded_height, g.padded_width, s.channels);
        let (l, flat, d) = (net.latent, g.flat(), s.len());
        let (enc, dec) = (net.enc_layers(), net.dec_layers());
        assert!(
            x.len() >= n * d && eps.len() >= n * l,
            "batch smaller than n rows"
        );
        let run = s.width * c0;
        self.fwd.encode(net, x, n, par);

        // Reparameterise; the KL and its gradient need only these small [n, latent] arrays.
        for v in [
            &mut self.sigma,
            &mut self.z,
            &mut self.d_mu,
            &mut self.d_lv,
            &mut self.d_z,
        ] {
            fit(v, n * l);
        }
        let mut kl = 0f64;
        let nl = n * l;
        let codes = self.fwd.mu[..nl]
            .iter()
            .zip(&self.fwd.lv[..nl])
            .zip(&eps[..nl]);
        for ((sg, z), ((&m, &lv), &e)) in self.sigma.iter_mut().zip(self.z.iter_mut()).zip(codes) {
            let lv = lv.clamp(-LOGVAR_LIMIT, LOGVAR_LIMIT);
            *sg = (0.5 * lv).exp();
            *z = m + *sg * e;
            kl += 0.5 * (m * m + lv.exp() - 1.0 - lv) as f64;
        }
        self.fwd.decode(net, &self.z, n, par);

        // Loss and logit gradient row by row.
        fit(&mut self.d_logits, n * d);
        fit(&mut self.row_recon, n);
        for b in 0..n {
            let r = b * d..(b + 1) * d;
            self.row_recon[b] = loss_and_grad(
                net.likelihood,
                &self.fwd.logits[r.clone()],
                &x[r.clone()],
                &mut self.d_logits[r],
            );
        }
        let recon: f64 = self.row_recon[..n].iter().map(|&v| v as f64).sum();

        // Backward through the decoder. The logit gradient goes back into the padded grid.
        let last_len = n * hp * wp * c0;
        fit(&mut self.grad_a, last_len);
        self.grad_a[..last_len].fill(0.0);
        for b in 0..n {
            for y in 0..s.height {
                let dst = ((b * hp + y + g.pad_top) * wp + g.pad_left) * c0;
                self.grad_a[dst..dst + run]
                    .copy_from_slice(&self.d_logits[(b * s.height + y) * run..][..run]);
            }
        }
        for j in (0..dec).rev() {
            let (hs, ws, c_in, c_out) = net.dec_shape(j);
            let rows = n * hs * ws;
            let out_len = n * 4 * hs * ws * c_out;
            let dy = &mut self.grad_a[..out_len];
            if j + 1 < dec {
                relu_mask(dy, &self.fwd.dec_act[j]);
            }
            bias_grad(dy, &mut self.grads[net.dec_weight(j) + 1], accumulate);
            // The gradient of each patch is the output gradient gathered under it.
            fit(&mut self.fwd.patches, rows * K * K * c_out);
            im2col_s2(dy, n, 2 * hs, 2 * ws, c_out, &mut self.fwd.patches);
            let src: &[f32] = if j == 0 {
                &self.fwd.dec_h
            } else {
                &self.fwd.dec_act[j - 1]
            };
            product(
                (c_in, K * K * c_out, rows),
                &mut self.grads[net.dec_weight(j)],
                accumulate,
                src,
                true,
                &self.fwd.patches,
                false,
                par,
            );
            fit(&mut self.grad_b, rows * c_in);
            product(
                (rows, c_in, K * K * c_out),
                &mut self.grad_b,
                false,
                &self.fwd.patches,
                false,
                &net.params[net.dec_weight(j)].value,
                true,
                par,
            );
            std::mem::swap(&mut self.grad_a, &mut self.grad_b);
        }

        // The decoder's linear layer: grad_a holds the gradient of its ReLU output.
        let d_h = &mut self.grad_a[..n * flat];
        relu_mask(d_h, &self.fwd.dec_h);
        let wi = net.dec_input_weight();
        product(
            (flat, l, n),
            &mut self.grads[wi],
            accumulate,
            d_h,
            true,
            &self.z,
            false,
            par,
        );
        bias_grad(d_h, &mut self.grads[wi + 1], accumulate);
        product(
            (n, l, flat),
            &mut self.d_z,
            false,
            d_h,
            false,
            &net.params[wi].value,
            false,
            par,
        );

        // Through the sample to the posterior's mean and log-variance.
        let inputs = self.d_z[..nl]
            .iter()
            .zip(&self.fwd.mu[..nl])
            .zip(&self.fwd.lv[..nl])
            .zip(&self.sigma[..nl])
            .zip(&eps[..nl]);
        let outputs = self.d_mu.iter_mut().zip(self.d_lv.iter_mut());
        for ((d_mu, d_lv), ((((&dz, &m), &lv_raw), &sg), &e)) in outputs.zip(inputs) {
            *d_mu = dz + beta * m;
            // Where the log-variance was clamped, it gets no gradient (as in candle's clamp).
            *d_lv = if lv_raw.abs() > LOGVAR_LIMIT {
                0.0
            } else {
                dz * e * 0.5 * sg + beta * 0.5 * (lv_raw.exp() - 1.0)
            };
        }

        // The two heads, both feeding the innermost map's gradient.
        let h_flat = &self.fwd.enc_act[enc - 1][..n * flat];
        let mw = net.mean_weight();
        fit(&mut self.grad_a, n * flat);
        for (head, dy, onto_mean_part) in [(mw, &self.d_mu, false), (mw + 2, &self.d_lv, true)] {
            product(
                (l, flat, n),
                &mut self.grads[head],
                accumulate,
                dy,
                true,
                h_flat,
                false,
                par,
            );
            bias_grad(&dy[..nl], &mut self.grads[head + 1], accumulate);
            product(
                (n, flat, l),
                &mut self.grad_a,
                onto_mean_part,
                dy,
                false,
                &net.params[head].value,
                false,
                par,
            );
        }

        // Backward through the encoder: grad_a holds the gradient of layer i's ReLU output.
        for i in (0..enc).rev() {
            let (h, w, c_in, c_out) = net.enc_shape(i);
            let rows = n * (h / 2) * (w / 2);
            let dy = &mut self.grad_a[..rows * c_out];
            relu_mask(dy, &self.fwd.enc_act[i]);
            bias_grad(dy, &mut self.grads[net.enc_bias(i)], accumulate);
            product(
                (K * K * c_in, c_out, rows),
                &mut self.grads[net.enc_weight(i)],
                accumulate,
                &self.fwd.cols[i],
                true,
                dy,
                false,
                par,
            );
            if i == 0 {
                break; // The images need no gradient.
            }
            fit(&mut self.fwd.patches, rows * K * K * c_in);
            product(
                (rows, K * K * c_in, c_out),
                &mut self.fwd.patches,
                false,
                dy,
                false,
                &net.params[net.enc_weight(i)].value,
                true,
                par,
            );
            fit(&mut self.grad_b, n * h * w * c_in);
            col2im_s2(&self.fwd.patches, n, h, w, c_in, None, &mut self.grad_b);
            std::mem::swap(&mut self.grad_a, &mut self.grad_b);
        }
        StepSums { recon, kl }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_micro_batch_fits_the_level_2_cache_on_intel_only() {
        // Fashion-MNIST's model: 64 pixels x 16 taps x 32 channels of f32, 128 KiB an image.
        let patch = 64 * 16 * 32 * 4;
        let intel = |mib: usize| CpuCaches {
            intel: true,
            l2_bytes: Some(mib << 20),
        };
        assert_eq!(micro_batch_on(intel(2), patch), 16);
        assert_eq!(micro_batch_on(intel(1), patch), 8);
        assert_eq!(micro_batch_on(intel(2), 4 * patch), 4, "at least 4");
        assert_eq!(micro_batch_on(intel(64), patch), MICRO_BATCH, "at most 32");
        let amd = CpuCaches {
            intel: false,
            l2_bytes: None,
        };
        assert_eq!(micro_batch_on(amd, patch), MICRO_BATCH);
    }
}
