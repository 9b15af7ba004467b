//! Missing data: hide part of the selected sample and let the model fill it in; the error on
//! the hidden pixels is shown beside the mean image's, and the code's path is drawn on the map.

use crate::analysis::MaskKind;
use crate::gui::app::{Command, ExplorerApp};
use egui::Ui;

const MASKS: [(MaskKind, &str); 6] = [
    (MaskKind::BottomHalf, "bottom half"),
    (MaskKind::TopHalf, "top half"),
    (MaskKind::LeftHalf, "left half"),
    (MaskKind::RightHalf, "right half"),
    (
        MaskKind::Rect {
            top: 9,
            left: 9,
            height: 10,
            width: 10,
        },
        "centre square",
    ),
    (
        MaskKind::Random {
            fraction: 0.6,
            seed: 1,
        },
        "random 60%",
    ),
];

pub fn missing_data_ui(app: &mut ExplorerApp, ui: &mut Ui, commands: &mut Vec<Command>) {
    ui.horizontal_wrapped(|ui| {
        let s = &mut app.settings;
        let current = MASKS
            .iter()
            .find(|(m, _)| *m == s.inpaint_mask)
            .map(|(_, n)| *n)
            .unwrap_or("custom");
        egui::ComboBox::from_label("hide")
            .selected_text(current)
            .show_ui(ui, |ui| {
                for (mask, name) in MASKS {
                    ui.selectable_value(&mut s.inpaint_mask, mask, name);
                }
            });
        ui.add(egui::Slider::new(&mut s.inpaint_iterations, 1..=100).text("iterations"));
        let button = egui::Button::new("Fill in the selection");
        match app.session.selection {
            Some(_) => {
                if ui.add(button).clicked() {
                    commands.push(Command::FillIn);
                }
            }
            None => {
                ui.add_enabled(false, button)
                    .on_disabled_hover_text("Click a point on the map first");
            }
        }
    });
    let f = &mut app.session.filled;
    let Some(i) = f.sample else {
        ui.label("Select a sample, choose what to hide, and fill it in: the model completes the hidden pixels by encoding and decoding with the seen ones held fixed.");
        return;
    };
    if let Some((fill, mean)) = f.errors {
        ui.label(format!(
            "sample {i}: mean absolute error on the hidden pixels {fill:.3} (the dataset's mean image: {mean:.3}); the white line on the map is the code's path"
        ));
    }
    let ctx = ui.ctx().clone();
    if let Some(tex) = f.images.texture(&ctx, "filled-in") {
        let size = tex.size_vec2() * 3.0;
        ui.add(egui::Image::from_texture((tex.id(), size)));
        ui.small("original · hidden · filled in");
    }
}
