//! The plot: the decoded background, the prior rings, the points as one raster for the view,
//! the overlays, the selection and the probe.

use super::MapPanel;
use super::legend::{BAND_NAMES, Legend};
use super::overlays::Overlays;
use crate::gui::map_raster::{RasterKey, rasterize_points};
use crate::gui::panels::PanelCtx;
use crate::gui::state::Settings;
use egui::{Color32, RichText, Ui};
use egui_plot::{Line, MarkerShape, Plot, PlotImage, PlotPoint, PlotPoints, Points, Text};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// What the plot reports back.
pub struct Shown {
    pub response: egui::Response,
    pub transform: egui_plot::PlotTransform,
    /// The visible bounds (x0, y0, x1, y1).
    pub view: [f64; 4],
    /// The pointer in map coordinates, if over the plot.
    pub pointer: Option<PlotPoint>,
    /// Screen points per map unit, per axis.
    pub scale: [f64; 2],
}

#[allow(clippy::too_many_arguments)]
pub fn show(
    panel: &mut MapPanel,
    ui: &mut Ui,
    ctx: &PanelCtx,
    settings: &Settings,
    plot_id: egui::Id,
    (legend, overlays, above): (&Legend, &Overlays, Option<&super::AboveThreshold>),
    (mask, rings): (Option<Arc<Vec<bool>>>, &super::select::GroupRings),
    (dragging_probe, box_zoom): (bool, bool),
    width: f32,
) -> Shown {
    let ws = ctx.ws;
    let map = &ws.map;
    let latent = ws.latent();
    let egui_ctx = ui.ctx().clone();
    let ppp = egui_ctx.pixels_per_point();
    let fit_view = panel.fitted != map.fit_version;
    panel.fitted = map.fit_version;
    let radius = settings.point_radius;
    let manifold = match (settings.show_manifold, panel.manifold_bounds) {
        (true, Some(b)) => panel
            .manifold
            .texture(&egui_ctx, "manifold")
            .map(|t| (t.id(), b)),
        _ => None,
    };
    let (lo, hi) = fitted_bounds(map.bounds(), panel.screen.map(|t| *t.frame()));
    // What the raster shows besides the view: redrawn only when one of these changes.
    let content = {
        let mut h = std::hash::DefaultHasher::new();
        (
            map.version,
            legend.bands().is_some(),
            &legend.hidden,
            legend.split,
        )
            .hash(&mut h);
        if let Some(v) = legend.values() {
            (v.kind, Arc::as_ptr(&v.values) as usize).hash(&mut h);
        }
        if legend.bands().is_some() {
            (ws.scores.version, settings.anomaly_score).hash(&mut h);
        }
        if let Some(m) = &mask {
            (Arc::as_ptr(m) as usize).hash(&mut h);
        }
        h.finish()
    };
    let raster = &mut panel.raster;
    let density = &mut panel.density;
    let show_density = settings.show_density;
    // The wheel zooms about the cursor (as in every map and scatter tool); Ctrl+wheel and
    // pinch zoom through the plot itself. A trackpad's sideways swipe is ignored.
    let (scroll, pinch) = ui.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta()));
    let view_to = panel.view_to.take();
    // A view set outright wins over following the selection.
    let pan_to = panel.pan_to.take().filter(|_| view_to.is_none());
    let clusters = &panel.clusters;
    let select_drag = panel.select_drag.clone();
    let response = Plot::new("latent-map")
        .id(plot_id)
        .width(width)
        .height(ui.available_height())
        // The points come as one image covering the view; the view itself is fitted to the
        // points (these bounds), never to the image.
        .default_x_bounds(lo[0], hi[0])
        .default_y_bounds(lo[1], hi[1])
        .data_aspect(1.0)
        .legend(egui_plot::Legend::default())
        .allow_drag(!dragging_probe && !box_zoom)
        .allow_scroll(false)
        .allow_boxed_zoom(true)
        .boxed_zoom_pointer_button(if box_zoom {
            egui::PointerButton::Primary
        } else {
            egui::PointerButton::Secondary
        })
        .allow_double_click_reset(true)
        .show_crosshair(false)
        .x_axis_label(super::axis_name(settings, latent, 0))
        .y_axis_label(super::axis_name(settings, latent, 1))
        .show(ui, |plot| {
            if fit_view {
                plot.set_auto_bounds(true);
            }
            if scroll != 0.0 && pinch == 1.0 && plot.response().contains_pointer() {
                plot.zoom_bounds_around_hovered(egui::Vec2::splat((scroll / 200.0).exp()));
            }
            if let Some(c) = pan_to {
                // Keep the zoom, centre on the point.
                let b = plot.plot_bounds();
                let half = [b.width() / 2.0, b.height() / 2.0];
                plot.set_plot_bounds_x(c[0] - half[0]..=c[0] + half[0]);
                plot.set_plot_bounds_y(c[1] - half[1]..=c[1] + half[1]);
            }
            if let Some(v) = view_to {
                plot.set_plot_bounds_x(v[0]..=v[2]);
                plot.set_plot_bounds_y(v[1]..=v[3]);
            }
            if let Some((id, b)) = manifold {
                let centre = PlotPoint::new((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
                let size = egui::vec2((b[2] - b[0]) as f32, (b[3] - b[1]) as f32);
                plot.image(
                    PlotImage::new("", id, centre, size).tint(Color32::from_white_alpha(170)),
                );
            }
            for ring in &overlays.prior_rings {
                plot.line(
                    Line::new("", PlotPoints::from(ring.clone()))
                        .color(Color32::from_rgba_unmultiplied(255, 255, 255, 90))
                        .style(egui_plot::LineStyle::dashed_loose()),
                );
            }
            for e in &legend.entries {
                // `add`, not `points`: `points` drops a series without points, and these
                // exist only for their legend entries.
                plot.add(
                    Points::new(e.name.clone(), PlotPoints::default())
                        .id(e.key)
                        .radius(radius)
                        .color(e.colour),
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
                    content,
                };
                if show_density {
                    let (texture, covers) = density.texture_for(&egui_ctx, key, |k| {
                        super::density::rasterize_density(
                            &map.coords,
                            |k| !legend.is_hidden(k),
                            k.view,
                            k.size,
                        )
                    });
                    plot.image(plot_image_covering(texture, covers));
                }
                let (texture, covers) = raster.texture_for(&egui_ctx, key, |drawn| {
                    // Score bands are drawn low to high so the anomalies sit on top.
                    let mut order: Option<Vec<u32>> = legend.bands().map(|b| {
                        (0..BAND_NAMES.len() as u8)
                            .flat_map(|band| {
                                (0..b.len() as u32).filter(move |&k| b[k as usize] == band)
                            })
                            .collect()
                    });
                    // A selection dims every other point and is drawn over them.
                    if let Some(m) = &mask {
                        let all = order.unwrap_or_else(|| (0..map.coords.len() as u32).collect());
                        let (inside, outside): (Vec<u32>, Vec<u32>) = all
                            .into_iter()
                            .partition(|&k| m.get(k as usize).copied().unwrap_or(false));
                        order = Some([outside, inside].concat());
                    }
                    rasterize_points(
                        &map.coords,
                        order.as_deref(),
                        |k| {
                            let c = legend.colour_of(k)?;
                            match &mask {
                                Some(m) if !m.get(k).copied().unwrap_or(false) => {
                                    Some(c.gamma_multiply(0.2))
                                }
                                _ => Some(c),
                            }
                        },
                        drawn.view,
                        drawn.size,
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
            if let Some(a) = above {
                let shown = if a.count > a.points.len() {
                    format!(", worst {} ringed", a.points.len())
                } else {
                    String::new()
                };
                plot.points(
                    Points::new(
                        format!("score > {:.1}: {}{shown}", a.threshold, a.count),
                        PlotPoints::from(a.points.to_vec()),
                    )
                    .shape(MarkerShape::Circle)
                    .filled(false)
                    .radius(radius + 3.0)
                    .color(Color32::from_rgb(255, 60, 60)),
                );
            }
            clusters.draw(plot);
            super::select::draw_groups(plot, rings, view, radius);
            if let Some(d) = &select_drag {
                super::select::draw_drag(plot, d);
            }
            draw_overlays(plot, overlays);
            (
                plot.pointer_coordinate(),
                plot.transform().dpos_dvalue(),
                view,
            )
        });
    let (pointer, dpos_dvalue, view) = response.inner;
    if settings.show_all_ellipses {
        panel.ellipses.update(map, settings);
        let clip = super::ellipses::clip(&response.transform);
        ui.painter_at(clip).add(super::ellipses::mesh(
            &panel.ellipses.ellipses,
            &response.transform,
        ));
    }
    panel.thumbnails.shown = 0;
    if settings.show_thumbnails
        && let Some(data) = &ws.data
    {
        panel.thumbnails.paint(
            ui,
            &response.transform,
            map,
            data,
            legend,
            settings.thumbnail_source,
            (ws.generation(), map.codes_version),
        );
    }
    Shown {
        response: response.response,
        transform: response.transform,
        view,
        pointer,
        scale: [dpos_dvalue[0].abs(), dpos_dvalue[1].abs()],
    }
}

fn draw_overlays(plot: &mut egui_plot::PlotUi, o: &Overlays) {
    for (k, e) in o.selection_ellipses.iter().enumerate() {
        let alpha = if k == 0 { 220 } else { 120 };
        plot.line(
            Line::new("", PlotPoints::from(e.clone()))
                .color(Color32::from_rgba_unmultiplied(255, 230, 0, alpha))
                .width(1.5),
        );
    }
    for (path, width) in [(&o.fill_path, 2.0), (&o.strip_path, 1.5)] {
        if path.len() >= 2 {
            plot.line(
                Line::new("", PlotPoints::from(path.clone()))
                    .color(Color32::WHITE)
                    .width(width),
            );
        }
    }
    for (k, a) in o.anchors.iter().enumerate() {
        plot.text(
            Text::new(
                "",
                PlotPoint::new(a[0], a[1]),
                RichText::new(crate::gui::panels::interpolation::anchor_letter(k))
                    .strong()
                    .size(16.0),
            )
            .color(Color32::WHITE),
        );
    }
    if let Some(s) = o.selection {
        plot.points(
            Points::new("", PlotPoints::from(vec![s]))
                .shape(MarkerShape::Circle)
                .filled(false)
                .radius(8.0)
                .color(Color32::YELLOW),
        );
    }
    if let Some(p) = o.probe {
        plot.points(
            Points::new("", PlotPoints::from(vec![p]))
                .shape(MarkerShape::Diamond)
                .radius(7.0)
                .color(Color32::WHITE),
        );
    }
}

/// The view that fits every point with a 5% margin, widened along one axis to the plot's
/// aspect ratio (known from the last frame) so that keeping the map's 1:1 scale cuts nothing off.
pub fn fitted_bounds(
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

/// A plot image filling the map rectangle `covers` (x0, y0, x1, y1).
fn plot_image_covering(texture: egui::TextureId, covers: [f64; 4]) -> PlotImage {
    let centre = PlotPoint::new((covers[0] + covers[2]) / 2.0, (covers[1] + covers[3]) / 2.0);
    let extent = egui::vec2(
        (covers[2] - covers[0]) as f32,
        (covers[3] - covers[1]) as f32,
    );
    PlotImage::new("", texture, centre, extent)
}
