//! Analogy: the attribute vector between two groups of the map's samples (each side a class
//! or a named group from the Groups tab), how consistently the groups differ along it, and a grid of the vector added in
//! steps to a row of samples of the second group. Computed on the jobs thread
//! ([`crate::latent::attribute_quality`], [`crate::latent::analogy_grid`]).

use super::{Changed, Command, PanelCtx};
use crate::gui::dialogs::{DialogPurpose, ExportKind};
use crate::gui::textures::ImageView;
use crate::latent::{AnalogyGrid, AttributeQuality};
use egui::Ui;
use std::sync::Arc;

/// The smallest a tile is drawn: past this the grid scrolls instead of shrinking.
const MIN_TILE_PX: f32 = 56.0;

/// What the user asked for: groups as rows of the map's codes (any two sets would do).
#[derive(Clone, Debug, PartialEq)]
pub struct AnalogyRequest {
    pub name: String,
    pub plus: Vec<usize>,
    pub minus: Vec<usize>,
    /// Rows of the map's codes the vector is added to, with their names.
    pub starts: Vec<(String, usize)>,
    pub amounts: Vec<f32>,
}

/// One side of an attribute vector: the samples of a class, or a named group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Label(u16),
    /// The group at this position in the Groups tab.
    Group(usize),
}

impl Side {
    /// Its name in the list ("7", "group sevens").
    pub fn name(self, classes: &[String], groups: &[crate::latent::Group]) -> Option<String> {
        match self {
            Side::Label(k) => classes.get(k as usize).cloned(),
            Side::Group(k) => groups.get(k).map(|g| g.name.clone()),
        }
    }
}

/// A computed analogy.
pub struct AnalogyResult {
    pub name: String,
    pub quality: AttributeQuality,
    pub grid: AnalogyGrid,
    pub plus_count: usize,
    pub minus_count: usize,
}

pub struct AnalogyPanel {
    pub plus: Side,
    pub minus: Side,
    pub rows: usize,
    pub steps: usize,
    pub reach: f32,
    pub both_ways: bool,
    /// Set by the button; the app takes it, makes the groups and asks the worker.
    pub asked: Option<(Side, Side)>,
    pub result: Option<Arc<AnalogyResult>>,
    pub error: Option<String>,
    pub view: ImageView,
    pub serial: u64,
    pub pending: bool,
    /// A path typed by the user: the export goes there without a dialog.
    pub typed_path: String,
}

impl Default for AnalogyPanel {
    fn default() -> Self {
        Self {
            plus: Side::Label(7),
            minus: Side::Label(1),
            rows: 6,
            steps: 7,
            reach: 1.5,
            both_ways: false,
            asked: None,
            result: None,
            error: None,
            view: ImageView::default(),
            serial: 0,
            pending: false,
            typed_path: String::new(),
        }
    }
}

impl AnalogyPanel {
    /// Another dataset or model: the groups and the codes belong to the old one.
    pub fn reset(&mut self, changed: Changed) {
        if changed.data || changed.model {
            self.result = None;
            self.error = None;
            self.view = ImageView::default();
            self.pending = false;
            self.asked = None;
        }
    }

    pub fn answered(&mut self, result: Result<Arc<AnalogyResult>, String>) {
        self.pending = false;
        match result {
            Ok(r) => {
                self.view
                    .set_grid(r.grid.images.clone(), r.grid.shape, r.grid.columns());
                self.result = Some(r);
                self.error = None;
            }
            Err(e) => {
                self.result = None;
                self.view = ImageView::default();
                self.error = Some(e);
            }
        }
    }

