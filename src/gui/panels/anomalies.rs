//! Anomalies: the samples the model explains worst, ranked by negative ELBO or reconstruction
//! error, with a threshold that counts how many lie above it; click one to select it.

use super::{Changed, Command, PanelCtx};
use crate::analysis::AnomalyScore;
use crate::gui::state::{ColorBy, Settings};
use crate::gui::textures::ImageView;
use egui::Ui;

/// How many of the most anomalous samples are shown.
pub const TOP_ANOMALIES: usize = 24;

#[derive(Default)]
pub struct AnomaliesPanel {
    /// The most anomalous samples, worst first: (dataset index, score).
    pub top: Vec<(usize, f32)>,
    pub thumbnails: ImageView,
    /// Lowest and highest score.
    range: (f32, f32),
    /// (scores version, score kind) the list was ranked for.
    ranked_for: Option<(u64, AnomalyScore)>,
}

impl AnomaliesPanel {
    pub fn reset(&mut self, changed: Changed) {
        if changed.data || changed.model {
            *self = Self::default();
        }
    }

    /// Ranks the scores once per new scores or score kind (sorting 70,000 takes milliseconds).
    fn rank(&mut self, ctx: &PanelCtx, kind: AnomalyScore) {
        let s = &ctx.ws.scores;
        let (Some(scores), Some(data)) = (&s.scores, &ctx.ws.data) else {
            return;
        };
        if self.ranked_for == Some((s.version, kind)) {
            return;
        }
        self.ranked_for = Some((s.version, kind));
        let values = scores.values(kind);
        self.range = values
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        self.top = scores
            .ranked(kind)
            .into_iter()
            .take(TOP_ANOMALIES)
            .filter(|&k| scores.indices[k] < data.len())
            .map(|k| (scores.indices[k], values[k]))
            .collect();
        let images: Vec<f32> = self.top.iter().flat_map(|&(i, _)| data.image(i)).collect();
        self.thumbnails.set_grid(images, data.shape, 8);
    }

    pub fn ui(
        &mut self,
        ui: &mut Ui,
        ctx: &PanelCtx,
        settings: &mut Settings,
        commands: &mut Vec<Command>,
    ) {
        ui.horizontal(|ui| {
            ui.label("score:");
            for kind in [AnomalyScore::NegativeElbo, AnomalyScore::Reconstruction] {
                ui.radio_value(&mut settings.anomaly_score, kind, kind.label());
            }
            ui.separator();
            let mut by_score = settings.color_by == ColorBy::AnomalyScore;
            if ui
                .checkbox(&mut by_score, "colour the map by score")
                .changed()
            {
                settings.color_by = if by_score {
                    ColorBy::AnomalyScore
                } else {
                    ColorBy::Label
                };
            }
        });
        let kind = settings.anomaly_score;
        self.rank(ctx, kind);
        let Some(scores) = ctx.ws.scores.scores.as_ref() else {
            ui.horizontal(|ui| {
                if ctx.ws.map.codes.is_some() {
                    ui.spinner();
                    ui.label("Scoring the samples on the map…");
                } else {
                    ui.label("Scores need a model that fits the dataset, and its codes.");
                }
            });
            return;
        };
        let (lo, hi) = self.range;
        let threshold = settings
            .anomaly_threshold
            .get_or_insert(lo + 0.8 * (hi - lo));
        *threshold = threshold.clamp(lo, hi.max(lo + 1e-3));
        ui.horizontal(|ui| {
            ui.add(egui::Slider::new(threshold, lo..=hi.max(lo + 1e-3)).text("threshold"));
            let above = scores.count_above(kind, *threshold);
            ui.label(format!(
                "{above} of {} samples above ({:.1}%)",
                scores.len(),
                100.0 * above as f64 / scores.len().max(1) as f64
            ));
        });
        ui.label(format!(
            "The {} most anomalous (click one to select it):",
            self.top.len()
        ));
        let egui_ctx = ui.ctx().clone();
        let Some(tex) = self.thumbnails.texture(&egui_ctx, "anomalies") else {
            return;
        };
        let tex_size = tex.size_vec2();
        let size = tex_size * 2.0;
        let response =
            ui.add(egui::Image::from_texture((tex.id(), size)).sense(egui::Sense::click()));
        let under = response
            .hover_pos()
            .and_then(|p| super::tile_under(&self.thumbnails, &response, tex_size, size, p))
            .and_then(|k| self.top.get(k).copied());
        if response.clicked()
            && let Some((i, _)) = under
        {
            commands.push(Command::Select(i));
        }
        if let (Some((i, score)), Some(data)) = (under, &ctx.ws.data) {
            response.on_hover_text(format!(
                "sample {i}{}: {} {score:.2}",
                data.class_name(i)
                    .map(|c| format!(", class {c}"))
                    .unwrap_or_default(),
                kind.label(),
            ));
        }
    }
}
