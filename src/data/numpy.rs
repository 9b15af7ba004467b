//! Images and labels as numpy users save them: `np.save('x.npy', x)` with `y.npy` or
//! `labels.npy` beside it (paired by file name, as IDX files are), or one archive
//! `np.savez('d.npz', x_train=..., y_train=..., x_test=..., y_test=...)` (keys `x` / `images` /
//! `X` and `y` / `labels` / `targets` for a dataset without a split).
//!
//! Images are N x H x W, N x H x W x C (C = 1 or 3) or N x (H*W) with a square H*W; uint8 as
//! is, other integers and floats checked into pixel range first, so a wrong scale is an error
//! naming the value rather than a silently black or saturated dataset.

use super::scale::{self, PixelRange, ValueKind};
use super::{
    Dataset, ImageShape, LoadOptions, LoadReport, MAX_CLASSES, Split, default_class_names,
};
use crate::error::{Error, Result};
use crate::npy::{Array, Npz, Values, is_npy, peek, read_npy};
use std::path::{Path, PathBuf};

/// The largest image side we accept from an array's shape.
const MAX_SIDE: usize = 16_384;

const LABEL_WORDS: [&str; 6] = ["y", "labels", "label", "targets", "target", "classes"];
const IMAGE_WORDS: [&str; 6] = ["x", "images", "image", "imgs", "data", "inputs"];

fn unsupported(path: &Path, reason: String) -> Error {
    Error::UnsupportedFormat {
        path: path.into(),
        reason,
    }
}

/// Number of images and their shape, from an images array's shape.
fn image_shape(path: &Path, what: &str, shape: &[usize]) -> Result<(usize, ImageShape)> {
    let (n, h, w, c) = match *shape {
        [n, d] => {
            let side = d.isqrt();
            if side * side != d {
                return Err(unsupported(
                    path,
                    format!(
                        "{what} has rows of {d} values, which is not a square image; save it as N x H x W"
                    ),
                ));
            }
            (n, side, side, 1)
        }
        [n, h, w] => (n, h, w, 1),
        [n, h, w, c] if c == 1 || c == 3 => (n, h, w, c),
        [_, c, h, w] if (c == 1 || c == 3) && h > 3 && w > 3 => {
            return Err(unsupported(
                path,
                format!(
                    "{what} of shape {shape:?} looks channels-first (N x C x H x W); save x.transpose(0, 2, 3, 1) instead"
                ),
            ));
        }
        _ => {
            return Err(unsupported(
                path,
                format!(
                    "{what} has shape {shape:?}; images must be N x H x W, N x H x W x C (C = 1 or 3) or N x (H*W)"
                ),
            ));
        }
    };
    if h == 0 || w == 0 || h > MAX_SIDE || w > MAX_SIDE {
        return Err(Error::BadHeader {
            path: path.into(),
            reason: format!(
                "{what}: image size {h}x{w} is not plausible (1..={MAX_SIDE} per side)"
            ),
        });
    }
    if n == 0 {
        return Err(Error::NoImages {
            path: path.into(),
            detail: format!(" ({what} holds 0 images)"),
        });
    }
    Ok((n, ImageShape::new(h, w, c)))
}

/// The pixels of an images array as bytes, by the one scale rule (`scale.rs`).
fn to_pixels(
    path: &Path,
    what: &str,
    array: Array,
    image_len: usize,
    range: PixelRange,
    report: &mut LoadReport,
) -> Result<Vec<u8>> {
    let dtype = numpy_dtype_name(&array);
    let locate = |i: usize| {
        format!(
            "{what} ({}): image {}, element {}",
            array.dtype,
            i / image_len,
            i % image_len
        )
    };
    let kind = if array.is_bool() {
        ValueKind::Bool
    } else {
        match &array.values {
            Values::U8(_) => ValueKind::U8,
            Values::I64(_) => ValueKind::Int,
            _ => ValueKind::Float,
        }
    };
    if range == PixelRange::Auto && kind == ValueKind::U8 {
        report.add_scale(
            format!("{what}: uint8, values 0..255"),
            0,
            super::PixelScale::Byte,
        );
        if let Values::U8(v) = array.values {
            return Ok(v);
        }
    }
    let scaled = match &array.values {
        Values::U8(v) => scale::to_pixels(v, kind, &dtype, range, &locate),
        Values::I64(v) => {
            // i64 to f64 is exact for every pixel-sized value; larger ones are refused anyway.
            let f: Vec<f64> = v.iter().map(|&x| x as f64).collect();
            scale::to_pixels(&f, kind, &dtype, range, &locate)
        }
        Values::F32(v) => scale::to_pixels(v, kind, &dtype, range, &locate),
        Values::F64(v) => scale::to_pixels(v, kind, &dtype, range, &locate),
    }
    .map_err(|reason| unsupported(path, reason))?;
    report.add_scale(
        format!("{what}: {}", scaled.description),
        scaled.clamped,
        scaled.scale,
    );
    Ok(scaled.pixels)
}

