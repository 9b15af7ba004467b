//! UMAP: the `umap-rs` crate builds the fuzzy neighbour graph from our exact neighbours (the
//! smooth-kNN bandwidths, the fuzzy union) and fits the curve parameters a, b to the minimum
//! distance; the layout's gradient descent is this file's, umap-learn's epoch loop.
//!
//! Why not the crate's `Optimizer`: in umap-rs 0.4.5 its epochs read and move the other end
//! of every edge in a copy of the layout taken when `step_epochs` is called (so those moves
//! are thrown away and the layout it attracts to lags behind), and its gradients carry an
//! extra factor of d² in `a·d^(2b)·d² + 1` compared with umap-learn's `a·d^(2b) + 1`. On
//! 2,000 real codes its maps kept about as few neighbourhoods as PCA. The loop below follows
//! umap-learn's `optimize_layout_euclidean` (sequential, so a seed gives the same map), and
//! runs in steps so the layout can be shown and a cancel lands between them.

use super::{CancelFlag, LayoutParams, LayoutProgress, Neighbours, Stage};
use ndarray::{Array2, ArrayView2};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use umap_rs::{GraphParams, ManifoldParams, Umap, UmapConfig};

/// Epochs between reports.
const STEP: usize = 5;
/// Negative samples per positive one, and the repulsion weight (umap-learn's defaults).
const NEGATIVE_SAMPLE_RATE: f64 = 5.0;
const GAMMA: f32 = 1.0;

/// umap-learn's schedule: 500 epochs for up to 10,000 points, 200 above.
pub fn epochs_for(n: usize) -> usize {
    if n <= 10_000 { 500 } else { 200 }
}

/// Fits from `start` (row-major x, y); None when cancelled.
pub fn run(
    codes: &[f32],
    dims: usize,
    neighbours: &Neighbours,
    start: Vec<f32>,
    params: &LayoutParams,
    cancel: &CancelFlag,
    progress: &mut dyn FnMut(&LayoutProgress),
) -> Option<Vec<f32>> {
    let n = neighbours.len();
    let k = neighbours.k + 1;
    // umap-learn's convention: each row starts with the point itself at distance 0.
    let mut indices = Array2::<u32>::zeros((n, k));
    let mut distances = Array2::<f32>::zeros((n, k));
    for i in 0..n {
        let (idx, dist) = neighbours.row(i);
        indices[(i, 0)] = i as u32;
        for s in 0..neighbours.k {
            indices[(i, s + 1)] = idx[s];
            distances[(i, s + 1)] = dist[s];
        }
    }
    let config = UmapConfig {
        n_components: 2,
        manifold: ManifoldParams {
            min_dist: params.min_dist,
            ..ManifoldParams::default()
        },
        graph: GraphParams {
            n_neighbors: k,
            ..GraphParams::default()
        },
        ..UmapConfig::default()
    };
    let data = ArrayView2::from_shape((n, dims), codes).ok()?;
    let manifold = Umap::new(config).learn_manifold(data, indices.view(), distances.view());
    drop((indices, distances));
    if cancel.is_cancelled() {
        return None;
    }
    let (a, b) = manifold.curve_params();
    let epochs = epochs_for(n);
    let mut sgd = Sgd::new(&manifold, epochs, scaled_start(start), a, b, params.seed);
    while sgd.epoch < epochs {
        if cancel.is_cancelled() {
            return None;
        }
        for _ in 0..STEP.min(epochs - sgd.epoch) {
            sgd.epoch_step(epochs);
        }
        progress(&LayoutProgress {
            stage: Stage::Optimising,
            done: sgd.epoch,
            total: epochs,
            coords: Some(&sgd.y),
        });
    }
    Some(sgd.y)
}

/// umap-learn scales its start layout into [0, 10] on each axis.
fn scaled_start(mut y: Vec<f32>) -> Vec<f32> {
    for axis in 0..2 {
        let (lo, hi) = y
            .iter()
            .skip(axis)
            .step_by(2)
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
                (l.min(v), h.max(v))
            });
        let span = (hi - lo).max(1e-12);
        y.iter_mut()
            .skip(axis)
            .step_by(2)
            .for_each(|v| *v = 10.0 * (*v - lo) / span);
    }
    y
}

