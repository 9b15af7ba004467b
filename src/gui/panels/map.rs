//! The latent map: the dataset's posterior means as a scatter coloured by label, with zoom and
//! pan; click a point to select it, hover empty space to see what decodes there, drag the probe
//! (the sliders' code) around.

use crate::gui::app::{Command, ExplorerApp};
use crate::gui::map_raster::{RasterKey, rasterize_points};
use crate::gui::map_view::class_colour;
use crate::gui::state::{ColorBy, Projection};
use egui::{Color32, RichText, Ui};
use egui_plot::{
    ItemId, Legend, Line, MarkerShape, Plot, PlotImage, PlotPoint, PlotPoints, Points, Text,
};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Screen distance (points) within which a click or hover hits a sample.
const HIT_RADIUS: f64 = 6.0;

pub fn map_ui(app: &mut ExplorerApp, ui: &mut Ui, commands: &mut Vec<Command>) {
    controls_ui(app, ui, commands);
    let (Some(data), Some(model)) = (app.session.data.clone(), app.session.model.clone()) else {
        ui.centered_and_justified(|ui| ui.label("Loading the dataset and the model…"));
        return;
    };
    if app.session.map.codes.is_none() {
        ui.centered_and_justified(|ui| {
            if model.check_fits(&data).is_err() {
                ui.label("The model does not fit this dataset: open another or create a New model.")
            } else {
                ui.label("Encoding the dataset…")
            }
        });
        return;
    }
    let settings = app.settings.clone();
    let fit_view = std::mem::take(&mut app.session.map.fit_view);
    let map = &app.session.map;
    let probe = app.session.probe.clone();
    let probe_pos = (probe.len() == model.latent()).then(|| map.project(&probe, &settings));

    // A drag that starts on the probe moves the probe instead of panning the map.
    let probe_drag_id = ui.scope_id().with("probe-drag");
    let mut dragging_probe: bool = ui.data(|d| d.get_temp(probe_drag_id).unwrap_or(false));
    let last_probe_screen: Option<egui::Pos2> = ui.data(|d| d.get_temp(probe_drag_id.with("pos")));
    let (pressed, down, press_origin) = ui.input(|i| {
        (
            i.pointer.primary_pressed(),
            i.pointer.primary_down(),
            i.pointer.press_origin(),
        )
    });
    if pressed {
        dragging_probe =
            matches!((press_origin, last_probe_screen), (Some(o), Some(p)) if o.distance(p) < 10.0);
    }
    if !down {
        dragging_probe = false;
    }

    // Each point's colour: its class, or its anomaly-score band. One empty series per class
    // (or band) gives the legend, whose check boxes hide classes from the raster.
    let by_score = settings.color_by == ColorBy::AnomalyScore;
    let bands: Option<Arc<Vec<u8>>> = if by_score {
        let anomalies = &mut app.session.anomalies;
        let key = (anomalies.scores_version, settings.anomaly_score);
        match (&anomalies.scores, &anomalies.bands) {
            (Some(s), _) if s.len() != app.session.map.coords.len() => None,
            (Some(_), Some((k, b))) if *k == key => Some(b.clone()),
            (Some(s), _) => {
                // Sorting every score takes milliseconds: once per new scores, not per frame.
                let b = Arc::new(score_bands(&s.values(settings.anomaly_score)));
                anomalies.bands = Some((key, b.clone()));
                Some(b)
            }
            (None, _) => None,
        }
    } else {
        None
    };
    let map = &app.session.map;
    let class_names = data.class_names().to_vec();
    let labelled = data.labels().is_some();
    let legend: Vec<(String, Color32, (&str, usize))> = match &bands {
        Some(_) => BAND_NAMES
            .iter()
            .zip(BAND_COLOURS)
            .enumerate()
            .map(|(k, (n, c))| (n.to_string(), c, ("band", k)))
            .collect(),
        None if labelled => (0..class_names.len().max(1))
            .map(|g| {
                let [r, gg, b] = class_colour(Some(g as u16));
                let name = class_names.get(g).cloned().unwrap_or_else(|| g.to_string());
                (name, Color32::from_rgb(r, gg, b), ("class", g))
            })
            .collect(),
        None => {
            let [r, g, b] = class_colour(None);
            vec![("samples".into(), Color32::from_rgb(r, g, b), ("class", 0))]
        }
    };
    // The legend entry (class or score band) of map position k.
    let indices = map.indices.clone();
    let group_of = |k: usize| -> usize {
        match &bands {
            Some(b) => b.get(k).copied().unwrap_or(0) as usize,
            None => data
                .label(indices[k])
                .map(|l| l as usize)
                .unwrap_or(0)
                .min(legend.len() - 1),
        }
    };
    let plot_id = ui.make_persistent_id("latent-map");
    let hidden: Vec<bool> = {
        let memory = egui_plot::PlotMemory::load(ui.ctx(), plot_id);
        legend
            .iter()
            .map(|(_, _, id)| {
                memory
                    .as_ref()
                    .is_some_and(|m| m.hidden_items.contains(&ItemId::new(id)))
            })
            .collect()
    };
    let selection = app.session.selection.and_then(|i| map.coord_of(i));
    let anchors: Vec<[f64; 2]> = app
        .session
        .interp
        .anchors
        .iter()
        .filter_map(|&i| map.coord_of(i))
        .collect();
    let path: Vec<[f64; 2]> = app
        .session
        .interp
        .frames
        .iter()
        .map(|c| map.project(c, &settings))
        .collect();
    let fill_path: Vec<[f64; 2]> =
        if settings.bottom_tab == crate::gui::state::BottomTab::MissingData {
            app.session
                .filled
                .path
                .iter()
                .map(|c| map.project(c, &settings))
                .collect()
        } else {
            Vec::new()
        };
    let radius = settings.point_radius;
    // The decoded manifold behind the points, and the prior's sigma circles.
    let ctx = ui.ctx().clone();
    let ppp = ctx.pixels_per_point();
    let manifold_bounds = app.session.manifold_bounds;
    let manifold_texture = if settings.show_manifold {
        app.session
            .manifold
            .texture(&ctx, "manifold")
            .map(|t| t.id())
    } else {
        None
    };
    let map = &app.session.map;
    let prior_rings: Vec<Vec<[f64; 2]>> = if settings.show_prior {
        let centre = map.project(&vec![0.0; model.latent()], &settings);
        [1.0, 2.0, 3.0]
            .iter()
            .map(|r| {
                (0..=64)
                    .map(|i| {
                        let t = i as f64 / 64.0 * std::f64::consts::TAU;
                        [centre[0] + r * t.cos(), centre[1] + r * t.sin()]
                    })
                    .collect()
            })
            .collect()
    } else {
        Vec::new()
    };
    // Uncertainty: the selection's posterior at 1 and 2 sigma, and on demand every tenth point's.
    let selection_ellipses: Vec<Vec<[f64; 2]>> = app
        .session
        .selection
        .and_then(|i| map.position_of(i))
        .map(|k| {
            vec![
                map.posterior_ellipse(k, &settings, 1.0),
                map.posterior_ellipse(k, &settings, 2.0),
            ]
        })
        .unwrap_or_default();
    let all_ellipses: Vec<Vec<[f64; 2]>> = if settings.show_all_ellipses {
        (0..map.coords.len())
            .step_by(10)
            .map(|k| map.posterior_ellipse(k, &settings, 1.0))
            .collect()
    } else {
        Vec::new()
    };
    let (lo, hi) = fitted_bounds(map.bounds(), app.session.map_screen.map(|t| *t.frame()));
    let raster_content = {
        let mut h = std::hash::DefaultHasher::new();
        (map.generation, map.version, by_score, &hidden).hash(&mut h);
        if bands.is_some() {
            (app.session.anomalies.scores_version, settings.anomaly_score).hash(&mut h);
        }
        h.finish()
    };
    let mut raster = std::mem::take(&mut app.session.map_raster);
    let map = &app.session.map;
    let response = Plot::new("latent-map")
        .id(plot_id)
        // The points come as one image covering the view; the view itself is fitted to the
        // points (these bounds), never to the image.
        .default_x_bounds(lo[0], hi[0])
        .default_y_bounds(lo[1], hi[1])
        .data_aspect(1.0)
        .legend(Legend::default())
        .allow_drag(!dragging_probe)
        .allow_double_click_reset(true)
        .show_crosshair(false)
        .x_axis_label(axis_name(&settings, model.latent(), 0))
        .y_axis_label(axis_name(&settings, model.latent(), 1))
        .show(ui, |plot| {
            if fit_view {
                plot.set_auto_bounds(true);
            }
            if let (Some(id), Some(b)) = (manifold_texture, manifold_bounds) {
                let centre = PlotPoint::new((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
                let size = egui::vec2((b[2] - b[0]) as f32, (b[3] - b[1]) as f32);
                plot.image(
                    PlotImage::new("", id, centre, size).tint(Color32::from_white_alpha(170)),
                );
            }
            for ring in &prior_rings {
                plot.line(
                    Line::new("", PlotPoints::from(ring.clone()))
                        .color(Color32::from_rgba_unmultiplied(255, 255, 255, 90))
                        .style(egui_plot::LineStyle::dashed_loose()),
                );
            }
            for (name, colour, id) in &legend {
                // `add`, not `points`: `points` drops a series without points, and these
                // exist only for their legend entries.
                plot.add(
                    Points::new(name.clone(), PlotPoints::default())
                        .id(*id)
                        .radius(radius)
                        .color(*colour),
                );
            }
            let b = plot.plot_bounds();
            let view = [b.min()[0], b.min()[1], b.max()[0], b.max()[1]];
            let frame = plot.transform().frame().size() * ppp;
            let size = [
                frame.x.round().max(1.0) as usize,
                frame.y.round().max(1.0) as usize,
            ];
            if view.iter().all(|v| v.is_finite()) && view[2] > view[0] && view[3] > view[1] {
                let key = RasterKey {
                    view,
                    size,
                    radius_px: radius * ppp,
                    content: raster_content,
                };
                let (texture, covers) = raster.texture_for(&ctx, key, || {
                    let colour = |k: usize| -> Option<Color32> {
                        let group = group_of(k);
                        (!hidden[group]).then_some(legend[group].1)
                    };
                    // Score bands are drawn low to high so the anomalies sit on top.
                    let order: Option<Vec<u32>> = bands.as_ref().map(|b| {
                        (0..BAND_NAMES.len() as u8)
                            .flat_map(|band| {
                                (0..b.len() as u32).filter(move |&k| b[k as usize] == band)
                            })
                            .collect()
                    });
                    rasterize_points(
                        &map.coords,
                        order.as_deref(),
                        colour,
                        view,
                        size,
                        radius * ppp,
                    )
                });
                let centre =
                    PlotPoint::new((covers[0] + covers[2]) / 2.0, (covers[1] + covers[3]) / 2.0);
                let extent = egui::vec2(
                    (covers[2] - covers[0]) as f32,
                    (covers[3] - covers[1]) as f32,
                );
                plot.image(PlotImage::new("", texture, centre, extent));
            }
            for e in all_ellipses {
                plot.line(
                    Line::new("", PlotPoints::from(e))
                        .color(Color32::from_white_alpha(40))
                        .width(1.0),
                );
            }
            for (k, e) in selection_ellipses.into_iter().enumerate() {
                let alpha = if k == 0 { 220 } else { 120 };
                plot.line(
                    Line::new("", PlotPoints::from(e))
                        .color(Color32::from_rgba_unmultiplied(255, 230, 0, alpha))
                        .width(1.5),
                );
            }
            if fill_path.len() >= 2 {
                plot.line(
                    Line::new("", PlotPoints::from(fill_path))
                        .color(Color32::WHITE)
                        .width(2.0),
                );
            }
            if path.len() >= 2 {
                plot.line(
                    Line::new("", PlotPoints::from(path))
                        .color(Color32::WHITE)
                        .width(1.5),
                );
            }
            for (k, a) in anchors.iter().enumerate() {
                let letter = char::from(b'A' + (k % 26) as u8).to_string();
                plot.text(
                    Text::new(
                        "",
                        PlotPoint::new(a[0], a[1]),
                        RichText::new(letter).strong().size(16.0),
                    )
                    .color(Color32::WHITE),
                );
            }
            if let Some(s) = selection {
                plot.points(
                    Points::new("", PlotPoints::from(vec![s]))
                        .shape(MarkerShape::Circle)
                        .filled(false)
                        .radius(8.0)
                        .color(Color32::YELLOW),
                );
            }
            if let Some(p) = probe_pos {
                plot.points(
                    Points::new("", PlotPoints::from(vec![p]))
                        .shape(MarkerShape::Diamond)
                        .radius(7.0)
                        .color(Color32::WHITE),
                );
            }
            (
                plot.pointer_coordinate(),
                plot.transform().dpos_dvalue(),
                view,
            )
        });
    app.session.map_raster = raster;
    let (pointer, dpos_dvalue, view) = response.inner;
    let transform = response.transform;
    let scale = [dpos_dvalue[0].abs(), dpos_dvalue[1].abs()];
    if let Some(p) = probe_pos {
        let screen = transform.position_from_point(&PlotPoint::new(p[0], p[1]));
        ui.data_mut(|d| d.insert_temp(probe_drag_id.with("pos"), screen));
    }
    ui.data_mut(|d| d.insert_temp(probe_drag_id, dragging_probe));
    app.session.map_screen = Some(transform);
    if app.settings.show_manifold {
        app.request_manifold(view);
    }

    let map = &app.session.map;
    if dragging_probe {
        if let Some(pos) = pointer {
            commands.push(Command::SetProbe(map.unproject(
                [pos.x, pos.y],
                &probe,
                &settings,
            )));
        }
        return;
    }
    let Some(pos) = pointer else { return };
    // Points of hidden classes (or bands) cannot be hit.
    let hit = map.nearest_where([pos.x, pos.y], scale, HIT_RADIUS, |k| {
        !hidden.get(group_of(k)).copied().unwrap_or(false)
    });
    if response.response.clicked() {
        match hit {
            Some(i) => commands.push(Command::Select(i)),
            None => commands.push(Command::SetProbe(map.unproject(
                [pos.x, pos.y],
                &probe,
                &settings,
            ))),
        }
    }
    if response.response.hovered() {
        hover_preview(app, ui, &response.response, hit, [pos.x, pos.y], &probe);
    }
}

fn axis_name(settings: &crate::gui::state::Settings, latent: usize, axis: usize) -> String {
    if latent <= 2 {
        return format!("z{axis}");
    }
    match settings.projection {
        Projection::Pca => format!("PC{}", axis + 1),
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

/// What is under the cursor: the sample when over a point, else the decoded position.
fn hover_preview(
    app: &mut ExplorerApp,
    ui: &mut Ui,
    response: &egui::Response,
    hit: Option<usize>,
    pos: [f64; 2],
    probe: &[f32],
) {
    let (Some(model), Some(data)) = (app.session.model.clone(), app.session.data.clone()) else {
        return;
    };
    let settings = app.settings.clone();
    let (values, caption) = match hit {
        Some(i) => (
            data.image(i),
            format!(
                "sample {i}{}",
                data.class_name(i)
                    .map(|c| format!(", class {c}"))
                    .unwrap_or_default()
            ),
        ),
        None => {
            let code = app.session.map.unproject(pos, probe, &settings);
            match model.decode(&code) {
                Ok(v) => (v, format!("decoded at ({:.2}, {:.2})", pos[0], pos[1])),
                Err(_) => return,
            }
        }
    };
    app.session.hover.set_single(values, data.shape, &[]);
    let ctx = ui.ctx().clone();
    if let Some(tex) = app.session.hover.texture(&ctx, "hover") {
        let id = tex.id();
        let size = tex.size_vec2() * 3.0;
        response.clone().on_hover_ui_at_pointer(|ui| {
            ui.add(egui::Image::from_texture((id, size)));
            ui.small(caption);
        });
    }
}

fn controls_ui(app: &mut ExplorerApp, ui: &mut Ui, commands: &mut Vec<Command>) {
    let latent = app.latent();
    ui.horizontal_wrapped(|ui| {
        ui.strong("Latent map");
        if let Some(d) = &app.session.data {
            ui.label(format!(
                "{} points of {} (encoded in {:.0} ms)",
                app.session.map.indices.len(),
                d.name,
                app.session.map.encode_secs * 1000.0
            ));
        }
        if latent > 2 {
            ui.separator();
            let s = &mut app.settings;
            egui::ComboBox::from_label("projection")
                .selected_text(s.projection.label())
                .show_ui(ui, |ui| {
                    ui.selectable_value(
                        &mut s.projection,
                        Projection::Pca,
                        Projection::Pca.label(),
                    );
                    ui.selectable_value(
                        &mut s.projection,
                        Projection::Axes,
                        Projection::Axes.label(),
                    );
                });
            if s.projection == Projection::Axes {
                for (name, axis) in [("x", &mut s.axis_x), ("y", &mut s.axis_y)] {
                    egui::ComboBox::from_label(format!("{name} axis"))
                        .selected_text(format!("z{axis}"))
                        .show_ui(ui, |ui| {
                            for k in 0..latent {
                                ui.selectable_value(axis, k, format!("z{k}"));
                            }
                        });
                }
            } else if let Some(pca) = &app.session.map.pca {
                let r = pca.explained_ratio();
                ui.label(format!(
                    "explains {:.0}% + {:.0}% of the variance",
                    r[0] * 100.0,
                    r.get(1).copied().unwrap_or(0.0) * 100.0
                ));
            }
        }
        ui.separator();
        ui.add(egui::Slider::new(&mut app.settings.point_radius, 0.5..=5.0).text("point size"));
        ui.checkbox(&mut app.settings.show_manifold, "decoded background")
            .on_hover_text("Fill the map with images decoded on a grid; follows zoom and pan");
        ui.checkbox(&mut app.settings.show_prior, "prior circles")
            .on_hover_text("The prior's 1, 2 and 3 sigma circles: data outside them decodes from regions the decoder rarely saw");
        ui.checkbox(&mut app.settings.show_all_ellipses, "uncertainty ellipses")
            .on_hover_text(
                "Every tenth point's posterior at 1 sigma (the selection's is always drawn)",
            );
        let _ = commands;
    });
}

/// The view that fits every point with a 5% margin, widened along one axis to the plot's
/// aspect ratio (known from the last frame) so that keeping the map's 1:1 scale cuts nothing off.
fn fitted_bounds(
    points: Option<([f64; 2], [f64; 2])>,
    frame: Option<egui::Rect>,
) -> ([f64; 2], [f64; 2]) {
    let (lo, hi) = points.unwrap_or(([-1.0, -1.0], [1.0, 1.0]));
    let centre = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0];
    let mut half = [
        ((hi[0] - lo[0]) * 0.55).max(1e-3),
        ((hi[1] - lo[1]) * 0.55).max(1e-3),
    ];
    if let Some(f) = frame.filter(|f| f.width() > 1.0 && f.height() > 1.0) {
        let units_per_px = (half[0] / f.width() as f64).max(half[1] / f.height() as f64);
        half = [
            units_per_px * f.width() as f64,
            units_per_px * f.height() as f64,
        ];
    }
    (
        [centre[0] - half[0], centre[1] - half[1]],
        [centre[0] + half[0], centre[1] + half[1]],
    )
}

const BAND_NAMES: [&str; 6] = ["0-50%", "50-75%", "75-90%", "90-97%", "97-99%", "99-100%"];
const BAND_COLOURS: [Color32; 6] = [
    Color32::from_rgb(40, 60, 140),
    Color32::from_rgb(40, 130, 170),
    Color32::from_rgb(90, 180, 120),
    Color32::from_rgb(230, 200, 60),
    Color32::from_rgb(240, 130, 40),
    Color32::from_rgb(230, 40, 40),
];

/// Each point's score band by quantile (0: the best explained half ... 5: the top 1%),
/// coloured from dark blue to red by `BAND_COLOURS`.
fn score_bands(values: &[f32]) -> Vec<u8> {
    let mut sorted: Vec<f32> = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    let q = |f: f64| sorted[((sorted.len().max(1) - 1) as f64 * f) as usize];
    let edges = [0.5, 0.75, 0.9, 0.97, 0.99].map(q);
    values
        .iter()
        .map(|v| edges.iter().position(|e| v <= e).unwrap_or(edges.len()) as u8)
        .collect()
}
