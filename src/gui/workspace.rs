//! The shared, read-mostly state of the window: the dataset, the model, the map of their codes,
//! the selection and the probe. Panels read it through [`super::panels::PanelCtx`]; only the app
//! changes it, and every change of dataset or model goes through [`Workspace::set_dataset`] or
//! [`Workspace::set_model`], which bump the [`Generation`] that everything derived carries.

use super::map_view::MapState;
use super::notices::Notices;
use crate::analysis::AnomalyScores;
use crate::data::Dataset;
use crate::model::{Codes, Condition, Likelihood, Model};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Which dataset, which model and which weights of it something was made from. Anything
/// derived (codes, thumbnails, decoded strips, scores) keeps the generation it was made for and
/// is ignored or dropped once the workspace has moved on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Generation {
    /// Bumped when another dataset is opened.
    pub data: u64,
    /// Bumped when another model is opened or created.
    pub model: u64,
    /// Bumped when the model's weights change in place (training snapshots).
    pub weights: u64,
}

impl Generation {
    /// Same dataset and same model (the weights may have moved on).
    pub fn same_pair(&self, other: &Generation) -> bool {
        self.data == other.data && self.model == other.model
    }
}

/// Anomaly scores of the map's samples, for the codes version they were computed on.
#[derive(Default)]
pub struct ScoresState {
    pub scores: Option<Arc<AnomalyScores>>,
    /// Bumped whenever `scores` is replaced (colour caches key on it).
    pub version: u64,
    /// The map codes version the scores (or the request in flight) belong to.
    pub for_codes: u64,
    pub pending: bool,
    pub requested_at: Option<Instant>,
}

/// The map as training left it at one moment: the replayable history of a run.
pub struct TimelineFrame {
    pub step: usize,
    pub epoch: usize,
    pub latent: usize,
    /// The map points' posterior means, [points, latent] (the replay draws means only).
    pub mean: Vec<f32>,
}

/// The most frames a run keeps; past it every other frame is dropped, so a long run keeps an
/// even sample of its history in bounded memory.
pub const TIMELINE_FRAMES: usize = 60;
/// ...and at most this many code values in all (128 MiB): 60 frames of 70,000 2-D codes fit,
/// while 16-D codes keep 30 frames. A frame larger than the cap is not kept at all.
pub const TIMELINE_VALUES: usize = 32 << 20;

/// The replayable history of training runs on the current model.
#[derive(Default)]
pub struct Timeline {
    pub frames: Vec<TimelineFrame>,
    /// The frame shown on the map instead of the live codes, if replaying.
    pub shown: Option<usize>,
    /// The live codes while a past frame is shown.
    pub live_codes: Option<Codes>,
}

impl Timeline {
    /// Keeps a frame, thinning the history to stay within both caps.
    pub fn record(&mut self, step: usize, epoch: usize, codes: &Codes) {
        let values = codes.mean.len().max(1);
        let most = (TIMELINE_VALUES / values).min(TIMELINE_FRAMES);
        if most == 0 {
            return;
        }
        self.frames.push(TimelineFrame {
            step,
            epoch,
            latent: codes.latent,
            mean: codes.mean.clone(),
        });
        while self.frames.len() > most {
            let mut k = 0;
            self.frames.retain(|_| {
                k += 1;
                k % 2 == 1
            });
        }
        if let Some(s) = self.shown
            && s >= self.frames.len()
        {
            self.shown = Some(self.frames.len() - 1);
        }
    }
}

