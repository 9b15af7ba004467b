//! The latent map's data: which samples are on it, their codes, and where each lands in 2D
//! (the codes themselves at latent 2; PCA, two chosen axes, t-SNE or UMAP above). Kept apart
//! from drawing so the export and the tests use the same positions the window shows.
//!
//! A t-SNE or UMAP map has no formula between codes and positions: both directions go through
//! the nearest points (see `latent::layout::LayoutLookup`), so the probe, the hover preview
//! and the decoded background still decode there. Until a run's first layout arrives the map
//! shows the PCA it starts from.

use super::map_layouts::{LayoutFrame, LayoutKey, LayoutStatus};
use super::map_raster::PointGrid;
use super::state::{Projection, Settings};
use crate::data::Dataset;
use crate::latent::Pca;
use crate::model::Codes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Class colours (Tableau 10), repeated for more classes.
pub const CLASS_COLOURS: [[u8; 3]; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];

pub fn class_colour(label: Option<u16>) -> [u8; 3] {
    match label {
        Some(l) => CLASS_COLOURS[l as usize % CLASS_COLOURS.len()],
        None => [90, 140, 220],
    }
}

/// An ellipse on the map: centre, semi-axes (at one standard deviation) and angle (radians).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ellipse {
    pub centre: [f64; 2],
    pub semi_axes: [f64; 2],
    pub angle: f64,
}

