//! [`LoadOptions`] as a person types them: the command line's `--image-size`, `--pixel-range`
//! and `--label-column`, and the window's dataset options, read by one parser so the same text
//! means the same thing in both.

use super::{LabelColumn, LoadOptions, PixelRange};
use serde::{Deserialize, Serialize};

/// The three load options as text ("" or "auto" for the loader's own choice).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoadOptionsText {
    /// "HxW", e.g. "32x32"; empty: image folders keep their most common size.
    pub image_size: String,
    /// "auto", "unit", "byte" or "max:N".
    pub pixel_range: String,
    /// "auto", "first", "last", "none" or a column number from 1.
    pub label_column: String,
}

impl Default for LoadOptionsText {
    fn default() -> Self {
        Self {
            image_size: String::new(),
            pixel_range: "auto".into(),
            label_column: "auto".into(),
        }
    }
}

impl LoadOptionsText {
    /// The options, or the first field that does not parse, in words.
    pub fn parse(&self) -> Result<LoadOptions, String> {
        let size = self.image_size.trim();
        Ok(LoadOptions {
            image_size: match size {
                "" | "auto" => None,
                s => Some(parse_image_size(s)?),
            },
            pixel_range: self.pixel_range.parse()?,
            label_column: self.label_column.parse()?,
        })
    }

    /// Whether every option leaves the choice to the loader.
    pub fn is_default(&self) -> bool {
        self.parse()
            .is_ok_and(|o| o.image_size.is_none() && o.pixel_range == PixelRange::Auto)
            && self.label_column.parse::<LabelColumn>() == Ok(LabelColumn::Auto)
    }

    /// The options that are not the loader's own choice, for a one-line reminder
    /// ("pixel range byte, label column last"); empty when all are.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let size = self.image_size.trim();
        if !size.is_empty() && size != "auto" {
            parts.push(format!("image size {size}"));
        }
        if self.pixel_range.parse::<PixelRange>() != Ok(PixelRange::Auto) {
            parts.push(format!("pixel range {}", self.pixel_range.trim()));
        }
        if self.label_column.parse::<LabelColumn>() != Ok(LabelColumn::Auto) {
            parts.push(format!("label column {}", self.label_column.trim()));
        }
        parts.join(", ")
    }
}

/// "HxW" (or "HXW"), each side from 1 pixel; the budget check at load refuses sizes the machine
/// cannot hold.
pub fn parse_image_size(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("image size '{s}' is not HxW, e.g. 32x32");
    let (h, w) = s.split_once(['x', 'X']).ok_or_else(bad)?;
    let side = |t: &str| {
        t.trim()
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(bad)
    };
    Ok((side(h)?, side(w)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_means_the_same_options() {
        let text = LoadOptionsText {
            image_size: "32x24".into(),
            pixel_range: "max:16".into(),
            label_column: "last".into(),
        };
        let o = text.parse().unwrap();
        assert_eq!(o.image_size, Some((32, 24)));
        assert_eq!(o.pixel_range, PixelRange::Max(16.0));
        assert_eq!(o.label_column, LabelColumn::Last);
        assert!(!text.is_default());
        assert_eq!(
            text.describe(),
            "image size 32x24, pixel range max:16, label column last"
        );
        let d = LoadOptionsText::default();
        assert!(d.is_default());
        assert_eq!(d.describe(), "");
        assert_eq!(d.parse().unwrap().image_size, None);
    }

    #[test]
    fn bad_text_is_named() {
        for (size, range, col, needle) in [
            ("32", "auto", "auto", "image size '32'"),
            ("0x32", "auto", "auto", "image size '0x32'"),
            ("", "max:-1", "auto", "pixel range"),
            ("", "auto", "0", "label column '0'"),
        ] {
            let text = LoadOptionsText {
                image_size: size.into(),
                pixel_range: range.into(),
                label_column: col.into(),
            };
            let e = text.parse().unwrap_err();
            assert!(e.contains(needle), "{e}");
        }
    }
}
