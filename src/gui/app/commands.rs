//! Applying the commands the panels return at the end of a frame. A command may name a sample
//! or carry a code from a picture drawn a moment earlier: each is checked against the current
//! dataset and model here, and one that no longer fits is dropped.

use super::ExplorerApp;
use crate::gui::command::Command;
use crate::gui::dialogs::spawn_dialog;
use crate::gui::export_files::{Destination, typed_export_path, typed_full_path};
use crate::gui::notices::NoticeKind;
use crate::gui::worker::{DecodePurpose, Job, Stamp, TrainJob, TrainerHandle};
use crate::latent::{interpolate_path, sample_prior};
use crate::model::{Architecture, Likelihood, Model, VaeConfig};
use std::sync::Arc;

/// Most anchors an interpolation takes (each adds up to 32 frames).
const MAX_ANCHORS: usize = 26;

impl ExplorerApp {
    /// The user's dataset options, or None (with the reason on screen) when one does not parse.
    fn dataset_load_options(&mut self) -> Option<crate::data::LoadOptions> {
        match self.settings.dataset_options.parse() {
            Ok(options) => Some(options),
            Err(e) => {
                self.error(format!("dataset options: {e}; nothing was opened"));
                None
            }
        }
    }

    pub fn apply(&mut self, cmd: Command) {
        if self.held_for_unsaved_model(&cmd) {
            return;
        }
        match cmd {
            Command::Replace(cmd) => {
                // The user chose to throw the unsaved training away: its recovery copy goes
                // with it, or the next start would offer it back. Should the replacement then
                // fail, the model is still unsaved and is written again (at exit at the latest).
                if let Some(store) = &self.recovery {
                    store.discard();
                }
                self.recovery_written = None;
                self.replace_confirmed = true;
                self.apply(*cmd);
                self.replace_confirmed = false;
            }
            Command::Dialog(purpose) => spawn_dialog(
                self.dialogs.clone(),
                purpose,
                self.dialog_start(purpose),
                self.events.raw(),
                self.events.ctx().clone(),
            ),
            Command::OpenDataset(path) => {
                // The user has taken over from start-up: no more falling back.
                self.startup.done = true;
                if !self.refused_while_training("opening another dataset")
                    && let Some(options) = self.dataset_load_options()
                {
                    self.submit_dataset_load(path, options);
                }
            }
            Command::OpenModel(path) => {
                self.startup.done = true;
                if !self.refused_while_training("opening another model") {
                    self.jobs.submit(Job::LoadModel(path));
                }
            }
            Command::SaveModelTo(path) => {
                match (&self.ws.model, typed_full_path(&path, "the model file")) {
                    (Some(model), Ok(path)) => self.jobs.submit(Job::SaveModel {
                        model: model.clone(),
                        path,
                    }),
                    (None, _) => self.error("there is no model to save"),
                    (_, Err(e)) => self.error(format!("the model was not saved: {e}")),
                }
            }
            // A typed name without a folder goes where plain "Export" writes.
            Command::ExportTo(kind, path) => {
                match typed_export_path(&path, &self.export_folder()) {
                    Ok(path) => self.export(kind, Destination::Chosen(path)),
                    Err(e) => self.error(format!("nothing was exported: {e}")),
                }
            }
            Command::Export(kind) => self.export_to_folder(kind),
            Command::OpenFolder(folder) => {
                if let Err(e) = self.dialogs.show_folder(&folder) {
                    self.error(format!(
                        "could not open the folder {}: {e}",
                        folder.display()
                    ));
                }
            }
            Command::NewModel => {
                self.startup.done = true;
                self.new_model()
            }
            Command::StartTraining => self.start_training(),
            Command::PauseTraining => {
                if let Some(t) = &self.trainer {
                    t.control.pause();
                }
            }
            Command::ResumeTraining => {
                if let Some(t) = &self.trainer {
                    t.control.resume();
                }
            }
            Command::StopTraining => {
                if let Some(t) = &self.trainer {
                    t.control.stop();
                }
            }
            Command::Select(i) => {
                self.ws.select(i);
            }
            Command::GoTo(i) => {
                if !self.ws.select(i) {
                    let n = self.ws.data.as_ref().map_or(0, |d| d.len());
                    self.ws.notices.push(
                        NoticeKind::Info,
                        format!(
                            "Go to: there is no sample {i} on the map (samples 0 to {})",
                            n.saturating_sub(1)
                        ),
                    );
                }
            }
            Command::Notify(text) => self.ws.notices.push(NoticeKind::Info, text),
            Command::ExportPicture(picture) => self.export_picture(picture),
            Command::EstimateLikelihood { k, samples } => self.estimate_likelihood(k, samples),
            Command::CancelLikelihood => self.ws.likelihood.cancel(),
            Command::SetProbe(code) => {
                if self.ws.fits_code(&code) {
                    self.ws.probe = code;
                }
            }
            Command::SetClass(class) => {
                // Checked against the model now: the command may be older than the model.
                if self
                    .ws
                    .model_classes()
                    .is_some_and(|k| (class as usize) < k)
                    && self.ws.class != class
                {
                    self.ws.class = class;
                    // What is drawn as the picked class is drawn again.
                    self.panels.map.manifold_asked = None;
                    if !self.panels.generate.codes.is_empty() {
                        self.rebuild_grid(false);
                    }
                }
            }
            Command::ResetProbeToSelection => {
                if let Some(code) = self.ws.selection.and_then(|i| self.ws.code_of(i)) {
                    self.ws.probe = code;
                }
            }
            Command::SampleProbe => {
                self.probe_rng_seed += 1;
                let latent = self.latent();
                if latent > 0 {
                    self.ws.probe = sample_prior(1, latent, 1.0, self.probe_rng_seed);
                }
            }
            Command::AddAnchor(i) => {
                let anchors = &mut self.panels.interpolation.anchors;
                if self.ws.contains(i) && anchors.len() < MAX_ANCHORS {
                    anchors.push(i);
                    self.rebuild_strip();
                }
            }
            Command::ClearAnchors => {
                let it = &mut self.panels.interpolation;
                it.anchors.clear();
                it.frames.clear();
                it.strip = Default::default();
                it.serial += 1;
            }
            Command::RebuildStrip => self.rebuild_strip(),
            Command::RerollGrid => {
                self.settings.grid_seed += 1;
                self.rebuild_grid(true);
            }
            Command::RebuildGrid => self.rebuild_grid(true),
            Command::AnalyseCodes(request) => self.analyse_codes(request),
            Command::ReprojectMap => {
                let settings = self.settings.clone();
                self.ws.map.reproject(&settings);
            }
            Command::CancelLayout => self.cancel_layout(),
            Command::CancelDatasetLoad => self.dataset_loads.cancel_all(),
            Command::DecodeManifold(bounds) => self.request_manifold(bounds),
            Command::FillIn => self.fill_in(),
            Command::MakeAttribute { plus, minus } => self.make_attribute(plus, minus),
            Command::ApplyAttribute { k, amount } => {
                if let Some(a) = self.settings.attributes.get(k)
                    && a.vector.len() == self.ws.probe.len()
                    && amount.is_finite()
                {
                    for (p, v) in self.ws.probe.iter_mut().zip(&a.vector) {
                        *p += amount * v;
                    }
                }
            }
            Command::RemoveAttribute(k) => {
                if k < self.settings.attributes.len() {
                    self.settings.attributes.remove(k);
                }
            }
            Command::ShowTimeline(frame) => self.show_timeline(frame),
            Command::DismissNotice(k) => self.ws.notices.dismiss(k),
            Command::ResetLayout => self.reset_layout(),
            Command::SelectMany { indices, mode } => self.select_many(indices, mode),
            Command::ClearMultiSelection => self.clear_multi_selection(),
            Command::MakeGroup(source) => self.make_group(source),
            Command::EditGroup(k, edit) => self.edit_group(k, edit),
            Command::Session(c) => self.apply_session(c),
            Command::RestoreRecovered => self.restore_recovered(),
            cmd @ (Command::StartSweep(_)
            | Command::CancelSweep
            | Command::OpenSweep(_)
            | Command::CompareModel(_)
            | Command::CloseCompare) => self.apply_sweep(cmd),
            Command::DiscardRecovered => {
                if let Some(store) = &self.recovery {
                    store.discard();
                }
                self.recovered = None;
            }
        }
    }

