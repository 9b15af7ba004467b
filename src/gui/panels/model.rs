//! The model panel: architecture and history, open / save / new.

use super::{Command, PanelCtx};
use crate::gui::dialogs::DialogPurpose;
use crate::gui::state::Settings;
use crate::model::{Architecture, Likelihood, MAX_LATENT};
use egui::Ui;

#[derive(Default)]
pub struct ModelPanel {
    /// Paths typed by the user (the way in when no file dialog can be shown).
    pub typed_open_path: String,
    pub typed_save_path: String,
}

impl ModelPanel {
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        ctx: &PanelCtx,
        settings: &mut Settings,
        commands: &mut Vec<Command>,
    ) {
        let training = ctx.training;
        egui::CollapsingHeader::new("Model")
        .default_open(true)
        .show(ui, |ui| {
            match &ctx.ws.model {
                Some(m) => {
                    let h = &m.history;
                    let opt =
                        |v: Option<f64>| v.map(|v| format!("{v:.2}")).unwrap_or_else(|| "-".into());
                    egui::Grid::new("model-grid").num_columns(2).show(ui, |ui| {
                        ui.label("type");
                        ui.label(match m.config().arch {
                            Architecture::Mlp => "MLP (fully connected)",
                            Architecture::Conv => "Conv (strided convolutions)",
                        });
                        ui.end_row();
                        ui.label("architecture");
                        // A conv summary is long: cut to the panel's width, whole on hover.
                        let summary = m.config().summary();
                        ui.add(egui::Label::new(summary.clone()).truncate())
                            .on_hover_text(summary);
                        ui.end_row();
                        ui.label("latent dims");
                        ui.label(m.latent().to_string());
                        ui.end_row();
                        ui.label("parameters");
                        ui.label(m.config().parameter_count().to_string());
                        ui.end_row();
                        ui.label("from");
                        // The file name keeps the panel narrow; the whole path is on hover.
                        let name = |p: &std::path::Path| {
                            p.file_name()
                                .map(|n| n.to_string_lossy().into_owned())
                                .unwrap_or_default()
                        };
                        let (from, full) = match &ctx.ws.model_path {
                            Some(p) if !ctx.ws.model_unsaved => {
                                (name(p), p.display().to_string())
                            }
                            Some(p) => (
                                format!("{} (changed, not saved)", name(p)),
                                p.display().to_string(),
                            ),
                            None => ("new, not saved".into(), String::new()),
                        };
                        let l = ui.add(egui::Label::new(from).truncate());
                        if !full.is_empty() {
                            l.on_hover_text(full);
                        }
                        ui.end_row();
                        ui.label("trained");
                        super::long_label(ui, format!(
                            "{} epochs on {}",
                            h.epochs,
                            h.dataset_name.clone().unwrap_or_else(|| "-".into())
                        ));
                        ui.end_row();
                        ui.label("loss / sample");
                        ui.label(format!(
                            "train {}, held-out {}",
                            opt(h.train_loss),
                            opt(h.test_loss)
                        ));
                        ui.end_row();
                    });
                }
                None => {
                    ui.label("No model loaded.");
                }
            }
            ui.add_enabled_ui(!training, |ui| {
                ui.horizontal(|ui| {
                    if ui.button("Open model…").clicked() {
                        commands.push(Command::Dialog(DialogPurpose::OpenModel));
                    }
                    if ui.button("Save model as…").clicked() {
                        commands.push(Command::Dialog(DialogPurpose::SaveModel));
                    }
                });
                // Held open once dialogs are known not to work: typing is the only way then.
                egui::CollapsingHeader::new("Model path")
                    .open(ctx.dialogs_unavailable.then_some(true))
                    .show(ui, |ui| {
                        if let Some(p) = super::typed_path_ui(
                            ui,
                            &mut self.typed_open_path,
                            "model.safetensors to open",
                            "Open this model",
                        ) {
                            commands.push(Command::OpenModel(p));
                        }
                        if let Some(p) = super::typed_path_ui(
                            ui,
                            &mut self.typed_save_path,
                            "model.safetensors to write",
                            "Save to this path",
                        ) {
                            commands.push(Command::SaveModelTo(p));
                        }
                    });
                egui::CollapsingHeader::new("New model").show(ui, |ui| {
                    let s = &mut settings.new_model;
                    let suggested = ctx.ws.suggested_likelihood;
                    let auto = match suggested {
                        Some((l, fraction)) => format!(
                            "auto: {l} ({:.0}% near 0/1)",
                            fraction * 100.0
                        ),
                        None => "auto (from the data)".into(),
                    };
                    egui::Grid::new("new-model-grid")
                        .num_columns(2)
                        .show(ui, |ui| {
                            super::grid_row(ui, "architecture", |ui| {
                                egui::ComboBox::from_id_salt("architecture")
                                    .selected_text(arch_name(s.arch))
                                    .show_ui(ui, |ui| {
                                        for arch in [Architecture::Mlp, Architecture::Conv] {
                                            ui.selectable_value(&mut s.arch, arch, arch_name(arch));
                                        }
                                    })
                                    .response
                            });
                            super::grid_row(ui, "latent dims", |ui| {
                                ui.add(egui::DragValue::new(&mut s.latent).range(1..=MAX_LATENT))
                            });
                            match s.arch {
                                Architecture::Mlp => super::grid_row(ui, "hidden sizes", |ui| {
                                    ui.add(
                                        egui::TextEdit::singleline(&mut s.hidden)
                                            .desired_width(100.0),
                                    )
                                    .on_hover_text("Comma-separated widths, e.g. 400 or 512,256")
                                }),
                                Architecture::Conv => super::grid_row(ui, "conv channels", |ui| {
                                    ui.add(
                                        egui::TextEdit::singleline(&mut s.channels)
                                            .desired_width(100.0),
                                    )
                                    .on_hover_text(
                                        "Channels of each 4x4 stride-2 convolution (1 to 4), e.g. 32,64,64; images are padded to a multiple of 2^layers",
                                    )
                                }),
                            };
                            super::grid_row(ui, "likelihood", |ui| {
                                let shown = match s.likelihood {
                                    Some(l) => l.to_string(),
                                    None => auto.clone(),
                                };
                                egui::ComboBox::from_id_salt("likelihood")
                                    .selected_text(shown)
                                    .show_ui(ui, |ui| {
                                        ui.selectable_value(&mut s.likelihood, None, auto);
                                        ui.selectable_value(
                                            &mut s.likelihood,
                                            Some(Likelihood::Bernoulli),
                                            "bernoulli (BCE)",
                                        );
                                        ui.selectable_value(
                                            &mut s.likelihood,
                                            Some(Likelihood::Gaussian),
                                            "gaussian (MSE)",
                                        );
                                    })
                                    .response
                            });
                            super::grid_row(ui, "beta", |ui| {
                                ui.add(
                                    egui::DragValue::new(&mut s.beta)
                                        .range(0.0..=100.0)
                                        .speed(0.05),
                                )
                            });
                            // Offered only where it can be made: an MLP on labelled data.
                            let classes = ctx
                                .ws
                                .data
                                .as_ref()
                                .and_then(|d| d.class_count())
                                .filter(|&k| k >= 2);
                            let possible = classes.is_some() && s.arch == Architecture::Mlp;
                            super::grid_row(ui, "conditional", |ui| {
                                let mut on = s.conditional && possible;
                                let response = ui
                                    .add_enabled(
                                        possible,
                                        egui::Checkbox::new(&mut on, match classes {
                                            Some(k) => format!("on the {k} labels"),
                                            None => "on the labels".into(),
                                        }),
                                    )
                                    .on_hover_text(
                                        "A conditional VAE: the one-hot label is an input of the encoder and of the decoder, so the code holds the style and the class is picked in the Decoder",
                                    )
                                    .on_disabled_hover_text(if classes.is_none() {
                                        "Needs a dataset with labels (at least two classes)"
                                    } else {
                                        "Conditional models are MLPs"
                                    });
                                if possible {
                                    s.conditional = on;
                                }
                                response
                            });
                        });
                    if ui.button("Create new model").clicked() {
                        commands.push(Command::NewModel);
                    }
                });
                likelihood_ui(ui, ctx, settings, commands);
            });
        });
    }
}

