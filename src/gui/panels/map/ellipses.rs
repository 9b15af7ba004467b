//! "Uncertainty ellipses": every tenth point's posterior at one standard deviation, thousands
//! of them. Drawn as one triangle mesh built straight in screen space (a plot line per ellipse
//! cost 0.3-1 s a frame): the ellipses' shapes are found once per map layout, each frame only
//! places the visible ones, with as many segments as their size on screen needs.

use crate::gui::map_view::{Ellipse, MapState};
use crate::gui::state::Settings;
use egui::{Color32, Mesh, Pos2, Rect, Shape, pos2, vec2};
use egui_plot::{PlotPoint, PlotTransform};

/// Every this many map points gets an ellipse.
pub const EVERY: usize = 10;
// White at alpha 40, premultiplied (what `Color32::from_white_alpha(40)` gives).
const COLOUR: Color32 = Color32::from_rgba_premultiplied(40, 40, 40, 40);

/// The ellipses of the map's current layout.
#[derive(Default)]
pub struct EllipseCache {
    /// The map layout version they were found for.
    version: Option<u64>,
    pub ellipses: Vec<Ellipse>,
}

impl EllipseCache {
    pub fn update(&mut self, map: &MapState, settings: &Settings) {
        if self.version == Some(map.version) {
            return;
        }
        self.version = Some(map.version);
        self.ellipses = (0..map.coords.len())
            .step_by(EVERY)
            .filter_map(|k| map.posterior_axes(k, settings))
            .collect();
    }
}

/// One mesh of thin outlines for the ellipses inside `transform`'s view.
pub fn mesh(ellipses: &[Ellipse], transform: &PlotTransform) -> Shape {
    let frame = *transform.frame();
    let origin = transform.position_from_point(&PlotPoint::new(0.0, 0.0));
    let unit = transform.position_from_point(&PlotPoint::new(1.0, 1.0));
    let (kx, ky) = ((unit.x - origin.x) as f64, (unit.y - origin.y) as f64);
    let to_screen =
        |p: [f64; 2]| pos2(origin.x + (p[0] * kx) as f32, origin.y + (p[1] * ky) as f32);
    let mut mesh = Mesh::default();
    let mut ring: Vec<Pos2> = Vec::with_capacity(48);
    // The unit circle's (cos, sin) at each segment count used, computed once a frame rather
    // than two sine-cosine pairs a vertex (7,000 ellipses of up to 48 vertices each).
    let mut circles: Vec<Vec<(f32, f32)>> = vec![Vec::new(); 49];
    for e in ellipses {
        let radius = (e.semi_axes[0].max(e.semi_axes[1]) * kx.abs().max(ky.abs())) as f32;
        let c = to_screen(e.centre);
        if radius < 1.0 || !radius.is_finite() || !frame.expand(radius).contains(c) {
            continue;
        }
        // About one segment per 3 pixels of outline, 8 to 48.
        let segments = ((radius * std::f32::consts::TAU / 3.0) as usize).clamp(8, 48);
        let circle = &mut circles[segments];
        if circle.is_empty() {
            circle.extend((0..segments).map(|i| {
                let t = i as f32 / segments as f32 * std::f32::consts::TAU;
                (t.cos(), t.sin())
            }));
        }
        // The ellipse's two semi-axes on screen: a point is c + u cos t + v sin t.
        let (ca, sa) = (e.angle.cos(), e.angle.sin());
        let (a, b) = (e.semi_axes[0], e.semi_axes[1]);
        let u = vec2((ca * a * kx) as f32, (sa * a * ky) as f32);
        let v = vec2((-sa * b * kx) as f32, (ca * b * ky) as f32);
        ring.clear();
        ring.extend(circle.iter().map(|&(cos, sin)| c + u * cos + v * sin));
        add_closed_line(&mut mesh, &ring, 0.5, COLOUR);
    }
    Shape::mesh(mesh)
}

/// Appends a closed polyline as quads `half_width` either side of each segment.
fn add_closed_line(mesh: &mut Mesh, ring: &[Pos2], half_width: f32, colour: Color32) {
    for (k, &a) in ring.iter().enumerate() {
        let b = ring[(k + 1) % ring.len()];
        let d = b - a;
        let len = d.length();
        if len <= f32::EPSILON {
            continue;
        }
        let n = vec2(-d.y, d.x) * (half_width / len);
        let base = mesh.vertices.len() as u32;
        for p in [a + n, a - n, b + n, b - n] {
            mesh.colored_vertex(p, colour);
        }
        mesh.add_triangle(base, base + 1, base + 2);
        mesh.add_triangle(base + 1, base + 3, base + 2);
    }
}

/// The painter's clip for the plot area.
pub fn clip(transform: &PlotTransform) -> Rect {
    *transform.frame()
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui_plot::PlotBounds;

    /// Every outline vertex lies half a pixel from the ellipse's own points (`Ellipse::point`)
    /// placed on screen: the table of the unit circle gives the same outline.
    #[test]
    fn the_outline_follows_the_ellipse() {
        let frame = Rect::from_min_max(pos2(0.0, 0.0), pos2(400.0, 300.0));
        let bounds = PlotBounds::from_min_max([-4.0, -3.0], [4.0, 3.0]);
        let t = PlotTransform::new(frame, bounds, false);
        let e = Ellipse {
            centre: [0.5, -0.25],
            semi_axes: [1.5, 0.5],
            angle: 0.7,
        };
        let Shape::Mesh(mesh) = mesh(&[e], &t) else {
            panic!("one mesh")
        };
        let on_screen = |p: [f64; 2]| t.position_from_point(&PlotPoint::new(p[0], p[1]));
        let segments = mesh.vertices.len() / 4;
        assert!((8..=48).contains(&segments));
        for k in 0..segments {
            let want = on_screen(e.point(1.0, k as f64 / segments as f64 * std::f64::consts::TAU));
            // Quad k starts at vertex k on either side of the outline.
            let (a, b) = (mesh.vertices[4 * k].pos, mesh.vertices[4 * k + 1].pos);
            let mid = pos2((a.x + b.x) / 2.0, (a.y + b.y) / 2.0);
            assert!(
                (mid - want).length() < 1e-3,
                "vertex {k}: {mid:?} against {want:?}"
            );
        }
    }
}
