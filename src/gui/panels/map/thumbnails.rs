//! Thumbnails on the map: once the view is zoomed in far enough that few points are in it,
//! each visible point is drawn as its image (as the Embedding Projector's sprites do), framed
//! in its class colour. Textures are made per sample as it comes into view and kept (up to a
//! cap) while it stays near, so panning uploads only the few images that scroll in.
//!
//! A thumbnail can show the model's reconstruction instead: the samples in view without one
//! are listed each frame ([`Reconstructions::wanted`]), the app has them decoded on the jobs
//! thread, and until the answer lands the original is drawn. The reconstructions are kept for
//! the generation (dataset, model, weights) and codes they were decoded from, and dropped with
//! them.

use super::legend::Legend;
use crate::data::{Dataset, ImageShape};
use crate::gui::map_view::MapState;
use crate::gui::state::ThumbnailSource;
use crate::gui::workspace::Generation;
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
    /// Reconstructions decoded for the thumbnails.
    pub recon: Reconstructions,
}

/// What reconstructions are of: the workspace generation and the map's codes version.
pub type ReconKey = (Generation, u64);

/// Reconstructions of samples for the thumbnails, decoded on the jobs thread.
#[derive(Default)]
pub struct Reconstructions {
    /// The generation and codes the images were decoded from; anything else drops them.
    made_for: Option<ReconKey>,
    images: HashMap<usize, ColorImage>,
    textures: HashMap<usize, TextureHandle>,
    /// Samples in view in the last frame that have no reconstruction yet.
    pub wanted: Vec<usize>,
    /// The request on its way: its serial and the samples it decodes (one at a time).
    pub asked: Option<(u64, Vec<usize>)>,
    pub serial: u64,
    /// How many thumbnails of the last frame were drawn from a reconstruction.
    pub drawn: usize,
}

impl Reconstructions {
    /// Drops whatever was decoded for another generation or other codes.
    pub fn keep_only(&mut self, key: ReconKey) {
        if self.made_for != Some(key) {
            self.images.clear();
            self.textures.clear();
            self.wanted.clear();
            self.asked = None;
            self.made_for = Some(key);
        }
    }

    /// The key the images are of.
    pub fn made_for(&self) -> Option<ReconKey> {
        self.made_for
    }

    /// The decoded image of sample `i`, once it has arrived.
    pub fn image(&self, i: usize) -> Option<&ColorImage> {
        self.images.get(&i)
    }

    /// Takes the worker's answer to request `serial` (pixel values in 0..1, one image after
    /// another in the order asked); an answer to an older request is ignored.
    pub fn accept(&mut self, serial: u64, values: &[f32], shape: ImageShape) {
        let Some((asked, samples)) = self.asked.take_if(|(s, _)| *s == serial) else {
            return;
        };
        let len = shape.len().max(1);
        if values.len() != samples.len() * len {
            return;
        }
        if self.images.len() + samples.len() > 4 * KEEP {
            self.images.clear();
            self.textures.clear();
        }
        debug_assert_eq!(asked, serial);
        for (i, pixels) in samples.into_iter().zip(values.chunks_exact(len)) {
            let bytes: Vec<u8> = pixels
                .iter()
                .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
                .collect();
            self.images.insert(i, color_image(&bytes, shape));
            self.textures.remove(&i);
        }
    }
}

impl Thumbnails {
    /// Forget every texture (another dataset).
    pub fn clear(&mut self) {
        self.textures.clear();
        self.shown = 0;
    }

    /// Draws the visible points as their images when few enough are in view; returns how many.
    /// Reconstructions are drawn where `source` asks for them and they have arrived (for the
    /// generation and codes version `key`); the others are listed as wanted.
    #[allow(clippy::too_many_arguments)]
    pub fn paint(
        &mut self,
        ui: &egui::Ui,
        transform: &PlotTransform,
        map: &MapState,
        data: &Dataset,
        legend: &Legend,
        source: ThumbnailSource,
        key: ReconKey,
    ) -> usize {
        let data_version = key.0.data;
        if self.made_for != Some(data_version) {
            self.clear();
            self.made_for = Some(data_version);
        }
        self.shown = 0;
        self.recon.drawn = 0;
        self.recon.wanted.clear();
        let reconstruct = source == ThumbnailSource::Reconstruction;
        if reconstruct {
            self.recon.keep_only(key);
        }
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
        if self.textures.len() > KEEP || self.recon.textures.len() > KEEP {
            let near: std::collections::HashSet<usize> =
                visible.iter().map(|&k| map.indices[k]).collect();
            self.textures.retain(|i, _| near.contains(i));
            self.recon.textures.retain(|i, _| near.contains(i));
        }
        let painter = ui.painter_at(frame);
        let uv = Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0));
        for &k in &visible {
            let i = map.indices[k];
            if i >= data.len() {
                continue;
            }
            let recon = &mut self.recon;
            let decoded = if reconstruct {
                recon.images.get(&i)
            } else {
                None
            };
            let texture = match decoded {
                Some(image) => {
                    recon.drawn += 1;
                    recon.textures.entry(i).or_insert_with(|| {
                        ui.ctx().load_texture(
                            format!("thumb-recon-{i}"),
                            image.clone(),
                            TextureOptions::NEAREST,
                        )
                    })
                }
                None => {
                    if reconstruct {
                        recon.wanted.push(i);
                    }
                    self.textures.entry(i).or_insert_with(|| {
                        ui.ctx().load_texture(
                            format!("thumb-{i}"),
                            sample_image(data, i),
                            TextureOptions::NEAREST,
                        )
                    })
                }
            };
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

/// Sample `i` as an egui image (grey or RGB), as its thumbnail shows it.
pub fn sample_image(data: &Dataset, i: usize) -> ColorImage {
    color_image(data.image_bytes(i), data.shape)
}

/// Interleaved pixel bytes (grey or RGB) as an egui image.
fn color_image(bytes: &[u8], shape: ImageShape) -> ColorImage {
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
