//! Rate-distortion: train a sweep of models that differ in beta (or latent size) from the
//! window, and place each by its held-out rate (KL) and distortion (reconstruction), with the
//! lines of constant ELBO (R + D = c) behind them (Alemi et al., 2018). Clicking a point opens
//! that model; right-clicking it (or picking it below) shows its map beside this one, linked:
//! a sample selected in either is selected in both.

use super::{Command, PanelCtx};
use crate::gui::state::Settings;
use crate::gui::sweep::{SweepRequest, default_folder};
use crate::train::{SweepResult, sweep_points};
use egui::{Color32, Pos2, Ui};
use egui_plot::{Line, LineStyle, Plot, PlotPoint, Points, Text};
use std::path::Path;

/// How near (points) a click must be to a model's point to pick it.
const PICK_RADIUS: f32 = 14.0;
/// Width of the controls' column (points).
const CONTROLS_WIDTH: f32 = 330.0;

/// Which setting the models differ in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Vary {
    #[default]
    Beta,
    Latent,
}

pub struct RateDistortionPanel {
    pub vary: Vary,
    /// The values of the varied setting, separated by commas.
    pub values: String,
    /// The other setting's value (empty: the loaded model's).
    pub fixed: String,
    pub epochs: usize,
    /// Training samples per model (0: all).
    pub samples: usize,
    pub folder: String,
    pub open_folder: String,
    /// Why the last Start was refused (shown under the controls).
    pub problem: Option<String>,
    /// Where each model's point was drawn in the last frame: (position in the results, screen).
    pub points_on_screen: Vec<(usize, Pos2)>,
    /// Where the comparison map's points were drawn: (dataset index, screen).
    pub compare_on_screen: Vec<(usize, Pos2)>,
}

impl Default for RateDistortionPanel {
    fn default() -> Self {
        Self {
            vary: Vary::Beta,
            values: "0.25, 0.5, 1, 2, 4, 8".into(),
            fixed: String::new(),
            epochs: 5,
            samples: 0,
            folder: String::new(),
            open_folder: String::new(),
            problem: None,
            points_on_screen: Vec::new(),
            compare_on_screen: Vec::new(),
        }
    }
}

