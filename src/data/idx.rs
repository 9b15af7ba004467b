//! MNIST-family IDX files, raw or gzip-compressed, recognised by their magic number
//! (00 00 dtype ndims; 2051 = u8 images, 2049 = u8 labels), never by file name.
//!
//! Headers are checked before anything is allocated: sizes that overflow, images larger than
//! any real dataset, or payloads longer than the file are refused, and gzip streams are read
//! incrementally so a hostile header cannot make us reserve gigabytes up front.

use super::{
    Dataset, ImageShape, LoadOptions, LoadReport, MAX_CLASSES, Split, default_class_names,
};
use crate::error::{Error, Result};
use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// The largest single image side we accept from an IDX header.
const MAX_SIDE: usize = 16_384;
/// The largest decoded IDX payload we accept (8 GiB).
const MAX_PAYLOAD: u64 = 8 << 30;

/// The contents of one IDX file.
#[derive(Debug)]
pub enum IdxFile {
    Images { shape: ImageShape, pixels: Vec<u8> },
    Labels { labels: Vec<i64> },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Images,
    Labels,
}

/// How far past a gzip stream's claimed payload we read to reach its end (and so its CRC
/// check): a stream that goes on further is not inflated, and the report says so.
const EXTRA_PROBE: u64 = 1 << 20;

fn open(path: &Path) -> Result<Box<dyn Read>> {
    let (file, _) = crate::budget::open_regular(path)?;
    let mut reader = BufReader::new(file);
    let mut sig = [0u8; 2];
    let peeked = {
        use std::io::BufRead;
        let buf = reader.fill_buf().map_err(|e| Error::io(path, e))?;
        let n = buf.len().min(2);
        sig[..n].copy_from_slice(&buf[..n]);
        n
    };
    if peeked == 2 && sig == [0x1f, 0x8b] {
        Ok(Box::new(MultiGzDecoder::new(reader)))
    } else {
        Ok(Box::new(reader))
    }
}

/// Reads up to `want` bytes, stopping early at end of stream.
fn read_up_to(path: &Path, r: &mut dyn Read, want: u64) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    match r.take(want).read_to_end(&mut out) {
        Ok(_) => Ok(out),
        // A gzip stream cut short (an interrupted download) ends like a short raw file: the
        // caller compares lengths and reports the truncation.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(out),
        Err(e) => Err(Error::io(path, e)),
    }
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

struct Header {
    kind: Kind,
    dtype: u8,
    dims: Vec<usize>,
}

fn element_size(dtype: u8) -> Option<usize> {
    match dtype {
        0x08 | 0x09 => Some(1),
        0x0B => Some(2),
        0x0C => Some(4),
        _ => None,
    }
}

fn read_header(path: &Path, r: &mut dyn Read) -> Result<Header> {
    let magic_bytes = read_up_to(path, r, 4)?;
    if magic_bytes.len() < 4 {
        return Err(Error::Truncated {
            path: path.into(),
            what: "IDX magic number",
            expected: 4,
            found: magic_bytes.len() as u64,
        });
    }
    let magic = be_u32(&magic_bytes);
    let (dtype, ndims) = (magic_bytes[2], magic_bytes[3] as usize);
    let kind = match (magic_bytes[0], magic_bytes[1], ndims) {
        (0, 0, 3) | (0, 0, 4) => Kind::Images,
        (0, 0, 1) => Kind::Labels,
        _ => {
            return Err(Error::WrongMagic {
                path: path.into(),
                magic,
            });
        }
    };
    let Some(_) = element_size(dtype) else {
        return Err(Error::UnsupportedFormat {
            path: path.into(),
            reason: format!("IDX element type {dtype:#04x} is not supported (u8, i8, i16 or i32)"),
        });
    };
    if kind == Kind::Images && dtype != 0x08 {
        return Err(Error::UnsupportedFormat {
            path: path.into(),
            reason: format!("IDX images must be unsigned bytes (type 0x08), found {dtype:#04x}"),
        });
    }
    let dim_bytes = read_up_to(path, r, 4 * ndims as u64)?;
    if dim_bytes.len() < 4 * ndims {
        return Err(Error::Truncated {
            path: path.into(),
            what: "IDX header",
            expected: 4 + 4 * ndims as u64,
            found: 4 + dim_bytes.len() as u64,
        });
    }
    let dims: Vec<usize> = dim_bytes.chunks(4).map(|c| be_u32(c) as usize).collect();
    Ok(Header { kind, dtype, dims })
}