impl Ellipse {
    /// The point at parameter `t` (radians) of the ellipse scaled to `sigmas`.
    pub fn point(&self, sigmas: f64, t: f64) -> [f64; 2] {
        let (ct, st) = (self.angle.cos(), self.angle.sin());
        let (u, v) = (
            sigmas * self.semi_axes[0] * t.cos(),
            sigmas * self.semi_axes[1] * t.sin(),
        );
        [
            self.centre[0] + ct * u - st * v,
            self.centre[1] + st * u + ct * v,
        ]
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct ProjectionKey {
    projection: Projection,
    axis_x: usize,
    axis_y: usize,
    layout: Option<LayoutKey>,
    /// The attribute vector of semantic axes (its index and a hash of its values).
    semantic: Option<(usize, u64)>,
}

/// Codes projected onto a non-linear map lately: the overlays ask for the same few (probe,
/// strip, path) every frame, and each costs a scan of all the codes.
const PROJECT_CACHE: usize = 64;

#[derive(Default)]
pub struct MapState {
    /// Dataset indices on the map, in map order.
    pub indices: Arc<Vec<usize>>,
    /// Map position of each dataset index.
    position: HashMap<usize, usize>,
    pub codes: Option<Codes>,
    /// The codes' average KL of each latent dimension (the Training panel's bars read it at
    /// every frame: over 70,000 codes it cost a few milliseconds a frame to recompute).
    pub kl_per_dim: Vec<f32>,
    /// 2D position of each point, in map order.
    pub coords: Vec<[f64; 2]>,
    pub pca: Option<Pca>,
    /// How long the last full encode took on the worker.
    pub encode_secs: f64,
    /// The newest encode asked for (only its answer is used).
    pub serial: u64,
    /// The newest encode whose answer (codes or an error) the window has taken in. Below
    /// `serial`, codes are on their way: the jobs thread's count of encodes in flight drops
    /// as soon as it has sent the answer, a moment before the window reads it.
    pub answered: u64,
    /// Bumped whenever the codes change (scores and neighbours key on it).
    pub codes_version: u64,
    key: Option<ProjectionKey>,
    /// Bumped whenever positions change (drawing caches key on it).
    pub version: u64,
    /// Spatial index of `coords` for picking.
    grid: PointGrid,
    /// Bumped when the view should fit the points again (another model or dataset).
    pub fit_version: u64,
    /// The t-SNE / UMAP layout the points are drawn at now (None: PCA or axes).
    shown_layout: Option<Arc<LayoutFrame>>,
    /// Finished layouts of this dataset and model by method and parameters, each with the
    /// codes version it was made from (switching back to one is instant).
    pub layouts: HashMap<LayoutKey, (u64, Arc<LayoutFrame>)>,
    /// The newest layout of the run in progress.
    pub live: Option<(LayoutKey, Arc<LayoutFrame>)>,
    /// The run in progress, as the map panel shows it.
    pub layout_status: Option<LayoutStatus>,
    project_cache: Mutex<Vec<(Vec<f32>, [f64; 2])>>,
}

fn key_of(settings: &Settings, latent: usize) -> ProjectionKey {
    ProjectionKey {
        projection: settings.projection,
        axis_x: settings.axis_x,
        axis_y: settings.axis_y,
        layout: layout_key(settings, latent),
        semantic: semantic_vector(settings, latent).map(|(k, v)| {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            v.iter().for_each(|x| x.to_bits().hash(&mut h));
            (k, h.finish())
        }),
    }
}

/// The attribute vector semantic axes lay the map along, when chosen and of this latent size.
fn semantic_vector(settings: &Settings, latent: usize) -> Option<(usize, &[f32])> {
    if settings.projection != Projection::Semantic || latent <= 2 {
        return None;
    }
    let k = settings.semantic_attribute?;
    let a = settings.attributes.get(k)?;
    (a.vector.len() == latent).then_some((k, a.vector.as_slice()))
}

/// The t-SNE / UMAP layout `settings` ask for (only above two dims: at two the map is the
/// codes themselves).
fn layout_key(settings: &Settings, latent: usize) -> Option<LayoutKey> {
    let method = settings.projection.layout_method().filter(|_| latent > 2)?;
    Some(LayoutKey::new(method, &settings.layout))
}

impl MapState {
    pub fn new(indices: Arc<Vec<usize>>) -> Self {
        let position = indices.iter().enumerate().map(|(k, &i)| (i, k)).collect();
        Self {
            indices,
            position,
            fit_version: 1,
            ..Self::default()
        }
    }

    /// Drops the codes (another model): nothing is drawn until the new ones arrive, and the
    /// view fits them then.
    pub fn clear_codes(&mut self) {
        self.codes = None;
        self.kl_per_dim.clear();
        self.coords.clear();
        self.pca = None;
        self.key = None;
        self.grid = PointGrid::build(&[]);
        self.shown_layout = None;
        self.layouts.clear();
        self.live = None;
        self.layout_status = None;
        self.clear_project_cache();
        self.version += 1;
        self.codes_version += 1;
        self.fit_version += 1;
    }

    pub fn latent(&self) -> usize {
        self.codes.as_ref().map(|c| c.latent).unwrap_or(0)
    }

    /// Uses the PCA only above two dims, when chosen or while a non-linear map is not there
    /// yet (t-SNE and UMAP start from it), or semantic axes have no attribute vector yet.
    fn uses_pca(&self, settings: &Settings) -> bool {
        self.latent() > 2 && settings.projection != Projection::Axes
    }

    /// The t-SNE / UMAP layout the settings ask for, when the map has codes to lay out.
    pub fn wanted_layout(&self, settings: &Settings) -> Option<LayoutKey> {
        self.codes.as_ref()?;
        layout_key(settings, self.latent())
    }

    /// A finished layout of `key` made from the current codes.
    pub fn has_current_layout(&self, key: LayoutKey) -> bool {
        self.layouts
            .get(&key)
            .is_some_and(|(v, _)| *v == self.codes_version)
    }

    /// The layout to draw for the settings: a finished one (possibly of older codes while a
    /// newer run works), else the run's newest, else none (PCA meanwhile).
    fn layout_to_show(&self, settings: &Settings) -> Option<Arc<LayoutFrame>> {
        let key = layout_key(settings, self.latent())?;
        let n = self.indices.len();
        self.layouts
            .get(&key)
            .map(|(_, f)| f.clone())
            .or_else(|| {
                self.live
                    .as_ref()
                    .filter(|(k, _)| *k == key)
                    .map(|(_, f)| f.clone())
            })
            .filter(|f| f.coords.len() == n)
    }

    /// Shows what arrived from a layout run if the map should now show something else.
    pub fn refresh_layout(&mut self, settings: &Settings) {
        let next = self.layout_to_show(settings);
        let same = match (&next, &self.shown_layout) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        if !same {
            self.reproject(settings);
        }
    }

    /// The non-linear layout drawn now, if any.
    pub fn shown_layout(&self) -> Option<&LayoutFrame> {
        self.shown_layout.as_deref()
    }

    fn clear_project_cache(&self) {
        if let Ok(mut c) = self.project_cache.lock() {
            c.clear();
        }
    }

    pub fn set_codes(&mut self, codes: Codes, settings: &Settings) {
        self.kl_per_dim = codes.kl_per_dim();
        self.codes = Some(codes);
        self.codes_version += 1;
        self.key = None;
        self.reproject(settings);
    }

    pub fn projection_stale(&self, settings: &Settings) -> bool {
        self.codes.is_some() && self.key != Some(key_of(settings, self.latent()))
    }

    /// Recomputes every position (and refits the PCA) for the current settings.
    pub fn reproject(&mut self, settings: &Settings) {
        let Some(codes) = &self.codes else { return };
        self.clear_project_cache();
        self.shown_layout = self.layout_to_show(settings);
        if let Some(frame) = &self.shown_layout {
            self.pca = None;
            self.coords = frame.coords.clone();
            self.grid = frame.grid.clone();
            self.key = Some(key_of(settings, codes.latent));
            self.version += 1;
            return;
        }
        self.pca = if let Some((_, v)) = semantic_vector(settings, codes.latent) {
            crate::latent::semantic_axes(&codes.mean, codes.latent, v).ok()
        } else if self.uses_pca(settings) {
            Pca::fit(&codes.mean, codes.latent, 2).ok()
        } else {
            None
        };
        self.coords = (0..codes.len())
            .map(|k| {
                let p = self.project_with(codes.mean_of(k), settings);
                [p[0] as f64, p[1] as f64]
            })
            .collect();
        self.key = Some(key_of(settings, codes.latent));
        self.grid = PointGrid::build(&self.coords);
        self.version += 1;
    }

    fn project_with(&self, code: &[f32], settings: &Settings) -> [f32; 2] {
        if let Some(frame) = &self.shown_layout {
            return self.project_on_layout(frame, code);
        }
        if let Some(pca) = &self.pca {
            let p = pca.project(code);
            return [p[0], p.get(1).copied().unwrap_or(0.0)];
        }
        let (ax, ay) = if code.len() > 2 {
            (
                settings.axis_x.min(code.len() - 1),
                settings.axis_y.min(code.len() - 1),
            )
        } else {
            (0, 1)
        };
        [
            code.get(ax).copied().unwrap_or(0.0),
            code.get(ay).copied().unwrap_or(0.0),
        ]
    }

    /// Where a code lands on a non-linear map (through its nearest codes), cached.
    fn project_on_layout(&self, frame: &LayoutFrame, code: &[f32]) -> [f32; 2] {
        let mut cache = match self.project_cache.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some((_, p)) = cache.iter().find(|(c, _)| c == code) {
            return [p[0] as f32, p[1] as f32];
        }
        let p = frame.lookup.position_of(code);
        if cache.len() >= PROJECT_CACHE {
            cache.remove(0);
        }
        cache.push((code.to_vec(), [p[0] as f64, p[1] as f64]));
        p
    }

    /// Where a code lands on the map.
    pub fn project(&self, code: &[f32], settings: &Settings) -> [f64; 2] {
        let p = self.project_with(code, settings);
        [p[0] as f64, p[1] as f64]
    }

    /// The code at a map position: on t-SNE / UMAP the inverse-distance-weighted codes of
    /// the nearest points, else the PCA's inverse, or `base` with the two shown axes set.
    pub fn unproject(&self, pos: [f64; 2], base: &[f32], settings: &Settings) -> Vec<f32> {
        if let Some(frame) = &self.shown_layout {
            return frame.lookup.code_at([pos[0] as f32, pos[1] as f32]);
        }
        if let Some(pca) = &self.pca {
            return pca.inverse(&[pos[0] as f32, pos[1] as f32]);
        }
        let mut code = base.to_vec();
        let l = code.len();
        let (ax, ay) = if l > 2 {
            (settings.axis_x.min(l - 1), settings.axis_y.min(l - 1))
        } else {
            (0, 1)
        };
        if let Some(v) = code.get_mut(ax) {
            *v = pos[0] as f32;
        }
        if ax != ay
            && let Some(v) = code.get_mut(ay)
        {
            *v = pos[1] as f32;
        }
        code
    }

    /// The code (posterior mean) of dataset sample `i`, if it is on the map.
    pub fn code_of(&self, i: usize) -> Option<Vec<f32>> {
        let k = *self.position.get(&i)?;
        Some(self.codes.as_ref()?.mean_of(k).to_vec())
    }

    /// Map position of dataset sample `i`.
    pub fn coord_of(&self, i: usize) -> Option<[f64; 2]> {
        self.coords.get(*self.position.get(&i)?).copied()
    }

    /// The dataset index of the point nearest to `pos` (in map units scaled per axis by
    /// `scale`, i.e. screen pixels), if within `max_dist`.
    pub fn nearest(&self, pos: [f64; 2], scale: [f64; 2], max_dist: f64) -> Option<usize> {
        self.nearest_where(pos, scale, max_dist, |_| true)
    }

    /// As `nearest`, among the map positions `keep` accepts.
    pub fn nearest_where(
        &self,
        pos: [f64; 2],
        scale: [f64; 2],
        max_dist: f64,
        keep: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        let k = self
            .grid
            .nearest_where(&self.coords, pos, scale, max_dist, keep)?;
        self.indices.get(k).copied()
    }

    /// The posterior q(z|x) of map point `k` as an ellipse on the map at `sigmas` standard
    /// deviations: axis-aligned for latent axes, the projected covariance for PCA; none on
    /// t-SNE / UMAP, whose maps stretch space differently everywhere.
    pub fn posterior_ellipse(&self, k: usize, settings: &Settings, sigmas: f64) -> Vec<[f64; 2]> {
        let Some(e) = self.posterior_axes(k, settings) else {
            return Vec::new();
        };
        (0..=48)
            .map(|i| e.point(sigmas, i as f64 / 48.0 * std::f64::consts::TAU))
            .collect()
    }

    /// The posterior q(z|x) of map point `k` on the map at one standard deviation: its centre,
    /// semi-axes and angle.
    pub fn posterior_axes(&self, k: usize, settings: &Settings) -> Option<Ellipse> {
        if self.shown_layout.is_some() {
            return None;
        }
        let codes = self.codes.as_ref()?;
        if k >= codes.len() {
            return None;
        }
        let l = codes.latent;
        let mean = codes.mean_of(k);
        let var: Vec<f64> = codes.logvar[k * l..(k + 1) * l]
            .iter()
            .map(|&v| (v as f64).exp())
            .collect();
        let centre = self.project(mean, settings);
        // 2x2 covariance of the map position: P diag(var) P^T.
        let (a, b, c) = match &self.pca {
            Some(pca) => {
                let (p0, p1) = (&pca.components[0], &pca.components[1]);
                let dot = |x: &[f32], y: &[f32]| {
                    x.iter()
                        .zip(y)
                        .zip(&var)
                        .map(|((&x, &y), &v)| x as f64 * y as f64 * v)
                        .sum::<f64>()
                };
                (dot(p0, p0), dot(p0, p1), dot(p1, p1))
            }
            None => {
                let (ax, ay) = if l > 2 {
                    (settings.axis_x.min(l - 1), settings.axis_y.min(l - 1))
                } else {
                    (0, 1.min(l - 1))
                };
                (var[ax], 0.0, if l > 1 { var[ay] } else { 0.0 })
            }
        };
        let half = (a - c) / 2.0;
        let root = (half * half + b * b).sqrt();
        Some(Ellipse {
            centre,
            semi_axes: [
                ((a + c) / 2.0 + root).max(0.0).sqrt(),
                ((a + c) / 2.0 - root).max(0.0).sqrt(),
            ],
            angle: 0.5 * (2.0 * b).atan2(a - c),
        })
    }

    /// Map position index of dataset sample `i`.
    pub fn position_of(&self, i: usize) -> Option<usize> {
        self.position.get(&i).copied()
    }

    /// The `k` samples whose codes are nearest to `code` (Euclidean, in the full latent
    /// space), nearest first.
    pub fn nearest_codes(&self, code: &[f32], k: usize) -> Vec<usize> {
        let Some(codes) = &self.codes else {
            return Vec::new();
        };
        crate::latent::nearest_rows(codes, code, k)
            .into_iter()
            .map(|row| self.indices[row])
            .collect()
    }

    /// Bounds of all points: (min, max).
    pub fn bounds(&self) -> Option<([f64; 2], [f64; 2])> {
        let first = self.coords.first()?;
        let mut lo = *first;
        let mut hi = *first;
        for c in &self.coords {
            lo = [lo[0].min(c[0]), lo[1].min(c[1])];
            hi = [hi[0].max(c[0]), hi[1].max(c[1])];
        }
        Some((lo, hi))
    }

    /// The map as a picture: each point a small dot in its class colour on a dark ground.
    pub fn render_png(&self, data: &Dataset, size: u32) -> Option<image::DynamicImage> {
        let (lo, hi) = self.bounds()?;
        let size = size.clamp(64, 4096);
        let margin = 0.04;
        let span = [(hi[0] - lo[0]).max(1e-9), (hi[1] - lo[1]).max(1e-9)];
        let mut img = image::RgbImage::from_pixel(size, size, image::Rgb([20, 20, 24]));
        let radius: i64 = (size as i64 / 400).max(1);
        let s = size as f64;
        for (k, c) in self.coords.iter().enumerate() {
            let fx = margin + (1.0 - 2.0 * margin) * (c[0] - lo[0]) / span[0];
            let fy = margin + (1.0 - 2.0 * margin) * (c[1] - lo[1]) / span[1];
            let (px, py) = ((fx * s) as i64, ((1.0 - fy) * s) as i64);
            let colour = class_colour(data.label(self.indices[k]));
            for dy in -radius..=radius {
                for dx in -radius..=radius {
                    let (x, y) = (px + dx, py + dy);
                    if x >= 0 && y >= 0 && (x as u32) < size && (y as u32) < size {
                        img.put_pixel(x as u32, y as u32, image::Rgb(colour));
                    }
                }
            }
        }
        Some(image::DynamicImage::ImageRgb8(img))
    }

    /// The map's codes as CSV: index, split, label, class, map x, map y, mean_0.., logvar_0..
    pub fn codes_csv(&self, data: &Dataset) -> Option<String> {
        use std::fmt::Write as _;
        let codes = self.codes.as_ref()?;
        let l = codes.latent;
        let mut out = String::from("index,split,label,class,map_x,map_y");
        for k in 0..l {
            let _ = write!(out, ",mean_{k}");
        }
        for k in 0..l {
            let _ = write!(out, ",logvar_{k}");
        }
        out.push('\n');
        for (k, &i) in self.indices.iter().enumerate() {
            let label = data.label(i).map(|v| v.to_string()).unwrap_or_default();
            let class = crate::latent::csv_field(data.class_name(i).unwrap_or(""));
            let c = self.coords.get(k).copied().unwrap_or([0.0, 0.0]);
            let _ = write!(
                out,
                "{i},{},{label},{class},{},{}",
                data.split_of(i).as_str(),
                c[0],
                c[1]
            );
            for v in &codes.mean[k * l..(k + 1) * l] {
                let _ = write!(out, ",{v}");
            }
            for v in &codes.logvar[k * l..(k + 1) * l] {
                let _ = write!(out, ",{v}");
            }
            out.push('\n');
        }
        Some(out)
    }
}