    pub fn ui(&mut self, ui: &mut Ui, ctx: &PanelCtx, commands: &mut Vec<Command>) {
        let classes: Vec<String> = ctx
            .ws
            .data
            .as_ref()
            .map(|d| d.class_names().to_vec())
            .unwrap_or_default();
        let groups = &ctx.ws.groups;
        if classes.len() + groups.len() < 2 {
            ui.label(
                "Analogies need two groups of samples: a dataset with two labelled classes, or \
                 two groups made in the Groups tab.",
            );
            return;
        }
        let name = |side: Side| match side {
            Side::Label(_) => side.name(&classes, groups).map(|c| format!("class {c}")),
            Side::Group(_) => side.name(&classes, groups).map(|g| format!("group {g}")),
        };
        ui.horizontal_wrapped(|ui| {
            for (label, value) in [("vector to", &mut self.plus), ("from", &mut self.minus)] {
                egui::ComboBox::from_label(label)
                    .selected_text(name(*value).unwrap_or_else(|| "(deleted group)".into()))
                    .show_ui(ui, |ui| {
                        for k in 0..classes.len() {
                            let side = Side::Label(k as u16);
                            ui.selectable_value(value, side, name(side).unwrap_or_default());
                        }
                        for k in 0..groups.len() {
                            let side = Side::Group(k);
                            ui.selectable_value(value, side, name(side).unwrap_or_default());
                        }
                    });
            }
            ui.add(egui::Slider::new(&mut self.rows, 1..=12).text("samples"));
            ui.add(egui::Slider::new(&mut self.steps, 2..=15).text("steps"));
            ui.add(egui::Slider::new(&mut self.reach, 0.25..=3.0).text("reach"));
            ui.checkbox(&mut self.both_ways, "both ways");
            let exists = |s: Side| name(s).is_some();
            let ready = ctx.ws.map.codes.is_some()
                && self.plus != self.minus
                && exists(self.plus)
                && exists(self.minus);
            if ui
                .add_enabled(ready, egui::Button::new("Make analogy"))
                .on_disabled_hover_text("Two different classes or groups, and the map's codes")
                .clicked()
            {
                self.asked = Some((self.plus, self.minus));
            }
            if self.pending {
                ui.spinner();
            }
        });
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().warn_fg_color, e);
            return;
        }
        let Some(r) = self.result.clone() else {
            return;
        };
        ui.horizontal_wrapped(|ui| {
            let l = ui.label("export to:");
            ui.add(
                egui::TextEdit::singleline(&mut self.typed_path)
                    .hint_text("path (optional; else a dialog)")
                    .desired_width(200.0),
            )
            .labelled_by(l.id);
            if ui.button("Analogy grid as PNG…").clicked() {
                let typed = self.typed_path.trim();
                commands.push(if typed.is_empty() {
                    Command::Dialog(DialogPurpose::Export(ExportKind::Analogy))
                } else {
                    Command::ExportTo(ExportKind::Analogy, typed.into())
                });
            }
        });
        let q = r.quality;
        ui.label(format!(
            "{}: {} minus {} samples. Consistency {:.2} ({:.0}% of {} held-out pairs point its way); chance {:.2}",
            r.name,
            r.plus_count,
            r.minus_count,
            q.consistency,
            q.agreeing * 100.0,
            q.pairs,
            q.chance
        ));
        let Some(tex) = self.view.texture(ui.ctx(), "analogy") else {
            return;
        };
        let (id, tex_size) = (tex.id(), tex.size_vec2());
        let longest = r.grid.shape.height.max(r.grid.shape.width).max(1) as f32;
        let scale = (MIN_TILE_PX / longest).ceil().max(1.0);
        egui::ScrollArea::horizontal()
            .id_salt("analogy-grid")
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.label("amount:");
                    for a in &r.grid.amounts {
                        ui.add_sized(
                            [r.grid.shape.width as f32 * scale + 2.0 * scale, 14.0],
                            egui::Label::new(format!("{a:+.2}")),
                        );
                    }
                });
                ui.add(egui::Image::from_texture((id, tex_size * scale)))
                    .on_hover_text(format!(
                        "rows: {}; each column adds that much of the vector",
                        r.grid.row_names.join(", ")
                    ));
            });
    }
}
