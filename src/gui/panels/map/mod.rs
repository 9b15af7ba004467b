//! The latent map: the dataset's posterior means as a scatter coloured by label (or anomaly
//! score), with zoom and pan; click a point to select it, hover to see a sample or what decodes
//! there, drag the probe (the sliders' code) around.
//!
//! A frame of the map is four steps: the controls above it; what to draw (legend and colours,
//! overlays); the plot itself, with the points as one raster; and what the pointer did.

mod draw;
mod interaction;
mod layout_controls;
pub mod legend;
pub mod overlays;

use super::{Changed, Command, PanelCtx};
use crate::gui::map_raster::PointRaster;
use crate::gui::state::{ColorBy, Projection, Settings};
use crate::gui::textures::ImageView;
use crate::latent::layout::LayoutParams;
use egui::Ui;
pub use overlays::MapInputs;
use std::sync::Arc;

/// What score bands were computed from: (scores version, score kind).
type BandsKey = (u64, crate::analysis::AnomalyScore);

/// What the map panel keeps between frames.
#[derive(Default)]
pub struct MapPanel {
    /// The points drawn into a texture for the current view.
    pub raster: PointRaster,
    /// The plot's screen transform in the last frame (for tests and the probe drag).
    pub screen: Option<egui_plot::PlotTransform>,
    /// What is under the cursor.
    pub hover: ImageView,
    /// The decoded grid behind the map, and the view it was decoded for.
    pub manifold: ImageView,
    pub manifold_bounds: Option<[f64; 4]>,
    /// The view asked for last (decoded or on its way), and the newest request's serial.
    pub manifold_asked: Option<[f64; 4]>,
    pub manifold_serial: u64,
    /// The map's fit version the view was last fitted for.
    fitted: u64,
    /// Each point's score band, for (scores version, score kind).
    bands: Option<(BandsKey, Arc<Vec<u8>>)>,
    /// t-SNE / UMAP parameters being edited, applied with a button (each change restarts
    /// a run, so dragging a value must not).
    pending_layout: Option<LayoutParams>,
}

impl MapPanel {
    pub fn reset(&mut self, changed: Changed) {
        if changed.data || changed.model {
            let serial = self.manifold_serial;
            *self = Self {
                manifold_serial: serial,
                ..Self::default()
            };
        }
    }

    pub fn ui(
        &mut self,
        ui: &mut Ui,
        ctx: &PanelCtx,
        settings: &mut Settings,
        inputs: &MapInputs,
        commands: &mut Vec<Command>,
    ) {
        // The plot takes the panel's width as it is before the controls (which may overflow
        // on a narrow window) are laid out.
        let width = ui.available_width();
        controls_ui(ui, ctx, settings, &mut self.pending_layout, commands);
        let ws = ctx.ws;
        let (Some(data), Some(model)) = (&ws.data, &ws.model) else {
            let text = if ctx.loading {
                "Loading the dataset and the model…"
            } else if ws.data.is_none() {
                "No dataset: open one (Dataset panel, or drop a file or folder here)."
            } else {
                "No model: open one or create a New model in the Model panel."
            };
            ui.centered_and_justified(|ui| ui.label(text));
            return;
        };
        if ws.map.codes.is_none() {
            ui.centered_and_justified(|ui| {
                if let Err(e) = model.check_fits(data) {
                    ui.label(format!(
                        "The model does not fit this dataset ({e}): open another or create a New model."
                    ))
                } else if ctx.encoding || ctx.loading {
                    ui.label("Encoding the dataset…")
                } else {
                    ui.label("No codes yet.")
                }
            });
            return;
        }
        let bands = self.bands_for(ctx, settings);
        let plot_id = ui.make_persistent_id("latent-map");
        let memory = egui_plot::PlotMemory::load(ui.ctx(), plot_id);
        let legend = legend::Legend::new(data, &ws.map.indices, bands, memory.as_ref());
        let overlays = overlays::Overlays::gather(
            &ws.map,
            settings,
            model.latent(),
            ws.selection,
            &ws.probe,
            inputs,
        );
        let drag = interaction::ProbeDrag::begin(ui);
        let shown = draw::show(
            self,
            ui,
            ctx,
            settings,
            plot_id,
            (&legend, &overlays),
            drag.active,
            width,
        );
        self.screen = Some(shown.transform);
        if settings.show_manifold && self.manifold_asked != Some(shown.view) {
            commands.push(Command::DecodeManifold(shown.view));
        }
        interaction::after_plot(
            self, ui, ctx, settings, &legend, &overlays, drag, &shown, commands,
        );
    }

    /// Score bands when the map is coloured by score and the scores are those of these codes.
    fn bands_for(&mut self, ctx: &PanelCtx, settings: &Settings) -> Option<Arc<Vec<u8>>> {
        if settings.color_by != ColorBy::AnomalyScore {
            return None;
        }
        let s = &ctx.ws.scores;
        let scores = s.scores.as_ref()?;
        if scores.len() != ctx.ws.map.coords.len() {
            return None;
        }
        let key = (s.version, settings.anomaly_score);
        match &self.bands {
            Some((k, b)) if *k == key => Some(b.clone()),
            _ => {
                // Sorting every score takes milliseconds: once per new scores, not per frame.
                let b = Arc::new(legend::score_bands(&scores.values(settings.anomaly_score)));
                self.bands = Some((key, b.clone()));
                Some(b)
            }
        }
    }
}

