//! The decoder panel: one slider per latent dimension with the decoded image, large and crisp;
//! attribute vectors; the samples nearest to the code; the selected sample (original beside
//! reconstruction, draws from its posterior) with its scores.

use super::{Changed, Command, PanelCtx};
use crate::gui::state::Settings;
use crate::gui::textures::ImageView;
use egui::Ui;

/// Slider range at least: about three standard deviations of the prior either side. Wider
/// where the codes spread further, and wider still when the value lies outside, so a slider
/// never shows a clamped value.
pub const SLIDER_RANGE: f32 = 3.5;

/// Each latent dimension's slider range: the prior's +-3.5 joined with the codes' own
/// min..max, rounded out to half units.
pub fn slider_ranges(codes: Option<&crate::model::Codes>, latent: usize) -> Vec<(f32, f32)> {
    let mut ranges = vec![(-SLIDER_RANGE, SLIDER_RANGE); latent];
    if let Some(c) = codes.filter(|c| c.latent == latent) {
        for row in c.mean.chunks_exact(latent.max(1)) {
            for (r, &v) in ranges.iter_mut().zip(row) {
                if v.is_finite() {
                    *r = (r.0.min(v), r.1.max(v));
                }
            }
        }
    }
    ranges
        .into_iter()
        .map(|(lo, hi)| ((lo * 2.0).floor() / 2.0, (hi * 2.0).ceil() / 2.0))
        .collect()
}

/// The selected sample as shown: its pictures and scores, for one sample and codes version.
#[derive(Default)]
pub struct SelectionView {
    /// (sample, map codes version) the pictures are of.
    pub made_for: Option<(usize, u64)>,
    /// Original beside reconstruction.
    pub images: ImageView,
    /// Reconstruction error and KL.
    pub scores: Option<(f32, f32)>,
    /// Decoded draws z ~ q(z|x).
    pub spread: ImageView,
    /// The newest spread decode asked for.
    pub spread_serial: u64,
}

#[derive(Default)]
pub struct DecoderPanel {
    /// The probe's code decoded.
    pub preview: ImageView,
    /// The samples nearest to the probe, nearest first, with their distances in code space.
    pub neighbours: Vec<(usize, f32)>,
    pub neighbour_images: ImageView,
    /// The (probe, codes version) the neighbours were found for.
    pub neighbours_for: Option<(Vec<f32>, u64)>,
    pub selection: SelectionView,
    /// Slider ranges and the codes version they were found for.
    pub ranges: (u64, Vec<(f32, f32)>),
    /// Principal directions of the codes (all of them) and the codes version they were
    /// found for: the sliders' other mode for models with many dimensions.
    pub directions: Option<(u64, crate::latent::Pca)>,
    /// A conditional model's class picker, all-classes row and class-to-class strip.
    pub classes: super::conditional::ClassViews,
}

/// Models with at least this many dimensions offer sliders along principal directions.
pub const DIRECTIONS_FROM: usize = 8;
/// Principal directions are fitted to at most this many codes (evenly spaced).
const DIRECTIONS_SAMPLE: usize = 10_000;

/// Principal directions of the codes' means, fitted to an even sample of them.
pub fn fit_directions(codes: &crate::model::Codes) -> Option<crate::latent::Pca> {
    let l = codes.latent;
    let n = codes.len();
    if n < 2 || l == 0 {
        return None;
    }
    let step = n.div_ceil(DIRECTIONS_SAMPLE).max(1);
    let sample: Vec<f32> = (0..n)
        .step_by(step)
        .flat_map(|k| codes.mean_of(k).iter().copied())
        .collect();
    crate::latent::Pca::fit(&sample, l, l).ok()
}

impl DecoderPanel {
    /// Another dataset or model: nothing shown here is true any more.
    pub fn reset(&mut self, changed: Changed) {
        self.classes.reset(changed);
        if changed.data || changed.model {
            let serial = self.selection.spread_serial;
            self.preview = ImageView::default();
            self.neighbours.clear();
            self.neighbour_images = ImageView::default();
            self.neighbours_for = None;
            self.selection = SelectionView {
                spread_serial: serial,
                ..SelectionView::default()
            };
        }
    }

