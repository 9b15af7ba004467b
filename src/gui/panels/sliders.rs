//! One slider per latent dimension with the decoded image, large and crisp; the selected
//! sample (original beside reconstruction) with its scores.

use crate::gui::app::{Command, ExplorerApp};
use egui::Ui;

/// Slider range: about three standard deviations of the prior either side.
pub const SLIDER_RANGE: f32 = 3.5;

pub fn sliders_ui(app: &mut ExplorerApp, ui: &mut Ui, commands: &mut Vec<Command>) {
    ui.heading("Decoder");
    let ctx = ui.ctx().clone();
    let width = ui.available_width().min(280.0);
    if let Some(tex) = app.session.preview.texture(&ctx, "preview") {
        let size = super::fit_size(tex, egui::vec2(width, width));
        ui.add(egui::Image::from_texture((tex.id(), size)));
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
    let mut probe = app.session.probe.clone();
    let mut changed = false;
    for (k, v) in probe.iter_mut().enumerate() {
        changed |= ui
            .add(egui::Slider::new(v, -SLIDER_RANGE..=SLIDER_RANGE).text(format!("z{k}")))
            .changed();
    }
    if changed {
        commands.push(Command::SetProbe(probe));
    }
    attributes_ui(app, ui, commands);
    neighbours_ui(app, ui, commands);
    ui.separator();
    selection_ui(app, ui, commands);
}

fn selection_ui(app: &mut ExplorerApp, ui: &mut Ui, commands: &mut Vec<Command>) {
    ui.heading("Selection");
    let Some(i) = app.session.selection else {
        ui.label("Click a point on the map.");
        return;
    };
    let ctx = ui.ctx().clone();
    if let Some(tex) = app.session.selection_images.texture(&ctx, "selection") {
        let size = super::fit_size(tex, egui::vec2(ui.available_width().min(260.0), 120.0));
        ui.add(egui::Image::from_texture((tex.id(), size)));
        ui.small("original · reconstruction");
    }
    if let Some(data) = &app.session.data {
        let label = data
            .class_name(i)
            .map(|c| format!(", class {c}"))
            .unwrap_or_default();
        ui.label(format!("sample {i} ({}){label}", data.split_of(i).as_str()));
    }
    if let Some(tex) = app.session.spread.texture(&ctx, "spread") {
        let size = super::fit_size(tex, egui::vec2(ui.available_width().min(280.0), 40.0));
        ui.add(egui::Image::from_texture((tex.id(), size)))
            .on_hover_text("Decoded samples z ~ q(z|x): how uncertain this sample's code is");
        ui.small("samples from its posterior q(z|x)");
    }
    if let Some((recon, kl)) = app.session.selection_scores {
        ui.label(format!("reconstruction error {recon:.2}, KL {kl:.2}"));
    }
    if let Some(code) = app.code_of(i) {
        let text: Vec<String> = code.iter().map(|v| format!("{v:.2}")).collect();
        ui.label(format!("code [{}]", text.join(", ")));
    }
    ui.horizontal(|ui| {
        if ui.button("Use as interpolation anchor").clicked() {
            commands.push(Command::AddAnchor(i));
        }
    });
}

/// The dataset samples nearest to the probe's code; click one to select it.
fn neighbours_ui(app: &mut ExplorerApp, ui: &mut Ui, commands: &mut Vec<Command>) {
    if app.session.neighbours.is_empty() {
        return;
    }
    ui.label("Nearest samples to this code:");
    let ctx = ui.ctx().clone();
    let neighbours = app.session.neighbours.clone();
    let view = &mut app.session.neighbour_images;
    let Some(tex) = view.texture(&ctx, "neighbours") else {
        return;
    };
    let tex_size = tex.size_vec2();
    let size = super::fit_size(tex, egui::vec2(ui.available_width().min(280.0), 60.0));
    let response = ui
        .add(egui::Image::from_texture((tex.id(), size)).sense(egui::Sense::click()))
        .on_hover_text("Click one to select it");
    if response.clicked()
        && let Some(p) = response.interact_pointer_pos()
    {
        let local = (p - response.rect.min) * (tex_size.x / size.x);
        if let Some(&i) = view
            .tile_at(local.x, local.y)
            .and_then(|k| neighbours.get(k))
        {
            commands.push(Command::Select(i));
        }
    }
}

/// Attribute vectors: the difference of two classes' mean codes, applied to the current code
/// with a named slider ("7 minus 1": drag to add more "7-ness").
fn attributes_ui(app: &mut ExplorerApp, ui: &mut Ui, commands: &mut Vec<Command>) {
    let Some(data) = app.session.data.clone() else {
        return;
    };
    if data.labels().is_none() {
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
        for k in app.attributes_for_model() {
            let name = app.settings.attributes[k].name.clone();
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
