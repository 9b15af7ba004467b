//! Images as CSV rows of pixels, the way small image sets are often shared: Kaggle's MNIST
//! (`label,pixel0,...,pixel783` with a header) or scikit-learn's 8x8 digits saved with
//! `np.savetxt` (values 0..16, the target as the last column, no header).
//!
//! The label column is found by its header name, or, without a header, as the first or last
//! column when the rest make a square image. The pixel scale is inferred from the values:
//! at most 1 means [0, 1], integers at most 16 mean sklearn's 0..16, else 0..255.

use super::{Dataset, ImageShape, MAX_CLASSES, Split, default_class_names};
use crate::error::{Error, Result};
use std::io::Read;
use std::path::Path;

/// Header names that mark the label column.
const LABEL_NAMES: [&str; 6] = ["label", "labels", "target", "class", "y", "digit"];
/// CSV files larger than this are refused (Kaggle's MNIST train.csv is 73 MB).
const MAX_CSV_BYTES: u64 = 4 << 30;
/// How much of a file is looked at to decide whether it is a pixel CSV.
const SNIFF_BYTES: u64 = 256 << 10;

fn fields(line: &str) -> impl Iterator<Item = &str> {
    line.split(',').map(|f| f.trim().trim_matches('"').trim())
}

fn is_number(s: &str) -> bool {
    s.parse::<f64>().is_ok()
}

/// True when the file starts like a pixel CSV: comma-separated numbers, after at most one
/// header row. A line of prose with a comma in it is not one.
pub(crate) fn looks_like_csv(path: &Path) -> bool {
    let mut head = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(SNIFF_BYTES).read_to_end(&mut head));
    if read.is_err() || head.contains(&0) {
        return false;
    }
    let text = match std::str::from_utf8(&head) {
        Ok(t) => t,
        // A multi-byte character cut at the end of the sniffed part is fine.
        Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or(""),
    };
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let Some(first) = lines.next() else {
        return false;
    };
    let width = fields(first).count();
    if width < 2 {
        return false;
    }
    let numeric = |l: &str| fields(l).all(is_number);
    match lines.next() {
        // The second line may be cut where the sniffed part ends; its complete fields count.
        Some(second) => {
            let complete =
                if (text.len() as u64) < SNIFF_BYTES || text.contains(&format!("{second}\n")) {
                    second
                } else {
                    second.rsplit_once(',').map(|(a, _)| a).unwrap_or("")
                };
            numeric(complete) && !complete.is_empty()
        }
        // One line: numbers, or a header alone naming a label column (an empty dataset).
        None => {
            numeric(first)
                || fields(first).any(|f| LABEL_NAMES.contains(&f.to_lowercase().as_str()))
        }
    }
}

fn bad(path: &Path, reason: String) -> Error {
    Error::UnsupportedFormat {
        path: path.into(),
        reason,
    }
}

/// Which column holds labels (if any) and which are dropped (a pandas index column).
fn label_column(header: Option<&[String]>, columns: usize, rows: &[Vec<f32>]) -> Option<usize> {
    if let Some(names) = header {
        return names
            .iter()
            .position(|n| LABEL_NAMES.contains(&n.to_lowercase().as_str()));
    }
    let square = |k: usize| k > 0 && k.isqrt() * k.isqrt() == k;
    if square(columns) || !square(columns.saturating_sub(1)) {
        return None;
    }
    // First or last: the one that looks like labels (non-negative integers) with the most
    // distinct values; a corner pixel is nearly always 0.
    let candidates = [0, columns - 1].into_iter().filter_map(|c| {
        let values: Vec<f64> = rows.iter().map(|r| r[c] as f64).collect();
        let integral = values
            .iter()
            .all(|&v| v >= 0.0 && v.fract() == 0.0 && v < MAX_CLASSES as f64);
        integral.then(|| {
            let mut distinct: Vec<u64> = values.iter().map(|&v| v as u64).collect();
            distinct.sort_unstable();
            distinct.dedup();
            (distinct.len(), c)
        })
    });
    // Ties go to the first column (Kaggle's layout).
    candidates
        .fold(None, |best: Option<(usize, usize)>, (d, c)| match best {
            Some((bd, _)) if bd >= d => best,
            _ => Some((d, c)),
        })
        .map(|(_, c)| c)
}

