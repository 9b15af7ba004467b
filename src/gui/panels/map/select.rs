//! Selecting many points on the map: a lasso or a rectangle drawn with the primary button
//! (the Lasso or Rectangle tool, or Ctrl + drag for a lasso with any tool), Shift to add to the
//! selection and Alt to take away from it. The selection is drawn by dimming every other
//! point; visible groups are ringed in their colours. Only commands come out: the app combines
//! the selection and makes groups.

use super::MapPanel;
use super::legend::Legend;
use crate::gui::command::{Command, GroupSource};
use crate::gui::panels::PanelCtx;
use crate::latent::{SelectMode, select_in_polygon, select_in_rect};
use egui::{Color32, Ui};
use egui_plot::{Line, MarkerShape, PlotPoints, PlotUi, Points};
use std::sync::Arc;

/// Screen distance (points) the pointer moves before the lasso takes another vertex.
const LASSO_STEP_PX: f32 = 3.0;
/// At most this many of a group's members in view are ringed (evenly spread among them).
pub const MAX_GROUP_RINGS: usize = 3000;

/// What a primary-button drag on the map does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MapTool {
    #[default]
    Pan,
    Lasso,
    Rectangle,
}

impl MapTool {
    pub const ALL: [MapTool; 3] = [MapTool::Pan, MapTool::Lasso, MapTool::Rectangle];

    pub fn label(self) -> &'static str {
        match self {
            MapTool::Pan => "Pan",
            MapTool::Lasso => "Lasso",
            MapTool::Rectangle => "Rectangle",
        }
    }
}

/// A lasso or rectangle being drawn, in map coordinates.
#[derive(Clone, Debug, PartialEq)]
pub struct SelectDrag {
    pub lasso: bool,
    pub mode: SelectMode,
    /// The lasso's vertices (a rectangle: its first and latest corner).
    pub points: Vec<[f64; 2]>,
    /// The latest vertex on screen (the lasso takes a new one only when the pointer has moved).
    last_screen: egui::Pos2,
    /// The pointer has left the press point: a drag, not a click.
    moved: bool,
}

/// What the selection's mask and the groups' rings were found for: (groups version, map
/// positions version).
pub type DrawnFor = (u64, u64);

/// The members of the visible groups on the map: (name, colour, map positions).
pub type GroupRings = Vec<(String, Color32, Vec<[f64; 2]>)>;

/// The tool, the selection's size and what can be made of it, in the map's title row (which
/// never wraps: nothing here may move the map).
pub fn toolbar_ui(ui: &mut Ui, current: &mut MapTool, ctx: &PanelCtx, commands: &mut Vec<Command>) {
    let selected = ctx.ws.multi_selection.len();
    ui.separator();
    for tool in MapTool::ALL {
        ui.selectable_value(current, tool, tool.label())
            .on_hover_text(match tool {
                MapTool::Pan => "Drag pans the map (Ctrl + drag draws a lasso)",
                MapTool::Lasso => "Drag draws a lasso; Shift adds, Alt takes away",
                MapTool::Rectangle => "Drag draws a rectangle; Shift adds, Alt takes away",
            });
    }
    ui.separator();
    if selected > 0 {
        ui.label(format!("{selected} selected"));
        if ui
            .button("Make group")
            .on_hover_text("A named group of the selected samples (Groups tab)")
            .clicked()
        {
            commands.push(Command::MakeGroup(GroupSource::Selection));
        }
        if ui
            .button("Clear selection")
            .on_hover_text("Clear the selection")
            .clicked()
        {
            commands.push(Command::ClearMultiSelection);
        }
        ui.separator();
    }
}

/// Starts, grows or keeps a selection drag before the plot is drawn; true while one is going
/// (the plot must not pan then). A drag starts on a press inside the map with the Lasso or
/// Rectangle tool, or with Ctrl (Command on a Mac) held.
pub fn begin(panel: &mut MapPanel, ui: &Ui) -> bool {
    let (pressed, down, origin, pos, mods) = ui.input(|i| {
        (
            i.pointer.primary_pressed(),
            i.pointer.primary_down(),
            i.pointer.press_origin(),
            i.pointer.latest_pos(),
            i.modifiers,
        )
    });
    let Some(screen) = panel.screen else {
        panel.select_drag = None;
        return false;
    };
    let to_map = |p: egui::Pos2| {
        let v = screen.value_from_position(p);
        [v.x, v.y]
    };
    if pressed {
        panel.select_drag = None;
        let lasso = mods.command || mods.ctrl || panel.tool == MapTool::Lasso;
        let wanted = lasso || panel.tool == MapTool::Rectangle;
        if let Some(o) = origin.filter(|o| wanted && screen.frame().contains(*o)) {
            let mode = if mods.alt {
                SelectMode::Subtract
            } else if mods.shift {
                SelectMode::Add
            } else {
                SelectMode::Replace
            };
            panel.select_drag = Some(SelectDrag {
                lasso,
                mode,
                points: vec![to_map(o)],
                last_screen: o,
                moved: false,
            });
        }
    }
    let Some(drag) = &mut panel.select_drag else {
        return false;
    };
    if down && let Some(p) = pos {
        let start = screen.position_from_point(&egui_plot::PlotPoint::new(
            drag.points[0][0],
            drag.points[0][1],
        ));
        drag.moved |= p.distance(start) >= LASSO_STEP_PX;
        if drag.lasso {
            if p.distance(drag.last_screen) >= LASSO_STEP_PX {
                drag.points.push(to_map(p));
                drag.last_screen = p;
            }
        } else {
            drag.points.truncate(1);
            drag.points.push(to_map(p));
            drag.last_screen = p;
        }
    }
    true
}