    /// Starts the held-out likelihood estimate for the current model and data.
    fn estimate_likelihood(&mut self, k: usize, samples: usize) {
        let (Some(model), Some(data)) = (self.ws.model.clone(), self.ws.data.clone()) else {
            return;
        };
        if let Err(e) = crate::analysis::check_iw_samples(k) {
            self.ws.notices.push(NoticeKind::Error, e.to_string());
            return;
        }
        if let Err(e) = model.check_fits(&data) {
            self.ws.notices.push(
                NoticeKind::Error,
                format!("The model does not fit this dataset: {e}"),
            );
            return;
        }
        let indices = crate::gui::likelihood::held_out_sample(&data, samples);
        let generation = self.ws.generation();
        if let Err(e) = self
            .ws
            .likelihood
            .start(model, data, indices, k, generation)
        {
            self.ws.notices.push(
                NoticeKind::Error,
                format!("could not start the likelihood estimate: {e}"),
            );
        }
    }

    /// Decodes the path through the anchors (their codes on the current map).
    pub(super) fn rebuild_strip(&mut self) {
        let Some(model) = self.ws.model.clone() else {
            return;
        };
        let anchor_samples: Vec<usize> = self
            .panels
            .interpolation
            .anchors
            .iter()
            .copied()
            .filter(|&i| self.ws.code_of(i).is_some())
            .collect();
        let anchors: Vec<Vec<f32>> = anchor_samples
            .iter()
            .filter_map(|&i| self.ws.code_of(i))
            .collect();
        if anchors.len() < 2 {
            return;
        }
        let steps = self.settings.interp_steps.clamp(2, 32);
        let frames = interpolate_path(&anchors, steps, self.settings.interp_kind);
        let flat: Vec<f32> = frames.concat();
        // A conditional model's condition travels with the code: the anchors' one-hot labels
        // blended linearly along the same steps (as `latent-explorer interpolate` does).
        let condition = match (model.classes(), &self.ws.data) {
            (Some(count), Some(data)) => {
                let hot: Option<Vec<Vec<f32>>> = anchor_samples
                    .iter()
                    .map(|&i| {
                        data.label(i)
                            .map(|c| crate::model::one_hot_values(&[c], count))
                    })
                    .collect();
                match hot {
                    Some(hot) => crate::model::Condition::Weights(
                        interpolate_path(&hot, steps, crate::latent::InterpolationKind::Linear)
                            .concat(),
                    ),
                    None => crate::model::Condition::None,
                }
            }
            _ => crate::model::Condition::None,
        };
        let it = &mut self.panels.interpolation;
        it.frames = frames;
        it.serial += 1;
        let stamp = Stamp {
            generation: self.ws.generation(),
            serial: it.serial,
        };
        self.jobs.submit(Job::Decode {
            purpose: DecodePurpose::Strip,
            stamp,
            model,
            codes: flat,
            condition,
        });
    }

