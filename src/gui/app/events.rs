//! How the window reacts to what its background threads report: loaded files, codes, decoded
//! pictures, training progress, dialog answers and errors. Drained in `logic()` with a time
//! budget, so the UI thread never waits. Every answer carries the stamp it was asked with and
//! is dropped when the workspace has moved on since.

use super::{EVENT_BUDGET, ExplorerApp, absolute};
use crate::data::Dataset;
use crate::gui::codes_analysis::CodesRequest;
use crate::gui::dialogs::DialogPurpose;
use crate::gui::export_files::Destination;
use crate::gui::notices::{NoticeKind, Topic};
use crate::gui::worker::{DecodePurpose, Event, Job, JobKind, Stamp};
use crate::model::Model;
use crate::train::TrainEvent;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Tiles per side of the decoded grid behind the map.
pub const MANIFOLD_TILES: usize = 16;

impl ExplorerApp {
    pub(super) fn drain_events(&mut self) {
        let deadline = Instant::now() + EVENT_BUDGET;
        while Instant::now() < deadline {
            match self.events_rx.try_recv() {
                Ok(event) => self.handle(event),
                Err(_) => break,
            }
        }
    }

    /// Whether an answer was asked for by the current workspace.
    fn is_current(&self, stamp: &Stamp) -> bool {
        stamp.generation == self.ws.generation()
    }

