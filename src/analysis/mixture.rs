//! A Gaussian mixture fitted to the codes, to sample where the data is rather than from the
//! prior N(0, I) (whose mass partly lies where no code does: see [`super::holes`]).
//!
//! Fitted by expectation-maximisation from a seeded k-means++/k-means start
//! ([`super::kmeans`]), as scikit-learn's `GaussianMixture` does; the number of components is
//! given or chosen by the Bayesian information criterion.
//!
//! **Full covariance by default.** The codes of one digit form a tilted, elongated cloud (a
//! VAE's latent dimensions are not independent within a class), which a diagonal covariance
//! can only cover with several components or a blob that spills into the space around it;
//! with 16 dimensions a full covariance is 136 numbers per component, which 70,000 codes pin
//! down easily. Diagonal is offered for many dimensions and few codes.
//!
//! **Why not linfa-clustering** (0.8.1, read in its source): its `GaussianMixtureModel` sums
//! `exp(log p)` over components without the log-sum-exp shift, so a code far from every
//! component (log densities below -745) gets responsibilities of 0/0; it only has full
//! covariance, returns an error rather than the model when EM has not converged within its
//! iterations, has no sampling, and brings ndarray 0.16, ndarray-stats, linfa-nn and a second
//! `rand` (0.8) into a crate that already has nalgebra and rand 0.9. Measured on the 70,000
//! latent-16 MNIST codes (2 shared AMD EPYC cores, load average about 10): its `KMeans` with
//! default settings (10 runs) took 100 s, and its `GaussianMixtureModel` with k = 10 had not
//! finished 200 s later; the fit here took 10-13 s wall (about 5 CPU-seconds) on the same
//! machine. The EM here is ~300 lines and uses nalgebra's Cholesky factorisation.
//!
//! Everything is in f64; the points are row-major `[n, dims]` f32 codes.

use super::kmeans::{check_points, kmeans};
use crate::error::{Error, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use std::fmt;
use std::str::FromStr;

/// The shape of each component's covariance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Covariance {
    /// A full symmetric matrix per component (the default: see the module's notes).
    #[default]
    Full,
    /// Independent dimensions within a component.
    Diagonal,
}

impl FromStr for Covariance {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "full" => Ok(Covariance::Full),
            "diagonal" | "diag" => Ok(Covariance::Diagonal),
            _ => Err(format!("'{s}' is not a covariance: full or diagonal")),
        }
    }
}

impl fmt::Display for Covariance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Covariance::Full => "full",
            Covariance::Diagonal => "diagonal",
        })
    }
}

/// How many components: a fixed number, or the one of 1..=max with the lowest BIC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Components {
    Fixed(usize),
    Bic { max: usize },
}

/// The largest k tried by `bic` without a bound.
pub const DEFAULT_BIC_MAX: usize = 20;

/// Codes used to compare the candidates for BIC (a seeded sample; the chosen k is then fitted
/// to all codes). 10,000 codes tell 16-D mixtures of up to 20 components apart and keep a
/// sweep of 20 fits within seconds.
pub const BIC_SAMPLE: usize = 10_000;

impl FromStr for Components {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let s = s.trim();
        let bad = || format!("'{s}' is not a number of components, 'bic' or 'bic:MAX'");
        let k = |t: &str| -> std::result::Result<usize, String> {
            match t.trim().parse::<usize>() {
                Ok(k) if (1..=super::MAX_CLUSTERS).contains(&k) => Ok(k),
                Ok(k) => Err(format!(
                    "{k} components: the number must be from 1 to {}",
                    super::MAX_CLUSTERS
                )),
                Err(_) => Err(bad()),
            }
        };
        if s.eq_ignore_ascii_case("bic") {
            Ok(Components::Bic {
                max: DEFAULT_BIC_MAX,
            })
        } else if let Some(max) = s.strip_prefix("bic:") {
            Ok(Components::Bic { max: k(max)? })
        } else {
            k(s).map(Components::Fixed).map_err(
                |e| {
                    if s.parse::<usize>().is_ok() { e } else { bad() }
                },
            )
        }
    }
}

impl fmt::Display for Components {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Components::Fixed(k) => write!(f, "{k}"),
            Components::Bic { max } => write!(f, "bic:{max}"),
        }
    }
}

