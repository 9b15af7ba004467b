//! Export: the preview, the strip, the grid and the map as PNG (with a scale factor), the map's
//! codes as CSV or NumPy (.npy / .npz), each through a save dialog; a cancelled dialog does
//! nothing.

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
        (
            ExportKind::CodesNumpy,
            "Latent codes as NumPy…",
            s.map.codes.is_some(),
        ),
    ];
    let typed = app.session.typed_export_path.trim().to_string();
    ui.horizontal_wrapped(|ui| {
        for (kind, label, ready) in items {
            if ui
                .add_enabled(ready, egui::Button::new(label))
                .on_disabled_hover_text("Nothing to export yet")
                .clicked()
            {
                // A typed path skips the dialog (the way out when none can be shown).
                commands.push(if typed.is_empty() {
                    Command::Dialog(DialogPurpose::Export(kind))
                } else {
                    Command::ExportTo(kind, typed.clone().into())
                });
            }
        }
    });
    let l = ui.label("Or write to this path instead of asking:");
    ui.add(
        egui::TextEdit::singleline(&mut app.session.typed_export_path)
            .hint_text("e.g. /tmp/map.png")
            .desired_width(ui.available_width().min(400.0)),
    )
    .labelled_by(l.id);
}
