//! Latent traversals, the figure of every beta-VAE paper: one row per latent dimension (or
//! principal direction of the codes), one column per value along it, every other coordinate
//! held at a start code (the prior's centre or a chosen sample's code).
//!
//! A row moves along a unit direction `a` and puts the code's coordinate `a . z` at each
//! value in turn: `z = start + (t - a . start) a`. Along a latent axis that simply sets
//! `z[d] = t`; the values are absolute, so every row reads the same whatever the start.

use super::Pca;
use crate::data::ImageShape;
use crate::error::{Error, Result};
use crate::model::{ACTIVE_KL_THRESHOLD, Codes, Model};
use serde::{Deserialize, Serialize};

/// Most values a row sweeps.
pub const MAX_STEPS: usize = 64;

/// Where the values of a row come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TraversalRange {
    /// The prior: -k..+k (N(0, 1) along every unit direction).
    #[default]
    Prior,
    /// The codes' own spread: the aggregate posterior's mean +- k of its standard deviations
    /// along the direction (the spread of the means plus the average posterior variance).
    Spread,
    /// The smallest to the largest posterior mean along the direction.
    MinMax,
}

impl TraversalRange {
    /// The usual width in standard deviations: 3 for the prior, 2 for the codes' spread.
    pub fn default_sigmas(self) -> f32 {
        match self {
            TraversalRange::Prior => 3.0,
            TraversalRange::Spread | TraversalRange::MinMax => 2.0,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TraversalRange::Prior => "prior",
            TraversalRange::Spread => "spread",
            TraversalRange::MinMax => "minmax",
        }
    }
}

impl std::str::FromStr for TraversalRange {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "prior" => Ok(Self::Prior),
            "spread" => Ok(Self::Spread),
            "minmax" | "min-max" => Ok(Self::MinMax),
            other => Err(format!(
                "range '{other}' is not one of prior, spread, minmax"
            )),
        }
    }
}

/// Which rows are drawn.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DimSelection {
    #[default]
    All,
    /// Only the dimensions whose mean KL exceeds [`ACTIVE_KL_THRESHOLD`]; with principal
    /// directions, as many leading directions as there are active dimensions.
    Active,
    /// These dimensions (or principal directions, counted from 0).
    List(Vec<usize>),
}

impl std::str::FromStr for DimSelection {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim() {
            "all" => Ok(Self::All),
            "active" => Ok(Self::Active),
            list => list
                .split(',')
                .map(|v| {
                    v.trim()
                        .parse::<usize>()
                        .map_err(|_| format!("dims '{s}' is not all, active or a list like 0,3,5"))
                })
                .collect::<std::result::Result<Vec<_>, _>>()
                .map(Self::List),
        }
    }
}

/// What a traversal shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraversalSpec {
    pub range: TraversalRange,
    /// Half-width in standard deviations for [`TraversalRange::Prior`] and
    /// [`TraversalRange::Spread`].
    pub sigmas: f32,
    /// Values per row, ends included (2..=[`MAX_STEPS`]).
    pub steps: usize,
    pub dims: DimSelection,
    /// Rows along the principal directions of the codes' means instead of the latent axes.
    pub principal: bool,
    /// Latent axes ordered by mean KL, most informative first (principal directions are
    /// always in order of the variance they explain).
    pub order_by_kl: bool,
    /// The code the other coordinates are held at (None: the prior's centre, all zeros).
    pub start: Option<Vec<f32>>,
}

impl Default for TraversalSpec {
    fn default() -> Self {
        Self {
            range: TraversalRange::Prior,
            sigmas: 3.0,
            steps: 9,
            dims: DimSelection::All,
            principal: false,
            order_by_kl: true,
            start: None,
        }
    }
}

impl TraversalSpec {
    /// Whether it needs encoded samples (a range from the codes, the KL order or principal
    /// directions).
    pub fn needs_codes(&self) -> bool {
        self.range != TraversalRange::Prior
            || self.principal
            || self.order_by_kl
            || self.dims == DimSelection::Active
    }
}

/// The direction a row sweeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Latent dimension d.
    Axis(usize),
    /// Principal direction k of the codes' means (0: the most variance).
    Principal(usize),
}

