//! "Holes": where the prior puts mass but no code lies. Decoding from there gives the blurred
//! or hybrid images that samples from the prior are known for.
//!
//! **Definition.** Draw `probes` points z from the prior N(0, I) (each stands for an equal
//! share of the prior's mass). Compare two densities there with k-nearest-neighbour
//! estimates: the codes' density q(z) and the prior's p(z). With r_codes(z) the distance from z
//! to its k-th nearest code, and r_prior(z) the distance to its k-th nearest point of an
//! equally large sample from the prior,
//!
//! ```text
//! ln p(z)/q(z) ~ dims * ln(r_codes(z) / r_prior(z))
//! ```
//!
//! (a kNN density is k / (n V r^dims); with the same k and n everything else cancels, and so
//! does most of the estimator's bias). A probe lies in a hole when the prior is more than
//! `factor` times as dense there as the codes (10 by default: ln 10 = 2.3 nats, about five
//! standard deviations of the estimate's noise at k = 10). The fraction of probes in holes
//! estimates the prior mass that lies where the codes are at least ten times sparser.
//!
//! Being a ratio of local densities, the test does not call the prior's sparse tails holes
//! (both samples are sparse there) nor miss a gap in the dense middle.
//!
//! **Which codes.** The posterior means of a VAE with inactive latent dimensions all sit near
//! 0 in those dimensions, a thin slice of the space the prior fills: against means, nearly
//! all of the prior would be a "hole" although the decoder ignores those dimensions. One draw
//! from each q(z|x) ([`aggregate_posterior_draws`]) samples the aggregate posterior, which
//! the prior is meant to match, and is what the window and the tests pass.
//!
//! Distances are brute force (rayon) against at most `reference` codes (a seeded sample) and
//! as many prior draws: 2,000 probes against 2 x 20,000 16-D points is 1.3e9 multiply-adds,
//! about a second on two cores. A k-d tree does not help much at 16 dimensions.

use crate::error::{Error, Result};
use crate::latent::sample_prior;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HoleOptions {
    /// Points drawn from the prior and scored.
    pub probes: usize,
    /// k of the k-th nearest neighbour.
    pub neighbours: usize,
    /// A hole: the prior at least this many times as dense as the codes.
    pub factor: f64,
    /// The most codes compared against (a seeded sample), and the size of the prior sample.
    pub reference: usize,
    pub seed: u64,
}

impl Default for HoleOptions {
    fn default() -> Self {
        Self {
            probes: 2000,
            neighbours: 10,
            factor: 10.0,
            reference: 20_000,
            seed: 1,
        }
    }
}

/// Prior draws scored by how much denser the prior is than the codes around them.
#[derive(Clone, Debug, Default)]
pub struct Holes {
    pub dims: usize,
    /// The prior draws, `[probes, dims]`.
    pub probes: Vec<f32>,
    /// Estimated ln p(z)/q(z) at each probe (nats): 0 where the codes are as dense as the
    /// prior, large where they are absent.
    pub log_ratio: Vec<f32>,
    /// ln(factor): a probe above it lies in a hole.
    pub threshold: f32,
    pub neighbours: usize,
}

impl Holes {
    pub fn len(&self) -> usize {
        self.log_ratio.len()
    }
    pub fn is_empty(&self) -> bool {
        self.log_ratio.is_empty()
    }
    pub fn probe(&self, i: usize) -> &[f32] {
        &self.probes[i * self.dims..(i + 1) * self.dims]
    }
    pub fn is_hole(&self, i: usize) -> bool {
        self.log_ratio[i] > self.threshold
    }
    /// The probes in holes, deepest (largest ratio) first.
    pub fn hole_indices(&self) -> Vec<usize> {
        let mut h: Vec<usize> = (0..self.len()).filter(|&i| self.is_hole(i)).collect();
        h.sort_by(|&a, &b| self.log_ratio[b].total_cmp(&self.log_ratio[a]));
        h
    }
    /// The fraction of probes in holes: an estimate of the prior mass where the codes are
    /// at least `factor` times sparser than the prior.
    pub fn prior_mass_in_holes(&self) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        (0..self.len()).filter(|&i| self.is_hole(i)).count() as f64 / self.len() as f64
    }
}

