//! The dataset panel: what is loaded, and opening another (dialog, typed path or drag and drop).

use super::{Command, PanelCtx};
use crate::data::Split;
use crate::gui::dialogs::DialogPurpose;
use crate::gui::state::Settings;
use egui::Ui;

#[derive(Default)]
pub struct DatasetPanel {
    /// A path typed by the user (the way in when no file dialog can be shown).
    pub typed_path: String,
}

impl DatasetPanel {
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        ctx: &PanelCtx,
        settings: &mut Settings,
        cmds: &mut Vec<Command>,
    ) {
        egui::CollapsingHeader::new("Dataset")
            .default_open(true)
            .show(ui, |ui| {
                match &ctx.ws.data {
                    Some(d) => {
                        egui::Grid::new("dataset-grid")
                            .num_columns(2)
                            .show(ui, |ui| {
                                ui.label("name");
                                super::long_label(ui, &d.name);
                                ui.end_row();
                                ui.label("images");
                                let (train, test) = (d.count(Split::Train), d.count(Split::Test));
                                let split = if test > 0 {
                                    format!("{} ({train} train, {test} held out)", d.len())
                                } else {
                                    // Training holds out a fraction of a dataset without a test split.
                                    let f = settings.train.holdout_fraction;
                                    let held = (d.len() as f64 * f).round() as usize;
                                    format!(
                                        "{} ({held} held out by training, {:.0}%)",
                                        d.len(),
                                        f * 100.0
                                    )
                                };
                                super::long_label(ui, split);
                                ui.end_row();
                                ui.label("size");
                                ui.label(format!(
                                    "{}x{}, {} channel{}",
                                    d.shape.width,
                                    d.shape.height,
                                    d.shape.channels,
                                    if d.shape.channels == 1 { "" } else { "s" }
                                ));
                                ui.end_row();
                                ui.label("labels");
                                if d.labels().is_some() {
                                    let names = d.class_names().join(", ");
                                    super::long_label(
                                        ui,
                                        format!("{} classes: {names}", d.class_names().len()),
                                    );
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
                                ui.add(egui::Label::new(name).truncate())
                                    .on_hover_text(d.source.display().to_string());
                                ui.end_row();
                            });
                        // What the loader did: scale chosen, labels, skipped, resized, clamped.
                        let report = d.report();
                        let header = if report.has_warnings() {
                            "Load report (warnings)"
                        } else {
                            "Load report"
                        };
                        egui::CollapsingHeader::new(header)
                            .id_salt("load-report")
                            .default_open(report.has_warnings())
                            .show(ui, |ui| {
                                for line in report.lines() {
                                    super::long_label(ui, line);
                                }
                            });
                    }
                    None if ctx.loading => {
                        ui.horizontal(|ui| {
                            ui.spinner();
                            ui.label("Opening…");
                        });
                    }
                    None => {
                        ui.label("No dataset loaded.");
                    }
                }
                ui.horizontal_wrapped(|ui| {
                    if ui
                        .button("Open folder…")
                        .on_hover_text("A folder of IDX files, or of images in class subfolders")
                        .clicked()
                    {
                        cmds.push(Command::Dialog(DialogPurpose::OpenDatasetFolder));
                    }
                    if ui
                        .button("Open file…")
                        .on_hover_text("An IDX, .npy / .npz or CSV file")
                        .clicked()
                    {
                        cmds.push(Command::Dialog(DialogPurpose::OpenDatasetFile));
                    }
                });
                ui.small("Or drop a file or folder onto the window, or type its path:");
                if let Some(path) = super::typed_path_ui(
                    ui,
                    &mut self.typed_path,
                    "dataset path",
                    "Open this dataset",
                ) {
                    cmds.push(Command::OpenDataset(path));
                }
            });
    }
}
