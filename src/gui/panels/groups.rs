//! The Groups tab: named groups of samples, made from the map's lasso or rectangle selection,
//! from a label or from the anomaly threshold. Each row shows the group's colour (click to
//! change it), its name (type to rename it), its size and a strip of its first members, and
//! what it can do: show or hide it on the map, select its members, decode its mean code (the
//! probe moves there), show the samples nearest its mean, export it, delete it. Its mean
//! reconstruction error and KL come from the anomaly scores, computed in the background once
//! the tab is open.
//!
//! What the tab derives (statistics, thumbnails, nearest samples) keys on the groups version
//! and the codes and scores versions, and is dropped with another dataset or model.

use super::{Changed, Command, PanelCtx};
use crate::gui::command::{GroupEdit, GroupSource};
use crate::gui::dialogs::ExportKind;
use crate::gui::textures::ImageView;
use crate::latent::{GroupStats, group_stats, nearest_rows};
use egui::Ui;

/// Members shown in a group's thumbnail strip, and samples listed nearest its mean code.
pub const STRIP_MEMBERS: usize = 8;
pub const NEAREST: usize = 8;

/// What the statistics were computed for: (groups version, codes version, scores version).
type StatsKey = (u64, u64, u64);

#[derive(Default)]
pub struct GroupsPanel {
    /// The label "from label" makes a group of.
    pub label: u16,
    /// Each group's statistics (None: no member has a code).
    stats: Option<(StatsKey, Vec<Option<GroupStats>>)>,
    /// Each group's thumbnail strip, with the members it shows.
    strips: Vec<(Vec<u32>, ImageView)>,
    /// The group whose nearest samples are shown: (group, key, dataset indices, strip).
    pub nearest: Option<(usize, StatsKey, Vec<usize>, ImageView)>,
    /// The group asked for nearest samples (found in the next frame).
    nearest_asked: Option<usize>,
}

impl GroupsPanel {
    pub fn reset(&mut self, changed: Changed) {
        if changed.data || changed.model {
            *self = Self {
                label: self.label,
                ..Self::default()
            };
        }
    }

    /// The statistics of group `k`, if computed.
    pub fn stats_of(&self, k: usize) -> Option<&GroupStats> {
        self.stats.as_ref()?.1.get(k)?.as_ref()
    }