impl RateDistortionPanel {
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        ctx: &PanelCtx,
        settings: &mut Settings,
        commands: &mut Vec<Command>,
    ) {
        if self.folder.is_empty() {
            self.folder = default_folder(
                ctx.ws.model_path.as_deref(),
                settings.export_folder.as_deref(),
            )
            .display()
            .to_string();
        }
        // A wide, short panel: the controls in a column, the plot and the compared map
        // beside them, both as tall as the panel shows.
        let height = (ui.clip_rect().bottom() - ui.cursor().top() - 56.0).clamp(120.0, 420.0);
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                ui.set_width(CONTROLS_WIDTH);
                self.controls_ui(ui, ctx, commands);
            });
            let sweep = &ctx.ws.sweep;
            if sweep.results.is_empty() && sweep.compare.is_none() {
                ui.label(if sweep.is_running() {
                    "Each model appears here when it is trained and measured."
                } else {
                    "Start a sweep, or open the folder of an earlier one (the window's or `latent-explorer sweep`'s)."
                });
                self.points_on_screen.clear();
                self.compare_on_screen.clear();
                return;
            }
            // Until a model is compared its column holds one hint: the plot takes the room.
            let gaps = 2.0 * ui.spacing().item_spacing.x;
            let comparing = sweep.compare.is_some() || sweep.compare_pending.is_some();
            let (plot_width, compare_width) = if comparing {
                let half = ((ui.available_width() - gaps) / 2.0).max(120.0);
                (half, half)
            } else {
                let hint = 160.0;
                ((ui.available_width() - gaps - hint).max(120.0), hint)
            };
            ui.vertical(|ui| {
                ui.set_width(plot_width);
                self.plot_ui(ui, ctx, height, commands);
            });
            ui.vertical(|ui| {
                ui.set_width(compare_width);
                super::compare_map::ui(&mut self.compare_on_screen, ui, ctx, height, commands);
            });
        });
    }

    fn controls_ui(&mut self, ui: &mut Ui, ctx: &PanelCtx, commands: &mut Vec<Command>) {
        let sweep = &ctx.ws.sweep;
        let latent = ctx.ws.latent();
        ui.horizontal_wrapped(|ui| {
            ui.label("vary:");
            ui.radio_value(&mut self.vary, Vary::Beta, "beta");
            ui.radio_value(&mut self.vary, Vary::Latent, "latent size");
            let (hint, other) = match self.vary {
                Vary::Beta => (
                    "0.25, 0.5, 1, 2, 4, 8",
                    format!("latent (model's: {latent})"),
                ),
                Vary::Latent => ("2, 4, 8, 16", "beta (default 1)".to_string()),
            };
            let l = ui.label("values:");
            ui.add(
                egui::TextEdit::singleline(&mut self.values)
                    .hint_text(hint)
                    .desired_width(150.0),
            )
            .labelled_by(l.id);
            let l = ui.label(other);
            ui.add(egui::TextEdit::singleline(&mut self.fixed).desired_width(40.0))
                .labelled_by(l.id);
            let l = ui.label("epochs:");
            ui.add(egui::DragValue::new(&mut self.epochs).range(1..=500))
                .labelled_by(l.id);
            let l = ui.label("samples (0: all):");
            ui.add(egui::DragValue::new(&mut self.samples).range(0..=10_000_000))
                .labelled_by(l.id);
        });
        ui.horizontal(|ui| {
            let l = ui.label("folder:");
            ui.add(egui::TextEdit::singleline(&mut self.folder).desired_width(270.0))
                .labelled_by(l.id)
                .on_hover_text("each model is saved here as it finishes, with sweep.csv");
        });
        ui.horizontal(|ui| {
            let can_start = !sweep.is_running() && !ctx.training && ctx.ws.pair_fits();
            if ui
                .add_enabled(can_start, egui::Button::new("Start sweep"))
                .on_disabled_hover_text(
                    "needs a model that fits the dataset, no training or sweep running",
                )
                .clicked()
            {
                match self.request(latent) {
                    Ok(request) => {
                        self.problem = None;
                        commands.push(Command::StartSweep(request));
                    }
                    Err(e) => self.problem = Some(e),
                }
            }
            if sweep.is_running() && ui.button("Cancel sweep").clicked() {
                commands.push(Command::CancelSweep);
            }
        });
        if let Some(run) = &sweep.run {
            let what = run
                .current
                .map(|(i, p)| {
                    format!(
                        "model {} of {} (beta {}, latent {}), epoch {} of {}",
                        i + 1,
                        run.total,
                        p.beta,
                        p.latent,
                        run.epoch.max(1),
                        run.epochs
                    )
                })
                .unwrap_or_else(|| "starting…".into());
            ui.add(
                egui::ProgressBar::new(run.fraction)
                    .text(what)
                    .show_percentage(),
            );
        }
        if let Some(p) = &self.problem {
            ui.colored_label(ui.visuals().error_fg_color, p);
        }
        if let Some(folder) =
            super::typed_path_ui(ui, &mut self.open_folder, "a sweep's folder", "Open sweep")
        {
            commands.push(Command::OpenSweep(folder));
        }
    }

    /// The sweep the controls describe, or why not.
    fn request(&self, latent: usize) -> Result<SweepRequest, String> {
        let list = |text: &str, what: &str| -> Result<Vec<f64>, String> {
            text.split(',')
                .filter(|t| !t.trim().is_empty())
                .map(|t| {
                    t.trim()
                        .parse::<f64>()
                        .map_err(|_| format!("{what} '{}' is not a number", t.trim()))
                })
                .collect()
        };
        let whole = |v: f64, what: &str| -> Result<usize, String> {
            if v.fract() == 0.0 && (1.0..=4096.0).contains(&v) {
                Ok(v as usize)
            } else {
                Err(format!("{what} {v} is not a whole number from 1 to 4096"))
            }
        };
        let values = list(&self.values, "value")?;
        let fixed = list(&self.fixed, "the fixed setting")?;
        if fixed.len() > 1 {
            return Err("the fixed setting takes one value".into());
        }
        let (betas, latents) = match self.vary {
            Vary::Beta => {
                let l = match fixed.first() {
                    Some(&v) => whole(v, "latent size")?,
                    None => latent,
                };
                (values, vec![l])
            }
            Vary::Latent => {
                let ls = values
                    .iter()
                    .map(|&v| whole(v, "latent size"))
                    .collect::<Result<Vec<_>, _>>()?;
                (vec![fixed.first().copied().unwrap_or(1.0)], ls)
            }
        };
        let points = sweep_points(&betas, &latents).map_err(|e| e.to_string())?;
        if self.folder.trim().is_empty() {
            return Err("type the folder to save the models into".into());
        }
        let folder = crate::gui::export_files::typed_full_path(
            Path::new(self.folder.trim()),
            "the sweep's folder",
        )?;
        Ok(SweepRequest {
            points,
            epochs: self.epochs.max(1),
            limit: (self.samples > 0).then_some(self.samples),
            folder,
        })
    }

    /// Rate against distortion, one point per model, the lines of constant ELBO behind.
    fn plot_ui(&mut self, ui: &mut Ui, ctx: &PanelCtx, height: f32, commands: &mut Vec<Command>) {
        let sweep = &ctx.ws.sweep;
        let results = &sweep.results;
        self.points_on_screen.clear();
        ui.label("held-out rate against distortion (nats); click: open, right-click: compare");
        if results.is_empty() {
            return;
        }
        let labels = point_labels(results);
        let current = ctx.ws.model_path.as_deref();
        let compared = sweep.compare.as_ref().map(|c| c.path.as_path());
        let (x0, x1, y0, y1) = data_box(results);
        let text_colour = ui.visuals().text_color();
        let line_colour = ui.visuals().weak_text_color();
        let shown = Plot::new("rate-distortion")
            .height(height)
            .x_axis_label("rate: KL(q(z|x) || p(z)), nats")
            .y_axis_label("distortion: -log p(x|z), nats")
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .allow_boxed_zoom(false)
            .include_x(x0)
            .include_x(x1)
            .include_y(y0)
            .include_y(y1)
            .show(ui, |plot| {
                for (c, (a, b)) in elbo_levels(results)
                    .into_iter()
                    .filter_map(|c| segment(c, (x0, x1, y0, y1)).map(|s| (c, s)))
                {
                    plot.line(
                        Line::new("constant ELBO", vec![[a, c - a], [b, c - b]])
                            .color(line_colour)
                            .style(LineStyle::dashed_loose())
                            .width(1.0),
                    );
                    let mid = 0.5 * (a + b);
                    plot.text(
                        Text::new(
                            "constant ELBO",
                            PlotPoint::new(mid, c - mid),
                            format!("−ELBO = {c}"),
                        )
                        .color(line_colour)
                        .anchor(egui::Align2::LEFT_BOTTOM),
                    );
                }
                for (k, r) in results.iter().enumerate() {
                    let is_current = current == Some(r.path.as_path());
                    let is_compared = compared == Some(r.path.as_path());
                    let (colour, radius) = if is_current {
                        (Color32::from_rgb(230, 120, 20), 7.0)
                    } else if is_compared {
                        (Color32::from_rgb(150, 80, 200), 6.0)
                    } else {
                        (Color32::from_rgb(40, 120, 200), 5.0)
                    };
                    let at = [r.rate, r.distortion];
                    plot.points(
                        Points::new(labels[k].clone(), vec![at])
                            .color(colour)
                            .radius(radius),
                    );
                    if is_current {
                        plot.points(
                            Points::new(labels[k].clone(), vec![at])
                                .color(text_colour)
                                .filled(false)
                                .radius(radius + 4.0),
                        );
                    }
                    let text = if is_current {
                        format!("{} (open)", labels[k])
                    } else {
                        labels[k].clone()
                    };
                    plot.text(
                        Text::new(labels[k].clone(), PlotPoint::new(at[0], at[1]), text)
                            .color(text_colour)
                            .anchor(egui::Align2::LEFT_BOTTOM),
                    );
                }
            });
        let t = shown.transform;
        self.points_on_screen = results
            .iter()
            .enumerate()
            .map(|(k, r)| {
                (
                    k,
                    t.position_from_point(&PlotPoint::new(r.rate, r.distortion)),
                )
            })
            .collect();
        let response = &shown.response;
        let picked = response
            .interact_pointer_pos()
            .or_else(|| response.hover_pos())
            .and_then(|pos| nearest(&self.points_on_screen, pos));
        if let Some(k) = picked {
            let r = &results[k];
            if response.clicked() && current != Some(r.path.as_path()) {
                commands.push(Command::OpenModel(r.path.clone()));
            } else if response.secondary_clicked() {
                commands.push(Command::CompareModel(r.path.clone()));
            }
            response.clone().on_hover_text(format!(
                "{}: rate {:.2}, distortion {:.2}, ELBO {:.2} nats ({} held-out samples)\n{}",
                labels[k],
                r.rate,
                r.distortion,
                r.elbo(),
                r.held_out,
                r.path.display()
            ));
        }
        ui.horizontal(|ui| {
            ui.label("compare with:");
            let chosen = compared
                .and_then(|p| results.iter().position(|r| r.path == p))
                .map_or("none".to_string(), |k| labels[k].clone());
            egui::ComboBox::from_id_salt("rd-compare-with")
                .selected_text(chosen)
                .show_ui(ui, |ui| {
                    for (k, r) in results.iter().enumerate() {
                        if ui
                            .selectable_label(compared == Some(r.path.as_path()), &labels[k])
                            .clicked()
                        {
                            commands.push(Command::CompareModel(r.path.clone()));
                        }
                    }
                });
        });
    }
}

