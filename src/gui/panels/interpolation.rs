//! Interpolation: anchors picked on the map (or from the selection history), a strip decoded
//! between them; clicking a frame moves the sliders there.

use super::{Changed, Command, PanelCtx};
use crate::gui::state::Settings;
use crate::gui::textures::ImageView;
use crate::latent::InterpolationKind;
use egui::Ui;

/// The smallest a frame is drawn: past this the strip scrolls instead of shrinking.
const MIN_FRAME_PX: f32 = 56.0;

#[derive(Default)]
pub struct InterpolationPanel {
    /// Dataset indices, in order A, B, C...
    pub anchors: Vec<usize>,
    /// The codes of the frames, in order (the model's latent size).
    pub frames: Vec<Vec<f32>>,
    pub strip: ImageView,
    /// The newest strip decode asked for.
    pub serial: u64,
}

impl InterpolationPanel {
    /// Anchors are samples of the dataset; frames are codes of the model.
    pub fn reset(&mut self, changed: Changed) {
        if changed.data {
            self.anchors.clear();
        }
        if changed.data || changed.model {
            self.frames.clear();
            self.strip = ImageView::default();
        }
    }

    pub fn ui(
        &mut self,
        ui: &mut Ui,
        ctx: &PanelCtx,
        settings: &mut Settings,
        commands: &mut Vec<Command>,
    ) {
        // Buttons first, the anchor list after them: a growing list never moves a button.
        ui.horizontal(|ui| {
            match ctx.ws.selection {
                Some(i) => {
                    if ui.button(format!("Add selection ({i})")).clicked() {
                        commands.push(Command::AddAnchor(i));
                    }
                }
                None => {
                    ui.add_enabled(false, egui::Button::new("Add selection"))
                        .on_disabled_hover_text("Click a point on the map first");
                }
            }
            if !ctx.ws.history.is_empty() {
                egui::ComboBox::from_label("add from history")
                    .selected_text("recent samples")
                    .show_ui(ui, |ui| {
                        for &i in &ctx.ws.history {
                            if ui.selectable_label(false, format!("sample {i}")).clicked() {
                                commands.push(Command::AddAnchor(i));
                            }
                        }
                    });
            }
            if ui.button("Clear").clicked() {
                commands.push(Command::ClearAnchors);
            }
            let names: Vec<String> = self
                .anchors
                .iter()
                .enumerate()
                .map(|(k, i)| format!("{}={i}", anchor_letter(k)))
                .collect();
            let text = if names.is_empty() {
                "Anchors: none yet".to_string()
            } else {
                format!("Anchors: {}", names.join(" -> "))
            };
            super::long_label(ui, text);
        });
        ui.horizontal(|ui| {
            let mut changed = ui
                .add(egui::Slider::new(&mut settings.interp_steps, 2..=32).text("steps"))
                .changed();
            changed |= ui
                .radio_value(
                    &mut settings.interp_kind,
                    InterpolationKind::Linear,
                    "linear",
                )
                .changed();
            changed |= ui
                .radio_value(
                    &mut settings.interp_kind,
                    InterpolationKind::Spherical,
                    "spherical",
                )
                .changed();
            if changed {
                commands.push(Command::RebuildStrip);
            }
        });
        if self.frames.is_empty() {
            ui.label(
                "Pick two or more anchors: select a point on the map, then \"Add selection\".",
            );
            return;
        }
        self.strip_ui(ui, ctx, commands);
    }

    fn strip_ui(&mut self, ui: &mut Ui, ctx: &PanelCtx, commands: &mut Vec<Command>) {
        let egui_ctx = ui.ctx().clone();
        let frames = &self.frames;
        let strip = &mut self.strip;
        let n = strip.count().max(1) as f32;
        let Some(tex) = strip.texture(&egui_ctx, "strip") else {
            ui.spinner();
            return;
        };
        let tex_size = tex.size_vec2();
        let id = tex.id();
        // As large as the space allows, never smaller than MIN_FRAME_PX a frame: scroll then.
        let fit = super::fit_size(
            tex,
            egui::vec2(
                ui.available_width(),
                (ui.available_height() - 30.0).max(60.0),
            ),
        );
        let size = if fit.x / n < MIN_FRAME_PX {
            tex_size * (MIN_FRAME_PX * n / tex_size.x)
        } else {
            fit
        };
        egui::ScrollArea::horizontal()
            .id_salt("strip-scroll")
            .show(ui, |ui| {
                let response =
                    ui.add(egui::Image::from_texture((id, size)).sense(egui::Sense::click()));
                let under = response
                    .hover_pos()
                    .and_then(|p| super::tile_under(strip, &response, tex_size, size, p));
                let picture = under
                    .and_then(|k| frames.get(k))
                    .map(|c| super::picture::Picture::Code(c.clone()));
                super::picture::interact(&response, picture, ctx, commands);
                match under {
                    Some(k) => response.on_hover_text(format!(
                        "frame {} of {}: click to move the probe there; right-click for more",
                        k + 1,
                        frames.len()
                    )),
                    None => response.on_hover_text("Click a frame to move the probe there"),
                };
            });
        ui.small(format!("{} frames, A on the left", frames.len()));
    }
}

/// A, B, ... Z, A2, B2, ...
pub fn anchor_letter(k: usize) -> String {
    let letter = char::from(b'A' + (k % 26) as u8);
    if k < 26 {
        letter.to_string()
    } else {
        format!("{letter}{}", k / 26 + 1)
    }
}