    pub fn ui(
        &mut self,
        ui: &mut Ui,
        ctx: &PanelCtx,
        settings: &crate::gui::state::Settings,
        commands: &mut Vec<Command>,
    ) {
        let ws = ctx.ws;
        let Some(data) = &ws.data else {
            ui.label("Open a dataset first.");
            return;
        };
        make_ui(ui, ctx, settings, &mut self.label, commands);
        ui.separator();
        if ws.groups.is_empty() {
            ui.label(
                "No groups yet. Draw a lasso on the map (Lasso tool, or Ctrl + drag), then Make group; \
                 or make one from a label or the anomaly threshold above.",
            );
            return;
        }
        let key = (ws.groups_version, ws.map.codes_version, ws.scores.version);
        self.refresh_stats(ctx, key);
        self.refresh_nearest(ctx, key);
        self.strips.resize_with(ws.groups.len(), Default::default);
        for (k, g) in ws.groups.iter().enumerate() {
            ui.horizontal_wrapped(|ui| {
                let mut colour = g.colour;
                if egui::color_picker::color_edit_button_srgb(ui, &mut colour).changed() {
                    commands.push(Command::EditGroup(k, GroupEdit::Recolour(colour)));
                }
                let mut name = g.name.clone();
                let edit = ui.add(
                    egui::TextEdit::singleline(&mut name)
                        .desired_width(120.0)
                        .id_salt(("group-name", k)),
                );
                if edit.changed() {
                    commands.push(Command::EditGroup(k, GroupEdit::Rename(name)));
                }
                ui.label(format!("{} samples", g.len()));
                let (members, strip) = &mut self.strips[k];
                let first: Vec<u32> = g.indices.iter().take(STRIP_MEMBERS).copied().collect();
                if *members != first || strip.is_empty() {
                    let values = first.iter().flat_map(|&i| data.image(i as usize)).collect();
                    strip.set_strip(values, data.shape);
                    *members = first;
                }
                if let Some(tex) = strip.texture(ui.ctx(), "group-strip") {
                    let size = super::fit_size(tex, egui::vec2(200.0, 24.0));
                    ui.add(egui::Image::from_texture((tex.id(), size)))
                        .on_hover_text(format!("the first {} members", members.len()));
                }
                let mut visible = g.visible;
                if ui.checkbox(&mut visible, "on map").changed() {
                    commands.push(Command::EditGroup(k, GroupEdit::Show(visible)));
                }
                let actions = [
                    ("Select", GroupEdit::Select, "Its members become the map's selection"),
                    (
                        "Decode mean",
                        GroupEdit::DecodeMean,
                        "Move the probe to the members' mean code (the decoder shows it)",
                    ),
                    ("CSV", GroupEdit::Export(ExportKind::GroupCsv), "Indices, labels and codes as CSV, to the export folder"),
                    (".npy", GroupEdit::Export(ExportKind::GroupNumpy), "Codes as .npy, with .labels.npy and .indices.npy beside it, to the export folder"),
                    ("PNG grid", GroupEdit::Export(ExportKind::GroupPng), "The members' images as a grid (the first 1,024), to the export folder"),
                    ("Delete", GroupEdit::Delete, "Delete the group (the samples stay)"),
                ];
                for (label, edit, hover) in actions {
                    if ui.button(label).on_hover_text(hover).clicked() {
                        commands.push(Command::EditGroup(k, edit));
                    }
                }
                let showing = self.nearest.as_ref().is_some_and(|n| n.0 == k);
                if ui
                    .selectable_label(showing, "Nearest")
                    .on_hover_text("The samples nearest the members' mean code")
                    .clicked()
                {
                    if showing {
                        self.nearest = None;
                    } else {
                        self.nearest_asked = Some(k);
                    }
                }
            });
            let line = match self.stats_of(k) {
                Some(s) => match (s.mean_recon, s.mean_kl) {
                    (Some(r), Some(kl)) => {
                        format!("mean reconstruction error {r:.2}, mean KL {kl:.2}")
                    }
                    _ => "mean reconstruction error and KL: scoring the samples…".to_string(),
                },
                None if ws.map.codes.is_none() => "no codes yet".to_string(),
                None => "none of its samples is on the map".to_string(),
            };
            ui.small(line);
            if let Some((shown, _, indices, view)) = &mut self.nearest
                && *shown == k
            {
                nearest_ui(ui, ctx, indices, view, commands);
            }
            ui.separator();
        }
    }

    fn refresh_stats(&mut self, ctx: &PanelCtx, key: StatsKey) {
        if self.stats.as_ref().is_some_and(|(k, _)| *k == key) {
            return;
        }
        let ws = ctx.ws;
        let Some(codes) = &ws.map.codes else {
            self.stats = None;
            return;
        };
        let scores = ws.scores.scores.as_ref().filter(|s| s.len() == codes.len());
        let stats = ws
            .groups
            .iter()
            .map(|g| {
                let rows = g.rows(|i| ws.map.position_of(i));
                let scores = scores.map(|s| (s.recon.as_slice(), s.kl.as_slice()));
                group_stats(codes, &rows, scores, 0).ok()
            })
            .collect();
        self.stats = Some((key, stats));
    }

