//! Export: the preview, the strip, the grid and the map as PNG (with a scale factor), the map's
//! codes as CSV, each through a save dialog; a cancelled dialog does nothing.

use crate::gui::app::{Command, ExplorerApp};
use crate::gui::dialogs::{DialogPurpose, ExportKind};
use egui::Ui;

pub fn export_ui(app: &mut ExplorerApp, ui: &mut Ui, commands: &mut Vec<Command>) {
    ui.add(egui::Slider::new(&mut app.settings.export_scale, 1..=16).text("PNG scale"));
    let s = &app.session;
    let items = [
        (
            ExportKind::Preview,
            "Preview as PNG…",
            !s.preview.is_empty(),
        ),
        (
            ExportKind::Strip,
            "Interpolation strip as PNG…",
            !s.interp.strip.is_empty(),
        ),
        (
            ExportKind::Grid,
            "Generated grid as PNG…",
            !s.generated.grid.is_empty(),
        ),
        (ExportKind::Map, "Latent map as PNG…", s.map.codes.is_some()),
        (
            ExportKind::Codes,
            "Latent codes as CSV…",
            s.map.codes.is_some(),
        ),
    ];
    ui.horizontal_wrapped(|ui| {
        for (kind, label, ready) in items {
            if ui
                .add_enabled(ready, egui::Button::new(label))
                .on_disabled_hover_text("Nothing to export yet")
                .clicked()
            {
                commands.push(Command::Dialog(DialogPurpose::Export(kind)));
            }
        }
    });
}
