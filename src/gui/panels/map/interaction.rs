//! What the pointer does on the map: drag the probe, click a point (select it) or empty space
//! (move the probe there), hover a point (see the sample) or empty space (see what decodes
//! there). Only commands come out; the workspace is read, never changed.
//!
//! A click is acted on once the double-click time has passed without a second click: a
//! double-click fits the view and does nothing else (as in every map and scatter tool), so its
//! first click must not select.

use super::MapPanel;
use super::draw::Shown;
use super::legend::Legend;
use super::overlays::Overlays;
use crate::gui::command::Command;
use crate::gui::panels::PanelCtx;
use crate::gui::state::Settings;
use egui::Ui;
use egui_plot::PlotPoint;

/// Screen distance (points) within which a click or hover hits a sample.
const HIT_RADIUS: f64 = 6.0;

/// A click waiting to see whether it becomes a double-click.
#[derive(Clone, Debug)]
pub struct PendingClick {
    /// Input time of the click (seconds).
    pub at: f64,
    pub command: Command,
}

/// Acts on a click once the double-click time has passed without a second click.
pub fn resolve_pending_click(panel: &mut MapPanel, ui: &Ui, commands: &mut Vec<Command>) {
    let Some(p) = &panel.pending_click else {
        return;
    };
    let now = ui.input(|i| i.time);
    let delay = ui.ctx().options(|o| o.input_options.max_double_click_delay);
    if now - p.at >= delay {
        commands.push(p.command.clone());
        panel.pending_click = None;
    } else {
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_secs_f64(delay - (now - p.at)));
    }
}

/// A drag started with Shift held draws a box to zoom into (a right-button drag does too),
/// unless it selects (Shift then adds to the selection).
pub struct BoxZoom {
    pub active: bool,
}

impl BoxZoom {
    pub fn begin(ui: &Ui, selecting: bool) -> Self {
        let id = ui.scope_id().with("box-zoom");
        let mut active: bool = ui.data(|d| d.get_temp(id).unwrap_or(false));
        let (pressed, down, shift) = ui.input(|i| {
            (
                i.pointer.primary_pressed(),
                i.pointer.primary_down(),
                i.modifiers.shift,
            )
        });
        if pressed {
            active = shift && !selecting;
        }
        if !down {
            active = false;
        }
        ui.data_mut(|d| d.insert_temp(id, active));
        Self { active }
    }
}

/// A drag that starts on the probe moves the probe instead of panning the map.
pub struct ProbeDrag {
    id: egui::Id,
    pub active: bool,
}

impl ProbeDrag {
    pub fn begin(ui: &Ui) -> Self {
        let id = ui.scope_id().with("probe-drag");
        let mut active: bool = ui.data(|d| d.get_temp(id).unwrap_or(false));
        let last_probe_screen: Option<egui::Pos2> = ui.data(|d| d.get_temp(id.with("pos")));
        let (pressed, down, origin) = ui.input(|i| {
            (
                i.pointer.primary_pressed(),
                i.pointer.primary_down(),
                i.pointer.press_origin(),
            )
        });
        if pressed {
            active =
                matches!((origin, last_probe_screen), (Some(o), Some(p)) if o.distance(p) < 10.0);
        }
        if !down {
            active = false;
        }
        Self { id, active }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn after_plot(
    panel: &mut MapPanel,
    ui: &mut Ui,
    ctx: &PanelCtx,
    settings: &Settings,
    legend: &Legend,
    overlays: &Overlays,
    drag: ProbeDrag,
    shown: &Shown,
    commands: &mut Vec<Command>,
) {
    let map = &ctx.ws.map;
    let probe = &ctx.ws.probe;
    if let Some(p) = overlays.probe {
        let screen = shown
            .transform
            .position_from_point(&PlotPoint::new(p[0], p[1]));
        ui.data_mut(|d| d.insert_temp(drag.id.with("pos"), screen));
    }
    ui.data_mut(|d| d.insert_temp(drag.id, drag.active));
    let now = ui.input(|i| i.time);
    if shown.response.double_clicked() {
        // The plot fits the view; the click before it is forgotten.
        panel.pending_click = None;
    }
    let Some(pos) = shown.pointer else { return };
    if drag.active {
        commands.push(Command::SetProbe(map.unproject(
            [pos.x, pos.y],
            probe,
            settings,
        )));
        return;
    }
    // Points of hidden classes (or bands) cannot be hit.
    let hit = map.nearest_where([pos.x, pos.y], shown.scale, HIT_RADIUS, |k| {
        !legend.is_hidden(k)
    });
    if shown.response.clicked() && !shown.response.double_clicked() {
        let command = match hit {
            Some(i) => Command::Select(i),
            None => Command::SetProbe(map.unproject([pos.x, pos.y], probe, settings)),
        };
        panel.pending_click = Some(PendingClick { at: now, command });
    }
    if shown.response.hovered() {
        hover_preview(
            panel,
            ui,
            ctx,
            settings,
            &shown.response,
            hit,
            [pos.x, pos.y],
        );
    }
}

/// What is under the cursor: the sample when over a point, else the decoded position (one
/// sample: tens of microseconds, done here).
fn hover_preview(
    panel: &mut MapPanel,
    ui: &mut Ui,
    ctx: &PanelCtx,
    settings: &Settings,
    response: &egui::Response,
    hit: Option<usize>,
    pos: [f64; 2],
) {
    let (Some(model), Some(data)) = (&ctx.ws.model, &ctx.ws.data) else {
        return;
    };
    let (values, caption) = match hit {
        Some(i) if i < data.len() => (
            data.image(i),
            format!(
                "sample {i}{}",
                data.class_name(i)
                    .map(|c| format!(", class {c}"))
                    .unwrap_or_default()
            ),
        ),
        Some(_) => return,
        None => {
            let code = ctx.ws.map.unproject(pos, &ctx.ws.probe, settings);
            if code.len() != model.latent() {
                return;
            }
            match model.decode_as(&code, ctx.ws.condition().classes()) {
                Ok(v) => (v, format!("decoded at ({:.2}, {:.2})", pos[0], pos[1])),
                Err(_) => return,
            }
        }
    };
    panel.hover.set_single(values, data.shape, &[]);
    let egui_ctx = ui.ctx().clone();
    if let Some(tex) = panel.hover.texture(&egui_ctx, "hover") {
        let id = tex.id();
        let size = super::super::fit_size(tex, egui::vec2(96.0, 96.0));
        response.clone().on_hover_ui_at_pointer(|ui| {
            ui.add(egui::Image::from_texture((id, size)));
            ui.small(caption);
        });
    }
}
