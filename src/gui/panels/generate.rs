//! Random generation: a grid of samples from the prior (or from a mixture fitted to the codes:
//! see [`super::sampling`]), with a temperature, re-rollable.

use super::{Changed, Command, PanelCtx};
use crate::gui::state::Settings;
use crate::gui::textures::ImageView;
use egui::Ui;

#[derive(Default)]
pub struct GeneratePanel {
    /// The codes drawn, one per image (the model's latent size).
    pub codes: Vec<Vec<f32>>,
    pub grid: ImageView,
    /// The newest grid decode asked for.
    pub serial: u64,
    /// Prior or mixture.
    pub source: super::sampling::SampleSource,
}

impl GeneratePanel {
    /// Another model: its prior has another size, so draw again.
    pub fn reset(&mut self, changed: Changed) {
        if changed.model {
            self.codes.clear();
            self.grid = ImageView::default();
        }
        if changed.data || changed.model {
            // Fits are keyed by the map's codes version, which starts over with the map.
            self.source.fits = Default::default();
        }
    }

    pub fn ui(
        &mut self,
        ui: &mut Ui,
        ctx: &PanelCtx,
        settings: &mut Settings,
        commands: &mut Vec<Command>,
    ) {
        if self.source.ui(ui, ctx, commands) {
            commands.push(Command::RebuildGrid);
        }
        if let (Some(_), Some(data)) = (ctx.ws.model_classes(), &ctx.ws.data) {
            let class = ctx.ws.class;
            let name = data
                .class_names()
                .get(class as usize)
                .cloned()
                .unwrap_or_else(|| class.to_string());
            ui.label(format!(
                "Drawn as class {name}: pick the class in the Decoder panel."
            ));
        }
        ui.horizontal(|ui| {
            let mut changed = ui
                .add(egui::Slider::new(&mut settings.grid_count, 4..=144).text("samples"))
                .changed();
            changed |= ui
                .add(egui::Slider::new(&mut settings.temperature, 0.0..=2.0).text("temperature"))
                .changed();
            if ui.button("Re-roll").clicked() {
                commands.push(Command::RerollGrid);
            } else if changed || (self.codes.is_empty() && ctx.ws.model.is_some()) {
                commands.push(Command::RebuildGrid);
            }
        });
        let egui_ctx = ui.ctx().clone();
        let codes = &self.codes;
        if let Some(tex) = self.grid.texture(&egui_ctx, "grid") {
            let tex_size = tex.size_vec2();
            let id = tex.id();
            {
                // As large as the visible part of the panel allows, at least one screen pixel
                // per image pixel (the tab scrolls then).
                let visible = (ui.clip_rect().bottom() - ui.cursor().top()).max(0.0);
                let size = super::fit_size_of(
                    tex_size,
                    egui::vec2(ui.available_width(), visible).max(tex_size),
                );
                let response =
                    ui.add(egui::Image::from_texture((id, size)).sense(egui::Sense::click()));
                let under = response
                    .hover_pos()
                    .and_then(|p| super::tile_under(&self.grid, &response, tex_size, size, p));
                let picture = under
                    .and_then(|k| codes.get(k))
                    .map(|c| super::picture::Picture::Code(c.clone()));
                super::picture::interact(&response, picture, ctx, commands);
                match under {
                    Some(k) => response.on_hover_text(format!(
                        "sample {} of {}: click to move the probe there (the sliders follow and the map marks it); right-click for more",
                        k + 1,
                        codes.len()
                    )),
                    None => response.on_hover_text("Click a sample to move the probe there"),
                };
            }
        } else if ctx.ws.model.is_some() {
            ui.spinner();
        }
    }
}
