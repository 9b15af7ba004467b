//! The density view: where points pile up, the map is shaded by how many lie there (a
//! histogram at a quarter of the screen's resolution, blurred, on a log scale), drawn under
//! the points so that a dense core reads as a bright cloud rather than one colour.

use egui::{Color32, ColorImage};

/// Screen pixels per histogram cell.
const CELL: usize = 4;

/// The shading for `view` at `size` pixels of the points `keep` accepts.
pub fn rasterize_density(
    coords: &[[f64; 2]],
    keep: impl Fn(usize) -> bool,
    view: [f64; 4],
    size: [usize; 2],
) -> ColorImage {
    let (w, h) = (size[0].div_ceil(CELL).max(1), size[1].div_ceil(CELL).max(1));
    let mut counts = vec![0f32; w * h];
    let sx = w as f64 / (view[2] - view[0]).max(1e-12);
    let sy = h as f64 / (view[3] - view[1]).max(1e-12);
    for (k, c) in coords.iter().enumerate() {
        let (x, y) = ((c[0] - view[0]) * sx, (view[3] - c[1]) * sy);
        if x >= 0.0 && y >= 0.0 && (x as usize) < w && (y as usize) < h && keep(k) {
            counts[y as usize * w + x as usize] += 1.0;
        }
    }
    // Two box blurs of radius 2 (close to a Gaussian of about two cells).
    for _ in 0..2 {
        counts = box_blur(&counts, w, h, 2);
    }
    let max = counts.iter().copied().fold(0.0f32, f32::max);
    let norm = (1.0 + max).ln().max(1e-6);
    let pixels: Vec<Color32> = counts
        .iter()
        .map(|&c| {
            let t = (1.0 + c).ln() / norm;
            // Premultiplied: a warm white whose opacity grows with the density.
            let a = (t * 200.0) as u8;
            Color32::from_rgba_premultiplied(a, (a as f32 * 0.9) as u8, (a as f32 * 0.7) as u8, a)
        })
        .collect();
    ColorImage::new([w, h], pixels)
}

/// Separable box blur with edge clamping.
fn box_blur(src: &[f32], w: usize, h: usize, r: usize) -> Vec<f32> {
    let mut tmp = vec![0f32; w * h];
    let n = (2 * r + 1) as f32;
    for y in 0..h {
        for x in 0..w {
            let mut s = 0.0;
            for dx in 0..=2 * r {
                let xx = (x + dx).saturating_sub(r).min(w - 1);
                s += src[y * w + xx];
            }
            tmp[y * w + x] = s / n;
        }
    }
    let mut out = vec![0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            let mut s = 0.0;
            for dy in 0..=2 * r {
                let yy = (y + dy).saturating_sub(r).min(h - 1);
                s += tmp[yy * w + x];
            }
            out[y * w + x] = s / n;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dense_cluster_is_brighter_than_a_lone_point() {
        let mut coords: Vec<[f64; 2]> = (0..500)
            .map(|k| [0.25 + (k % 7) as f64 * 1e-3, 0.25])
            .collect();
        coords.push([0.75, 0.75]);
        let img = rasterize_density(&coords, |_| true, [0.0, 0.0, 1.0, 1.0], [400, 400]);
        let at = |x: f64, y: f64| {
            let (w, h) = (img.size[0], img.size[1]);
            img.pixels[((1.0 - y) * h as f64) as usize * w + (x * w as f64) as usize].a()
        };
        assert!(at(0.25, 0.25) > at(0.75, 0.75));
        assert!(at(0.75, 0.75) > 0, "a lone point still shows");
        assert_eq!(at(0.5, 0.1), 0, "empty space stays clear");
        // Hidden points are not counted.
        let none = rasterize_density(&coords, |_| false, [0.0, 0.0, 1.0, 1.0], [400, 400]);
        assert!(none.pixels.iter().all(|p| p.a() == 0));
    }
}
