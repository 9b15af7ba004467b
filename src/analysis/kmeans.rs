//! k-means clustering of codes (Lloyd's iterations from a seeded k-means++ start), and what
//! each cluster holds: its majority label, purity and a medoid.
//!
//! Written here rather than taken from linfa-clustering: see [`super::mixture`] for why. The
//! points are row-major `[n, dims]` f32 codes; sums are in f64.

use crate::error::{Error, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

/// The most clusters (and mixture components) asked for.
pub const MAX_CLUSTERS: usize = 64;

/// Lloyd iterations at most; MNIST codes settle in a few dozen.
const MAX_ITERATIONS: usize = 300;

/// Points per parallel task.
const CHUNK: usize = 4096;

/// A k-means clustering.
#[derive(Clone, Debug)]
pub struct KMeans {
    pub dims: usize,
    /// `[k, dims]`, row-major.
    pub centroids: Vec<f64>,
    /// The cluster of each point.
    pub assignments: Vec<usize>,
    /// Sum of squared distances of the points to their centroids.
    pub inertia: f64,
    pub iterations: usize,
}

impl KMeans {
    pub fn k(&self) -> usize {
        self.centroids.len() / self.dims.max(1)
    }

    pub fn centroid(&self, c: usize) -> &[f64] {
        &self.centroids[c * self.dims..(c + 1) * self.dims]
    }

    /// The nearest centroid of a point.
    pub fn predict(&self, point: &[f32]) -> usize {
        nearest(&self.centroids, self.dims, point).0
    }
}

/// Refuses a number of clusters outside 1..=[`MAX_CLUSTERS`].
pub fn check_clusters(k: usize) -> Result<()> {
    if !(1..=MAX_CLUSTERS).contains(&k) {
        return Err(Error::InvalidArgument(format!(
            "{k} clusters: the number must be from 1 to {MAX_CLUSTERS}"
        )));
    }
    Ok(())
}

/// Refuses points that cannot be clustered into `k`: empty or ragged, non-finite, fewer
/// points than clusters, or k outside 1..=[`MAX_CLUSTERS`].
pub fn check_points(points: &[f32], dims: usize, k: usize) -> Result<usize> {
    if dims == 0 || points.is_empty() || !points.len().is_multiple_of(dims) {
        return Err(Error::InvalidArgument(format!(
            "codes must be a non-empty multiple of {dims} values, got {}",
            points.len()
        )));
    }
    check_clusters(k)?;
    let n = points.len() / dims;
    if n < k {
        return Err(Error::InvalidArgument(format!(
            "{k} clusters need at least {k} codes, there are {n}"
        )));
    }
    if let Some(i) = points.iter().position(|v| !v.is_finite()) {
        return Err(Error::InvalidArgument(format!(
            "code {} holds a value that is not a finite number",
            i / dims
        )));
    }
    Ok(n)
}

pub(crate) fn squared_distance(a: &[f64], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = x - y as f64;
            d * d
        })
        .sum()
}

/// Index of the nearest centre and the squared distance to it.
fn nearest(centres: &[f64], dims: usize, point: &[f32]) -> (usize, f64) {
    centres
        .chunks_exact(dims)
        .map(|c| squared_distance(c, point))
        .enumerate()
        .fold(
            (0, f64::INFINITY),
            |best, (i, d)| {
                if d < best.1 { (i, d) } else { best }
            },
        )
}

/// k-means++ (Arthur and Vassilvitskii, 2007): each further centre is a point drawn with
/// probability proportional to its squared distance from the centres chosen so far.
fn plus_plus(points: &[f32], dims: usize, k: usize, rng: &mut StdRng) -> Vec<f64> {
    let n = points.len() / dims;
    let point = |i: usize| &points[i * dims..(i + 1) * dims];
    let first = rng.random_range(0..n);
    let mut centres: Vec<f64> = point(first).iter().map(|&v| v as f64).collect();
    let mut d2: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|i| squared_distance(&centres, point(i)))
        .collect();
    while centres.len() < k * dims {
        let total: f64 = d2.iter().sum();
        let chosen = if total > 0.0 {
            let mut target = rng.random::<f64>() * total;
            let mut chosen = n - 1;
            for (i, &d) in d2.iter().enumerate() {
                if target < d {
                    chosen = i;
                    break;
                }
                target -= d;
            }
            chosen
        } else {
            // Every point sits on a centre already (duplicates): any point will do.
            rng.random_range(0..n)
        };
        let new: Vec<f64> = point(chosen).iter().map(|&v| v as f64).collect();
        d2.par_iter_mut().enumerate().for_each(|(i, d)| {
            *d = d.min(squared_distance(&new, point(i)));
        });
        centres.extend(new);
    }
    centres
}

