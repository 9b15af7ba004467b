//! The negative importance-weighted bound -L_k as an anomaly score of the map's samples
//! (Burda et al.; the library's [`importance_weighted_bound`]). k decodes a sample: all of
//! MNIST's 70,000 at k = 20 took about 100 s with the latent-2 model (`anomalies --score iw
//! --iw-samples 20 --split all`, release, 2-core AMD EPYC shared with other builds, load 4.5
//! to 8), so it runs on a thread of its own ("iw-scores") with progress, not on the jobs thread
//! the map's decoding needs. Its answer is
//! added to the scores of the codes it was computed for ([`AnomalyScores::with_iw_bound`]) and
//! dropped when the model, its weights or the data have moved on.

use super::workspace::Generation;
use crate::analysis::{LikelihoodEstimate, importance_weighted_bound};
use crate::data::Dataset;
use crate::model::Model;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

/// The seed of the draws (the same as the Model panel's estimate, so a sample's figure is the
/// same in both places).
pub const IW_SEED: u64 = 1;

type Outcome = crate::error::Result<Option<LikelihoodEstimate>>;

/// A computation in flight.
pub struct IwScoresTask {
    pub generation: Generation,
    /// The map's codes version the scores it completes belong to.
    pub codes_version: u64,
    pub k: usize,
    pub n: usize,
    pub started: Instant,
    /// Fraction done, as f64 bits.
    progress: Arc<AtomicU64>,
    cancel: Arc<AtomicBool>,
    handle: Option<JoinHandle<Outcome>>,
}

/// The computation in flight and what was last added to the scores.
#[derive(Default)]
pub struct IwScoresState {
    pub task: Option<IwScoresTask>,
    /// (scores version, k) of the scores that hold the IW bound now.
    pub attached: Option<(u64, usize)>,
    /// (codes version, k) that failed: not retried every frame.
    pub failed_for: Option<(u64, usize)>,
    /// Seconds the last computation took, and for how many samples at which k.
    pub last: Option<(f64, usize, usize)>,
}

/// A finished computation to add to the scores.
pub struct IwAnswer {
    pub codes_version: u64,
    pub k: usize,
    pub estimate: LikelihoodEstimate,
}

impl IwScoresState {
    /// Whether the task in flight is the one for these codes and k.
    pub fn running_for(&self, generation: Generation, codes_version: u64, k: usize) -> bool {
        self.task.as_ref().is_some_and(|t| {
            t.generation == generation && t.codes_version == codes_version && t.k == k
        })
    }

    /// Starts computing -L_k of `indices` for the workspace's generation and map codes version
    /// now (cancelling a computation in flight).
    pub fn start(
        &mut self,
        model: Arc<Model>,
        data: Arc<Dataset>,
        indices: Vec<usize>,
        k: usize,
        (generation, codes_version): (Generation, u64),
        ctx: egui::Context,
    ) -> std::io::Result<()> {
        self.cancel();
        let progress = Arc::new(AtomicU64::new(0f64.to_bits()));
        let cancel = Arc::new(AtomicBool::new(false));
        let n = indices.len();
        let (p, c) = (progress.clone(), cancel.clone());
        let handle = std::thread::Builder::new()
            .name("iw-scores".into())
            .spawn(move || {
                let report = |f: f64| p.store(f.to_bits(), Ordering::Relaxed);
                let outcome =
                    importance_weighted_bound(&model, &data, &indices, k, IW_SEED, &report, &c);
                ctx.request_repaint();
                outcome
            })?;
        self.task = Some(IwScoresTask {
            generation,
            codes_version,
            k,
            n,
            started: Instant::now(),
            progress,
            cancel,
            handle: Some(handle),
        });
        Ok(())
    }

    /// Fraction done of the computation in flight.
    pub fn progress(&self) -> Option<f64> {
        self.task
            .as_ref()
            .map(|t| f64::from_bits(t.progress.load(Ordering::Relaxed)))
    }

    /// Stops the computation in flight (its thread ends at its next decoder call).
    pub fn cancel(&mut self) {
        if let Some(t) = self.task.take() {
            t.cancel.store(true, Ordering::Relaxed);
        }
    }

    /// Collects a finished computation; one for other weights, data or codes is cancelled
    /// and dropped. Err is a message for the user.
    pub fn poll(
        &mut self,
        current: Generation,
        codes_version: u64,
    ) -> Option<Result<IwAnswer, String>> {
        let task = self.task.as_mut()?;
        if task.generation != current || task.codes_version != codes_version {
            self.cancel();
            return None;
        }
        if !task.handle.as_ref().is_some_and(|h| h.is_finished()) {
            return None;
        }
        let handle = task.handle.take()?;
        let (version, k, n, secs) = (task.codes_version, task.k, task.n, task.started.elapsed());
        self.task = None;
        match handle.join() {
            Ok(Ok(Some(estimate))) => {
                self.last = Some((secs.as_secs_f64(), n, k));
                Some(Ok(IwAnswer {
                    codes_version: version,
                    k,
                    estimate,
                }))
            }
            Ok(Ok(None)) => None,
            Ok(Err(e)) => {
                self.failed_for = Some((version, k));
                Some(Err(format!("could not compute the IW bound scores: {e}")))
            }
            Err(_) => {
                self.failed_for = Some((version, k));
                Some(Err(
                    "the IW bound scores stopped on an internal error".into()
                ))
            }
        }
    }
}
