//! Exact k nearest neighbours of every code among all the codes, by blocks of squared
//! distances computed with `gemm` (|a|² + |b|² − 2 a·b). Exact rather than approximate: the
//! codes have few dimensions (2 to 128), so one pass over all pairs costs a few seconds for
//! 70,000 codes, and an exact graph leaves no doubt about what the maps are built from.

use crate::kernels::dense::{Weights, forward};
use gemm::Parallelism;
use rayon::prelude::*;

/// Query rows handled together by one thread.
const QUERY_BLOCK: usize = 256;
/// Candidate codes compared per gemm call (bounds the distance block at 256 x 4096 floats).
const BASE_TILE: usize = 4096;

/// Each row's `k` nearest other codes, nearest first (the row's own index never appears).
#[derive(Clone, Debug, PartialEq)]
pub struct Neighbours {
    pub k: usize,
    /// Row-major [n, k] indices.
    pub indices: Vec<u32>,
    /// Row-major [n, k] Euclidean distances (not squared), ascending per row.
    pub distances: Vec<f32>,
}

impl Neighbours {
    pub fn len(&self) -> usize {
        self.indices.len().checked_div(self.k).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    pub fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let r = i * self.k..(i + 1) * self.k;
        (&self.indices[r.clone()], &self.distances[r])
    }
}

/// The `k` nearest neighbours of each of the `n` codes (`data` row-major [n, dims]).
/// `k` must be below `n`. `progress(done_rows)` is called between batches from the calling
/// thread; returning `false` from `keep_going` stops the search (the answer is then `None`).
pub fn exact_neighbours(
    data: &[f32],
    dims: usize,
    k: usize,
    keep_going: &dyn Fn() -> bool,
    progress: &mut dyn FnMut(usize),
) -> Option<Neighbours> {
    assert!(dims > 0 && data.len().is_multiple_of(dims));
    let n = data.len() / dims;
    assert!(
        k > 0 && k < n,
        "k = {k} neighbours needs more than {k} codes, got {n}"
    );
    let norms: Vec<f32> = data
        .chunks_exact(dims)
        .map(|r| r.iter().map(|v| v * v).sum())
        .collect();
    let mut indices = vec![0u32; n * k];
    let mut distances = vec![0f32; n * k];
    // Batches of blocks between which the caller sees progress and may cancel.
    let batch_rows = QUERY_BLOCK * rayon::current_num_threads().max(1) * 4;
    let zero_bias = vec![0f32; BASE_TILE];
    for batch_start in (0..n).step_by(batch_rows) {
        if !keep_going() {
            return None;
        }
        let batch_end = (batch_start + batch_rows).min(n);
        indices[batch_start * k..batch_end * k]
            .par_chunks_mut(QUERY_BLOCK * k)
            .zip(distances[batch_start * k..batch_end * k].par_chunks_mut(QUERY_BLOCK * k))
            .enumerate()
            .for_each(|(b, (idx_out, dist_out))| {
                let q0 = batch_start + b * QUERY_BLOCK;
                let rows = idx_out.len() / k;
                search_block(
                    data, dims, &norms, q0, rows, k, &zero_bias, idx_out, dist_out,
                );
            });
        progress(batch_end);
    }
    Some(Neighbours {
        k,
        indices,
        distances,
    })
}

/// The neighbours of rows `q0..q0 + rows`, written into `idx_out` / `dist_out` ([rows, k]).
#[allow(clippy::too_many_arguments)]
fn search_block(
    data: &[f32],
    dims: usize,
    norms: &[f32],
    q0: usize,
    rows: usize,
    k: usize,
    zero_bias: &[f32],
    idx_out: &mut [u32],
    dist_out: &mut [f32],
) {
    let n = norms.len();
    let queries = &data[q0 * dims..(q0 + rows) * dims];
    // Per row: the best k so far as (squared distance, index), sorted ascending.
    let mut best: Vec<Vec<(f32, u32)>> = vec![Vec::with_capacity(k + 1); rows];
    let mut dots = vec![0f32; rows * BASE_TILE];
    for t0 in (0..n).step_by(BASE_TILE) {
        let cols = BASE_TILE.min(n - t0);
        let tile = Weights {
            w: &data[t0 * dims..(t0 + cols) * dims],
            b: &zero_bias[..cols],
            inp: dims,
            out: cols,
            input_major: false,
        };
        // dots[r, c] = query_r · code_(t0 + c)
        forward(tile, queries, rows, &mut dots, Parallelism::None);
        let base = &norms[t0..t0 + cols];
        for (r, row_best) in best.iter_mut().enumerate() {
            let qi = q0 + r;
            let qn = norms[qi];
            let row = &mut dots[r * cols..(r + 1) * cols];
            // Squared distances in place (a loop the compiler vectorises).
            for (d, &bn) in row.iter_mut().zip(base) {
                *d = (qn + bn - 2.0 * *d).max(0.0);
            }
            // Most candidates lose to the current k-th best: test them 16 at a time with a
            // vectorised count and look closer only at blocks with a winner.
            let mut worst = if row_best.len() == k {
                row_best[k - 1].0
            } else {
                f32::INFINITY
            };
            for (b, block) in row.chunks(16).enumerate() {
                if block.iter().map(|&d| (d < worst) as u32).sum::<u32>() == 0 {
                    continue;
                }
                for (c, &d) in block.iter().enumerate() {
                    let j = t0 + b * 16 + c;
                    if d >= worst || j == qi {
                        continue;
                    }
                    let at = row_best.partition_point(|&(bd, _)| bd <= d);
                    row_best.insert(at, (d, j as u32));
                    row_best.truncate(k);
                    if row_best.len() == k {
                        worst = row_best[k - 1].0;
                    }
                }
            }
        }
    }
    for (r, row_best) in best.into_iter().enumerate() {
        // The expanded form loses digits for close pairs: the kept neighbours' distances are
        // recomputed directly (and the order fixed if that changed it).
        let q = &queries[r * dims..(r + 1) * dims];
        let mut exact: Vec<(f32, u32)> = row_best
            .into_iter()
            .map(|(_, j)| {
                let c = &data[j as usize * dims..(j as usize + 1) * dims];
                let d2: f32 = q.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum();
                (d2.sqrt(), j)
            })
            .collect();
        exact.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (s, (d, j)) in exact.into_iter().enumerate() {
            idx_out[r * k + s] = j;
            dist_out[r * k + s] = d;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    #[test]
    fn matches_a_brute_force_scan() {
        let (n, dims, k) = (700, 5, 7);
        let mut rng = StdRng::seed_from_u64(3);
        let data: Vec<f32> = (0..n * dims).map(|_| rng.random_range(-2.0..2.0)).collect();
        let nb = exact_neighbours(&data, dims, k, &|| true, &mut |_| {}).unwrap();
        for i in (0..n).step_by(37) {
            let q = &data[i * dims..(i + 1) * dims];
            let mut all: Vec<(f32, u32)> = (0..n)
                .filter(|&j| j != i)
                .map(|j| {
                    let c = &data[j * dims..(j + 1) * dims];
                    let d: f32 = q.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum();
                    (d.sqrt(), j as u32)
                })
                .collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let (idx, dist) = nb.row(i);
            let want: Vec<u32> = all[..k].iter().map(|p| p.1).collect();
            assert_eq!(idx, &want[..], "row {i}");
            for (d, w) in dist.iter().zip(&all[..k]) {
                assert!((d - w.0).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn stops_when_asked() {
        let data = vec![0.5f32; 3000 * 4];
        assert!(exact_neighbours(&data, 4, 3, &|| false, &mut |_| {}).is_none());
    }
}
