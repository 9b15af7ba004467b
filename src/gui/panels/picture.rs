//! Every picture in the window is an object: a tile of a strip or a grid stands for a sample
//! or a code. A click moves the probe there (a sample is selected, which moves the probe to its
//! code and marks it on the map); a right-click offers the rest: select, add as an
//! interpolation anchor (a code offers its nearest sample for both), export the image.

use super::{Command, PanelCtx};

/// What a tile shows.
#[derive(Clone, Debug, PartialEq)]
pub enum Picture {
    /// Dataset sample `i`.
    Sample(usize),
    /// A decoded code.
    Code(Vec<f32>),
}

impl Picture {
    /// What a plain click does.
    pub fn click_command(&self) -> Command {
        match self {
            Picture::Sample(i) => Command::Select(*i),
            Picture::Code(c) => Command::SetProbe(c.clone()),
        }
    }
}

/// The picture a menu was opened on, and a code's nearest sample (found once, when opened).
#[derive(Clone)]
struct MenuTarget {
    picture: Picture,
    nearest: Option<usize>,
}

/// Acts on a click on `response` (a picture) whose tile under the pointer is `under`, and
/// gives it its right-click menu.
pub fn interact(
    response: &egui::Response,
    under: Option<Picture>,
    ctx: &PanelCtx,
    commands: &mut Vec<Command>,
) {
    if response.clicked()
        && let Some(p) = &under
    {
        commands.push(p.click_command());
    }
    let id = response.id.with("picture-menu");
    if response.secondary_clicked()
        && let Some(picture) = under
    {
        let nearest = match &picture {
            Picture::Sample(_) => None,
            Picture::Code(c) => ctx.ws.map.nearest_codes(c, 1).first().copied(),
        };
        response
            .ctx
            .data_mut(|d| d.insert_temp(id, MenuTarget { picture, nearest }));
    }
    let target: Option<MenuTarget> = response.ctx.data(|d| d.get_temp(id));
    let Some(target) = target else { return };
    response.context_menu(|ui| menu_ui(ui, &target, commands));
}

fn menu_ui(ui: &mut egui::Ui, target: &MenuTarget, commands: &mut Vec<Command>) {
    let mut chosen = None;
    match &target.picture {
        Picture::Sample(i) => {
            ui.label(format!("sample {i}"));
            if ui.button("Select it (and show it on the map)").clicked() {
                chosen = Some(Command::Select(*i));
            }
            if ui.button("Add as interpolation anchor").clicked() {
                chosen = Some(Command::AddAnchor(*i));
            }
        }
        Picture::Code(code) => {
            ui.label("a decoded code");
            if ui.button("Move the probe here").clicked() {
                chosen = Some(Command::SetProbe(code.clone()));
            }
            if let Some(j) = target.nearest {
                if ui
                    .button(format!("Select the nearest sample ({j})"))
                    .clicked()
                {
                    chosen = Some(Command::Select(j));
                }
                if ui
                    .button(format!(
                        "Add the nearest sample ({j}) as interpolation anchor"
                    ))
                    .clicked()
                {
                    chosen = Some(Command::AddAnchor(j));
                }
            }
        }
    }
    if ui.button("Export image (to the export folder)").clicked() {
        chosen = Some(Command::ExportPicture(target.picture.clone()));
    }
    if let Some(c) = chosen {
        commands.push(c);
        ui.close();
    }
}