    /// Decodes the generated grid: new draws from the prior when `redraw` or when the codes
    /// do not fit the model, else the same codes again (new weights).
    pub(super) fn rebuild_grid(&mut self, redraw: bool) {
        let Some(model) = self.ws.model.clone() else {
            return;
        };
        let latent = model.latent();
        let g = &mut self.panels.generate;
        if redraw || g.codes.is_empty() || g.codes.iter().any(|c| c.len() != latent) {
            let n = self.settings.grid_count.clamp(1, 400);
            let (temperature, seed) = (self.settings.temperature, self.settings.grid_seed);
            let flat = if g.source.from_mixture {
                // Nothing to draw until the fit for these codes is back (it redraws then).
                match g.source.mixture(self.ws.map.codes_version) {
                    Some(fit) if fit.mixture.dims() == latent => {
                        fit.mixture.sample(n, temperature, seed)
                    }
                    _ => {
                        g.codes.clear();
                        g.grid = Default::default();
                        return;
                    }
                }
            } else {
                sample_prior(n, latent, temperature, seed)
            };
            g.codes = flat.chunks(latent).map(<[f32]>::to_vec).collect();
        }
        g.serial += 1;
        let stamp = Stamp {
            generation: self.ws.generation(),
            serial: g.serial,
        };
        self.jobs.submit(Job::Decode {
            purpose: DecodePurpose::Grid,
            stamp,
            model,
            codes: g.codes.concat(),
            condition: self.ws.condition(),
        });
    }

    /// Sends work on the map's codes to the jobs thread, stamped with the codes version.
    pub(super) fn analyse_codes(&mut self, request: crate::gui::codes_analysis::CodesRequest) {
        let (Some(codes), Some(data)) = (&self.ws.map.codes, &self.ws.data) else {
            return;
        };
        let labels = data.labels().map(|_| {
            let indices = &self.ws.map.indices;
            indices
                .iter()
                .map(|&i| data.label(i).unwrap_or(0))
                .collect()
        });
        self.jobs.submit(Job::AnalyseCodes {
            stamp: Stamp {
                generation: self.ws.generation(),
                serial: self.ws.map.codes_version,
            },
            request,
            codes: std::sync::Arc::new(codes.clone()),
            labels,
        });
    }

