//! The latent map: the dataset's posterior means as a scatter coloured by label (or anomaly
//! score), with zoom and pan; click a point to select it, hover to see a sample or what decodes
//! there, drag the probe (the sliders' code) around.
//!
//! A frame of the map is four steps: the controls above it; what to draw (legend and colours,
//! overlays); the plot itself, with the points as one raster; and what the pointer did.

pub mod clusters;
pub mod density;
mod draw;
pub mod ellipses;
pub mod gradient;
mod interaction;
mod layout_controls;
pub mod legend;
pub mod overlays;
pub mod select;
pub mod thumbnails;

use super::{Changed, Command, PanelCtx};
use crate::gui::map_raster::PointRaster;
use crate::gui::state::{ColorBy, Projection, Settings, SplitFilter};
use crate::gui::textures::ImageView;
use crate::latent::layout::LayoutParams;
use egui::Ui;
pub use overlays::MapInputs;
use std::sync::Arc;

/// What score bands were computed from: (scores version, score kind).
type BandsKey = (u64, crate::analysis::AnomalyScore);

/// What the points above the anomaly threshold were found for: (scores version, score kind,
/// threshold bits, map positions version).
type AboveKey = (u64, crate::analysis::AnomalyScore, u32, u64);

/// At most this many of the points above the threshold are ringed (the worst ones).
const MAX_RINGED: usize = 3000;

/// The samples scoring above the anomaly threshold, ringed on the map.
#[derive(Clone, Default)]
pub struct AboveThreshold {
    pub threshold: f32,
    /// How many score above it.
    pub count: usize,
    /// Map positions of the worst of them (at most `MAX_RINGED`).
    pub points: Arc<Vec<[f64; 2]>>,
}

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
    /// The density shading for the current view.
    pub density: PointRaster,
    /// Sample images drawn on the map when zoomed in.
    pub thumbnails: thumbnails::Thumbnails,
    /// The uncertainty ellipses of the current layout.
    pub ellipses: ellipses::EllipseCache,
    /// A click on the map, acted on unless it turns out to start a double-click.
    pub pending_click: Option<interaction::PendingClick>,
    /// Centre the view here in the next frame (keeping the zoom).
    pub pan_to: Option<[f64; 2]>,
    /// Show exactly this view (x0, y0, x1, y1) in the next frame: a session's or a bookmark's.
    pub view_to: Option<[f64; 4]>,
    /// Points above the anomaly threshold, for what they were found for.
    above: Option<(AboveKey, AboveThreshold)>,
    /// The values the map is coloured by, and what they were found for.
    values: Option<(gradient::ValuesKey, gradient::ValueColours)>,
    /// The "Go to" field's text.
    pub goto: String,
    /// The selection the view last followed: a selection made elsewhere (an anomaly, a
    /// neighbour, "go to") is brought into view.
    followed_selection: Option<usize>,
    /// Cluster labels and the prior's holes.
    pub clusters: clusters::ClusterLayer,
    /// t-SNE / UMAP parameters being edited, applied with a button (each change restarts
    /// a run, so dragging a value must not).
    pending_layout: Option<LayoutParams>,
    /// What a drag does (pan, lasso, rectangle).
    pub tool: select::MapTool,
    /// The lasso or rectangle being drawn.
    pub select_drag: Option<select::SelectDrag>,
    /// Map rows in the multi-selection, for (groups version, map version).
    selection_mask: Option<(select::DrawnFor, Arc<Vec<bool>>)>,
    /// The visible groups' members on the map, for (groups version, map version).
    group_rings: Option<(select::DrawnFor, Arc<select::GroupRings>)>,
}