/// How a mixture is fitted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MixtureOptions {
    pub covariance: Covariance,
    pub seed: u64,
    pub max_iterations: usize,
    /// EM stops when the mean log-likelihood per code moves less than this (nats).
    pub tolerance: f64,
    /// Added to every covariance's diagonal so that a component on a flat cloud (an inactive
    /// latent dimension) stays invertible.
    pub regularization: f64,
}

impl Default for MixtureOptions {
    fn default() -> Self {
        // scikit-learn's defaults.
        Self {
            covariance: Covariance::Full,
            seed: 1,
            max_iterations: 100,
            tolerance: 1e-3,
            regularization: 1e-6,
        }
    }
}

/// A fitted mixture of Gaussians.
#[derive(Clone, Debug)]
pub struct GaussianMixture {
    dims: usize,
    covariance: Covariance,
    weights: Vec<f64>,
    /// ln of each weight (-inf for a component that lost all its codes).
    log_weights: Vec<f64>,
    /// `[k, dims]`.
    means: Vec<f64>,
    /// Lower Cholesky factors of the covariances, `[k, dims, dims]` row-major.
    chol: Vec<f64>,
    /// log det(L_j) = half the log-determinant of covariance j.
    half_log_det: Vec<f64>,
    /// Mean log-density of the fitted codes under the final parameters (nats per code).
    pub log_likelihood: f64,
    /// Codes it was fitted to.
    pub fitted_on: usize,
    pub iterations: usize,
    /// EM stopped because the log-likelihood settled (not at the iteration limit).
    pub converged: bool,
}

/// A fit and, when k was chosen by BIC, the BIC of every candidate (k, BIC on the sample).
#[derive(Clone, Debug)]
pub struct MixtureFit {
    pub mixture: GaussianMixture,
    pub bic: Vec<(usize, f64)>,
}

/// Points per parallel task.
const CHUNK: usize = 2048;
/// Responsibilities below this are left out of the sums (they change nothing visible).
const NEGLIGIBLE: f64 = 1e-10;
const LN_2PI: f64 = 1.837_877_066_409_345_5;

