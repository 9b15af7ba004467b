//! The window's side of rate-distortion sweeps (start, cancel, open a saved one, compare a
//! second model) and of the IW bound as an anomaly score: commands applied here, and what
//! their threads report drained in `logic()`.

use super::ExplorerApp;
use crate::analysis::AnomalyScore;
use crate::gui::command::Command;
use crate::gui::notices::NoticeKind;
use crate::gui::state::{BottomTab, ColorBy};
use crate::gui::sweep::{SweepNews, SweepRequest};
use crate::model::VaeConfig;
use std::sync::Arc;

impl ExplorerApp {
    /// The commands of the Rate-distortion tab.
    pub(super) fn apply_sweep(&mut self, cmd: Command) {
        match cmd {
            Command::StartSweep(request) => self.start_sweep(request),
            Command::CancelSweep => self.ws.sweep.cancel(),
            Command::OpenSweep(folder) => match crate::train::read_sweep(&folder) {
                Ok(results) if results.is_empty() => self.error(format!(
                    "{}: the sweep's summary lists no models",
                    folder.display()
                )),
                Ok(results) => {
                    let n = results.len();
                    self.ws
                        .sweep
                        .show_saved(super::absolute(folder.clone()), results);
                    self.info(format!(
                        "opened the sweep in {} ({n} models)",
                        folder.display()
                    ));
                }
                Err(e) => self.error(format!("could not open the sweep: {e}")),
            },
            Command::CompareModel(path) => {
                let Some(data) = self.ws.data.clone() else {
                    return;
                };
                let ctx = self.events.ctx().clone();
                let indices = self.ws.map.indices.clone();
                let generation = self.ws.generation().data;
                if let Err(e) = self
                    .ws
                    .sweep
                    .start_compare(path, data, indices, generation, ctx)
                {
                    self.error(format!("could not start the comparison: {e}"));
                }
            }
            Command::CloseCompare => self.ws.sweep.compare = None,
            _ => {}
        }
    }

    fn start_sweep(&mut self, request: SweepRequest) {
        if self.ws.sweep.is_running() {
            self.error("a sweep is already running: cancel it first");
            return;
        }
        if self.refused_while_training("starting a sweep") {
            return;
        }
        let (Some(model), Some(data)) = (self.ws.model.clone(), self.ws.data.clone()) else {
            self.error("open a dataset and a model first: the sweep trains models like it");
            return;
        };
        if let Err(e) = model.check_fits(&data) {
            self.error(format!("cannot sweep: {e}"));
            return;
        }
        if request.points.is_empty() || request.epochs == 0 || request.limit == Some(0) {
            self.error("a sweep needs at least one setting, one epoch and one sample");
            return;
        }
        // The loaded model's architecture; the sweep replaces its beta and latent size.
        let base: VaeConfig = model.config().clone();
        for p in &request.points {
            let config = VaeConfig {
                beta: p.beta,
                latent: p.latent,
                ..base.clone()
            };
            if let Err(e) = config.validate() {
                self.error(format!("cannot sweep: {e}"));
                return;
            }
        }
        let config = crate::train::TrainConfig {
            epochs: request.epochs,
            ..self.settings.train.clone()
        };
        if let Err(e) = config.validate() {
            self.error(e.to_string());
            return;
        }
        if let Err(e) = std::fs::create_dir_all(&request.folder) {
            self.error(format!(
                "could not make the sweep's folder {}: {e}",
                request.folder.display()
            ));
            return;
        }
        // The models' paths are compared with the loaded model's (made absolute on loading).
        let request = SweepRequest {
            folder: super::absolute(request.folder),
            ..request
        };
        let (n, folder) = (request.points.len(), request.folder.clone());
        let ctx = self.events.ctx().clone();
        match self.ws.sweep.start(data, base, config, request, ctx) {
            Ok(()) => self.info(format!("sweeping {n} models into {}", folder.display())),
            Err(e) => self.error(format!("could not start the sweep: {e}")),
        }
    }

    /// Drains the sweep's and the comparison's threads, and the IW scores'.
    pub(super) fn poll_sweep(&mut self) {
        let data_generation = self.ws.generation().data;
        for news in self.ws.sweep.poll(data_generation) {
            match news {
                SweepNews::Saved(r) => self.log_line(&format!(
                    "sweep: beta {}, latent {}: rate {:.3}, distortion {:.3}; saved {}",
                    r.point.beta,
                    r.point.latent,
                    r.rate,
                    r.distortion,
                    r.path.display()
                )),
                SweepNews::Finished { models, stopped } => self.info(if stopped {
                    format!("sweep cancelled: {models} models saved")
                } else {
                    format!("sweep finished: {models} models saved")
                }),
                SweepNews::Failed(e) => self.error(e),
                SweepNews::Compared(text) => self.log_line(&format!("compare: {text}")),
            }
        }
        self.poll_iw_scores();
    }

    fn poll_iw_scores(&mut self) {
        let generation = self.ws.generation();
        let version = self.ws.map.codes_version;
        match self.ws.iw_scores.poll(generation, version) {
            Some(Ok(answer)) => {
                let s = &mut self.ws.scores;
                let Some(scores) = s.scores.as_ref() else {
                    return;
                };
                if s.for_codes != answer.codes_version {
                    return;
                }
                match (**scores).clone().with_iw_bound(&answer.estimate) {
                    Ok(with) => {
                        s.scores = Some(Arc::new(with));
                        s.version += 1;
                        self.ws.iw_scores.attached = Some((s.version, answer.k));
                    }
                    Err(e) => self.error(e.to_string()),
                }
            }
            Some(Err(e)) => self.ws.notices.push(NoticeKind::Error, e),
            None => {}
        }
    }

    /// When the anomaly score is the IW bound and something shows scores, computes it for
    /// the scores of the codes on the map (not while training: the weights move under it).
    pub(super) fn request_iw_scores(&mut self) {
        let shown = self.settings.bottom_tab == BottomTab::Anomalies
            || self.settings.color_by == ColorBy::AnomalyScore;
        if self.settings.anomaly_score != AnomalyScore::NegativeIwBound || !shown {
            self.ws.iw_scores.cancel();
            return;
        }
        let k = self.settings.anomaly_iw_k.clamp(
            crate::analysis::MIN_IW_SAMPLES,
            crate::analysis::MAX_IW_SAMPLES,
        );
        let generation = self.ws.generation();
        let version = self.ws.map.codes_version;
        let s = &self.ws.scores;
        let iw = &self.ws.iw_scores;
        let Some(scores) = &s.scores else { return };
        if self.is_training()
            || s.pending
            || s.for_codes != version
            || self.ws.timeline.shown.is_some()
            || iw.attached == Some((s.version, k)) && scores.iw_bound.is_some()
            || iw.running_for(generation, version, k)
            || iw.failed_for == Some((version, k))
        {
            return;
        }
        let (Some(model), Some(data)) = (self.ws.model.clone(), self.ws.data.clone()) else {
            return;
        };
        let indices = scores.indices.clone();
        let ctx = self.events.ctx().clone();
        if let Err(e) = self
            .ws
            .iw_scores
            .start(model, data, indices, k, (generation, version), ctx)
        {
            self.error(format!("could not start the IW bound scores: {e}"));
        }
    }
}