    /// The samples nearest the asked group's mean code (a scan of every code: once per ask
    /// and per groups and codes).
    fn refresh_nearest(&mut self, ctx: &PanelCtx, key: StatsKey) {
        let ws = ctx.ws;
        let k = match (self.nearest_asked.take(), &self.nearest) {
            (Some(k), _) => k,
            (None, Some((k, made_for, ..))) if *made_for != key => *k,
            _ => return,
        };
        self.nearest = None;
        let (Some(stats), Some(codes), Some(data)) = (self.stats_of(k), &ws.map.codes, &ws.data)
        else {
            return;
        };
        let indices: Vec<usize> = nearest_rows(codes, &stats.mean_code, NEAREST)
            .into_iter()
            .map(|r| ws.map.indices[r])
            .collect();
        let mut view = ImageView::default();
        view.set_strip(
            indices.iter().flat_map(|&i| data.image(i)).collect(),
            data.shape,
        );
        self.nearest = Some((k, key, indices, view));
    }
}

/// "Make a group from": the selection, a label, the samples above the anomaly threshold.
fn make_ui(
    ui: &mut Ui,
    ctx: &PanelCtx,
    settings: &crate::gui::state::Settings,
    label: &mut u16,
    commands: &mut Vec<Command>,
) {
    let ws = ctx.ws;
    ui.horizontal_wrapped(|ui| {
        ui.label("Make a group from:");
        let selected = ws.multi_selection.len();
        if ui
            .add_enabled(
                selected > 0,
                egui::Button::new(format!("the selection ({selected})")),
            )
            .on_disabled_hover_text("Draw a lasso or rectangle on the map first")
            .clicked()
        {
            commands.push(Command::MakeGroup(GroupSource::Selection));
        }
        ui.separator();
        let classes = ws
            .data
            .as_ref()
            .map(|d| d.class_names().to_vec())
            .unwrap_or_default();
        if !classes.is_empty() {
            *label = (*label).min(classes.len() as u16 - 1);
            egui::ComboBox::from_id_salt("group-label")
                .selected_text(format!("class {}", classes[*label as usize]))
                .show_ui(ui, |ui| {
                    for (k, c) in classes.iter().enumerate() {
                        ui.selectable_value(label, k as u16, format!("class {c}"));
                    }
                });
            if ui.button("Make from label").clicked() {
                commands.push(Command::MakeGroup(GroupSource::Label(*label)));
            }
            ui.separator();
        }
        let threshold = settings.anomaly_threshold;
        let text = match threshold {
            Some(t) => format!("{} > {t:.1}", settings.anomaly_score.label()),
            None => "the anomaly threshold".to_string(),
        };
        if ui
            .add_enabled(threshold.is_some(), egui::Button::new(text))
            .on_disabled_hover_text("Set a threshold in the Anomalies tab first")
            .clicked()
        {
            commands.push(Command::MakeGroup(GroupSource::AnomalyThreshold));
        }
    });
}

/// The samples nearest a group's mean code; click one to select it.
fn nearest_ui(
    ui: &mut Ui,
    ctx: &PanelCtx,
    indices: &[usize],
    view: &mut ImageView,
    commands: &mut Vec<Command>,
) {
    let egui_ctx = ui.ctx().clone();
    let Some(tex) = view.texture(&egui_ctx, "group-nearest") else {
        return;
    };
    let (id, tex_size) = (tex.id(), tex.size_vec2());
    let size = super::fit_size(tex, egui::vec2(ui.available_width().min(320.0), 40.0));
    ui.horizontal(|ui| {
        ui.small("nearest its mean code:");
        let response = ui.add(egui::Image::from_texture((id, size)).sense(egui::Sense::click()));
        let under = response
            .hover_pos()
            .and_then(|p| super::tile_under(view, &response, tex_size, size, p))
            .and_then(|k| indices.get(k).copied());
        super::picture::interact(
            &response,
            under.map(super::picture::Picture::Sample),
            ctx,
            commands,
        );
        let text = match under {
            Some(i) => format!("sample {i}: click to select it; right-click for more"),
            None => "Click one to select it".to_string(),
        };
        response.on_hover_text(text);
    });
}