impl GaussianMixture {
    pub fn k(&self) -> usize {
        self.weights.len()
    }
    pub fn dims(&self) -> usize {
        self.dims
    }
    pub fn covariance_kind(&self) -> Covariance {
        self.covariance
    }
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }
    pub fn mean(&self, j: usize) -> &[f64] {
        &self.means[j * self.dims..(j + 1) * self.dims]
    }

    /// Covariance matrix of component `j` (`[dims, dims]`, row-major): L L^T.
    pub fn covariance(&self, j: usize) -> Vec<f64> {
        let d = self.dims;
        let l = &self.chol[j * d * d..(j + 1) * d * d];
        let mut c = vec![0.0; d * d];
        for r in 0..d {
            for s in 0..d {
                c[r * d + s] = (0..=r.min(s)).map(|t| l[r * d + t] * l[s * d + t]).sum();
            }
        }
        c
    }

    /// Free parameters: k - 1 weights, k means, and k covariances.
    pub fn parameter_count(&self) -> usize {
        parameter_count(self.k(), self.dims, self.covariance)
    }

    /// log w_j + log N(x; mu_j, Sigma_j) for every component.
    fn component_log_probs(&self, x: &[f32], out: &mut [f64]) {
        let d = self.dims;
        let mut y = [0f64; 64];
        let mut y_heap = Vec::new();
        let y: &mut [f64] = if d <= 64 {
            &mut y[..d]
        } else {
            y_heap.resize(d, 0.0);
            &mut y_heap
        };
        for (j, o) in out.iter_mut().enumerate() {
            let mu = self.mean(j);
            let l = &self.chol[j * d * d..(j + 1) * d * d];
            // y = L^-1 (x - mu) by forward substitution; |y|^2 is the Mahalanobis distance.
            let mut maha = 0.0;
            for r in 0..d {
                let mut v = x[r] as f64 - mu[r];
                if self.covariance == Covariance::Full {
                    // Slices, so the inner product runs without bounds checks.
                    let row = &l[r * d..r * d + r];
                    v -= row.iter().zip(&y[..r]).map(|(a, b)| a * b).sum::<f64>();
                }
                v /= l[r * d + r];
                y[r] = v;
                maha += v * v;
            }
            *o = self.log_weights[j] - 0.5 * (d as f64 * LN_2PI + maha) - self.half_log_det[j];
        }
    }

    /// log p(x) of one code under the mixture.
    pub fn log_density(&self, x: &[f32]) -> f64 {
        let mut lp = vec![0.0; self.k()];
        self.component_log_probs(x, &mut lp);
        log_sum_exp(&lp)
    }

    /// log p(x) of every code.
    pub fn log_densities(&self, points: &[f32]) -> Vec<f64> {
        points
            .par_chunks(self.dims)
            .map(|x| self.log_density(x))
            .collect()
    }

    /// The posterior probability of each component for each code, `[n, k]`; rows sum to 1.
    pub fn responsibilities(&self, points: &[f32]) -> Vec<f64> {
        let k = self.k();
        let mut out = vec![0.0; points.len() / self.dims * k];
        out.par_chunks_mut(k)
            .zip(points.par_chunks(self.dims))
            .for_each(|(r, x)| {
                self.component_log_probs(x, r);
                let norm = log_sum_exp(r);
                r.iter_mut().for_each(|v| *v = (*v - norm).exp());
            });
        out
    }

    /// The most responsible component of each code.
    pub fn predict(&self, points: &[f32]) -> Vec<usize> {
        let k = self.k();
        self.responsibilities(points)
            .chunks(k)
            .map(|r| {
                r.iter()
                    .enumerate()
                    .fold((0, f64::MIN), |b, (j, &v)| if v > b.1 { (j, v) } else { b })
                    .0
            })
            .collect()
    }

    /// BIC of the mixture on `points`: -2 log-likelihood + parameters x ln n (lower is better).
    pub fn bic(&self, points: &[f32]) -> f64 {
        let n = points.len() / self.dims;
        let ll: f64 = self.log_densities(points).iter().sum();
        -2.0 * ll + self.parameter_count() as f64 * (n as f64).ln()
    }

    /// `n` codes drawn from the mixture, `[n, dims]`, seeded: a component by its weight, then
    /// mu + temperature L eps (temperature 1 is the mixture itself; lower keeps each draw nearer
    /// its component's centre, as the prior's temperature does).
    pub fn sample(&self, n: usize, temperature: f32, seed: u64) -> Vec<f32> {
        let d = self.dims;
        let mut rng = StdRng::seed_from_u64(seed);
        let total: f64 = self.weights.iter().sum();
        let mut out = Vec::with_capacity(n * d);
        let mut eps = vec![0f64; d];
        for _ in 0..n {
            let mut u = rng.random::<f64>() * total;
            let mut j = self.k() - 1;
            for (c, &w) in self.weights.iter().enumerate() {
                if u < w {
                    j = c;
                    break;
                }
                u -= w;
            }
            eps.iter_mut()
                .for_each(|e| *e = StandardNormal.sample(&mut rng));
            let l = &self.chol[j * d * d..(j + 1) * d * d];
            let mu = self.mean(j);
            for r in 0..d {
                let spread: f64 = (0..=r).map(|t| l[r * d + t] * eps[t]).sum();
                out.push((mu[r] + temperature as f64 * spread) as f32);
            }
        }
        out
    }
}

fn parameter_count(k: usize, d: usize, covariance: Covariance) -> usize {
    let per_cov = match covariance {
        Covariance::Full => d * (d + 1) / 2,
        Covariance::Diagonal => d,
    };
    (k - 1) + k * d + k * per_cov
}

/// log sum exp(v), shifted by the largest so that nothing underflows.
pub fn log_sum_exp(v: &[f64]) -> f64 {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + v.iter().map(|x| (x - max).exp()).sum::<f64>().ln()
}

/// Sufficient statistics of one EM pass: sum of responsibilities, of r x and of r x x^T per
/// component (for diagonal covariance only the diagonal of the last).
struct Stats {
    nk: Vec<f64>,
    sx: Vec<f64>,
    sxx: Vec<f64>,
    log_likelihood: f64,
}

impl Stats {
    fn zero(k: usize, d: usize) -> Self {
        Self {
            nk: vec![0.0; k],
            sx: vec![0.0; k * d],
            sxx: vec![0.0; k * d * d],
            log_likelihood: 0.0,
        }
    }

    fn add(&mut self, j: usize, r: f64, x: &[f32], covariance: Covariance) {
        let d = x.len();
        self.nk[j] += r;
        let sx = &mut self.sx[j * d..(j + 1) * d];
        let sxx = &mut self.sxx[j * d * d..(j + 1) * d * d];
        for a in 0..d {
            let xa = x[a] as f64;
            sx[a] += r * xa;
            match covariance {
                Covariance::Full => {
                    let rxa = r * xa;
                    for b in a..d {
                        sxx[a * d + b] += rxa * x[b] as f64;
                    }
                }
                Covariance::Diagonal => sxx[a * d + a] += r * xa * xa,
            }
        }
    }

