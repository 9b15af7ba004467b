//! The latent map: the dataset's posterior means as a scatter coloured by label, with zoom and
//! pan; click a point to select it, hover empty space to see what decodes there, drag the probe
//! (the sliders' code) around.

use crate::gui::app::{Command, ExplorerApp};
use crate::gui::map_view::class_colour;
use crate::gui::state::{ColorBy, Projection};
use egui::{Color32, RichText, Ui};
use egui_plot::{Legend, Line, MarkerShape, Plot, PlotImage, PlotPoint, PlotPoints, Points, Text};

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

    // Points grouped by class (or by score band), one series each: that gives the legend.
    let by_score = settings.color_by == ColorBy::AnomalyScore;
    let score_groups = by_score
        .then_some(app.session.anomalies.scores.as_ref())
        .flatten()
        .filter(|s| s.len() == map.coords.len())
        .map(|s| score_bands(&s.values(settings.anomaly_score), &map.coords));
    let class_names = data.class_names().to_vec();
    let mut groups: Vec<Vec<[f64; 2]>> = vec![Vec::new(); class_names.len().max(1)];
    if score_groups.is_none() {
        for (k, &i) in map.indices.iter().enumerate() {
            let g = data
                .label(i)
                .map(|l| l as usize)
                .unwrap_or(0)
                .min(groups.len() - 1);
            groups[g].push(map.coords[k]);
        }
    }
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
    let labelled = data.labels().is_some();
    let response = Plot::new("latent-map")
        .data_aspect(1.0)
        .legend(Legend::default())
        .allow_drag(!dragging_probe)
        .allow_double_click_reset(true)
        .show_crosshair(false)
        .x_axis_label(axis_name(&settings, model.latent(), 0))
        .y_axis_label(axis_name(&settings, model.latent(), 1))
        .show(ui, |plot| {
            // The mosaic covers the view it was decoded for; letting it push the auto-bounds
            // would zoom out, decode a larger view, and zoom out again.
            if manifold_texture.is_some() {
                plot.set_auto_bounds(false);
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
            if let Some(bands) = score_groups {
                for (name, colour, pts) in bands {
                    plot.points(
                        Points::new(name, PlotPoints::from(pts))
                            .radius(radius)
                            .color(colour)
                            .allow_hover(false),
                    );
                }
            }
            for (g, pts) in groups.into_iter().enumerate() {
                if pts.is_empty() {
                    continue;
                }
                let name = if labelled {
                    class_names.get(g).cloned().unwrap_or_else(|| g.to_string())
                } else {
                    "samples".to_string()
                };
                let [r, gg, b] = class_colour(labelled.then_some(g as u16));
                plot.points(
                    Points::new(name, PlotPoints::from(pts))
                        .radius(radius)
                        .color(Color32::from_rgb(r, gg, b))
                        .allow_hover(false),
                );
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
            let b = plot.plot_bounds();
            let view = [b.min()[0], b.min()[1], b.max()[0], b.max()[1]];
            (
                plot.pointer_coordinate(),
                plot.transform().dpos_dvalue(),
                view,
            )
        });
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
    let hit = map.nearest([pos.x, pos.y], scale, HIT_RADIUS);
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

/// Points split into score bands by quantile, coloured from dark blue (well explained) to red
/// (anomalous), drawn low to high so the anomalies sit on top.
fn score_bands(values: &[f32], coords: &[[f64; 2]]) -> Vec<(String, Color32, Vec<[f64; 2]>)> {
    let mut sorted: Vec<f32> = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    let q = |f: f64| sorted[((sorted.len().max(1) - 1) as f64 * f) as usize];
    let edges = [0.5, 0.75, 0.9, 0.97, 0.99].map(q);
    let colours = [
        Color32::from_rgb(40, 60, 140),
        Color32::from_rgb(40, 130, 170),
        Color32::from_rgb(90, 180, 120),
        Color32::from_rgb(230, 200, 60),
        Color32::from_rgb(240, 130, 40),
        Color32::from_rgb(230, 40, 40),
    ];
    // Named so the legend (sorted by name) lists them in order.
    let names = ["0-50%", "50-75%", "75-90%", "90-97%", "97-99%", "99-100%"];
    let mut bands: Vec<(String, Color32, Vec<[f64; 2]>)> = names
        .iter()
        .zip(colours)
        .map(|(n, c)| (n.to_string(), c, Vec::new()))
        .collect();
    for (v, c) in values.iter().zip(coords) {
        let band = edges.iter().position(|e| v <= e).unwrap_or(edges.len());
        bands[band].2.push(*c);
    }
    bands
}