/// Checks the header's sizes and returns (payload bytes, image shape for image files).
fn validate(path: &Path, h: &Header) -> Result<(u64, Option<ImageShape>)> {
    let bad = |reason: String| Error::BadHeader {
        path: path.into(),
        reason,
    };
    let shape = match h.kind {
        Kind::Labels => None,
        Kind::Images => {
            let (rows, cols) = (h.dims[1], h.dims[2]);
            let channels = h.dims.get(3).copied().unwrap_or(1);
            if rows == 0 || cols == 0 || rows > MAX_SIDE || cols > MAX_SIDE {
                return Err(bad(format!(
                    "image size {rows}x{cols} in the header is not plausible (1..={MAX_SIDE} per side)"
                )));
            }
            if channels != 1 && channels != 3 {
                return Err(bad(format!(
                    "{channels} channels per pixel (1 or 3 supported)"
                )));
            }
            Some(ImageShape::new(rows, cols, channels))
        }
    };
    let elem = element_size(h.dtype).unwrap_or(1) as u64;
    let total = h
        .dims
        .iter()
        .try_fold(elem, |acc, &d| acc.checked_mul(d as u64))
        .filter(|&t| t <= MAX_PAYLOAD)
        .ok_or_else(|| {
            bad(format!(
                "header dimensions {:?} describe more than {} GiB of data",
                h.dims,
                MAX_PAYLOAD >> 30
            ))
        })?;
    if h.dims[0] == 0 {
        return Err(Error::NoImages {
            path: path.into(),
            detail: " (the header says 0 items)".into(),
        });
    }
    Ok((total, shape))
}

/// Reads and validates one IDX file completely.
pub fn read_idx(path: &Path) -> Result<IdxFile> {
    read_idx_noting(path, &mut Vec::new())
}