/// The entry of `on_screen` nearest `pos` within [`PICK_RADIUS`]: its position in the list.
pub(super) fn nearest<T>(on_screen: &[(T, Pos2)], pos: Pos2) -> Option<usize> {
    on_screen
        .iter()
        .enumerate()
        .map(|(k, (_, p))| (k, p.distance(pos)))
        .filter(|&(_, d)| d <= PICK_RADIUS)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(k, _)| k)
}

/// "β = 0.25", "latent 8", or both when both differ across the sweep.
pub fn point_labels(results: &[SweepResult]) -> Vec<String> {
    let differs = |f: &dyn Fn(&SweepResult) -> f64| results.iter().any(|r| f(r) != f(&results[0]));
    let betas = differs(&|r| r.point.beta);
    let latents = differs(&|r| r.point.latent as f64);
    results
        .iter()
        .map(|r| match (betas, latents) {
            (true, true) => format!("β = {}, latent {}", r.point.beta, r.point.latent),
            (false, true) => format!("latent {}", r.point.latent),
            _ => format!("β = {}", r.point.beta),
        })
        .collect()
}

/// The points' box with a margin (so labels and lines have room).
fn data_box(results: &[SweepResult]) -> (f64, f64, f64, f64) {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for r in results {
        x0 = x0.min(r.rate);
        x1 = x1.max(r.rate);
        y0 = y0.min(r.distortion);
        y1 = y1.max(r.distortion);
    }
    let pad_x = ((x1 - x0) * 0.15).max(1.0);
    let pad_y = ((y1 - y0) * 0.15).max(1.0);
    (
        (x0 - pad_x).max(0.0),
        x1 + pad_x,
        (y0 - pad_y).max(0.0),
        y1 + pad_y,
    )
}

