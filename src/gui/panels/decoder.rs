//! The decoder panel: one slider per latent dimension with the decoded image, large and crisp;
//! attribute vectors; the samples nearest to the code; the selected sample (original beside
//! reconstruction, draws from its posterior) with its scores.

use super::{Changed, Command, PanelCtx};
use crate::gui::state::Settings;
use crate::gui::textures::ImageView;
use egui::Ui;

/// Slider range: about three standard deviations of the prior either side (wider when the
/// code lies outside it, so a slider never shows a clamped value).
pub const SLIDER_RANGE: f32 = 3.5;

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
}

impl DecoderPanel {
    /// Another dataset or model: nothing shown here is true any more.
    pub fn reset(&mut self, changed: Changed) {
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
        let mut probe = ctx.ws.probe.clone();
        let mut changed = false;
        for (k, v) in probe.iter_mut().enumerate() {
            let range = SLIDER_RANGE.max(v.abs().ceil());
            changed |= ui
                .add(egui::Slider::new(v, -range..=range).text(format!("z{k}")))
                .changed();
        }
        if changed {
            commands.push(Command::SetProbe(probe));
        }
        attributes_ui(ui, ctx, settings, commands);
        self.neighbours_ui(ui, commands);
        ui.separator();
        self.selection_ui(ui, ctx, commands);
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
    fn neighbours_ui(&mut self, ui: &mut Ui, commands: &mut Vec<Command>) {
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
        if response.clicked()
            && let Some((i, _)) = under
        {
            commands.push(Command::Select(i));
        }
        match under {
            Some((i, d)) => {
                response.on_hover_text(format!("sample {i}, distance {d:.2}: click to select it"))
            }
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
