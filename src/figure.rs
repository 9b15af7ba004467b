//! Figures for papers and slides: a grid of images with row and column labels (the traversal
//! and analogy grids), and animated GIFs. Text is drawn with an 8x8 bitmap font, so a figure
//! needs no font file and looks the same everywhere.

use crate::data::ImageShape;
use crate::error::{Error, Result};
use crate::render;
use font8x8::UnicodeFonts;
use image::{DynamicImage, Rgb, RgbImage, RgbaImage};

/// Height and width of one glyph at text scale 1, in pixels.
pub const GLYPH: u32 = 8;
/// Background of the margins (the same dark grey as the gaps between tiles).
const BACKGROUND: Rgb<u8> = Rgb([32, 32, 32]);
const INK: Rgb<u8> = Rgb([230, 230, 230]);
/// Space around labels, in pixels at text scale 1.
const PAD: u32 = 4;

/// Width in pixels of `text` drawn at `scale`.
pub fn text_width(text: &str, scale: u32) -> u32 {
    text.chars().count() as u32 * GLYPH * scale
}

/// Draws `text` with its top-left corner at (x, y); what falls outside the picture is cut.
/// Characters the font lacks are drawn as '?'.
pub fn draw_text(img: &mut RgbImage, x: u32, y: u32, text: &str, scale: u32, colour: Rgb<u8>) {
    let scale = scale.max(1);
    for (k, ch) in text.chars().enumerate() {
        let glyph = font8x8::BASIC_FONTS
            .get(ch)
            .or_else(|| font8x8::GREEK_FONTS.get(ch))
            .or_else(|| font8x8::BASIC_FONTS.get('?'))
            .unwrap_or([0; 8]);
        let ox = x + k as u32 * GLYPH * scale;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..GLYPH {
                // Bit 0 is the leftmost pixel.
                if bits & (1 << col) == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        let (px, py) = (ox + col * scale + dx, y + row as u32 * scale + dy);
                        if px < img.width() && py < img.height() {
                            img.put_pixel(px, py, colour);
                        }
                    }
                }
            }
        }
    }
}

/// The text scale that suits tiles drawn at image scale `scale`: bigger tiles, bigger text.
pub fn text_scale_for(scale: u32) -> u32 {
    if scale >= 4 { 2 } else { 1 }
}

/// A grid of `rows` x `cols` images (row-major) with labels: `row_labels[r]` (one or more
/// lines) left of row r, `column_labels[c]` above column c. `scale` enlarges each image pixel.
pub fn labelled_grid(
    images: &[f32],
    shape: ImageShape,
    cols: usize,
    scale: u32,
    row_labels: &[Vec<String>],
    column_labels: &[String],
) -> Result<DynamicImage> {
    let n = images.len() / shape.len().max(1);
    if cols == 0 || n == 0 || !n.is_multiple_of(cols) {
        return Err(Error::InvalidArgument(format!(
            "{n} images do not fill whole rows of {cols}"
        )));
    }
    let rows = n / cols;
    if row_labels.len() != rows || column_labels.len() != cols {
        return Err(Error::InvalidArgument(format!(
            "a grid of {rows} x {cols} needs {rows} row labels and {cols} column labels, got {} and {}",
            row_labels.len(),
            column_labels.len()
        )));
    }
    let inner = render::grid(images, shape, cols, scale)?.to_rgb8();
    let ts = text_scale_for(scale);
    let line = GLYPH * ts + 2;
    let left = row_labels
        .iter()
        .flatten()
        .map(|l| text_width(l, ts))
        .max()
        .unwrap_or(0)
        + 2 * PAD;
    let top = line + 2 * PAD;
    let (w64, h64) = (
        left as u64 + inner.width() as u64 + PAD as u64,
        top as u64 + inner.height() as u64 + PAD as u64,
    );
    crate::budget::Budget::current().check_picture(w64, h64, 3)?;
    let (Ok(w), Ok(h)) = (u32::try_from(w64), u32::try_from(h64)) else {
        return Err(too_large(w64, h64));
    };
    let mut out = RgbImage::from_pixel(w, h, BACKGROUND);
    image::imageops::replace(&mut out, &inner, left as i64, top as i64);
    let tile_w = shape.width as u32 * scale + render::TILE_GAP;
    let tile_h = shape.height as u32 * scale + render::TILE_GAP;
    for (c, label) in column_labels.iter().enumerate() {
        // Centred over its column (left-aligned when wider than the tile).
        let centre = left + c as u32 * tile_w + (tile_w - render::TILE_GAP) / 2;
        let x = centre.saturating_sub(text_width(label, ts) / 2).max(left);
        draw_text(&mut out, x, PAD, label, ts, INK);
    }
    for (r, lines) in row_labels.iter().enumerate() {
        let block = lines.len() as u32 * line;
        let middle = top + r as u32 * tile_h + (tile_h - render::TILE_GAP) / 2;
        let y0 = middle.saturating_sub(block / 2).max(top);
        for (k, text) in lines.iter().enumerate() {
            draw_text(&mut out, PAD, y0 + k as u32 * line, text, ts, INK);
        }
    }
    Ok(DynamicImage::ImageRgb8(out))
}

