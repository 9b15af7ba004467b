//! Missing data: hide part of the selected sample and let the model fill it in; the error on
//! the hidden pixels is shown beside the mean image's, and the code's path is drawn on the map.

use super::{Changed, Command, PanelCtx};
use crate::analysis::{MaskKind, make_mask};
use crate::gui::state::Settings;
use crate::gui::textures::ImageView;
use egui::Ui;

const MASKS: [(MaskKind, &str); 6] = [
    (MaskKind::BottomHalf, "bottom half"),
    (MaskKind::TopHalf, "top half"),
    (MaskKind::LeftHalf, "left half"),
    (MaskKind::RightHalf, "right half"),
    (MaskKind::CentreSquare, "centre square"),
    (
        MaskKind::Random {
            fraction: 0.6,
            seed: 1,
        },
        "random 60%",
    ),
];

/// Grey shown where pixels are hidden.
pub const HIDDEN_GREY: f32 = 0.25;

/// A filled-in sample: original, masked and completed, the error on the hidden pixels, and
/// the path of its code on the map.
#[derive(Default)]
pub struct FilledIn {
    pub sample: Option<usize>,
    pub images: ImageView,
    /// Mean absolute error on the hidden pixels: (completion, the mean image).
    pub errors: Option<(f32, f32)>,
    /// The code after each round (the model's latent size).
    pub path: Vec<Vec<f32>>,
}

#[derive(Default)]
pub struct MissingDataPanel {
    pub filled: FilledIn,
    /// The selected sample, large, with the chosen mask shown, to drag a rectangle on.
    pub canvas: ImageView,
    canvas_for: Option<(usize, MaskKind)>,
}

impl MissingDataPanel {
    pub fn reset(&mut self, changed: Changed) {
        if changed.data || changed.model {
            *self = Self::default();
        }
    }

    pub fn ui(
        &mut self,
        ui: &mut Ui,
        ctx: &PanelCtx,
        settings: &mut Settings,
        commands: &mut Vec<Command>,
    ) {
        ui.horizontal_wrapped(|ui| {
            let current = MASKS
                .iter()
                .find(|(m, _)| *m == settings.inpaint_mask)
                .map(|(_, n)| *n)
                .unwrap_or("your rectangle");
            egui::ComboBox::from_label("hide")
                .selected_text(current)
                .show_ui(ui, |ui| {
                    for (mask, name) in MASKS {
                        ui.selectable_value(&mut settings.inpaint_mask, mask, name);
                    }
                });
            ui.add(egui::Slider::new(&mut settings.inpaint_iterations, 1..=100).text("iterations"));
            let button = egui::Button::new("Fill in the selection");
            if ctx.ws.selection.is_some() {
                if ui.add(button).clicked() {
                    commands.push(Command::FillIn);
                }
            } else {
                ui.add_enabled(false, button)
                    .on_disabled_hover_text("Click a point on the map first");
            }
        });
        ui.horizontal_top(|ui| {
            self.canvas_ui(ui, ctx, settings, commands);
            self.result_ui(ui);
        });
    }

    fn result_ui(&mut self, ui: &mut Ui) {
        let f = &mut self.filled;
        ui.vertical(|ui| {
            let Some(i) = f.sample else {
                ui.label("Select a sample, choose what to hide, and fill it in: the model completes the hidden pixels by encoding and decoding with the seen ones held fixed.");
                return;
            };
            if let Some((fill, mean)) = f.errors {
                ui.label(format!(
                    "sample {i}: mean absolute error on the hidden pixels {fill:.3} (the dataset's mean image: {mean:.3}); the white line on the map is the code's path"
                ));
            }
            let egui_ctx = ui.ctx().clone();
            if let Some(tex) = f.images.texture(&egui_ctx, "filled-in") {
                let size = super::fit_size(tex, egui::vec2(ui.available_width(), 150.0));
                ui.add(egui::Image::from_texture((tex.id(), size)));
                ui.small("original · hidden · filled in");
            }
        });
    }

    /// The selected sample, large, with the chosen mask greyed out: drag a rectangle on it to
    /// hide that region instead; it is filled in when you let go.
    fn canvas_ui(
        &mut self,
        ui: &mut Ui,
        ctx: &PanelCtx,
        settings: &mut Settings,
        commands: &mut Vec<Command>,
    ) {
        let (Some(i), Some(data)) = (ctx.ws.selection, ctx.ws.data.as_ref()) else {
            return;
        };
        if i >= data.len() {
            return;
        }
        let shape = data.shape;
        let key = (i, settings.inpaint_mask);
        if self.canvas_for != Some(key) {
            let mask = make_mask(settings.inpaint_mask, shape);
            let shown: Vec<f32> = data
                .image(i)
                .into_iter()
                .zip(&mask)
                .map(|(v, &seen)| if seen { v } else { HIDDEN_GREY })
                .collect();
            self.canvas.set_single(shown, shape, &[]);
            self.canvas_for = Some(key);
        }
        let egui_ctx = ui.ctx().clone();
        let Some(tex) = self.canvas.texture(&egui_ctx, "erase-canvas") else {
            return;
        };
        let fit = super::fit_size(tex, egui::vec2(150.0, 150.0));
        let scale = fit.x / tex.size_vec2().x;
        ui.vertical(|ui| {
            let response = ui
                .add(egui::Image::from_texture((tex.id(), fit)).sense(egui::Sense::drag()));
            response.widget_info(|| {
                egui::WidgetInfo::labeled(egui::Role::Image, true, "sample to hide part of")
            });
            let response = response.on_hover_text(
                    "Grey: what will be hidden. Drag a rectangle to hide that region instead; it is filled in when you let go",
                );
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
                    settings.inpaint_mask = MaskKind::Rect {
                        top,
                        left,
                        height,
                        width,
                    };
                    ui.data_mut(|d| d.remove::<egui::Pos2>(drag_id));
                    commands.push(Command::FillIn);
                }
            }
            ui.small("Drag on the sample to hide a rectangle of your own.");
        });
    }
}
