//! One rule for pixel scale, used by every loader (IDX, numpy, CSV, image folders):
//!
//! - `bool` arrays are 0/1 data (0 black, 1 white);
//! - `uint8` arrays (and IDX files and image files) are 0..255;
//! - whole-number values (other integer types, and floats that are all whole numbers, as
//!   `np.savetxt` writes them) are 0/1 data when the largest is 1, 0..16 data (scikit-learn's
//!   digits) when the largest is at most 16, else 0..255;
//! - other floats are [0, 1] data when the largest is at most 1 + [`UNIT_TOLERANCE`] (a few
//!   values a little above 1 or below 0 come from rounding or a bicubic resize; they are
//!   clamped and counted), else 0..255;
//! - anything else (values above 255, clearly negative, NaN) is refused, naming the value and
//!   where it is, unless `--pixel-range` says the scale, in which case values outside it are
//!   clamped and counted.

use std::fmt;
use std::str::FromStr;

/// Floats up to 1 + this are taken as [0, 1] data (values above 1 clamped); likewise down to
/// minus this.
pub const UNIT_TOLERANCE: f64 = 0.1;

/// The scale a user asks for (`--pixel-range`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum PixelRange {
    /// Decide from the dtype and the values (the rule above).
    #[default]
    Auto,
    /// Values in [0, 1].
    Unit,
    /// Values in 0..255.
    Byte,
    /// Values in 0..N.
    Max(f64),
}

impl FromStr for PixelRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "auto" => Ok(Self::Auto),
            "unit" | "0..1" | "1" => Ok(Self::Unit),
            "byte" | "0..255" | "255" => Ok(Self::Byte),
            _ => match s.strip_prefix("max:").map(str::parse::<f64>) {
                Some(Ok(n)) if n.is_finite() && n > 0.0 => Ok(Self::Max(n)),
                _ => Err(format!(
                    "pixel range '{s}' is not auto, unit, byte or max:N (N > 0)"
                )),
            },
        }
    }
}

/// The scale a loader chose.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PixelScale {
    /// 0/1 values.
    Binary,
    /// [0, 1] values.
    Unit,
    /// 0..16 whole values (scikit-learn's digits).
    Sixteen,
    /// 0..255.
    Byte,
    /// 0..N (asked for with `--pixel-range max:N`).
    Max(f64),
}

impl PixelScale {
    /// The value that maps to white.
    pub fn white(&self) -> f64 {
        match self {
            Self::Binary | Self::Unit => 1.0,
            Self::Sixteen => 16.0,
            Self::Byte => 255.0,
            Self::Max(n) => *n,
        }
    }
}

impl fmt::Display for PixelScale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Binary => write!(f, "0/1 values"),
            Self::Unit => write!(f, "values in [0, 1]"),
            Self::Sixteen => write!(f, "whole values 0..16 (scaled by 255/16)"),
            Self::Byte => write!(f, "values 0..255"),
            Self::Max(n) => write!(f, "values 0..{n}"),
        }
    }
}

/// What kind of values an array holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    Bool,
    U8,
    /// Any other integer type.
    Int,
    Float,
}

/// Pixels as bytes and how they were read.
#[derive(Clone, Debug)]
pub struct Scaled {
    pub pixels: Vec<u8>,
    pub scale: PixelScale,
    /// Values outside the scale's range, clamped.
    pub clamped: usize,
    /// One line: "float32, values in [0, 1]; 3 values outside [0, 1] clamped".
    pub description: String,
}

