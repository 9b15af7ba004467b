//! The training panel: settings, Start / Pause / Resume / Stop, progress, and live loss curves.

use crate::gui::app::{Command, ExplorerApp};
use crate::model::ACTIVE_KL_THRESHOLD;
use crate::train::BetaSchedule;
use egui::Ui;
use egui_plot::{Bar, BarChart, Legend, Line, Plot, PlotPoints, Points};

fn smooth(values: impl Iterator<Item = [f64; 2]>, alpha: f64, log: bool) -> Vec<[f64; 2]> {
    let mut state: Option<f64> = None;
    values
        .map(|[x, y]| {
            let s = match state {
                Some(prev) => alpha * prev + (1.0 - alpha) * y,
                None => y,
            };
            state = Some(s);
            [x, if log { s.max(1e-6).log10() } else { s }]
        })
        .collect()
}

pub fn training_ui(app: &mut ExplorerApp, ui: &mut Ui, commands: &mut Vec<Command>) {
    let training = app.is_training();
    egui::CollapsingHeader::new("Training")
        .default_open(true)
        .show(ui, |ui| {
            let t = &mut app.settings.train;
            ui.add_enabled_ui(!training, |ui| {
                egui::Grid::new("train-grid").num_columns(2).show(ui, |ui| {
                    super::grid_row(ui, "epochs", |ui| {
                        ui.add(egui::DragValue::new(&mut t.epochs).range(1..=1000))
                    });
                    super::grid_row(ui, "batch size", |ui| {
                        ui.add(egui::DragValue::new(&mut t.batch_size).range(1..=4096))
                    });
                    super::grid_row(ui, "learning rate", |ui| {
                        ui.add(
                            egui::DragValue::new(&mut t.learning_rate)
                                .range(1e-6..=1.0)
                                .speed(1e-4)
                                .max_decimals(5),
                        )
                    });
                    super::grid_row(ui, "beta", |ui| {
                        ui.add(
                            egui::DragValue::new(&mut t.beta)
                                .range(0.0..=100.0)
                                .speed(0.05),
                        )
                    });
                    super::grid_row(ui, "seed", |ui| ui.add(egui::DragValue::new(&mut t.seed)));
                    let label = ui.label("beta schedule");
                    beta_schedule_ui(ui, &mut t.beta_schedule, label.id);
                    ui.end_row();
                });
            });
            ui.horizontal(|ui| {
                if !training {
                    if ui.button("Start").clicked() {
                        commands.push(Command::StartTraining);
                    }
                } else {
                    if app.session.training.paused {
                        if ui.button("Resume").clicked() {
                            commands.push(Command::ResumeTraining);
                        }
                    } else if ui.button("Pause").clicked() {
                        commands.push(Command::PauseTraining);
                    }
                    if ui.button("Stop").clicked() {
                        commands.push(Command::StopTraining);
                    }
                }
            });
            progress_ui(app, ui);
            timeline_ui(app, ui, commands);
            loss_plot_ui(app, ui);
            kl_bars_ui(app, ui);
        });
}

fn progress_ui(app: &ExplorerApp, ui: &mut Ui) {
    let tv = &app.session.training;
    let (Some(info), Some(s)) = (&tv.info, &tv.last_step) else {
        return;
    };
    let total = (info.epochs * info.steps_per_epoch).max(1);
    let fraction = s.global_step as f32 / total as f32;
    let eta = tv
        .eta_secs()
        .map(|e| format!(", ETA {}:{:02}", (e / 60.0) as u64, (e % 60.0) as u64))
        .unwrap_or_default();
    let state = if tv.paused { " (paused)" } else { "" };
    ui.add(egui::ProgressBar::new(fraction).text(format!(
        "epoch {}/{} step {}/{}{state}",
        s.epoch, info.epochs, s.step, info.steps_per_epoch
    )));
    ui.label(format!(
        "loss {:.2} (recon {:.2}, KL {:.2}) · {:.0} samples/s{eta}",
        s.loss, s.recon, s.kl, s.samples_per_sec
    ));
}

fn loss_plot_ui(app: &mut ExplorerApp, ui: &mut Ui) {
    let tv = &app.session.training;
    if tv.steps.is_empty() {
        return;
    }
    ui.horizontal(|ui| {
        ui.checkbox(&mut app.settings.loss_log_scale, "log scale");
        ui.add(egui::Slider::new(&mut app.settings.loss_smoothing, 0.0..=0.99).text("smoothing"));
    });
    let log = app.settings.loss_log_scale;
    let alpha = app.settings.loss_smoothing as f64;
    let tv = &app.session.training;
    let series = |k: usize| smooth(tv.steps.iter().map(|p| [p[0], p[k]]), alpha, log);
    let held_out: Vec<[f64; 2]> = tv
        .epochs
        .iter()
        .filter_map(|(x, e)| {
            e.test_loss
                .map(|t| [*x as f64, if log { t.max(1e-6).log10() } else { t }])
        })
        .collect();
    Plot::new("loss-plot")
        .height(220.0)
        .legend(Legend::default().position(egui_plot::Corner::RightBottom))
        .x_axis_label("step")
        .y_axis_label(if log {
            "log10 loss / sample"
        } else {
            "loss / sample"
        })
        .allow_scroll(false)
        .show(ui, |plot| {
            plot.line(Line::new("total", PlotPoints::from(series(1))));
            plot.line(Line::new("reconstruction", PlotPoints::from(series(2))));
            plot.line(Line::new("KL", PlotPoints::from(series(3))));
            if !held_out.is_empty() {
                plot.points(
                    Points::new("held-out (epoch)", PlotPoints::from(held_out)).radius(4.0),
                );
            }
        });
}

