//! Images as CSV rows of pixels, the way small image sets are often shared: Kaggle's MNIST
//! (`label,pixel0,...,pixel783` with a header), headerless MNIST CSVs (label first), or
//! scikit-learn's 8x8 digits saved with `np.savetxt` (values 0..16, the target as the last
//! column, no header). Read with the `csv` crate (quoting, CRLF, a UTF-8 byte-order mark), raw
//! or gzip-compressed (`.csv.gz`, recognised by content).
//!
//! The label column is found by its header name, or, without a header, by a rule a user can
//! predict: when the columns are one more than a square, the label is the first or the last
//! column, whichever holds whole numbers with the fewest distinct values (at least two; a
//! constant corner pixel is not a label); ties go to the first. `--label-column` overrides it.
//! The pixel scale follows the one rule in `scale.rs`.

use super::scale::{self, ValueKind};
use super::{
    Dataset, ImageShape, LabelColumn, LoadOptions, LoadReport, MAX_CLASSES, Split,
    default_class_names,
};
use crate::error::{Error, Result};
use flate2::read::MultiGzDecoder;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// Header names that mark the label column.
const LABEL_NAMES: [&str; 6] = ["label", "labels", "target", "class", "y", "digit"];
/// CSV files larger than this are refused (Kaggle's MNIST train.csv is 73 MB).
const MAX_CSV_BYTES: u64 = 4 << 30;
/// How much of a file is looked at to decide whether it is a pixel CSV.
const SNIFF_BYTES: u64 = 256 << 10;

fn is_number(s: &str) -> bool {
    s.trim().parse::<f64>().is_ok()
}

/// The file's text stream: raw, or inflated when it starts like gzip, and the size of the text
/// (the file's length, or what the gzip trailer claims).
fn open_text(path: &Path) -> Result<(Box<dyn Read>, u64, bool)> {
    let (mut file, len) = crate::budget::open_regular(path)?;
    let mut sig = [0u8; 2];
    let gz = file.read_exact(&mut sig).is_ok() && sig == [0x1f, 0x8b];
    if gz {
        // ISIZE, the last 4 bytes: the inflated size modulo 2^32 (of the last member).
        let mut isize = [0u8; 4];
        file.seek(SeekFrom::End(-4))
            .and_then(|_| file.read_exact(&mut isize))
            .map_err(|e| Error::io(path, e))?;
        file.rewind().map_err(|e| Error::io(path, e))?;
        let claimed = u32::from_le_bytes(isize) as u64;
        let r = MultiGzDecoder::new(BufReader::new(file));
        return Ok((Box::new(r), claimed, true));
    }
    file.rewind().map_err(|e| Error::io(path, e))?;
    Ok((Box::new(BufReader::new(file)), len, false))
}

/// Fields of one line of sniffed text (quotes trimmed; enough to decide what the file is).
fn fields(line: &str) -> impl Iterator<Item = &str> {
    line.split(',').map(|f| f.trim().trim_matches('"').trim())
}

/// True when the file (raw or gzip) starts like a pixel CSV: comma-separated numbers, after at
/// most one header row. A line of prose with a comma in it is not one.
pub(crate) fn looks_like_csv(path: &Path) -> bool {
    let Ok((r, _, _)) = open_text(path) else {
        return false;
    };
    let mut head = Vec::new();
    if r.take(SNIFF_BYTES).read_to_end(&mut head).is_err() && head.is_empty() {
        return false;
    }
    if head.contains(&0) {
        return false;
    }
    let text = match std::str::from_utf8(&head) {
        Ok(t) => t,
        // A multi-byte character cut at the end of the sniffed part is fine.
        Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or(""),
    };
    let text = text.trim_start_matches('\u{feff}');
    let whole = (head.len() as u64) < SNIFF_BYTES;
    let mut lines = text.split('\n').filter(|l| !l.trim().is_empty()).peekable();
    let Some(first) = lines.next() else {
        return false;
    };
    // Only fields that end inside the sniffed part count (a long first line may be cut).
    let complete = |line: &str, ends: bool| -> String {
        if ends {
            line.to_string()
        } else {
            line.rsplit_once(',')
                .map(|(a, _)| a)
                .unwrap_or("")
                .to_string()
        }
    };
    let first_ends = whole || lines.peek().is_some();
    let first_c = complete(first, first_ends);
    let width = fields(&first_c).count() + usize::from(!first_ends);
    if width < 2 {
        return false;
    }
    let numeric = |l: &str| !l.trim().is_empty() && fields(l).all(is_number);
    match lines.next() {
        Some(second) => {
            let ends = whole || text.contains(&format!("{second}\n"));
            numeric(&complete(second, ends))
        }
        // One (possibly cut) line: numbers, or a header alone naming a label column.
        None => {
            numeric(&first_c)
                || fields(&first_c).any(|f| LABEL_NAMES.contains(&f.to_lowercase().as_str()))
        }
    }
}