/// One row: its direction, what is known of it, and the values it takes.
#[derive(Clone, Debug, PartialEq)]
pub struct TraversalRow {
    pub direction: Direction,
    /// Mean KL(q(z|x) || N(0, 1)) of the dimension over the codes (latent axes with codes).
    pub kl: Option<f32>,
    /// Fraction of the means' variance the direction explains (principal directions).
    pub explained: Option<f32>,
    /// The coordinate along the direction in each column.
    pub values: Vec<f32>,
}

impl TraversalRow {
    /// The row's name and figures, one short line each (for a figure's margin).
    pub fn label_lines(&self) -> Vec<String> {
        let mut lines = vec![match self.direction {
            Direction::Axis(d) => format!("z{d}"),
            Direction::Principal(k) => format!("PC{}", k + 1),
        }];
        if let Some(kl) = self.kl {
            lines.push(format!("KL {kl:.2}"));
        }
        if let Some(e) = self.explained {
            lines.push(format!("{:.0}% var", e * 100.0));
        }
        lines
    }

    /// The row's name and figures on one line.
    pub fn label(&self) -> String {
        self.label_lines().join("  ")
    }
}

/// The codes of a traversal, before decoding.
#[derive(Clone, Debug, PartialEq)]
pub struct TraversalPlan {
    pub rows: Vec<TraversalRow>,
    /// What each column is: a value (prior), a multiple of sigma (spread) or a share of the
    /// way from min to max.
    pub column_labels: Vec<String>,
    pub latent: usize,
    /// The code every row starts from.
    pub start: Vec<f32>,
    /// The unit direction of each row.
    directions: Vec<Vec<f32>>,
}

impl TraversalPlan {
    pub fn steps(&self) -> usize {
        self.column_labels.len()
    }

    /// Every code, row after row, [rows * steps, latent] row-major.
    pub fn codes(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.rows.len() * self.steps() * self.latent);
        for (row, a) in self.rows.iter().zip(&self.directions) {
            let at_start: f32 = a.iter().zip(&self.start).map(|(a, s)| a * s).sum();
            for &t in &row.values {
                let from = out.len();
                out.extend(
                    self.start
                        .iter()
                        .zip(a)
                        .map(|(s, a)| s + (t - at_start) * a),
                );
                // Along an axis the value is set exactly (no rounding in s + (t - s)).
                if let Direction::Axis(d) = row.direction {
                    out[from + d] = t;
                }
            }
        }
        out
    }
}

/// A decoded traversal: `rows x steps` images, row-major.
#[derive(Clone, Debug)]
pub struct TraversalGrid {
    pub plan: TraversalPlan,
    pub images: Vec<f32>,
    pub shape: ImageShape,
}

impl TraversalGrid {
    pub fn rows(&self) -> usize {
        self.plan.rows.len()
    }

    pub fn columns(&self) -> usize {
        self.plan.steps()
    }

    /// The image in row r, column c.
    pub fn image(&self, r: usize, c: usize) -> Option<&[f32]> {
        let d = self.shape.len();
        let k = r.checked_mul(self.columns())?.checked_add(c)?;
        (c < self.columns()).then_some(())?;
        self.images.get(k * d..(k + 1) * d)
    }

    /// The grid as a picture with each row's name and KL on the left and each column's value
    /// on top, each image pixel `scale` pixels wide.
    pub fn picture(&self, scale: u32) -> Result<image::DynamicImage> {
        let rows: Vec<Vec<String>> = self.plan.rows.iter().map(|r| r.label_lines()).collect();
        crate::figure::labelled_grid(
            &self.images,
            self.shape,
            self.columns(),
            scale,
            &rows,
            &self.plan.column_labels,
        )
    }

    /// Frames of the animation: each row swept forward and back in turn, one frame per value,
    /// the turning values shown once: `2 * steps - 2` frames a row.
    pub fn frame_order(&self) -> Vec<(usize, usize)> {
        let s = self.columns();
        let mut order = Vec::new();
        for r in 0..self.rows() {
            order.extend((0..s).map(|c| (r, c)));
            order.extend((1..s.saturating_sub(1)).rev().map(|c| (r, c)));
        }
        order
    }

