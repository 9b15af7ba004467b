//! Attribute vectors between two groups of samples ("7 minus 1", "smiling minus not"), how
//! trustworthy such a vector is, and analogy grids: the vector added in steps to a row of
//! samples.
//!
//! Groups are sets of rows of a [`Codes`] (whatever made them: a label, a lasso, a threshold).
//! The vector is the difference of the groups' mean posterior means. Its quality is measured
//! the way Latent Space Cartography does, held out: the vector is estimated on one half of
//! each group and compared with the differences of pairs drawn from the other half (then the
//! halves swap). If the groups really differ along one direction, nearly every such pair points
//! the vector's way; for two random halves of one group the cosines scatter around zero. The
//! same figure for the two groups' members shuffled together is reported beside it as chance.

use crate::data::ImageShape;
use crate::error::{Error, Result};
use crate::model::{Codes, Model};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// Pairs drawn for each half of the quality figure.
const PAIRS_PER_FOLD: usize = 1000;

/// The mean of the codes' posterior means at `rows`.
pub(crate) fn mean_code(codes: &Codes, rows: &[usize]) -> Vec<f32> {
    let l = codes.latent;
    let mut sum = vec![0f64; l];
    for &r in rows {
        for (s, v) in sum.iter_mut().zip(codes.mean_of(r)) {
            *s += *v as f64;
        }
    }
    let n = rows.len().max(1) as f64;
    sum.into_iter().map(|s| (s / n) as f32).collect()
}

fn check_group(codes: &Codes, rows: &[usize], name: &str, least: usize) -> Result<()> {
    if rows.len() < least {
        return Err(Error::InvalidArgument(format!(
            "the {name} group has {} samples; it needs at least {least}",
            rows.len()
        )));
    }
    if let Some(&r) = rows.iter().find(|&&r| r >= codes.len()) {
        return Err(Error::InvalidArgument(format!(
            "sample {r} of the {name} group is out of range: there are {} codes",
            codes.len()
        )));
    }
    Ok(())
}

/// The attribute vector from group `minus` to group `plus`: mean code of `plus` minus mean
/// code of `minus` (`plus` and `minus` are rows of `codes`).
pub fn attribute_vector(codes: &Codes, plus: &[usize], minus: &[usize]) -> Result<Vec<f32>> {
    check_group(codes, plus, "plus", 1)?;
    check_group(codes, minus, "minus", 1)?;
    let (a, b) = (mean_code(codes, plus), mean_code(codes, minus));
    Ok(a.iter().zip(&b).map(|(x, y)| x - y).collect())
}

/// How consistently the groups differ along their attribute vector.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AttributeQuality {
    /// Mean cosine between held-out pair differences (plus member minus minus member) and the
    /// vector: 1 when every pair differs exactly along it, about 0 when the groups do not
    /// differ.
    pub consistency: f32,
    /// Share of those pairs whose difference points the vector's way (cosine above 0); 0.5
    /// by chance.
    pub agreeing: f32,
    /// `consistency` for the two groups' members shuffled together into two groups of the
    /// same sizes: what chance gives with these samples.
    pub chance: f32,
    /// Pairs compared (for each of the two figures).
    pub pairs: usize,
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        dot += (*x as f64) * (*y as f64);
        na += (*x as f64).powi(2);
        nb += (*y as f64).powi(2);
    }
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    (dot / (na.sqrt() * nb.sqrt())) as f32
}

/// Held-out mean cosine and agreeing share for groups `plus` and `minus` (already shuffled).
fn held_out(codes: &Codes, plus: &[usize], minus: &[usize], rng: &mut StdRng) -> (f32, f32, usize) {
    let (pa, pb) = plus.split_at(plus.len() / 2);
    let (ma, mb) = minus.split_at(minus.len() / 2);
    let (mut sum, mut agree, mut n) = (0f64, 0usize, 0usize);
    for ((fit_p, fit_m), (test_p, test_m)) in [((pa, ma), (pb, mb)), ((pb, mb), (pa, ma))] {
        let v: Vec<f32> = mean_code(codes, fit_p)
            .iter()
            .zip(mean_code(codes, fit_m))
            .map(|(x, y)| x - y)
            .collect();
        let mut diff = vec![0f32; codes.latent];
        for _ in 0..PAIRS_PER_FOLD.min(test_p.len() * test_m.len()) {
            let p = test_p[rand::Rng::random_range(rng, 0..test_p.len())];
            let m = test_m[rand::Rng::random_range(rng, 0..test_m.len())];
            for ((d, a), b) in diff.iter_mut().zip(codes.mean_of(p)).zip(codes.mean_of(m)) {
                *d = a - b;
            }
            let c = cosine(&diff, &v);
            sum += c as f64;
            agree += usize::from(c > 0.0);
            n += 1;
        }
    }
    let n_f = n.max(1) as f64;
    ((sum / n_f) as f32, (agree as f64 / n_f) as f32, n)
}

