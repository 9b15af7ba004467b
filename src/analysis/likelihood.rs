//! How likely the model finds each sample: the importance-weighted bound on log p(x) of
//! Burda, Grosse and Salakhutdinov (2016, "Importance Weighted Autoencoders"), beside the ELBO.
//!
//! With z_1..z_k drawn from the encoder's q(z|x),
//!
//! ```text
//! log p(x) >= L_k = log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x)
//! ```
//!
//! L_1 is the single-draw ELBO (in expectation), L_k never falls as k grows (in expectation)
//! and tends to log p(x) as k goes to infinity. The sum is taken in log space (log-sum-exp,
//! in f64), so weights of e^-700 do not underflow.
//!
//! **What log p(x|z) is.** The same per-sample reconstruction term the training loss uses
//! ([`crate::model::reconstruction_error`]), negated, plus a constant:
//!
//! - Bernoulli: -log p(x|z) = sum over pixels of the binary cross-entropy with logits; no
//!   constant (0). For grey pixels (MNIST's values in [0, 1]) this is the cross-entropy the
//!   model was trained on, not a normalised density over grey images, exactly as in PyTorch's
//!   example and most published MNIST VAE figures that do not binarise.
//! - Gaussian: training minimises the squared error sum (x - mu)^2, which is
//!   -log N(x; mu, 1/2) less its normalising constant; the constant is put back, so
//!   -log p(x|z) = sum (x - mu)^2 + D/2 ln(pi) (D values per image; 0.5724 nats per value) and the
//!   figures are a true log-density. [`LikelihoodEstimate::recon_constant`] holds the constant
//!   added, so `-(elbo + recon_constant)` is the training loss's figure.
//!
//! Both priors' and posteriors' 2 pi terms cancel in p(z)/q(z|x) and are left out. The
//! posterior's log-variance is clamped to +-30 as in the training loss.

use crate::data::{BatchBuffer, Dataset};
use crate::error::{Error, Result};
use crate::model::{Likelihood, Model, reconstruction_error};
use candle_core::Tensor;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The fewest and most importance samples per data sample.
pub const MIN_IW_SAMPLES: usize = 1;
pub const MAX_IW_SAMPLES: usize = 5000;

/// Decoded rows (sample, draw) per decoder call: a task holds about this many.
const ROWS_PER_BLOCK: usize = 1024;

/// Same clamp as the training loss (`vae::LOGVAR_LIMIT`).
const LOGVAR_LIMIT: f32 = 30.0;

/// Refuses a number of importance samples outside 1..=5000.
pub fn check_iw_samples(k: usize) -> Result<()> {
    if !(MIN_IW_SAMPLES..=MAX_IW_SAMPLES).contains(&k) {
        return Err(Error::InvalidArgument(format!(
            "{k} importance samples: the number must be from {MIN_IW_SAMPLES} to {MAX_IW_SAMPLES}"
        )));
    }
    Ok(())
}

/// The constant added to the training loss's reconstruction term to make -log p(x|z) a
/// normalised negative log-density (see the module's notes): 0 for Bernoulli, D/2 ln(pi) for
/// Gaussian (the unit-weight squared error is a Gaussian of variance 1/2).
pub fn recon_constant(likelihood: Likelihood, values_per_image: usize) -> f64 {
    match likelihood {
        Likelihood::Bernoulli => 0.0,
        Likelihood::Gaussian => 0.5 * values_per_image as f64 * std::f64::consts::PI.ln(),
    }
}

/// Per-sample ELBO and importance-weighted bound, in nats (log-likelihoods: usually negative
/// for Bernoulli images; their negation is the negative log-likelihood).
#[derive(Clone, Debug, Default)]
pub struct LikelihoodEstimate {
    /// k, the draws from q(z|x) per sample.
    pub samples: usize,
    pub seed: u64,
    /// Dataset indices, in the order asked for.
    pub indices: Vec<usize>,
    /// L_k, the importance-weighted lower bound on log p(x).
    pub iw_bound: Vec<f64>,
    /// The ELBO with the analytic KL and the reconstruction term averaged over the same k
    /// draws: -(mean_i recon(z_i) + recon_constant) - KL(q(z|x) || N(0, I)). The training
    /// loss reports the same estimate with one draw (and no constant). For k = 1 it differs
    /// from L_1 only in taking the KL exactly where L_1 uses the draw's log q(z|x) - log p(z):
    /// the two agree in expectation.
    pub elbo: Vec<f64>,
    /// The reconstruction term as the training loss reports it (no constant), averaged over
    /// the k draws.
    pub recon: Vec<f64>,
    /// KL(q(z|x) || N(0, I)), exact.
    pub kl: Vec<f64>,
    /// Added to every sample's -log p(x|z): see [`recon_constant`].
    pub recon_constant: f64,
}

