//! Elementwise passes: the reconstruction loss with its gradient, Adam, and the ReLU's
//! forward and backward passes.
//!
//! The loss pass evaluates an exponential and a logarithm per pixel; libm's scalar calls cost
//! more there than the whole decoder product. These are branch-free polynomial versions (the
//! same range reductions libm uses, relative error below 4e-7, a few units in the last place, on the ranges used here) that the
//! compiler turns into vector code, with the sum kept in 16 lanes so it can vectorise too.

use super::multiversion;
use crate::model::Likelihood;

const LANES: usize = 16;

/// exp(x) for x <= 0 (inputs below -87 give ~0): Cody-Waite reduction by ln 2 and a degree-6
/// polynomial on [-ln2/2, ln2/2].
#[inline(always)]
fn exp_nonpositive(x: f32) -> f32 {
    let x = x.max(-87.0);
    let n = (x * std::f32::consts::LOG2_E).round_ties_even();
    let f = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    let p = 1.0
        + f * (1.0
            + f * (0.5
                + f * (0.166_666_67
                    + f * (0.041_666_668 + f * (0.008_333_334 + f * 0.001_388_889)))));
    // n is in [-126, 0]: the scale is a normal float.
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
    p * scale
}

/// ln(1 + e) for e in [0, 1], via ln(1+e) = 2 atanh(e / (2 + e)); s <= 1/3 so the odd series
/// converges fast, and small e keeps full relative precision.
#[inline(always)]
fn ln_1p_unit(e: f32) -> f32 {
    let s = e / (2.0 + e);
    let s2 = s * s;
    let series = 1.0
        + s2 * (1.0 / 3.0
            + s2 * (0.2
                + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0 + s2 * (1.0 / 13.0))))));
    2.0 * s * series
}

/// Per-pixel loss and d(loss)/d(logit) of one row.
#[inline(always)]
fn loss_and_grad_body(
    likelihood: Likelihood,
    logits: &[f32],
    target: &[f32],
    grad: &mut [f32],
) -> f32 {
    let mut acc = [0f32; LANES];
    let blocks = logits.len() / LANES * LANES;
    let pixel = |lg: f32, t: f32| -> (f32, f32) {
        // One exponential serves both the stable log-loss and the sigmoid.
        let e = exp_nonpositive(-lg.abs());
        let inv = 1.0 / (1.0 + e);
        let s = if lg >= 0.0 { inv } else { e * inv };
        match likelihood {
            Likelihood::Bernoulli => (lg.max(0.0) - lg * t + ln_1p_unit(e), s - t),
            Likelihood::Gaussian => {
                let err = s - t;
                (err * err, 2.0 * err * s * (1.0 - s))
            }
        }
    };
    for ((lo, to), go) in logits[..blocks]
        .chunks_exact(LANES)
        .zip(target[..blocks].chunks_exact(LANES))
        .zip(grad[..blocks].chunks_exact_mut(LANES))
    {
        for k in 0..LANES {
            let (loss, g) = pixel(lo[k], to[k]);
            acc[k] += loss;
            go[k] = g;
        }
    }
    let mut total: f32 = acc.iter().sum();
    for ((&lg, &t), g) in logits[blocks..]
        .iter()
        .zip(&target[blocks..])
        .zip(&mut grad[blocks..])
    {
        let (loss, d) = pixel(lg, t);
        total += loss;
        *g = d;
    }
    total
}

multiversion! {
    /// The reconstruction loss of one image (summed over pixels) from the decoder's logits,
    /// with its gradient written into `grad`: binary cross-entropy with logits, or squared
    /// error of the sigmoid.
    pub fn loss_and_grad(likelihood: Likelihood, logits: &[f32], target: &[f32], grad: &mut [f32]) -> f32
        => loss_and_grad_body
}

/// Adam's settings for one update, with the bias corrections of this step folded in.
#[derive(Clone, Copy, Debug)]
pub struct AdamStep {
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    /// lr / (1 - beta1^t).
    pub step_size: f32,
    /// 1 / sqrt(1 - beta2^t).
    pub inv_sqrt_bc2: f32,
}