/// Once the button is up: the samples inside the shape (points of hidden classes are left
/// out, as they cannot be clicked either) go to the app. A press without a drag selects
/// nothing (a click does what clicks do).
pub fn finish(
    panel: &mut MapPanel,
    ui: &Ui,
    ctx: &PanelCtx,
    legend: &Legend,
    commands: &mut Vec<Command>,
) {
    if ui.input(|i| i.pointer.primary_down()) {
        return;
    }
    let Some(drag) = panel.select_drag.take().filter(|d| d.moved) else {
        return;
    };
    let map = &ctx.ws.map;
    let rows = if drag.lasso {
        if drag.points.len() < 3 {
            return;
        }
        select_in_polygon(&map.coords, &drag.points)
    } else {
        if drag.points.len() < 2 {
            return;
        }
        select_in_rect(&map.coords, drag.points[0], drag.points[1])
    };
    let indices = rows
        .into_iter()
        .filter(|&k| !legend.is_hidden(k as usize))
        .filter_map(|k| map.indices.get(k as usize).map(|&i| i as u32))
        .collect();
    commands.push(Command::SelectMany {
        indices,
        mode: drag.mode,
    });
}

/// Each map row's membership of the multi-selection (None without one), found once per
/// selection and positions.
pub fn selection_mask(panel: &mut MapPanel, ctx: &PanelCtx) -> Option<Arc<Vec<bool>>> {
    let ws = ctx.ws;
    if ws.multi_selection.is_empty() {
        return None;
    }
    let key = (ws.groups_version, ws.map.version);
    if let Some((k, m)) = &panel.selection_mask
        && *k == key
    {
        return Some(m.clone());
    }
    let mut mask = vec![false; ws.map.indices.len()];
    for &i in &ws.multi_selection {
        if let Some(k) = ws.map.position_of(i as usize) {
            mask[k] = true;
        }
    }
    let mask = Arc::new(mask);
    panel.selection_mask = Some((key, mask.clone()));
    Some(mask)
}

/// The visible groups' members' map positions, found once per groups and positions.
pub fn group_rings(panel: &mut MapPanel, ctx: &PanelCtx) -> Arc<GroupRings> {
    let ws = ctx.ws;
    let key = (ws.groups_version, ws.map.version);
    if let Some((k, r)) = &panel.group_rings
        && *k == key
    {
        return r.clone();
    }
    let rings: GroupRings = ws
        .groups
        .iter()
        .filter(|g| g.visible)
        .map(|g| {
            let [r, gr, b] = g.colour;
            let points = g
                .indices
                .iter()
                .filter_map(|&i| ws.map.coord_of(i as usize))
                .collect();
            (g.name.clone(), Color32::from_rgb(r, gr, b), points)
        })
        .collect();
    let rings = Arc::new(rings);
    panel.group_rings = Some((key, rings.clone()));
    rings
}

/// Rings around the visible groups' members in view (at most [`MAX_GROUP_RINGS`] each), named
/// in the legend with their counts.
pub fn draw_groups(plot: &mut PlotUi, rings: &GroupRings, view: [f64; 4], radius: f32) {
    for (name, colour, points) in rings {
        let in_view: Vec<[f64; 2]> = points
            .iter()
            .filter(|p| p[0] >= view[0] && p[0] <= view[2] && p[1] >= view[1] && p[1] <= view[3])
            .copied()
            .collect();
        let step = in_view.len().div_ceil(MAX_GROUP_RINGS).max(1);
        let shown: Vec<[f64; 2]> = in_view.iter().step_by(step).copied().collect();
        plot.points(
            Points::new(
                format!("{name} ({})", points.len()),
                PlotPoints::from(shown),
            )
            .shape(MarkerShape::Circle)
            .filled(false)
            .radius(radius + 2.5)
            .color(*colour),
        );
    }
}

/// The lasso or rectangle being drawn.
pub fn draw_drag(plot: &mut PlotUi, drag: &SelectDrag) {
    let points: Vec<[f64; 2]> = if drag.lasso {
        let mut p = drag.points.clone();
        p.extend(drag.points.first().copied());
        p
    } else if let [a, b] = drag.points[..] {
        vec![a, [b[0], a[1]], b, [a[0], b[1]], a]
    } else {
        return;
    };
    if points.len() < 2 {
        return;
    }
    let colour = match drag.mode {
        SelectMode::Subtract => Color32::from_rgb(255, 110, 110),
        _ => Color32::WHITE,
    };
    plot.line(
        Line::new("", PlotPoints::from(points))
            .color(colour)
            .width(1.5)
            .style(egui_plot::LineStyle::dashed_dense()),
    );
}