    /// The animated GIF (see [`Self::frame_order`]), each frame captioned with its row and
    /// value, shown `frame_ms` milliseconds.
    pub fn gif(&self, scale: u32, frame_ms: u32) -> Result<Vec<u8>> {
        let order = self.frame_order();
        let caption = |r: usize, c: usize| {
            let row = &self.plan.rows[r];
            let name = &row.label_lines()[0];
            format!("{name} = {:+.2}", row.values[c])
        };
        let width = order
            .iter()
            .map(|&(r, c)| crate::figure::text_width(&caption(r, c), 1) + 8)
            .max()
            .unwrap_or(0);
        let frames = order
            .iter()
            .map(|&(r, c)| {
                let image = self.image(r, c).ok_or_else(|| {
                    Error::InvalidArgument(format!("the grid has no image at row {r}, column {c}"))
                })?;
                crate::figure::captioned_frame(image, self.shape, scale, &caption(r, c), width)
            })
            .collect::<Result<Vec<_>>>()?;
        crate::figure::encode_gif(&frames, frame_ms)
    }

    /// Writes the labelled grid as PNG, atomically.
    pub fn save_png(&self, path: &std::path::Path, scale: u32) -> Result<()> {
        crate::render::save_png(&self.picture(scale)?, path)
    }

    /// Writes the animation as GIF, atomically.
    pub fn save_gif(&self, path: &std::path::Path, scale: u32, frame_ms: u32) -> Result<()> {
        crate::atomic::write_atomically(path, &self.gif(scale, frame_ms)?)
    }
}

/// What the codes say about one direction.
struct DirectionStats {
    mean: f32,
    /// Standard deviation of the aggregate posterior along the direction.
    sd: f32,
    min: f32,
    max: f32,
}

fn direction_stats(codes: &Codes, a: &[f32]) -> DirectionStats {
    let l = codes.latent;
    let (mut sum, mut sum_sq, mut post_var) = (0f64, 0f64, 0f64);
    let (mut min, mut max) = (f32::INFINITY, f32::NEG_INFINITY);
    for (m, lv) in codes.mean.chunks_exact(l).zip(codes.logvar.chunks_exact(l)) {
        let p: f32 = m.iter().zip(a).map(|(m, a)| m * a).sum();
        sum += p as f64;
        sum_sq += (p as f64) * (p as f64);
        post_var += lv
            .iter()
            .zip(a)
            .map(|(lv, a)| (a * a) as f64 * (*lv as f64).exp())
            .sum::<f64>();
        min = min.min(p);
        max = max.max(p);
    }
    let n = codes.len().max(1) as f64;
    let mean = sum / n;
    // The law of total variance: the spread of the means plus the mean posterior variance.
    let var = (sum_sq / n - mean * mean).max(0.0) + post_var / n;
    DirectionStats {
        mean: mean as f32,
        sd: var.sqrt() as f32,
        min,
        max,
    }
}

fn linspace(lo: f32, hi: f32, steps: usize) -> Vec<f32> {
    (0..steps)
        .map(|k| lo + (hi - lo) * k as f32 / (steps - 1) as f32)
        .collect()
}