/// Everything the panels share.
#[derive(Default)]
pub struct Workspace {
    pub data: Option<Arc<Dataset>>,
    pub data_path: Option<PathBuf>,
    pub model: Option<Arc<Model>>,
    pub model_path: Option<PathBuf>,
    /// Trained or created since it was last saved.
    pub model_unsaved: bool,
    generation: Generation,
    pub map: MapState,
    pub selection: Option<usize>,
    /// Recently selected samples, newest first.
    pub history: Vec<usize>,
    /// The code the sliders show (and the probe on the map marks).
    pub probe: Vec<f32>,
    /// The class a conditional model draws the probe (and generated codes) as: the Decoder's
    /// class picker, which follows the selected sample's label. Unused for other models.
    pub class: u16,
    pub scores: ScoresState,
    pub timeline: Timeline,
    /// The likelihood that suits the loaded dataset, and its fraction of values near 0 or 1.
    pub suggested_likelihood: Option<(Likelihood, f64)>,
    pub notices: Notices,
    /// The held-out likelihood estimate in flight and the last one finished.
    pub likelihood: super::likelihood::LikelihoodState,
    /// The rate-distortion sweep shown or running, and the model compared beside the map.
    pub sweep: super::sweep::SweepState,
    /// The negative IW bound of the map's samples as an anomaly score, in flight.
    pub iw_scores: super::iw_scores::IwScoresState,
    /// Samples taken by a lasso or a rectangle on the map (dataset indices, ascending).
    pub multi_selection: Vec<u32>,
    /// Named groups of samples of the current dataset (dropped with it).
    pub groups: Vec<crate::latent::Group>,
    /// Bumped whenever the groups or the multi-selection change (what is drawn from them
    /// keys on it).
    pub groups_version: u64,
    /// The session file and whether it has unsaved changes (the app keeps it up to date).
    pub session: super::panels::session::SessionStatus,
}

impl Workspace {
    pub fn generation(&self) -> Generation {
        self.generation
    }

    /// The latent size of the model (0 without one).
    pub fn latent(&self) -> usize {
        self.model.as_ref().map(|m| m.latent()).unwrap_or(0)
    }

    /// The classes a conditional model has (None for another model or none).
    pub fn model_classes(&self) -> Option<usize> {
        self.model.as_ref().and_then(|m| m.classes())
    }

    /// What drawn codes (the probe, the generated grid, the map's background) decode as: the
    /// picked class for a conditional model, nothing for another.
    pub fn condition(&self) -> Condition {
        match self.model_classes() {
            Some(k) => Condition::Class(self.class.min(k.saturating_sub(1) as u16)),
            None => Condition::None,
        }
    }

    /// What sample `i`'s own code decodes as: its label for a conditional model.
    pub fn condition_of_sample(&self, i: usize) -> Condition {
        match (
            self.model_classes(),
            self.data.as_ref().and_then(|d| d.label(i)),
        ) {
            (Some(_), Some(label)) => Condition::Class(label),
            _ => Condition::None,
        }
    }

    /// Whether `i` names a sample of the current dataset.
    pub fn contains(&self, i: usize) -> bool {
        self.data.as_ref().is_some_and(|d| i < d.len())
    }

    /// Whether `code` can be decoded by the current model.
    pub fn fits_code(&self, code: &[f32]) -> bool {
        !code.is_empty() && code.len() == self.latent() && code.iter().all(|v| v.is_finite())
    }

    /// Both are loaded and the model takes the dataset's images.
    pub fn pair_fits(&self) -> bool {
        match (&self.model, &self.data) {
            (Some(m), Some(d)) => m.check_fits(d).is_ok(),
            _ => false,
        }
    }

    /// The map's code of sample `i` (codes are only ever those of the current pair).
    pub fn code_of(&self, i: usize) -> Option<Vec<f32>> {
        self.map.code_of(i).filter(|c| c.len() == self.latent())
    }

    /// Another dataset: everything indexed by sample starts over.
    pub fn set_dataset(&mut self, data: Arc<Dataset>, path: PathBuf, map_points: usize) {
        self.generation.data += 1;
        let indices: Vec<usize> = (0..data.len().min(map_points)).collect();
        self.map = MapState::new(Arc::new(indices));
        self.selection = None;
        self.history.clear();
        self.scores = ScoresState::default();
        self.timeline = Timeline::default();
        self.suggested_likelihood = Some(Likelihood::suggested_for(&data));
        if !self.groups.is_empty() {
            self.notices.push(
                super::notices::NoticeKind::Info,
                format!(
                    "the {} groups of the previous dataset were dropped: they name its samples",
                    self.groups.len()
                ),
            );
        }
        self.clear_groups();
        self.data_path = Some(path);
        self.data = Some(data);
    }