fn too_large(w: u64, h: u64) -> Error {
    Error::InvalidArgument(format!(
        "a {w}x{h} picture is too large; use a smaller scale or fewer images"
    ))
}

/// One image at `scale` with a caption line under it, on a canvas `width` wide (the image
/// centred): a frame of an animation whose captions differ in length but not its size.
pub fn captioned_frame(
    image: &[f32],
    shape: ImageShape,
    scale: u32,
    caption: &str,
    width: u32,
) -> Result<RgbImage> {
    let tile = render::to_image(image, shape, scale)?.to_rgb8();
    let ts = 1;
    let width = width.max(tile.width());
    let height = tile.height() + GLYPH * ts + 2 * PAD;
    let mut out = RgbImage::from_pixel(width, height, BACKGROUND);
    image::imageops::replace(&mut out, &tile, ((width - tile.width()) / 2) as i64, 0);
    let x = (width.saturating_sub(text_width(caption, ts))) / 2;
    draw_text(&mut out, x, tile.height() + PAD, caption, ts, INK);
    Ok(out)
}

/// Frames to an endlessly looping GIF, each shown `frame_ms` milliseconds. All frames must
/// have one size, at most 65,535 pixels a side. Grey pictures keep their exact levels (a GIF
/// palette holds 256 colours); colour ones are quantised.
pub fn encode_gif(frames: &[RgbImage], frame_ms: u32) -> Result<Vec<u8>> {
    let Some(first) = frames.first() else {
        return Err(Error::InvalidArgument("an animation needs frames".into()));
    };
    let (w, h) = first.dimensions();
    if w > u16::MAX as u32 || h > u16::MAX as u32 {
        return Err(Error::InvalidArgument(format!(
            "a GIF frame of {w}x{h} is too large (65535 pixels a side at most); use a smaller scale"
        )));
    }
    if frames.iter().any(|f| f.dimensions() != (w, h)) {
        return Err(Error::InvalidArgument(
            "the frames of an animation must have one size".into(),
        ));
    }
    let bytes_needed = (w as u64 * h as u64 * 4).saturating_mul(frames.len() as u64);
    crate::budget::Budget::current().check(
        &format!("an animation of {} frames of {w}x{h}", frames.len()),
        Some(bytes_needed),
        "use fewer steps, fewer dimensions or a smaller scale",
    )?;
    let gif_error = |e: image::ImageError| Error::InvalidArgument(format!("GIF encoding: {e}"));
    let mut bytes = Vec::new();
    {
        // Speed 10 of 30: colour frames are quantised quickly and well enough; grey ones
        // never reach the quantiser.
        let mut encoder = image::codecs::gif::GifEncoder::new_with_speed(&mut bytes, 10);
        encoder
            .set_repeat(image::codecs::gif::Repeat::Infinite)
            .map_err(gif_error)?;
        let delay = image::Delay::from_numer_denom_ms(frame_ms.clamp(20, 10_000), 1);
        for f in frames {
            let rgba: RgbaImage = DynamicImage::ImageRgb8(f.clone()).to_rgba8();
            encoder
                .encode_frame(image::Frame::from_parts(rgba, 0, 0, delay))
                .map_err(gif_error)?;
        }
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lands_inside_its_box() {
        let mut img = RgbImage::from_pixel(40, 12, BACKGROUND);
        draw_text(&mut img, 2, 2, "z3", 1, INK);
        let inked: Vec<(u32, u32)> = img
            .enumerate_pixels()
            .filter(|(_, _, p)| **p == INK)
            .map(|(x, y, _)| (x, y))
            .collect();
        assert!(!inked.is_empty());
        assert!(
            inked
                .iter()
                .all(|&(x, y)| (2..2 + 16).contains(&x) && (2..10).contains(&y))
        );
    }

    #[test]
    fn labelled_grid_has_margins_for_its_labels() {
        let shape = ImageShape::new(4, 4, 1);
        let images = vec![0.5f32; 16 * 6];
        let rows = vec![vec!["z0".to_string()], vec!["z1 long".to_string()]];
        let cols: Vec<String> = (0..3).map(|c| c.to_string()).collect();
        let img = labelled_grid(&images, shape, 3, 1, &rows, &cols).unwrap();
        let inner = render::grid(&images, shape, 3, 1).unwrap();
        assert_eq!(
            img.width(),
            text_width("z1 long", 1) + 2 * PAD + inner.width() + PAD
        );
        assert!(img.height() > inner.height() + GLYPH);
        assert!(labelled_grid(&images, shape, 4, 1, &rows, &cols).is_err());
    }
}
