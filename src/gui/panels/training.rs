//! The training panel: settings, Start / Pause / Resume / Stop, progress, and live loss curves.

use super::{Changed, Command, PanelCtx};
use crate::gui::state::Settings;
use crate::model::ACTIVE_KL_THRESHOLD;
use crate::train::{BetaSchedule, EpochStats, RunInfo, StepStats, TrainEvent};
use egui::{Color32, RichText, Ui};
use egui_plot::{Bar, BarChart, Line, Plot, PlotPoints, Points};
use std::time::{Duration, Instant};

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

/// Training progress as the window shows it. Runs on the same model add to it: the curves go
/// on where the last run stopped.
#[derive(Default)]
pub struct TrainingPanel {
    pub info: Option<RunInfo>,
    pub last_step: Option<StepStats>,
    /// (step since the model was opened, loss, recon, kl) per step.
    pub steps: Vec<[f64; 4]>,
    /// (step, stats) at the end of each epoch.
    pub epochs: Vec<(usize, EpochStats)>,
    /// Epochs finished by earlier runs on this model (the count goes on).
    pub epochs_before: usize,
    steps_before: usize,
    pub paused: bool,
    started_at: Option<Instant>,
    paused_at: Option<Instant>,
    paused_for: Duration,
}

impl TrainingPanel {
    /// Another model: its curves start empty.
    pub fn reset(&mut self, changed: Changed) {
        if changed.model || changed.data {
            *self = Self::default();
        }
    }

    pub fn on_event(&mut self, ev: &TrainEvent) {
        match ev {
            TrainEvent::Started(info) => {
                self.steps_before = self.steps.last().map(|p| p[0] as usize).unwrap_or(0);
                self.epochs_before += self.last_step.as_ref().map(|s| s.epoch).unwrap_or(0);
                self.info = Some(info.clone());
                self.last_step = None;
                self.started_at = Some(Instant::now());
                self.paused_for = Duration::ZERO;
                self.paused_at = None;
                self.paused = false;
            }
            TrainEvent::Step(s) => {
                let x = (self.steps_before + s.global_step) as f64;
                self.steps
                    .push([x, s.loss as f64, s.recon as f64, s.kl as f64]);
                self.last_step = Some(s.clone());
            }
            TrainEvent::Epoch(e) => {
                let x = self.steps.last().map(|p| p[0] as usize).unwrap_or(0);
                self.epochs.push((x, e.clone()));
            }
            TrainEvent::Paused => {
                self.paused = true;
                self.paused_at = Some(Instant::now());
            }
            TrainEvent::Resumed => {
                self.paused = false;
                if let Some(t) = self.paused_at.take() {
                    self.paused_for += t.elapsed();
                }
            }
            TrainEvent::Finished(_) | TrainEvent::Failed(_) => self.ended(),
        }
    }

    /// The run is over (finished, stopped or crashed).
    pub fn ended(&mut self) {
        self.paused = false;
        self.paused_at = None;
    }

    /// Seconds left, from the run's throughput so far; frozen while paused.
    pub fn eta_secs(&self) -> Option<f64> {
        let info = self.info.as_ref()?;
        let s = self.last_step.as_ref()?;
        let total = (info.epochs * info.steps_per_epoch) as f64;
        let done = s.global_step as f64;
        let now = self.paused_at.unwrap_or_else(Instant::now);
        let elapsed = now
            .checked_duration_since(self.started_at?)?
            .saturating_sub(self.paused_for)
            .as_secs_f64();
        (done > 0.0).then(|| elapsed / done * (total - done).max(0.0))
    }