/// [`read_idx`], adding warnings (bytes past the payload) to `notes`.
fn read_idx_noting(path: &Path, notes: &mut Vec<String>) -> Result<IdxFile> {
    let mut r = open(path)?;
    let header = read_header(path, r.as_mut())?;
    let (payload, shape) = validate(path, &header)?;
    // A raw file's length is known: refuse a short one before reading it.
    if let Ok(meta) = std::fs::metadata(path) {
        let raw = !is_gzip(path);
        let header_len = 4 + 4 * header.dims.len() as u64;
        if raw && meta.len() < header_len + payload {
            return Err(Error::Truncated {
                path: path.into(),
                what: "IDX payload",
                expected: payload,
                found: meta.len().saturating_sub(header_len),
            });
        }
    }
    // What the header claims must fit the budget before it is read (a small .gz can claim
    // gigabytes truthfully).
    if let Some(s) = shape {
        crate::budget::Budget::current().check_dataset(
            path,
            header.dims[0] as u64,
            s,
            0,
            "use fewer images (a smaller file)",
        )?;
    } else {
        crate::budget::Budget::current().check(
            &format!("{}: {} labels", path.display(), header.dims[0]),
            Some(payload.saturating_mul(9)),
            "use a smaller labels file",
        )?;
    }
    // Exactly the claimed size: no doubling while the vector grows.
    let mut data = Vec::with_capacity(payload as usize);
    match r.as_mut().take(payload).read_to_end(&mut data) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(e) => return Err(corrupt(path, e)),
    }
    if (data.len() as u64) < payload {
        return Err(Error::Truncated {
            path: path.into(),
            what: "IDX payload",
            expected: payload,
            found: data.len() as u64,
        });
    }
    // Past the payload: a raw file's extra bytes are counted from its length; a gzip stream is
    // read a little further to reach its end, where its CRC is checked.
    let header_len = 4 + 4 * header.dims.len() as u64;
    let extra = if is_gzip(path) {
        let mut sink = Vec::new();
        match r.as_mut().take(EXTRA_PROBE + 1).read_to_end(&mut sink) {
            Ok(n) if n as u64 > EXTRA_PROBE => Some(format!(
                "more than {} after the {} bytes its header claims (not read)",
                crate::budget::human(EXTRA_PROBE),
                header_len + payload
            )),
            Ok(0) => None,
            Ok(n) => Some(format!("{n} bytes after what its header claims (ignored)")),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => None,
            Err(e) => return Err(corrupt(path, e)),
        }
    } else {
        std::fs::metadata(path)
            .ok()
            .map(|m| m.len().saturating_sub(header_len + payload))
            .filter(|&n| n > 0)
            .map(|n| format!("{n} bytes after what its header claims (ignored)"))
    };
    if let Some(extra) = extra {
        let name = path
            .file_name()
            .unwrap_or(path.as_os_str())
            .to_string_lossy();
        notes.push(format!("{name}: {extra}"));
    }
    match header.kind {
        Kind::Images => Ok(IdxFile::Images {
            shape: shape.unwrap_or(ImageShape::new(1, 1, 1)),
            pixels: data,
        }),
        Kind::Labels => {
            let labels = match header.dtype {
                0x08 => data.iter().map(|&b| b as i64).collect(),
                0x09 => data.iter().map(|&b| b as i8 as i64).collect(),
                0x0B => data
                    .chunks_exact(2)
                    .map(|c| i16::from_be_bytes([c[0], c[1]]) as i64)
                    .collect(),
                _ => data
                    .chunks_exact(4)
                    .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]) as i64)
                    .collect(),
            };
            Ok(IdxFile::Labels { labels })
        }
    }
}

/// Reads only an IDX file's header: Ok(true) for images, Ok(false) for labels; errors as
/// [`read_idx`] gives them for a bad magic number or header.
pub(crate) fn header_is_images(path: &Path) -> Result<bool> {
    let mut r = open(path)?;
    let header = read_header(path, r.as_mut())?;
    validate(path, &header)?;
    Ok(header.kind == Kind::Images)
}

/// A read error inside a compressed stream: a bad CRC or a corrupt deflate block.
fn corrupt(path: &Path, e: std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => Error::BadHeader {
            path: path.into(),
            reason: format!("corrupt gzip stream ({e})"),
        },
        _ => Error::io(path, e),
    }
}

fn is_gzip(path: &Path) -> bool {
    let mut sig = [0u8; 2];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut sig))
        .is_ok()
        && sig == [0x1f, 0x8b]
}

/// Peeks at a file's first bytes: which IDX kind it is, or None when it is not IDX.
fn peek_kind(path: &Path) -> Option<Kind> {
    let mut r = open(path).ok()?;
    let b = read_up_to(path, r.as_mut(), 4).ok()?;
    match (b.first()?, b.get(1)?, b.get(2)?, b.get(3)?) {
        (0, 0, t, 3 | 4) if element_size(*t).is_some() => Some(Kind::Images),
        (0, 0, t, 1) if element_size(*t).is_some() => Some(Kind::Labels),
        _ => None,
    }
}

/// The part of a file name that an images file and its labels file share:
/// "train-images-idx3-ubyte.gz" and "train-labels-idx1-ubyte" both give "train--ubyte".
fn pairing_key(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name).to_string();
    let mut key = name;
    for word in ["images", "labels", "image", "label", "idx3", "idx1"] {
        key = key.replace(word, "");
    }
    key
}

fn split_from_name(path: &Path) -> Split {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if name.contains("t10k") || name.contains("test") {
        Split::Test
    } else {
        Split::Train
    }
}

