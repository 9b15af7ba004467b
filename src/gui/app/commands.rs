//! Applying the commands the panels return at the end of a frame: selection, probe, dialogs,
//! training, exports, model and dataset changes.

use super::*;

impl ExplorerApp {
    pub fn apply(&mut self, cmd: Command) {
        match cmd {
            Command::Dialog(purpose) => spawn_dialog(
                self.dialogs.clone(),
                purpose,
                self.events.raw(),
                self.events.ctx().clone(),
            ),
            Command::OpenDataset(path) => {
                if !self.refused_while_training("opening another dataset") {
                    self.session.loading += 1;
                    self.jobs.submit(Job::LoadDataset(path));
                }
            }
            Command::OpenModel(path) => {
                if !self.refused_while_training("opening another model") {
                    self.session.loading += 1;
                    self.jobs.submit(Job::LoadModel(path));
                }
            }
            Command::SaveModelTo(path) => match &self.session.model {
                Some(model) => self.jobs.submit(Job::SaveModel {
                    model: model.clone(),
                    path,
                }),
                None => self.error("there is no model to save"),
            },
            Command::ExportTo(kind, path) => {
                self.dialog_answered(DialogPurpose::Export(kind), path)
            }
            Command::NewModel => self.new_model(),
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
                self.session.selection = Some(i);
                self.session.history.retain(|&h| h != i);
                self.session.history.insert(0, i);
                self.session.history.truncate(12);
                if let Some(code) = self.code_of(i) {
                    self.session.probe = code;
                }
                self.refresh_selection_images();
            }
            Command::SetProbe(code) => {
                if code.len() == self.latent() {
                    self.session.probe = code;
                }
            }
            Command::ResetProbeToSelection => {
                if let Some(code) = self.session.selection.and_then(|i| self.code_of(i)) {
                    self.session.probe = code;
                }
            }
            Command::SampleProbe => {
                self.probe_rng_seed += 1;
                self.session.probe = sample_prior(1, self.latent(), 1.0, self.probe_rng_seed);
            }
            Command::AddAnchor(i) => {
                self.session.interp.anchors.push(i);
                self.apply(Command::RebuildStrip);
            }
            Command::ClearAnchors => {
                self.session.interp = Interpolation {
                    generation: self.session.interp.generation + 1,
                    ..Interpolation::default()
                };
            }
            Command::RebuildStrip => self.rebuild_strip(),
            Command::RerollGrid => {
                self.settings.grid_seed += 1;
                self.apply(Command::RebuildGrid);
            }
            Command::RebuildGrid => {
                let Some(model) = self.session.model.clone() else {
                    return;
                };
                let n = self.settings.grid_count.clamp(1, 400);
                let flat = sample_prior(
                    n,
                    model.latent(),
                    self.settings.temperature,
                    self.settings.grid_seed,
                );
                let g = &mut self.session.generated;
                g.codes = flat.chunks(model.latent()).map(<[f32]>::to_vec).collect();
                g.generation += 1;
                self.jobs.submit(Job::Decode {
                    purpose: DecodePurpose::Grid,
                    generation: g.generation,
                    model,
                    codes: flat,
                });
            }
            Command::ReprojectMap => {
                let settings = self.settings.clone();
                self.session.map.reproject(&settings);
            }
            Command::FillIn => self.fill_in(),
            Command::MakeAttribute { plus, minus } => self.make_attribute(plus, minus),
            Command::ApplyAttribute { k, amount } => {
                if let Some(a) = self.settings.attributes.get(k)
                    && a.vector.len() == self.session.probe.len()
                {
                    for (p, v) in self.session.probe.iter_mut().zip(&a.vector) {
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
            Command::DismissNotice(k) => {
                if k < self.session.notices.len() {
                    self.session.notices.remove(k);
                }
            }
        }
    }

    pub(super) fn rebuild_strip(&mut self) {
        let Some(model) = self.session.model.clone() else {
            return;
        };
        let anchors: Vec<Vec<f32>> = self
            .session
            .interp
            .anchors
            .iter()
            .filter_map(|&i| self.code_of(i))
            .collect();
        if anchors.len() < 2 {
            return;
        }
        let steps = self.settings.interp_steps.clamp(2, 32);
        let frames = interpolate_path(&anchors, steps, self.settings.interp_kind);
        let flat: Vec<f32> = frames.concat();
        let it = &mut self.session.interp;
        it.frames = frames;
        it.generation += 1;
        self.jobs.submit(Job::Decode {
            purpose: DecodePurpose::Strip,
            generation: it.generation,
            model,
            codes: flat,
        });
    }

    pub(super) fn new_model(&mut self) {
        if self.refused_while_training("creating a model") {
            return;
        }
        let Some(data) = self.session.data.clone() else {
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
        match Model::new_random(config, self.settings.train.seed) {
            Ok(model) => {
                self.set_model(Arc::new(model), None, true);
                self.info("created a new, untrained model: press Start to train it");
            }
            Err(e) => self.error(format!("could not create the model: {e}")),
        }
    }

    pub(super) fn start_training(&mut self) {
        if self.is_training() {
            return;
        }
        let (Some(model), Some(data)) = (self.session.model.clone(), self.session.data.clone())
        else {
            self.error("open a dataset and a model first");
            return;
        };
        if let Err(e) = self.settings.train.validate() {
            self.error(e.to_string());
            return;
        }
        self.session.training = TrainingView::default();
        self.apply(Command::ShowTimeline(None));
        self.session.timeline.clear();
        match TrainerHandle::spawn(
            &model,
            data,
            self.settings.train.clone(),
            self.session.map.indices.clone(),
            self.events.clone(),
        ) {
            Ok(handle) => self.trainer = Some(handle),
            Err(e) => self.error(e),
        }
    }
}
