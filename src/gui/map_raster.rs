//! Drawing tens of thousands of map points cheaply: the points are rasterised into one texture
//! for the current view, redrawn only when the view, the positions or the colours change, and
//! the plot draws that texture as a single image. Picking uses a grid index instead of a scan.

use egui::{Color32, ColorImage, TextureHandle, TextureId, TextureOptions};
use std::time::Instant;

/// Disc offsets with anti-aliased coverage (0-255) for a point of `radius` pixels.
fn stamp(radius: f32) -> Vec<(i32, i32, u16)> {
    let reach = (radius + 1.0).ceil() as i32;
    let mut out = Vec::new();
    for dy in -reach..=reach {
        for dx in -reach..=reach {
            let d = ((dx * dx + dy * dy) as f32).sqrt();
            let coverage = (radius + 0.5 - d).clamp(0.0, 1.0);
            if coverage > 0.0 {
                out.push((dx, dy, (coverage * 255.0).round() as u16));
            }
        }
    }
    out
}

/// Rasterises points (map coordinates) with their colours into an image of `size` pixels
/// covering `view` = [x_min, y_min, x_max, y_max] (y up). Points are drawn in `order` (all of
/// them in list order when None), later over earlier; `colour` returns None for a hidden one.
pub fn rasterize_points(
    coords: &[[f64; 2]],
    order: Option<&[u32]>,
    colour: impl Fn(usize) -> Option<Color32>,
    view: [f64; 4],
    size: [usize; 2],
    radius_px: f32,
) -> ColorImage {
    let [w, h] = size;
    let mut pixels = vec![Color32::TRANSPARENT; w * h];
    let sx = w as f64 / (view[2] - view[0]).max(1e-12);
    let sy = h as f64 / (view[3] - view[1]).max(1e-12);
    let stamp = stamp(radius_px.max(0.5));
    let reach = (radius_px + 2.0) as f64;
    let all = || 0..coords.len();
    let visit: Box<dyn Iterator<Item = usize>> = match order {
        Some(o) => Box::new(o.iter().map(|&k| k as usize).filter(|&k| k < coords.len())),
        None => Box::new(all()),
    };
    for k in visit {
        let c = coords[k];
        let px = (c[0] - view[0]) * sx;
        let py = (view[3] - c[1]) * sy;
        if !(px > -reach && py > -reach && px < w as f64 + reach && py < h as f64 + reach) {
            continue;
        }
        let Some(col) = colour(k) else { continue };
        let (cx, cy) = (px.floor() as i32, py.floor() as i32);
        let src = col.to_array();
        for &(dx, dy, a) in &stamp {
            let (x, y) = (cx + dx, cy + dy);
            if x < 0 || y < 0 || x >= w as i32 || y >= h as i32 {
                continue;
            }
            let p = &mut pixels[y as usize * w + x as usize];
            // "Over" in premultiplied alpha: out = src * a + dst * (1 - a).
            let a = a * src[3] as u16 / 255;
            let dst = p.to_array();
            let mix = |s: u8, d: u8| ((s as u16 * a + d as u16 * (255 - a)) / 255) as u8;
            *p = Color32::from_rgba_premultiplied(
                mix(src[0], dst[0]),
                mix(src[1], dst[1]),
                mix(src[2], dst[2]),
                (a + dst[3] as u16 * (255 - a) / 255) as u8,
            );
        }
    }
    ColorImage::new(size, pixels)
}

/// What a raster was drawn for; a different key means drawing again.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RasterKey {
    pub view: [f64; 4],
    pub size: [usize; 2],
    pub radius_px: f32,
    /// Changes whenever positions, colours or hidden classes change.
    pub content: u64,
}

/// The map's points as a texture, kept until its key changes.
#[derive(Default)]
pub struct PointRaster {
    key: Option<RasterKey>,
    texture: Option<TextureHandle>,
    /// Milliseconds the last redraw took (rasterising and handing the image to egui).
    pub last_redraw_ms: f32,
    /// How many times it was redrawn (tests check that an idle map is not redrawn).
    pub redraws: u64,
}