    pub fn ui(
        &mut self,
        ui: &mut Ui,
        ctx: &PanelCtx,
        settings: &mut Settings,
        commands: &mut Vec<Command>,
    ) {
        ui.heading("Decoder");
        let egui_ctx = ui.ctx().clone();
        let width = ui.available_width().min(280.0);
        if let Some(tex) = self.preview.texture(&egui_ctx, "preview") {
            let size = super::fit_size(tex, egui::vec2(width, width));
            ui.add(egui::Image::from_texture((tex.id(), size)));
        } else if ctx.ws.model.is_none() {
            ui.label("No model: open one or create a New model.");
        } else {
            ui.label("Loading…");
        }
        ui.horizontal(|ui| {
            if ui.button("Reset to selection").clicked() {
                commands.push(Command::ResetProbeToSelection);
            }
            if ui.button("Sample from prior").clicked() {
                commands.push(Command::SampleProbe);
            }
        });
        self.classes.ui(ui, ctx, commands);
        let latent = ctx.ws.probe.len();
        // As wide as the panel allows (the label and the value field take about 110 points):
        // at +-3.5 over 90 points a value could not be placed.
        ui.spacing_mut().slider_width = (ui.available_width() - 110.0).max(120.0);
        if latent >= DIRECTIONS_FROM {
            ui.horizontal(|ui| {
                ui.label("sliders move");
                ui.selectable_value(&mut settings.principal_sliders, false, "latent dims");
                ui.selectable_value(&mut settings.principal_sliders, true, "principal directions")
                    .on_hover_text("PCA of the codes: slider k moves the code along the k-th direction in which the codes vary most (its share of the variance in brackets)");
            });
        }
        let probe = if latent >= DIRECTIONS_FROM && settings.principal_sliders {
            self.direction_sliders_ui(ui, ctx)
        } else {
            self.dimension_sliders_ui(ui, ctx)
        };
        if let Some(probe) = probe {
            commands.push(Command::SetProbe(probe));
        }
        attributes_ui(ui, ctx, settings, commands);
        self.neighbours_ui(ui, ctx, commands);
        ui.separator();
        self.selection_ui(ui, ctx, commands);
    }

    /// One slider per latent dimension; the new code if one moved.
    fn dimension_sliders_ui(&mut self, ui: &mut Ui, ctx: &PanelCtx) -> Option<Vec<f32>> {
        let mut probe = ctx.ws.probe.clone();
        let map = &ctx.ws.map;
        if self.ranges.0 != map.codes_version || self.ranges.1.len() != probe.len() {
            self.ranges = (
                map.codes_version,
                slider_ranges(map.codes.as_ref(), probe.len()),
            );
        }
        let mut changed = false;
        for (k, v) in probe.iter_mut().enumerate() {
            let (lo, hi) = self
                .ranges
                .1
                .get(k)
                .copied()
                .unwrap_or((-SLIDER_RANGE, SLIDER_RANGE));
            let (lo, hi) = (lo.min(v.floor()), hi.max(v.ceil()));
            // No `step_by`: it would round every code shown (a selection's) to the step.
            let response = ui.add(egui::Slider::new(v, lo..=hi).text(format!("z{k}")));
            // A click gives the slider the keyboard, so the arrow keys step it.
            if response.clicked() || response.drag_started() {
                response.request_focus();
            }
            changed |= response.changed();
        }
        changed.then_some(probe)
    }

