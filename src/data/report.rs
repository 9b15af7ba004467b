//! What a load did besides loading: what was skipped and why, what was resized or clamped,
//! the pixel scale chosen, whether labels were found, and anything else worth a warning. Every
//! loader fills one; the dataset carries it ([`super::Dataset::report`]); the command line
//! prints it, the window shows it.

use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadReport {
    /// Images loaded.
    pub loaded: usize,
    /// Files (or entries) skipped, each with its reason.
    pub skipped: Vec<(PathBuf, String)>,
    /// Images resized to the dataset's size.
    pub resized: usize,
    /// Pixel values outside the chosen scale, clamped.
    pub clamped: usize,
    /// The pixel scale chosen, in words ("float32, values in [0, 1]").
    pub scale: Option<String>,
    /// The pixel scale chosen (the last part's, for a dataset of several parts).
    pub pixel_scale: Option<super::PixelScale>,
    /// Where the labels came from ("labels from y.npy, 10 classes"), or why there are none.
    pub labels: Option<String>,
    /// Every file read, in order (outputs are checked against these).
    pub files: Vec<PathBuf>,
    /// Warnings: extra bytes past a header, a part left out, a label column chosen by rule.
    pub notes: Vec<String>,
}

/// A reason's kind, for counting skipped files without listing every decoder message.
fn reason_kind(reason: &str) -> String {
    let r = reason.to_lowercase();
    let kind = if r.contains("truncated") || r.contains("unexpected end") || r.contains("eof") {
        "truncated"
    } else if r.contains("limit") || r.contains("too large") || r.contains("budget") {
        "too large"
    } else if r.contains("not an image") || r.contains("unsupported") || r.contains("format") {
        "not an image"
    } else if r.contains("outside the class folders") {
        "outside the class folders"
    } else if r.contains("loop") {
        "a symlink loop"
    } else {
        "unreadable"
    };
    kind.to_string()
}

impl LoadReport {
    /// Skipped files counted by kind of reason, most frequent first.
    pub fn skipped_by_reason(&self) -> Vec<(String, usize)> {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for (_, reason) in &self.skipped {
            *counts.entry(reason_kind(reason)).or_default() += 1;
        }
        let mut v: Vec<(String, usize)> = counts.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }

    /// True when something deserves the user's attention (skips, clamps, notes).
    pub fn has_warnings(&self) -> bool {
        !self.skipped.is_empty() || self.clamped > 0 || !self.notes.is_empty()
    }

    /// The report as short lines, for a panel or stderr.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!("loaded {} images", self.loaded)];
        if let Some(s) = &self.scale {
            out.push(format!("pixels: {s}"));
        }
        out.push(
            self.labels
                .clone()
                .unwrap_or_else(|| "no labels".to_string()),
        );
        if self.resized > 0 {
            out.push(format!("resized {} images", self.resized));
        }
        if !self.skipped.is_empty() {
            let kinds: Vec<String> = self
                .skipped_by_reason()
                .into_iter()
                .map(|(k, n)| format!("{n} {k}"))
                .collect();
            out.push(format!(
                "skipped {} files ({})",
                self.skipped.len(),
                kinds.join(", ")
            ));
        }
        out.extend(self.notes.iter().map(|n| format!("note: {n}")));
        out
    }

    /// One line: the lines joined with "; ".
    pub fn summary(&self) -> String {
        self.lines().join("; ")
    }

    /// Adds a scale description, joining several parts' ("x_train: ...").
    pub(crate) fn add_scale(
        &mut self,
        description: String,
        clamped: usize,
        scale: super::PixelScale,
    ) {
        self.clamped += clamped;
        self.pixel_scale = Some(scale);
        self.scale = Some(match self.scale.take() {
            Some(s) if s != description => format!("{s}; {description}"),
            _ => description,
        });
    }
}