    pub(super) fn new_model(&mut self) {
        if self.refused_while_training("creating a model") {
            return;
        }
        let Some(data) = self.ws.data.clone() else {
            self.error("open a dataset first: a new model takes its image shape");
            return;
        };
        let s = &self.settings.new_model;
        let (what, widths) = match s.arch {
            Architecture::Mlp => ("hidden sizes", &s.hidden),
            Architecture::Conv => ("conv channels", &s.channels),
        };
        let hidden: Result<Vec<usize>, _> = widths
            .split(',')
            .filter(|t| !t.trim().is_empty())
            .map(|t| t.trim().parse::<usize>())
            .collect();
        let Ok(hidden) = hidden else {
            self.error(format!(
                "{what} '{widths}' are not numbers separated by commas"
            ));
            return;
        };
        let likelihood = s
            .likelihood
            .unwrap_or_else(|| Likelihood::suggested_for(&data).0);
        let config = VaeConfig {
            arch: s.arch,
            hidden,
            likelihood,
            beta: s.beta,
            ..VaeConfig::for_shape(data.shape, s.latent)
        };
        // As the dialog shows it: the box is ticked only for an MLP on labelled data.
        let conditional = s.conditional
            && s.arch == Architecture::Mlp
            && data.class_count().is_some_and(|k| k >= 2);
        let config = if conditional {
            match config.conditioned_on(&data) {
                Ok(c) => c,
                Err(e) => {
                    self.error(format!("could not create the model: {e}"));
                    return;
                }
            }
        } else {
            config
        };
        match Model::new_random(config, self.settings.train.seed) {
            Ok(model) => {
                if self.set_model(Arc::new(model), None, true) {
                    self.info("created a new, untrained model: press Start to train it");
                }
            }
            Err(e) => self.error(format!("could not create the model: {e}")),
        }
    }

    pub(super) fn start_training(&mut self) {
        if self.is_training() {
            return;
        }
        if self.ws.sweep.is_running() {
            // Both would share the two cores and the user's attention.
            self.error("a sweep is running: wait for it or cancel it before training");
            return;
        }
        let (Some(model), Some(data)) = (self.ws.model.clone(), self.ws.data.clone()) else {
            self.error("open a dataset and a model first");
            return;
        };
        if let Err(e) = model.check_fits(&data) {
            self.misfit_error(format!("cannot train: {e}"));
            return;
        }
        if let Err(e) = self.settings.train.validate() {
            self.error(e.to_string());
            return;
        }
        // The model was checked at a default batch when made; the batch chosen now counts too.
        if let Err(e) = crate::budget::Budget::current()
            .check_model(model.config(), self.settings.train.batch_size)
        {
            self.error(format!(
                "cannot train with batches of {}: {e}",
                self.settings.train.batch_size
            ));
            return;
        }
        self.show_timeline(None);
        let job = TrainJob {
            data,
            config: self.settings.train.clone(),
            map_indices: self.ws.map.indices.clone(),
            map_codes: self.ws.map.codes.clone(),
            generation: self.ws.generation(),
            recovery: self.recovery.clone(),
            dataset_path: self.ws.data_path.clone(),
            model_path: self.ws.model_path.clone(),
            hook: self.train_hook.clone(),
        };
        match TrainerHandle::spawn(&model, job, self.events.clone()) {
            Ok(handle) => self.trainer = Some(handle),
            Err(e) => self.error(e),
        }
    }

    /// Opens the model kept from an earlier run; it stays marked unsaved.
    fn restore_recovered(&mut self) {
        let Some(r) = self.recovered.take() else {
            return;
        };
        if self.refused_while_training("restoring a model") {
            self.recovered = Some(r);
            return;
        }
        match Model::load(&r.model_path) {
            Ok(model) => {
                let from = r.note.model.clone();
                let fits = self
                    .ws
                    .data
                    .as_ref()
                    .is_none_or(|d| model.check_fits(d).is_ok());
                if !fits && let Some(dataset) = r.note.dataset.clone() {
                    // Its dataset first, then the model (when that dataset has loaded).
                    self.pending_restore = Some((Arc::new(model), from));
                    self.startup.done = true;
                    let options = self.settings.dataset_options.parse().unwrap_or_default();
                    self.submit_dataset_load(dataset, options);
                    self.info(format!(
                        "restoring the unsaved model from {} with its dataset",
                        r.when()
                    ));
                    return;
                }
                if self.set_model(Arc::new(model), from, true) {
                    self.info(format!(
                        "restored the unsaved model from {}: save it to keep it",
                        r.when()
                    ));
                } else {
                    // Kept for later: it may fit another dataset.
                    self.recovered = Some(r);
                }
            }
            Err(e) => self.error(format!("could not restore the unsaved model: {e}")),
        }
    }
}
