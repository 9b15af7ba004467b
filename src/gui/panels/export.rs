//! Export: the preview, the strip, the grid and the map as PNG (with a scale factor), the map's
//! codes as CSV or NumPy (.npy / .npz), each through a save dialog (a cancelled dialog does
//! nothing) or straight to a typed path.

use super::{Command, PanelCtx};
use crate::gui::dialogs::{DialogPurpose, ExportKind};
use crate::gui::state::Settings;
use egui::Ui;

#[derive(Default)]
pub struct ExportPanel {
    /// A path typed by the user: exports go there without a dialog.
    pub typed_path: String,
}

const ITEMS: [(ExportKind, &str); 6] = [
    (ExportKind::Preview, "Preview as PNG…"),
    (ExportKind::Strip, "Interpolation strip as PNG…"),
    (ExportKind::Grid, "Generated grid as PNG…"),
    (ExportKind::Map, "Latent map as PNG…"),
    (ExportKind::Codes, "Latent codes as CSV…"),
    (ExportKind::CodesNumpy, "Latent codes as NumPy…"),
];

impl ExportPanel {
    /// `ready` says which pictures exist (they live in other panels).
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        _ctx: &PanelCtx,
        settings: &mut Settings,
        ready: &dyn Fn(ExportKind) -> bool,
        commands: &mut Vec<Command>,
    ) {
        ui.add(egui::Slider::new(&mut settings.export_scale, 1..=16).text("PNG scale"));
        let l = ui.label("Write to this path instead of asking (optional):");
        ui.add(
            egui::TextEdit::singleline(&mut self.typed_path)
                .hint_text("e.g. /tmp/map.png")
                .desired_width(ui.available_width().min(400.0)),
        )
        .labelled_by(l.id);
        let typed = self.typed_path.trim().to_string();
        ui.horizontal_wrapped(|ui| {
            for (kind, label) in ITEMS {
                if ui
                    .add_enabled(ready(kind), egui::Button::new(label))
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
    }
}
