//! Random generation: a grid of samples from the prior, with a temperature, re-rollable.

use crate::gui::app::{Command, ExplorerApp};
use egui::Ui;

pub fn generate_ui(app: &mut ExplorerApp, ui: &mut Ui, commands: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        let s = &mut app.settings;
        let mut changed = ui
            .add(egui::Slider::new(&mut s.grid_count, 4..=144).text("samples"))
            .changed();
        changed |= ui
            .add(egui::Slider::new(&mut s.temperature, 0.0..=2.0).text("temperature"))
            .changed();
        if ui.button("Re-roll").clicked() {
            commands.push(Command::RerollGrid);
        } else if changed || app.session.generated.codes.is_empty() {
            commands.push(Command::RebuildGrid);
        }
    });
    let ctx = ui.ctx().clone();
    if let Some(tex) = app.session.generated.grid.texture(&ctx, "grid") {
        // At least one screen pixel per image pixel: the panel grows to fit.
        let size = super::fit_size(tex, ui.available_size().max(tex.size_vec2()));
        ui.add(egui::Image::from_texture((tex.id(), size)));
    } else {
        ui.spinner();
    }
}
