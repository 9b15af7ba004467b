//! Non-linear 2D maps of all the codes: t-SNE (the `bhtsne` crate's FIt-SNE) and UMAP (the
//! `umap-rs` crate's fuzzy graph, umap-learn's epoch loop), both from the exact nearest neighbours of every
//! code (`knn`) and started from the codes' first two principal components. Each run reports
//! its stage and the layout as it optimises, can be cancelled between epochs, and takes a seed.
//! `lookup` maps positions back to codes (and codes onto the map) through the nearest points;
//! `quality` scores how many neighbourhoods a map keeps.

mod knn;
mod lookup;
mod quality;
mod tsne;
mod umap;

pub use knn::{Neighbours, exact_neighbours};
pub use lookup::{K as LOOKUP_NEIGHBOURS, LayoutLookup};
pub use quality::neighbour_preservation;

use super::Pca;
use crate::error::{Error, Result};
use rand::{SeedableRng, rngs::StdRng};
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Which non-linear map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LayoutMethod {
    Tsne,
    Umap,
}

impl LayoutMethod {
    pub fn name(self) -> &'static str {
        match self {
            Self::Tsne => "t-SNE",
            Self::Umap => "UMAP",
        }
    }
}

/// The knobs people expect, with the usual defaults (openTSNE / umap-learn).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LayoutParams {
    /// t-SNE: the effective number of neighbours each point attends to (5..=100).
    pub perplexity: f32,
    /// UMAP: neighbours in the fuzzy graph, the point itself included (2..=200).
    pub neighbours: usize,
    /// UMAP: how tightly points may pack on the map (0..=1).
    pub min_dist: f32,
    /// Seeds UMAP's negative sampling and the jitter added to the PCA start (which separates
    /// identical codes).
    pub seed: u64,
}

impl Default for LayoutParams {
    fn default() -> Self {
        Self {
            perplexity: 30.0,
            neighbours: 15,
            min_dist: 0.1,
            seed: 1,
        }
    }
}

pub const PERPLEXITY_RANGE: std::ops::RangeInclusive<f32> = 5.0..=100.0;
pub const NEIGHBOURS_RANGE: std::ops::RangeInclusive<usize> = 2..=200;
pub const MIN_DIST_RANGE: std::ops::RangeInclusive<f32> = 0.0..=1.0;

impl LayoutParams {
    /// Checks the parameters for `method` against `n` codes; the message names the bad one.
    pub fn validate(&self, method: LayoutMethod, n: usize) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidArgument(m));
        match method {
            LayoutMethod::Tsne => {
                if !PERPLEXITY_RANGE.contains(&self.perplexity) {
                    return bad(format!(
                        "perplexity must be between {} and {}, got {}",
                        PERPLEXITY_RANGE.start(),
                        PERPLEXITY_RANGE.end(),
                        self.perplexity
                    ));
                }
                let need = tsne::neighbours_for(self.perplexity) + 1;
                if n < need {
                    return bad(format!(
                        "t-SNE with perplexity {} needs at least {need} samples, got {n}",
                        self.perplexity
                    ));
                }
            }
            LayoutMethod::Umap => {
                if !NEIGHBOURS_RANGE.contains(&self.neighbours) {
                    return bad(format!(
                        "neighbours must be between {} and {}, got {}",
                        NEIGHBOURS_RANGE.start(),
                        NEIGHBOURS_RANGE.end(),
                        self.neighbours
                    ));
                }
                if !MIN_DIST_RANGE.contains(&self.min_dist) {
                    return bad(format!(
                        "min-dist must be between 0 and 1, got {}",
                        self.min_dist
                    ));
                }
                if n <= self.neighbours {
                    return bad(format!(
                        "UMAP with {} neighbours needs more than {} samples, got {n}",
                        self.neighbours, self.neighbours
                    ));
                }
            }
        }
        Ok(())
    }
}

/// What a run is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The exact neighbour search (`done` of `total` codes).
    Neighbours,
    /// Building the affinity / fuzzy graph from the neighbours (no count).
    Graph,
    /// Gradient descent (`done` of `total` epochs).
    Optimising,
}

/// One report from a run: the stage, its count, and during optimisation the current layout
/// (row-major x, y per code), which the receiver copies only when it wants to draw it.
pub struct LayoutProgress<'a> {
    pub stage: Stage,
    pub done: usize,
    pub total: usize,
    pub coords: Option<&'a [f32]>,
}

impl LayoutProgress<'_> {
    /// The whole run's progress in 0..=1 (neighbours ~10%, graph ~5%, optimising the rest).
    pub fn fraction(&self) -> f32 {
        let part = if self.total == 0 {
            0.0
        } else {
            self.done as f32 / self.total as f32
        };
        match self.stage {
            Stage::Neighbours => 0.10 * part,
            Stage::Graph => 0.10,
            Stage::Optimising => 0.15 + 0.85 * part,
        }
    }

    /// "finding neighbours 40%", "optimising: epoch 120 of 750".
    pub fn describe(&self) -> String {
        match self.stage {
            Stage::Neighbours => format!(
                "finding neighbours {:.0}%",
                100.0 * self.done as f32 / self.total.max(1) as f32
            ),
            Stage::Graph => "building the neighbour graph".into(),
            Stage::Optimising => format!("optimising: epoch {} of {}", self.done, self.total),
        }
    }
}