impl PointRaster {
    /// The texture for `key`, drawn by `draw` only when the key differs from the last one.
    /// Returns the texture and the view it covers.
    pub fn texture_for(
        &mut self,
        ctx: &egui::Context,
        key: RasterKey,
        draw: impl FnOnce() -> ColorImage,
    ) -> (TextureId, [f64; 4]) {
        if self.key != Some(key) || self.texture.is_none() {
            let start = Instant::now();
            let image = draw();
            match &mut self.texture {
                Some(t) => t.set(image, TextureOptions::LINEAR),
                None => {
                    self.texture =
                        Some(ctx.load_texture("map-points", image, TextureOptions::LINEAR))
                }
            }
            self.key = Some(key);
            self.redraws += 1;
            self.last_redraw_ms = start.elapsed().as_secs_f32() * 1000.0;
        }
        let view = self.key.map(|k| k.view).unwrap_or(key.view);
        let id = self.texture.as_ref().map(|t| t.id()).unwrap_or_default();
        (id, view)
    }
}

/// A uniform grid over the points' bounding box, so finding the point under the pointer
/// looks at a few cells instead of every point.
#[derive(Clone, Debug, Default)]
pub struct PointGrid {
    origin: [f64; 2],
    cell: [f64; 2],
    dims: [usize; 2],
    /// Start of each cell's run in `order` (prefix sums, one more than the cells).
    starts: Vec<u32>,
    /// Point indices sorted by cell.
    order: Vec<u32>,
}

impl PointGrid {
    /// About four points per cell on average.
    pub fn build(coords: &[[f64; 2]]) -> Self {
        let n = coords.len();
        if n == 0 {
            return Self::default();
        }
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for c in coords
            .iter()
            .filter(|c| c[0].is_finite() && c[1].is_finite())
        {
            for a in 0..2 {
                lo[a] = lo[a].min(c[a]);
                hi[a] = hi[a].max(c[a]);
            }
        }
        if !lo[0].is_finite() {
            return Self::default();
        }
        let side = ((n as f64 / 4.0).sqrt().ceil() as usize).clamp(1, 1024);
        let dims = [side, side];
        let cell = [
            ((hi[0] - lo[0]) / side as f64).max(1e-12),
            ((hi[1] - lo[1]) / side as f64).max(1e-12),
        ];
        let mut grid = Self {
            origin: lo,
            cell,
            dims,
            starts: vec![0; side * side + 1],
            order: vec![0; n],
        };
        let cells: Vec<Option<usize>> = coords.iter().map(|c| grid.cell_of(*c)).collect();
        for c in cells.iter().flatten() {
            grid.starts[c + 1] += 1;
        }
        for i in 0..side * side {
            grid.starts[i + 1] += grid.starts[i];
        }
        let mut next = grid.starts.clone();
        let mut placed = 0;
        for (k, c) in cells.iter().enumerate() {
            if let Some(c) = c {
                grid.order[next[*c] as usize] = k as u32;
                next[*c] += 1;
                placed += 1;
            }
        }
        grid.order.truncate(placed);
        grid
    }

    fn cell_xy(&self, p: [f64; 2]) -> Option<[i64; 2]> {
        if !(p[0].is_finite() && p[1].is_finite()) || self.starts.is_empty() {
            return None;
        }
        Some([
            ((p[0] - self.origin[0]) / self.cell[0]).floor() as i64,
            ((p[1] - self.origin[1]) / self.cell[1]).floor() as i64,
        ])
    }

    fn cell_of(&self, p: [f64; 2]) -> Option<usize> {
        let [x, y] = self.cell_xy(p)?;
        // Points on the far edge belong to the last cell.
        let x = x.clamp(0, self.dims[0] as i64 - 1) as usize;
        let y = y.clamp(0, self.dims[1] as i64 - 1) as usize;
        Some(y * self.dims[0] + x)
    }

