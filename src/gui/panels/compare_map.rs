//! The second model's map beside the main one (the Rate-distortion tab's comparison): its
//! codes of the same samples, projected (PCA above two dimensions), drawn read-only and thinned
//! to a few thousand points. Linked by dataset index: the main map's selection is ringed here,
//! and a click here selects that sample in both.

use super::{Command, PanelCtx};
use crate::gui::sweep::{COMPARE_POINTS, CompareMap};
use egui::{Color32, Pos2, Ui};
use egui_plot::{Plot, PlotPoint, Points, Text};

/// The compared model's map: its codes of the same samples, a click selects a sample in both
/// maps, and the main map's selection is ringed here. `on_screen` gets where its points were
/// drawn: (dataset index, screen).
pub fn ui(
    on_screen: &mut Vec<(usize, Pos2)>,
    ui: &mut Ui,
    ctx: &PanelCtx,
    height: f32,
    commands: &mut Vec<Command>,
) {
    on_screen.clear();
    // The column's width, before a long file name can widen it past the panel's edge.
    let width = ui.available_width();
    let sweep = &ctx.ws.sweep;
    let data = ctx.ws.data.as_ref();
    if let Some(path) = &sweep.compare_pending {
        ui.horizontal(|ui| {
            ui.spinner();
            super::long_label(ui, format!("encoding the samples with {}…", path.display()));
        });
    }
    let (Some(map), Some(data)) = (&sweep.compare, data) else {
        if sweep.compare_pending.is_none() {
            ui.label("Right-click a point (or pick a model under the plot) to see its map here.");
        }
        return;
    };
    ui.horizontal(|ui| {
        ui.set_max_width(width);
        if ui.small_button("Close").clicked() {
            commands.push(Command::CloseCompare);
        }
        let name = map
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        ui.add(
            egui::Label::new(format!("{name}: latent {}, {}", map.latent, map.projection))
                .truncate(),
        );
    });
    let shown_points = thinned(map);
    let selected = ctx.ws.selection.and_then(|i| position_of(map, i));
    let shown = Plot::new("rd-compare-map")
        .width(width)
        .height(height)
        .data_aspect(1.0)
        .show_axes(false)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .show(ui, |plot| {
            let mut by_class: std::collections::BTreeMap<Option<u16>, Vec<[f64; 2]>> =
                Default::default();
            for &k in &shown_points {
                let c = map.coords[k];
                by_class
                    .entry(data.label(map.indices[k]))
                    .or_default()
                    .push([c[0] as f64, c[1] as f64]);
            }
            for (label, points) in by_class {
                let [r, g, b] = crate::gui::class_colour(label);
                let name = label
                    .and_then(|l| data.class_names().get(l as usize).cloned())
                    .unwrap_or_else(|| "samples".into());
                plot.points(
                    Points::new(name, points)
                        .color(Color32::from_rgb(r, g, b))
                        .radius(1.5),
                );
            }
            if let Some(k) = selected {
                let c = map.coords[k];
                let at = [c[0] as f64, c[1] as f64];
                plot.points(
                    Points::new("selected", vec![at])
                        .color(plot_ring_colour())
                        .filled(false)
                        .radius(8.0),
                );
                plot.text(
                    Text::new(
                        "selected",
                        PlotPoint::new(at[0], at[1]),
                        format!("sample {}", map.indices[k]),
                    )
                    .anchor(egui::Align2::LEFT_BOTTOM),
                );
            }
        });
    let t = shown.transform;
    *on_screen = shown_points
        .iter()
        .map(|&k| {
            let c = map.coords[k];
            (
                map.indices[k],
                t.position_from_point(&PlotPoint::new(c[0] as f64, c[1] as f64)),
            )
        })
        .collect();
    if shown.response.clicked()
        && let Some(pos) = shown.response.interact_pointer_pos()
        && let Some(k) = super::rate_distortion::nearest(on_screen, pos)
    {
        commands.push(Command::Select(on_screen[k].0));
    }
}

fn plot_ring_colour() -> Color32 {
    Color32::from_rgb(250, 200, 0)
}

/// The samples the comparison map draws: an even thinning to at most [`COMPARE_POINTS`].
fn thinned(map: &CompareMap) -> Vec<usize> {
    let n = map.coords.len();
    let step = n.div_ceil(COMPARE_POINTS).max(1);
    (0..n).step_by(step).collect()
}

/// The position of dataset index `i` among the comparison's codes.
fn position_of(map: &CompareMap, i: usize) -> Option<usize> {
    map.indices
        .binary_search(&i)
        .ok()
        .or_else(|| map.indices.iter().position(|&j| j == i))
}