/// The edges of the fuzzy graph with their sampling schedule, and the layout.
struct Sgd {
    head: Vec<u32>,
    tail: Vec<u32>,
    epochs_per_sample: Vec<f64>,
    next_sample: Vec<f64>,
    next_negative: Vec<f64>,
    y: Vec<f32>,
    a: f32,
    b: f32,
    n: usize,
    epoch: usize,
    rng: SmallRng,
}

impl Sgd {
    fn new(
        manifold: &umap_rs::LearnedManifold,
        epochs: usize,
        y: Vec<f32>,
        a: f32,
        b: f32,
        seed: u64,
    ) -> Self {
        let graph = manifold.graph();
        let max_w = graph.data().iter().copied().fold(0f32, f32::max);
        // Edges too weak to be sampled once in the whole run are dropped (as umap-learn does).
        let floor = max_w / epochs as f32;
        let (mut head, mut tail, mut epochs_per_sample) = (Vec::new(), Vec::new(), Vec::new());
        for (row, vec) in graph.outer_iterator().enumerate() {
            for (col, &w) in vec.iter() {
                if w >= floor && w > 0.0 {
                    head.push(row as u32);
                    tail.push(col as u32);
                    epochs_per_sample.push(max_w as f64 / w as f64);
                }
            }
        }
        let next_negative = epochs_per_sample
            .iter()
            .map(|e| e / NEGATIVE_SAMPLE_RATE)
            .collect();
        Self {
            next_sample: epochs_per_sample.clone(),
            next_negative,
            head,
            tail,
            epochs_per_sample,
            n: y.len() / 2,
            y,
            a,
            b,
            epoch: 0,
            rng: SmallRng::seed_from_u64(seed),
        }
    }

    /// One epoch of umap-learn's `optimize_layout_euclidean` (head and tail the same layout).
    fn epoch_step(&mut self, epochs: usize) {
        let now = self.epoch as f64;
        let alpha = 1.0 - self.epoch as f32 / epochs as f32;
        let (a, b) = (self.a, self.b);
        let y = &mut self.y;
        for e in 0..self.head.len() {
            if self.next_sample[e] > now {
                continue;
            }
            let (j, k) = (self.head[e] as usize, self.tail[e] as usize);
            let (dx, dy) = (y[2 * j] - y[2 * k], y[2 * j + 1] - y[2 * k + 1]);
            let d2 = dx * dx + dy * dy;
            if d2 > 0.0 {
                // d²^(b-1) from d²^b: one pow per edge instead of two (pow is most of the loop).
                let pb = d2.powf(b);
                let coeff = -2.0 * a * b * (pb / d2) / (a * pb + 1.0);
                let (gx, gy) = (clip(coeff * dx) * alpha, clip(coeff * dy) * alpha);
                y[2 * j] += gx;
                y[2 * j + 1] += gy;
                y[2 * k] -= gx;
                y[2 * k + 1] -= gy;
            }
            self.next_sample[e] += self.epochs_per_sample[e];
            let per_negative = self.epochs_per_sample[e] / NEGATIVE_SAMPLE_RATE;
            let negatives = ((now - self.next_negative[e]) / per_negative).max(0.0) as usize;
            for _ in 0..negatives {
                let k = self.rng.random_range(0..self.n);
                if k == j {
                    continue;
                }
                let (dx, dy) = (y[2 * j] - y[2 * k], y[2 * j + 1] - y[2 * k + 1]);
                let d2 = dx * dx + dy * dy;
                if d2 > 0.0 {
                    let coeff = 2.0 * GAMMA * b / ((0.001 + d2) * (a * d2.powf(b) + 1.0));
                    y[2 * j] += clip(coeff * dx) * alpha;
                    y[2 * j + 1] += clip(coeff * dy) * alpha;
                }
            }
            self.next_negative[e] += negatives as f64 * per_negative;
        }
        self.epoch += 1;
    }
}

fn clip(v: f32) -> f32 {
    v.clamp(-4.0, 4.0)
}
