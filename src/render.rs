//! Images in [0, 1] to pictures: one image, a strip, or a grid, scaled up by an integer factor
//! with nearest-neighbour sampling (crisp pixels), and saved as PNG atomically.

use crate::atomic::write_atomically;
use crate::data::ImageShape;
use crate::error::{Error, Result};
use image::{DynamicImage, GrayImage, ImageFormat, RgbImage};
use std::path::Path;

/// Gap between tiles in a strip or grid, in output pixels.
pub const TILE_GAP: u32 = 2;

fn to_byte(v: f32) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// One image (H x W x C values in [0, 1]) to a picture, each pixel repeated `scale` times.
pub fn to_image(values: &[f32], shape: ImageShape, scale: u32) -> Result<DynamicImage> {
    grid(values, shape, 1, scale)
}

/// `values.len() / shape.len()` images side by side.
pub fn strip(values: &[f32], shape: ImageShape, scale: u32) -> Result<DynamicImage> {
    let n = values.len() / shape.len().max(1);
    grid(values, shape, n.max(1), scale)
}

/// Images laid out `columns` to a row, with a dark gap between tiles.
pub fn grid(values: &[f32], shape: ImageShape, columns: usize, scale: u32) -> Result<DynamicImage> {
    layout(values, shape, columns, scale, TILE_GAP)
}

/// Images laid out `columns` to a row with no gap: a seamless mosaic (the decoded manifold).
pub fn mosaic(
    values: &[f32],
    shape: ImageShape,
    columns: usize,
    scale: u32,
) -> Result<DynamicImage> {
    layout(values, shape, columns, scale, 0)
}

fn layout(
    values: &[f32],
    shape: ImageShape,
    columns: usize,
    scale: u32,
    tile_gap: u32,
) -> Result<DynamicImage> {
    let d = shape.len();
    if d == 0 || values.is_empty() || !values.len().is_multiple_of(d) {
        return Err(Error::InvalidArgument(format!(
            "{} values do not make whole images of {shape}",
            values.len()
        )));
    }
    if scale == 0 || scale > 64 {
        return Err(Error::InvalidArgument(format!(
            "scale must be 1..=64, got {scale}"
        )));
    }
    let n = values.len() / d;
    let cols = columns.clamp(1, n);
    let rows = n.div_ceil(cols);
    // Sizes in checked u64: a wide grid or a large scale is refused, never a wrapped u32.
    let too_large = || {
        Error::InvalidArgument(format!(
            "a grid of {rows} x {cols} images of {shape} at scale {scale} is too large a picture; use a smaller scale or fewer images"
        ))
    };
    let gap = if n > 1 { tile_gap as u64 } else { 0 };
    let tw = (shape.width as u64)
        .checked_mul(scale as u64)
        .ok_or_else(too_large)?;
    let th = (shape.height as u64)
        .checked_mul(scale as u64)
        .ok_or_else(too_large)?;
    let span = |count: usize, tile: u64| -> Option<u64> {
        (count as u64)
            .checked_mul(tile)?
            .checked_add((count as u64 - 1).checked_mul(gap)?)
    };
    let width = span(cols, tw).ok_or_else(too_large)?;
    let height = span(rows, th).ok_or_else(too_large)?;
    if width > u32::MAX as u64
        || height > u32::MAX as u64
        || width.checked_mul(height).is_none_or(|p| p > 1 << 28)
    {
        return Err(Error::InvalidArgument(format!(
            "a {width}x{height} picture is too large; use a smaller scale or fewer images"
        )));
    }
    crate::budget::Budget::current().check_picture(width, height, shape.channels as u64)?;
    let (width, height, tw, th, gap) = (
        width as u32,
        height as u32,
        tw as u32,
        th as u32,
        gap as u32,
    );
    let c = shape.channels;
    let mut bytes = vec![32u8; width as usize * height as usize * c];
    for (k, img) in values.chunks_exact(d).enumerate() {
        let (ox, oy) = (
            (k % cols) as u32 * (tw + gap),
            (k / cols) as u32 * (th + gap),
        );
        for y in 0..th {
            let sy = (y / scale) as usize;
            for x in 0..tw {
                let sx = (x / scale) as usize;
                let src = (sy * shape.width + sx) * c;
                let dst = (((oy + y) * width + ox + x) as usize) * c;
                for ch in 0..c {
                    bytes[dst + ch] = to_byte(img[src + ch]);
                }
            }
        }
    }
    let image = if c == 1 {
        GrayImage::from_raw(width, height, bytes).map(DynamicImage::ImageLuma8)
    } else {
        RgbImage::from_raw(width, height, bytes).map(DynamicImage::ImageRgb8)
    };
    image.ok_or_else(|| Error::InvalidArgument("picture buffer has the wrong size".into()))
}

/// Encodes as PNG and writes atomically (no half-written file on failure).
pub fn save_png(image: &DynamicImage, path: &Path) -> Result<()> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, ImageFormat::Png)
        .map_err(|e| Error::ImageWrite {
            path: path.into(),
            reason: e.to_string(),
        })?;
    write_atomically(path, bytes.get_ref())
}

/// A sensible number of columns for `n` tiles: close to square.
pub fn grid_columns(n: usize) -> usize {
    ((n as f64).sqrt().ceil() as usize).max(1)
}