#[inline(always)]
fn adam_body(step: AdamStep, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
    let (b1, b2) = (step.beta1, step.beta2);
    let n = p.len().min(g.len()).min(m.len()).min(v.len());
    let (p, g, m, v) = (&mut p[..n], &g[..n], &mut m[..n], &mut v[..n]);
    for i in 0..n {
        let gi = g[i];
        m[i] = b1 * m[i] + (1.0 - b1) * gi;
        v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
        // PyTorch's form: lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps).
        p[i] -= step.step_size * m[i] / (v[i].sqrt() * step.inv_sqrt_bc2 + step.eps);
    }
}

multiversion! {
    /// One Adam update of parameters `p` with gradient `g` and moments `m`, `v`.
    pub fn adam(step: AdamStep, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) => adam_body
}

#[inline(always)]
fn add_assign_body(dst: &mut [f32], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}

multiversion! {
    /// dst += src, elementwise (summing the gradients of batch shards).
    pub fn add_assign(dst: &mut [f32], src: &[f32]) => add_assign_body
}

#[inline(always)]
fn add_row_sums_body(sums: &mut [f32], rows: &[f32]) {
    match sums.len() {
        0 => {}
        // One column (the conv decoder's last layer): a plain sum, in a register's worth of
        // partial sums so that it vectorises.
        1 => {
            let mut lanes = [0f32; LANES];
            let mut blocks = rows.chunks_exact(LANES);
            for b in &mut blocks {
                for (l, v) in lanes.iter_mut().zip(b) {
                    *l += v;
                }
            }
            let tail: f32 = blocks.remainder().iter().sum();
            sums[0] += lanes.iter().sum::<f32>() + tail;
        }
        16 => add_row_sums_of::<16>(sums, rows),
        32 => add_row_sums_of::<32>(sums, rows),
        64 => add_row_sums_of::<64>(sums, rows),
        w => {
            for r in rows.chunks_exact(w) {
                for (s, v) in sums.iter_mut().zip(r) {
                    *s += v;
                }
            }
        }
    }
}

/// As [`add_row_sums_body`] for rows of a width known when compiling: the sums stay in
/// registers until the end.
#[inline(always)]
fn add_row_sums_of<const W: usize>(sums: &mut [f32], rows: &[f32]) {
    let mut acc = [0f32; W];
    for r in rows.chunks_exact(W) {
        for (a, v) in acc.iter_mut().zip(r) {
            *a += v;
        }
    }
    for (s, a) in sums.iter_mut().zip(&acc) {
        *s += a;
    }
}

multiversion! {
    /// sums[j] += the sum over the rows of `rows` (row-major, `sums.len()` wide) of column j:
    /// a bias gradient.
    pub fn add_row_sums(sums: &mut [f32], rows: &[f32]) => add_row_sums_body
}

#[inline(always)]
fn add_assign_finite_body(dst: &mut [f32], src: &[f32]) -> bool {
    let mut lanes = [0u32; LANES];
    let mut d_blocks = dst.chunks_exact_mut(LANES);
    let mut s_blocks = src.chunks_exact(LANES);
    for (d, s) in (&mut d_blocks).zip(&mut s_blocks) {
        for ((d, s), m) in d.iter_mut().zip(s).zip(&mut lanes) {
            *d += s;
            *m = (*m).max(d.to_bits() & 0x7fff_ffff);
        }
    }
    let mut largest = lanes.into_iter().max().unwrap_or(0);
    for (d, s) in d_blocks
        .into_remainder()
        .iter_mut()
        .zip(s_blocks.remainder())
    {
        *d += s;
        largest = largest.max(d.to_bits() & 0x7fff_ffff);
    }
    largest < f32::INFINITY.to_bits()
}

multiversion! {
    /// dst += src, and whether every sum is finite: the last shard's gradients are added and
    /// checked in one pass over them, not two (see [`all_finite`]).
    pub fn add_assign_finite(dst: &mut [f32], src: &[f32]) -> bool => add_assign_finite_body
}

#[inline(always)]
fn relu_in_place_body(v: &mut [f32]) {
    v.iter_mut().for_each(|x| *x = x.max(0.0));
}