    /// Another model: codes and everything made from them start over; the selection (a sample
    /// index) stays.
    pub fn set_model(&mut self, model: Arc<Model>, path: Option<PathBuf>, unsaved: bool) {
        self.generation.model += 1;
        self.generation.weights += 1;
        self.probe = vec![0.0; model.latent()];
        self.class = 0;
        self.map.clear_codes();
        self.scores = ScoresState::default();
        self.timeline = Timeline::default();
        self.model_path = path;
        self.model_unsaved = unsaved;
        self.model = Some(model);
    }

    /// The same model with new weights (a training snapshot or the end of a run).
    pub fn set_weights(&mut self, model: Arc<Model>) {
        if self.model.as_ref().map(|m| m.latent()) != Some(model.latent()) {
            return;
        }
        self.generation.weights += 1;
        self.model = Some(model);
    }

    /// Neither dataset nor model (before opening another pair).
    pub fn clear_pair(&mut self) {
        self.generation.data += 1;
        self.generation.model += 1;
        self.generation.weights += 1;
        self.data = None;
        self.data_path = None;
        self.model = None;
        self.model_path = None;
        self.model_unsaved = false;
        self.map = MapState::default();
        self.selection = None;
        self.history.clear();
        self.probe.clear();
        self.scores = ScoresState::default();
        self.timeline = Timeline::default();
        self.clear_groups();
    }

    /// Groups and the multi-selection name samples of one dataset: another one drops them.
    fn clear_groups(&mut self) {
        self.multi_selection.clear();
        self.groups.clear();
        self.groups_version += 1;
    }

    /// Adds `group` once it is checked against the dataset (a group from a session file may
    /// name another dataset's samples); returns its position.
    pub fn add_group(&mut self, mut group: crate::latent::Group) -> Result<usize, String> {
        // A group read from a file may come unsorted or with repeats.
        group.indices.sort_unstable();
        group.indices.dedup();
        let n = self.data.as_ref().map_or(0, |d| d.len());
        group.check(n).map_err(|e| e.to_string())?;
        if group.is_empty() {
            return Err(format!("group \"{}\" has no samples", group.name));
        }
        self.groups.push(group);
        self.groups_version += 1;
        Ok(self.groups.len() - 1)
    }

    /// Selects sample `i` (checked) and moves the probe to its code.
    pub fn select(&mut self, i: usize) -> bool {
        if !self.contains(i) {
            return false;
        }
        self.selection = Some(i);
        self.history.retain(|&h| h != i);
        self.history.insert(0, i);
        self.history.truncate(12);
        if let Some(code) = self.code_of(i) {
            self.probe = code;
        }
        // A conditional model's probe is the sample's style: drawn as its own class.
        if let (Condition::Class(label), Some(k)) =
            (self.condition_of_sample(i), self.model_classes())
            && (label as usize) < k
        {
            self.class = label;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(points: usize, latent: usize) -> Codes {
        Codes {
            latent,
            mean: vec![0.5; points * latent],
            logvar: vec![0.0; points * latent],
        }
    }

    #[test]
    fn the_timeline_keeps_within_its_memory_cap() {
        // Small frames: at most TIMELINE_FRAMES of them, evenly thinned.
        let mut t = Timeline::default();
        for step in 0..500 {
            t.record(step, 0, &codes(100, 2));
        }
        assert!(t.frames.len() <= TIMELINE_FRAMES && t.frames.len() >= TIMELINE_FRAMES / 2);
        // Large frames: the value cap decides, not a minimum count.
        let mut t = Timeline::default();
        let big = codes(1_000_000, 16);
        for step in 0..10 {
            t.record(step, 0, &big);
        }
        let values: usize = t.frames.iter().map(|f| f.mean.len()).sum();
        assert!(values <= TIMELINE_VALUES, "{values} values kept");
        assert_eq!(t.frames.len(), TIMELINE_VALUES / big.mean.len());
        // A frame larger than the whole cap is not kept at all.
        let mut t = Timeline::default();
        t.record(0, 0, &codes(3_000_000, 16));
        assert!(t.frames.is_empty());
    }
}
