//! Decoded images held as values and shown as egui textures (nearest-neighbour, so pixels stay
//! crisp when scaled up), created lazily and re-uploaded only when the values change.

use crate::data::ImageShape;
use crate::render;
use egui::{ColorImage, TextureHandle, TextureOptions};

/// One picture: a single image, a strip or a grid of same-shaped images.
#[derive(Default)]
pub struct ImageView {
    values: Vec<f32>,
    shape: Option<ImageShape>,
    columns: usize,
    /// The code the single image was decoded from (to skip redundant decodes).
    code: Vec<f32>,
    texture: Option<TextureHandle>,
    dirty: bool,
    /// Tiles touch (the manifold mosaic) instead of being separated by a gap.
    gapless: bool,
    /// Bumped at every change, so tests and callers can tell pictures apart.
    pub version: u64,
}

impl ImageView {
    fn set(&mut self, values: Vec<f32>, shape: ImageShape, columns: usize) {
        self.values = values;
        self.shape = Some(shape);
        self.columns = columns.max(1);
        self.dirty = true;
        self.version += 1;
    }

    pub fn set_single(&mut self, values: Vec<f32>, shape: ImageShape, code: &[f32]) {
        self.code = code.to_vec();
        self.set(values, shape, 1);
    }

    pub fn set_strip(&mut self, values: Vec<f32>, shape: ImageShape) {
        let n = values.len() / shape.len().max(1);
        self.set(values, shape, n);
    }

    pub fn set_grid(&mut self, values: Vec<f32>, shape: ImageShape, columns: usize) {
        self.set(values, shape, columns);
    }

    /// Images as tiles without gaps, `columns` to a row (a seamless mosaic).
    pub fn set_tiles(&mut self, values: Vec<f32>, shape: ImageShape, columns: usize) {
        self.gapless = true;
        self.set(values, shape, columns);
    }

    /// Whether this single image was decoded from `code`.
    pub fn is_current_for(&self, code: &[f32]) -> bool {
        self.shape.is_some() && self.code == code
    }

    /// Forget the code so the next refresh decodes again (the model changed).
    pub fn invalidate(&mut self) {
        self.code.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn values(&self) -> &[f32] {
        &self.values
    }

    pub fn shape(&self) -> Option<ImageShape> {
        self.shape
    }

    /// Number of images in it.
    pub fn count(&self) -> usize {
        self.shape
            .map(|s| self.values.len() / s.len().max(1))
            .unwrap_or(0)
    }

    pub fn columns(&self) -> usize {
        self.columns
    }

    /// Image `k` as values.
    pub fn frame(&self, k: usize) -> Option<&[f32]> {
        let d = self.shape?.len();
        self.values.get(k * d..(k + 1) * d)
    }

    /// The picture at an integer scale, as the PNG export writes it.
    pub fn picture(&self, scale: u32) -> Option<image::DynamicImage> {
        let shape = self.shape?;
        if self.gapless {
            return render::mosaic(&self.values, shape, self.columns, scale).ok();
        }
        render::grid(&self.values, shape, self.columns, scale).ok()
    }

    /// The texture to draw, uploaded again only after a change.
    pub fn texture(&mut self, ctx: &egui::Context, name: &str) -> Option<&TextureHandle> {
        if self.dirty || self.texture.is_none() {
            let picture = self.picture(1)?.to_rgba8();
            let size = [picture.width() as usize, picture.height() as usize];
            let image = ColorImage::from_rgba_unmultiplied(size, picture.as_raw());
            match &mut self.texture {
                Some(t) => t.set(image, TextureOptions::NEAREST),
                None => self.texture = Some(ctx.load_texture(name, image, TextureOptions::NEAREST)),
            }
            self.dirty = false;
        }
        self.texture.as_ref()
    }

    /// Which tile of a strip or grid a point (in the texture's unscaled pixels) falls on.
    pub fn tile_at(&self, x: f32, y: f32) -> Option<usize> {
        let shape = self.shape?;
        let gap = render::TILE_GAP as f32;
        let (tw, th) = (shape.width as f32 + gap, shape.height as f32 + gap);
        if x < 0.0 || y < 0.0 {
            return None;
        }
        let (col, row) = ((x / tw) as usize, (y / th) as usize);
        if col >= self.columns {
            return None;
        }
        let k = row * self.columns + col;
        (k < self.count()).then_some(k)
    }
}
