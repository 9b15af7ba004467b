//! Where the panels go. Side panels have a width range (no drag can squeeze the map away), the
//! bottom panel a height range, and "Reset layout" gives them new ids so their remembered sizes
//! are forgotten. While a run trains, the Training section comes first on the left so that its
//! curves are in view without scrolling.

use super::ExplorerApp;
use crate::gui::command::Command;
use crate::gui::dialogs::ExportKind;
use crate::gui::panels::PanelCtx;
use crate::gui::panels::map::MapInputs;
use crate::gui::state::BottomTab;

/// Side panels' width range (points).
const SIDE_WIDTH: (f32, f32) = (240.0, 420.0);
const SIDE_DEFAULT: f32 = 300.0;
/// The bottom panel: default height, and at most this fraction of the window.
const BOTTOM_DEFAULT: f32 = 250.0;
const BOTTOM_MIN: f32 = 150.0;
const BOTTOM_MAX_FRACTION: f32 = 0.45;

impl ExplorerApp {
    /// Lays out every panel and returns what they asked for.
    pub(super) fn layout(&mut self, ui: &mut egui::Ui) -> Vec<Command> {
        let mut commands = Vec::new();
        let epoch = self.layout_epoch;
        let height = ui.ctx().content_rect().height();
        // The panels read the workspace through `ctx` and change only their own state and
        // their own settings.
        let (training, busy, loading, encoding, timings) = self.flags();
        let ctx = PanelCtx {
            ws: &self.ws,
            training,
            busy,
            loading,
            encoding,
            dialogs_unavailable: self.dialogs_unavailable,
            recovered: self.recovered.as_ref(),
            timings,
            dataset_loading: self.dataset_loads.current().map(|(path, progress)| {
                crate::gui::panels::DatasetLoading {
                    path,
                    progress,
                    cancelling: self.dataset_loads.cancelling(),
                }
            }),
        };
        let panels = &mut self.panels;
        let settings = &mut self.settings;
        panels.help.handle_keys(ui.ctx());
        panels.session.handle_keys(ui.ctx(), &mut commands);
        let mut map_plot_id = None;
        egui::Panel::top(("top-bar", epoch)).show(ui, |ui| {
            panels.status.ui(
                ui,
                &ctx,
                settings.show_frame_time,
                &mut panels.help.open,
                &mut commands,
            )
        });
        egui::Panel::left(("left-panel", epoch))
            .resizable(true)
            .default_size(SIDE_DEFAULT)
            .size_range(SIDE_WIDTH.0..=SIDE_WIDTH.1)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    if ctx.training || !panels.training.steps.is_empty() {
                        panels.training.ui(ui, &ctx, settings, &mut commands);
                        panels.dataset.ui(ui, &ctx, settings, &mut commands);
                        panels.model.ui(ui, &ctx, settings, &mut commands);
                    } else {
                        panels.dataset.ui(ui, &ctx, settings, &mut commands);
                        panels.model.ui(ui, &ctx, settings, &mut commands);
                        panels.training.ui(ui, &ctx, settings, &mut commands);
                    }
                    panels.session.ui(ui, &ctx, &mut commands);
                });
            });
        egui::Panel::right(("right-panel", epoch))
            .resizable(true)
            .default_size(SIDE_DEFAULT)
            .size_range(SIDE_WIDTH.0..=SIDE_WIDTH.1)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    panels.decoder.ui(ui, &ctx, settings, &mut commands);
                });
            });
        egui::Panel::bottom(("bottom-panel", epoch))
            .resizable(true)
            .default_size(BOTTOM_DEFAULT)
            .size_range(BOTTOM_MIN..=(height * BOTTOM_MAX_FRACTION).max(BOTTOM_MIN + 1.0))
            .show(ui, |ui| {
                // Nine tabs are wider than the middle column of a 1280-pixel window: they wrap
                // to a second row there rather than hide the last ones.
                ui.horizontal_wrapped(|ui| {
                    let tab = &mut settings.bottom_tab;
                    ui.selectable_value(tab, BottomTab::Interpolation, "Interpolation");
                    ui.selectable_value(tab, BottomTab::Generate, "Generate");
                    ui.selectable_value(tab, BottomTab::Anomalies, "Anomalies");
                    ui.selectable_value(tab, BottomTab::MissingData, "Missing data");
                    ui.selectable_value(tab, BottomTab::Export, "Export");
                    ui.selectable_value(tab, BottomTab::Traversal, "Traversal");
                    ui.selectable_value(tab, BottomTab::Analogy, "Analogy");
                    ui.selectable_value(tab, BottomTab::RateDistortion, "Rate-distortion");
                    ui.selectable_value(tab, BottomTab::Groups, "Groups");
                });
                ui.separator();
                // The tab's content scrolls inside the panel: a taller tab (anomalies, a
                // strip) never grows the panel and moves what is above it.
                let ready = |kind: ExportKind| match kind {
                    ExportKind::Preview => !panels.decoder.preview.is_empty(),
                    ExportKind::Strip => !panels.interpolation.strip.is_empty(),
                    ExportKind::Grid => !panels.generate.grid.is_empty(),
                    ExportKind::Map | ExportKind::Codes | ExportKind::CodesNumpy => {
                        ctx.ws.map.codes.is_some()
                    }
                    ExportKind::Traversal | ExportKind::TraversalGif => {
                        panels.traversal.grid.is_some()
                    }
                    ExportKind::Analogy => panels.analogy.result.is_some(),
                    // Exported from a picture's own menu, or from the Groups tab.
                    ExportKind::Picture
                    | ExportKind::GroupCsv
                    | ExportKind::GroupNumpy
                    | ExportKind::GroupPng => false,
                };
                let ready_now: Vec<(ExportKind, bool)> =
                    ExportKind::ALL.into_iter().map(|k| (k, ready(k))).collect();
                egui::ScrollArea::vertical()
                    .id_salt(("bottom-tab", settings.bottom_tab))
                    .auto_shrink([false, false])
                    .show(ui, |ui| match settings.bottom_tab {
                        BottomTab::Interpolation => {
                            panels.interpolation.ui(ui, &ctx, settings, &mut commands)
                        }
                        BottomTab::Generate => {
                            panels.generate.ui(ui, &ctx, settings, &mut commands)
                        }
                        BottomTab::Anomalies => {
                            panels.anomalies.ui(ui, &ctx, settings, &mut commands)
                        }
                        BottomTab::MissingData => {
                            panels.missing.ui(ui, &ctx, settings, &mut commands)
                        }
                        BottomTab::Export => {
                            let ready =
                                |kind: ExportKind| ready_now.iter().any(|&(k, r)| k == kind && r);
                            panels.export.ui(ui, &ctx, settings, &ready, &mut commands)
                        }
                        BottomTab::Traversal => {
                            panels.traversal.ui(ui, &ctx, settings, &mut commands)
                        }
                        BottomTab::Analogy => panels.analogy.ui(ui, &ctx, &mut commands),
                        BottomTab::RateDistortion => {
                            panels.rate_distortion.ui(ui, &ctx, settings, &mut commands)
                        }
                        BottomTab::Groups => panels.groups.ui(ui, &ctx, settings, &mut commands),
                    });
            });
        egui::CentralPanel::default_margins().show(ui, |ui| {
            let fill_path: &[Vec<f32>] = if settings.bottom_tab == BottomTab::MissingData {
                &panels.missing.filled.path
            } else {
                &[]
            };
            let inputs = MapInputs {
                anchors: &panels.interpolation.anchors,
                strip: &panels.interpolation.frames,
                fill_path,
            };
            // The id the map panel gives its plot (`make_persistent_id("latent-map")` on
            // this same ui): the figure export reads the hidden legend entries from it.
            map_plot_id = Some(ui.make_persistent_id("latent-map"));
            panels.map.ui(ui, &ctx, settings, &inputs, &mut commands);
        });
        panels.help.ui(ui.ctx());
        panels
            .replace_prompt
            .ui(ui.ctx(), ctx.dialogs_unavailable, &mut commands);
        self.map_plot_id = map_plot_id;
        commands
    }

    /// "Reset layout": panels back to their default sizes.
    pub(super) fn reset_layout(&mut self) {
        self.layout_epoch += 1;
    }
}