/// Converts `values` to bytes by the rule above. `dtype` names the values in messages;
/// `locate(i)` says where value `i` is ("image 3, element 5"). Errors are one-line reasons.
pub fn to_pixels<T: Copy + Into<f64>>(
    values: &[T],
    kind: ValueKind,
    dtype: &str,
    range: PixelRange,
    locate: &dyn Fn(usize) -> String,
) -> Result<Scaled, String> {
    let (mut min, mut max, mut integral) = (f64::INFINITY, f64::NEG_INFINITY, true);
    for (i, &v) in values.iter().enumerate() {
        let v: f64 = v.into();
        if !v.is_finite() {
            return Err(format!("{}: value {v} is not a pixel value", locate(i)));
        }
        min = min.min(v);
        max = max.max(v);
        integral &= v.fract() == 0.0;
    }
    if values.is_empty() {
        (min, max) = (0.0, 0.0);
    }
    let refuse = |pred: &dyn Fn(f64) -> bool, expected: &str| -> String {
        let i = values.iter().position(|&v| pred(v.into())).unwrap_or(0);
        let v: f64 = values.get(i).map(|&v| v.into()).unwrap_or(0.0);
        format!(
            "{}: value {v} is not a pixel value (expected {expected}; --pixel-range byte, unit or max:N sets the scale and clamps)",
            locate(i)
        )
    };
    let scale = match range {
        PixelRange::Unit => PixelScale::Unit,
        PixelRange::Byte => PixelScale::Byte,
        PixelRange::Max(n) => PixelScale::Max(n),
        PixelRange::Auto => match kind {
            ValueKind::Bool => PixelScale::Binary,
            ValueKind::U8 => PixelScale::Byte,
            _ if integral => {
                if min < 0.0 {
                    return Err(refuse(&|v| v < 0.0, "0..255"));
                }
                if max <= 1.0 {
                    PixelScale::Binary
                } else if max <= 16.0 {
                    PixelScale::Sixteen
                } else if max <= 255.0 {
                    PixelScale::Byte
                } else {
                    return Err(refuse(&|v| v > 255.0, "0..255"));
                }
            }
            _ => {
                if max <= 1.0 + UNIT_TOLERANCE {
                    if min < -UNIT_TOLERANCE {
                        return Err(refuse(&|v| v < -UNIT_TOLERANCE, "0..1"));
                    }
                    PixelScale::Unit
                } else if max <= 255.0 {
                    if min < -UNIT_TOLERANCE * 255.0 {
                        return Err(refuse(&|v| v < -UNIT_TOLERANCE * 255.0, "0..255"));
                    }
                    PixelScale::Byte
                } else {
                    return Err(refuse(&|v| v > 255.0, "0..255, or 0..1 for floats"));
                }
            }
        },
    };
    let white = scale.white();
    let k = 255.0 / white;
    let mut clamped = 0usize;
    let pixels: Vec<u8> = values
        .iter()
        .map(|&v| {
            let v: f64 = v.into();
            if !(0.0..=white).contains(&v) {
                clamped += 1;
            }
            (v * k).round().clamp(0.0, 255.0) as u8
        })
        .collect();
    let mut description = format!("{dtype}, {scale}");
    if range != PixelRange::Auto {
        description.push_str(" (--pixel-range)");
    }
    if clamped > 0 {
        description.push_str(&format!(
            "; {clamped} value{} outside 0..{white} clamped",
            if clamped == 1 { "" } else { "s" }
        ));
    }
    Ok(Scaled {
        pixels,
        scale,
        clamped,
        description,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(v: &[f64], kind: ValueKind) -> Scaled {
        to_pixels(v, kind, "t", PixelRange::Auto, &|i| format!("#{i}")).unwrap()
    }

    #[test]
    fn the_rule() {
        assert_eq!(
            run(&[0.0, 0.5, 1.03], ValueKind::Float).scale,
            PixelScale::Unit
        );
        assert_eq!(run(&[0.0, 0.5, 1.03], ValueKind::Float).clamped, 1);
        assert_eq!(
            run(&[0.0, 1.0000001], ValueKind::Float).pixels,
            vec![0, 255]
        );
        assert_eq!(run(&[0.0, 1.5], ValueKind::Float).scale, PixelScale::Byte);
        assert_eq!(
            run(&[0.0, 16.0], ValueKind::Float).scale,
            PixelScale::Sixteen
        );
        assert_eq!(run(&[0.0, 16.0], ValueKind::Int).pixels, vec![0, 255]);
        assert_eq!(run(&[0.0, 1.0], ValueKind::Bool).pixels, vec![0, 255]);
        assert_eq!(run(&[0.0, 1.0], ValueKind::U8).pixels, vec![0, 1]);
        assert!(
            to_pixels(&[300.0], ValueKind::Int, "t", PixelRange::Auto, &|_| "x"
                .into())
            .is_err()
        );
        let s = to_pixels(
            &[300.0, 150.0],
            ValueKind::Int,
            "t",
            PixelRange::Max(300.0),
            &|_| "x".into(),
        )
        .unwrap();
        assert_eq!(s.pixels, vec![255, 128]);
        let s = to_pixels(
            &[2.0, 0.5],
            ValueKind::Float,
            "t",
            PixelRange::Unit,
            &|_| "x".into(),
        )
        .unwrap();
        assert_eq!((s.pixels.clone(), s.clamped), (vec![255, 128], 1));
        assert_eq!("max:16".parse::<PixelRange>(), Ok(PixelRange::Max(16.0)));
    }
}
