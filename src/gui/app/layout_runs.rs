//! Starting, following and stopping t-SNE / UMAP runs (one at a time, on their own thread).
//! A run starts when the map asks for a layout its current codes lack; one nobody wants any
//! more (another projection or parameters, another dataset or model) is cancelled and left to
//! finish its epoch on its own, never waited for here. While training moves the codes on, a
//! run finishes on the codes it started with, and a finished map is not redone on every
//! weight sync: it stays (labelled as of the previous weights) until training ends and the
//! final codes are in, then is redone once, starting from its own positions.

use super::ExplorerApp;
use crate::gui::map_layouts::{LayoutFrame, LayoutRun, LayoutStatus};
use crate::gui::state::Projection;
use crate::gui::worker::Stamp;
use std::sync::Arc;
use std::time::Instant;

/// The app's side of layout runs.
#[derive(Default)]
pub struct LayoutRuns {
    pub current: Option<LayoutRun>,
    /// Cancelled runs still finishing their epoch (dropped once their thread has ended).
    retired: Vec<LayoutRun>,
    serial: u64,
}

impl LayoutRuns {
    /// Runs still alive, the current one included (tests wait for none).
    pub fn alive(&self) -> usize {
        self.retired.iter().filter(|r| !r.is_finished()).count()
            + self.current.iter().filter(|r| !r.is_finished()).count()
    }

    /// How many runs have been started in all.
    pub fn started(&self) -> u64 {
        self.serial
    }

    fn retire_current(&mut self) {
        if let Some(run) = self.current.take() {
            run.cancel();
            self.retired.push(run);
        }
    }
}

impl ExplorerApp {
    /// Brings the layout run in line with what the map asks for (called every frame).
    pub(super) fn sync_layout_run(&mut self) {
        let runs = &mut self.layout_runs;
        runs.retired.retain(|r| !r.is_finished());
        let wanted = self.ws.map.wanted_layout(&self.settings);
        let generation = self.ws.generation();
        if let Some(run) = &runs.current {
            let still_wanted =
                wanted == Some(run.key) && run.stamp.generation.same_pair(&generation);
            if !still_wanted {
                runs.retire_current();
                self.ws.map.live = None;
                self.ws.map.layout_status = None;
                let settings = self.settings.clone();
                self.ws.map.refresh_layout(&settings);
            }
        }
        let Some(key) = wanted else { return };
        if self.layout_runs.current.is_some() || self.ws.map.has_current_layout(key) {
            return;
        }
        // A map of earlier codes of these samples: kept while the codes still move (training,
        // or its final encode on the way), then the start of the one redo.
        let previous = self.ws.map.layouts.get(&key).map(|(_, f)| f.clone());
        if previous.is_some() && self.codes_still_moving() {
            return;
        }
        let Some(codes) = &self.ws.map.codes else {
            return;
        };
        let (mean, dims) = (Arc::new(codes.mean.clone()), codes.latent);
        self.layout_runs.serial += 1;
        let stamp = Stamp {
            generation,
            serial: self.layout_runs.serial,
        };
        match LayoutRun::spawn(
            key,
            self.settings.layout,
            mean,
            dims,
            previous,
            self.ws.map.codes_version,
            stamp,
            self.events.clone(),
        ) {
            Ok(run) => {
                self.ws.map.layout_status = Some(LayoutStatus {
                    key,
                    fraction: 0.0,
                    text: "starting".into(),
                    started: Instant::now(),
                });
                self.layout_runs.current = Some(run);
            }
            Err(e) => self.layout_failed(e),
        }
    }

    /// Training runs, or the encode of its final weights has not answered yet (its answer
    /// taken in by the window, not only sent: a redo started in between would lay out the
    /// codes of the last snapshot and be done again a moment later).
    fn codes_still_moving(&self) -> bool {
        self.is_training()
            || self.jobs.in_flight().encodes() > 0
            || self.ws.map.answered != self.ws.map.serial
    }

    /// The map shows a finished layout of earlier codes than the current ones (weights have
    /// moved on since): the panel says so.
    pub fn layout_is_of_previous_weights(&self) -> bool {
        let map = &self.ws.map;
        map.wanted_layout(&self.settings)
            .is_some_and(|key| map.layouts.contains_key(&key) && !map.has_current_layout(key))
    }

    fn is_current_run(&self, stamp: &Stamp) -> bool {
        self.layout_runs
            .current
            .as_ref()
            .is_some_and(|r| r.stamp == *stamp)
    }

    pub(super) fn layout_progress(
        &mut self,
        stamp: Stamp,
        fraction: f32,
        text: String,
        frame: Option<Arc<LayoutFrame>>,
    ) {
        if !self.is_current_run(&stamp) {
            return;
        }
        if let Some(status) = &mut self.ws.map.layout_status {
            status.fraction = fraction;
            status.text = text;
        }
        if let (Some(frame), Some(run)) = (frame, &self.layout_runs.current) {
            self.ws.map.live = Some((run.key, frame));
            let settings = self.settings.clone();
            self.ws.map.refresh_layout(&settings);
        }
    }

    pub(super) fn layout_done(
        &mut self,
        stamp: Stamp,
        result: Result<Option<Arc<LayoutFrame>>, String>,
    ) {
        if !self.is_current_run(&stamp) {
            return;
        }
        let Some(run) = self.layout_runs.current.take() else {
            return;
        };
        let map = &mut self.ws.map;
        map.live = None;
        let secs = map
            .layout_status
            .take()
            .map(|s| s.started.elapsed().as_secs_f64());
        match result {
            Ok(Some(frame)) => {
                map.layouts.insert(run.key, (run.codes_version, frame));
                let settings = self.settings.clone();
                map.refresh_layout(&settings);
                if let Some(secs) = secs {
                    self.info(format!(
                        "{} of {} codes laid out in {secs:.1} s",
                        run.key.method.name(),
                        self.ws.map.indices.len()
                    ));
                }
            }
            // Cancelled: whoever cancelled has already moved the map on.
            Ok(None) => {}
            Err(e) => self.layout_failed(e),
        }
        // The thread has sent its last word: it ends at once.
        self.layout_runs.retired.push(run);
    }

    /// Stops the run in progress at the user's request; the map goes back to PCA.
    pub(super) fn cancel_layout(&mut self) {
        if let Some(run) = &self.layout_runs.current {
            let name = run.key.method.name();
            self.layout_runs.retire_current();
            self.ws.map.live = None;
            self.ws.map.layout_status = None;
            self.settings.projection = Projection::Pca;
            self.info(format!("{name} cancelled: the map shows PCA"));
        }
    }

    /// A run could not start or failed: say why and show PCA (so it is not retried at once).
    fn layout_failed(&mut self, error: String) {
        self.ws.map.live = None;
        self.ws.map.layout_status = None;
        self.settings.projection = Projection::Pca;
        self.error(format!("{error}; the map shows PCA"));
    }
}