    /// One slider per principal direction of the codes, with the share of the variance it
    /// explains; moving slider k moves the code along direction k only.
    fn direction_sliders_ui(&mut self, ui: &mut Ui, ctx: &PanelCtx) -> Option<Vec<f32>> {
        let map = &ctx.ws.map;
        let probe = &ctx.ws.probe;
        let stale = !matches!(&self.directions, Some((v, p)) if *v == map.codes_version && p.dims == probe.len());
        if stale {
            self.directions = map
                .codes
                .as_ref()
                .filter(|c| c.latent == probe.len())
                .and_then(fit_directions)
                .map(|p| (map.codes_version, p));
        }
        let Some((_, pca)) = &self.directions else {
            ui.label("Principal directions appear once the dataset is encoded.");
            return None;
        };
        let coords = pca.project(probe);
        let ratios = pca.explained_ratio();
        let mut moved = None;
        for (k, &c) in coords.iter().enumerate() {
            let sd = pca
                .explained_variance
                .get(k)
                .copied()
                .unwrap_or(0.0)
                .max(0.0)
                .sqrt();
            let half = (3.0 * sd).max(0.5);
            let mut v = c;
            let (lo, hi) = ((-half).min(v.floor()), half.max(v.ceil()));
            let response = ui
                .add(egui::Slider::new(&mut v, lo..=hi).text(format!(
                    "PC{} ({:.0}%)",
                    k + 1,
                    ratios.get(k).copied().unwrap_or(0.0) * 100.0
                )))
                .on_hover_text("the code's position along this direction; the range is 3 standard deviations of the codes either side");
            if response.clicked() || response.drag_started() {
                response.request_focus();
            }
            if response.changed() {
                moved = Some((k, v - c));
            }
        }
        let (k, delta) = moved?;
        let direction = pca.components.get(k)?;
        Some(
            probe
                .iter()
                .zip(direction)
                .map(|(&z, &d)| z + delta * d)
                .collect(),
        )
    }

    fn selection_ui(&mut self, ui: &mut Ui, ctx: &PanelCtx, commands: &mut Vec<Command>) {
        ui.heading("Selection");
        let Some(i) = ctx.ws.selection else {
            ui.label("Click a point on the map.");
            return;
        };
        let egui_ctx = ui.ctx().clone();
        let view = &mut self.selection;
        if let Some(tex) = view.images.texture(&egui_ctx, "selection") {
            let size = super::fit_size(tex, egui::vec2(ui.available_width().min(260.0), 120.0));
            ui.add(egui::Image::from_texture((tex.id(), size)));
            ui.small("original · reconstruction");
        }
        if let Some(data) = &ctx.ws.data
            && i < data.len()
        {
            let label = data
                .class_name(i)
                .map(|c| format!(", class {c}"))
                .unwrap_or_default();
            super::long_label(
                ui,
                format!("sample {i} ({}){label}", data.split_of(i).as_str()),
            );
        }
        if let Some(tex) = view.spread.texture(&egui_ctx, "spread") {
            let size = super::fit_size(tex, egui::vec2(ui.available_width().min(280.0), 40.0));
            ui.add(egui::Image::from_texture((tex.id(), size)))
                .on_hover_text("Decoded samples z ~ q(z|x): how uncertain this sample's code is");
            ui.small("samples from its posterior q(z|x)");
        }
        if let Some((recon, kl)) = view.scores {
            ui.label(format!("reconstruction error {recon:.2}, KL {kl:.2}"));
        }
        if let Some(code) = ctx.ws.code_of(i) {
            let text: Vec<String> = code.iter().map(|v| format!("{v:.2}")).collect();
            ui.add(egui::Label::new(format!("code [{}]", text.join(", "))).wrap());
        }
        ui.horizontal(|ui| {
            if ui.button("Use as interpolation anchor").clicked() {
                commands.push(Command::AddAnchor(i));
            }
        });
    }