/// The quality of the attribute vector from `minus` to `plus` (rows of `codes`; each group
/// needs at least 2 samples, so that both halves have one). Seeded: the same groups give the
/// same figures.
pub fn attribute_quality(
    codes: &Codes,
    plus: &[usize],
    minus: &[usize],
    seed: u64,
) -> Result<AttributeQuality> {
    check_group(codes, plus, "plus", 2)?;
    check_group(codes, minus, "minus", 2)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut p, mut m) = (plus.to_vec(), minus.to_vec());
    p.shuffle(&mut rng);
    m.shuffle(&mut rng);
    let (consistency, agreeing, pairs) = held_out(codes, &p, &m, &mut rng);
    let mut pooled: Vec<usize> = p.iter().chain(&m).copied().collect();
    pooled.shuffle(&mut rng);
    let (sp, sm) = pooled.split_at(p.len());
    let (chance, _, _) = held_out(codes, sp, sm, &mut rng);
    Ok(AttributeQuality {
        consistency,
        agreeing,
        chance,
        pairs,
    })
}

/// An analogy grid: each row a sample's code with `amounts[c]` times the vector added.
#[derive(Clone, Debug)]
pub struct AnalogyGrid {
    /// Decoded images, [rows * amounts, D] row-major.
    pub images: Vec<f32>,
    pub shape: ImageShape,
    pub amounts: Vec<f32>,
    /// A name for each row (e.g. the sample's index).
    pub row_names: Vec<String>,
    /// The codes decoded, [rows * amounts, latent].
    pub codes: Vec<f32>,
}

impl AnalogyGrid {
    pub fn rows(&self) -> usize {
        self.row_names.len()
    }

    pub fn columns(&self) -> usize {
        self.amounts.len()
    }

    /// The labelled picture: rows named on the left, amounts on top.
    pub fn picture(&self, scale: u32) -> Result<image::DynamicImage> {
        let rows: Vec<Vec<String>> = self.row_names.iter().map(|n| vec![n.clone()]).collect();
        let cols: Vec<String> = self.amounts.iter().map(|a| format!("{a:+.2}")).collect();
        crate::figure::labelled_grid(
            &self.images,
            self.shape,
            self.columns(),
            scale,
            &rows,
            &cols,
        )
    }
}

/// `steps` amounts from `-reach` to `reach` when `both_ways`, else from 0 to `reach`.
pub fn analogy_amounts(steps: usize, reach: f32, both_ways: bool) -> Vec<f32> {
    let lo = if both_ways { -reach } else { 0.0 };
    (0..steps)
        .map(|k| lo + (reach - lo) * k as f32 / (steps.max(2) - 1) as f32)
        .collect()
}

/// Decodes `starts[r] + amounts[c] * vector` for every row and column.
pub fn analogy_grid(
    model: &Model,
    starts: &[(String, Vec<f32>)],
    vector: &[f32],
    amounts: &[f32],
) -> Result<AnalogyGrid> {
    let l = model.latent();
    if vector.len() != l || vector.iter().any(|v| !v.is_finite()) {
        return Err(Error::InvalidArgument(format!(
            "the attribute vector must be {l} finite values, got {}",
            vector.len()
        )));
    }
    if starts.is_empty() || amounts.is_empty() {
        return Err(Error::InvalidArgument(
            "an analogy grid needs at least one sample and one amount".into(),
        ));
    }
    if let Some((name, _)) = starts.iter().find(|(_, c)| c.len() != l) {
        return Err(Error::InvalidArgument(format!(
            "the code of {name} does not have {l} values"
        )));
    }
    let frames = (starts.len() * amounts.len()) as u64;
    crate::budget::Budget::current().check_frames(frames, model.config().input, l)?;
    let mut codes = Vec::with_capacity(starts.len() * amounts.len() * l);
    for (_, start) in starts {
        for &t in amounts {
            codes.extend(start.iter().zip(vector).map(|(s, v)| s + t * v));
        }
    }
    let images = model.decode(&codes)?;
    Ok(AnalogyGrid {
        images,
        shape: model.config().input,
        amounts: amounts.to_vec(),
        row_names: starts.iter().map(|(n, _)| n.clone()).collect(),
        codes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_clusters() -> Codes {
        // Group 0..50 around (+1, 0), group 50..100 around (-1, 0), a little noise in both.
        let mut mean = Vec::new();
        for i in 0..100 {
            let x = if i < 50 { 1.0 } else { -1.0 };
            let jitter = ((i * 37 % 11) as f32 - 5.0) / 50.0;
            mean.extend([x + jitter, jitter * 2.0]);
        }
        Codes {
            latent: 2,
            logvar: vec![0.0; mean.len()],
            mean,
        }
    }

    #[test]
    fn the_vector_is_the_difference_of_means_and_separated_groups_score_high() {
        let c = two_clusters();
        let plus: Vec<usize> = (0..50).collect();
        let minus: Vec<usize> = (50..100).collect();
        let v = attribute_vector(&c, &plus, &minus).unwrap();
        assert!((v[0] - 2.0).abs() < 0.05 && v[1].abs() < 0.1, "{v:?}");
        let q = attribute_quality(&c, &plus, &minus, 1).unwrap();
        assert!(q.consistency > 0.9 && q.agreeing > 0.99, "{q:?}");
        assert!(q.chance.abs() < 0.2, "{q:?}");
        assert!(attribute_quality(&c, &[0], &minus, 1).is_err());
        assert!(attribute_vector(&c, &[100], &minus).is_err());
    }
}
