//! Interpolation: anchors picked on the map (or from the selection history), a strip decoded
//! between them; clicking a frame moves the sliders there.

use crate::gui::app::{Command, ExplorerApp};
use crate::latent::InterpolationKind;
use egui::Ui;

pub fn interpolation_ui(app: &mut ExplorerApp, ui: &mut Ui, commands: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        let anchors = &app.session.interp.anchors;
        let names: Vec<String> = anchors
            .iter()
            .enumerate()
            .map(|(k, i)| format!("{}={i}", char::from(b'A' + (k % 26) as u8)))
            .collect();
        ui.label(if names.is_empty() {
            "Anchors: none yet".to_string()
        } else {
            format!("Anchors: {}", names.join(" -> "))
        });
        match app.session.selection {
            Some(i) => {
                if ui.button(format!("Add selection ({i})")).clicked() {
                    commands.push(Command::AddAnchor(i));
                }
            }
            None => {
                ui.add_enabled(false, egui::Button::new("Add selection"))
                    .on_disabled_hover_text("Click a point on the map first");
            }
        }
        if !app.session.history.is_empty() {
            egui::ComboBox::from_label("add from history")
                .selected_text("recent samples")
                .show_ui(ui, |ui| {
                    for &i in &app.session.history {
                        if ui.selectable_label(false, format!("sample {i}")).clicked() {
                            commands.push(Command::AddAnchor(i));
                        }
                    }
                });
        }
        if ui.button("Clear").clicked() {
            commands.push(Command::ClearAnchors);
        }
    });
    ui.horizontal(|ui| {
        let s = &mut app.settings;
        let mut changed = ui
            .add(egui::Slider::new(&mut s.interp_steps, 2..=32).text("steps"))
            .changed();
        changed |= ui
            .radio_value(&mut s.interp_kind, InterpolationKind::Linear, "linear")
            .changed();
        changed |= ui
            .radio_value(
                &mut s.interp_kind,
                InterpolationKind::Spherical,
                "spherical",
            )
            .changed();
        if changed {
            commands.push(Command::RebuildStrip);
        }
    });
    let ctx = ui.ctx().clone();
    let frames = app.session.interp.frames.clone();
    let strip = &mut app.session.interp.strip;
    if frames.is_empty() {
        ui.label("Pick two or more anchors: select a point on the map, then \"Add selection\".");
        return;
    }
    let Some(tex) = strip.texture(&ctx, "strip") else {
        ui.spinner();
        return;
    };
    let tex_size = tex.size_vec2();
    let size = super::fit_size(
        tex,
        egui::vec2(ui.available_width(), ui.available_height().max(84.0)),
    );
    let response = ui.add(egui::Image::from_texture((tex.id(), size)).sense(egui::Sense::click()));
    if response.clicked()
        && let Some(p) = response.interact_pointer_pos()
    {
        let local = (p - response.rect.min) * (tex_size.x / size.x);
        if let Some(k) = strip.tile_at(local.x, local.y)
            && let Some(code) = frames.get(k)
        {
            commands.push(Command::SetProbe(code.clone()));
        }
    }
    response.on_hover_text("Click a frame to move the sliders there");
}
