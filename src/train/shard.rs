//! One thread's share of a training step: the forward pass, loss and backward pass of the MLP
//! VAE over some rows of the batch, with this shard's own activations and gradients. The
//! layers' parameters are shared read-only; [`super::fused::FusedVae`] sums the shards'
//! gradients and runs Adam.

use super::fused::{Dense, Layers};
use crate::kernels::dense;
use crate::kernels::elementwise::{
    add_assign, add_assign_finite, all_finite, loss_and_grad, relu_in_place, relu_mask,
};
use crate::kernels::sparse::{
    SPARSE_DENSITY_LIMIT, SparseRows, sparse_times_dense, sparse_transpose_times_dense,
};
use gemm::{Parallelism, gemm};
use rayon::prelude::*;

/// Same clamp as the candle path (`model::vae`): keeps exp(logvar) finite on a bad batch.
const LOGVAR_LIMIT: f32 = 30.0;

/// One row's (logit gradient, logits, target, loss sum) in the loss pass.
type RowParts<'a> = (((&'a mut [f32], &'a [f32]), &'a [f32]), &'a mut f32);

/// Per-sample sums of one step, over the batch.
#[derive(Clone, Copy, Debug, Default)]
pub struct StepSums {
    pub recon: f64,
    pub kl: f64,
}

/// A layer's weight and bias gradients, laid out as its parameters.
struct Grad {
    w: Vec<f32>,
    b: Vec<f32>,
}

pub(super) struct Shard {
    grads: Vec<Grad>,
    // Activations (post-ReLU for hidden layers) and their gradients.
    enc_act: Vec<Vec<f32>>,
    enc_grad: Vec<Vec<f32>>,
    mu: Vec<f32>,
    lv: Vec<f32>,
    /// Rows of the last forward pass (its codes are the first `rows` of `mu` and `lv`).
    rows: usize,
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
    /// The shard's images, indexed by non-zero, when sparse enough to be worth it.
    sparse: SparseRows,
    /// A conditional model's inputs: [x | one-hot] for the encoder and [z | one-hot] for the
    /// decoder, and the gradient of the latter (whose code columns are `d_z`). Unused (empty)
    /// for an unconditional model, whose layers read x and z themselves.
    enc_in: Vec<f32>,
    dec_in: Vec<f32>,
    d_dec_in: Vec<f32>,
}

/// Rows [a | b] of width wa + wb from rows of a (width wa) and b (width wb), into `out`.
fn concat_rows(a: &[f32], wa: usize, b: &[f32], wb: usize, n: usize, out: &mut Vec<f32>) {
    out.clear();
    for r in 0..n {
        out.extend_from_slice(&a[r * wa..(r + 1) * wa]);
        out.extend_from_slice(&b[r * wb..(r + 1) * wb]);
    }
}

fn fit(v: &mut Vec<f32>, len: usize) {
    if v.len() < len {
        v.resize(len, 0.0);
    }
}

impl Shard {
    pub fn new(layers: &Layers) -> Self {
        let grads = layers
            .all
            .iter()
            .map(|l| Grad {
                w: vec![0.0; l.inp * l.out],
                b: vec![0.0; l.out],
            })
            .collect();
        Self {
            grads,
            enc_act: vec![Vec::new(); layers.enc_depth],
            enc_grad: vec![Vec::new(); layers.enc_depth],
            dec_act: vec![Vec::new(); layers.dec_depth],
            dec_grad: vec![Vec::new(); layers.dec_depth],
            mu: Vec::new(),
            lv: Vec::new(),
            rows: 0,
            sigma: Vec::new(),
            z: Vec::new(),
            d_mu: Vec::new(),
            d_lv: Vec::new(),
            d_z: Vec::new(),
            logits: Vec::new(),
            d_logits: Vec::new(),
            row_recon: Vec::new(),
            sparse: SparseRows::default(),
            enc_in: Vec::new(),
            dec_in: Vec::new(),
            d_dec_in: Vec::new(),
        }
    }