/// Cancels a run from another thread; the run stops at its next check (between neighbour
/// batches or epochs) and answers `None`.
#[derive(Clone, Debug, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A 2D map of all `codes` (row-major [n, dims]) by `method`: one position per code, or
/// `None` when cancelled. Bad parameters are an error before any work is done.
pub fn compute_layout(
    codes: &[f32],
    dims: usize,
    method: LayoutMethod,
    params: &LayoutParams,
    cancel: &CancelFlag,
    progress: &mut dyn FnMut(&LayoutProgress),
) -> Result<Option<Vec<[f32; 2]>>> {
    compute_layout_from(codes, dims, method, params, None, cancel, progress)
}

/// As [`compute_layout`], starting from `start` (one position per code, e.g. the layout of
/// the same samples under the previous weights) instead of the codes' PCA, so that a map
/// redone after training keeps its arrangement; a start of another length is not used.
pub fn compute_layout_from(
    codes: &[f32],
    dims: usize,
    method: LayoutMethod,
    params: &LayoutParams,
    start: Option<&[[f32; 2]]>,
    cancel: &CancelFlag,
    progress: &mut dyn FnMut(&LayoutProgress),
) -> Result<Option<Vec<[f32; 2]>>> {
    if dims == 0 || codes.is_empty() || !codes.len().is_multiple_of(dims) {
        return Err(Error::InvalidArgument(format!(
            "a layout needs rows of {dims} values, got {} values",
            codes.len()
        )));
    }
    if codes.iter().any(|v| !v.is_finite()) {
        return Err(Error::InvalidArgument(
            "a layout needs finite codes (some are NaN or infinite)".into(),
        ));
    }
    let n = codes.len() / dims;
    params.validate(method, n)?;
    let k = match method {
        LayoutMethod::Tsne => tsne::neighbours_for(params.perplexity),
        // umap-rs, like umap-learn, counts the point itself as its first neighbour.
        LayoutMethod::Umap => params.neighbours - 1,
    };
    let keep_going = || !cancel.is_cancelled();
    let Some(neighbours) = exact_neighbours(codes, dims, k, &keep_going, &mut |done| {
        progress(&LayoutProgress {
            stage: Stage::Neighbours,
            done,
            total: n,
            coords: None,
        })
    }) else {
        return Ok(None);
    };
    progress(&LayoutProgress {
        stage: Stage::Graph,
        done: 0,
        total: 0,
        coords: None,
    });
    let start = match start.filter(|s| s.len() == n) {
        Some(previous) => scaled_start(previous, params.seed),
        None => pca_start(codes, dims, params.seed)?,
    };
    let flat = match method {
        LayoutMethod::Tsne => tsne::run(n, &neighbours, start, params, cancel, progress),
        LayoutMethod::Umap => umap::run(codes, dims, &neighbours, start, params, cancel, progress),
    };
    Ok(flat.map(|f| f.chunks_exact(2).map(|p| [p[0], p[1]]).collect()))
}

/// A given start (row-major x, y) centred and scaled as [`pca_start`]'s: a finished t-SNE or
/// UMAP map spans tens of units, and starting the optimisation that wide would stall it.
fn scaled_start(previous: &[[f32; 2]], seed: u64) -> Vec<f32> {
    let n = previous.len().max(1) as f64;
    let mean = previous.iter().fold([0.0f64; 2], |m, p| {
        [m[0] + p[0] as f64 / n, m[1] + p[1] as f64 / n]
    });
    let var = previous
        .iter()
        .map(|p| (p[0] as f64 - mean[0]).powi(2) + (p[1] as f64 - mean[1]).powi(2))
        .sum::<f64>()
        / (2.0 * n);
    // Not finite or all in one place: a unit scale (the jitter then separates them).
    let sd = if var.is_finite() && var > 1e-24 {
        var.sqrt()
    } else {
        1.0
    };
    let mut rng = StdRng::seed_from_u64(seed);
    previous
        .iter()
        .flat_map(|p| [(p[0] as f64 - mean[0]) / sd, (p[1] as f64 - mean[1]) / sd])
        .map(|v| {
            let jitter: f32 = StandardNormal.sample(&mut rng);
            let v = if v.is_finite() { v as f32 } else { 0.0 };
            v + 1e-4 * jitter
        })
        .collect()
}

/// The codes' first two principal components (row-major x, y), scaled so the first has
/// standard deviation 1, plus a seeded jitter of 1e-4 of that so identical codes start apart.
fn pca_start(codes: &[f32], dims: usize, seed: u64) -> Result<Vec<f32>> {
    let pca = Pca::fit(codes, dims, 2)?;
    let mut flat: Vec<f32> = codes
        .chunks_exact(dims)
        .flat_map(|c| {
            let p = pca.project(c);
            [p[0], p.get(1).copied().unwrap_or(0.0)]
        })
        .collect();
    let sd = pca.explained_variance[0].sqrt().max(1e-12);
    let mut rng = StdRng::seed_from_u64(seed);
    for v in &mut flat {
        let jitter: f32 = StandardNormal.sample(&mut rng);
        *v = *v / sd + 1e-4 * jitter;
    }
    Ok(flat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_parameters_are_named() {
        let p = LayoutParams {
            perplexity: 500.0,
            ..LayoutParams::default()
        };
        let e = p.validate(LayoutMethod::Tsne, 1000).unwrap_err();
        assert!(e.to_string().contains("perplexity"), "{e}");
        let p = LayoutParams {
            neighbours: 50,
            ..LayoutParams::default()
        };
        let e = p.validate(LayoutMethod::Umap, 30).unwrap_err();
        assert!(e.to_string().contains("neighbours"), "{e}");
        let p = LayoutParams {
            min_dist: -1.0,
            ..LayoutParams::default()
        };
        assert!(p.validate(LayoutMethod::Umap, 1000).is_err());
        assert!(
            LayoutParams::default()
                .validate(LayoutMethod::Tsne, 1000)
                .is_ok()
        );
    }
}
