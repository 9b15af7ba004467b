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
    rectangle_ui(app, ui, commands);
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

/// The selected sample, large: drag a rectangle on it to hide that region and fill it in.
fn rectangle_ui(app: &mut ExplorerApp, ui: &mut Ui, commands: &mut Vec<Command>) {
    let (Some(i), Some(data)) = (app.session.selection, app.session.data.clone()) else {
        return;
    };
    let shape = data.shape;
    let ctx = ui.ctx().clone();
    let view = &mut app.session.erase_canvas;
    if view.count() != 1 || app.session.erase_sample != Some(i) {
        view.set_single(data.image(i), shape, &[]);
        app.session.erase_sample = Some(i);
    }
    let Some(tex) = view.texture(&ctx, "erase-canvas") else {
        return;
    };
    let scale = 5.0;
    let size = tex.size_vec2() * scale;
    ui.horizontal(|ui| {
        let response = ui
            .add(egui::Image::from_texture((tex.id(), size)).sense(egui::Sense::drag()))
            .on_hover_text("Drag a rectangle to hide that region; it is filled in when you let go");
        let to_pixel = |p: egui::Pos2| {
            let local = (p - response.rect.min) / scale;
            (
                (local.y.max(0.0) as usize).min(shape.height),
                (local.x.max(0.0) as usize).min(shape.width),
            )
        };
        let drag_id = ui.make_persistent_id("erase-drag");
        if response.drag_started()
            && let Some(p) = response.interact_pointer_pos()
        {
            ui.data_mut(|d| d.insert_temp(drag_id, p));
        }
        let start: Option<egui::Pos2> = ui.data(|d| d.get_temp(drag_id));
        if let (Some(a), Some(b)) = (start, response.interact_pointer_pos()) {
            if response.dragged() {
                ui.painter().rect_stroke(
                    egui::Rect::from_two_pos(a, b),
                    0.0,
                    egui::Stroke::new(2.0, egui::Color32::YELLOW),
                    egui::StrokeKind::Inside,
                );
            }
            if response.drag_stopped() {
                let ((y0, x0), (y1, x1)) = (to_pixel(a), to_pixel(b));
                let (top, left) = (y0.min(y1), x0.min(x1));
                let (height, width) = (y0.abs_diff(y1).max(1), x0.abs_diff(x1).max(1));
                app.settings.inpaint_mask = MaskKind::Rect {
                    top,
                    left,
                    height,
                    width,
                };
                ui.data_mut(|d| d.remove::<egui::Pos2>(drag_id));
                commands.push(Command::FillIn);
            }
        }
        ui.label("Drag on the sample to hide a rectangle of your own.");
    });
}