fn pretty_name(path: &Path) -> String {
    let base = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    match base.to_lowercase().as_str() {
        "mnist" => "MNIST".into(),
        "fashion-mnist" | "fashion_mnist" | "fashionmnist" => "Fashion-MNIST".into(),
        _ => base,
    }
}

struct Part {
    images_path: PathBuf,
    labels_path: Option<PathBuf>,
    split: Split,
}

/// Loads an IDX images file, with a labels file beside it when one pairs up by name
/// (or the one given). All its samples are training samples.
pub fn load_idx_pair(images_path: &Path, labels_path: Option<&Path>) -> Result<Dataset> {
    load_idx_pair_with(images_path, labels_path, &LoadOptions::default())
}

/// [`load_idx_pair`] with load options (the pixel range).
pub(crate) fn load_idx_pair_with(
    images_path: &Path,
    labels_path: Option<&Path>,
    options: &LoadOptions,
) -> Result<Dataset> {
    let labels_path = labels_path.map(Path::to_path_buf).or_else(|| {
        let dir = images_path.parent()?;
        let key = pairing_key(images_path);
        std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.is_file() && pairing_key(p) == key && peek_kind(p) == Some(Kind::Labels))
    });
    let part = Part {
        images_path: images_path.to_path_buf(),
        labels_path,
        split: Split::Train,
    };
    let name = images_path
        .parent()
        .map(pretty_name)
        .unwrap_or_else(|| pretty_name(images_path));
    assemble(name, images_path, vec![part], options)
}

/// Loads a folder holding IDX files: every images file, paired with its labels file, train
/// files first, then held-out ones ("t10k" or "test" in the name). `Ok(None)` when the folder
/// holds no IDX images file (so the caller can try it as an image folder).
pub fn load_idx_dir(dir: &Path) -> Result<Option<Dataset>> {
    load_idx_dir_with(dir, &LoadOptions::default())
}

/// [`load_idx_dir`] with load options (the pixel range).
pub(crate) fn load_idx_dir_with(dir: &Path, options: &LoadOptions) -> Result<Option<Dataset>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    entries.sort();
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for p in entries {
        match peek_kind(&p) {
            Some(Kind::Images) => images.push(p),
            Some(Kind::Labels) => labels.push(p),
            None => {}
        }
    }
    if images.is_empty() {
        return Ok(None);
    }
    // A raw file and its .gz copy side by side are one file, not twice the data: keep the
    // first by name (the raw one sorts first).
    let mut seen_keys = std::collections::HashSet::new();
    images.retain(|p| seen_keys.insert(pairing_key(p)));
    let mut parts: Vec<Part> = images
        .into_iter()
        .map(|images_path| {
            let key = pairing_key(&images_path);
            let labels_path = labels.iter().find(|l| pairing_key(l) == key).cloned();
            let split = split_from_name(&images_path);
            Part {
                images_path,
                labels_path,
                split,
            }
        })
        .collect();
    // Train first, so indices of the training set do not move when a test file is added.
    parts.sort_by_key(|p| (p.split == Split::Test, p.images_path.clone()));
    assemble(pretty_name(dir), dir, parts, options).map(Some)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .unwrap_or(p.as_os_str())
        .to_string_lossy()
        .into_owned()
}