    pub(super) fn handle(&mut self, event: Event) {
        if matches!(
            event,
            Event::DatasetLoaded { .. }
                | Event::DatasetLoadCancelled(_)
                | Event::ModelLoaded { .. }
                | Event::Failed {
                    job: JobKind::LoadDataset | JobKind::LoadModel,
                    ..
                }
        ) {
            self.session.load_answered();
        }
        if matches!(
            event,
            Event::DatasetLoaded { .. }
                | Event::DatasetLoadCancelled(_)
                | Event::Failed {
                    job: JobKind::LoadDataset,
                    ..
                }
        ) {
            self.dataset_loads.answered();
        }
        match event {
            Event::DatasetLoaded { data, path, secs } => {
                self.set_dataset(data, absolute(path), secs)
            }
            Event::DatasetLoadCancelled(path) => {
                // A restore waiting on this dataset has nothing to wait for now.
                self.pending_restore = None;
                let kept = match &self.ws.data {
                    Some(d) => format!("{} is still open", d.name),
                    None => "no dataset is open".into(),
                };
                self.info(format!("opening {} was cancelled; {kept}", path.display()));
                self.startup_answered();
            }
            Event::ModelLoaded { model, path } => {
                self.set_model(model, Some(absolute(path)), false);
                self.startup_answered();
            }
            Event::Encoded { stamp, codes, secs } => {
                if stamp.serial == self.ws.map.serial {
                    // Answered, even when the weights have moved on since it was asked for.
                    self.ws.map.answered = stamp.serial;
                }
                if self.is_current(&stamp) && stamp.serial == self.ws.map.serial {
                    self.ws.map.encode_secs = secs;
                    self.accept_codes(codes);
                }
            }
            Event::Decoded {
                purpose,
                stamp,
                images,
            } => self.decoded(purpose, stamp, images),
            Event::Scored { stamp, scores } => {
                let current = self.is_current(&stamp);
                let s = &mut self.ws.scores;
                if current && stamp.serial == s.for_codes {
                    s.pending = false;
                    s.scores = Some(Arc::new(scores));
                    s.version += 1;
                } else if stamp.serial == s.for_codes {
                    s.pending = false;
                }
            }
            Event::Traversed { stamp, result } => self.traversed(stamp, result),
            Event::Analogy { stamp, result } => {
                let panel = &mut self.panels.analogy;
                if stamp.serial == panel.serial {
                    if stamp.generation == self.ws.generation() {
                        panel.answered(result);
                    } else {
                        panel.pending = false;
                    }
                }
            }
            Event::CodesAnalysed {
                stamp,
                request,
                result,
            } => self.codes_analysed(stamp, request, result),
            Event::ModelSaved(path) => {
                self.ws.model_unsaved = false;
                self.ws.model_path = Some(path.clone());
                self.settings.model_path = Some(path.clone());
                // Saved for real: the recovery copy is no longer needed.
                if let Some(store) = &self.recovery {
                    store.discard();
                }
                self.recovery_written = None;
                self.info(format!("saved the model to {}", path.display()));
            }
            Event::Exported { kind, path } => {
                self.info(format!(
                    "exported {} to {}",
                    kind.human_name(),
                    path.display()
                ));
                self.panels.export.last_written = Some(path);
            }
            Event::DialogClosed { purpose, path } => {
                if let Some(path) = path {
                    self.dialog_answered(purpose, path);
                }
            }
            Event::DialogUnavailable(purpose) => {
                let instead = match purpose {
                    DialogPurpose::OpenDatasetFile | DialogPurpose::OpenDatasetFolder => {
                        "type the path in the Dataset panel or drop the file or folder onto the window"
                    }
                    DialogPurpose::OpenModel => {
                        "type the path under Model path in the Model panel, or drop the .safetensors file onto the window"
                    }
                    DialogPurpose::SaveModel => "type the path under Model path in the Model panel",
                    DialogPurpose::Export(_) => {
                        "use Export instead, which writes to the folder typed at the top of the Export tab"
                    }
                    DialogPurpose::ExportFolder => {
                        "type the folder into the Folder field at the top of the Export tab"
                    }
                    DialogPurpose::OpenSession | DialogPurpose::SaveSession => {
                        "type the session's path under Session and bookmarks in the left panel"
                    }
                };
                self.dialogs_unavailable = true;
                self.error(format!(
                    "no file dialog is available on this desktop (no xdg-desktop-portal); {instead}"
                ));
            }
            Event::Train(ev) => {
                self.panels.training.on_event(&ev);
                if let TrainEvent::Failed(e) = &ev {
                    self.error(format!("training stopped: {e}"));
                }
            }
            Event::TrainSnapshot {
                generation,
                model,
                codes,
                at,
            } => {
                if !generation.same_pair(&self.ws.generation()) {
                    return;
                }
                self.ws.set_weights(model);
                self.ws.model_unsaved = true;
                if let Some(codes) = codes {
                    self.ws.timeline.record(at.step, at.epoch, &codes);
                    self.accept_codes(codes);
                }
            }
            Event::TrainDone {
                generation,
                model,
                result,
            } => {
                self.training_ended();
                if generation.same_pair(&self.ws.generation()) {
                    self.ws.set_weights(model);
                    self.ws.model_unsaved = true;
                    self.request_encode();
                }
                match result {
                    Ok(s) if s.stopped => self.info(format!(
                        "training stopped after {} complete {}",
                        s.epochs_completed,
                        epochs_word(s.epochs_completed)
                    )),
                    Ok(s) => self.info(format!(
                        "training finished: {} {} in {:.1} s",
                        s.epochs_completed,
                        epochs_word(s.epochs_completed),
                        s.elapsed_secs
                    )),
                    Err(e) => self.error(e),
                }
            }
            Event::LayoutProgress {
                stamp,
                fraction,
                text,
                frame,
            } => self.layout_progress(stamp, fraction, text, frame),
            Event::LayoutDone { stamp, result } => self.layout_done(stamp, result),
            Event::Session(event) => self.session_event(*event),
            Event::TrainCrashed(reason) => {
                self.training_ended();
                // What the last snapshot brought is trained and not saved.
                if self.panels.training.last_step.is_some() {
                    self.ws.model_unsaved = true;
                }
                self.error(format!(
                    "training stopped by an internal error ({reason}); the model is as of the last update shown"
                ));
            }
            Event::Failed { job, error } => {
                self.error(error);
                match job {
                    JobKind::LoadDataset | JobKind::LoadModel => {
                        self.pending_restore = None;
                        if !self.fall_back_to_bundled("a file could not be opened") {
                            self.startup_answered();
                        }
                    }
                    JobKind::Score => self.ws.scores.pending = false,
                    // Older encodes are dropped unrun when a newer one waits: this is the
                    // newest's answer (at worst an older one's, and then the wait ends early).
                    JobKind::Encode => self.ws.map.answered = self.ws.map.serial,
                    JobKind::Traverse => self.panels.traversal.pending = false,
                    JobKind::Analogy => self.panels.analogy.pending = false,
                    JobKind::Decode(DecodePurpose::Thumbnails) => {
                        self.panels.map.thumbnails.recon.asked = None
                    }
                    _ => {}
                }
            }
        }
    }

