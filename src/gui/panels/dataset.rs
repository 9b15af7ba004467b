//! The dataset panel: what is loaded, and opening another (dialog, typed path or drag and drop).

use super::{Command, DatasetLoading, PanelCtx};
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
                if let Some(loading) = &ctx.dataset_loading {
                    loading_ui(ui, loading, cmds);
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
                load_options_ui(ui, ctx, settings, cmds);
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

/// The dataset being read: which, how far (a bar once the count is known), and Cancel. The
/// counts are atomics the loader bumps, so drawing them never waits on it.
fn loading_ui(ui: &mut Ui, loading: &DatasetLoading, cmds: &mut Vec<Command>) {
    let p = loading.progress;
    ui.separator();
    let name = loading
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| loading.path.display().to_string());
    ui.add(egui::Label::new(format!("Opening {name}")).truncate())
        .on_hover_text(loading.path.display().to_string());
    let stage = p.stage.describe();
    let text = match (p.done, p.total) {
        (_, 0) if p.done > 0 => format!("{stage}: {}", thousands(p.done)),
        (_, 0) => format!("{stage}…"),
        (done, total) => format!("{stage}: {} / {}", thousands(done), thousands(total)),
    };
    ui.label(text);
    if p.total > 0 {
        let fraction = (p.done as f32 / p.total as f32).clamp(0.0, 1.0);
        ui.add(egui::ProgressBar::new(fraction).show_percentage());
    } else {
        ui.spinner();
    }
    if loading.cancelling {
        ui.label("Cancelling…");
    } else if ui
        .button("Cancel opening")
        .on_hover_text("Stop reading; the dataset and model open now stay")
        .clicked()
    {
        cmds.push(Command::CancelDatasetLoad);
    }
    // The loader sends nothing until it ends: redraw now and then to move the bar.
    ui.ctx()
        .request_repaint_after(std::time::Duration::from_millis(100));
}

/// 12345 as "12,345".
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// How the next dataset is read (the command line's `--pixel-range`, `--label-column` and
/// `--image-size`), and reopening the current one with them.
fn load_options_ui(ui: &mut Ui, ctx: &PanelCtx, settings: &mut Settings, cmds: &mut Vec<Command>) {
    let changed = !settings.dataset_options.is_default();
    let header = if changed {
        "Load options (changed)"
    } else {
        "Load options"
    };
    egui::CollapsingHeader::new(header)
        .id_salt("load-options")
        .default_open(changed)
        .show(ui, |ui| {
            let o = &mut settings.dataset_options;
            egui::Grid::new("load-options-grid")
                .num_columns(2)
                .show(ui, |ui| {
                    option_row(
                        ui,
                        "pixel range",
                        &mut o.pixel_range,
                        &["auto", "unit", "byte", "max:16"],
                        "auto: decided from the values (said in the load report); unit: [0, 1]; \
                         byte: 0..255; max:N: 0..N. Values outside a range given here are clamped \
                         and counted.",
                    );
                    option_row(
                        ui,
                        "label column",
                        &mut o.label_column,
                        &["auto", "first", "last", "none"],
                        "CSV files: auto (by header name, else the first or last column of whole \
                         numbers), first, last, none, or a column number from 1.",
                    );
                    option_row(
                        ui,
                        "image size",
                        &mut o.image_size,
                        &["", "28x28", "32x32", "64x64"],
                        "Image folders: resize every image to HxW; empty keeps their most common size.",
                    );
                });
            let parsed = o.parse();
            if let Err(e) = &parsed {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            ui.horizontal(|ui| {
                let reopen = ctx.ws.data.as_ref().map(|d| {
                    settings
                        .dataset_path
                        .clone()
                        .unwrap_or_else(|| d.source.clone())
                });
                if let Some(path) = reopen
                    && ui
                        .add_enabled(parsed.is_ok(), egui::Button::new("Reopen with these"))
                        .on_hover_text(format!("Read {} again with these options", path.display()))
                        .clicked()
                {
                    cmds.push(Command::OpenDataset(path));
                }
                if ui
                    .add_enabled(changed, egui::Button::new("Reset"))
                    .on_hover_text("Let the loader decide everything")
                    .clicked()
                {
                    settings.dataset_options = Default::default();
                }
            });
        });
}

/// One option: a field to type in and a menu of the usual values.
fn option_row(ui: &mut Ui, label: &str, text: &mut String, usual: &[&str], help: &str) {
    ui.label(label).on_hover_text(help);
    ui.horizontal(|ui| {
        ui.add(
            egui::TextEdit::singleline(text)
                .desired_width(70.0)
                .hint_text("auto"),
        )
        .on_hover_text(help);
        egui::ComboBox::from_id_salt(("load-option", label))
            .selected_text("")
            .width(18.0)
            .show_ui(ui, |ui| {
                for &value in usual {
                    let shown = if value.is_empty() {
                        "(most common)"
                    } else {
                        value
                    };
                    if ui.selectable_label(text == value, shown).clicked() {
                        *text = value.to_string();
                    }
                }
            });
    });
    ui.end_row();
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_are_grouped() {
        for (n, text) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (70_000, "70,000"),
            (1_234_567, "1,234,567"),
        ] {
            assert_eq!(super::thousands(n), text);
        }
    }
}
