//! Paths between latent codes: linear and spherical interpolation.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum InterpolationKind {
    #[default]
    Linear,
    /// Along the great circle between the codes, scaling the norm linearly: stays in the shell
    /// where a Gaussian prior puts its mass, unlike the straight line through the middle.
    Spherical,
}

/// (1 - t) a + t b.
pub fn lerp(a: &[f32], b: &[f32], t: f32) -> Vec<f32> {
    a.iter().zip(b).map(|(x, y)| x + (y - x) * t).collect()
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

/// Spherical interpolation: the direction moves along the great circle from a to b and the
/// norm moves linearly from |a| to |b|, so slerp(a, b, t) has norm (1-t)|a| + t|b|. Falls back
/// to lerp when either code is zero or the two are (anti)parallel.
pub fn slerp(a: &[f32], b: &[f32], t: f32) -> Vec<f32> {
    let (na, nb) = (norm(a), norm(b));
    if na < 1e-8 || nb < 1e-8 {
        return lerp(a, b, t);
    }
    let cos = (a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>() / (na * nb)).clamp(-1.0, 1.0);
    let omega = cos.acos();
    let sin = omega.sin();
    if sin.abs() < 1e-5 {
        return lerp(a, b, t);
    }
    let (wa, wb) = (((1.0 - t) * omega).sin() / sin, (t * omega).sin() / sin);
    let target_norm = (1.0 - t) * na + t * nb;
    let dir: Vec<f32> = a
        .iter()
        .zip(b)
        .map(|(x, y)| wa * x / na + wb * y / nb)
        .collect();
    let dn = norm(&dir).max(1e-12);
    dir.iter().map(|d| d / dn * target_norm).collect()
}

/// `steps` codes from a to b inclusive (steps >= 2).
pub fn interpolate(a: &[f32], b: &[f32], steps: usize, kind: InterpolationKind) -> Vec<Vec<f32>> {
    let steps = steps.max(2);
    (0..steps)
        .map(|i| {
            let t = i as f32 / (steps - 1) as f32;
            match kind {
                InterpolationKind::Linear => lerp(a, b, t),
                InterpolationKind::Spherical => slerp(a, b, t),
            }
        })
        .collect()
}

/// A path through several anchors A -> B -> C, `steps_per_leg` codes per leg, the shared
/// anchors appearing once.
pub fn interpolate_path(
    anchors: &[Vec<f32>],
    steps_per_leg: usize,
    kind: InterpolationKind,
) -> Vec<Vec<f32>> {
    let mut out: Vec<Vec<f32>> = Vec::new();
    for (i, pair) in anchors.windows(2).enumerate() {
        let leg = interpolate(&pair[0], &pair[1], steps_per_leg, kind);
        let skip = usize::from(i > 0);
        out.extend(leg.into_iter().skip(skip));
    }
    if anchors.len() == 1 {
        out.push(anchors[0].clone());
    }
    out
}
