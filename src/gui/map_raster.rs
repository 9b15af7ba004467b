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

impl RasterKey {
    /// The same points, colours and pixel size: only where the view is differs.
    fn same_look(&self, other: &RasterKey) -> bool {
        self.size == other.size
            && self.radius_px == other.radius_px
            && self.content == other.content
    }

    /// This key widened by [`MARGIN`] of the view on every side, at the same pixels per unit,
    /// the margin narrowed where the texture would be wider than `max_side` pixels (the
    /// renderer cannot make a larger one).
    fn with_margin(&self, max_side: usize) -> RasterKey {
        let mut out = *self;
        for axis in 0..2 {
            let span = self.view[axis + 2] - self.view[axis];
            let room = max_side.saturating_sub(self.size[axis]) / 2;
            let extra_px = (self.size[axis] as f64 * MARGIN).round().min(room as f64);
            let extra = extra_px * span / self.size[axis].max(1) as f64;
            out.size[axis] = self.size[axis] + 2 * extra_px as usize;
            out.view[axis] -= extra;
            out.view[axis + 2] += extra;
        }
        out
    }
}

/// The raster is drawn this much of the view's span beyond it on every side, so that a pan
/// within that, or a zoom out to 1 + 2 x MARGIN of the span, shows points already drawn.
const MARGIN: f64 = 1.0 / 6.0;

/// While the view moves, a raster drawn at up to this factor more or fewer pixels per unit than
/// the view's is shown stretched instead of being drawn again.
const STRETCH: f64 = 1.5;

/// Whether a raster drawn for `drawn` (with its margin) can stand in for `view` while the view
/// moves: it covers it, at nearly the same scale.
fn stands_in(drawn: &RasterKey, asked: &RasterKey) -> bool {
    let (d, v) = (drawn.view, asked.view);
    let covers = d[0] <= v[0] && d[1] <= v[1] && d[2] >= v[2] && d[3] >= v[3];
    let scale_ok = (0..2).all(|axis| {
        let drawn_scale = drawn.size[axis] as f64 / (d[axis + 2] - d[axis]).max(1e-12);
        let asked_scale = asked.size[axis] as f64 / (v[axis + 2] - v[axis]).max(1e-12);
        let ratio = asked_scale / drawn_scale;
        (1.0 / STRETCH..=STRETCH).contains(&ratio)
    });
    covers && scale_ok
}

/// The map's points as a texture, kept until its key changes.
///
/// While the view moves (a drag, a zoom gesture) the texture already drawn is shown shifted or
/// stretched for as long as it covers the view ([`MARGIN`], [`STRETCH`]), and drawn again for the
/// exact view once the view stands still. Drawing 70,000 points took 7-11 ms a frame on an Intel
/// Xeon, so panning and zooming redrew the points at every frame and missed the 8 ms budget.
#[derive(Default)]
pub struct PointRaster {
    /// What the texture was asked for, and what it was drawn for (the view with its margin).
    key: Option<RasterKey>,
    drawn: Option<RasterKey>,
    /// The view asked for in the last frame (a different one now means the view is moving).
    last_view: Option<[f64; 4]>,
    texture: Option<TextureHandle>,
    /// Milliseconds the last redraw took (rasterising and handing the image to egui).
    pub last_redraw_ms: f32,
    /// How many times it was redrawn (tests check that an idle map is not redrawn).
    pub redraws: u64,
}