/// Clusters `points` (`[n, dims]`) into `k` groups, seeded: the same seed gives the same
/// clustering. Stops when no point changes cluster (or after 300 rounds). A cluster left
/// empty restarts at the point farthest from its centroid (unless every point sits on its
/// centroid, as with duplicates).
pub fn kmeans(points: &[f32], dims: usize, k: usize, seed: u64) -> Result<KMeans> {
    let n = check_points(points, dims, k)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut centroids = plus_plus(points, dims, k, &mut rng);
    let mut assignments = vec![usize::MAX; n];
    let mut distances = vec![0f64; n];
    let mut iterations = 0;
    loop {
        iterations += 1;
        let changed: usize = assignments
            .par_chunks_mut(CHUNK)
            .zip(distances.par_chunks_mut(CHUNK))
            .enumerate()
            .map(|(c, (assign, dist))| {
                let mut changed = 0;
                for (j, (a, d)) in assign.iter_mut().zip(dist.iter_mut()).enumerate() {
                    let i = c * CHUNK + j;
                    let (best, d2) = nearest(&centroids, dims, &points[i * dims..(i + 1) * dims]);
                    changed += usize::from(*a != best);
                    *a = best;
                    *d = d2;
                }
                changed
            })
            .sum();
        // New centroids: the mean of each cluster's points.
        let mut sums = vec![0f64; k * dims];
        let mut counts = vec![0usize; k];
        for (i, &a) in assignments.iter().enumerate() {
            counts[a] += 1;
            for (s, &v) in sums[a * dims..(a + 1) * dims]
                .iter_mut()
                .zip(&points[i * dims..(i + 1) * dims])
            {
                *s += v as f64;
            }
        }
        let mut refilled = false;
        for (c, &count) in counts.iter().enumerate() {
            let range = c * dims..(c + 1) * dims;
            if count == 0 {
                // The point worst served by its centroid starts this cluster afresh; when
                // every point sits on its centroid (duplicates) the centroid stays put.
                let far = (0..n)
                    .max_by(|&a, &b| distances[a].total_cmp(&distances[b]))
                    .unwrap_or(0);
                if distances[far] > 0.0 {
                    distances[far] = 0.0;
                    for (s, &v) in sums[range]
                        .iter_mut()
                        .zip(&points[far * dims..(far + 1) * dims])
                    {
                        *s = v as f64;
                    }
                    refilled = true;
                } else {
                    sums[range.clone()].copy_from_slice(&centroids[range]);
                }
                continue;
            }
            for s in &mut sums[range] {
                *s /= count as f64;
            }
        }
        centroids = sums;
        if (changed == 0 && !refilled) || iterations >= MAX_ITERATIONS {
            break;
        }
    }
    // The final assignment is to the final centroids.
    let result: Vec<(usize, f64)> = (0..n)
        .into_par_iter()
        .map(|i| nearest(&centroids, dims, &points[i * dims..(i + 1) * dims]))
        .collect();
    let inertia = result.iter().map(|r| r.1).sum();
    Ok(KMeans {
        dims,
        centroids,
        assignments: result.into_iter().map(|r| r.0).collect(),
        inertia,
        iterations,
    })
}

/// What one cluster holds.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterSummary {
    pub size: usize,
    /// The most common label among its members (None without labels or members).
    pub majority_label: Option<u16>,
    /// Members with the majority label over all members (0 without labels).
    pub purity: f64,
    /// The member (an index into the points) whose summed distance to the other members is
    /// least. For a cluster of more than [`MEDOID_SAMPLE`] members it is looked for among
    /// the [`MEDOID_CANDIDATES`] members nearest the cluster's mean, summing distances to a
    /// seeded sample of [`MEDOID_SAMPLE`] members: exact for small clusters, an estimate
    /// (a member near the middle, never an outlier) for large ones.
    pub medoid: Option<usize>,
}

/// Members compared against when finding a medoid.
pub const MEDOID_SAMPLE: usize = 2000;
/// Members tried as the medoid of a large cluster.
pub const MEDOID_CANDIDATES: usize = 200;

/// Majority label, purity and medoid of each of `k` clusters. `labels`, when given, has one
/// label per point.
pub fn summarize_clusters(
    points: &[f32],
    dims: usize,
    assignments: &[usize],
    k: usize,
    labels: Option<&[u16]>,
    seed: u64,
) -> Vec<ClusterSummary> {
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &a) in assignments.iter().enumerate() {
        if a < k {
            members[a].push(i);
        }
    }
    members
        .into_par_iter()
        .enumerate()
        .map(|(c, m)| {
            let (majority_label, purity) = majority(&m, labels);
            ClusterSummary {
                size: m.len(),
                majority_label,
                purity,
                medoid: medoid(points, dims, &m, seed.wrapping_add(c as u64)),
            }
        })
        .collect()
}

/// Members with their cluster's majority label over all points: 1/(classes) is chance for
/// balanced classes, 1 a clustering that splits the labels perfectly.
pub fn overall_purity(summaries: &[ClusterSummary]) -> f64 {
    let n: usize = summaries.iter().map(|s| s.size).sum();
    let agreeing: f64 = summaries.iter().map(|s| s.purity * s.size as f64).sum();
    if n == 0 { 0.0 } else { agreeing / n as f64 }
}

