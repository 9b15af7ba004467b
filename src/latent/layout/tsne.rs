//! t-SNE through the `bhtsne` crate's FIt-SNE path (FFT-interpolated repulsion, the method
//! openTSNE uses by default; the crate measures it faster than its Barnes-Hut tree from about
//! 50,000 points), fed our exact neighbours so it does no distance work of its own.
//!
//! The crate reports every epoch through a callback but has no way to stop a fit. A cancelled
//! run therefore leaves the fit from inside that callback with `resume_unwind` (which skips
//! the panic hook: nothing is printed) and is caught just outside; the half-fitted state is
//! dropped with it. The crate forbids unsafe code, so unwinding out of it cannot leave
//! anything unsound behind.

use super::{CancelFlag, LayoutParams, LayoutProgress, Neighbours, Stage};
use bhtsne::{Neighbor, tSNE};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

/// openTSNE's schedule: 250 epochs of early exaggeration, then 500 more.
pub const EXAGGERATION_EPOCHS: usize = 250;
pub const EPOCHS: usize = 750;

/// The neighbours each point's affinities are computed over (three times the perplexity,
/// as in the Barnes-Hut t-SNE paper).
pub fn neighbours_for(perplexity: f32) -> usize {
    (3.0 * perplexity).ceil() as usize
}

/// What unwinds out of a cancelled fit.
struct Cancelled;

/// Fits from `start` (row-major x, y, standard deviation ~1); None when cancelled.
pub fn run(
    n: usize,
    neighbours: &Neighbours,
    start: Vec<f32>,
    params: &LayoutParams,
    cancel: &CancelFlag,
    progress: &mut dyn FnMut(&LayoutProgress),
) -> Option<Vec<f32>> {
    let rows: Vec<Vec<Neighbor<f32>>> = (0..n)
        .map(|i| {
            let (idx, dist) = neighbours.row(i);
            idx.iter()
                .zip(dist)
                .map(|(&j, &d)| Neighbor {
                    index: j as usize,
                    distance: d,
                })
                .collect()
        })
        .collect();
    // bhtsne wants one item per sample; with given neighbours it only counts them.
    let samples = vec![(); n];
    // A tiny start (openTSNE scales its PCA start to a standard deviation of 1e-4) lets the
    // exaggerated attraction gather the clusters before repulsion spreads them.
    let start: Vec<f32> = start.into_iter().map(|v| v * 1e-4).collect();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut fit: tSNE<f32, ()> = tSNE::new(&samples);
        fit.perplexity(params.perplexity)
            .epochs(EPOCHS)
            .stop_lying_epoch(EXAGGERATION_EPOCHS)
            .momentum_switch_epoch(EXAGGERATION_EPOCHS)
            .initial_embedding(start)
            .epoch_callback(|epoch, embedding| {
                if cancel.is_cancelled() {
                    resume_unwind(Box::new(Cancelled));
                }
                progress(&LayoutProgress {
                    stage: Stage::Optimising,
                    done: epoch + 1,
                    total: EPOCHS,
                    coords: Some(embedding),
                });
            });
        fit.fit_sne_with_neighbors(&rows);
        fit.embedding()
    }));
    match outcome {
        Ok(flat) => Some(flat),
        Err(payload) if payload.is::<Cancelled>() => None,
        Err(payload) => resume_unwind(payload),
    }
}