    pub fn ui(
        &mut self,
        ui: &mut Ui,
        ctx: &PanelCtx,
        settings: &mut Settings,
        commands: &mut Vec<Command>,
    ) {
        let training = ctx.training;
        egui::CollapsingHeader::new("Training")
            .default_open(true)
            .show(ui, |ui| {
                let t = &mut settings.train;
                if training {
                    // The settings cannot change mid-run: one line instead of the form, so
                    // that the curves stay in view.
                    super::long_label(
                        ui,
                        format!(
                            "{} epochs · batch {} · lr {} · beta {}",
                            t.epochs, t.batch_size, t.learning_rate, t.beta
                        ),
                    );
                } else {
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
                }
                ui.horizontal(|ui| {
                    if !training {
                        if ui.button("Start").clicked() {
                            commands.push(Command::StartTraining);
                        }
                    } else {
                        if self.paused {
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
                self.progress_ui(ui);
                self.loss_plot_ui(ui, settings);
                timeline_ui(ui, ctx, commands);
                kl_bars_ui(ui, ctx, self);
            });
    }

    fn progress_ui(&self, ui: &mut Ui) {
        let (Some(info), Some(s)) = (&self.info, &self.last_step) else {
            return;
        };
        let total = (info.epochs * info.steps_per_epoch).max(1);
        let fraction = s.global_step as f32 / total as f32;
        let eta = self
            .eta_secs()
            .map(|e| format!(", ETA {}:{:02}", (e / 60.0) as u64, (e % 60.0) as u64))
            .unwrap_or_default();
        let state = if self.paused { " (paused)" } else { "" };
        let before = if self.epochs_before > 0 {
            format!(" (+{} before)", self.epochs_before)
        } else {
            String::new()
        };
        ui.add(egui::ProgressBar::new(fraction).text(format!(
            "epoch {}/{}{before} step {}/{}{state}",
            s.epoch, info.epochs, s.step, info.steps_per_epoch
        )));
        super::long_label(
            ui,
            format!(
                "loss {:.2} (recon {:.2}, KL {:.2}) · {:.0} samples/s{eta}",
                s.loss, s.recon, s.kl, s.samples_per_sec
            ),
        );
    }

    fn loss_plot_ui(&self, ui: &mut Ui, settings: &mut Settings) {
        if self.steps.is_empty() {
            return;
        }
        ui.horizontal(|ui| {
            ui.checkbox(&mut settings.loss_log_scale, "log scale");
            ui.add(egui::Slider::new(&mut settings.loss_smoothing, 0.0..=0.99).text("smoothing"));
        });
        let log = settings.loss_log_scale;
        let alpha = settings.loss_smoothing as f64;
        let series = |k: usize| smooth(self.steps.iter().map(|p| [p[0], p[k]]), alpha, log);
        let held_out: Vec<[f64; 2]> = self
            .epochs
            .iter()
            .filter_map(|(x, e)| {
                e.test_loss
                    .map(|t| [*x as f64, if log { t.max(1e-6).log10() } else { t }])
            })
            .collect();
        // The legend sits above the plot, never over the curves.
        ui.horizontal_wrapped(|ui| {
            for (name, colour) in [
                ("total", TOTAL),
                ("reconstruction", RECON),
                ("KL", KL),
                ("held-out (epoch)", HELD_OUT),
            ] {
                ui.label(RichText::new(format!("— {name}")).color(colour).small());
            }
        });
        Plot::new("loss-plot")
            .height(200.0)
            .x_axis_label("step")
            .y_axis_label(if log {
                "log10 loss / sample"
            } else {
                "loss / sample"
            })
            .allow_scroll(false)
            .show(ui, |plot| {
                plot.line(Line::new("total", PlotPoints::from(series(1))).color(TOTAL));
                plot.line(Line::new("reconstruction", PlotPoints::from(series(2))).color(RECON));
                plot.line(Line::new("KL", PlotPoints::from(series(3))).color(KL));
                if !held_out.is_empty() {
                    plot.points(
                        Points::new("held-out (epoch)", PlotPoints::from(held_out))
                            .radius(4.0)
                            .color(HELD_OUT),
                    );
                }
            });
    }
}

const TOTAL: Color32 = Color32::from_rgb(230, 230, 230);
const RECON: Color32 = Color32::from_rgb(90, 160, 230);
const KL: Color32 = Color32::from_rgb(240, 160, 60);
const HELD_OUT: Color32 = Color32::from_rgb(220, 90, 200);

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
fn kl_bars_ui(ui: &mut Ui, ctx: &PanelCtx, panel: &TrainingPanel) {
    if ctx.ws.map.codes.is_none() {
        return;
    }
    let trained =
        ctx.ws.model.as_ref().is_some_and(|m| m.history.epochs > 0) || !panel.steps.is_empty();
    let kl = &ctx.ws.map.kl_per_dim;
    let active = kl.iter().filter(|&&k| k > ACTIVE_KL_THRESHOLD).count();
    ui.separator();
    ui.label(format!(
        "KL per latent dimension: {active} of {} active (> {ACTIVE_KL_THRESHOLD} nats), total {:.2} nats",
        kl.len(),
        kl.iter().sum::<f32>()
    ));
    // An untrained model has no information in its codes yet: that is not a collapse.
    if trained && (active == 0 || (kl.len() >= 4 && active * 2 < kl.len())) {
        ui.colored_label(
            egui::Color32::from_rgb(240, 170, 60),
            "Posterior collapse: most dimensions carry no information. Lower beta or use a warm-up.",
        );
    }
    if let Some(s) = &panel.last_step {
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
fn timeline_ui(ui: &mut Ui, ctx: &PanelCtx, commands: &mut Vec<Command>) {
    let tl = &ctx.ws.timeline.frames;
    if tl.len() < 2 {
        return;
    }
    let mut k = ctx
        .ws
        .timeline
        .shown
        .unwrap_or(tl.len() - 1)
        .min(tl.len() - 1);
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
        if ctx.ws.timeline.shown.is_some() && ui.button("Live").clicked() {
            commands.push(Command::ShowTimeline(None));
        }
    });
}