fn majority(members: &[usize], labels: Option<&[u16]>) -> (Option<u16>, f64) {
    let Some(labels) = labels else {
        return (None, 0.0);
    };
    let mut counts = std::collections::HashMap::<u16, usize>::new();
    for &i in members {
        if let Some(&l) = labels.get(i) {
            *counts.entry(l).or_default() += 1;
        }
    }
    // Ties go to the smaller label, so the answer does not depend on hash order.
    match counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
    {
        Some((label, count)) if !members.is_empty() => {
            (Some(label), count as f64 / members.len() as f64)
        }
        _ => (None, 0.0),
    }
}

fn medoid(points: &[f32], dims: usize, members: &[usize], seed: u64) -> Option<usize> {
    if members.is_empty() {
        return None;
    }
    let point = |i: usize| &points[i * dims..(i + 1) * dims];
    let distance = |a: usize, b: usize| -> f64 {
        point(a)
            .iter()
            .zip(point(b))
            .map(|(&x, &y)| ((x - y) as f64).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    let (candidates, sample): (Vec<usize>, Vec<usize>) = if members.len() <= MEDOID_SAMPLE {
        (members.to_vec(), members.to_vec())
    } else {
        let mut mean = vec![0f64; dims];
        for &i in members {
            for (m, &v) in mean.iter_mut().zip(point(i)) {
                *m += v as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= members.len() as f64);
        let mut by_centre: Vec<(f64, usize)> = members
            .iter()
            .map(|&i| (squared_distance(&mean, point(i)), i))
            .collect();
        by_centre.select_nth_unstable_by(MEDOID_CANDIDATES, |a, b| a.0.total_cmp(&b.0));
        let candidates = by_centre[..MEDOID_CANDIDATES].iter().map(|c| c.1).collect();
        let mut rng = StdRng::seed_from_u64(seed);
        let sample = rand::seq::index::sample(&mut rng, members.len(), MEDOID_SAMPLE)
            .into_iter()
            .map(|j| members[j])
            .collect();
        (candidates, sample)
    };
    candidates
        .into_iter()
        .map(|c| (sample.iter().map(|&s| distance(c, s)).sum::<f64>(), c))
        .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three tight, well-separated blobs in 3-D, 100 points each.
    fn blobs() -> (Vec<f32>, Vec<u16>) {
        let centres = [[0.0f32, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 10.0, 5.0]];
        let mut rng = StdRng::seed_from_u64(7);
        let mut points = Vec::new();
        let mut labels = Vec::new();
        for (c, centre) in centres.iter().enumerate() {
            for _ in 0..100 {
                for &v in centre {
                    points.push(v + rng.random_range(-0.5..0.5));
                }
                labels.push(c as u16);
            }
        }
        (points, labels)
    }

    #[test]
    fn separated_blobs_are_found_whole_and_pure() {
        let (points, labels) = blobs();
        let km = kmeans(&points, 3, 3, 1).unwrap();
        let summaries = summarize_clusters(&points, 3, &km.assignments, 3, Some(&labels), 1);
        let mut found: Vec<u16> = summaries
            .iter()
            .map(|s| s.majority_label.unwrap())
            .collect();
        found.sort();
        assert_eq!(found, vec![0, 1, 2]);
        assert!(summaries.iter().all(|s| s.size == 100 && s.purity == 1.0));
        assert_eq!(overall_purity(&summaries), 1.0);
        // A medoid is a member of its cluster.
        for (c, s) in summaries.iter().enumerate() {
            assert_eq!(km.assignments[s.medoid.unwrap()], c);
        }
        // Seeded: the same seed, the same clustering.
        assert_eq!(
            kmeans(&points, 3, 3, 1).unwrap().assignments,
            km.assignments
        );
    }

    #[test]
    fn the_medoid_of_a_line_is_its_middle_point() {
        let points: Vec<f32> = (0..9).map(|i| i as f32).collect();
        let summaries = summarize_clusters(&points, 1, &[0; 9], 1, None, 1);
        assert_eq!(summaries[0].medoid, Some(4));
        assert_eq!(summaries[0].majority_label, None);
    }

    #[test]
    fn bad_requests_are_refused() {
        assert!(kmeans(&[1.0, 2.0], 2, 2, 1).is_err()); // one point, two clusters
        assert!(kmeans(&[1.0, 2.0, 3.0], 2, 1, 1).is_err()); // ragged
        assert!(kmeans(&[1.0, f32::NAN], 1, 1, 1).is_err());
        assert!(kmeans(&[1.0; 200], 1, 0, 1).is_err());
        assert!(kmeans(&[1.0; 200], 1, MAX_CLUSTERS + 1, 1).is_err());
        // Identical points: three centroids, all on the one point, found at once.
        let km = kmeans(&[1.0; 20], 2, 3, 1).unwrap();
        assert_eq!(km.k(), 3);
        assert!(km.centroids.iter().all(|&c| c == 1.0) && km.iterations <= 2);
    }
}
