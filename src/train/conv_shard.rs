//! One thread's share of a conv VAE training step: forward pass, loss and backward pass over
//! some rows of the batch, channels-last throughout, with this shard's own activations and
//! gradients in buffers that are sized once and reused. Every convolution is a gather
//! ([`im2col_s2`]) or scatter ([`col2im_s2`]) plus one `gemm` product; bias and ReLU are
//! applied in place. [`super::fused_conv::FusedConvVae`] sums the shards' gradients and runs
//! Adam. The maths is the candle model's (`model::conv`), checked against its autograd.

use super::fused_conv::ConvParams;
use super::shard::StepSums;
use crate::kernels::conv::{K, col2im_s2, im2col_s2};
use crate::kernels::dense::{self, Weights};
use crate::kernels::elementwise::{add_assign, loss_and_grad};
use gemm::{Parallelism, gemm};

/// Same clamp as the candle path (`model::vae`): keeps exp(logvar) finite on a bad batch.
const LOGVAR_LIMIT: f32 = 30.0;

/// dst[m, n] (+)= op(a)[m, k] op(b)[k, n], all row-major; `a_t`: a is stored [k, m]; `b_t`:
/// b is stored [n, k]. `accumulate` adds to what dst holds instead of overwriting it.
#[allow(clippy::too_many_arguments)]
fn product(
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    accumulate: bool,
    a: &[f32],
    a_t: bool,
    b: &[f32],
    b_t: bool,
    par: Parallelism,
) {
    // The product below addresses exactly these extents: checked in release builds too.
    assert!(
        dst.len() >= m * n && a.len() >= m * k && b.len() >= k * n,
        "product buffers smaller than the product reads"
    );
    let (a_cs, a_rs) = if a_t { (m, 1) } else { (1, k) };
    let (b_cs, b_rs) = if b_t { (k, 1) } else { (1, n) };
    // SAFETY: the assert above; each matrix is addressed within its m*k, k*n, m*n values by
    // the row-major (or transposed row-major) strides computed here.
    unsafe {
        gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}

fn fit(v: &mut Vec<f32>, len: usize) {
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

fn add_bias(rows: &mut [f32], bias: &[f32]) {
    for row in rows.chunks_exact_mut(bias.len()) {
        add_assign(row, bias);
    }
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

/// The bias gradient: the sum of the output gradient's rows.
fn bias_grad(dy: &[f32], out: &mut [f32]) {
    out.fill(0.0);
    for row in dy.chunks_exact(out.len()) {
        add_assign(out, row);
    }
}

pub(super) struct ConvShard {
    /// Gradients in the parameters' order and layout.
    pub grads: Vec<Vec<f32>>,
    /// The images zero-padded to the grid the convolutions see, [n, Hp, Wp, C].
    input: Vec<f32>,
    /// Each encoder layer's gathered patches (kept for its weight gradient) and ReLU output.
    cols: Vec<Vec<f32>>,
    enc_act: Vec<Vec<f32>>,
    mu: Vec<f32>,
    lv: Vec<f32>,
    sigma: Vec<f32>,
    z: Vec<f32>,
    d_mu: Vec<f32>,
    d_lv: Vec<f32>,
    d_z: Vec<f32>,
    /// The decoder's linear layer after its ReLU: the innermost map, [n, fh, fw, fc].
    dec_h: Vec<f32>,
    /// Each transposed convolution's output (after ReLU but for the last: padded logits).
    dec_act: Vec<Vec<f32>>,
    /// Scratch for patches of the decoder and patch gradients of both halves.
    patches: Vec<f32>,
    /// Two gradient buffers the backward pass alternates between.
    grad_a: Vec<f32>,
    grad_b: Vec<f32>,
    logits: Vec<f32>,
    d_logits: Vec<f32>,
    row_recon: Vec<f32>,
}

impl ConvShard {
    pub fn new(net: &ConvParams) -> Self {
        Self {
            grads: net.params.iter().map(|p| vec![0.0; p.value.len()]).collect(),
            input: Vec::new(),
            cols: vec![Vec::new(); net.enc_layers()],
            enc_act: vec![Vec::new(); net.enc_layers()],
            mu: Vec::new(),
            lv: Vec::new(),
            sigma: Vec::new(),
            z: Vec::new(),
            d_mu: Vec::new(),
            d_lv: Vec::new(),
            d_z: Vec::new(),
            dec_h: Vec::new(),
            dec_act: vec![Vec::new(); net.dec_layers()],
            patches: Vec::new(),
            grad_a: Vec::new(),
            grad_b: Vec::new(),
            logits: Vec::new(),
            d_logits: Vec::new(),
            row_recon: Vec::new(),
        }
    }

    pub fn grads_finite(&self) -> bool {
        self.grads.iter().flatten().all(|v| v.is_finite())
    }

    /// Forward and backward over x[n, H*W*C] with noise eps[n, latent]; leaves this shard's
    /// gradients of sum_over_rows(recon + beta * KL) in `grads` and returns the sums.
    /// `par`: how each product may spread over threads (only when this shard runs alone).
    pub fn forward_backward(
        &mut self,
        net: &ConvParams,
        x: &[f32],
        eps: &[f32],
        n: usize,
        beta: f32,
        par: Parallelism,
    ) -> StepSums {
        let g = net.geometry;
        let s = g.input;
        let (hp, wp, c0) = (g.padded_height, g.padded_width, s.channels);
        let (l, flat, d) = (net.latent, g.flat(), s.len());
        let (enc, dec) = (net.enc_layers(), net.dec_layers());
        assert!(x.len() >= n * d && eps.len() >= n * l, "batch smaller than n rows");

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

        // Encoder: gather, product with the kernel on top of the bias, ReLU.
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
            product(
                (rows, c_out, K * K * c_in),
                act,
                true,
                &self.cols[i],
                false,
                kernel,
                false,
                par,
            );
            relu_in_place(act);
        }
        let h_flat = &self.enc_act[enc - 1][..n * flat];
        for v in [&mut self.mu, &mut self.lv, &mut self.sigma, &mut self.z] {
            fit(v, n * l);
        }
        for v in [&mut self.d_mu, &mut self.d_lv, &mut self.d_z] {
            fit(v, n * l);
        }
        dense::forward(net.dense(net.mean_weight(), flat, l), h_flat, n, &mut self.mu, par);
        dense::forward(net.dense(net.mean_weight() + 2, flat, l), h_flat, n, &mut self.lv, par);

        // Reparameterise; the KL and its gradient need only these small [n, latent] arrays.
        let mut kl = 0f64;
        let nl = n * l;
        let codes = self.mu[..nl].iter().zip(&self.lv[..nl]).zip(&eps[..nl]);
        for ((sg, z), ((&m, &lv), &e)) in self.sigma.iter_mut().zip(self.z.iter_mut()).zip(codes) {
            let lv = lv.clamp(-LOGVAR_LIMIT, LOGVAR_LIMIT);
            *sg = (0.5 * lv).exp();
            *z = m + *sg * e;
            kl += 0.5 * (m * m + lv.exp() - 1.0 - lv) as f64;
        }

        // Decoder: the linear layer to the innermost map, then transposed convolutions, each a
        // product to every input pixel's 4x4 patch and a scatter of the patches.
        fit(&mut self.dec_h, n * flat);
        let dec_in = net.dense(net.dec_input_weight(), l, flat);
        dense::forward(dec_in, &self.z, n, &mut self.dec_h, par);
        relu_in_place(&mut self.dec_h[..n * flat]);
        for j in 0..dec {
            let (hs, ws, c_in, c_out) = net.dec_shape(j);
            let rows = n * hs * ws;
            fit(&mut self.patches, rows * K * K * c_out);
            let out_len = n * 4 * hs * ws * c_out;
            fit(&mut self.dec_act[j], out_len);
            let (done, rest) = self.dec_act.split_at_mut(j);
            let src: &[f32] = if j == 0 { &self.dec_h } else { &done[j - 1] };
            product(
                (rows, K * K * c_out, c_in),
                &mut self.patches,
                false,
                src,
                false,
                &net.params[net.dec_weight(j)].value,
                false,
                par,
            );
            let out = &mut rest[0][..out_len];
            col2im_s2(&self.patches, n, 2 * hs, 2 * ws, c_out, out);
            add_bias(out, &net.params[net.dec_weight(j) + 1].value);
            if j + 1 < dec {
                relu_in_place(out);
            }
        }

        // The logits are the image's part of the last grid; loss and gradient row by row.
        fit(&mut self.logits, n * d);
        fit(&mut self.d_logits, n * d);
        fit(&mut self.row_recon, n);
        let padded = &self.dec_act[dec - 1];
        for b in 0..n {
            for y in 0..s.height {
                let src = ((b * hp + y + g.pad_top) * wp + g.pad_left) * c0;
                self.logits[(b * s.height + y) * run..][..run]
                    .copy_from_slice(&padded[src..src + run]);
            }
        }
        for b in 0..n {
            let r = b * d..(b + 1) * d;
            self.row_recon[b] = loss_and_grad(
                net.likelihood,
                &self.logits[r.clone()],
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
                relu_mask(dy, &self.dec_act[j]);
            }
            bias_grad(dy, &mut self.grads[net.dec_weight(j) + 1]);
            // The gradient of each patch is the output gradient gathered under it.
            fit(&mut self.patches, rows * K * K * c_out);
            im2col_s2(dy, n, 2 * hs, 2 * ws, c_out, &mut self.patches);
            let src: &[f32] = if j == 0 { &self.dec_h } else { &self.dec_act[j - 1] };
            product(
                (c_in, K * K * c_out, rows),
                &mut self.grads[net.dec_weight(j)],
                false,
                src,
                true,
                &self.patches,
                false,
                par,
            );
            fit(&mut self.grad_b, rows * c_in);
            product(
                (rows, c_in, K * K * c_out),
                &mut self.grad_b,
                false,
                &self.patches,
                false,
                &net.params[net.dec_weight(j)].value,
                true,
                par,
            );
            std::mem::swap(&mut self.grad_a, &mut self.grad_b);
        }

        // The decoder's linear layer: grad_a holds the gradient of its ReLU output.
        let d_h = &mut self.grad_a[..n * flat];
        relu_mask(d_h, &self.dec_h);
        let wi = net.dec_input_weight();
        product(
            (flat, l, n),
            &mut self.grads[wi],
            false,
            d_h,
            true,
            &self.z,
            false,
            par,
        );
        bias_grad(d_h, &mut self.grads[wi + 1]);
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
            .zip(&self.mu[..nl])
            .zip(&self.lv[..nl])
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
        let h_flat = &self.enc_act[enc - 1][..n * flat];
        let mw = net.mean_weight();
        fit(&mut self.grad_a, n * flat);
        for (head, dy, accumulate) in [(mw, &self.d_mu, false), (mw + 2, &self.d_lv, true)] {
            product(
                (l, flat, n),
                &mut self.grads[head],
                false,
                dy,
                true,
                h_flat,
                false,
                par,
            );
            bias_grad(&dy[..nl], &mut self.grads[head + 1]);
            product(
                (n, flat, l),
                &mut self.grad_a,
                accumulate,
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
            relu_mask(dy, &self.enc_act[i]);
            bias_grad(dy, &mut self.grads[net.enc_bias(i)]);
            product(
                (K * K * c_in, c_out, rows),
                &mut self.grads[net.enc_weight(i)],
                false,
                &self.cols[i],
                true,
                dy,
                false,
                par,
            );
            if i == 0 {
                break; // The images need no gradient.
            }
            fit(&mut self.patches, rows * K * K * c_in);
            product(
                (rows, K * K * c_in, c_out),
                &mut self.patches,
                false,
                dy,
                false,
                &net.params[net.enc_weight(i)].value,
                true,
                par,
            );
            fit(&mut self.grad_b, n * h * w * c_in);
            col2im_s2(&self.patches, n, h, w, c_in, &mut self.grad_b);
            std::mem::swap(&mut self.grad_a, &mut self.grad_b);
        }
        StepSums { recon, kl }
    }
}

impl ConvParams {
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
