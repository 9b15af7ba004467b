//! Filling in missing pixels: start from a guess, then repeatedly encode the image, decode it,
//! and copy the decoded values into the missing pixels only, holding the observed ones fixed.
//! The code moves toward one that explains what is visible; its path is kept for the map.

use crate::data::ImageShape;
use crate::error::{Error, Result};
use crate::model::Model;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

/// Which pixels are hidden.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum MaskKind {
    LeftHalf,
    RightHalf,
    TopHalf,
    BottomHalf,
    /// A rectangle (top, left, height, width) in pixels.
    Rect {
        top: usize,
        left: usize,
        height: usize,
        width: usize,
    },
    /// A square in the middle, its side about 36% of the shorter image side (10 of MNIST's
    /// 28), whatever the image size.
    CentreSquare,
    /// A seeded random fraction of the pixels.
    Random {
        fraction: f64,
        seed: u64,
    },
}

impl std::str::FromStr for MaskKind {
    type Err = String;
    /// "left", "right", "top", "bottom", "random:0.5" or "rect:TOP,LEFT,H,W".
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (kind, arg) = s.split_once(':').unwrap_or((s, ""));
        match kind.to_ascii_lowercase().as_str() {
            "left" => Ok(MaskKind::LeftHalf),
            "right" => Ok(MaskKind::RightHalf),
            "top" => Ok(MaskKind::TopHalf),
            "bottom" => Ok(MaskKind::BottomHalf),
            "centre" | "center" => Ok(MaskKind::CentreSquare),
            "random" => arg
                .parse::<f64>()
                .ok()
                .filter(|f| (0.0..1.0).contains(f))
                .map(|fraction| MaskKind::Random { fraction, seed: 1 })
                .ok_or_else(|| format!("'{s}': give a fraction in [0, 1), e.g. random:0.5")),
            "rect" => {
                let v: Vec<usize> = arg
                    .split(',')
                    .filter_map(|t| t.trim().parse().ok())
                    .collect();
                match v[..] {
                    [top, left, height, width] => Ok(MaskKind::Rect {
                        top,
                        left,
                        height,
                        width,
                    }),
                    _ => Err(format!("'{s}': give rect:TOP,LEFT,HEIGHT,WIDTH")),
                }
            }
            _ => Err(format!(
                "unknown mask '{s}' (left, right, top, bottom, centre, random:F, rect:T,L,H,W)"
            )),
        }
    }
}

/// Per value (H x W x C): true where the pixel is observed.
pub fn make_mask(kind: MaskKind, shape: ImageShape) -> Vec<bool> {
    let (h, w, c) = (shape.height, shape.width, shape.channels);
    let mut observed = vec![true; h * w];
    let mut hide = |pred: &dyn Fn(usize, usize) -> bool| {
        for y in 0..h {
            for x in 0..w {
                if pred(y, x) {
                    observed[y * w + x] = false;
                }
            }
        }
    };
    match kind {
        MaskKind::LeftHalf => hide(&|_, x| x < w / 2),
        MaskKind::RightHalf => hide(&|_, x| x >= w / 2),
        MaskKind::TopHalf => hide(&|y, _| y < h / 2),
        MaskKind::BottomHalf => hide(&|y, _| y >= h / 2),
        MaskKind::Rect {
            top,
            left,
            height,
            width,
        } => hide(&|y, x| y >= top && y < top + height && x >= left && x < left + width),
        MaskKind::CentreSquare => {
            let side = ((h.min(w) as f64 * 10.0 / 28.0).round() as usize).max(1);
            let (top, left) = ((h - side.min(h)) / 2, (w - side.min(w)) / 2);
            hide(&|y, x| y >= top && y < top + side && x >= left && x < left + side)
        }
        MaskKind::Random { fraction, seed } => {
            let mut order: Vec<usize> = (0..h * w).collect();
            order.shuffle(&mut StdRng::seed_from_u64(seed));
            let k = ((h * w) as f64 * fraction).round() as usize;
            for &p in &order[..k.min(order.len())] {
                observed[p] = false;
            }
        }
    }
    // Every channel of a pixel shares its fate.
    observed
        .into_iter()
        .flat_map(|o| std::iter::repeat_n(o, c))
        .collect()
}

/// The result of filling in.
#[derive(Clone, Debug)]
pub struct Inpainting {
    /// The image with its missing values filled.
    pub completion: Vec<f32>,
    /// The posterior mean after each iteration (for drawing the path on the map).
    pub path: Vec<Vec<f32>>,
}

/// Fills the values of `image` where `observed` is false, starting from `initial` there
/// (e.g. the dataset's mean image), over `iterations` rounds of encode -> decode. A conditional
/// model encodes and decodes as `class` (the image's label), and refuses without one.
pub fn inpaint(
    model: &Model,
    image: &[f32],
    observed: &[bool],
    initial: &[f32],
    iterations: usize,
    class: Option<u16>,
) -> Result<Inpainting> {
    let classes = class.map_or(crate::model::Classes::None, crate::model::Classes::All);
    let d = model.config().input.len();
    if image.len() != d || observed.len() != d || initial.len() != d {
        return Err(Error::InvalidArgument(format!(
            "image, mask and initial guess must have {d} values each"
        )));
    }
    let mut x: Vec<f32> = image
        .iter()
        .zip(observed)
        .zip(initial)
        .map(|((&v, &o), &g)| if o { v } else { g })
        .collect();
    let mut path = Vec::with_capacity(iterations);
    for _ in 0..iterations.clamp(1, 1000) {
        let codes = model.encode_values_as(&x, classes)?;
        let decoded = model.decode_as(&codes.mean, classes)?;
        for ((v, &o), &r) in x.iter_mut().zip(observed).zip(&decoded) {
            if !o {
                *v = r;
            }
        }
        path.push(codes.mean);
    }
    Ok(Inpainting {
        completion: x,
        path,
    })
}

#[cfg(test)]
mod centre_tests {
    use super::*;

    fn hidden_box(shape: ImageShape) -> (usize, usize, usize, usize) {
        let m = make_mask(MaskKind::CentreSquare, shape);
        let hidden: Vec<(usize, usize)> = (0..shape.height * shape.width)
            .filter(|&p| !m[p * shape.channels])
            .map(|p| (p / shape.width, p % shape.width))
            .collect();
        let ys = hidden.iter().map(|p| p.0);
        let xs = hidden.iter().map(|p| p.1);
        (
            ys.clone().min().unwrap(),
            ys.max().unwrap(),
            xs.clone().min().unwrap(),
            xs.max().unwrap(),
        )
    }

    #[test]
    fn the_centre_square_is_centred_at_every_size() {
        for (h, w) in [(8, 8), (28, 28), (64, 64), (32, 48)] {
            let shape = ImageShape {
                height: h,
                width: w,
                channels: 1,
            };
            let (y0, y1, x0, x1) = hidden_box(shape);
            assert!(y1 >= y0 && x1 >= x0, "{h}x{w}: nothing hidden");
            // Centred: the margins either side differ by at most one pixel.
            assert!((y0 as i64 - (h - 1 - y1) as i64).abs() <= 1, "{h}x{w}");
            assert!((x0 as i64 - (w - 1 - x1) as i64).abs() <= 1, "{h}x{w}");
        }
        assert_eq!(
            hidden_box(ImageShape {
                height: 28,
                width: 28,
                channels: 1
            }),
            (9, 18, 9, 18)
        );
    }
}
