//! Export: one remembered folder, and per item (the preview, the strip, the grid, the map as a
//! figure, the map's codes as CSV or NumPy) its suggested file name, a plain "Export" that
//! writes there at once (never over an existing file: `-1`, `-2`, ... are added) and
//! "Export as…" for a save dialog.

use super::{Command, PanelCtx};
use crate::gui::dialogs::{DialogPurpose, ExportKind};
use crate::gui::export_files::name_prefix;
use crate::gui::state::Settings;
use crate::gui::workspace::Workspace;
use egui::Ui;
use std::path::{Path, PathBuf};

#[derive(Default)]
pub struct ExportPanel {
    /// The folder as typed (taken into the settings as it changes).
    folder_text: String,
    /// The last file written, shown with a way to open its folder.
    pub last_written: Option<PathBuf>,
}

/// The name an export gets in the folder: dataset, model, then what it is
/// (`mnist-latent2-map.png`).
pub fn suggested_name(ws: &Workspace, kind: ExportKind) -> String {
    let dataset = ws.data.as_ref().map(|d| d.name.as_str());
    let model = ws
        .model_path
        .as_ref()
        .and_then(|p| p.file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .or_else(|| ws.model.as_ref().map(|m| format!("latent{}", m.latent())));
    format!(
        "{}-{}",
        name_prefix(dataset, model.as_deref()),
        kind.name_suffix()
    )
}

impl ExportPanel {
    /// `ready` says which pictures exist (they live in other panels).
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        ctx: &PanelCtx,
        settings: &mut Settings,
        ready: &dyn Fn(ExportKind) -> bool,
        commands: &mut Vec<Command>,
    ) {
        let folder = settings.export_folder.clone().unwrap_or_default();
        ui.horizontal(|ui| {
            let label = ui.label("Folder:");
            let edit_id = ui.make_persistent_id("export-folder");
            // While not being typed into, the field shows the setting (a dialog may change it).
            if !ui.memory(|m| m.has_focus(edit_id)) {
                self.folder_text = folder.display().to_string();
            }
            let edit = ui
                .add(
                    egui::TextEdit::singleline(&mut self.folder_text)
                        .id(edit_id)
                        .hint_text("a folder for the exported files")
                        .desired_width((ui.available_width() - 190.0).clamp(120.0, 420.0)),
                )
                .labelled_by(label.id)
                .on_hover_text("Export writes here; the folder must exist");
            if edit.changed() {
                let typed = self.folder_text.trim();
                settings.export_folder = (!typed.is_empty())
                    .then(|| crate::gui::export_files::expand_home(Path::new(typed)));
            }
            if ui
                .button("Choose…")
                .on_hover_text("Pick the export folder in a dialog")
                .clicked()
            {
                commands.push(Command::Dialog(DialogPurpose::ExportFolder));
            }
            if ui
                .add_enabled(!folder.as_os_str().is_empty(), egui::Button::new("Open"))
                .on_hover_text("Show the export folder in the file manager")
                .clicked()
            {
                commands.push(Command::OpenFolder(folder.clone()));
            }
        });
        ui.add(egui::Slider::new(&mut settings.export_scale, 1..=16).text("PNG scale"))
            .on_hover_text("Pictures are enlarged this many times; the map figure up to 8");
        egui::Grid::new("export-items")
            .num_columns(4)
            .spacing([10.0, 4.0])
            .show(ui, |ui| {
                for kind in ExportKind::ALL {
                    let enabled = ready(kind);
                    ui.label(kind.title());
                    ui.weak(suggested_name(ctx.ws, kind));
                    if ui
                        .add_enabled(enabled, egui::Button::new("Export"))
                        .on_hover_text(format!("Write {} into the folder above", kind.human_name()))
                        .on_disabled_hover_text("Nothing to export yet")
                        .clicked()
                    {
                        commands.push(Command::Export(kind));
                    }
                    if ui
                        .add_enabled(enabled, egui::Button::new("Export as…"))
                        .on_hover_text("Choose the file's name and place in a dialog")
                        .on_disabled_hover_text("Nothing to export yet")
                        .clicked()
                    {
                        commands.push(Command::Dialog(DialogPurpose::Export(kind)));
                    }
                    ui.end_row();
                }
            });
        if let Some(path) = &self.last_written {
            ui.horizontal(|ui| {
                super::long_label(ui, format!("Last written: {}", path.display()));
                if let Some(parent) = path.parent()
                    && ui
                        .button("Open its folder")
                        .on_hover_text(parent.display().to_string())
                        .clicked()
                {
                    commands.push(Command::OpenFolder(parent.to_path_buf()));
                }
            });
        }
    }
}