fn assemble(
    name: String,
    source: &Path,
    mut parts: Vec<Part>,
    options: &LoadOptions,
) -> Result<Dataset> {
    let mut report = LoadReport::default();
    // A held-out file without labels must not cost the training files theirs: when every
    // training file is labelled, unlabelled held-out files are left out (and the report says
    // so); otherwise everything loads unlabelled and the report names the file without labels.
    let train_labelled = parts
        .iter()
        .filter(|p| p.split == Split::Train)
        .all(|p| p.labels_path.is_some());
    let any_train = parts.iter().any(|p| p.split == Split::Train);
    if any_train && train_labelled && parts.iter().any(|p| p.labels_path.is_none()) {
        parts.retain(|p| {
            let keep = p.labels_path.is_some();
            if !keep {
                report.notes.push(format!(
                    "{} has no labels file beside it; left out so the training labels are kept",
                    file_name(&p.images_path)
                ));
            }
            keep
        });
    }
    let all_labelled = parts.iter().all(|p| p.labels_path.is_some());
    if !all_labelled {
        let missing: Vec<String> = parts
            .iter()
            .filter(|p| p.labels_path.is_none())
            .map(|p| file_name(&p.images_path))
            .collect();
        report.labels = Some(format!(
            "no labels: no labels file pairs with {}",
            missing.join(", ")
        ));
    }
    let mut shape: Option<(ImageShape, PathBuf)> = None;
    let mut pixels = Vec::new();
    let mut labels: Vec<u16> = Vec::new();
    let mut split = Vec::new();
    for part in &parts {
        let IdxFile::Images {
            shape: s,
            pixels: px,
        } = read_idx_noting(&part.images_path, &mut report.notes)?
        else {
            return Err(Error::UnsupportedFormat {
                path: part.images_path.clone(),
                reason: "expected an IDX images file, found labels".into(),
            });
        };
        match &shape {
            Some((first, first_path)) if *first != s => {
                return Err(Error::UnsupportedFormat {
                    path: part.images_path.clone(),
                    reason: format!(
                        "images are {s}, but {} has {first}; all files of a dataset must match",
                        first_path.display()
                    ),
                });
            }
            None => shape = Some((s, part.images_path.clone())),
            _ => {}
        }
        let n = px.len() / s.len();
        if all_labelled {
            let lp = part.labels_path.as_deref();
            let lp = lp.unwrap_or(Path::new(""));
            report.files.push(lp.to_path_buf());
            let IdxFile::Labels { labels: ls } = read_idx_noting(lp, &mut report.notes)? else {
                return Err(Error::UnsupportedFormat {
                    path: lp.into(),
                    reason: "expected an IDX label file".into(),
                });
            };
            if ls.len() != n {
                return Err(Error::CountMismatch {
                    images_path: part.images_path.clone(),
                    labels_path: lp.into(),
                    images: n,
                    labels: ls.len(),
                });
            }
            for (index, &l) in ls.iter().enumerate() {
                if l < 0 || l as usize >= MAX_CLASSES {
                    return Err(Error::LabelOutOfRange {
                        path: lp.into(),
                        index,
                        label: l,
                        limit: MAX_CLASSES,
                    });
                }
                labels.push(l as u16);
            }
        }
        report.files.push(part.images_path.clone());
        if pixels.is_empty() {
            pixels = px;
        } else {
            pixels.extend_from_slice(&px);
        }
        split.extend(std::iter::repeat_n(part.split, n));
    }
    let shape = shape.map(|(s, _)| s).unwrap_or(ImageShape::new(1, 1, 1));
    let (labels, class_names) = if all_labelled {
        let classes = labels.iter().copied().max().unwrap_or(0) as usize + 1;
        let files: Vec<String> = parts
            .iter()
            .filter_map(|p| p.labels_path.as_deref().map(file_name))
            .collect();
        report.labels = Some(format!(
            "labels from {}, {classes} classes",
            files.join(" and ")
        ));
        (Some(labels), default_class_names(source, classes))
    } else {
        (None, Vec::new())
    };
    // IDX images are bytes, 0..255; --pixel-range may still say otherwise.
    if options.pixel_range != super::PixelRange::Auto {
        let scaled = super::scale::to_pixels(
            &pixels,
            super::ValueKind::U8,
            "uint8 IDX",
            options.pixel_range,
            &|i| format!("element {i}"),
        )
        .map_err(|reason| Error::UnsupportedFormat {
            path: source.into(),
            reason,
        })?;
        pixels = scaled.pixels;
        report.add_scale(scaled.description, scaled.clamped, scaled.scale);
    } else {
        report.scale = Some("uint8 IDX, values 0..255".into());
        report.pixel_scale = Some(super::PixelScale::Byte);
    }
    Dataset::new(name, source, shape, pixels, labels, class_names, split)
        .map(|d| d.with_report(report))
}
