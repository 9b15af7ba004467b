//! The latent map as a figure for a report: the points as the window colours them (classes or
//! anomaly-score bands, hidden groups left out), framed by axes with ticks and the window's
//! axis names, a legend of the colours and a title naming the dataset and the model.
//!
//! Drawn on the worker from a [`MapFigure`] the window fills in (copies, no references into
//! the workspace). Text is laid out and rasterised by egui's own font code (epaint, with its
//! bundled fonts), so the figure uses the window's typeface and needs no font crate or file.

use crate::gui::map_raster::rasterize_points;
use crate::gui::panels::map::legend::{BAND_NAMES, score_bands};
use egui::epaint::text::{FontDefinitions, Fonts, TextOptions};
use egui::{Color32, FontId};
use image::{Rgb, RgbImage};

/// The figure's background, text and frame colours.
const BACKGROUND: Rgb<u8> = Rgb([255, 255, 255]);
const INK: [u8; 3] = [30, 30, 30];
/// The plot's frame and tick marks: a grey no class or band colour uses (tests find the
/// plot's edge by it).
pub const FRAME: [u8; 3] = [64, 64, 64];
/// Side of a legend swatch at scale 1, in pixels.
pub const SWATCH: u32 = 12;

/// How each point gets its legend entry.
pub enum Grouping {
    /// The entry of each point, in map order (classes).
    Groups(Vec<u16>),
    /// Each point's anomaly score, banded by quantile here (the entries are the bands).
    Scores(Vec<f32>),
}

/// Everything the figure shows, copied out of the window.
pub struct MapFigure {
    pub title: String,
    /// A second, smaller title line (what is shown and how it is coloured).
    pub subtitle: String,
    /// The axes' names as the window shows them.
    pub axis_names: [String; 2],
    /// Map positions, in map order.
    pub coords: Vec<[f64; 2]>,
    pub grouping: Grouping,
    /// Legend title and entries (name, colour), with the ones the user hid.
    pub legend_title: String,
    pub entries: Vec<(String, Color32)>,
    pub hidden: Vec<bool>,
    /// The region of the map to show: [x_min, y_min, x_max, y_max].
    pub view: [f64; 4],
    /// Point radius in window points (scaled with the figure).
    pub point_radius: f32,
    /// 1..=8: the figure's size and its text grow with it.
    pub scale: u32,
}

/// A piece of text as coverage (0-255) per pixel.
struct TextMask {
    width: u32,
    height: u32,
    alpha: Vec<u8>,
}

impl TextMask {
    /// The same text turned a quarter to the left (for the vertical axis name).
    fn rotated_left(&self) -> Self {
        let (w, h) = (self.width, self.height);
        let mut alpha = vec![0u8; (w * h) as usize];
        for y in 0..h {
            for x in 0..w {
                // (x, y) goes to (y, w - 1 - x) in an image h wide and w tall.
                alpha[((w - 1 - x) * h + y) as usize] = self.alpha[(y * w + x) as usize];
            }
        }
        Self {
            width: h,
            height: w,
            alpha,
        }
    }

    /// Blends the text in `colour` onto `img` with its top-left corner at (x, y).
    fn draw(&self, img: &mut RgbImage, x: i64, y: i64, colour: [u8; 3]) {
        for ty in 0..self.height as i64 {
            for tx in 0..self.width as i64 {
                let a = self.alpha[(ty * self.width as i64 + tx) as usize] as u32;
                let (px, py) = (x + tx, y + ty);
                if a == 0 || px < 0 || py < 0 || px >= img.width() as i64 {
                    continue;
                }
                if py >= img.height() as i64 {
                    continue;
                }
                let p = img.get_pixel_mut(px as u32, py as u32);
                for (d, &s) in p.0.iter_mut().zip(&colour) {
                    *d = ((s as u32 * a + *d as u32 * (255 - a)) / 255) as u8;
                }
            }
        }
    }
}

/// Lays text out with egui's fonts at one pixel per point and copies the glyphs out of the
/// font atlas.
struct TextRenderer {
    fonts: Fonts,
}