    fn merge(mut self, other: Stats) -> Stats {
        let add = |a: &mut [f64], b: &[f64]| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        add(&mut self.nk, &other.nk);
        add(&mut self.sx, &other.sx);
        add(&mut self.sxx, &other.sxx);
        self.log_likelihood += other.log_likelihood;
        self
    }
}

/// One E-step over all points: responsibilities under `m`, accumulated.
fn expectation(m: &GaussianMixture, points: &[f32]) -> Stats {
    let (k, d) = (m.k(), m.dims);
    points
        .par_chunks(CHUNK * d)
        .map(|chunk| {
            let mut s = Stats::zero(k, d);
            let mut lp = vec![0.0; k];
            for x in chunk.chunks_exact(d) {
                m.component_log_probs(x, &mut lp);
                let norm = log_sum_exp(&lp);
                s.log_likelihood += norm;
                for (j, &l) in lp.iter().enumerate() {
                    let r = (l - norm).exp();
                    if r > NEGLIGIBLE {
                        s.add(j, r, x, m.covariance);
                    }
                }
            }
            s
        })
        .reduce(|| Stats::zero(k, d), Stats::merge)
}

/// The M-step: weights, means and covariances from the statistics. A component that lost
/// all its codes keeps its old mean and covariance with a zero weight (it is never drawn).
fn maximization(
    m: &mut GaussianMixture,
    s: &Stats,
    n: usize,
    options: &MixtureOptions,
) -> Result<()> {
    let d = m.dims;
    for j in 0..m.k() {
        let nk = s.nk[j];
        m.weights[j] = nk / n as f64;
        m.log_weights[j] = m.weights[j].ln();
        if nk < 1e-8 {
            continue;
        }
        let mu: Vec<f64> = s.sx[j * d..(j + 1) * d].iter().map(|v| v / nk).collect();
        let sxx = &s.sxx[j * d * d..(j + 1) * d * d];
        let mut cov = vec![0.0; d * d];
        for a in 0..d {
            let range = match m.covariance {
                Covariance::Full => a..d,
                Covariance::Diagonal => a..a + 1,
            };
            for b in range {
                let c = sxx[a * d + b] / nk - mu[a] * mu[b];
                cov[a * d + b] = c;
                cov[b * d + a] = c;
            }
        }
        let (l, half_log_det) = cholesky(&cov, d, options.regularization).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "component {} of the mixture has a covariance that cannot be inverted (are the codes all equal?)",
                j + 1
            ))
        })?;
        m.means[j * d..(j + 1) * d].copy_from_slice(&mu);
        m.chol[j * d * d..(j + 1) * d * d].copy_from_slice(&l);
        m.half_log_det[j] = half_log_det;
    }
    Ok(())
}

/// Lower Cholesky factor of cov + reg I (row-major) and log det(L). The regularisation grows
/// tenfold, up to six times, until the factorisation succeeds.
fn cholesky(cov: &[f64], d: usize, reg: f64) -> Option<(Vec<f64>, f64)> {
    let scale = (0..d).map(|a| cov[a * d + a].abs()).fold(0.0, f64::max);
    let mut reg = reg.max(scale * 1e-12);
    for _ in 0..7 {
        let mut m = nalgebra::DMatrix::from_row_slice(d, d, cov);
        for a in 0..d {
            m[(a, a)] += reg;
        }
        if let Some(c) = m.cholesky() {
            let l = c.l();
            let mut out = vec![0.0; d * d];
            let mut log_det = 0.0;
            for r in 0..d {
                for s in 0..=r {
                    out[r * d + s] = l[(r, s)];
                }
                log_det += l[(r, r)].ln();
            }
            if log_det.is_finite() {
                return Some((out, log_det));
            }
        }
        reg *= 10.0;
    }
    None
}