multiversion! {
    /// v = max(v, 0), elementwise.
    pub fn relu_in_place(v: &mut [f32]) => relu_in_place_body
}

// A select, not `if a <= 0.0 { *g = 0.0 }`: the compiler cannot vectorise a conditional
// store without masked stores, and the branch it leaves mispredicts on about half of a ReLU
// layer's units (measured: 9% of a conv training step on an Intel Xeon).
#[inline(always)]
fn relu_mask_body(grad: &mut [f32], activation: &[f32]) {
    for (g, &a) in grad.iter_mut().zip(activation) {
        *g = if a <= 0.0 { 0.0 } else { *g };
    }
}

multiversion! {
    /// Zeroes the gradient where the ReLU was inactive (activation <= 0).
    pub fn relu_mask(grad: &mut [f32], activation: &[f32]) => relu_mask_body
}

/// dst[i] = src[i] / 255 (pixel bytes to [0, 1]), exactly `b as f32 / 255.0` for every byte.
pub fn bytes_to_unit(src: &[u8], dst: &mut [f32]) {
    bytes_to_unit_dispatch(src, dst)
}

#[inline(always)]
fn bytes_to_unit_body(src: &[u8], dst: &mut [f32]) {
    for (d, &b) in dst.iter_mut().zip(src) {
        *d = b as f32 / 255.0;
    }
}

super::multiversion! {
    fn bytes_to_unit_dispatch(src: &[u8], dst: &mut [f32]) => bytes_to_unit_body
}

/// Whether every value is finite (no infinity, no NaN). Checked on every training step over
/// all the gradients: as a plain `all(is_finite)` it was a scalar loop with a branch per value,
/// 2.8% of a two-thread Fashion-MNIST run on the thread every step waits for. Here the
/// largest magnitude's bit pattern is kept in vector lanes (a float's bits without the sign
/// compare like its magnitude, infinity and NaN above every finite value).
pub fn all_finite(values: &[f32]) -> bool {
    // Blocks, so that a NaN early on does not cost a pass over the rest.
    values.chunks(4096).all(all_finite_dispatch)
}

#[inline(always)]
fn all_finite_body(values: &[f32]) -> bool {
    let mut lanes = [0u32; LANES];
    let mut blocks = values.chunks_exact(LANES);
    for block in &mut blocks {
        for (m, v) in lanes.iter_mut().zip(block) {
            *m = (*m).max(v.to_bits() & 0x7fff_ffff);
        }
    }
    let largest = blocks
        .remainder()
        .iter()
        .map(|v| v.to_bits() & 0x7fff_ffff)
        .chain(lanes)
        .max()
        .unwrap_or(0);
    largest < f32::INFINITY.to_bits()
}