impl TextRenderer {
    fn new() -> Self {
        let options = TextOptions {
            // Plain coverage: the text is dark on a light background.
            color_transfer_function: egui::epaint::FontColorTransferFunction::Off,
            ..TextOptions::default()
        };
        Self {
            fonts: Fonts::new(options, FontDefinitions::default()),
        }
    }

    /// Width and height of `text` at `size` pixels, without drawing it.
    fn measure(&mut self, text: &str, size: f32) -> (u32, u32) {
        let galley = self.fonts.with_pixels_per_point(1.0).layout_no_wrap(
            text.to_string(),
            FontId::proportional(size),
            Color32::WHITE,
        );
        let s = galley.size();
        (s.x.ceil() as u32, s.y.ceil() as u32)
    }

    fn mask(&mut self, text: &str, size: f32) -> TextMask {
        let galley = self.fonts.with_pixels_per_point(1.0).layout_no_wrap(
            text.to_string(),
            FontId::proportional(size),
            Color32::WHITE,
        );
        // The glyphs are in the atlas once laid out.
        let atlas = self.fonts.texture_atlas().image();
        let (width, height) = (
            galley.size().x.ceil().max(1.0) as u32,
            galley.size().y.ceil().max(1.0) as u32,
        );
        let mut alpha = vec![0u8; (width * height) as usize];
        for row in &galley.rows {
            for glyph in &row.row.glyphs {
                let uv = glyph.uv_rect;
                if uv.is_nothing() {
                    continue;
                }
                // Where epaint's tessellator puts the glyph's quad, rounded to a pixel.
                let left_top = row.pos + glyph.pos.to_vec2() + uv.offset;
                let (gx, gy) = (left_top.x.round() as i64, left_top.y.round() as i64);
                for ty in uv.min[1]..uv.max[1] {
                    for tx in uv.min[0]..uv.max[0] {
                        let a = atlas[(tx as usize, ty as usize)].a();
                        let x = gx + (tx - uv.min[0]) as i64;
                        let y = gy + (ty - uv.min[1]) as i64;
                        if a > 0 && x >= 0 && y >= 0 && x < width as i64 && y < height as i64 {
                            let p = &mut alpha[(y as u32 * width + x as u32) as usize];
                            *p = (*p).max(a);
                        }
                    }
                }
            }
        }
        TextMask {
            width,
            height,
            alpha,
        }
    }
}

/// About `target` round values (1, 2 or 5 times a power of ten) spanning [lo, hi], with the
/// decimals needed to tell them apart.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> (Vec<f64>, usize) {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) {
        return (Vec::new(), 0);
    }
    let raw = span / target.max(1) as f64;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * power);
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    let ticks = (first..=last).map(|k| k as f64 * step).collect();
    (ticks, decimals)
}

fn fill_rect(img: &mut RgbImage, x0: i64, y0: i64, x1: i64, y1: i64, colour: [u8; 3]) {
    let (w, h) = (img.width() as i64, img.height() as i64);
    for y in y0.max(0)..y1.min(h) {
        for x in x0.max(0)..x1.min(w) {
            img.put_pixel(x as u32, y as u32, Rgb(colour));
        }
    }
}

