//! One file per panel. Each takes the app and a command list; cross-cutting changes go through
//! commands applied after the frame is laid out.

pub mod anomalies;
pub mod dataset;
pub mod export;
pub mod generate;
pub mod interpolation;
pub mod map;
pub mod missing_data;
pub mod model;
pub mod sliders;
pub mod training;

use super::app::{Command, ExplorerApp, NoticeKind};
use super::dialogs::DialogPurpose;
use super::state::BottomTab;
use egui::{Color32, RichText, Ui};

/// Title, the open buttons, what is loading, and notices (errors stay until dismissed).
pub fn top_bar_ui(app: &mut ExplorerApp, ui: &mut Ui, commands: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        ui.heading("Latent Explorer");
        ui.separator();
        if ui.button("Open dataset…").clicked() {
            commands.push(Command::Dialog(DialogPurpose::OpenDatasetFolder));
        }
        if app.is_busy() {
            ui.spinner();
            ui.label("working…");
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let device = crate::device::compute();
            let device_label = ui.label(
                RichText::new(format!("on {}", device.description))
                    .small()
                    .color(Color32::GRAY),
            );
            if let Some(why) = &device.fallback_reason {
                device_label.on_hover_text(why);
            }
            if app.settings.show_frame_time {
                let startup = app
                    .session
                    .startup_secs
                    .map(|s| format!(" · map ready {s:.2} s after start"))
                    .unwrap_or_default();
                ui.label(
                    RichText::new(format!(
                        "ui {:.1} ms · frame {:.1} ms · map raster {:.1} ms{startup}",
                        app.ui_ms, app.frame_ms, app.session.map_raster.last_redraw_ms
                    ))
                    .small()
                    .color(Color32::GRAY),
                );
            }
        });
    });
    for (k, notice) in app.session.notices.iter().enumerate() {
        ui.horizontal(|ui| {
            let colour = match notice.kind {
                NoticeKind::Error => Color32::from_rgb(230, 90, 80),
                NoticeKind::Info => Color32::from_rgb(120, 180, 240),
            };
            let prefix = if notice.kind == NoticeKind::Error {
                "Error: "
            } else {
                ""
            };
            ui.label(RichText::new(format!("{prefix}{}", notice.text)).color(colour));
            if ui.small_button("Dismiss").clicked() {
                commands.push(Command::DismissNotice(k));
            }
        });
    }
}

/// Interpolation, generation and export, as tabs.
pub fn bottom_ui(app: &mut ExplorerApp, ui: &mut Ui, commands: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        let tab = &mut app.settings.bottom_tab;
        ui.selectable_value(tab, BottomTab::Interpolation, "Interpolation");
        ui.selectable_value(tab, BottomTab::Generate, "Generate");
        ui.selectable_value(tab, BottomTab::Anomalies, "Anomalies");
        ui.selectable_value(tab, BottomTab::MissingData, "Missing data");
        ui.selectable_value(tab, BottomTab::Export, "Export");
    });
    ui.separator();
    match app.settings.bottom_tab {
        BottomTab::Interpolation => interpolation::interpolation_ui(app, ui, commands),
        BottomTab::Generate => generate::generate_ui(app, ui, commands),
        BottomTab::Anomalies => anomalies::anomalies_ui(app, ui, commands),
        BottomTab::MissingData => missing_data::missing_data_ui(app, ui, commands),
        BottomTab::Export => export::export_ui(app, ui, commands),
    }
}

/// A texture scaled to fit `max` while keeping whole-pixel proportions.
pub fn fit_size(texture: &egui::TextureHandle, max: egui::Vec2) -> egui::Vec2 {
    let size = texture.size_vec2();
    let scale = (max.x / size.x).min(max.y / size.y).max(0.1);
    let scale = if scale >= 1.0 { scale.floor() } else { scale };
    size * scale
}

/// A label and a widget in a grid row, the widget named by the label (for screen readers and
/// tests that find widgets by name).
pub fn grid_row(
    ui: &mut Ui,
    label: &str,
    add: impl FnOnce(&mut Ui) -> egui::Response,
) -> egui::Response {
    let l = ui.label(label);
    let response = add(ui).labelled_by(l.id);
    ui.end_row();
    response
}

/// A path typed by hand and a button that uses it: the way in when no file dialog can be shown.
pub fn typed_path_ui(
    ui: &mut Ui,
    text: &mut String,
    hint: &str,
    button: &str,
) -> Option<std::path::PathBuf> {
    let mut chosen = None;
    ui.horizontal(|ui| {
        let edit = ui.add(
            egui::TextEdit::singleline(text)
                .hint_text(hint)
                .desired_width(170.0),
        );
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (ui.button(button).clicked() || enter) && !text.trim().is_empty() {
            chosen = Some(std::path::PathBuf::from(text.trim()));
        }
    });
    chosen
}
