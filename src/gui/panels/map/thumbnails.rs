//! Thumbnails on the map: once the view is zoomed in far enough that few points are in it,
//! each visible point is drawn as its image (as the Embedding Projector's sprites do), framed
//! in its class colour. Textures are made per sample as it comes into view and kept (up to a
//! cap) while it stays near, so panning uploads only the few images that scroll in.

use super::legend::Legend;
use crate::data::Dataset;
use crate::gui::map_view::MapState;
use egui::{Color32, ColorImage, Rect, Stroke, TextureHandle, TextureOptions, pos2, vec2};
use egui_plot::{PlotPoint, PlotTransform};
use std::collections::HashMap;

/// Thumbnails appear when at most this many points are in view.
pub const MAX_THUMBNAILS: usize = 200;
/// On-screen size of a thumbnail (points).
const SIZE: f32 = 36.0;
/// Textures kept for samples that scrolled out of view, at most.
const KEEP: usize = 1_000;

#[derive(Default)]
pub struct Thumbnails {
    textures: HashMap<usize, TextureHandle>,
    /// The data and map generation the textures are of.
    made_for: Option<u64>,
    /// How many were drawn in the last frame (0: the view holds too many points).
    pub shown: usize,
}

impl Thumbnails {
    /// Forget every texture (another dataset).
    pub fn clear(&mut self) {
        self.textures.clear();
        self.shown = 0;
    }

    /// Draws the visible points as their images when few enough are in view; returns how many.
    pub fn paint(
        &mut self,
        ui: &egui::Ui,
        transform: &PlotTransform,
        map: &MapState,
        data: &Dataset,
        legend: &Legend,
        data_version: u64,
    ) -> usize {
        if self.made_for != Some(data_version) {
            self.clear();
            self.made_for = Some(data_version);
        }
        self.shown = 0;
        let frame = *transform.frame();
        let b = transform.bounds();
        let (x0, x1, y0, y1) = (b.min()[0], b.max()[0], b.min()[1], b.max()[1]);
        let mut visible = Vec::new();
        for (k, c) in map.coords.iter().enumerate() {
            if c[0] >= x0 && c[0] <= x1 && c[1] >= y0 && c[1] <= y1 && !legend.is_hidden(k) {
                visible.push(k);
                if visible.len() > MAX_THUMBNAILS {
                    return 0;
                }
            }
        }
        if self.textures.len() > KEEP {
            let near: std::collections::HashSet<usize> =
                visible.iter().map(|&k| map.indices[k]).collect();
            self.textures.retain(|i, _| near.contains(i));
        }
        let painter = ui.painter_at(frame);
        let uv = Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0));
        for &k in &visible {
            let i = map.indices[k];
            if i >= data.len() {
                continue;
            }
            let texture = self.textures.entry(i).or_insert_with(|| {
                ui.ctx().load_texture(
                    format!("thumb-{i}"),
                    sample_image(data, i),
                    TextureOptions::NEAREST,
                )
            });
            let c = map.coords[k];
            let centre = transform.position_from_point(&PlotPoint::new(c[0], c[1]));
            let rect = Rect::from_center_size(centre, vec2(SIZE, SIZE));
            painter.image(texture.id(), rect, uv, Color32::WHITE);
            if let Some(colour) = legend.colour_of(k) {
                painter.rect_stroke(
                    rect,
                    0.0,
                    Stroke::new(1.5, colour),
                    egui::StrokeKind::Outside,
                );
            }
        }
        self.shown = visible.len();
        self.shown
    }
}

/// Sample `i` as an egui image (grey or RGB).
fn sample_image(data: &Dataset, i: usize) -> ColorImage {
    let shape = data.shape;
    let bytes = data.image_bytes(i);
    let (w, h) = (shape.width, shape.height);
    let pixels: Vec<Color32> = (0..w * h)
        .map(|p| {
            if shape.channels >= 3 {
                let o = p * shape.channels;
                Color32::from_rgb(bytes[o], bytes[o + 1], bytes[o + 2])
            } else {
                Color32::from_gray(bytes[p * shape.channels])
            }
        })
        .collect();
    ColorImage {
        size: [w, h],
        source_size: vec2(w as f32, h as f32),
        pixels,
    }
}