/// Projection, point size and the overlay toggles, above the map: three short rows, each
/// wrapping within the panel's width (a row that overflowed would widen the whole panel).
fn controls_ui(
    ui: &mut Ui,
    ctx: &PanelCtx,
    s: &mut Settings,
    pending: &mut Option<LayoutParams>,
    commands: &mut Vec<Command>,
) {
    let latent = ctx.ws.latent();
    ui.horizontal(|ui| {
        ui.strong("Latent map");
        if let Some(d) = &ctx.ws.data {
            let encoded = if ctx.ws.map.codes.is_some() {
                format!(" (encoded in {:.0} ms)", ctx.ws.map.encode_secs * 1000.0)
            } else {
                String::new()
            };
            super::long_label(
                ui,
                format!("{} points of {}{encoded}", ctx.ws.map.indices.len(), d.name),
            );
        }
    });
    if latent > 2 {
        ui.horizontal_wrapped(|ui| {
            egui::ComboBox::from_label("projection")
                .selected_text(s.projection.label())
                .show_ui(ui, |ui| {
                    for p in [
                        Projection::Pca,
                        Projection::Axes,
                        Projection::Tsne,
                        Projection::Umap,
                        Projection::Semantic,
                    ] {
                        ui.selectable_value(&mut s.projection, p, p.label());
                    }
                });
            if s.projection == Projection::Axes {
                for (name, axis) in [("x", &mut s.axis_x), ("y", &mut s.axis_y)] {
                    *axis = (*axis).min(latent - 1);
                    egui::ComboBox::from_label(format!("{name} axis"))
                        .selected_text(format!("z{axis}"))
                        .show_ui(ui, |ui| {
                            for k in 0..latent {
                                ui.selectable_value(axis, k, format!("z{k}"));
                            }
                        });
                }
            } else if let Some(method) = s.projection.layout_method() {
                layout_controls::ui(ui, ctx, s, method, pending, commands);
            } else if s.projection == Projection::Semantic {
                semantic_axis_ui(ui, ctx, s);
            } else if let Some(pca) = &ctx.ws.map.pca {
                let r = pca.explained_ratio();
                super::long_label(
                    ui,
                    format!(
                        "explains {:.0}% + {:.0}% of the variance",
                        r[0] * 100.0,
                        r.get(1).copied().unwrap_or(0.0) * 100.0
                    ),
                );
            }
        });
    }
    ui.horizontal_wrapped(|ui| {
        ui.add(egui::Slider::new(&mut s.point_radius, 0.5..=5.0).text("point size"));
        ui.checkbox(&mut s.show_manifold, "decoded background")
            .on_hover_text("Fill the map with images decoded on a grid; follows zoom and pan");
        ui.checkbox(&mut s.show_prior, "prior circles")
            .on_hover_text("The prior's 1, 2 and 3 sigma circles: data outside them decodes from regions the decoder rarely saw");
        ui.checkbox(&mut s.show_all_ellipses, "uncertainty ellipses")
            .on_hover_text(
                "Every tenth point's posterior at 1 sigma (the selection's is always drawn)",
            );
    });
}

/// The attribute vector semantic axes follow: one of this model's, chosen from a list.
fn semantic_axis_ui(ui: &mut Ui, ctx: &PanelCtx, s: &mut Settings) {
    let mine = crate::gui::panels::decoder::attributes_for(ctx.ws, s);
    if mine.is_empty() {
        super::long_label(
            ui,
            "make an attribute vector in the Decoder panel first (the map shows PCA)",
        );
        return;
    }
    if !s.semantic_attribute.is_some_and(|k| mine.contains(&k)) {
        s.semantic_attribute = Some(mine[0]);
    }
    let current = s
        .semantic_attribute
        .and_then(|k| s.attributes.get(k))
        .map(|a| a.name.clone())
        .unwrap_or_default();
    egui::ComboBox::from_label("x axis along")
        .selected_text(current)
        .show_ui(ui, |ui| {
            for &k in &mine {
                let name = s.attributes[k].name.clone();
                ui.selectable_value(&mut s.semantic_attribute, Some(k), name);
            }
        })
        .response
        .on_hover_text(
            "x: each code's position along the attribute vector; y: the first principal \
             component of what is left once that direction is taken out",
        );
}

/// Name of a map axis: z0/z1 at latent 2, PC1/PC2, the chosen latent axes or "t-SNE 1" above.
pub fn axis_name(settings: &Settings, latent: usize, axis: usize) -> String {
    if latent <= 2 {
        return format!("z{axis}");
    }
    match settings.projection {
        Projection::Pca => format!("PC{}", axis + 1),
        Projection::Tsne => format!("t-SNE {}", axis + 1),
        Projection::Umap => format!("UMAP {}", axis + 1),
        Projection::Semantic => match settings
            .semantic_attribute
            .and_then(|k| settings.attributes.get(k))
            .filter(|a| a.vector.len() == latent)
        {
            Some(a) if axis == 0 => a.name.clone(),
            Some(_) => "PC1 of the rest".into(),
            None => format!("PC{}", axis + 1),
        },
        Projection::Axes => format!(
            "z{}",
            if axis == 0 {
                settings.axis_x
            } else {
                settings.axis_y
            }
        ),
    }
}