/// "float32", "int64", "bool" for a numpy dtype string ("<f4", "|b1").
fn numpy_dtype_name(array: &Array) -> String {
    let d = array.dtype.trim_start_matches(['<', '>', '|', '=']);
    let (c, n) = d.split_at(d.len().min(1));
    let bits = n.parse::<usize>().unwrap_or(0) * 8;
    match c {
        "b" => "bool".into(),
        "u" => format!("uint{bits}"),
        "i" => format!("int{bits}"),
        "f" => format!("float{bits}"),
        _ => array.dtype.clone(),
    }
}

/// Labels from a 1-D (or N x 1) integer array of `n` values, each in 0..65536.
fn to_labels(path: &Path, what: &str, array: &Array) -> Result<Vec<u16>> {
    let Some(values) = array.to_i64() else {
        return Err(unsupported(
            path,
            format!("{what} is {}; labels must be integers", array.dtype),
        ));
    };
    if !matches!(array.shape.as_slice(), [_] | [_, 1]) {
        return Err(unsupported(
            path,
            format!(
                "{what} has shape {:?}; labels must be one integer per image",
                array.shape
            ),
        ));
    }
    values
        .iter()
        .enumerate()
        .map(|(index, &l)| {
            u16::try_from(l).map_err(|_| Error::LabelOutOfRange {
                path: path.into(),
                index,
                label: l,
                limit: MAX_CLASSES,
            })
        })
        .collect()
}

/// The words of a file stem, lower-case, split at anything not a letter or digit.
fn words(path: &Path) -> Vec<String> {
    path.file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

/// What an images file and its labels file share: "x_train.npy" and "y_train.npy" both give
/// "train"; "x.npy", "y.npy" and "labels.npy" all give "".
fn pairing_key(path: &Path) -> String {
    words(path)
        .into_iter()
        .filter(|w| !LABEL_WORDS.contains(&w.as_str()) && !IMAGE_WORDS.contains(&w.as_str()))
        .collect::<Vec<_>>()
        .join("_")
}

fn is_label_named(path: &Path) -> bool {
    words(path)
        .iter()
        .any(|w| LABEL_WORDS.contains(&w.as_str()))
}

/// The labels file beside `images`: a `.npy` named like a labels file with the same key.
fn sibling_labels(images: &Path) -> Option<PathBuf> {
    let dir = images.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    let key = pairing_key(images);
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| e.eq_ignore_ascii_case("npy"))
                && p.file_name() != images.file_name()
                && is_label_named(p)
                && pairing_key(p) == key
                && p.is_file()
                && peek(p).is_ok_and(|b| is_npy(&b))
        })
        .collect();
    found.sort();
    found.into_iter().next()
}

