//! Anomalies: every scored sample ranked by negative ELBO or reconstruction error, worst
//! first, in a list that draws only the rows in view (70,000 rows scroll as fast as 20), each
//! with its rank, thumbnail, class and score; a threshold counts how many lie above it and
//! shows as a line in the list. Click a row to select the sample.

use super::{Changed, Command, PanelCtx};
use crate::analysis::AnomalyScore;
use crate::gui::state::{ColorBy, Settings};
use crate::gui::textures::ImageView;
use egui::Ui;
use std::ops::Range;

/// Height of a row of the list (a 32 px thumbnail and its text).
const ROW_HEIGHT: f32 = 34.0;
const THUMB: f32 = 32.0;
/// Thumbnails are made for the rows in view and this many more on each side.
const THUMB_SLACK: usize = 24;

/// Where the buttons above the list scroll it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Jump {
    Top,
    Threshold,
    Bottom,
}

#[derive(Default)]
pub struct AnomaliesPanel {
    /// Every scored sample, most anomalous first: (dataset index, score).
    pub ranked: Vec<(usize, f32)>,
    /// Ranks (positions in `ranked`) whose rows were drawn in the last frame.
    pub visible: Range<usize>,
    /// Thumbnails of the ranks `thumbs_from ..` in one column.
    thumbs: ImageView,
    thumbs_from: usize,
    /// Lowest and highest score.
    range: (f32, f32),
    /// (scores version, score kind) the list was ranked for.
    ranked_for: Option<(u64, AnomalyScore)>,
    jump: Option<Jump>,
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
        if !scores.has(kind) {
            // The IW bound is still being computed: nothing to rank by yet.
            self.ranked.clear();
            self.ranked_for = None;
            return;
        }
        if self.ranked_for == Some((s.version, kind)) {
            return;
        }
        self.ranked_for = Some((s.version, kind));
        let values = scores.values(kind);
        self.range = values
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        self.ranked = scores
            .ranked(kind)
            .into_iter()
            .filter(|&k| scores.indices[k] < data.len())
            .map(|k| (scores.indices[k], values[k]))
            .collect();
        self.thumbs = ImageView::default();
        self.visible = 0..0;
    }

    /// Makes sure the thumbnails cover the ranks in `shown`.
    fn cover(&mut self, ctx: &PanelCtx, shown: &Range<usize>) {
        let have = self.thumbs_from..self.thumbs_from + self.thumbs.count();
        if shown.is_empty() || (have.start <= shown.start && shown.end <= have.end) {
            return;
        }
        let Some(data) = &ctx.ws.data else { return };
        let from = shown.start.saturating_sub(THUMB_SLACK);
        let to = (shown.end + THUMB_SLACK).min(self.ranked.len());
        let images: Vec<f32> = self.ranked[from..to]
            .iter()
            .flat_map(|&(i, _)| data.image(i))
            .collect();
        self.thumbs.set_grid(images, data.shape, 1);
        self.thumbs_from = from;
    }

    pub fn ui(
        &mut self,
        ui: &mut Ui,
        ctx: &PanelCtx,
        settings: &mut Settings,
        commands: &mut Vec<Command>,
    ) {
        ui.horizontal(|ui| {
            ui.label("score by:");
            for kind in [
                AnomalyScore::Reconstruction,
                AnomalyScore::NegativeElbo,
                AnomalyScore::NegativeIwBound,
            ] {
                ui.radio_value(&mut settings.anomaly_score, kind, kind.label());
            }
            if settings.anomaly_score == AnomalyScore::NegativeIwBound {
                let l = ui.label("k:");
                ui.add(
                    egui::DragValue::new(&mut settings.anomaly_iw_k)
                        .range(crate::analysis::MIN_IW_SAMPLES..=crate::analysis::MAX_IW_SAMPLES),
                )
                .labelled_by(l.id)
                .on_hover_text("draws from q(z|x) per sample: k decodes each, a tighter bound");
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
        if kind == AnomalyScore::NegativeIwBound {
            iw_progress_ui(ui, ctx, settings);
        }
        self.rank(ctx, kind);
        if ctx.ws.scores.scores.is_none() || self.ranked.is_empty() {
            ui.horizontal(|ui| {
                if kind == AnomalyScore::NegativeIwBound && ctx.ws.map.codes.is_some() {
                    ui.label("The list appears when the IW bound is computed.");
                } else if ctx.ws.map.codes.is_some() {
                    ui.spinner();
                    ui.label("Scoring the samples on the map…");
                } else {
                    ui.label("Scores need a model that fits the dataset, and its codes.");
                }
            });
            return;
        }
        let (lo, hi) = self.range;
        let threshold = settings
            .anomaly_threshold
            .get_or_insert(lo + 0.8 * (hi - lo));
        *threshold = threshold.clamp(lo, hi.max(lo + 1e-3));
        let threshold = *threshold;
        let n = self.ranked.len();
        // The list is sorted: the samples above the threshold are its first `above` rows.
        let above = self.ranked.partition_point(|&(_, v)| v > threshold);
        ui.horizontal(|ui| {
            if let Some(t) = settings.anomaly_threshold.as_mut() {
                ui.add(egui::Slider::new(t, lo..=hi.max(lo + 1e-3)).text("threshold"));
            }
            let percent = 100.0 * above as f64 / n.max(1) as f64;
            // Two decimals below 1%: 32 of 70,000 is 0.05%, not "0.0%".
            let decimals = if percent > 0.0 && percent < 1.0 { 2 } else { 1 };
            ui.label(format!(
                "{above} of {n} samples above ({percent:.decimals$}%)"
            ));
        });
        // Wrapped: at 1280 to 1400 pixels the buttons would run past the panel's edge.
        ui.horizontal_wrapped(|ui| {
            ui.label(format!(
                "All {n} samples by {}, most anomalous first (click one to select it):",
                score_name(ctx, kind)
            ));
            for (jump, label) in [
                (Jump::Top, "Most anomalous"),
                (Jump::Threshold, "Threshold"),
                (Jump::Bottom, "Least anomalous"),
            ] {
                if ui.small_button(label).clicked() {
                    self.jump = Some(jump);
                }
            }
        });
        self.list_ui(ui, ctx, kind, threshold, above, commands);
    }

    /// The list: one row per sample, and a marker row where the threshold falls.
    fn list_ui(
        &mut self,
        ui: &mut Ui,
        ctx: &PanelCtx,
        kind: AnomalyScore,
        threshold: f32,
        above: usize,
        commands: &mut Vec<Command>,
    ) {
        let n = self.ranked.len();
        let rows = n + 1;
        let spacing = ui.spacing().item_spacing.y;
        let mut area = egui::ScrollArea::vertical()
            .id_salt("anomaly-list")
            .auto_shrink([false, false])
            .max_height(ui.available_height().max(4.0 * ROW_HEIGHT));
        if let Some(jump) = self.jump.take() {
            let row = match jump {
                Jump::Top => 0,
                // A few rows of the anomalies stay in view above the line.
                Jump::Threshold => above.saturating_sub(2),
                Jump::Bottom => rows,
            };
            area = area.vertical_scroll_offset(row as f32 * (ROW_HEIGHT + spacing));
        }
        let egui_ctx = ui.ctx().clone();
        let name = score_name(ctx, kind);
        area.show_rows(ui, ROW_HEIGHT, rows, |ui, shown| {
            // List row r: samples before the marker row `above`, the marker, then the rest.
            let rank_of = |r: usize| if r < above { Some(r) } else { r.checked_sub(1) };
            let first = rank_of(shown.start).unwrap_or(0).min(n);
            let last = shown
                .end
                .checked_sub(1)
                .and_then(rank_of)
                .map_or(first, |r| r + 1)
                .min(n);
            self.visible = first..last.max(first);
            self.cover(ctx, &self.visible.clone());
            let thumbs_from = self.thumbs_from;
            let count = self.thumbs.count();
            let shape = self.thumbs.shape();
            let texture = self
                .thumbs
                .texture(&egui_ctx, "anomaly-thumbnails")
                .cloned();
            for r in shown {
                if r == above {
                    threshold_row(ui, threshold, above, n);
                    continue;
                }
                let Some(rank) = rank_of(r).filter(|&k| k < n) else {
                    continue;
                };
                let (i, score) = self.ranked[rank];
                let class = ctx
                    .ws
                    .data
                    .as_ref()
                    .and_then(|d| d.class_name(i))
                    .map(|c| format!(" · class {c}"))
                    .unwrap_or_default();
                let text = format!("#{}  sample {i}{class} · {name} {score:.2}", rank + 1);
                // The row's thumbnail: its tile of the column texture.
                let image = match (&texture, shape) {
                    (Some(t), Some(s)) if rank >= thumbs_from && rank - thumbs_from < count => {
                        let tile = (s.height as u32 + crate::render::TILE_GAP) as f32;
                        let h = t.size_vec2().y;
                        let y0 = (rank - thumbs_from) as f32 * tile / h;
                        let y1 = y0 + s.height as f32 / h;
                        Some(
                            egui::Image::from_texture((t.id(), t.size_vec2()))
                                .uv(egui::Rect::from_min_max(
                                    egui::pos2(0.0, y0),
                                    egui::pos2(1.0, y1),
                                ))
                                // The texture is a tall column of tiles: its own aspect
                                // ratio kept, the tile came out a pixel or two wide.
                                .maintain_aspect_ratio(false)
                                .fit_to_exact_size(egui::vec2(THUMB, THUMB)),
                        )
                    }
                    _ => None,
                };
                let button = match image {
                    Some(img) => egui::Button::image_and_text(img, text),
                    None => egui::Button::new(text),
                };
                let selected = ctx.ws.selection == Some(i);
                let response = ui.add_sized(
                    [ui.available_width(), ROW_HEIGHT],
                    button.selected(selected).frame(false),
                );
                // A click selects; a right-click offers the picture's menu (anchor, export).
                let picture = response
                    .hovered()
                    .then_some(super::picture::Picture::Sample(i));
                super::picture::interact(&response, picture, ctx, commands);
            }
        });
    }
}

/// The score's name, with the k of the IW bound the list holds.
fn score_name(ctx: &PanelCtx, kind: AnomalyScore) -> String {
    match (kind, ctx.ws.iw_scores.attached) {
        (AnomalyScore::NegativeIwBound, Some((_, k))) => format!("{} (k = {k})", kind.label()),
        _ => kind.label().to_string(),
    }
}

/// The IW bound's computation: progress and Cancel (back to the negative ELBO), or why it
/// waits.
fn iw_progress_ui(ui: &mut Ui, ctx: &PanelCtx, settings: &mut Settings) {
    let iw = &ctx.ws.iw_scores;
    if let (Some(task), Some(fraction)) = (&iw.task, iw.progress()) {
        ui.horizontal(|ui| {
            ui.add(
                egui::ProgressBar::new(fraction as f32)
                    .desired_width(220.0)
                    .text(format!(
                        "IW bound, k = {}: {:.0}% of {} samples",
                        task.k,
                        100.0 * fraction,
                        task.n
                    )),
            );
            if ui.button("Cancel").clicked() {
                settings.anomaly_score = AnomalyScore::NegativeElbo;
            }
        });
    } else if ctx.training {
        ui.label("The IW bound is computed when training stops (the weights move under it).");
    } else if let Some((secs, n, k)) = iw.last {
        ui.weak(format!(
            "IW bound of {n} samples at k = {k} took {secs:.1} s"
        ));
    }
}

/// Where the threshold falls in the list: a line and the count above it.
fn threshold_row(ui: &mut Ui, threshold: f32, above: usize, n: usize) {
    let (rect, _) = ui.allocate_exact_size(
        egui::vec2(ui.available_width(), ROW_HEIGHT),
        egui::Sense::hover(),
    );
    let colour = ui.visuals().error_fg_color;
    let y = rect.center().y;
    ui.painter()
        .hline(rect.x_range(), y, egui::Stroke::new(1.5, colour));
    let text = format!(
        "threshold {threshold:.2}: {above} of {n} above, {} below",
        n - above
    );
    // The count sits on the line, on the panel's colour so the line does not cross it.
    let label = egui::RichText::new(text)
        .color(colour)
        .background_color(ui.visuals().panel_fill);
    let at = egui::Rect::from_min_max(
        egui::pos2(rect.left() + 40.0, rect.top()),
        rect.right_bottom(),
    );
    ui.put(at, egui::Label::new(label).halign(egui::Align::Min));
}
