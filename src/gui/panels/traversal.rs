//! Traversal: a grid with a row per latent dimension (or principal direction) and a column per
//! value along it, the other coordinates held at the prior's centre or the selection's code.
//! Computed on the jobs thread ([`crate::latent::traverse`]); exported as a labelled PNG or an
//! animated GIF. Clicking a tile moves the sliders (and the probe) to its code.

use super::{Changed, Command, PanelCtx};
use crate::gui::dialogs::{DialogPurpose, ExportKind};
use crate::gui::state::Settings;
use crate::gui::textures::ImageView;
use crate::gui::workspace::{Generation, Workspace};
use crate::latent::{DimSelection, TraversalGrid, TraversalRange, TraversalSpec};
use crate::model::Codes;
use egui::Ui;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Tiles are drawn at least this tall: past it the grid scrolls instead of shrinking.
const MIN_TILE_PX: f32 = 56.0;
/// Width of the row labels' column.
const LABEL_WIDTH: f32 = 96.0;
const HEADER_HEIGHT: f32 = 18.0;

/// The tab's controls (remembered between runs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TraversalSettings {
    pub range: TraversalRange,
    pub sigmas: f32,
    pub steps: usize,
    /// Hold the other coordinates at the selection's code (else at the prior's centre).
    pub from_selection: bool,
    pub order_by_kl: bool,
    pub hide_inactive: bool,
    pub principal: bool,
}

impl Default for TraversalSettings {
    fn default() -> Self {
        Self {
            range: TraversalRange::Prior,
            sigmas: TraversalRange::Prior.default_sigmas(),
            steps: 9,
            from_selection: false,
            order_by_kl: true,
            hide_inactive: true,
            principal: false,
        }
    }
}

/// What a traversal was asked for: asked again only when this changes.
#[derive(Clone, Debug, PartialEq)]
pub struct TraversalKey {
    pub spec: TraversalSpec,
    pub generation: Generation,
    /// The map codes' version, when the spec reads them.
    pub codes_version: Option<u64>,
    /// The class a conditional model draws the frames as (the Decoder's class picker).
    pub condition: crate::model::Condition,
}

#[derive(Default)]
pub struct TraversalPanel {
    /// The grid shown (the newest answer).
    pub grid: Option<Arc<TraversalGrid>>,
    /// Its images without labels, as a texture (labels are drawn by egui, crisp at any size).
    pub view: ImageView,
    /// Every tile's code, row-major (for a click).
    codes: Vec<f32>,
    /// Why the asked traversal could not be made.
    pub error: Option<String>,
    /// The newest request; answers to older ones are dropped.
    pub serial: u64,
    pub asked: Option<TraversalKey>,
    pub pending: bool,
    /// The map codes handed to the worker, shared until their version moves on.
    shared_codes: Option<(u64, Arc<Codes>)>,
    /// A path typed by the user: exports go there without a dialog.
    pub typed_path: String,
}

impl TraversalPanel {
    /// Another dataset or model: the grid and the codes belong to the old one.
    pub fn reset(&mut self, changed: Changed) {
        if changed.data || changed.model {
            self.grid = None;
            self.view = ImageView::default();
            self.codes.clear();
            self.error = None;
            self.asked = None;
            self.pending = false;
            self.shared_codes = None;
        }
    }

    /// The traversal the controls ask for now, and its key; None while the codes it needs are
    /// not there yet.
    pub fn wanted(
        &self,
        settings: &TraversalSettings,
        ws: &Workspace,
    ) -> Option<(TraversalKey, bool)> {
        ws.model.as_ref()?;
        // A selection off the map has no code here: the prior's centre then.
        let start = ws
            .selection
            .filter(|_| settings.from_selection)
            .and_then(|i| ws.code_of(i));
        let spec = TraversalSpec {
            range: settings.range,
            sigmas: settings.sigmas,
            steps: settings.steps,
            dims: if settings.hide_inactive {
                DimSelection::Active
            } else {
                DimSelection::All
            },
            principal: settings.principal,
            order_by_kl: settings.order_by_kl,
            start,
        };
        let needs_codes = spec.needs_codes();
        if needs_codes && ws.map.codes.is_none() {
            return None;
        }
        let key = TraversalKey {
            spec,
            generation: ws.generation(),
            codes_version: needs_codes.then_some(ws.map.codes_version),
            condition: ws.condition(),
        };
        Some((key, needs_codes))
    }