    /// An answer about the map's codes, kept by the panel that asked if it is for the codes
    /// on the map now.
    fn codes_analysed(
        &mut self,
        stamp: Stamp,
        request: crate::gui::codes_analysis::CodesRequest,
        result: Result<crate::gui::codes_analysis::CodesResult, String>,
    ) {
        use crate::gui::codes_analysis::CodesAnswer;
        let version = stamp.serial;
        if !self.is_current(&stamp) || version != self.ws.map.codes_version {
            return;
        }
        let p = &mut self.panels;
        let result = match result {
            Ok(r) => r,
            Err(e) => {
                match request {
                    CodesRequest::Mixture { .. } => p.generate.source.fits.fail(),
                    _ => p.map.clusters.fail(request),
                }
                self.error(e);
                return;
            }
        };
        match result.answer {
            CodesAnswer::Mixture(fit) => {
                if p.generate
                    .source
                    .fits
                    .accept(version, request, fit, result.secs)
                {
                    self.rebuild_grid(true);
                }
            }
            other => p.map.clusters.accept(version, request, other, result.secs),
        }
    }

    /// A dataset and model that do not fit. When start-up chose the model (the user opened
    /// only a dataset), nothing the user did went wrong: a note, saying `what` and then what
    /// to do (a long line is cut at the window's edge; the map says it meanwhile too).
    /// Otherwise `error`.
    fn report_misfit(&mut self, what: &str, reason: &dyn std::fmt::Display, error: String) {
        if self.opened_for_the_user_unasked() {
            self.ws.notices.push_about(
                NoticeKind::Info,
                Some(Topic::PairMisfit),
                format!(
                    "{what}: make one for this dataset under New model in the Model panel, or open one that fits ({reason})"
                ),
            );
        } else {
            self.misfit_error(error);
        }
    }

    /// The model being opened is the one start-up chose (remembered or bundled), not one
    /// the user named.
    fn opened_for_the_user_unasked(&self) -> bool {
        !self.startup.done && self.startup.asked_model.is_none()
    }

    /// Start-up is over once the dataset and the model have both answered.
    fn startup_answered(&mut self) {
        if self.ws.data.is_some() && self.ws.model.is_some() && !self.is_loading() {
            self.startup.done = true;
        }
    }

    fn decoded(&mut self, purpose: DecodePurpose, stamp: Stamp, images: Vec<f32>) {
        if !self.is_current(&stamp) {
            return;
        }
        let Some(shape) = self.ws.model.as_ref().map(|m| m.config().input) else {
            return;
        };
        let p = &mut self.panels;
        match purpose {
            DecodePurpose::Strip if stamp.serial == p.interpolation.serial => {
                p.interpolation.strip.set_strip(images, shape);
            }
            DecodePurpose::Manifold if stamp.serial == p.map.manifold_serial => {
                p.map.manifold.set_tiles(images, shape, MANIFOLD_TILES);
                p.map.manifold_bounds = p.map.manifold_asked;
            }
            DecodePurpose::Spread if stamp.serial == p.decoder.selection.spread_serial => {
                p.decoder.selection.spread.set_strip(images, shape);
            }
            DecodePurpose::ClassRow if stamp.serial == p.decoder.classes.row_serial => {
                p.decoder.classes.row.set_strip(images, shape);
                p.decoder.classes.row_shown = p.decoder.classes.row_asked.clone();
            }
            DecodePurpose::ClassStrip if stamp.serial == p.decoder.classes.strip_serial => {
                p.decoder.classes.strip.set_strip(images, shape);
                p.decoder.classes.strip_shown = p.decoder.classes.strip_asked.clone();
            }
            DecodePurpose::Thumbnails => {
                let recon = &mut p.map.thumbnails.recon;
                // Decoded from the codes of this generation's current version only.
                if recon.made_for() == Some((stamp.generation, self.ws.map.codes_version)) {
                    recon.accept(stamp.serial, &images, shape);
                }
            }
            DecodePurpose::Grid if stamp.serial == p.generate.serial => {
                let cols = crate::render::grid_columns(p.generate.codes.len());
                p.generate.grid.set_grid(images, shape, cols);
            }
            _ => {}
        }
    }

    /// New codes for the map (from an encode or a training snapshot).
    fn accept_codes(&mut self, codes: crate::model::Codes) {
        if codes.latent != self.latent() || codes.len() != self.ws.map.indices.len() {
            return;
        }
        if self.ws.timeline.shown.is_some() {
            // Replaying: keep the new codes aside until "Live".
            self.ws.timeline.live_codes = Some(codes);
            return;
        }
        let settings = self.settings.clone();
        self.ws.map.set_codes(codes, &settings);
        if self.startup_secs.is_none() {
            self.startup_secs = Some(self.started.elapsed().as_secs_f64());
        }
        if self.ws.probe.len() != self.latent() {
            self.ws.probe = vec![0.0; self.latent()];
        }
        // The strip's anchors have new codes.
        if self.panels.interpolation.anchors.len() >= 2 {
            self.rebuild_strip();
        }
    }