impl LikelihoodEstimate {
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// L_k - ELBO of the `i`-th sample (never negative in expectation).
    pub fn gap(&self, i: usize) -> f64 {
        self.iw_bound[i] - self.elbo[i]
    }

    /// -L_k of the `i`-th sample: an upper bound on -log p(x) (nats).
    pub fn negative_log_likelihood(&self, i: usize) -> f64 {
        -self.iw_bound[i]
    }

    pub fn mean_iw_bound(&self) -> f64 {
        mean(&self.iw_bound)
    }

    pub fn mean_elbo(&self) -> f64 {
        mean(&self.elbo)
    }

    pub fn mean_gap(&self) -> f64 {
        self.mean_iw_bound() - self.mean_elbo()
    }

    /// Standard error of the mean of `values` (0 for fewer than two).
    pub fn standard_error(values: &[f64]) -> f64 {
        let n = values.len();
        if n < 2 {
            return 0.0;
        }
        let m = mean(values);
        let var = values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1) as f64;
        (var / n as f64).sqrt()
    }
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.iter().sum::<f64>() / v.len() as f64
}

/// The generator of one sample's draws: from the seed and the dataset index only, so a
/// sample's numbers do not depend on which other samples are scored, on the batch or on the
/// number of threads.
fn sample_rng(seed: u64, index: usize) -> StdRng {
    fn splitmix(mut x: u64) -> u64 {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^ (x >> 31)
    }
    StdRng::seed_from_u64(splitmix(seed ^ splitmix(index as u64)))
}

/// One task's result: per sample (iw bound, elbo, recon, kl).
type Row = (f64, f64, f64, f64);

/// The importance-weighted bound L_k and the ELBO of the samples at `indices`, with k = `k`
/// draws from q(z|x) per sample (1..=5000, refused otherwise), seeded: the same seed gives
/// the same numbers, whatever the thread count.
///
/// The samples are split into tasks of about 1024 decoded rows (k < 1024: 1024 / k samples a
/// task; larger k: one sample, decoded in blocks) run across rayon's threads. `progress` is
/// called with the fraction done (0 to 1) after each task, from any of the threads; `cancel`
/// is read before every decoder call, and when it is set the work stops and `Ok(None)` comes
/// back.
pub fn importance_weighted_bound(
    model: &Model,
    data: &Dataset,
    indices: &[usize],
    k: usize,
    seed: u64,
    progress: &(dyn Fn(f64) + Sync),
    cancel: &AtomicBool,
) -> Result<Option<LikelihoodEstimate>> {
    check_iw_samples(k)?;
    if indices.is_empty() {
        return Err(Error::InvalidArgument("no samples to evaluate".into()));
    }
    model.check_fits(data)?;
    if let Some(&i) = indices.iter().find(|&&i| i >= data.len()) {
        return Err(Error::InvalidArgument(format!(
            "index {i} is out of range: {} has {} samples",
            data.name,
            data.len()
        )));
    }
    let per_task = (ROWS_PER_BLOCK / k).max(1);
    let total = indices.len();
    let done = AtomicUsize::new(0);
    let constant = recon_constant(model.config().likelihood, data.shape.len());
    let results: Vec<Result<Option<Vec<Row>>>> = indices
        .par_chunks(per_task)
        .map(|chunk| {
            if cancel.load(Ordering::Relaxed) {
                return Ok(None);
            }
            let rows = evaluate_chunk(model, data, chunk, k, seed, constant, cancel)?;
            let finished = done.fetch_add(chunk.len(), Ordering::Relaxed) + chunk.len();
            if rows.is_some() {
                progress(finished as f64 / total as f64);
            }
            Ok(rows)
        })
        .collect();
    let mut est = LikelihoodEstimate {
        samples: k,
        seed,
        indices: indices.to_vec(),
        recon_constant: constant,
        ..Default::default()
    };
    for r in results {
        let Some(rows) = r? else {
            return Ok(None);
        };
        for (iw, elbo, recon, kl) in rows {
            est.iw_bound.push(iw);
            est.elbo.push(elbo);
            est.recon.push(recon);
            est.kl.push(kl);
        }
    }
    Ok(Some(est))
}