impl MapFigure {
    /// Draws the figure. Fails only on a view with no extent.
    pub fn render(&self) -> Result<image::DynamicImage, String> {
        let [x0, y0, x1, y1] = self.view;
        let (span_x, span_y) = (x1 - x0, y1 - y0);
        if !(span_x.is_finite() && span_y.is_finite() && span_x > 0.0 && span_y > 0.0) {
            return Err("the map's view has no extent".into());
        }
        let u = self.scale.clamp(1, 8) as f32;
        let px = |v: f32| (v * u).round() as i64;
        // The plot keeps the map's aspect (equal units on both axes, as in the window).
        let long = 512.0 * u;
        let aspect = (span_y / span_x).clamp(0.2, 5.0) as f32;
        let (pw, ph) = if aspect <= 1.0 {
            (long, long * aspect)
        } else {
            (long / aspect, long)
        };
        let (pw, ph) = (pw.round() as i64, ph.round() as i64);

        let mut text = TextRenderer::new();
        let (tick_size, label_size, legend_size) = (11.0 * u, 13.0 * u, 12.0 * u);
        let (title_size, subtitle_size) = (16.0 * u, 11.0 * u);
        let (xt, xdec) = nice_ticks(x0, x1, 8);
        let (yt, ydec) = nice_ticks(y0, y1, 8);
        let x_labels: Vec<String> = xt.iter().map(|v| format!("{v:.xdec$}")).collect();
        let y_labels: Vec<String> = yt.iter().map(|v| format!("{v:.ydec$}")).collect();
        let widest_y_tick = y_labels
            .iter()
            .map(|l| text.measure(l, tick_size).0)
            .max()
            .unwrap_or(0) as i64;
        let shown: Vec<usize> = (0..self.entries.len())
            .filter(|&g| !self.hidden.get(g).copied().unwrap_or(false))
            .collect();
        let mut legend_text_w = text.measure(&self.legend_title, legend_size).0 as i64;
        for &g in &shown {
            legend_text_w =
                legend_text_w.max(text.measure(&self.entries[g].0, legend_size).0 as i64);
        }

        let tick_len = px(5.0);
        let gap = px(6.0);
        let line_h = text.measure("0", tick_size).1 as i64;
        let label_h = text.measure("Ag", label_size).1 as i64;
        let title_h = text.measure("Ag", title_size).1 as i64;
        let subtitle_h = text.measure("Ag", subtitle_size).1 as i64;
        let left = px(12.0) + label_h + gap + widest_y_tick + gap + tick_len;
        let top = px(10.0) + title_h + subtitle_h + px(12.0);
        let bottom = tick_len + gap + line_h + gap + label_h + px(10.0);
        let legend_w = px(16.0) + px(SWATCH as f32) + gap + legend_text_w + px(16.0);
        let width = left + pw + legend_w;
        let height = top + ph + bottom;
        crate::budget::Budget::current()
            .check_picture(width as u64, height as u64, 3)
            .map_err(|e| e.to_string())?;
        let mut img = RgbImage::from_pixel(width as u32, height as u32, BACKGROUND);

        // The points, drawn as the window draws them, composited onto the plot's background.
        let groups: Vec<u16> = match &self.grouping {
            Grouping::Groups(g) => g.clone(),
            Grouping::Scores(s) => score_bands(s).into_iter().map(u16::from).collect(),
        };
        let last = self.entries.len().saturating_sub(1);
        let colour = |k: usize| -> Option<Color32> {
            let g = (groups.get(k).copied().unwrap_or(0) as usize).min(last);
            let hidden = self.hidden.get(g).copied().unwrap_or(false);
            (!hidden)
                .then(|| self.entries.get(g).map(|e| e.1))
                .flatten()
        };
        // Score bands go low to high, so the anomalies sit on top (as in the window).
        let order: Option<Vec<u32>> = matches!(self.grouping, Grouping::Scores(_)).then(|| {
            (0..BAND_NAMES.len() as u16)
                .flat_map(|band| {
                    let groups = &groups;
                    (0..groups.len() as u32).filter(move |&k| groups[k as usize] == band)
                })
                .collect()
        });
        let points = rasterize_points(
            &self.coords,
            order.as_deref(),
            colour,
            self.view,
            [pw as usize, ph as usize],
            self.point_radius.max(0.5) * u,
        );
        for (i, p) in points.pixels.iter().enumerate() {
            let [r, g, b, a] = p.to_array();
            if a == 0 {
                continue;
            }
            let (x, y) = (left + (i as i64 % pw), top + (i as i64 / pw));
            let dst = img.get_pixel_mut(x as u32, y as u32);
            // Premultiplied "over" onto the background.
            for (c, s) in dst.0.iter_mut().zip([r, g, b]) {
                *c = (s as u32 + *c as u32 * (255 - a as u32) / 255).min(255) as u8;
            }
        }

        // Frame and ticks.
        let t = px(1.0).max(1);
        fill_rect(&mut img, left - t, top - t, left + pw + t, top, FRAME);
        fill_rect(
            &mut img,
            left - t,
            top + ph,
            left + pw + t,
            top + ph + t,
            FRAME,
        );
        fill_rect(&mut img, left - t, top, left, top + ph, FRAME);
        fill_rect(&mut img, left + pw, top, left + pw + t, top + ph, FRAME);
        for (v, label) in xt.iter().zip(&x_labels) {
            let x = left + ((v - x0) / span_x * pw as f64).round() as i64;
            fill_rect(&mut img, x, top + ph + t, x + t, top + ph + tick_len, FRAME);
            let m = text.mask(label, tick_size);
            m.draw(
                &mut img,
                x - m.width as i64 / 2,
                top + ph + tick_len + gap / 2,
                INK,
            );
        }
        for (v, label) in yt.iter().zip(&y_labels) {
            let y = top + ph - ((v - y0) / span_y * ph as f64).round() as i64;
            fill_rect(&mut img, left - tick_len, y, left - t, y + t, FRAME);
            let m = text.mask(label, tick_size);
            m.draw(
                &mut img,
                left - tick_len - gap / 2 - m.width as i64,
                y - m.height as i64 / 2,
                INK,
            );
        }

        // Axis names (the vertical one turned), then the title.
        let xn = text.mask(&self.axis_names[0], label_size);
        xn.draw(
            &mut img,
            left + pw / 2 - xn.width as i64 / 2,
            top + ph + tick_len + gap + line_h + gap,
            INK,
        );
        let yn = text.mask(&self.axis_names[1], label_size).rotated_left();
        yn.draw(&mut img, px(12.0), top + ph / 2 - yn.height as i64 / 2, INK);
        let title = text.mask(&self.title, title_size);
        title.draw(
            &mut img,
            left + pw / 2 - title.width as i64 / 2,
            px(10.0),
            INK,
        );
        let sub = text.mask(&self.subtitle, subtitle_size);
        sub.draw(
            &mut img,
            left + pw / 2 - sub.width as i64 / 2,
            px(10.0) + title_h,
            [90, 90, 90],
        );

        // The legend: a solid swatch of each shown colour and its name.
        let lx = left + pw + px(16.0);
        let row_h = (text.measure("Ag", legend_size).1 as i64).max(px(SWATCH as f32)) + px(4.0);
        let mut y = top;
        text.mask(&self.legend_title, legend_size)
            .draw(&mut img, lx, y, INK);
        y += row_h + px(2.0);
        let s = px(SWATCH as f32);
        for &g in &shown {
            let (name, c) = &self.entries[g];
            let name_mask = text.mask(name, legend_size);
            let mid = y + name_mask.height as i64 / 2;
            fill_rect(&mut img, lx, mid - s / 2, lx + s, mid - s / 2 + s, {
                let [r, gg, b, _] = c.to_array();
                [r, gg, b]
            });
            name_mask.draw(&mut img, lx + s + gap, y, INK);
            y += row_h;
        }
        Ok(image::DynamicImage::ImageRgb8(img))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_inside_the_range() {
        let (t, d) = nice_ticks(-3.2, 4.1, 8);
        assert_eq!(t, vec![-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0]);
        assert_eq!(d, 0);
        // Fewer wanted: the next round step.
        assert_eq!(nice_ticks(-3.2, 4.1, 4).0, vec![-2.0, 0.0, 2.0, 4.0]);
        let (t, d) = nice_ticks(0.01, 0.09, 4);
        assert_eq!(d, 2);
        assert!(t.iter().all(|&v| (0.01..=0.09).contains(&v)));
        assert!(nice_ticks(1.0, 1.0, 5).0.is_empty());
    }

    #[test]
    fn text_leaves_ink_and_turns() {
        let mut r = TextRenderer::new();
        let m = r.mask("PC1", 20.0);
        assert!(m.width > 20 && m.height > 10, "{}x{}", m.width, m.height);
        let inked = m.alpha.iter().filter(|&&a| a > 128).count();
        assert!(inked > 30, "{inked} inked pixels");
        let turned = m.rotated_left();
        assert_eq!((turned.width, turned.height), (m.height, m.width));
        assert_eq!(
            turned.alpha.iter().filter(|&&a| a > 128).count(),
            inked,
            "turning keeps every pixel"
        );
    }
}