/// One draw z = mean + exp(logvar / 2) eps from each posterior (`[n, dims]` each), seeded: a
/// sample of the aggregate posterior, which the prior is meant to match.
pub fn aggregate_posterior_draws(mean: &[f32], logvar: &[f32], seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    mean.iter()
        .zip(logvar)
        .map(|(&m, &lv)| {
            let e: f32 = StandardNormal.sample(&mut rng);
            m + (0.5 * lv.clamp(-30.0, 30.0)).exp() * e
        })
        .collect()
}

/// Distance from `query` to its k-th nearest point of `points`.
fn kth_nearest(query: &[f32], points: &[f32], dims: usize, k: usize) -> f32 {
    let mut best = vec![f32::INFINITY; k];
    for c in points.chunks_exact(dims) {
        let d: f32 = query.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum();
        if d < best[k - 1] {
            // Insertion into the sorted list of the k nearest so far.
            let mut p = k - 1;
            while p > 0 && best[p - 1] > d {
                best[p] = best[p - 1];
                p -= 1;
            }
            best[p] = d;
        }
    }
    best[k - 1].sqrt()
}

/// Scores prior draws against `codes` (`[n, dims]`): see the module's definition.
pub fn find_holes(codes: &[f32], dims: usize, options: &HoleOptions) -> Result<Holes> {
    if dims == 0 || codes.is_empty() || !codes.len().is_multiple_of(dims) {
        return Err(Error::InvalidArgument(format!(
            "codes must be a non-empty multiple of {dims} values, got {}",
            codes.len()
        )));
    }
    let n = codes.len() / dims;
    if options.probes == 0
        || options.neighbours == 0
        || options.reference == 0
        || !(options.factor.is_finite() && options.factor > 1.0)
    {
        return Err(Error::InvalidArgument(
            "holes need probes, neighbours and reference codes, and a factor above 1".into(),
        ));
    }
    if codes.iter().any(|v| !v.is_finite()) {
        return Err(Error::InvalidArgument(
            "the codes hold a value that is not a finite number".into(),
        ));
    }
    let mut rng = StdRng::seed_from_u64(options.seed);
    let sample: Vec<f32>;
    let codes = if n > options.reference {
        let mut picked = rand::seq::index::sample(&mut rng, n, options.reference).into_vec();
        picked.sort_unstable();
        sample = picked
            .iter()
            .flat_map(|&i| &codes[i * dims..(i + 1) * dims])
            .copied()
            .collect();
        &sample[..]
    } else {
        codes
    };
    let m = codes.len() / dims;
    let k = options.neighbours.min(m);
    let prior = sample_prior(m, dims, 1.0, options.seed.wrapping_add(1));
    let probes = sample_prior(options.probes, dims, 1.0, options.seed.wrapping_add(2));
    let log_ratio = probes
        .par_chunks(dims)
        .map(|z| {
            let r_codes = kth_nearest(z, codes, dims, k);
            let r_prior = kth_nearest(z, &prior, dims, k);
            dims as f32 * (r_codes.max(f32::MIN_POSITIVE) / r_prior.max(f32::MIN_POSITIVE)).ln()
        })
        .collect();
    Ok(Holes {
        dims,
        probes,
        log_ratio,
        threshold: options.factor.ln() as f32,
        neighbours: k,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2-D codes from the prior with the disc of radius 1 around (1, 0) left empty.
    fn codes_with_a_hole() -> Vec<f32> {
        let mut rng = StdRng::seed_from_u64(4);
        let mut codes = Vec::new();
        while codes.len() < 2 * 20_000 {
            let x: f32 = StandardNormal.sample(&mut rng);
            let y: f32 = StandardNormal.sample(&mut rng);
            if (x - 1.0).powi(2) + y * y > 1.0 {
                codes.extend([x, y]);
            }
        }
        codes
    }

    #[test]
    fn the_empty_disc_is_found_and_the_rest_is_not() {
        let codes = codes_with_a_hole();
        let holes = find_holes(&codes, 2, &HoleOptions::default()).unwrap();
        let (mut inside, mut inside_holes, mut outside, mut outside_holes) = (0, 0, 0, 0);
        for i in 0..holes.len() {
            let z = holes.probe(i);
            let r = ((z[0] - 1.0).powi(2) + z[1] * z[1]).sqrt();
            if r < 0.8 {
                inside += 1;
                inside_holes += usize::from(holes.is_hole(i));
            } else if r > 1.2 && z[0].hypot(z[1]) < 2.5 {
                // Away from the disc's rim and inside the data's bulk.
                outside += 1;
                outside_holes += usize::from(holes.is_hole(i));
            }
        }
        assert!(inside > 50 && outside > 500, "{inside} {outside}");
        assert_eq!(inside_holes, inside, "probes well inside the empty disc");
        assert!(
            (outside_holes as f64) < 0.02 * outside as f64,
            "{outside_holes} of {outside} probes among the codes called holes"
        );
        // The disc holds 0.27 of the prior's mass; probes near its rim have codes within
        // reach and count only in part.
        let mass = holes.prior_mass_in_holes();
        eprintln!("prior mass in the empty disc: {mass:.3}");
        assert!((0.15..0.27).contains(&mass), "{mass}");
        // Deepest first.
        let h = holes.hole_indices();
        assert!(
            h.windows(2)
                .all(|w| holes.log_ratio[w[0]] >= holes.log_ratio[w[1]])
        );
    }

    #[test]
    fn codes_drawn_from_the_prior_leave_no_hole_even_in_the_tails() {
        for dims in [2, 16] {
            let codes = crate::latent::sample_prior(20_000, dims, 1.0, 8);
            let holes = find_holes(&codes, dims, &HoleOptions::default()).unwrap();
            assert!(
                holes.prior_mass_in_holes() < 0.01,
                "{dims}: {}",
                holes.prior_mass_in_holes()
            );
        }
    }

    #[test]
    fn posterior_means_collapsed_in_a_dimension_leave_holes_that_draws_do_not() {
        // Dimension 1 inactive: means 0, posterior variance 1 (the prior's).
        let mut rng = StdRng::seed_from_u64(2);
        let n = 10_000;
        let mut mean = Vec::new();
        for _ in 0..n {
            let x: f32 = StandardNormal.sample(&mut rng);
            mean.extend([x, 0.0]);
        }
        let logvar: Vec<f32> = (0..2 * n)
            .map(|i| if i % 2 == 0 { -20.0 } else { 0.0 })
            .collect();
        let on_means = find_holes(&mean, 2, &HoleOptions::default()).unwrap();
        assert!(
            on_means.prior_mass_in_holes() > 0.8,
            "{}",
            on_means.prior_mass_in_holes()
        );
        let draws = aggregate_posterior_draws(&mean, &logvar, 3);
        let on_draws = find_holes(&draws, 2, &HoleOptions::default()).unwrap();
        assert!(
            on_draws.prior_mass_in_holes() < 0.01,
            "{}",
            on_draws.prior_mass_in_holes()
        );
    }

    #[test]
    fn bad_input_is_refused() {
        assert!(find_holes(&[], 2, &HoleOptions::default()).is_err());
        assert!(find_holes(&[1.0, f32::NAN, 0.0, 0.0], 2, &HoleOptions::default()).is_err());
        for bad in [
            HoleOptions {
                probes: 0,
                ..Default::default()
            },
            HoleOptions {
                factor: 1.0,
                ..Default::default()
            },
        ] {
            assert!(find_holes(&[0.0; 8], 2, &bad).is_err());
        }
    }
}