impl MapPanel {
    pub fn reset(&mut self, changed: Changed) {
        if changed.data || changed.model {
            let serial = self.manifold_serial;
            let mut layer = std::mem::take(&mut self.clusters);
            layer.reset();
            *self = Self {
                manifold_serial: serial,
                clusters: layer,
                tool: self.tool,
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
        interaction::resolve_pending_click(self, ui, commands);
        controls_ui(
            ui,
            ctx,
            settings,
            (&mut self.pending_layout, &mut self.tool),
            commands,
        );
        let plot_id = ui.make_persistent_id("latent-map");
        self.clusters.controls_ui(ui, ctx, commands);
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
        let values = self.values_for(ctx, settings);
        let memory = egui_plot::PlotMemory::load(ui.ctx(), plot_id);
        let legend = legend::Legend::new(
            data,
            &ws.map.indices,
            bands,
            values,
            memory.as_ref(),
            settings.map_split,
        );
        self.filter_ui(ui, ctx, settings, &legend, plot_id, commands);
        let overlays = overlays::Overlays::gather(
            &ws.map,
            settings,
            model.latent(),
            ws.selection,
            &ws.probe,
            inputs,
        );
        let above = self.above_threshold(ctx, settings);
        self.clusters.prepare(ui.ctx(), ctx, settings);
        let selecting = select::begin(self, ui);
        let mut drag = interaction::ProbeDrag::begin(ui);
        drag.active &= !selecting;
        let box_zoom = interaction::BoxZoom::begin(ui, selecting);
        let mask = select::selection_mask(self, ctx);
        let rings = select::group_rings(self, ctx);
        self.follow_selection(ctx);
        let shown = draw::show(
            self,
            ui,
            ctx,
            settings,
            plot_id,
            (&legend, &overlays, above.as_ref()),
            (mask, &rings),
            (drag.active || selecting, box_zoom.active),
            width,
        );
        self.screen = Some(shown.transform);
        if settings.show_manifold && self.manifold_asked != Some(shown.view) {
            commands.push(Command::DecodeManifold(shown.view));
        }
        select::finish(self, ui, ctx, &legend, commands);
        interaction::after_plot(
            self, ui, ctx, settings, &legend, &overlays, drag, &shown, commands,
        );
        self.clusters.after_plot(&shown, &mut self.pending_click);
    }

    /// Which samples are shown, "Show all classes" when some are hidden, and "Go to": a sample
    /// number selects it (and brings it into view), a class name shows only that class.
    fn filter_ui(
        &mut self,
        ui: &mut Ui,
        ctx: &PanelCtx,
        settings: &mut Settings,
        legend: &legend::Legend,
        plot_id: egui::Id,
        commands: &mut Vec<Command>,
    ) {
        let keys: Vec<_> = legend.entries.iter().map(|e| e.key).collect();
        // One row that never wraps: what appears in it (the gradient bar, "Show all classes")
        // must not push the map down.
        ui.horizontal(|ui| {
            egui::ComboBox::from_label("shown")
                .selected_text(settings.map_split.label())
                .show_ui(ui, |ui| {
                    for f in SplitFilter::ALL {
                        ui.selectable_value(&mut settings.map_split, f, f.label());
                    }
                });
            let label = ui.label("Go to");
            let edit = ui
                .add(
                    egui::TextEdit::singleline(&mut self.goto)
                        .hint_text("sample number, or class name")
                        .desired_width(120.0),
                )
                .labelled_by(label.id);
            let go = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if go {
                let text = self.goto.trim();
                let data = ctx.ws.data.as_ref();
                if let Ok(i) = text.trim_start_matches('#').parse::<usize>() {
                    commands.push(Command::GoTo(i));
                } else if let Some(g) = data.and_then(|d| {
                    // "class 3" for class names that are numbers (MNIST's).
                    let name = text.strip_prefix("class ").unwrap_or(text).trim();
                    d.class_names()
                        .iter()
                        .position(|c| c.eq_ignore_ascii_case(name))
                }) && legend.bands().is_none()
                {
                    legend::solo(ui.ctx(), plot_id, &keys, Some(g));
                } else if !text.is_empty() {
                    commands.push(Command::Notify(format!(
                        "Go to: \"{text}\" is neither a sample number nor a class name"
                    )));
                }
            }
            if legend.any_hidden() && ui.button("Show all classes").clicked() {
                legend::solo(ui.ctx(), plot_id, &keys, None);
            }
            if let Some(v) = legend.values() {
                ui.separator();
                gradient::bar_ui(ui, v);
            } else if settings.color_by == ColorBy::Value {
                ui.separator();
                ui.spinner();
                ui.label(format!(
                    "finding each sample's {}…",
                    settings.color_value.label()
                ));
            }
        });
    }

    /// Brings a selection made outside the map into view when it lies outside the view.
    fn follow_selection(&mut self, ctx: &PanelCtx) {
        let selection = ctx.ws.selection;
        if selection == self.followed_selection {
            return;
        }
        self.followed_selection = selection;
        let (Some(i), Some(screen)) = (selection, self.screen) else {
            return;
        };
        let Some(c) = ctx.ws.map.coord_of(i) else {
            return;
        };
        let b = screen.bounds();
        let inside =
            (b.min()[0]..=b.max()[0]).contains(&c[0]) && (b.min()[1]..=b.max()[1]).contains(&c[1]);
        if !inside {
            self.pan_to = Some(c);
        }
    }

    /// The samples above the anomaly threshold, when one is set and the map is coloured by
    /// score or the Anomalies tab is open: found once per scores, kind and threshold.
    fn above_threshold(&mut self, ctx: &PanelCtx, settings: &Settings) -> Option<AboveThreshold> {
        let threshold = settings.anomaly_threshold?;
        if settings.color_by != ColorBy::AnomalyScore
            && settings.bottom_tab != crate::gui::state::BottomTab::Anomalies
        {
            return None;
        }
        let s = &ctx.ws.scores;
        let scores = s
            .scores
            .as_ref()
            .filter(|sc| sc.has(settings.anomaly_score))?;
        let map = &ctx.ws.map;
        if scores.len() != map.coords.len() {
            return None;
        }
        let key = (
            s.version,
            settings.anomaly_score,
            threshold.to_bits(),
            map.version,
        );
        if let Some((k, a)) = &self.above
            && *k == key
        {
            return Some(a.clone());
        }
        let values = scores.values(settings.anomaly_score);
        let mut above: Vec<(f32, usize)> = values
            .iter()
            .enumerate()
            .filter(|&(_, &v)| v > threshold)
            .map(|(k, &v)| (v, k))
            .collect();
        let count = above.len();
        if above.len() > MAX_RINGED {
            above.select_nth_unstable_by(MAX_RINGED - 1, |a, b| b.0.total_cmp(&a.0));
            above.truncate(MAX_RINGED);
        }
        let a = AboveThreshold {
            threshold,
            count,
            points: Arc::new(above.iter().map(|&(_, k)| map.coords[k]).collect()),
        };
        self.above = Some((key, a.clone()));
        Some(a)
    }

    /// The values the map was last coloured by (for the figure export).
    pub fn cached_values(&self) -> Option<gradient::ValueColours> {
        self.values.as_ref().map(|(_, v)| v.clone())
    }

    /// Each point's value when the map is coloured by a value: found once per value kind,
    /// scores and codes.
    pub fn values_for(
        &mut self,
        ctx: &PanelCtx,
        settings: &Settings,
    ) -> Option<gradient::ValueColours> {
        if settings.color_by != ColorBy::Value {
            return None;
        }
        let key = (
            settings.color_value,
            ctx.ws.scores.version,
            ctx.ws.map.codes_version,
        );
        if let Some((k, v)) = &self.values
            && *k == key
        {
            return Some(v.clone());
        }
        let v = gradient::values_of(ctx, settings.color_value)?;
        self.values = Some((key, v.clone()));
        Some(v)
    }

    /// Score bands when the map is coloured by score and the scores are those of these codes.
    fn bands_for(&mut self, ctx: &PanelCtx, settings: &Settings) -> Option<Arc<Vec<u8>>> {
        if settings.color_by != ColorBy::AnomalyScore {
            return None;
        }
        let s = &ctx.ws.scores;
        // The IW bound is added to the scores when computed: no bands until then.
        let scores = s
            .scores
            .as_ref()
            .filter(|sc| sc.has(settings.anomaly_score))?;
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
    (pending, tool): (&mut Option<LayoutParams>, &mut select::MapTool),
    commands: &mut Vec<Command>,
) {
    let latent = ctx.ws.latent();
    // One row that never wraps: the point count is cut to what the tools leave of it.
    ui.horizontal(|ui| {
        ui.strong("Latent map");
        select::toolbar_ui(ui, tool, ctx, commands);
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
        // One row that never wraps: a t-SNE / UMAP run's progress and Cancel come and go in
        // it, and must not push the map down (long labels are cut to the row instead).
        ui.horizontal(|ui| {
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
        egui::ComboBox::from_label("colour")
            .selected_text(gradient::current_label(s))
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut s.color_by, ColorBy::Label, "label");
                ui.selectable_value(&mut s.color_by, ColorBy::AnomalyScore, "anomaly score bands");
                for v in gradient::choices(latent) {
                    let chosen = s.color_by == ColorBy::Value && s.color_value == v;
                    if ui.selectable_label(chosen, v.label()).clicked() {
                        s.color_by = ColorBy::Value;
                        s.color_value = v;
                    }
                }
            });
        ui.add(egui::Slider::new(&mut s.point_radius, 0.5..=5.0).text("point size"));
        ui.checkbox(&mut s.show_manifold, "decoded background")
            .on_hover_text("Fill the map with images decoded on a grid; follows zoom and pan");
        ui.checkbox(&mut s.show_density, "density")
            .on_hover_text("Shade the map by how many points lie there: where points pile up, the core shows");
        ui.checkbox(&mut s.show_thumbnails, "thumbnails")
            .on_hover_text(format!(
                "Zoomed in to {} points or fewer, each is drawn as its image",
                thumbnails::MAX_THUMBNAILS
            ));
        // Original or reconstruction: one small toggle, so the row keeps its length.
        {
            use crate::gui::state::ThumbnailSource;
            let recon = s.thumbnail_source == ThumbnailSource::Reconstruction;
            if ui
                .add_enabled(s.show_thumbnails, egui::Button::selectable(recon, "recon."))
                .on_hover_text(
                    "Thumbnails show the model's reconstruction of each sample instead of the \
                     sample (decoded in the background; the original until it is ready)",
                )
                .clicked()
            {
                s.thumbnail_source = if recon {
                    ThumbnailSource::Original
                } else {
                    ThumbnailSource::Reconstruction
                };
            }
        }
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
