//! Colour by any per-sample value: reconstruction error, KL, negative ELBO, posterior sigma or
//! one latent dimension, on the viridis gradient from the lowest value to the highest, with a
//! gradient bar naming that range above the map.

use crate::gui::panels::PanelCtx;
use crate::gui::state::{ColourValue, Settings};
use egui::{Color32, Mesh, Ui, vec2};
use std::sync::Arc;

/// Viridis at nine even stops (matplotlib's table, rounded to bytes).
const VIRIDIS: [[u8; 3]; 9] = [
    [68, 1, 84],
    [71, 44, 122],
    [59, 81, 139],
    [44, 113, 142],
    [33, 144, 141],
    [39, 173, 129],
    [92, 200, 99],
    [170, 220, 50],
    [253, 231, 37],
];

/// The gradient's colour at `t` in 0..=1 (clamped).
pub fn viridis(t: f32) -> Color32 {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (VIRIDIS.len() - 1) as f32;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - i as f32;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |k: usize| (a[k] as f32 + (b[k] as f32 - a[k] as f32) * f).round() as u8;
    Color32::from_rgb(mix(0), mix(1), mix(2))
}

/// Each map point's value and their range.
#[derive(Clone, Debug)]
pub struct ValueColours {
    pub kind: ColourValue,
    pub values: Arc<Vec<f32>>,
    /// Lowest and highest finite value.
    pub range: (f32, f32),
}

impl ValueColours {
    pub fn colour_of(&self, k: usize) -> Color32 {
        let (lo, hi) = self.range;
        let v = self.values.get(k).copied().unwrap_or(f32::NAN);
        if !v.is_finite() {
            return Color32::GRAY;
        }
        viridis(if hi > lo { (v - lo) / (hi - lo) } else { 0.5 })
    }
}

/// What the values were found for: (kind, scores version, codes version).
pub type ValuesKey = (ColourValue, u64, u64);

/// Each map point's `kind` value: from the anomaly scores or from the codes. None while the
/// scores it needs are not there (or belong to other codes).
pub fn values_of(ctx: &PanelCtx, kind: ColourValue) -> Option<ValueColours> {
    let map = &ctx.ws.map;
    let codes = map.codes.as_ref()?;
    let n = codes.len();
    let l = codes.latent;
    let values: Vec<f32> = match kind {
        ColourValue::ReconstructionError | ColourValue::Kl | ColourValue::NegativeElbo => {
            let s = ctx.ws.scores.scores.as_ref()?;
            if s.len() != n {
                return None;
            }
            match kind {
                ColourValue::ReconstructionError => s.recon.clone(),
                ColourValue::Kl => s.kl.clone(),
                _ => s.recon.iter().zip(&s.kl).map(|(r, k)| r + k).collect(),
            }
        }
        ColourValue::PosteriorSigma => codes
            .logvar
            .chunks_exact(l.max(1))
            .map(|lv| lv.iter().map(|&v| (0.5 * v).exp()).sum::<f32>() / l.max(1) as f32)
            .collect(),
        ColourValue::LatentDim(d) => {
            if d >= l {
                return None;
            }
            (0..n).map(|k| codes.mean_of(k)[d]).collect()
        }
    };
    let range = values
        .iter()
        .filter(|v| v.is_finite())
        .fold(None, |r: Option<(f32, f32)>, &v| {
            Some(r.map_or((v, v), |(a, b)| (a.min(v), b.max(v))))
        })?;
    Some(ValueColours {
        kind,
        values: Arc::new(values),
        range,
    })
}

/// The choices of the "colour by" menu, for a model with `latent` dimensions.
pub fn choices(latent: usize) -> Vec<ColourValue> {
    let mut c = vec![
        ColourValue::ReconstructionError,
        ColourValue::Kl,
        ColourValue::NegativeElbo,
        ColourValue::PosteriorSigma,
    ];
    c.extend((0..latent).map(ColourValue::LatentDim));
    c
}

/// The gradient bar: "<name> <low> [gradient] <high>".
pub fn bar_ui(ui: &mut Ui, v: &ValueColours) {
    ui.horizontal(|ui| {
        ui.label(v.kind.label());
        ui.label(format!("{:.3}", v.range.0));
        let (rect, _) = ui.allocate_exact_size(vec2(140.0, 12.0), egui::Sense::hover());
        let mut mesh = Mesh::default();
        let steps = 32;
        for s in 0..steps {
            let t0 = s as f32 / steps as f32;
            let t1 = (s + 1) as f32 / steps as f32;
            let r = egui::Rect::from_min_max(
                egui::pos2(rect.left() + rect.width() * t0, rect.top()),
                egui::pos2(rect.left() + rect.width() * t1, rect.bottom()),
            );
            mesh.add_colored_rect(r, viridis((t0 + t1) / 2.0));
        }
        ui.painter().add(egui::Shape::mesh(mesh));
        ui.label(format!("{:.3}", v.range.1));
    });
}

/// Settings-side label of the current colouring, for the menu's button.
pub fn current_label(settings: &Settings) -> String {
    use crate::gui::state::ColorBy;
    match settings.color_by {
        ColorBy::Label => "label".into(),
        ColorBy::AnomalyScore => "anomaly score bands".into(),
        ColorBy::Value => settings.color_value.label(),
    }
}