/// The rows of one task; None when cancelled.
fn evaluate_chunk(
    model: &Model,
    data: &Dataset,
    chunk: &[usize],
    k: usize,
    seed: u64,
    constant: f64,
    cancel: &AtomicBool,
) -> Result<Option<Vec<Row>>> {
    let device = model.device();
    let vae = model.vae();
    let likelihood = model.config().likelihood;
    let d = data.shape.len();
    let l = model.latent();
    let images = BatchBuffer::new().take(data, chunk);
    let x = Tensor::from_slice(&images, (chunk.len(), d), device)?;
    // A conditional model sees each sample's label in its encoder and in every decode of it.
    let labels = model.labels_of(data, chunk)?;
    let cond = model.condition_for(data, chunk)?;
    let (mean, logvar) = vae.encode(&x, cond.as_ref())?;
    let mean = mean.flatten_all()?.to_vec1::<f32>()?;
    let logvar: Vec<f32> = logvar
        .flatten_all()?
        .to_vec1::<f32>()?
        .into_iter()
        .map(|v| v.clamp(-LOGVAR_LIMIT, LOGVAR_LIMIT))
        .collect();

    // Every (sample, draw) pair, in order: a block is up to ROWS_PER_BLOCK consecutive pairs.
    let mut rngs: Vec<StdRng> = chunk.iter().map(|&i| sample_rng(seed, i)).collect();
    let mut log_w: Vec<Vec<f64>> = vec![Vec::with_capacity(k); chunk.len()];
    let mut recon_sum = vec![0f64; chunk.len()];
    let pairs = chunk.len() * k;
    let mut start = 0;
    let mut z = Vec::new();
    let mut targets = Vec::new();
    let mut prior_ratio = Vec::new();
    let mut owner = Vec::new();
    while start < pairs {
        if cancel.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let end = (start + ROWS_PER_BLOCK).min(pairs);
        z.clear();
        targets.clear();
        prior_ratio.clear();
        owner.clear();
        for pair in start..end {
            let s = pair / k;
            let (m, lv) = (&mean[s * l..(s + 1) * l], &logvar[s * l..(s + 1) * l]);
            // log p(z) - log q(z|x) = sum_d -z^2/2 + eps^2/2 + logvar/2 (the 2 pi terms cancel).
            let mut ratio = 0f64;
            for dim in 0..l {
                let eps: f32 = StandardNormal.sample(&mut rngs[s]);
                let zd = m[dim] + eps * (lv[dim] * 0.5).exp();
                z.push(zd);
                let (zd, eps, lv) = (zd as f64, eps as f64, lv[dim] as f64);
                ratio += 0.5 * (eps * eps + lv - zd * zd);
            }
            prior_ratio.push(ratio);
            targets.extend_from_slice(&images[s * d..(s + 1) * d]);
            owner.push(s);
        }
        let rows = end - start;
        let zt = Tensor::from_slice(&z, (rows, l), device)?;
        let xt = Tensor::from_slice(&targets, (rows, d), device)?;
        let block_cond = match (&labels, model.classes()) {
            (Some(labels), Some(classes)) => {
                let rows: Vec<u16> = owner.iter().map(|&s| labels[s]).collect();
                Some(crate::model::one_hot(&rows, classes, device)?)
            }
            _ => None,
        };
        let logits = vae.decode_logits(&zt, block_cond.as_ref())?;
        let recon = reconstruction_error(likelihood, &logits, &xt)?.to_vec1::<f32>()?;
        for ((&s, &r), &ratio) in owner.iter().zip(&recon).zip(&prior_ratio) {
            recon_sum[s] += r as f64;
            log_w[s].push(-(r as f64) - constant + ratio);
        }
        start = end;
    }

    let rows = (0..chunk.len())
        .map(|s| {
            let (m, lv) = (&mean[s * l..(s + 1) * l], &logvar[s * l..(s + 1) * l]);
            let kl: f64 = m
                .iter()
                .zip(lv)
                .map(|(&m, &lv)| {
                    let (m, lv) = (m as f64, lv as f64);
                    0.5 * (m * m + lv.exp() - 1.0 - lv)
                })
                .sum();
            let recon = recon_sum[s] / k as f64;
            let elbo = -(recon + constant) - kl;
            let iw = log_mean_exp(&log_w[s]);
            (iw, elbo, recon, kl)
        })
        .collect();
    Ok(Some(rows))
}

/// log (1/n) sum exp(v), without overflow or underflow.
pub fn log_mean_exp(v: &[f64]) -> f64 {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    let sum: f64 = v.iter().map(|x| (x - max).exp()).sum();
    max + (sum / v.len() as f64).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_mean_exp_is_stable() {
        assert!((log_mean_exp(&[0.0, 0.0]) - 0.0).abs() < 1e-12);
        let v = [-1000.0, -1000.0 + 2f64.ln()];
        assert!((log_mean_exp(&v) - (-1000.0 + 1.5f64.ln())).abs() < 1e-9);
        assert!((log_mean_exp(&[800.0]) - 800.0).abs() < 1e-12);
    }

    #[test]
    fn gaussian_constant_is_half_log_pi_per_value() {
        assert_eq!(recon_constant(Likelihood::Bernoulli, 784), 0.0);
        let c = recon_constant(Likelihood::Gaussian, 2);
        assert!((c - std::f64::consts::PI.ln()).abs() < 1e-12);
    }

    #[test]
    fn k_outside_1_to_5000_is_refused() {
        assert!(check_iw_samples(0).is_err());
        assert!(check_iw_samples(1).is_ok());
        assert!(check_iw_samples(5000).is_ok());
        assert!(check_iw_samples(5001).is_err());
    }
}