/// Fits a k-component mixture to `points` (`[n, dims]`), seeded.
pub fn fit_mixture(
    points: &[f32],
    dims: usize,
    k: usize,
    options: &MixtureOptions,
) -> Result<GaussianMixture> {
    let n = check_points(points, dims, k)?;
    let start = kmeans(points, dims, k, options.seed)?;
    let mut m = GaussianMixture {
        dims,
        covariance: options.covariance,
        weights: vec![0.0; k],
        log_weights: vec![0.0; k],
        means: start.centroids.clone(),
        chol: vec![0.0; k * dims * dims],
        half_log_det: vec![0.0; k],
        log_likelihood: f64::NEG_INFINITY,
        fitted_on: n,
        iterations: 0,
        converged: false,
    };
    // Every component starts as the Gaussian of one k-means cluster (and as the unit
    // Gaussian at its centroid, in case the cluster is a single point).
    for j in 0..k {
        for a in 0..dims {
            m.chol[j * dims * dims + a * dims + a] = 1.0;
        }
    }
    let mut hard = Stats::zero(k, dims);
    for (x, &a) in points.chunks_exact(dims).zip(&start.assignments) {
        hard.add(a, 1.0, x, options.covariance);
    }
    maximization(&mut m, &hard, n, options)?;
    let mut previous = f64::NEG_INFINITY;
    for iteration in 1..=options.max_iterations.max(1) {
        let stats = expectation(&m, points);
        let ll = stats.log_likelihood / n as f64;
        m.iterations = iteration;
        m.log_likelihood = ll;
        if (ll - previous).abs() < options.tolerance {
            m.converged = true;
            break;
        }
        previous = ll;
        maximization(&mut m, &stats, n, options)?;
    }
    if !m.converged {
        // The last M-step moved the parameters: the figure must be theirs.
        m.log_likelihood = expectation(&m, points).log_likelihood / n as f64;
    }
    Ok(m)
}