/// "Likelihood (held-out)": the ELBO beside the importance-weighted bound and their gap.
fn likelihood_ui(
    ui: &mut Ui,
    ctx: &PanelCtx,
    settings: &mut Settings,
    commands: &mut Vec<Command>,
) {
    if ctx.ws.model.is_none() || ctx.ws.data.is_none() {
        return;
    }
    egui::CollapsingHeader::new("Likelihood (held-out)").show(ui, |ui| {
        ui.small("log p(x) in nats, estimated with k draws from q(z|x) per sample (the importance-weighted bound L_k; k = 1 is the ELBO).");
        ui.horizontal(|ui| {
            ui.label("k");
            ui.add(egui::DragValue::new(&mut settings.likelihood_k).range(1..=5000));
            ui.label("samples");
            ui.add(egui::DragValue::new(&mut settings.likelihood_samples).range(0..=200_000))
                .on_hover_text("held-out samples used, evenly spread over the test split; 0: all");
        });
        let l = &ctx.ws.likelihood;
        match (&l.task, l.progress()) {
            (Some(t), Some(p)) => {
                ui.horizontal(|ui| {
                    ui.add(
                        egui::ProgressBar::new(p as f32)
                            .desired_width(140.0)
                            .text(format!("k = {} on {}: {:.0}%", t.k, t.n, p * 100.0)),
                    );
                    if ui.button("Cancel").clicked() {
                        commands.push(Command::CancelLikelihood);
                    }
                });
            }
            _ => {
                if ui
                    .add_enabled(!ctx.training, egui::Button::new("Estimate"))
                    .on_disabled_hover_text("Not while training")
                    .clicked()
                {
                    commands.push(Command::EstimateLikelihood {
                        k: settings.likelihood_k,
                        samples: settings.likelihood_samples,
                    });
                }
            }
        }
        if let Some(r) = l
            .result
            .as_ref()
            .filter(|r| r.generation == ctx.ws.generation())
        {
            egui::Grid::new("likelihood-grid").num_columns(2).show(ui, |ui| {
                ui.label("ELBO");
                ui.label(format!("{:.2}", r.mean_elbo));
                ui.end_row();
                ui.label(format!("IW bound (k = {})", r.k));
                ui.label(format!("{:.2} ± {:.2}", r.mean_iw_bound, r.iw_standard_error));
                ui.end_row();
                ui.label("gap");
                ui.label(format!("{:.2}", r.gap()));
                ui.end_row();
            });
            ui.small(format!("mean over {} held-out samples, {:.1} s", r.n, r.secs));
        }
    });
}

fn arch_name(arch: Architecture) -> &'static str {
    match arch {
        Architecture::Mlp => "MLP",
        Architecture::Conv => "Conv",
    }
}
