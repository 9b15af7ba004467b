//! The dataset panel: what is loaded, and opening another (dialog or drag and drop).

use crate::gui::app::{Command, ExplorerApp};
use crate::gui::dialogs::DialogPurpose;
use egui::Ui;

pub fn dataset_ui(app: &mut ExplorerApp, ui: &mut Ui, commands: &mut Vec<Command>) {
    egui::CollapsingHeader::new("Dataset")
        .default_open(true)
        .show(ui, |ui| {
            match &app.session.data {
                Some(d) => {
                    egui::Grid::new("dataset-grid")
                        .num_columns(2)
                        .show(ui, |ui| {
                            ui.label("name");
                            ui.label(&d.name);
                            ui.end_row();
                            ui.label("images");
                            ui.label(format!(
                                "{} ({} train, {} held out)",
                                d.len(),
                                d.count(crate::data::Split::Train),
                                d.count(crate::data::Split::Test)
                            ));
                            ui.end_row();
                            ui.label("size");
                            ui.label(format!("{}x{}", d.shape.width, d.shape.height));
                            ui.end_row();
                            ui.label("channels");
                            ui.label(d.shape.channels.to_string());
                            ui.end_row();
                            ui.label("labels");
                            if d.labels().is_some() {
                                let names = d.class_names().join(", ");
                                ui.label(format!("{} classes: {names}", d.class_names().len()));
                            } else {
                                ui.label("none");
                            }
                            ui.end_row();
                            ui.label("source");
                            // The folder's name keeps the panel narrow; the whole path on hover.
                            let name = d
                                .source
                                .file_name()
                                .map(|n| n.to_string_lossy().into_owned())
                                .unwrap_or_else(|| d.source.display().to_string());
                            ui.label(name).on_hover_text(d.source.display().to_string());
                            ui.end_row();
                        });
                }
                None => {
                    ui.label("No dataset loaded.");
                }
            }
            ui.horizontal(|ui| {
                if ui
                    .button("Open folder…")
                    .on_hover_text("A folder of IDX files, or of images in class subfolders")
                    .clicked()
                {
                    commands.push(Command::Dialog(DialogPurpose::OpenDatasetFolder));
                }
                if ui.button("Open IDX file…").clicked() {
                    commands.push(Command::Dialog(DialogPurpose::OpenDatasetFile));
                }
            });
            ui.small("Or drop a file or folder onto the window, or type its path:");
            let typed = &mut app.session.typed_dataset_path;
            if let Some(path) = super::typed_path_ui(ui, typed, "dataset path", "Open this dataset")
            {
                commands.push(Command::OpenDataset(path));
            }
        });
}
