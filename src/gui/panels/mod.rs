//! One file per panel, each a state struct with `fn ui(&mut self, ui, ctx, settings, commands)`
//! (like egui_demo_lib's views). A panel reads the shared workspace through [`PanelCtx`]
//! (shared references only), keeps what it derived in its own struct, edits only its own
//! persisted settings, and asks for everything else with [`Command`]s that the app applies
//! after the frame. What a panel derived from the dataset or the model is dropped in one
//! place, [`Panels::sync`], when the workspace's [`Generation`] moves on.

pub mod analogy;
pub mod anomalies;
pub mod compare_map;
pub mod conditional;
pub mod dataset;
pub mod decoder;
pub mod export;
pub mod generate;
pub mod groups;
pub mod help;
pub mod interpolation;
pub mod map;
pub mod missing_data;
pub mod model;
pub mod picture;
pub mod rate_distortion;
pub mod sampling;
pub mod session;
pub mod status;
pub mod training;
pub mod traversal;
pub mod unsaved_model;

use super::command::Command;
use super::workspace::{Generation, Workspace};
use crate::recovery::Recovered;
use egui::Ui;

/// What a panel may read: the workspace and the window's state, never to change.
pub struct PanelCtx<'a> {
    pub ws: &'a Workspace,
    /// A training run is going (the model and data must not change under it).
    pub training: bool,
    /// Background work (loading, encoding, decoding, writing) is in flight.
    pub busy: bool,
    /// A dataset or model is being opened.
    pub loading: bool,
    /// The map is being encoded.
    pub encoding: bool,
    /// A file dialog failed to show: typed paths are the way in.
    pub dialogs_unavailable: bool,
    /// An unsaved model from an earlier run, waiting to be restored or discarded.
    pub recovered: Option<&'a Recovered>,
    pub timings: Timings,
    /// The dataset being read now, if any.
    pub dataset_loading: Option<DatasetLoading<'a>>,
}

/// A dataset being read: which, how far it has got, and whether Cancel was asked.
#[derive(Clone, Copy, Debug)]
pub struct DatasetLoading<'a> {
    pub path: &'a std::path::Path,
    pub progress: crate::data::LoadProgressView,
    pub cancelling: bool,
}

/// Frame figures shown in the top bar.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timings {
    pub ui_ms: f32,
    pub frame_ms: f32,
    pub raster_ms: f32,
    pub startup_secs: Option<f64>,
}

/// What changed in the workspace since the panels last looked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Changed {
    pub data: bool,
    pub model: bool,
    pub weights: bool,
}

impl Changed {
    pub fn any(&self) -> bool {
        self.data || self.model || self.weights
    }
}

/// Every panel's own state.
#[derive(Default)]
pub struct Panels {
    pub status: status::StatusPanel,
    pub dataset: dataset::DatasetPanel,
    pub model: model::ModelPanel,
    pub training: training::TrainingPanel,
    pub decoder: decoder::DecoderPanel,
    pub map: map::MapPanel,
    pub interpolation: interpolation::InterpolationPanel,
    pub generate: generate::GeneratePanel,
    pub anomalies: anomalies::AnomaliesPanel,
    pub missing: missing_data::MissingDataPanel,
    pub export: export::ExportPanel,
    pub help: help::HelpPanel,
    pub traversal: traversal::TraversalPanel,
    pub analogy: analogy::AnalogyPanel,
    pub rate_distortion: rate_distortion::RateDistortionPanel,
    pub groups: groups::GroupsPanel,
    pub session: session::SessionPanel,
    /// The question asked before an unsaved, trained model is replaced.
    pub replace_prompt: unsaved_model::ReplacePrompt,
    made_for: Generation,
}

impl Panels {
    /// The one place where what the panels derived from the dataset or the model is dropped
    /// when either changes. Returns what changed, so the app can ask for it again.
    pub fn sync(&mut self, current: Generation) -> Changed {
        let before = self.made_for;
        let changed = Changed {
            data: before.data != current.data,
            model: before.model != current.model,
            weights: before.weights != current.weights,
        };
        if !changed.any() {
            return changed;
        }
        self.made_for = current;
        if changed.data || changed.model {
            self.decoder.reset(changed);
            self.map.reset(changed);
            self.interpolation.reset(changed);
            self.generate.reset(changed);
            self.anomalies.reset(changed);
            self.missing.reset(changed);
            self.training.reset(changed);
            self.traversal.reset(changed);
            self.analogy.reset(changed);
            self.groups.reset(changed);
        }
        changed
    }

    /// The generation the panels' state belongs to.
    pub fn made_for(&self) -> Generation {
        self.made_for
    }
}

/// A texture scaled to fit `max` while keeping whole-pixel proportions.
pub fn fit_size(texture: &egui::TextureHandle, max: egui::Vec2) -> egui::Vec2 {
    fit_size_of(texture.size_vec2(), max)
}

/// A picture of `size` scaled to fit `max`: whole multiples when enlarged.
pub fn fit_size_of(size: egui::Vec2, max: egui::Vec2) -> egui::Vec2 {
    let scale = (max.x / size.x).min(max.y / size.y).max(0.1);
    let scale = if scale >= 1.0 { scale.floor() } else { scale };
    size * scale
}

/// A label and a widget in a grid row, the widget named by the label (for screen readers and
/// tests that find widgets by name).
pub fn grid_row(
    ui: &mut Ui,
    label: &str,
    add: impl FnOnce(&mut Ui) -> egui::Response,
) -> egui::Response {
    let l = ui.label(label);
    let response = add(ui).labelled_by(l.id);
    ui.end_row();
    response
}

/// A text that may be long (a class list, a path): cut to the space there is, whole on hover.
pub fn long_label(ui: &mut Ui, text: impl Into<String>) -> egui::Response {
    let text = text.into();
    ui.add(egui::Label::new(text.clone()).truncate())
        .on_hover_text(text)
}

/// A path typed by hand and a button that uses it: the way in when no file dialog can be shown.
pub fn typed_path_ui(
    ui: &mut Ui,
    text: &mut String,
    hint: &str,
    button: &str,
) -> Option<std::path::PathBuf> {
    let mut chosen = None;
    ui.horizontal(|ui| {
        let edit = ui.add(
            egui::TextEdit::singleline(text)
                .hint_text(hint)
                .desired_width(170.0),
        );
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (ui.button(button).clicked() || enter) && !text.trim().is_empty() {
            chosen = Some(std::path::PathBuf::from(text.trim()));
        }
    });
    chosen
}

/// Which tile of a clickable picture the pointer is on.
pub fn tile_under(
    view: &super::textures::ImageView,
    response: &egui::Response,
    tex_size: egui::Vec2,
    shown: egui::Vec2,
    pos: egui::Pos2,
) -> Option<usize> {
    let local = (pos - response.rect.min) * (tex_size.x / shown.x);
    view.tile_at(local.x, local.y)
}