/// The rows and codes of a traversal for a model with `latent` dimensions. `codes` (posterior
/// means and log-variances of samples) are needed for a range from the codes, the KL order,
/// active dimensions and principal directions ([`TraversalSpec::needs_codes`]).
pub fn plan_traversal(
    spec: &TraversalSpec,
    latent: usize,
    codes: Option<&Codes>,
) -> Result<TraversalPlan> {
    let bad = |m: String| Err(Error::InvalidArgument(m));
    if latent == 0 {
        return bad("the model has no latent dimensions".into());
    }
    if !(2..=MAX_STEPS).contains(&spec.steps) {
        return bad(format!("steps must be 2..={MAX_STEPS}, got {}", spec.steps));
    }
    if !(spec.sigmas.is_finite() && spec.sigmas > 0.0 && spec.sigmas <= 10.0) {
        return bad(format!(
            "sigmas must be above 0 and at most 10, got {}",
            spec.sigmas
        ));
    }
    let start = match &spec.start {
        None => vec![0.0; latent],
        Some(s) if s.len() == latent && s.iter().all(|v| v.is_finite()) => s.clone(),
        Some(s) => {
            return bad(format!(
                "the start code must be {latent} finite values, got {} values",
                s.len()
            ));
        }
    };
    let codes = match codes {
        Some(c) if c.latent != latent => {
            return bad(format!(
                "the codes have {} dimensions, the model {latent}",
                c.latent
            ));
        }
        Some(c) if c.is_empty() => None,
        other => other,
    };
    if spec.needs_codes() && codes.is_none() {
        let why = if spec.range != TraversalRange::Prior {
            format!("the {} range", spec.range.name())
        } else if spec.principal {
            "principal directions".into()
        } else if spec.dims == DimSelection::Active {
            "hiding inactive dimensions".into()
        } else {
            "ordering by KL".into()
        };
        return bad(format!("{why} needs encoded samples (a dataset)"));
    }
    let kl = codes.map(|c| c.kl_per_dim());
    let active = kl
        .as_ref()
        .map(|kl| kl.iter().filter(|&&k| k > ACTIVE_KL_THRESHOLD).count());

    // The candidate rows, in their natural order, with their unit directions.
    let row = |direction, kl, explained| TraversalRow {
        direction,
        kl,
        explained,
        values: Vec::new(),
    };
    let mut candidates: Vec<(TraversalRow, Vec<f32>)> = if spec.principal {
        let Some(c) = codes else {
            return bad("principal directions need encoded samples (a dataset)".into());
        };
        let pca = Pca::fit(&c.mean, latent, latent)?;
        let ratio = pca.explained_ratio();
        pca.components
            .into_iter()
            .enumerate()
            .map(|(k, axis)| (row(Direction::Principal(k), None, Some(ratio[k])), axis))
            .collect()
    } else {
        (0..latent)
            .map(|d| {
                let mut axis = vec![0.0; latent];
                axis[d] = 1.0;
                (
                    row(Direction::Axis(d), kl.as_ref().map(|k| k[d]), None),
                    axis,
                )
            })
            .collect()
    };
    match &spec.dims {
        DimSelection::All => {}
        DimSelection::Active => {
            if spec.principal {
                candidates.truncate(active.unwrap_or(latent).max(1));
            } else {
                candidates.retain(|c| c.0.kl.is_some_and(|k| k > ACTIVE_KL_THRESHOLD));
            }
        }
        DimSelection::List(list) => {
            let what = if spec.principal {
                "principal direction"
            } else {
                "dimension"
            };
            if list.is_empty() {
                return bad("the list of dimensions is empty".into());
            }
            let mut seen = std::collections::HashSet::new();
            for &d in list {
                if d >= candidates.len() {
                    return bad(format!(
                        "{what} {d} is out of range: the model has {latent} (0..{latent})"
                    ));
                }
                if !seen.insert(d) {
                    return bad(format!("{what} {d} is listed twice"));
                }
            }
            candidates = list.iter().map(|&d| candidates[d].clone()).collect();
        }
    }
    if candidates.is_empty() {
        return bad(format!(
            "no latent dimension is active (mean KL above {ACTIVE_KL_THRESHOLD} nats): the model ignores its codes"
        ));
    }
    if spec.order_by_kl && !spec.principal {
        // Stable: equal KLs keep their dimension order.
        candidates.sort_by(|a, b| b.0.kl.unwrap_or(0.0).total_cmp(&a.0.kl.unwrap_or(0.0)));
    }

    let k = spec.sigmas;
    let steps = spec.steps;
    let mut rows = Vec::with_capacity(candidates.len());
    let mut directions = Vec::with_capacity(candidates.len());
    for (mut row, axis) in candidates {
        let values = match (spec.range, codes) {
            (TraversalRange::Prior, _) => linspace(-k, k, steps),
            (TraversalRange::Spread, Some(c)) => {
                let s = direction_stats(c, &axis);
                linspace(s.mean - k * s.sd, s.mean + k * s.sd, steps)
            }
            (TraversalRange::MinMax, Some(c)) => {
                let s = direction_stats(c, &axis);
                linspace(s.min, s.max, steps)
            }
            (range, None) => {
                return bad(format!(
                    "the {} range needs encoded samples (a dataset)",
                    range.name()
                ));
            }
        };
        row.values = values;
        rows.push(row);
        directions.push(axis);
    }
    let column_labels = match spec.range {
        TraversalRange::Prior => linspace(-k, k, steps)
            .iter()
            .map(|v| format!("{v:+.1}"))
            .collect(),
        TraversalRange::Spread => linspace(-k, k, steps)
            .iter()
            .map(|v| format!("{v:+.1}\u{3c3}"))
            .collect(),
        TraversalRange::MinMax => (0..steps)
            .map(|c| match c {
                0 => "min".to_string(),
                c if c == steps - 1 => "max".to_string(),
                c => format!("{:.0}%", 100.0 * c as f32 / (steps - 1) as f32),
            })
            .collect(),
    };
    Ok(TraversalPlan {
        rows,
        column_labels,
        latent,
        start,
        directions,
    })
}

