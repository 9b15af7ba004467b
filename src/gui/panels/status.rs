//! The top bar: title, open buttons, a spinner only while work is in flight, the frame figures,
//! and one fixed-height strip for messages (the newest, with a count of repeats and a menu of
//! the others), so that a message never pushes the window down. An unsaved model from an
//! earlier run is offered in a window of its own.

use super::{Command, PanelCtx};
use crate::gui::dialogs::DialogPurpose;
use crate::gui::notices::{Notice, NoticeKind};
use egui::{Color32, RichText, Ui};

#[derive(Default)]
pub struct StatusPanel {}

/// Height of the message strip: the same with or without a message.
pub const STRIP_HEIGHT: f32 = 22.0;

fn colour(kind: NoticeKind) -> Color32 {
    match kind {
        NoticeKind::Error => Color32::from_rgb(230, 90, 80),
        NoticeKind::Info => Color32::from_rgb(120, 180, 240),
    }
}

fn line(n: &Notice) -> String {
    let prefix = if n.kind == NoticeKind::Error {
        "Error: "
    } else {
        ""
    };
    let count = if n.count > 1 {
        format!(" (x{})", n.count)
    } else {
        String::new()
    };
    format!("{prefix}{}{count}", n.text)
}

impl StatusPanel {
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        ctx: &PanelCtx,
        show_frame_time: bool,
        help_open: &mut bool,
        cmds: &mut Vec<Command>,
    ) {
        ui.horizontal(|ui| {
            ui.heading("Latent Explorer");
            ui.separator();
            if ui.button("Open dataset…").clicked() {
                cmds.push(Command::Dialog(DialogPurpose::OpenDatasetFolder));
            }
            super::session::SessionPanel::menu_ui(ui, ctx, cmds);
            if ui
                .button("Reset layout")
                .on_hover_text("Panel sizes back to their defaults")
                .clicked()
            {
                cmds.push(Command::ResetLayout);
            }
            if ui
                .selectable_label(*help_open, "?")
                .on_hover_text("Shortcuts (press ?)")
                .clicked()
            {
                *help_open = !*help_open;
            }
            if ctx.busy || ctx.training {
                if ctx.busy {
                    ui.spinner();
                } else {
                    // A spinner repaints at the display's rate for as long as it shows: over a
                    // long run that is a core's worth of frames the trainer would rather have.
                    // The loss curve moving is the sign of life.
                    let (rect, _) =
                        ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
                    ui.painter()
                        .circle_filled(rect.center(), 4.0, Color32::from_rgb(80, 170, 90));
                }
                ui.label(if ctx.loading {
                    "loading…"
                } else if ctx.training {
                    "training…"
                } else {
                    "working…"
                });
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let device = crate::device::compute();
                let device_label = ui.label(
                    RichText::new(format!("on {}", device.description))
                        .small()
                        .color(Color32::GRAY),
                );
                if let Some(why) = &device.fallback_reason {
                    device_label.on_hover_text(why);
                }
                if show_frame_time {
                    let t = ctx.timings;
                    let startup = t
                        .startup_secs
                        .map(|s| format!(" · map ready {s:.2} s after start"))
                        .unwrap_or_default();
                    ui.add(
                        egui::Label::new(
                            RichText::new(format!(
                                "ui {:.1} ms · frame {:.1} ms · map raster {:.1} ms{startup}",
                                t.ui_ms, t.frame_ms, t.raster_ms
                            ))
                            .small()
                            .color(Color32::GRAY),
                        )
                        .truncate(),
                    );
                }
            });
        });
        self.strip_ui(ui, ctx, cmds);
        recovery_ui(ui, ctx, cmds);
    }

    fn strip_ui(&mut self, ui: &mut Ui, ctx: &PanelCtx, cmds: &mut Vec<Command>) {
        let notices = &ctx.ws.notices;
        let width = ui.available_width();
        ui.allocate_ui_with_layout(
            egui::vec2(width, STRIP_HEIGHT),
            egui::Layout::left_to_right(egui::Align::Center),
            |ui| {
                ui.set_min_size(egui::vec2(width, STRIP_HEIGHT));
                let Some((k, latest)) = notices.latest() else {
                    return;
                };
                if ui.small_button("Dismiss").clicked() {
                    cmds.push(Command::DismissNotice(k));
                }
                let others = notices.len() - 1;
                if others > 0 {
                    ui.menu_button(format!("+{others} more"), |ui| {
                        let all: Vec<_> = notices.iter().enumerate().collect();
                        for &(j, n) in all.iter().rev().skip(1) {
                            ui.horizontal(|ui| {
                                if ui.small_button("Dismiss").clicked() {
                                    cmds.push(Command::DismissNotice(j));
                                }
                                ui.label(RichText::new(line(n)).color(colour(n.kind)));
                            });
                        }
                    });
                }
                let text = line(latest);
                ui.add(
                    egui::Label::new(RichText::new(text.clone()).color(colour(latest.kind)))
                        .truncate(),
                )
                .on_hover_text(text);
            },
        );
    }
}

/// "Restore the unsaved model from <time>" or "Discard", over the window (it moves nothing).
fn recovery_ui(ui: &mut Ui, ctx: &PanelCtx, cmds: &mut Vec<Command>) {
    let Some(r) = ctx.recovered else { return };
    egui::Window::new("Unsaved model found")
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_TOP, egui::vec2(0.0, 80.0))
        .show(ui.ctx(), |ui| {
            ui.label(format!(
                "A model trained in an earlier session was not saved. Its last finished epoch was kept at {}.",
                r.when()
            ));
            if let Some(d) = &r.note.dataset {
                ui.small(format!("trained on {}", d.display()));
            }
            ui.horizontal(|ui| {
                if ui
                    .button(format!("Restore the unsaved model from {}", r.when()))
                    .clicked()
                {
                    cmds.push(Command::RestoreRecovered);
                }
                if ui.button("Discard").clicked() {
                    cmds.push(Command::DiscardRecovered);
                }
            });
        });
}