fn bad(path: &Path, reason: String) -> Error {
    Error::UnsupportedFormat {
        path: path.into(),
        reason,
    }
}

/// The header rule: the column named like a label.
fn named_label_column(names: &[String]) -> Option<usize> {
    names
        .iter()
        .position(|n| LABEL_NAMES.contains(&n.trim().to_lowercase().as_str()))
}

/// The headerless rule (module docs): first or last column, whichever holds whole numbers with
/// the fewest distinct values (at least two); ties go to the first.
fn guessed_label_column(
    columns: usize,
    n: usize,
    value: &dyn Fn(usize, usize) -> f32,
) -> Option<usize> {
    let square = |k: usize| k > 0 && k.isqrt() * k.isqrt() == k;
    if square(columns) || !square(columns.saturating_sub(1)) {
        return None;
    }
    let distinct = |c: usize| -> Option<usize> {
        let mut seen = std::collections::BTreeSet::new();
        for r in 0..n {
            let v = value(r, c) as f64;
            if !(v >= 0.0 && v.fract() == 0.0 && v < MAX_CLASSES as f64) {
                return None;
            }
            seen.insert(v as u32);
        }
        Some(seen.len())
    };
    let candidates: Vec<(usize, usize)> = [0, columns - 1]
        .into_iter()
        .filter_map(|c| distinct(c).filter(|&d| d >= 2).map(|d| (d, c)))
        .collect();
    match candidates.as_slice() {
        [] => Some(0),
        [(_, c)] => Some(*c),
        [(d0, c0), (d1, c1)] => Some(if d1 < d0 { *c1 } else { *c0 }),
        _ => None,
    }
}

/// Loads a CSV of pixel rows.
pub fn load_csv(path: &Path) -> Result<Dataset> {
    load_csv_with(path, &LoadOptions::default())
}