    fn size_workspace(&mut self, layers: &Layers, n: usize) {
        for i in 0..layers.enc_depth {
            fit(&mut self.enc_act[i], n * layers.enc(i).out);
            fit(&mut self.enc_grad[i], n * layers.enc(i).out);
        }
        for i in 0..layers.dec_depth {
            fit(&mut self.dec_act[i], n * layers.dec(i).out);
            fit(&mut self.dec_grad[i], n * layers.dec(i).out);
        }
        let nl = n * layers.latent;
        for v in [&mut self.mu, &mut self.lv, &mut self.sigma, &mut self.z] {
            fit(v, nl);
        }
        for v in [&mut self.d_mu, &mut self.d_lv, &mut self.d_z] {
            fit(v, nl);
        }
        fit(&mut self.logits, n * layers.input);
        fit(&mut self.d_logits, n * layers.input);
        fit(&mut self.row_recon, n);
    }

    /// The posterior means and log-variances of the last forward pass's rows, [rows, latent]
    /// each (the log-variances as the layer gave them, before the clamp).
    pub fn codes(&self, latent: usize) -> (&[f32], &[f32]) {
        let nl = self.rows * latent;
        (&self.mu[..nl], &self.lv[..nl])
    }

    /// Each layer's (weight, bias) gradient, in the layers' order.
    pub fn gradients(&self) -> impl Iterator<Item = (&[f32], &[f32])> {
        self.grads.iter().map(|g| (g.w.as_slice(), g.b.as_slice()))
    }

    pub fn grads_finite(&self) -> bool {
        self.grads
            .iter()
            .all(|g| all_finite(&g.w) && all_finite(&g.b))
    }

    /// Adds another shard's gradients to this one's; returns whether every sum is finite.
    pub fn add_gradients(&mut self, other: &Shard, chunk: usize) -> bool {
        let mut finite = true;
        for (mine, theirs) in self.grads.iter_mut().zip(&other.grads) {
            finite &= mine
                .w
                .par_chunks_mut(chunk)
                .zip(theirs.w.par_chunks(chunk))
                .map(|(a, b)| add_assign_finite(a, b))
                .reduce(|| true, |a, b| a && b);
            finite &= add_assign_finite(&mut mine.b, &theirs.b);
        }
        finite
    }