/// Loads a CSV of pixel rows.
pub fn load_csv(path: &Path) -> Result<Dataset> {
    let size = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    if size > MAX_CSV_BYTES {
        return Err(bad(
            path,
            format!("{size} bytes is too large for a CSV dataset"),
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidData => bad(path, "the CSV is not UTF-8 text".into()),
        _ => Error::io(path, e),
    })?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, first)) = lines.next() else {
        return Err(Error::NoImages {
            path: path.into(),
            detail: " (the CSV is empty)".into(),
        });
    };
    let first_fields: Vec<String> = fields(first).map(String::from).collect();
    let columns = first_fields.len();
    let header = (!first_fields.iter().all(|f| is_number(f))).then_some(first_fields);
    // f32 holds every pixel value and label exactly, in half the memory of f64.
    let mut rows: Vec<Vec<f32>> = Vec::new();
    let mut line_of: Vec<usize> = Vec::new();
    let data_lines: Box<dyn Iterator<Item = (usize, &str)>> = if header.is_some() {
        Box::new(lines)
    } else {
        Box::new(std::iter::once((0, first)).chain(lines))
    };
    for (index, line) in data_lines {
        let mut row = Vec::with_capacity(columns);
        for (c, f) in fields(line).enumerate() {
            let v = f.parse::<f32>().map_err(|_| {
                bad(
                    path,
                    format!(
                        "line {}, column {}: '{f}' is not a number",
                        index + 1,
                        c + 1
                    ),
                )
            })?;
            row.push(v);
        }
        if row.len() != columns {
            return Err(bad(
                path,
                format!(
                    "line {} has {} values, the first line has {columns}",
                    index + 1,
                    row.len()
                ),
            ));
        }
        rows.push(row);
        line_of.push(index + 1);
    }
    if rows.is_empty() {
        return Err(Error::NoImages {
            path: path.into(),
            detail: " (the CSV has a header but no rows)".into(),
        });
    }
    let label_col = label_column(header.as_deref(), columns, &rows);
    // pandas writes its index as an unnamed first column; it is not a pixel.
    let dropped: Option<usize> = header.as_ref().and_then(|h| {
        let n = h[0].to_lowercase();
        (n.is_empty() || n.starts_with("unnamed")).then_some(0)
    });
    let pixel_cols: Vec<usize> = (0..columns)
        .filter(|&c| Some(c) != label_col && Some(c) != dropped)
        .collect();
    let d = pixel_cols.len();
    let side = d.isqrt();
    if d == 0 || side * side != d {
        return Err(bad(
            path,
            format!(
                "{d} pixel columns{} do not make a square image",
                match label_col {
                    Some(c) => format!(" (besides the label column {})", c + 1),
                    None => " (no label column found)".into(),
                }
            ),
        ));
    }
    let mut max = 0.0f64;
    let mut integral = true;
    for (r, row) in rows.iter().enumerate() {
        for &c in &pixel_cols {
            let v = row[c] as f64;
            if !(v.is_finite() && (0.0..=255.0).contains(&v)) {
                return Err(bad(
                    path,
                    format!(
                        "line {}, column {}: value {v} is not a pixel value (expected 0..255, 0..16 or 0..1)",
                        line_of[r],
                        c + 1
                    ),
                ));
            }
            max = max.max(v);
            integral &= v.fract() == 0.0;
        }
    }
    let scale = if max <= 1.0 {
        255.0
    } else if max <= 16.0 && integral {
        255.0 / 16.0
    } else {
        1.0
    };
    let mut pixels = Vec::with_capacity(rows.len() * d);
    for row in &rows {
        pixels.extend(
            pixel_cols
                .iter()
                .map(|&c| (row[c] as f64 * scale).round() as u8),
        );
    }
    let labels = match label_col {
        Some(c) => Some(
            rows.iter()
                .enumerate()
                .map(|(index, row)| {
                    let v = row[c] as f64;
                    if !(v.is_finite() && v.fract() == 0.0) {
                        Err(bad(
                            path,
                            format!(
                                "line {}, column {}: label {v} is not a whole number",
                                line_of[index],
                                c + 1
                            ),
                        ))
                    } else if v >= 0.0 && v < MAX_CLASSES as f64 {
                        Ok(v as u16)
                    } else {
                        Err(Error::LabelOutOfRange {
                            path: path.into(),
                            index,
                            label: v as i64,
                            limit: MAX_CLASSES,
                        })
                    }
                })
                .collect::<Result<Vec<u16>>>()?,
        ),
        None => None,
    };
    let class_names = labels
        .as_ref()
        .map(|l| default_class_names(path, l.iter().copied().max().unwrap_or(0) as usize + 1))
        .unwrap_or_default();
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let n = rows.len();
    Dataset::new(
        name,
        path,
        ImageShape::new(side, side, 1),
        pixels,
        labels,
        class_names,
        vec![Split::Train; n],
    )
}
