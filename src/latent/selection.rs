//! Which map points a lasso or a rectangle drawn on the map takes, and how a new selection
//! combines with the one there (replace, add, subtract).
//!
//! A lasso is a closed polygon (the last point joins the first); a point is inside by the
//! even-odd rule, so a lasso that crosses itself leaves its doubly-wound parts out, as in
//! every drawing program. Speed matters: the window selects on release, over every point of
//! the map (70,000 for MNIST). Points outside the polygon's bounding box are dropped first,
//! and the polygon's edges are sorted into horizontal bands so that each point tests only the
//! few edges that cross its band, not all of them (a hand-drawn lasso has hundreds).

/// How a new selection combines with the current one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SelectMode {
    /// The new selection replaces the current one.
    #[default]
    Replace,
    /// The new points join the current ones.
    Add,
    /// The new points leave the current ones.
    Subtract,
}

/// A closed polygon prepared for many inside tests.
pub struct Polygon {
    /// The edges as (x0, y0, x1, y1), horizontal ones left out.
    edges: Vec<[f64; 4]>,
    lo: [f64; 2],
    hi: [f64; 2],
    /// The edges crossing each band of y (indices into `edges`).
    bands: Vec<Vec<u32>>,
    band_height: f64,
}

impl Polygon {
    /// The polygon through `points` (closed; fewer than three points, or a non-finite one,
    /// enclose nothing).
    pub fn new(points: &[[f64; 2]]) -> Self {
        let usable = points.len() >= 3 && points.iter().flatten().all(|v| v.is_finite());
        let points = if usable { points } else { &[] };
        let mut lo = [f64::INFINITY; 2];
        let mut hi = [f64::NEG_INFINITY; 2];
        for p in points {
            for a in 0..2 {
                lo[a] = lo[a].min(p[a]);
                hi[a] = hi[a].max(p[a]);
            }
        }
        let edges: Vec<[f64; 4]> = (0..points.len())
            .map(|k| {
                let (a, b) = (points[k], points[(k + 1) % points.len()]);
                [a[0], a[1], b[0], b[1]]
            })
            // A horizontal edge is never crossed by a horizontal ray.
            .filter(|e| e[1] != e[3])
            .collect();
        // About two edges per band: each point then tests a handful of edges.
        let count = (edges.len() / 2).clamp(1, 4096);
        let height = if hi[1] > lo[1] {
            (hi[1] - lo[1]) / count as f64
        } else {
            1.0
        };
        let mut bands = vec![Vec::new(); count];
        let band_of = |y: f64| (((y - lo[1]) / height) as usize).min(count - 1);
        for (k, e) in edges.iter().enumerate() {
            let (y0, y1) = (e[1].min(e[3]), e[1].max(e[3]));
            for band in &mut bands[band_of(y0)..=band_of(y1)] {
                band.push(k as u32);
            }
        }
        Self {
            edges,
            lo,
            hi,
            bands,
            band_height: height,
        }
    }

    /// Whether `p` lies inside (even-odd rule; points exactly on an edge may fall either way).
    pub fn contains(&self, p: [f64; 2]) -> bool {
        if self.edges.is_empty()
            || !(p[0] >= self.lo[0]
                && p[0] <= self.hi[0]
                && p[1] >= self.lo[1]
                && p[1] <= self.hi[1])
        {
            return false;
        }
        let band = (((p[1] - self.lo[1]) / self.band_height) as usize).min(self.bands.len() - 1);
        let mut inside = false;
        for &k in &self.bands[band] {
            if crosses(&self.edges[k as usize], p) {
                inside = !inside;
            }
        }
        inside
    }
}

/// Whether a ray from `p` to the right crosses edge `e` (y half-open, so a vertex shared by
/// two edges counts once).
fn crosses(e: &[f64; 4], p: [f64; 2]) -> bool {
    let [x0, y0, x1, y1] = *e;
    if (y0 > p[1]) == (y1 > p[1]) {
        return false;
    }
    let x = x0 + (p[1] - y0) / (y1 - y0) * (x1 - x0);
    p[0] < x
}

