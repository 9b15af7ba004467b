//! A conditional model's class controls in the Decoder panel: the class the probe is drawn as
//! (the sliders then move the style, the code), the probe drawn as every class in one row, and
//! a strip from one class to another with the style held. The decodes run on the worker
//! (`DecodePurpose::ClassRow` / `ClassStrip`), asked for by the app when the probe, the class
//! pair or the weights change.

use super::{Changed, Command, PanelCtx};
use crate::gui::textures::ImageView;
use crate::gui::workspace::Generation;
use egui::Ui;

/// The class row shows at most this many classes (one texture; a model may have up to 1,000).
pub const ROW_CLASSES: usize = 64;
/// Frames of the class-to-class strip, both ends included.
pub const STRIP_STEPS: usize = 8;

/// What a decode was asked for: the probe, the class pair (strip only) and the weights.
pub type ClassKey = (Vec<f32>, (u16, u16), Generation);

#[derive(Default)]
pub struct ClassViews {
    /// The probe drawn as classes 0, 1, ... (up to [`ROW_CLASSES`]).
    pub row: ImageView,
    pub row_asked: Option<ClassKey>,
    /// What the row shows now (it lags `row_asked` while a decode is on its way).
    pub row_shown: Option<ClassKey>,
    pub row_serial: u64,
    /// The probe drawn from class `from` to class `to`.
    pub strip: ImageView,
    pub strip_asked: Option<ClassKey>,
    pub strip_shown: Option<ClassKey>,
    pub strip_serial: u64,
    pub from: u16,
    pub to: u16,
}

impl ClassViews {
    pub fn reset(&mut self, changed: Changed) {
        if changed.data || changed.model {
            *self = ClassViews {
                row_serial: self.row_serial,
                strip_serial: self.strip_serial,
                to: 1,
                ..Default::default()
            };
        }
    }

    /// Whether the row and the strip show what was last asked for.
    pub fn is_current(&self) -> bool {
        self.row_asked.is_some()
            && self.row_shown == self.row_asked
            && self.strip_shown == self.strip_asked
    }

    /// How many classes the row shows for a model of `classes` classes.
    pub fn row_len(classes: usize) -> usize {
        classes.min(ROW_CLASSES)
    }

    /// The class-weight rows of the strip: the one-hot of `from` blended linearly into that
    /// of `to` over [`STRIP_STEPS`] frames, `classes` wide.
    pub fn strip_weights(from: u16, to: u16, classes: usize) -> Vec<f32> {
        let mut w = vec![0f32; STRIP_STEPS * classes];
        for (k, row) in w.chunks_exact_mut(classes.max(1)).enumerate() {
            let t = k as f32 / (STRIP_STEPS - 1) as f32;
            if let Some(v) = row.get_mut(from as usize) {
                *v += 1.0 - t;
            }
            if let Some(v) = row.get_mut(to as usize) {
                *v += t;
            }
        }
        w
    }

    /// The class picker, the all-classes row and the strip; nothing for other models.
    pub fn ui(&mut self, ui: &mut Ui, ctx: &PanelCtx, commands: &mut Vec<Command>) {
        let Some(classes) = ctx.ws.model_classes() else {
            return;
        };
        let names = ctx.ws.data.as_ref().map(|d| d.class_names().to_vec());
        let name = |c: u16| {
            names
                .as_ref()
                .and_then(|n| n.get(c as usize).cloned())
                .unwrap_or_else(|| c.to_string())
        };
        let class = ctx.ws.class.min(classes.saturating_sub(1) as u16);
        ui.horizontal(|ui| {
            ui.label("class");
            egui::ComboBox::from_id_salt("conditional-class")
                .selected_text(name(class))
                .show_ui(ui, |ui| {
                    for c in 0..classes as u16 {
                        if ui.selectable_label(c == class, name(c)).clicked() {
                            commands.push(Command::SetClass(c));
                        }
                    }
                });
        })
        .response
        .on_hover_text(
            "This model is conditional: the label is an input of its encoder and decoder. \
             The preview is the probe drawn as this class; the sliders move the style (the \
             code). Selecting a sample picks its class.",
        );

        let egui_ctx = ui.ctx().clone();
        let shown = Self::row_len(classes);
        ui.label(if shown < classes {
            format!("Same style, classes 0 to {} of {classes}", shown - 1)
        } else {
            "Same style across all classes".to_string()
        })
        .on_hover_text("The probe's code decoded once per class: one image per class.");
        if let Some(tex) = self.row.texture(&egui_ctx, "class-row") {
            let tex_size = tex.size_vec2();
            let size = super::fit_size_of(tex_size, egui::vec2(ui.available_width(), 64.0));
            let response =
                ui.add(egui::Image::from_texture((tex.id(), size)).sense(egui::Sense::click()));
            let under = response
                .hover_pos()
                .and_then(|p| super::tile_under(&self.row, &response, tex_size, size, p));
            if let Some(k) = under.filter(|&k| k < shown) {
                if response.clicked() {
                    commands.push(Command::SetClass(k as u16));
                }
                response.on_hover_text(format!(
                    "class {}: click to draw the probe as it",
                    name(k as u16)
                ));
            }
        } else if ctx.ws.fits_code(&ctx.ws.probe) {
            ui.spinner();
        }

        ui.horizontal(|ui| {
            ui.label("From class");
            class_combo(ui, "class-from", &mut self.from, classes, &name);
            ui.label("to");
            class_combo(ui, "class-to", &mut self.to, classes, &name);
        });
        if let Some(tex) = self.strip.texture(&egui_ctx, "class-strip") {
            let size = super::fit_size_of(tex.size_vec2(), egui::vec2(ui.available_width(), 64.0));
            ui.add(egui::Image::from_texture((tex.id(), size)))
                .on_hover_text(format!(
                    "The style (the probe's code) is held fixed; the condition is blended: the \
                     decoder's one-hot input moves linearly from class {} to class {} over {STRIP_STEPS} \
                     frames (weights 1-t and t), so the middle frames are drawn from a mix of the two \
                     classes that no training label had.",
                    name(self.from),
                    name(self.to)
                ));
        }
    }
}

fn class_combo(
    ui: &mut Ui,
    id: &str,
    value: &mut u16,
    classes: usize,
    name: &dyn Fn(u16) -> String,
) {
    egui::ComboBox::from_id_salt(id)
        .selected_text(name(*value))
        .show_ui(ui, |ui| {
            for c in 0..classes as u16 {
                ui.selectable_value(value, c, name(c));
            }
        });
}
