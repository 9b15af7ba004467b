//! How faithful a map is to the code space: for each point of a sample, the share of its `k`
//! nearest neighbours among all the codes that are also among its `k` nearest on the map
//! (neighbourhood preservation, also called trustworthiness at k in the embedding papers).
//! 1.0 means every neighbourhood survives; a random map scores about k / n.

use rand::seq::index::sample;
use rand::{SeedableRng, rngs::StdRng};
use rayon::prelude::*;

/// The mean share over `sample_size` points drawn with `seed` (all points when the sample is
/// as large as the data); neighbours are searched exactly among all `n` points in both spaces.
pub fn neighbour_preservation(
    codes: &[f32],
    dims: usize,
    coords: &[[f32; 2]],
    k: usize,
    sample_size: usize,
    seed: u64,
) -> f64 {
    let n = coords.len();
    assert!(dims > 0 && codes.len() == n * dims);
    if n <= k || k == 0 {
        return f64::NAN;
    }
    let picked: Vec<usize> = if sample_size >= n {
        (0..n).collect()
    } else {
        sample(&mut StdRng::seed_from_u64(seed), n, sample_size).into_vec()
    };
    let kept: usize = picked
        .par_iter()
        .map(|&i| {
            let q = &codes[i * dims..(i + 1) * dims];
            let in_codes = nearest(n, i, k, |j| {
                let c = &codes[j * dims..(j + 1) * dims];
                q.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum()
            });
            let p = coords[i];
            let on_map = nearest(n, i, k, |j| {
                (coords[j][0] - p[0]).powi(2) + (coords[j][1] - p[1]).powi(2)
            });
            in_codes.iter().filter(|j| on_map.contains(j)).count()
        })
        .sum();
    kept as f64 / (picked.len() * k) as f64
}

/// Indices of the `k` smallest `dist(j)` over j != i.
fn nearest(n: usize, i: usize, k: usize, dist: impl Fn(usize) -> f32) -> Vec<usize> {
    let mut all: Vec<(f32, usize)> = (0..n).filter(|&j| j != i).map(|j| (dist(j), j)).collect();
    all.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    all.truncate(k);
    all.into_iter().map(|p| p.1).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_that_keeps_the_codes_scores_one_and_a_scrambled_one_scores_low() {
        let n = 400;
        let codes: Vec<f32> = (0..n)
            .flat_map(|i| {
                let t = i as f32 * 0.37;
                [t.cos() * (1.0 + i as f32 * 0.01), t.sin() * 2.0]
            })
            .collect();
        let same: Vec<[f32; 2]> = codes.chunks(2).map(|c| [c[0], c[1]]).collect();
        assert_eq!(neighbour_preservation(&codes, 2, &same, 10, n, 1), 1.0);
        let scrambled: Vec<[f32; 2]> = (0..n).map(|i| same[(i * 7919) % n]).collect();
        assert!(neighbour_preservation(&codes, 2, &scrambled, 10, 200, 1) < 0.2);
    }
}