/// The plain even-odd test against every edge (what `Polygon::contains` must agree with;
/// the tests compare them).
pub fn point_in_polygon(points: &[[f64; 2]], p: [f64; 2]) -> bool {
    if points.len() < 3 {
        return false;
    }
    let mut inside = false;
    for k in 0..points.len() {
        let (a, b) = (points[k], points[(k + 1) % points.len()]);
        if crosses(&[a[0], a[1], b[0], b[1]], p) {
            inside = !inside;
        }
    }
    inside
}

/// The rows of `coords` inside the lasso `polygon`, in row order.
pub fn select_in_polygon(coords: &[[f64; 2]], polygon: &[[f64; 2]]) -> Vec<u32> {
    let poly = Polygon::new(polygon);
    (0..coords.len() as u32)
        .filter(|&k| poly.contains(coords[k as usize]))
        .collect()
}

/// The rows of `coords` inside the rectangle with corners `a` and `b` (either order).
pub fn select_in_rect(coords: &[[f64; 2]], a: [f64; 2], b: [f64; 2]) -> Vec<u32> {
    let (x0, x1) = (a[0].min(b[0]), a[0].max(b[0]));
    let (y0, y1) = (a[1].min(b[1]), a[1].max(b[1]));
    (0..coords.len() as u32)
        .filter(|&k| {
            let c = coords[k as usize];
            c[0] >= x0 && c[0] <= x1 && c[1] >= y0 && c[1] <= y1
        })
        .collect()
}

/// `current` combined with `new` (both any order, duplicates allowed): sorted, each once.
pub fn combine(current: &[u32], new: &[u32], mode: SelectMode) -> Vec<u32> {
    let sorted = |v: &[u32]| {
        let mut v = v.to_vec();
        v.sort_unstable();
        v.dedup();
        v
    };
    match mode {
        SelectMode::Replace => sorted(new),
        SelectMode::Add => sorted(&[current, new].concat()),
        SelectMode::Subtract => {
            let new = sorted(new);
            sorted(current)
                .into_iter()
                .filter(|i| new.binary_search(i).is_err())
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_square_takes_its_inside_and_a_bow_tie_follows_even_odd() {
        let square = [[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]];
        let coords = [[1.0, 1.0], [3.0, 1.0], [1.0, -0.5], [0.5, 1.9]];
        assert_eq!(select_in_polygon(&coords, &square), vec![0, 3]);
        assert_eq!(select_in_rect(&coords, [2.0, 2.0], [0.0, 0.0]), vec![0, 3]);
        // Too few points, or a NaN, enclose nothing.
        assert!(select_in_polygon(&coords, &square[..2]).is_empty());
        assert!(select_in_polygon(&coords, &[[0.0, 0.0], [f64::NAN, 1.0], [1.0, 1.0]]).is_empty());
        // A bow tie: both lobes are inside, the crossing point's neighbourhood splits.
        let bow = [[0.0, 0.0], [2.0, 2.0], [2.0, 0.0], [0.0, 2.0]];
        assert!(Polygon::new(&bow).contains([0.2, 1.0]));
        assert!(Polygon::new(&bow).contains([1.8, 1.0]));
        assert!(!Polygon::new(&bow).contains([1.0, 0.2]));
    }

    #[test]
    fn the_banded_test_agrees_with_the_plain_one_on_a_jagged_lasso() {
        // A star with 400 points: many edges per band boundary.
        let star: Vec<[f64; 2]> = (0..400)
            .map(|k| {
                let t = k as f64 / 400.0 * std::f64::consts::TAU;
                let r = if k % 2 == 0 {
                    1.0
                } else {
                    0.4 + 0.3 * (k as f64 * 0.7).sin()
                };
                [r * t.cos(), r * t.sin()]
            })
            .collect();
        let poly = Polygon::new(&star);
        for i in 0..200 {
            for j in 0..200 {
                let p = [i as f64 / 90.0 - 1.1, j as f64 / 90.0 - 1.1];
                assert_eq!(poly.contains(p), point_in_polygon(&star, p), "at {p:?}");
            }
        }
    }

    #[test]
    fn selections_combine_by_mode() {
        assert_eq!(
            combine(&[5, 1], &[3, 1, 3], SelectMode::Replace),
            vec![1, 3]
        );
        assert_eq!(combine(&[5, 1], &[3, 1], SelectMode::Add), vec![1, 3, 5]);
        assert_eq!(
            combine(&[5, 1, 3], &[3, 7], SelectMode::Subtract),
            vec![1, 5]
        );
    }
}