    /// Forward and backward over x[n, D] with noise eps[n, latent] and, for a conditional
    /// model, the one-hot labels cond[n, classes]; leaves this shard's gradients of
    /// sum_over_rows(recon + beta * KL) in place and returns the sums.
    /// `threaded`: this shard has the machine to itself and may spread products over threads.
    #[allow(clippy::too_many_arguments)]
    pub fn forward_backward(
        &mut self,
        layers: &Layers,
        x: &[f32],
        cond: &[f32],
        eps: &[f32],
        n: usize,
        beta: f32,
        threaded: bool,
    ) -> StepSums {
        let par = match (threaded, rayon::current_num_threads()) {
            (true, t) if t > 1 => Parallelism::Rayon(t),
            _ => Parallelism::None,
        };
        self.size_workspace(layers, n);
        self.rows = n;
        let (d, l, c) = (layers.input, layers.latent, layers.classes);
        // A conditional model's one-hot is just more input columns: the sparse first layer
        // visits its single non-zero like any pixel.
        let enc_x: &[f32] = if c > 0 {
            concat_rows(x, d, cond, c, n, &mut self.enc_in);
            &self.enc_in
        } else {
            x
        };

        // Encoder. The first layer reads the images through their non-zeros when that is
        // cheaper than the dense product.
        let first_sparse = layers.enc_depth > 0 && layers.enc(0).input_major && {
            self.sparse.fill(enc_x, n, d + c);
            self.sparse.density() < SPARSE_DENSITY_LIMIT
        };
        for i in 0..layers.enc_depth {
            let (done, rest) = self.enc_act.split_at_mut(i);
            let input: &[f32] = if i == 0 { enc_x } else { &done[i - 1] };
            let sparse = (i == 0 && first_sparse).then_some(&self.sparse);
            forward(layers.enc(i), input, n, &mut rest[0], par, sparse);
            relu_in_place(&mut rest[0][..n * layers.enc(i).out]);
        }
        let h: &[f32] = self.enc_act.last().map(Vec::as_slice).unwrap_or(enc_x);
        forward(layers.mean(), h, n, &mut self.mu, par, None);
        forward(layers.logvar(), h, n, &mut self.lv, par, None);

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

        // Decoder: a conditional model's first layer reads the code and the one-hot.
        let dec_x: &[f32] = if c > 0 {
            concat_rows(&self.z, l, cond, c, n, &mut self.dec_in);
            &self.dec_in
        } else {
            &self.z
        };
        for i in 0..layers.dec_depth {
            let (done, rest) = self.dec_act.split_at_mut(i);
            let input: &[f32] = if i == 0 { dec_x } else { &done[i - 1] };
            forward(layers.dec(i), input, n, &mut rest[0], par, None);
            relu_in_place(&mut rest[0][..n * layers.dec(i).out]);
        }
        let dh: &[f32] = self.dec_act.last().map(Vec::as_slice).unwrap_or(dec_x);
        forward(layers.out(), dh, n, &mut self.logits, par, None);

        // Reconstruction error per sample and its gradient w.r.t. the logits, in one pass.
        let likelihood = layers.likelihood;
        let rows = self.d_logits[..n * d]
            .chunks_mut(d)
            .zip(self.logits[..n * d].chunks(d))
            .zip(x[..n * d].chunks(d))
            .zip(&mut self.row_recon[..n]);
        let row_loss = |(((g, lo), xo), sum): RowParts| {
            *sum = loss_and_grad(likelihood, lo, xo, g);
        };
        if matches!(par, Parallelism::None) {
            rows.for_each(row_loss);
        } else {
            rows.par_bridge().for_each(row_loss);
        }
        let recon: f64 = self.row_recon[..n].iter().map(|&v| v as f64).sum();

        // Decoder backward.
        // The first decoder layer's input gradient lands in d_z, or for a conditional model in
        // d_dec_in, whose code columns are copied into d_z below.
        if c > 0 {
            fit(&mut self.d_dec_in, n * (l + c));
        }
        let out_index = layers.dec_index(layers.dec_depth);
        {
            let input: &[f32] = self.dec_act.last().map(Vec::as_slice).unwrap_or(dec_x);
            let dx = match self.dec_grad.last_mut() {
                Some(g) => g,
                None if c > 0 => &mut self.d_dec_in,
                None => &mut self.d_z,
            };
            let grad = &mut self.grads[out_index];
            backward(
                layers.out(),
                input,
                &self.d_logits,
                n,
                grad,
                Some((&mut dx[..], false)),
                par,
                None,
            );
        }
        for i in (0..layers.dec_depth).rev() {
            relu_mask(
                &mut self.dec_grad[i][..n * layers.dec(i).out],
                &self.dec_act[i],
            );
            let (before, this) = self.dec_grad.split_at_mut(i);
            let input: &[f32] = if i == 0 { dec_x } else { &self.dec_act[i - 1] };
            let dx = match i {
                0 if c > 0 => &mut self.d_dec_in,
                0 => &mut self.d_z,
                _ => &mut before[i - 1],
            };
            let grad = &mut self.grads[layers.dec_index(i)];
            backward(
                layers.dec(i),
                input,
                &this[0],
                n,
                grad,
                Some((&mut dx[..], false)),
                par,
                None,
            );
        }

        if c > 0 {
            // The one-hot columns need no gradient; the code's go on through the sample.
            for (dz, row) in self.d_z[..nl]
                .chunks_exact_mut(l)
                .zip(self.d_dec_in.chunks_exact(l + c))
            {
                dz.copy_from_slice(&row[..l]);
            }
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
        let depth = layers.enc_depth;
        let mean_index = layers.mean_index();
        {
            let h: &[f32] = self.enc_act.last().map(Vec::as_slice).unwrap_or(enc_x);
            let (head_grads, _) = self.grads[mean_index..].split_at_mut(2);
            let (g_mean, g_logvar) = head_grads.split_at_mut(1);
            let mut dh = self.enc_grad.last_mut();
            let dx = dh.as_deref_mut().map(|g| (&mut g[..], false));
            backward(
                layers.mean(),
                h,
                &self.d_mu,
                n,
                &mut g_mean[0],
                dx,
                par,
                None,
            );
            let dx = dh.map(|g| (&mut g[..], true));
            backward(
                layers.logvar(),
                h,
                &self.d_lv,
                n,
                &mut g_logvar[0],
                dx,
                par,
                None,
            );
        }
        for i in (0..depth).rev() {
            relu_mask(
                &mut self.enc_grad[i][..n * layers.enc(i).out],
                &self.enc_act[i],
            );
            let (before, this) = self.enc_grad.split_at_mut(i);
            let input: &[f32] = if i == 0 { enc_x } else { &self.enc_act[i - 1] };
            // The input images need no gradient.
            let dx = if i == 0 {
                None
            } else {
                Some((&mut before[i - 1][..], false))
            };
            if i == 0 && first_sparse {
                self.sparse.index_columns();
            }
            let sparse = (i == 0 && first_sparse).then_some(&self.sparse);
            backward(
                layers.enc(i),
                input,
                &this[0],
                n,
                &mut self.grads[i],
                dx,
                par,
                sparse,
            );
        }
        StepSums { recon, kl }
    }
}

/// y[n, out] = x[n, inp] W^T + b.
fn forward(
    l: &Dense,
    x: &[f32],
    n: usize,
    y: &mut [f32],
    par: Parallelism,
    sparse: Option<&SparseRows>,
) {
    if let Some(sp) = sparse {
        assert!(
            l.input_major && sp.rows() == n,
            "sparse rows do not match the batch"
        );
        sparse_times_dense(sp, &l.w, l.out, &l.b, y);
        return;
    }
    dense::forward(l.weights(), x, n, y, par);
}

/// Gradients of W and b from the input x[n, inp] and the output gradient dy[n, out]; and,
/// when asked, dx[n, inp] = dy W (added to what dx holds when `accumulate`).
#[allow(clippy::too_many_arguments)]
fn backward(
    l: &Dense,
    x: &[f32],
    dy: &[f32],
    n: usize,
    grad: &mut Grad,
    dx: Option<(&mut [f32], bool)>,
    par: Parallelism,
    sparse: Option<&SparseRows>,
) {
    // The unsafe products below address exactly these extents: checked in release builds
    // too (a few comparisons per layer and step).
    assert!(
        x.len() >= n * l.inp
            && dy.len() >= n * l.out
            && grad.w.len() >= l.inp * l.out
            && l.w.len() >= l.inp * l.out,
        "layer buffers smaller than the product reads"
    );
    let (inp, out) = (l.inp as isize, l.out as isize);
    if let Some(sp) = sparse {
        assert!(l.input_major, "the sparse path needs input-major weights");
        sparse_transpose_times_dense(sp, dy, l.out, &mut grad.w);
    } else {
        // grad.w is [out, inp] (dy^T x) or, input-major, [inp, out] (x^T dy).
        // SAFETY: all three matrices are addressed within their n*inp, n*out, inp*out values.
        unsafe {
            if l.input_major {
                let (g, xp, dyp) = (grad.w.as_mut_ptr(), x.as_ptr(), dy.as_ptr());
                gemm(
                    l.inp, l.out, n, g, 1, out, false, xp, inp, 1, dyp, 1, out, 0.0, 1.0, false,
                    false, false, par,
                );
            } else {
                let (g, dyp, xp) = (grad.w.as_mut_ptr(), dy.as_ptr(), x.as_ptr());
                gemm(
                    l.out, l.inp, n, g, 1, inp, false, dyp, out, 1, xp, 1, inp, 0.0, 1.0, false,
                    false, false, par,
                );
            }
        }
    }
    grad.b.fill(0.0);
    for row in dy[..n * l.out].chunks_exact(l.out) {
        add_assign(&mut grad.b, row);
    }
    if let Some((dx, accumulate)) = dx {
        assert!(dx.len() >= n * l.inp, "dx smaller than the product writes");
        // dx = dy W: W read as [out, inp].
        let (w_cs, w_rs) = if l.input_major { (out, 1) } else { (1, inp) };
        // SAFETY: dx is n x inp, dy n x out, W inp * out values under these strides.
        unsafe {
            gemm(
                n,
                l.inp,
                l.out,
                dx.as_mut_ptr(),
                1,
                inp,
                accumulate,
                dy.as_ptr(),
                1,
                out,
                l.w.as_ptr(),
                w_cs,
                w_rs,
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