/// [`load_csv`] with load options (pixel range, label column).
pub fn load_csv_with(path: &Path, options: &LoadOptions) -> Result<Dataset> {
    let (reader, size, gz) = open_text(path)?;
    if size > MAX_CSV_BYTES {
        return Err(bad(
            path,
            format!("{size} bytes is too large for a CSV dataset"),
        ));
    }
    // The text, its values as f32 (at most one per two bytes of text), and the pixels.
    crate::budget::Budget::current().check(
        &format!(
            "{}: a CSV of {}{}",
            path.display(),
            crate::budget::human(size),
            if gz {
                " (inflated, as its gzip trailer claims)"
            } else {
                ""
            }
        ),
        size.checked_mul(5),
        "use a smaller file",
    )?;
    let mut report = LoadReport {
        files: vec![path.into()],
        ..Default::default()
    };
    // A gzip stream is read no further than its trailer claims (plus one byte to notice a lie).
    let mut limited = reader.take(size + 1);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(&mut limited);
    let mut header: Option<Vec<String>> = None;
    let mut columns = 0usize;
    let mut values: Vec<f32> = Vec::new();
    let mut line_of: Vec<u64> = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let more = rdr.read_record(&mut record).map_err(|e| match e.kind() {
            csv::ErrorKind::Utf8 { .. } => bad(path, "the CSV is not UTF-8 text".into()),
            csv::ErrorKind::Io(io) => match io.kind() {
                std::io::ErrorKind::InvalidData | std::io::ErrorKind::InvalidInput if gz => {
                    bad(path, format!("corrupt gzip stream ({io})"))
                }
                _ => bad(path, format!("reading the CSV: {io}")),
            },
            _ => bad(path, format!("{e}")),
        })?;
        if !more {
            break;
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if columns == 0 {
            columns = record.len();
            let first: Vec<String> = record
                .iter()
                .map(|f| f.trim_start_matches('\u{feff}').to_string())
                .collect();
            if !first.iter().all(|f| is_number(f)) {
                header = Some(first);
                continue;
            }
        }
        if record.len() != columns {
            return Err(bad(
                path,
                format!(
                    "line {line} has {} values, the first line has {columns}",
                    record.len()
                ),
            ));
        }
        for (c, f) in record.iter().enumerate() {
            let f = f.trim_start_matches('\u{feff}');
            let v = f.parse::<f32>().map_err(|_| {
                bad(
                    path,
                    format!("line {line}, column {}: '{f}' is not a number", c + 1),
                )
            })?;
            values.push(v);
        }
        line_of.push(line);
    }
    drop(rdr);
    if gz && limited.limit() == 0 {
        return Err(bad(
            path,
            format!("the gzip stream holds more than the {size} bytes its trailer claims"),
        ));
    }
    let n = line_of.len();
    if n == 0 {
        return Err(Error::NoImages {
            path: path.into(),
            detail: if header.is_some() {
                " (the CSV has a header but no rows)".into()
            } else {
                " (the CSV is empty)".into()
            },
        });
    }
    let value = |r: usize, c: usize| values[r * columns + c];
    let label_col = match options.label_column {
        LabelColumn::None => None,
        LabelColumn::First => Some(0),
        LabelColumn::Last => Some(columns - 1),
        LabelColumn::Index(k) if k <= columns => Some(k - 1),
        LabelColumn::Index(k) => {
            return Err(Error::InvalidArgument(format!(
                "--label-column {k}: {} has {columns} columns",
                path.display()
            )));
        }
        LabelColumn::Auto => match &header {
            Some(names) => named_label_column(names),
            None => {
                let c = guessed_label_column(columns, n, &value);
                if let Some(c) = c {
                    report.notes.push(format!(
                        "no header: column {} taken as the labels (the rule: first or last, the one of whole numbers with the fewest distinct values; --label-column sets it)",
                        c + 1
                    ));
                }
                c
            }
        },
    };
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
    let mut px_values: Vec<f32> = Vec::with_capacity(n * d);
    for r in 0..n {
        px_values.extend(pixel_cols.iter().map(|&c| value(r, c)));
    }
    let locate = |i: usize| format!("line {}, column {}", line_of[i / d], pixel_cols[i % d] + 1);
    let scaled = scale::to_pixels(
        &px_values,
        ValueKind::Float,
        "CSV text",
        options.pixel_range,
        &locate,
    )
    .map_err(|reason| bad(path, reason))?;
    drop(px_values);
    report.add_scale(scaled.description, scaled.clamped, scaled.scale);
    let labels = match label_col {
        Some(c) => Some(
            (0..n)
                .map(|index| {
                    let v = value(index, c) as f64;
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
    report.labels = Some(match (label_col, &header) {
        (Some(c), Some(h)) => format!(
            "labels from column {} ('{}'), {} classes",
            c + 1,
            h[c],
            class_names.len()
        ),
        (Some(c), None) => format!(
            "labels from column {}, {} classes",
            c + 1,
            class_names.len()
        ),
        (None, _) => "no labels (no label column)".into(),
    });
    let stem = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let name = stem
        .strip_suffix(".gz")
        .unwrap_or(&stem)
        .strip_suffix(".csv")
        .unwrap_or(stem.strip_suffix(".gz").unwrap_or(&stem))
        .to_string();
    Dataset::new(
        name,
        path,
        ImageShape::new(side, side, 1),
        scaled.pixels,
        labels,
        class_names,
        vec![Split::Train; n],
    )
    .map(|d| d.with_report(report))
}