/// Fits a mixture with a given number of components or the number (1..=max) with the lowest
/// BIC. BIC compares the candidates on a seeded sample of at most [`BIC_SAMPLE`] codes; the
/// chosen k is then fitted to all of them.
pub fn fit_mixture_components(
    points: &[f32],
    dims: usize,
    components: Components,
    options: &MixtureOptions,
) -> Result<MixtureFit> {
    let max = match components {
        Components::Fixed(k) => {
            return Ok(MixtureFit {
                mixture: fit_mixture(points, dims, k, options)?,
                bic: Vec::new(),
            });
        }
        Components::Bic { max } => max,
    };
    let n = check_points(points, dims, 1)?;
    let sample: Vec<f32> = if n > BIC_SAMPLE {
        let mut rng = StdRng::seed_from_u64(options.seed);
        let mut picked = rand::seq::index::sample(&mut rng, n, BIC_SAMPLE).into_vec();
        picked.sort_unstable();
        picked
            .iter()
            .flat_map(|&i| &points[i * dims..(i + 1) * dims])
            .copied()
            .collect()
    } else {
        points.to_vec()
    };
    let whole = sample.len() == points.len();
    let most = max.min(sample.len() / dims);
    let mut bic = Vec::with_capacity(most);
    let mut best: Option<(f64, usize, GaussianMixture)> = None;
    for k in 1..=most {
        let m = fit_mixture(&sample, dims, k, options)?;
        let b = m.bic(&sample);
        bic.push((k, b));
        if best.as_ref().is_none_or(|(lowest, _, _)| b < *lowest) {
            best = Some((b, k, m));
        }
    }
    let (_, k, fitted) = best.ok_or_else(|| Error::InvalidArgument("no codes to fit".into()))?;
    // Fitted on the sample: when the sample is every code, that fit is the answer.
    let mixture = if whole {
        fitted
    } else {
        fit_mixture(points, dims, k, options)?
    };
    Ok(MixtureFit { mixture, bic })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `per` draws from each of three 2-D Gaussians with known means and covariances.
    fn three_gaussians(per: usize, seed: u64) -> (Vec<f32>, [[f64; 2]; 3]) {
        let means = [[-4.0, 0.0], [3.0, 3.0], [2.0, -4.0]];
        // Cholesky factors: one round, one tilted, one stretched.
        let chol = [
            [[1.0, 0.0], [0.0, 1.0]],
            [[1.0, 0.0], [0.8, 0.6]],
            [[0.3, 0.0], [0.0, 1.5]],
        ];
        let mut rng = StdRng::seed_from_u64(seed);
        let mut points = Vec::new();
        for (mu, l) in means.iter().zip(&chol) {
            for _ in 0..per {
                let e: [f64; 2] = [
                    StandardNormal.sample(&mut rng),
                    StandardNormal.sample(&mut rng),
                ];
                points.push((mu[0] + l[0][0] * e[0]) as f32);
                points.push((mu[1] + l[1][0] * e[0] + l[1][1] * e[1]) as f32);
            }
        }
        (points, means)
    }

    #[test]
    fn the_means_of_three_known_gaussians_are_recovered() {
        let (points, truth) = three_gaussians(2000, 3);
        for covariance in [Covariance::Full, Covariance::Diagonal] {
            let options = MixtureOptions {
                covariance,
                ..Default::default()
            };
            let m = fit_mixture(&points, 2, 3, &options).unwrap();
            assert!(m.converged, "{covariance:?}");
            for mu in truth {
                // The standard error of a mean of 2,000 draws is about 0.03 per coordinate.
                let nearest = (0..3)
                    .map(|j| {
                        let f = m.mean(j);
                        ((f[0] - mu[0]).powi(2) + (f[1] - mu[1]).powi(2)).sqrt()
                    })
                    .fold(f64::MAX, f64::min);
                assert!(nearest < 0.15, "{covariance:?}: {mu:?} missed by {nearest}");
            }
            for w in m.weights() {
                assert!((w - 1.0 / 3.0).abs() < 0.02, "{covariance:?}: weight {w}");
            }
        }
        // The full fit also recovers the tilted component's covariance [[1, 0.8], [0.8, 1]].
        let m = fit_mixture(&points, 2, 3, &MixtureOptions::default()).unwrap();
        let j = (0..3)
            .min_by(|&a, &b| {
                let d = |j: usize| (m.mean(j)[0] - 3.0).abs() + (m.mean(j)[1] - 3.0).abs();
                d(a).total_cmp(&d(b))
            })
            .unwrap();
        let c = m.covariance(j);
        assert!(
            (c[1] - 0.8).abs() < 0.1 && (c[0] - 1.0).abs() < 0.1,
            "{c:?}"
        );
    }

    #[test]
    fn bic_chooses_three_components_for_three_gaussians() {
        let (points, _) = three_gaussians(500, 5);
        let fit = fit_mixture_components(
            &points,
            2,
            Components::Bic { max: 6 },
            &MixtureOptions::default(),
        )
        .unwrap();
        assert_eq!(fit.mixture.k(), 3, "BIC: {:?}", fit.bic);
        assert_eq!(fit.bic.len(), 6);
    }

    #[test]
    fn samples_follow_the_mixture_and_are_seeded() {
        let (points, _) = three_gaussians(2000, 3);
        let m = fit_mixture(&points, 2, 3, &MixtureOptions::default()).unwrap();
        let s = m.sample(6000, 1.0, 9);
        assert_eq!(s, m.sample(6000, 1.0, 9));
        // Samples are as likely under the mixture as the data it was fitted to.
        let mean_ll = |p: &[f32]| m.log_densities(p).iter().sum::<f64>() / (p.len() / 2) as f64;
        assert!((mean_ll(&s) - m.log_likelihood).abs() < 0.1);
        // Temperature 0 gives the component means only.
        let cold = m.sample(50, 0.0, 9);
        for x in cold.chunks(2) {
            assert!((0..3).any(|j| (m.mean(j)[0] as f32 - x[0]).abs() < 1e-5));
        }
    }

    #[test]
    fn responsibilities_are_probabilities_even_far_from_every_component() {
        let (points, _) = three_gaussians(300, 3);
        let m = fit_mixture(&points, 2, 3, &MixtureOptions::default()).unwrap();
        // 1e4 away: every log-density is below -1e7, far past exp's range.
        let far = [1e4f32, -1e4, 0.0, 0.0];
        let r = m.responsibilities(&far);
        for row in r.chunks(3) {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{row:?}");
        }
        assert!(m.log_density(&far[..2]).is_finite());
        assert_eq!(m.predict(&far).len(), 2);
    }

    #[test]
    fn components_parse_and_refuse() {
        assert_eq!("5".parse(), Ok(Components::Fixed(5)));
        assert_eq!(
            "bic".parse(),
            Ok(Components::Bic {
                max: DEFAULT_BIC_MAX
            })
        );
        assert_eq!(
            "BIC".parse(),
            Ok(Components::Bic {
                max: DEFAULT_BIC_MAX
            })
        );
        assert_eq!("bic:8".parse(), Ok(Components::Bic { max: 8 }));
        for bad in ["0", "65", "x", "bic:0", "-1", ""] {
            assert!(bad.parse::<Components>().is_err(), "{bad}");
        }
    }
}