multiversion! {
    fn all_finite_dispatch(values: &[f32]) -> bool => all_finite_body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relu_passes_match_their_definitions() {
        // 37 values: two full vectors and a tail.
        let act: Vec<f32> = (0..37).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
        let mut relu = act.clone();
        relu_in_place(&mut relu);
        let mut grad: Vec<f32> = (0..37).map(|i| i as f32 + 1.0).collect();
        relu_mask(&mut grad, &act);
        for (i, ((&a, &r), &g)) in act.iter().zip(&relu).zip(&grad).enumerate() {
            assert_eq!(r, a.max(0.0));
            let want = if a > 0.0 { i as f32 + 1.0 } else { 0.0 };
            assert_eq!(g, want, "unit {i}, activation {a}");
        }
    }

    #[test]
    fn polynomial_exp_and_log_match_libm() {
        let mut worst = (0f32, 0f32);
        for i in 0..=200_000 {
            let x = -(i as f32) * 87.0 / 200_000.0;
            let rel = ((exp_nonpositive(x) - x.exp()) / x.exp()).abs();
            worst.0 = worst.0.max(rel);
            let e = i as f32 / 200_000.0;
            let want = e.ln_1p();
            let rel = if want == 0.0 {
                ln_1p_unit(e).abs()
            } else {
                ((ln_1p_unit(e) - want) / want).abs()
            };
            worst.1 = worst.1.max(rel);
        }
        assert!(worst.0 < 4e-7 && worst.1 < 4e-7, "{worst:?}");
    }

    #[test]
    fn loss_matches_the_scalar_formula() {
        let logits: Vec<f32> = (0..787).map(|i| (i as f32 * 0.37).sin() * 12.0).collect();
        let target: Vec<f32> = (0..787).map(|i| ((i * 7) % 256) as f32 / 255.0).collect();
        for likelihood in [Likelihood::Bernoulli, Likelihood::Gaussian] {
            let mut grad = vec![0f32; logits.len()];
            let got = loss_and_grad(likelihood, &logits, &target, &mut grad);
            let mut want = 0f64;
            for (k, (&lg, &t)) in logits.iter().zip(&target).enumerate() {
                let (lg64, t64) = (lg as f64, t as f64);
                let s = 1.0 / (1.0 + (-lg64).exp());
                let (loss, g) = match likelihood {
                    Likelihood::Bernoulli => (
                        lg64.max(0.0) - lg64 * t64 + (-lg64.abs()).exp().ln_1p(),
                        s - t64,
                    ),
                    Likelihood::Gaussian => ((s - t64).powi(2), 2.0 * (s - t64) * s * (1.0 - s)),
                };
                want += loss;
                assert!((grad[k] as f64 - g).abs() < 1e-6, "{likelihood} grad {k}");
            }
            assert!(
                ((got as f64 - want) / want).abs() < 1e-5,
                "{likelihood}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn bytes_to_unit_gives_each_byte_over_255_exactly() {
        let bytes: Vec<u8> = (0..=255u8).chain((0..37).map(|i| (i * 7) as u8)).collect();
        let mut out = vec![f32::NAN; bytes.len()];
        bytes_to_unit(&bytes, &mut out);
        for (&b, &f) in bytes.iter().zip(&out) {
            assert_eq!(f.to_bits(), (b as f32 / 255.0).to_bits(), "byte {b}");
        }
    }

    #[test]
    fn all_finite_finds_any_infinity_or_nan_anywhere() {
        for len in [0usize, 1, 15, 16, 17, 4095, 4096, 4097, 10_000] {
            let values: Vec<f32> = (0..len).map(|i| (i as f32 - 500.0) * 1e30).collect();
            assert!(all_finite(&values), "len {len}");
            for at in [0, len / 2, len.saturating_sub(1)] {
                for bad in [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -f32::NAN] {
                    if len == 0 {
                        continue;
                    }
                    let mut v = values.clone();
                    v[at] = bad;
                    assert!(!all_finite(&v), "{bad} at {at} of {len}");
                }
            }
        }
        assert!(all_finite(&[f32::MAX, f32::MIN, f32::MIN_POSITIVE, -0.0]));
    }

    #[test]
    fn row_sums_match_a_plain_loop() {
        for width in [1usize, 3, 16, 32, 64] {
            for rows in [0usize, 1, 5, 37] {
                let m: Vec<f32> = (0..rows * width).map(|i| (i % 13) as f32 - 6.0).collect();
                let mut sums: Vec<f32> = (0..width).map(|j| j as f32).collect();
                add_row_sums(&mut sums, &m);
                for (j, &s) in sums.iter().enumerate() {
                    let want = j as f32 + (0..rows).map(|r| m[r * width + j]).sum::<f32>();
                    assert!(
                        (s - want).abs() < 1e-4,
                        "width {width}, column {j}: {s} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn add_assign_finite_adds_and_finds_overflow() {
        for len in [0usize, 7, 16, 33, 1000] {
            let mut dst: Vec<f32> = (0..len).map(|i| i as f32).collect();
            let src: Vec<f32> = (0..len).map(|i| 2.0 * i as f32).collect();
            assert!(add_assign_finite(&mut dst, &src));
            assert!(dst.iter().enumerate().all(|(i, &v)| v == 3.0 * i as f32));
            if len > 0 {
                // Two finite values whose sum overflows, at the end (the scalar tail or a
                // vector lane).
                let mut big = vec![0.0f32; len];
                big[len - 1] = f32::MAX;
                let mut dst = big.clone();
                assert!(!add_assign_finite(&mut dst, &big));
            }
        }
    }
}
