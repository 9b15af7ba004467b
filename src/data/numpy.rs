//! Images and labels as numpy users save them: `np.save('x.npy', x)` with `y.npy` or
//! `labels.npy` beside it (paired by file name, as IDX files are), or one archive
//! `np.savez('d.npz', x_train=..., y_train=..., x_test=..., y_test=...)` (keys `x` / `images` /
//! `X` and `y` / `labels` / `targets` for a dataset without a split).
//!
//! Images are N x H x W, N x H x W x C (C = 1 or 3) or N x (H*W) with a square H*W; uint8 as
//! is, other integers and floats checked into pixel range first, so a wrong scale is an error
//! naming the value rather than a silently black or saturated dataset.

use super::{Dataset, ImageShape, MAX_CLASSES, Split, default_class_names};
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

/// The first value outside [0, 255] (or not finite) and its index, else the largest value.
fn check_floats<T: Copy + Into<f64>>(v: &[T]) -> std::result::Result<f64, (usize, f64)> {
    let mut max = 0.0f64;
    for (i, &x) in v.iter().enumerate() {
        let x: f64 = x.into();
        if !(x.is_finite() && (0.0..=255.0).contains(&x)) {
            return Err((i, x));
        }
        max = max.max(x);
    }
    Ok(max)
}

/// Floats already checked into [0, 255] as bytes; a largest value <= 1 means the [0, 1] scale.
fn float_bytes<T: Copy + Into<f64>>(v: &[T], max: f64) -> Vec<u8> {
    let k = if max <= 1.0 { 255.0 } else { 1.0 };
    v.iter().map(|&x| (x.into() * k).round() as u8).collect()
}

/// The pixels of an images array as bytes. Floats in [0, 1] are scaled by 255; floats and
/// integers in [0, 255] are taken as they are (rounded); anything else is refused.
fn to_pixels(path: &Path, what: &str, array: Array, image_len: usize) -> Result<Vec<u8>> {
    let dtype = array.dtype;
    let refuse = |(i, v): (usize, f64)| {
        unsupported(
            path,
            format!(
                "{what} ({dtype}): value {v} of image {}, element {} is not a pixel value (expected 0..255, or 0..1 for floats)",
                i / image_len,
                i % image_len
            ),
        )
    };
    match array.values {
        Values::U8(v) => Ok(v),
        Values::I64(v) => {
            if let Some((i, &x)) = v.iter().enumerate().find(|(_, x)| !(0..=255).contains(*x)) {
                return Err(refuse((i, x as f64)));
            }
            Ok(v.iter().map(|&x| x as u8).collect())
        }
        Values::F32(v) => Ok(float_bytes(&v, check_floats(&v).map_err(refuse)?)),
        Values::F64(v) => Ok(float_bytes(&v, check_floats(&v).map_err(refuse)?)),
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
    let images = read_npy(path)?;
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
    let pixels = to_pixels(path, "the array", images, shape.len())?;
    let labels = match sibling_labels(path) {
        Some(lp) => {
            let array = read_npy(&lp)?;
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
        None => None,
    };
    finish(path, shape, pixels, labels, vec![Split::Train; n])
}

fn finish(
    path: &Path,
    shape: ImageShape,
    pixels: Vec<u8>,
    labels: Option<Vec<u16>>,
    split: Vec<Split>,
) -> Result<Dataset> {
    let class_names = match &labels {
        Some(l) => {
            let classes = l.iter().copied().max().unwrap_or(0) as usize + 1;
            default_class_names(path, classes)
        }
        None => Vec::new(),
    };
    Dataset::new(
        dataset_name(path),
        path,
        shape,
        pixels,
        labels,
        class_names,
        split,
    )
}

/// The first name in `names` equal (ignoring case) to one of `wanted`.
fn find(names: &[String], wanted: &[&str]) -> Option<String> {
    wanted
        .iter()
        .find_map(|w| names.iter().find(|n| n.eq_ignore_ascii_case(w)).cloned())
}

/// Loads an `.npz` archive: train and test arrays become the two splits.
pub fn load_npz(path: &Path) -> Result<Dataset> {
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
    let all_labelled = parts.iter().all(|(_, y, _)| y.is_some());
    let mut shape: Option<(ImageShape, String)> = None;
    let (mut pixels, mut labels, mut split) = (Vec::new(), Vec::new(), Vec::new());
    for (x, y, part_split) in parts {
        let what = format!("array '{x}'");
        let array = npz.read(&x)?;
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
        pixels.extend(to_pixels(path, &what, array, s.len())?);
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
    finish(path, shape, pixels, all_labelled.then_some(labels), split)
}