/// A few round levels of R + D (= -ELBO) through the points' range.
pub fn elbo_levels(results: &[SweepResult]) -> Vec<f64> {
    let sums: Vec<f64> = results.iter().map(|r| r.rate + r.distortion).collect();
    let lo = sums.iter().copied().fold(f64::MAX, f64::min);
    let hi = sums.iter().copied().fold(f64::MIN, f64::max);
    if !(lo.is_finite() && hi.is_finite()) {
        return Vec::new();
    }
    let step = nice_step(((hi - lo) / 3.0).max(1.0));
    let first = (lo / step).floor() * step;
    (0..6)
        .map(|k| first + k as f64 * step)
        .take_while(|&c| c <= hi + step)
        .collect()
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * p)
}

/// The part of the line x + y = c inside the box: its x range.
fn segment(c: f64, (x0, x1, y0, y1): (f64, f64, f64, f64)) -> Option<(f64, f64)> {
    let a = x0.max(c - y1);
    let b = x1.min(c - y0);
    (a < b).then_some((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn elbo_lines_are_round_levels_through_the_points() {
        assert_eq!(nice_step(3.3), 5.0);
        assert_eq!(nice_step(12.0), 20.0);
        let r = |rate: f64, distortion: f64| SweepResult {
            point: crate::train::SweepPoint {
                beta: 1.0,
                latent: 2,
            },
            rate,
            distortion,
            held_out: 1,
            path: PathBuf::new(),
            train_secs: 0.0,
        };
        let results = [r(20.0, 100.0), r(5.0, 140.0)];
        let levels = elbo_levels(&results);
        assert!(levels.first().unwrap() <= &120.0 && levels.last().unwrap() >= &145.0);
        // Each level's segment lies on x + y = c inside the box.
        let b = data_box(&results);
        for c in levels {
            if let Some((a, z)) = segment(c, b) {
                assert!(a >= b.0 && z <= b.1 && c - a <= b.3 + 1e-9 && c - z >= b.2 - 1e-9);
            }
        }
    }
}
