//! The t-SNE / UMAP part of the projection menu: the method's parameters (applied with a
//! button, since each change starts a new run), the run's progress with Cancel, and a note on
//! how positions on such a map decode.

use super::{Command, PanelCtx};
use crate::gui::map_layouts::LayoutKey;
use crate::gui::state::Settings;
use crate::latent::layout::{
    LOOKUP_NEIGHBOURS, LayoutMethod, LayoutParams, MIN_DIST_RANGE, NEIGHBOURS_RANGE,
    PERPLEXITY_RANGE,
};
use egui::Ui;

pub fn ui(
    ui: &mut Ui,
    ctx: &PanelCtx,
    s: &mut Settings,
    method: LayoutMethod,
    pending: &mut Option<LayoutParams>,
    commands: &mut Vec<Command>,
) {
    let edit = pending.get_or_insert(s.layout);
    match method {
        LayoutMethod::Tsne => {
            ui.add(
                egui::DragValue::new(&mut edit.perplexity)
                    .range(PERPLEXITY_RANGE)
                    .speed(0.5)
                    .prefix("perplexity "),
            )
            .on_hover_text("About how many neighbours each point keeps close (5 to 100)");
        }
        LayoutMethod::Umap => {
            ui.add(
                egui::DragValue::new(&mut edit.neighbours)
                    .range(NEIGHBOURS_RANGE)
                    .prefix("neighbours "),
            )
            .on_hover_text(
                "Neighbours per point in UMAP's graph: more gives a more global picture",
            );
            ui.add(
                egui::DragValue::new(&mut edit.min_dist)
                    .range(MIN_DIST_RANGE)
                    .speed(0.01)
                    .max_decimals(2)
                    .prefix("min distance "),
            )
            .on_hover_text("How tightly points may pack (0 to 1)");
        }
    }
    let changed = LayoutKey::new(method, edit) != LayoutKey::new(method, &s.layout);
    if changed && ui.button("Apply").clicked() {
        s.layout = *edit;
    }
    let key = LayoutKey::new(method, &s.layout);
    let map = &ctx.ws.map;
    match &map.layout_status {
        Some(status) if status.key == key => {
            ui.add(
                egui::ProgressBar::new(status.fraction)
                    .desired_width(140.0)
                    .show_percentage(),
            )
            .on_hover_text(&status.text);
            super::super::long_label(
                ui,
                format!(
                    "{} ({:.0} s)",
                    status.text,
                    status.started.elapsed().as_secs_f64()
                ),
            );
            if ui.button("Cancel").clicked() {
                commands.push(Command::CancelLayout);
            }
        }
        _ if map.shown_layout().is_none() => {
            ui.label("starting…");
        }
        _ => {}
    }
    // A finished map of the codes before the latest weights: drawn until its redo is ready.
    if map.layouts.contains_key(&key) && !map.has_current_layout(key) {
        let when = if map.layout_status.as_ref().is_some_and(|st| st.key == key) {
            "the new one is being laid out"
        } else if ctx.training || ctx.encoding {
            "redone once when training ends"
        } else {
            "being redone"
        };
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!("layout of the previous weights: {when}"),
        )
        .on_hover_text(format!(
            "The {} positions were computed before the model's weights last changed. They are \
             not recomputed at every step of training; once it ends, the map is laid out again \
             from these positions.",
            method.name()
        ));
    }
    ui.label("(?)").on_hover_text(format!(
        "{} places every code by its neighbours and has no formula for the space between \
         points. The probe, the hover preview and the decoded background take the code at a \
         position from the {LOOKUP_NEIGHBOURS} nearest points on the map: their codes \
         averaged, weighted by 1 / distance². On a point that is its own code. Uncertainty \
         ellipses are not drawn on this map.",
        method.name()
    ));
    super::super::long_label(
        ui,
        format!("positions decode from the {LOOKUP_NEIGHBOURS} nearest points"),
    );
}