    /// The point nearest to `pos` within `max_dist`, distances measured after scaling each
    /// axis by `scale` (map units to screen pixels).
    pub fn nearest(
        &self,
        coords: &[[f64; 2]],
        pos: [f64; 2],
        scale: [f64; 2],
        max_dist: f64,
    ) -> Option<usize> {
        self.nearest_where(coords, pos, scale, max_dist, |_| true)
    }

    /// As `nearest`, among the points `keep` accepts (e.g. those of classes not hidden).
    pub fn nearest_where(
        &self,
        coords: &[[f64; 2]],
        pos: [f64; 2],
        scale: [f64; 2],
        max_dist: f64,
        keep: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        let [cx, cy] = self.cell_xy(pos)?;
        if scale[0] <= 0.0 || scale[1] <= 0.0 {
            return None;
        }
        // Cells reached by the search radius, per axis.
        // (At most the whole grid: an unbounded radius must not overflow the cell maths.)
        let rx = (max_dist / scale[0] / self.cell[0])
            .ceil()
            .min(self.dims[0] as f64) as i64;
        let ry = (max_dist / scale[1] / self.cell[1])
            .ceil()
            .min(self.dims[1] as f64) as i64;
        let (w, h) = (self.dims[0] as i64, self.dims[1] as i64);
        let mut best = None;
        let mut best_d = max_dist * max_dist;
        for y in (cy - ry).max(0)..=(cy + ry).min(h - 1) {
            for x in (cx - rx).max(0)..=(cx + rx).min(w - 1) {
                let c = (y * w + x) as usize;
                for &k in &self.order[self.starts[c] as usize..self.starts[c + 1] as usize] {
                    if !keep(k as usize) {
                        continue;
                    }
                    let p = coords[k as usize];
                    let dx = (p[0] - pos[0]) * scale[0];
                    let dy = (p[1] - pos[1]) * scale[1];
                    let d = dx * dx + dy * dy;
                    // Ties go to the later point: it is drawn on top.
                    if d < best_d || (d == best_d && best.is_none_or(|b| k as usize > b)) {
                        best_d = d;
                        best = Some(k as usize);
                    }
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_finds_what_a_scan_finds() {
        let coords: Vec<[f64; 2]> = (0..5000)
            .map(|i| {
                let t = i as f64 * 0.618;
                [
                    t.sin() * (i % 97) as f64 * 0.1,
                    t.cos() * (i % 89) as f64 * 0.07,
                ]
            })
            .collect();
        let grid = PointGrid::build(&coords);
        for q in 0..400 {
            let pos = [
                (q as f64 * 0.37).sin() * 10.0,
                (q as f64 * 0.23).cos() * 6.0,
            ];
            let scale = [40.0, 55.0];
            let scan = coords
                .iter()
                .enumerate()
                .map(|(k, c)| {
                    let (dx, dy) = ((c[0] - pos[0]) * scale[0], (c[1] - pos[1]) * scale[1]);
                    (dx * dx + dy * dy, k)
                })
                .filter(|(d, _)| *d <= 36.0)
                .min_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))
                .map(|(_, k)| k);
            assert_eq!(grid.nearest(&coords, pos, scale, 6.0), scan, "query {q}");
            // An unbounded search finds the nearest point of all.
            assert!(grid.nearest(&coords, pos, scale, f64::INFINITY).is_some());
        }
    }

    #[test]
    fn raster_puts_points_where_the_view_says() {
        let coords = [[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]];
        let colour = |k: usize| (k != 2).then_some(Color32::RED);
        let img = rasterize_points(&coords, None, colour, [0.0, 0.0, 1.0, 1.0], [10, 10], 1.5);
        // (0,0) is the bottom-left corner, (1,1) the top-right; (5,5) is outside.
        assert_eq!(img.pixels[9 * 10], Color32::RED);
        assert_eq!(img.pixels[9], Color32::RED);
        assert_eq!(img.pixels[5 * 10 + 5], Color32::TRANSPARENT);
    }
}
