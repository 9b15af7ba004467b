//! Anomalies: the samples the model explains worst, ranked by negative ELBO or reconstruction
//! error, with a threshold that counts how many lie above it; click one to select it.

use crate::analysis::AnomalyScore;
use crate::gui::app::{Command, ExplorerApp};
use crate::gui::state::ColorBy;
use egui::Ui;

pub fn anomalies_ui(app: &mut ExplorerApp, ui: &mut Ui, commands: &mut Vec<Command>) {
    let mut rerank = false;
    ui.horizontal(|ui| {
        ui.label("score:");
        for kind in [AnomalyScore::NegativeElbo, AnomalyScore::Reconstruction] {
            rerank |= ui
                .radio_value(&mut app.settings.anomaly_score, kind, kind.label())
                .changed();
        }
        ui.separator();
        let mut by_score = app.settings.color_by == ColorBy::AnomalyScore;
        if ui
            .checkbox(&mut by_score, "colour the map by score")
            .changed()
        {
            app.settings.color_by = if by_score {
                ColorBy::AnomalyScore
            } else {
                ColorBy::Label
            };
        }
    });
    if rerank {
        app.refresh_top_anomalies();
    }
    let kind = app.settings.anomaly_score;
    let Some(scores) = app.session.anomalies.scores.as_ref() else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Scoring the samples on the map…");
        });
        return;
    };
    let values = scores.values(kind);
    let (lo, hi) = values
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let threshold = app
        .settings
        .anomaly_threshold
        .get_or_insert(lo + 0.8 * (hi - lo));
    *threshold = threshold.clamp(lo, hi.max(lo + 1e-3));
    ui.horizontal(|ui| {
        ui.add(egui::Slider::new(threshold, lo..=hi).text("threshold"));
        let above = scores.count_above(kind, *threshold);
        ui.label(format!(
            "{above} of {} samples above ({:.1}%)",
            scores.len(),
            100.0 * above as f64 / scores.len().max(1) as f64
        ));
    });
    ui.label(format!(
        "The {} most anomalous (click one to select it):",
        app.session.anomalies.top.len()
    ));
    let top = app.session.anomalies.top.clone();
    let ctx = ui.ctx().clone();
    let thumbs = &mut app.session.anomalies.thumbnails;
    let Some(tex) = thumbs.texture(&ctx, "anomalies") else {
        return;
    };
    let tex_size = tex.size_vec2();
    let size = tex_size * 2.0;
    let response = ui.add(egui::Image::from_texture((tex.id(), size)).sense(egui::Sense::click()));
    if response.clicked()
        && let Some(p) = response.interact_pointer_pos()
    {
        let local = (p - response.rect.min) * (tex_size.x / size.x);
        if let Some(k) = thumbs.tile_at(local.x, local.y)
            && let Some(&i) = top.get(k)
        {
            commands.push(Command::Select(i));
        }
    }
    if let Some(data) = &app.session.data {
        let lookup: std::collections::HashMap<usize, usize> = scores
            .indices
            .iter()
            .enumerate()
            .map(|(k, &i)| (i, k))
            .collect();
        let hovered = response.hover_pos().and_then(|p| {
            let local = (p - response.rect.min) * (tex_size.x / size.x);
            thumbs.tile_at(local.x, local.y)
        });
        if let Some(k) = hovered.and_then(|k| top.get(k)) {
            let pos = lookup.get(k).copied().unwrap_or(0);
            response.on_hover_text(format!(
                "sample {k}{}: {} {:.2}",
                data.class_name(*k)
                    .map(|c| format!(", class {c}"))
                    .unwrap_or_default(),
                kind.label(),
                scores.value(pos, kind)
            ));
        }
    }
}