fn dataset_name(path: &Path) -> String {
    path.parent()
        .and_then(|d| d.file_name())
        .or_else(|| path.file_stem())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Loads a `.npy` images file, with the labels file beside it when one pairs up by name.
pub fn load_npy(path: &Path) -> Result<Dataset> {
    load_npy_with(path, &LoadOptions::default())
}

fn note_extra(report: &mut LoadReport, path: &Path, array: &Array) {
    if let Some(extra) = &array.extra {
        let name = path
            .file_name()
            .unwrap_or(path.as_os_str())
            .to_string_lossy();
        report.notes.push(format!("{name}: {extra}"));
    }
}

/// [`load_npy`] with load options (the pixel range).
pub fn load_npy_with(path: &Path, options: &LoadOptions) -> Result<Dataset> {
    let mut report = LoadReport::default();
    let images = read_npy(path)?;
    report.files.push(path.into());
    note_extra(&mut report, path, &images);
    if images.shape.len() == 1 {
        return Err(unsupported(
            path,
            format!(
                "a 1-D array of {} values (labels?); open the images array (N x H x W) instead",
                images.len()
            ),
        ));
    }
    let (n, shape) = image_shape(path, "the array", &images.shape)?;
    let pixels = to_pixels(
        path,
        "the array",
        images,
        shape.len(),
        options.pixel_range,
        &mut report,
    )?;
    let labels = match sibling_labels(path) {
        Some(lp) => {
            let array = read_npy(&lp)?;
            report.files.push(lp.clone());
            note_extra(&mut report, &lp, &array);
            report.labels = Some(format!(
                "labels from {}",
                lp.file_name().unwrap_or_default().to_string_lossy()
            ));
            let labels = to_labels(&lp, "the array", &array)?;
            if labels.len() != n {
                return Err(Error::CountMismatch {
                    images_path: path.into(),
                    labels_path: lp,
                    images: n,
                    labels: labels.len(),
                });
            }
            Some(labels)
        }
        None => {
            report.labels =
                Some("no labels (no y.npy / labels.npy or <name>_labels.npy beside it)".into());
            None
        }
    };
    finish(path, shape, pixels, labels, vec![Split::Train; n], report)
}

fn finish(
    path: &Path,
    shape: ImageShape,
    pixels: Vec<u8>,
    labels: Option<Vec<u16>>,
    split: Vec<Split>,
    mut report: LoadReport,
) -> Result<Dataset> {
    let class_names = match &labels {
        Some(l) => {
            let classes = l.iter().copied().max().unwrap_or(0) as usize + 1;
            default_class_names(path, classes)
        }
        None => Vec::new(),
    };
    if labels.is_some()
        && let Some(l) = &mut report.labels
    {
        l.push_str(&format!(", {} classes", class_names.len()));
    }
    Dataset::new(
        dataset_name(path),
        path,
        shape,
        pixels,
        labels,
        class_names,
        split,
    )
    .map(|d| d.with_report(report))
}

/// The first name in `names` equal (ignoring case) to one of `wanted`.
fn find(names: &[String], wanted: &[&str]) -> Option<String> {
    wanted
        .iter()
        .find_map(|w| names.iter().find(|n| n.eq_ignore_ascii_case(w)).cloned())
}

/// Loads an `.npz` archive: train and test arrays become the two splits.
pub fn load_npz(path: &Path) -> Result<Dataset> {
    load_npz_with(path, &LoadOptions::default())
}

/// [`load_npz`] with load options (the pixel range).
pub fn load_npz_with(path: &Path, options: &LoadOptions) -> Result<Dataset> {
    let mut report = LoadReport {
        files: vec![path.into()],
        ..Default::default()
    };
    let mut npz = Npz::open(path)?;
    let names = npz.names();
    let (train_x, test_x) = (find(&names, &["x_train"]), find(&names, &["x_test"]));
    let parts: Vec<(String, Option<String>, Split)> = if train_x.is_some() || test_x.is_some() {
        let mut parts = Vec::new();
        if let Some(x) = train_x {
            parts.push((x, find(&names, &["y_train"]), Split::Train));
        }
        if let Some(x) = test_x {
            parts.push((x, find(&names, &["y_test"]), Split::Test));
        }
        parts
    } else if let Some(x) = find(&names, &["x", "images"]) {
        vec![(x, find(&names, &["y", "labels", "targets"]), Split::Train)]
    } else if names.len() == 1 {
        // np.savez('d.npz', x) names its one array arr_0.
        vec![(names[0].clone(), None, Split::Train)]
    } else {
        return Err(unsupported(
            path,
            format!(
                "no images array: expected x_train / x_test, or x / images / X (labels y / labels / targets); the archive holds {names:?}"
            ),
        ));
    };
    // A held-out array without labels must not cost the training arrays theirs (as for IDX).
    let mut parts = parts;
    let train_labelled = parts
        .iter()
        .filter(|(_, _, s)| *s == Split::Train)
        .all(|(_, y, _)| y.is_some());
    if parts.iter().any(|(_, _, s)| *s == Split::Train)
        && train_labelled
        && parts.iter().any(|(_, y, _)| y.is_none())
    {
        parts.retain(|(x, y, _)| {
            if y.is_none() {
                report.notes.push(format!(
                    "array '{x}' has no labels array; left out so the training labels are kept"
                ));
            }
            y.is_some()
        });
    }
    let all_labelled = parts.iter().all(|(_, y, _)| y.is_some());
    let label_names: Vec<String> = parts.iter().filter_map(|(_, y, _)| y.clone()).collect();
    report.labels = Some(if all_labelled {
        format!("labels from '{}'", label_names.join("' and '"))
    } else {
        "no labels (no y_train / y / labels / targets array)".into()
    });
    let mut shape: Option<(ImageShape, String)> = None;
    let (mut pixels, mut labels, mut split) = (Vec::new(), Vec::new(), Vec::new());
    for (x, y, part_split) in parts {
        let what = format!("array '{x}'");
        let array = npz.read(&x)?;
        note_extra(&mut report, path, &array);
        let (n, s) = image_shape(path, &what, &array.shape)?;
        match &shape {
            Some((first, first_name)) if *first != s => {
                return Err(unsupported(
                    path,
                    format!("{what} holds {s} images but '{first_name}' holds {first}"),
                ));
            }
            _ => shape = Some((s, x.clone())),
        }
        let px = to_pixels(
            path,
            &what,
            array,
            s.len(),
            options.pixel_range,
            &mut report,
        )?;
        if pixels.is_empty() {
            pixels = px;
        } else {
            pixels.extend(px);
        }
        if let (true, Some(y)) = (all_labelled, y) {
            let what_y = format!("array '{y}'");
            let l = to_labels(path, &what_y, &npz.read(&y)?)?;
            if l.len() != n {
                return Err(Error::BadHeader {
                    path: path.into(),
                    reason: format!("{what} has {n} images but {what_y} has {} labels", l.len()),
                });
            }
            labels.extend(l);
        }
        split.extend(std::iter::repeat_n(part_split, n));
    }
    let Some((shape, _)) = shape else {
        return Err(Error::NoImages {
            path: path.into(),
            detail: String::new(),
        });
    };
    finish(
        path,
        shape,
        pixels,
        all_labelled.then_some(labels),
        split,
        report,
    )
}