impl PointRaster {
    /// The texture for `key`, drawn by `draw` (for the key it is given: `key` with a margin)
    /// only when needed (see the type). Returns the texture and the view it covers.
    pub fn texture_for(
        &mut self,
        ctx: &egui::Context,
        key: RasterKey,
        draw: impl FnOnce(RasterKey) -> ColorImage,
    ) -> (TextureId, [f64; 4]) {
        let moving = self.last_view.is_some_and(|v| v != key.view);
        self.last_view = Some(key.view);
        let reuse = match (&self.key, &self.drawn, &self.texture) {
            (Some(asked), Some(drawn), Some(_)) => {
                *asked == key || (moving && asked.same_look(&key) && stands_in(drawn, &key))
            }
            _ => false,
        };
        if !reuse {
            let start = Instant::now();
            let drawn = key.with_margin(ctx.input(|i| i.max_texture_side));
            let image = draw(drawn);
            match &mut self.texture {
                Some(t) => t.set(image, TextureOptions::LINEAR),
                None => {
                    self.texture =
                        Some(ctx.load_texture("map-points", image, TextureOptions::LINEAR))
                }
            }
            self.key = Some(key);
            self.drawn = Some(drawn);
            self.redraws += 1;
            self.last_redraw_ms = start.elapsed().as_secs_f32() * 1000.0;
        } else if self.key != Some(key) {
            // Shown shifted or stretched: one more frame, once the view stands still, draws
            // it for the exact view.
            ctx.request_repaint();
        }
        let view = self.drawn.map(|k| k.view).unwrap_or(key.view);
        let id = self.texture.as_ref().map(|t| t.id()).unwrap_or_default();
        (id, view)
    }

    /// The view the texture was last drawn for, and the view it covers (with its margin).
    pub fn drawn_for(&self) -> Option<([f64; 4], [f64; 4])> {
        Some((self.key?.view, self.drawn?.view))
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
    fn a_moving_view_shows_the_raster_drawn_and_a_still_one_gets_it_redrawn() {
        let ctx = egui::Context::default();
        let mut raster = PointRaster::default();
        let key = |x: f64, span: f64| RasterKey {
            view: [x, 0.0, x + span, span],
            size: [600, 600],
            radius_px: 2.0,
            content: 1,
        };
        let asked = std::cell::RefCell::new(Vec::new());
        let frame = |raster: &mut PointRaster, k: RasterKey| {
            raster.texture_for(&ctx, k, |drawn| {
                asked.borrow_mut().push(drawn);
                ColorImage::new(
                    drawn.size,
                    vec![Color32::TRANSPARENT; drawn.size[0] * drawn.size[1]],
                )
            })
        };
        // Drawn once with a margin of 100 px (a sixth of 600) on every side, at the same scale.
        let (_, covers) = frame(&mut raster, key(0.0, 6.0));
        assert_eq!(asked.borrow().len(), 1);
        assert_eq!(asked.borrow()[0].size, [800, 800]);
        assert_eq!(covers, [-1.0, -1.0, 7.0, 7.0]);
        frame(&mut raster, key(0.0, 6.0));
        assert_eq!(raster.redraws, 1, "the same view: nothing drawn");
        // Panned by half the margin: shown as drawn.
        let (_, covers) = frame(&mut raster, key(0.5, 6.0));
        assert_eq!((raster.redraws, covers), (1, [-1.0, -1.0, 7.0, 7.0]));
        // Zoomed in by a quarter while moving: stretched, not drawn.
        frame(&mut raster, key(0.5, 4.8));
        assert_eq!(raster.redraws, 1);
        // The view stands still: drawn for it.
        frame(&mut raster, key(0.5, 4.8));
        assert_eq!(raster.redraws, 2);
        assert_eq!(raster.drawn_for().unwrap().0, key(0.5, 4.8).view);
        // The margin never makes a texture wider than the renderer's largest.
        let wide = RasterKey {
            size: [2000, 600],
            ..key(0.0, 6.0)
        };
        assert_eq!(wide.with_margin(2048).size, [2048, 800]);
        assert_eq!(wide.with_margin(1000).size, [2000, 800]);
        // Moving out of the margin, or zooming by more than the stretch allows, draws at once.
        frame(&mut raster, key(3.0, 4.8));
        assert_eq!(raster.redraws, 3);
        frame(&mut raster, key(3.0, 2.0));
        assert_eq!(raster.redraws, 4);
        // Other colours draw at once, moving or not.
        frame(
            &mut raster,
            RasterKey {
                content: 2,
                ..key(3.1, 2.0)
            },
        );
        assert_eq!(raster.redraws, 5);
    }

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