    /// The map's codes for the worker: copied once per version of them, then shared.
    pub fn codes_for_job(&mut self, ws: &Workspace) -> Option<Arc<Codes>> {
        let codes = ws.map.codes.as_ref()?;
        let version = ws.map.codes_version;
        match &self.shared_codes {
            Some((v, c)) if *v == version => Some(c.clone()),
            _ => {
                let c = Arc::new(codes.clone());
                self.shared_codes = Some((version, c.clone()));
                Some(c)
            }
        }
    }

    /// An answer to the newest request.
    pub fn answered(&mut self, result: Result<Arc<TraversalGrid>, String>) {
        self.pending = false;
        match result {
            Ok(grid) => {
                self.codes = grid.plan.codes();
                self.view
                    .set_grid(grid.images.clone(), grid.shape, grid.columns());
                self.grid = Some(grid);
                self.error = None;
            }
            Err(e) => {
                self.grid = None;
                self.view = ImageView::default();
                self.codes.clear();
                self.error = Some(e);
            }
        }
    }

    pub fn ui(
        &mut self,
        ui: &mut Ui,
        ctx: &PanelCtx,
        settings: &mut Settings,
        commands: &mut Vec<Command>,
    ) {
        self.controls(ui, ctx, &mut settings.traversal);
        self.export_row(ui, commands);
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().warn_fg_color, e);
            return;
        }
        let Some(grid) = self.grid.clone() else {
            if ctx.ws.model.is_none() {
                ui.label("Open a model to traverse its latent space.");
            } else if ctx.ws.map.codes.is_none() {
                // The KL order, hidden dimensions, principal directions and the ranges from
                // the codes all read the map's codes.
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Waiting for the map's codes (a dataset the model fits)…");
                });
            } else {
                ui.spinner();
            }
            return;
        };
        let latent = grid.plan.latent;
        let hidden = latent.saturating_sub(grid.rows());
        let mut summary = format!("{} rows x {} columns", grid.rows(), grid.columns());
        if hidden > 0 && !settings.traversal.principal {
            summary += &format!(
                " ({hidden} of {latent} dimensions inactive, hidden: mean KL under {} nats)",
                crate::model::ACTIVE_KL_THRESHOLD
            );
        }
        ui.label(summary);
        egui::ScrollArea::horizontal()
            .id_salt("traversal-grid")
            .show(ui, |ui| self.grid_ui(ui, &grid, commands));
    }

    fn controls(&mut self, ui: &mut Ui, ctx: &PanelCtx, t: &mut TraversalSettings) {
        ui.horizontal_wrapped(|ui| {
            let before = t.range;
            egui::ComboBox::from_label("range")
                .selected_text(range_text(t.range))
                .show_ui(ui, |ui| {
                    for r in [
                        TraversalRange::Prior,
                        TraversalRange::Spread,
                        TraversalRange::MinMax,
                    ] {
                        ui.selectable_value(&mut t.range, r, range_text(r));
                    }
                });
            if t.range != before {
                t.sigmas = t.range.default_sigmas();
            }
            if t.range != TraversalRange::MinMax {
                ui.add(egui::Slider::new(&mut t.sigmas, 0.5..=5.0).text("k (sigmas)"));
            }
            ui.add(egui::Slider::new(&mut t.steps, 3..=21).text("steps"));
            ui.label("start:");
            ui.radio_value(&mut t.from_selection, false, "prior centre");
            let selection = match ctx.ws.selection {
                Some(i) => format!("selection ({i})"),
                None => "selection (none)".into(),
            };
            ui.add_enabled_ui(ctx.ws.selection.is_some(), |ui| {
                ui.radio_value(&mut t.from_selection, true, selection)
                    .on_disabled_hover_text("Click a point on the map first");
            });
        });
        ui.horizontal_wrapped(|ui| {
            ui.checkbox(&mut t.principal, "principal directions")
                .on_hover_text(
                    "Rows along the principal directions of the codes, most variance first",
                );
            ui.add_enabled_ui(!t.principal, |ui| {
                ui.checkbox(&mut t.order_by_kl, "order by KL")
                    .on_hover_text("Most informative dimension (highest mean KL) first");
            });
            ui.checkbox(&mut t.hide_inactive, "hide inactive")
                .on_hover_text(format!(
                    "Leave out dimensions whose mean KL is under {} nats (the model ignores them)",
                    crate::model::ACTIVE_KL_THRESHOLD
                ));
            if self.pending {
                ui.spinner();
            }
        });
    }

    fn export_row(&mut self, ui: &mut Ui, commands: &mut Vec<Command>) {
        ui.horizontal_wrapped(|ui| {
            let l = ui.label("export to:");
            ui.add(
                egui::TextEdit::singleline(&mut self.typed_path)
                    .hint_text("path (optional; else a dialog)")
                    .desired_width(200.0),
            )
            .labelled_by(l.id);
            let typed = self.typed_path.trim().to_string();
            for (kind, label) in [
                (ExportKind::Traversal, "Traversal as PNG…"),
                (ExportKind::TraversalGif, "Traversal as GIF…"),
            ] {
                if ui
                    .add_enabled(self.grid.is_some(), egui::Button::new(label))
                    .on_disabled_hover_text("Nothing to export yet")
                    .clicked()
                {
                    commands.push(if typed.is_empty() {
                        Command::Dialog(DialogPurpose::Export(kind))
                    } else {
                        Command::ExportTo(kind, typed.clone().into())
                    });
                }
            }
        });
    }

    fn grid_ui(&mut self, ui: &mut Ui, grid: &TraversalGrid, commands: &mut Vec<Command>) {
        let Some(tex) = self.view.texture(ui.ctx(), "traversal") else {
            return;
        };
        let (id, tex_size) = (tex.id(), tex.size_vec2());
        let longest = grid.shape.height.max(grid.shape.width).max(1) as f32;
        let scale = (MIN_TILE_PX / longest).ceil().max(1.0);
        let size = tex_size * scale;
        let (rect, response) = ui.allocate_exact_size(
            egui::vec2(LABEL_WIDTH + size.x, HEADER_HEIGHT + size.y),
            egui::Sense::click(),
        );
        let image_rect =
            egui::Rect::from_min_size(rect.min + egui::vec2(LABEL_WIDTH, HEADER_HEIGHT), size);
        let painter = ui.painter_at(rect);
        painter.image(
            id,
            image_rect,
            egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
            egui::Color32::WHITE,
        );
        let gap = crate::render::TILE_GAP as f32 * scale;
        let tile = egui::vec2(
            grid.shape.width as f32 * scale + gap,
            grid.shape.height as f32 * scale + gap,
        );
        let colour = ui.visuals().text_color();
        let font = egui::FontId::proportional(12.0);
        for (c, label) in grid.plan.column_labels.iter().enumerate() {
            let x = image_rect.min.x + c as f32 * tile.x + (tile.x - gap) / 2.0;
            painter.text(
                egui::pos2(x, rect.min.y + HEADER_HEIGHT / 2.0),
                egui::Align2::CENTER_CENTER,
                label,
                font.clone(),
                colour,
            );
        }
        for (r, row) in grid.plan.rows.iter().enumerate() {
            let y = image_rect.min.y + r as f32 * tile.y + (tile.y - gap) / 2.0;
            painter.text(
                egui::pos2(rect.min.x + 4.0, y),
                egui::Align2::LEFT_CENTER,
                row.label_lines().join("\n"),
                font.clone(),
                colour,
            );
        }
        let under = response.hover_pos().and_then(|p| {
            let local = p - image_rect.min;
            if local.x < 0.0 || local.y < 0.0 {
                return None;
            }
            let (c, r) = ((local.x / tile.x) as usize, (local.y / tile.y) as usize);
            (c < grid.columns() && r < grid.rows()).then_some((r, c))
        });
        let latent = grid.plan.latent;
        if response.clicked()
            && let Some((r, c)) = under
        {
            let k = r * grid.columns() + c;
            if let Some(code) = self.codes.get(k * latent..(k + 1) * latent) {
                commands.push(Command::SetProbe(code.to_vec()));
            }
        }
        if let Some((r, c)) = under {
            let row = &grid.plan.rows[r];
            response.on_hover_text(format!(
                "{} = {:+.2}: click to move the sliders (and the probe on the map) here",
                row.label_lines()[0],
                row.values[c]
            ));
        }
    }
}

fn range_text(r: TraversalRange) -> &'static str {
    match r {
        TraversalRange::Prior => "prior ±k σ",
        TraversalRange::Spread => "codes' spread ±k σ",
        TraversalRange::MinMax => "codes' min to max",
    }
}