    /// The dataset samples nearest to the probe's code; click one to select it.
    fn neighbours_ui(&mut self, ui: &mut Ui, ctx: &PanelCtx, commands: &mut Vec<Command>) {
        if self.neighbours.is_empty() {
            return;
        }
        ui.label("Nearest samples to this code:");
        let egui_ctx = ui.ctx().clone();
        let neighbours = &self.neighbours;
        let view = &mut self.neighbour_images;
        let Some(tex) = view.texture(&egui_ctx, "neighbours") else {
            return;
        };
        let tex_size = tex.size_vec2();
        let size = super::fit_size(tex, egui::vec2(ui.available_width().min(280.0), 60.0));
        let response =
            ui.add(egui::Image::from_texture((tex.id(), size)).sense(egui::Sense::click()));
        let under = response
            .hover_pos()
            .and_then(|p| super::tile_under(view, &response, tex_size, size, p))
            .and_then(|k| neighbours.get(k).copied());
        let picture = under.map(|(i, _)| super::picture::Picture::Sample(i));
        super::picture::interact(&response, picture, ctx, commands);
        match under {
            Some((i, d)) => response.on_hover_text(format!(
                "sample {i}, distance {d:.2}: click to select it; right-click for more"
            )),
            None => response.on_hover_text("Click one to select it"),
        };
        let distances: Vec<String> = neighbours.iter().map(|(_, d)| format!("{d:.2}")).collect();
        ui.small(format!("distances: {}", distances.join(", ")));
    }
}

/// Attribute vectors: the difference of two classes' mean codes, applied to the current code
/// with a named slider ("7 minus 1": drag to add more "7-ness").
fn attributes_ui(ui: &mut Ui, ctx: &PanelCtx, settings: &Settings, commands: &mut Vec<Command>) {
    let Some(data) = ctx.ws.data.clone() else {
        return;
    };
    if data.labels().is_none() || data.class_names().is_empty() {
        return;
    }
    egui::CollapsingHeader::new("Attribute vectors").show(ui, |ui| {
        let names = data.class_names().to_vec();
        let id = ui.make_persistent_id("attribute-classes");
        let (mut plus, mut minus): (usize, usize) = ui.data(|d| {
            d.get_temp(id)
                .unwrap_or((7.min(names.len() - 1), 1.min(names.len() - 1)))
        });
        // One per row: side by side they would widen the panel.
        ui.vertical(|ui| {
            for (label, value) in [("class", &mut plus), ("minus class", &mut minus)] {
                egui::ComboBox::from_label(label)
                    .selected_text(names.get(*value).cloned().unwrap_or_default())
                    .show_ui(ui, |ui| {
                        for (k, n) in names.iter().enumerate() {
                            ui.selectable_value(value, k, n);
                        }
                    });
            }
        });
        ui.data_mut(|d| d.insert_temp(id, (plus, minus)));
        if ui.button("Make attribute vector").clicked() && plus != minus {
            commands.push(Command::MakeAttribute {
                plus: plus as u16,
                minus: minus as u16,
            });
        }
        for k in attributes_for(ctx.ws, settings) {
            let name = settings.attributes[k].name.clone();
            let amount_id = ui.make_persistent_id(("attribute-amount", k));
            let mut amount: f32 = ui.data(|d| d.get_temp(amount_id).unwrap_or(0.0));
            let before = amount;
            ui.horizontal(|ui| {
                if ui
                    .add(egui::Slider::new(&mut amount, -2.0..=2.0).text(&name))
                    .changed()
                {
                    commands.push(Command::ApplyAttribute {
                        k,
                        amount: amount - before,
                    });
                }
                if ui
                    .small_button("Remove")
                    .on_hover_text(format!("Remove {name}"))
                    .clicked()
                {
                    commands.push(Command::RemoveAttribute(k));
                }
            });
            ui.data_mut(|d| d.insert_temp(amount_id, amount));
        }
    });
}

/// The attribute vectors made with the workspace's model.
pub fn attributes_for(ws: &crate::gui::workspace::Workspace, settings: &Settings) -> Vec<usize> {
    let latent = ws.latent();
    (0..settings.attributes.len())
        .filter(|&k| {
            let a = &settings.attributes[k];
            a.vector.len() == latent && a.model == ws.model_path
        })
        .collect()
}
