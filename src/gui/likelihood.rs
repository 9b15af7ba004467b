//! The held-out likelihood, estimated in the window: the ELBO beside the importance-weighted
//! bound L_k (Burda et al.) and their gap, over the test split (or an even sample of it).
//! Minutes of work at large k, so it runs on a thread of its own ("likelihood"), not on the
//! jobs thread that the map's decoding needs; it reports progress, can be cancelled, and its
//! answer is kept only for the model and data it was computed for.

use super::workspace::Generation;
use crate::analysis::{LikelihoodEstimate, importance_weighted_bound};
use crate::data::{Dataset, Split};
use crate::model::Model;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

/// What the window shows of an estimate.
#[derive(Clone, Debug, PartialEq)]
pub struct LikelihoodSummary {
    pub generation: Generation,
    /// Draws from q(z|x) per sample.
    pub k: usize,
    /// Samples evaluated.
    pub n: usize,
    pub mean_elbo: f64,
    pub mean_iw_bound: f64,
    /// Standard error of the mean IW bound.
    pub iw_standard_error: f64,
    pub secs: f64,
}

impl LikelihoodSummary {
    fn of(e: &LikelihoodEstimate, generation: Generation, secs: f64) -> Self {
        Self {
            generation,
            k: e.samples,
            n: e.len(),
            mean_elbo: e.mean_elbo(),
            mean_iw_bound: e.mean_iw_bound(),
            iw_standard_error: LikelihoodEstimate::standard_error(&e.iw_bound),
            secs,
        }
    }

    pub fn gap(&self) -> f64 {
        self.mean_iw_bound - self.mean_elbo
    }
}

type Outcome = crate::error::Result<Option<LikelihoodSummary>>;

/// A running estimate.
pub struct LikelihoodTask {
    pub generation: Generation,
    pub k: usize,
    pub n: usize,
    /// Fraction done, as f64 bits.
    progress: Arc<AtomicU64>,
    cancel: Arc<AtomicBool>,
    handle: Option<JoinHandle<Outcome>>,
}

/// The estimate in flight and the last one finished.
#[derive(Default)]
pub struct LikelihoodState {
    pub task: Option<LikelihoodTask>,
    pub result: Option<LikelihoodSummary>,
}

/// The held-out samples an estimate uses: the test split (every sample when there is none),
/// evenly thinned to at most `limit` (0: all).
pub fn held_out_sample(data: &Dataset, limit: usize) -> Vec<usize> {
    let mut indices = data.indices(Split::Test);
    if indices.is_empty() {
        indices = (0..data.len()).collect();
    }
    if limit > 0 && indices.len() > limit {
        let step = indices.len() as f64 / limit as f64;
        indices = (0..limit)
            .map(|j| indices[(j as f64 * step) as usize])
            .collect();
    }
    indices
}

impl LikelihoodState {
    /// Starts an estimate (cancelling one in flight).
    pub fn start(
        &mut self,
        model: Arc<Model>,
        data: Arc<Dataset>,
        indices: Vec<usize>,
        k: usize,
        generation: Generation,
    ) -> std::io::Result<()> {
        self.cancel();
        let progress = Arc::new(AtomicU64::new(0f64.to_bits()));
        let cancel = Arc::new(AtomicBool::new(false));
        let n = indices.len();
        let (p, c) = (progress.clone(), cancel.clone());
        let handle = std::thread::Builder::new()
            .name("likelihood".into())
            .spawn(move || {
                let start = Instant::now();
                let report = |f: f64| p.store(f.to_bits(), Ordering::Relaxed);
                let est = importance_weighted_bound(&model, &data, &indices, k, 1, &report, &c)?;
                let secs = start.elapsed().as_secs_f64();
                Ok(est.map(|e| LikelihoodSummary::of(&e, generation, secs)))
            })?;
        self.task = Some(LikelihoodTask {
            generation,
            k,
            n,
            progress,
            cancel,
            handle: Some(handle),
        });
        Ok(())
    }

    /// Fraction done of the estimate in flight.
    pub fn progress(&self) -> Option<f64> {
        self.task
            .as_ref()
            .map(|t| f64::from_bits(t.progress.load(Ordering::Relaxed)))
    }

    /// Stops the estimate in flight (its thread ends at its next decoder call).
    pub fn cancel(&mut self) {
        if let Some(t) = self.task.take() {
            t.cancel.store(true, Ordering::Relaxed);
        }
    }

    /// Collects a finished estimate. Drops one (and cancels one in flight) that belongs to
    /// another model or dataset than `current`. Returns an error message to show.
    pub fn poll(&mut self, current: Generation) -> Option<String> {
        if self
            .result
            .as_ref()
            .is_some_and(|r| r.generation != current)
        {
            self.result = None;
        }
        let task = self.task.as_mut()?;
        if task.generation != current {
            self.cancel();
            return None;
        }
        if !task.handle.as_ref().is_some_and(|h| h.is_finished()) {
            return None;
        }
        let handle = task.handle.take()?;
        self.task = None;
        match handle.join() {
            Ok(Ok(Some(summary))) => {
                self.result = Some(summary);
                None
            }
            Ok(Ok(None)) => None,
            Ok(Err(e)) => Some(format!("could not estimate the likelihood: {e}")),
            Err(_) => Some("the likelihood estimate stopped on an internal error".into()),
        }
    }
}