/// Plans and decodes a traversal with an unconditional `model` (in batches, through
/// [`Model::decode`]); a conditional model refuses (see [`traverse_as`]).
pub fn traverse(
    model: &Model,
    spec: &TraversalSpec,
    codes: Option<&Codes>,
) -> Result<TraversalGrid> {
    traverse_as(model, spec, codes, crate::model::Classes::None)
}

/// [`traverse`] with every frame decoded as `classes` (a conditional model's class).
pub fn traverse_as(
    model: &Model,
    spec: &TraversalSpec,
    codes: Option<&Codes>,
    classes: crate::model::Classes,
) -> Result<TraversalGrid> {
    let plan = plan_traversal(spec, model.latent(), codes)?;
    let frames = (plan.rows.len() * plan.steps()) as u64;
    crate::budget::Budget::current().check_frames(frames, model.config().input, model.latent())?;
    let images = model.decode_as(&plan.codes(), classes)?;
    Ok(TraversalGrid {
        plan,
        images,
        shape: model.config().input,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes() -> Codes {
        // Dimension 0 spread out and informative, dimension 1 collapsed onto the prior.
        let mut mean = Vec::new();
        let mut logvar = Vec::new();
        for i in 0..100 {
            mean.extend([(i as f32 - 49.5) / 20.0, 0.0]);
            logvar.extend([-4.0, 0.0]);
        }
        Codes {
            latent: 2,
            mean,
            logvar,
        }
    }

    #[test]
    fn axis_rows_set_one_coordinate() {
        let spec = TraversalSpec {
            steps: 5,
            order_by_kl: false,
            start: Some(vec![0.5, -0.25]),
            ..Default::default()
        };
        let plan = plan_traversal(&spec, 2, None).unwrap();
        let codes = plan.codes();
        assert_eq!(codes.len(), 2 * 5 * 2);
        // Row 0 sweeps z0 from -3 to 3 with z1 held at the start.
        assert_eq!(&codes[0..2], &[-3.0, -0.25]);
        assert_eq!(&codes[8..10], &[3.0, -0.25]);
        // Row 1 sweeps z1 with z0 held.
        assert_eq!(&codes[10..12], &[0.5, -3.0]);
    }

    #[test]
    fn kl_orders_and_hides() {
        let c = codes();
        let spec = TraversalSpec {
            dims: DimSelection::Active,
            range: TraversalRange::MinMax,
            ..Default::default()
        };
        let plan = plan_traversal(&spec, 2, Some(&c)).unwrap();
        assert_eq!(plan.rows.len(), 1);
        assert_eq!(plan.rows[0].direction, Direction::Axis(0));
        assert!((plan.rows[0].values[0] + 49.5 / 20.0).abs() < 1e-5);
        assert!(plan_traversal(&spec, 2, None).is_err());
    }

    #[test]
    fn bad_specs_are_refused() {
        let spec = |f: fn(&mut TraversalSpec)| {
            let mut s = TraversalSpec {
                order_by_kl: false,
                ..Default::default()
            };
            f(&mut s);
            plan_traversal(&s, 2, None)
        };
        assert!(spec(|s| s.steps = 1).is_err());
        assert!(spec(|s| s.sigmas = f32::NAN).is_err());
        assert!(spec(|s| s.dims = DimSelection::List(vec![2])).is_err());
        assert!(spec(|s| s.dims = DimSelection::List(vec![1, 1])).is_err());
        assert!(spec(|s| s.start = Some(vec![0.0])).is_err());
        assert!(spec(|_| {}).is_ok());
    }
}