    /// Re-encodes the map with the current model and data.
    pub(super) fn request_encode(&mut self) {
        let (Some(model), Some(data)) = (&self.ws.model, &self.ws.data) else {
            return;
        };
        if model.check_fits(data).is_err() {
            return;
        }
        if !self.jobs.is_running() {
            // Nothing would answer: nothing is waited for either.
            return;
        }
        let generation = self.ws.generation();
        let map = &mut self.ws.map;
        map.serial += 1;
        self.jobs.submit(Job::Encode {
            stamp: Stamp {
                generation,
                serial: map.serial,
            },
            model: model.clone(),
            data: data.clone(),
            indices: map.indices.clone(),
        });
    }

    fn set_dataset(&mut self, data: Arc<Dataset>, path: PathBuf, secs: f64) {
        if self.refused_while_training("opening another dataset") {
            return;
        }
        let summary = data.summary();
        self.settings.dataset_path = Some(path.clone());
        self.ws.set_dataset(data.clone(), path, self.map_points);
        if let Some((model, from)) = self.pending_restore.take()
            && model.check_fits(&data).is_ok()
        {
            self.log_line(&format!("loaded {summary} in {secs:.2} s"));
            self.set_model(model, from, true);
            self.info("restored the unsaved model: save it to keep it");
            return;
        }
        if let Some(model) = &self.ws.model
            && let Err(e) = model.check_fits(&data)
        {
            if self.fall_back_to_bundled(&e.to_string()) {
                return;
            }
            self.report_misfit(
                "the model opened at start does not fit",
                &e,
                format!("{e}. Create a New model for this dataset or open one that fits."),
            );
        } else if self.ws.model.is_some() {
            self.ws.notices.withdraw(Topic::PairMisfit);
        }
        self.log_line(&format!("loaded {summary} in {secs:.2} s"));
        self.request_encode();
        self.startup_answered();
    }

    /// Replaces the model unless it does not fit the dataset (then the old one stays).
    /// Returns whether it was taken.
    pub(super) fn set_model(
        &mut self,
        model: Arc<Model>,
        path: Option<PathBuf>,
        unsaved: bool,
    ) -> bool {
        if self.refused_while_training("changing the model") {
            return false;
        }
        if let Some(data) = &self.ws.data
            && let Err(e) = model.check_fits(data)
        {
            if self.fall_back_to_bundled(&e.to_string()) {
                return false;
            }
            self.report_misfit("no model opened", &e, format!("model refused: {e}"));
            return false;
        }
        if let Some(p) = &path
            && !unsaved
        {
            self.settings.model_path = Some(p.clone());
        }
        let latent = model.latent();
        if self.ws.data.is_some() {
            // It was checked above: model and data fit now.
            self.ws.notices.withdraw(Topic::PairMisfit);
        }
        self.ws.set_model(model, path, unsaved);
        self.recovery_written = None;
        if self.settings.axis_x >= latent || self.settings.axis_y >= latent {
            self.settings.axis_x = 0;
            self.settings.axis_y = 1.min(latent - 1);
        }
        self.request_encode();
        true
    }

    pub(super) fn dialog_answered(&mut self, purpose: DialogPurpose, path: PathBuf) {
        match purpose {
            DialogPurpose::OpenDatasetFile | DialogPurpose::OpenDatasetFolder => {
                self.apply(crate::gui::command::Command::OpenDataset(path))
            }
            DialogPurpose::OpenModel => self.apply(crate::gui::command::Command::OpenModel(path)),
            DialogPurpose::SaveModel => self.apply(crate::gui::command::Command::SaveModelTo(path)),
            DialogPurpose::Export(kind) => self.export(kind, Destination::Chosen(path)),
            DialogPurpose::ExportFolder => {
                self.info(format!("exports now go to {}", path.display()));
                self.settings.export_folder = Some(path);
            }
            DialogPurpose::OpenSession => self.apply(crate::gui::command::Command::Session(
                crate::gui::panels::session::SessionCommand::OpenFile(path),
            )),
            DialogPurpose::SaveSession => self.apply(crate::gui::command::Command::Session(
                crate::gui::panels::session::SessionCommand::SaveTo(path),
            )),
        }
    }
}

fn epochs_word(n: usize) -> &'static str {
    if n == 1 { "epoch" } else { "epochs" }
}