fn beta_schedule_ui(ui: &mut Ui, schedule: &mut BetaSchedule, label: egui::Id) -> egui::Response {
    let name = match schedule {
        BetaSchedule::Constant => "constant",
        BetaSchedule::LinearWarmup { .. } => "linear warm-up",
        BetaSchedule::Cyclical { .. } => "cyclical",
    };
    ui.horizontal(|ui| {
        egui::ComboBox::from_id_salt("beta-schedule")
            .selected_text(name)
            .show_ui(ui, |ui| {
                ui.selectable_value(schedule, BetaSchedule::Constant, "constant");
                if ui
                    .selectable_label(
                        matches!(schedule, BetaSchedule::LinearWarmup { .. }),
                        "linear warm-up",
                    )
                    .clicked()
                {
                    *schedule = BetaSchedule::LinearWarmup { epochs: 2.0 };
                }
                if ui
                    .selectable_label(
                        matches!(schedule, BetaSchedule::Cyclical { .. }),
                        "cyclical",
                    )
                    .clicked()
                {
                    *schedule = BetaSchedule::Cyclical { epochs: 2.0 };
                }
            })
            .response
            .labelled_by(label);
        match schedule {
            BetaSchedule::LinearWarmup { epochs } | BetaSchedule::Cyclical { epochs } => {
                ui.add(
                    egui::DragValue::new(epochs)
                        .range(0.1..=100.0)
                        .speed(0.1)
                        .suffix(" epochs"),
                )
                .labelled_by(label)
                .on_hover_text("warm-up length, or the period of a cycle");
            }
            BetaSchedule::Constant => {}
        }
    })
    .response
}

/// KL per latent dimension over the map's samples, the number of active dimensions, and a
/// warning when the posterior collapses: the reconstruction/KL trade-off made visible.
fn kl_bars_ui(app: &ExplorerApp, ui: &mut Ui) {
    let Some(codes) = &app.session.map.codes else {
        return;
    };
    let kl = codes.kl_per_dim();
    let active = kl.iter().filter(|&&k| k > ACTIVE_KL_THRESHOLD).count();
    ui.separator();
    ui.label(format!(
        "KL per latent dimension: {active} of {} active (> {ACTIVE_KL_THRESHOLD} nats), total {:.2} nats",
        kl.len(),
        kl.iter().sum::<f32>()
    ));
    if active == 0 || (kl.len() >= 4 && active * 2 < kl.len()) {
        ui.colored_label(
            egui::Color32::from_rgb(240, 170, 60),
            "Posterior collapse: most dimensions carry no information. Lower beta or use a warm-up.",
        );
    }
    if let Some(s) = &app.session.training.last_step {
        ui.label(format!("beta now {:.3}", s.beta));
    }
    let bars: Vec<Bar> = kl
        .iter()
        .enumerate()
        .map(|(d, &k)| {
            let colour = if k > ACTIVE_KL_THRESHOLD {
                egui::Color32::from_rgb(90, 160, 230)
            } else {
                egui::Color32::from_gray(110)
            };
            Bar::new(d as f64, k as f64)
                .width(0.7)
                .fill(colour)
                .name(format!("z{d}"))
        })
        .collect();
    Plot::new("kl-bars")
        .height(110.0)
        .allow_scroll(false)
        .allow_drag(false)
        .allow_zoom(false)
        .x_axis_label("latent dimension")
        .y_axis_label("KL (nats)")
        .show(ui, |plot| {
            plot.bar_chart(BarChart::new("KL per dimension", bars))
        });
}

/// Replays how the map organised during the run: a scrubber over the snapshots taken while
/// training (about one a second, thinned to an even sample on long runs).
fn timeline_ui(app: &ExplorerApp, ui: &mut Ui, commands: &mut Vec<Command>) {
    let tl = &app.session.timeline;
    if tl.len() < 2 {
        return;
    }
    let mut k = app.session.timeline_shown.unwrap_or(tl.len() - 1);
    ui.horizontal(|ui| {
        let label = ui.label("map timeline");
        let f = &tl[k.min(tl.len() - 1)];
        let changed = ui
            .add(egui::Slider::new(&mut k, 0..=tl.len() - 1).show_value(false))
            .labelled_by(label.id)
            .changed();
        ui.label(format!("step {} (epoch {})", f.step, f.epoch));
        if changed {
            commands.push(Command::ShowTimeline(Some(k)));
        }
        if app.session.timeline_shown.is_some() && ui.button("Live").clicked() {
            commands.push(Command::ShowTimeline(None));
        }
    });
}
