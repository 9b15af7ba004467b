//! A folder of images (anything the `image` crate decodes), with first-level subfolders as
//! class labels, like torchvision's ImageFolder. Files that do not decode are skipped and
//! counted; every image is resized to one size; grey stays grey unless any image has colour.

use super::{Dataset, ImageShape, LoadProgress, LoadReport, LoadStage, Split};
use crate::error::{Error, Result};
use image::imageops::FilterType;
use image::{DynamicImage, ImageReader};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone, Debug, Default)]
pub struct ImageDirOptions {
    /// Target (height, width); default: the most common size in the folder.
    pub size: Option<(usize, usize)>,
}

/// What the loader did besides loading: what it skipped and resized (the common report).
pub type ImageDirReport = LoadReport;

const MAX_SIDE: usize = 4096;

/// A file, its label, and its size from its header with the file's bytes when it is small
/// (or why it has none).
type Probed = (PathBuf, Option<u16>, std::result::Result<Header, String>);

/// A file's image size, and the whole file when it was small enough to keep.
type Header = ((u32, u32), Option<Vec<u8>>);

/// Files up to this size are read whole while their header is read, and decoded from memory:
/// each is opened once instead of twice (for a folder of small images, such as MNIST's,
/// opening files is much of the time).
const SMALL_FILE: u64 = 64 << 10;

/// At most this much of those files is kept between reading headers and decoding.
const KEPT_FILES_MAX: u64 = 256 << 20;

/// One image decoded and brought to the dataset's size: grey or RGB bytes.
struct Decoded {
    label: Option<u16>,
    bytes: Vec<u8>,
    colour: bool,
    resized: bool,
}

/// Decoder limits: a header declaring a huge picture is refused before any pixel memory is
/// taken (the files are decoded in parallel, so each may use at most this much).
fn limits() -> image::Limits {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_DECODE_SIDE);
    limits.max_image_height = Some(MAX_DECODE_SIDE);
    limits.max_alloc = Some(256 << 20);
    limits
}

/// The largest image side we decode (before resizing).
const MAX_DECODE_SIDE: u32 = 8192;

/// A file's image size from its header alone, without decoding pixels. A JPEG without its
/// end-of-image marker is truncated (its decoder would fill the missing part with grey), so it
/// is refused here, like a truncated PNG is by its decoder.
fn probe(path: &Path, kept: &AtomicU64) -> std::result::Result<Header, String> {
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(SMALL_FILE + 1).read_to_end(&mut head))
        .map_err(|e| e.to_string())?;
    let small = head.len() as u64 <= SMALL_FILE;
    if small && kept.fetch_add(head.len() as u64, Ordering::Relaxed) < KEPT_FILES_MAX {
        let mut reader = ImageReader::new(std::io::Cursor::new(&head[..]));
        if let Some(format) = format_from_extension(path) {
            reader.set_format(format);
        }
        let reader = reader.with_guessed_format().map_err(|e| e.to_string())?;
        let Some(format) = reader.format() else {
            return Err("not an image".into());
        };
        if format == image::ImageFormat::Jpeg && !ends_with_eoi(&head) {
            return Err("truncated JPEG (no end-of-image marker)".into());
        }
        let dims = reader.into_dimensions().map_err(|e| e.to_string())?;
        return Ok((dims, Some(head)));
    }
    probe_file(path).map(|dims| (dims, None))
}

/// The format a file's extension names, as [`ImageReader::open`] takes it (content wins when
/// it is recognised; formats without a signature, such as TGA, need the name).
fn format_from_extension(path: &Path) -> Option<image::ImageFormat> {
    path.extension()
        .filter(|e| !e.is_empty())
        .and_then(image::ImageFormat::from_extension)
}

/// [`probe`] for a file too large to keep: its header alone.
fn probe_file(path: &Path) -> std::result::Result<(u32, u32), String> {
    let reader = ImageReader::open(path).map_err(|e| e.to_string())?;
    let reader = reader.with_guessed_format().map_err(|e| e.to_string())?;
    let Some(format) = reader.format() else {
        return Err("not an image".into());
    };
    if format == image::ImageFormat::Jpeg && !jpeg_is_complete(path) {
        return Err("truncated JPEG (no end-of-image marker)".into());
    }
    reader.into_dimensions().map_err(|e| e.to_string())
}

/// True when a JPEG file ends with its end-of-image marker (FF D9), allowing a little padding.
fn jpeg_is_complete(path: &Path) -> bool {
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let Ok(len) = f.seek(SeekFrom::End(0)) else {
        return false;
    };
    let tail_len = len.min(64);
    let mut tail = vec![0u8; tail_len as usize];
    if f.seek(SeekFrom::Start(len - tail_len)).is_err() || f.read_exact(&mut tail).is_err() {
        return false;
    }
    ends_with_eoi(&tail)
}

/// Whether the last 64 bytes hold a JPEG end-of-image marker.
fn ends_with_eoi(bytes: &[u8]) -> bool {
    bytes[bytes.len().saturating_sub(64)..]
        .windows(2)
        .any(|w| w == [0xFF, 0xD9])
}

/// Decodes the file's bytes kept by [`probe`], else the file itself.
fn decode(path: &Path, bytes: Option<Vec<u8>>) -> std::result::Result<DynamicImage, String> {
    if let Some(bytes) = bytes {
        let mut reader = ImageReader::new(std::io::Cursor::new(bytes));
        if let Some(format) = format_from_extension(path) {
            reader.set_format(format);
        }
        let mut reader = reader.with_guessed_format().map_err(|e| e.to_string())?;
        if reader.format().is_none() {
            return Err("not an image".into());
        }
        reader.limits(limits());
        return reader.decode().map_err(|e| e.to_string());
    }
    let reader = ImageReader::open(path).map_err(|e| e.to_string())?;
    let mut reader = reader.with_guessed_format().map_err(|e| e.to_string())?;
    if reader.format().is_none() {
        return Err("not an image".into());
    }
    reader.limits(limits());
    reader.decode().map_err(|e| e.to_string())
}

/// A class folder's name for display: the name itself, or, when it is not UTF-8, its bytes
/// escaped (so two such names stay two classes).
fn class_display_name(name: &std::ffi::OsStr) -> String {
    match name.to_str() {
        Some(s) => s.to_string(),
        None => {
            let debug = format!("{name:?}");
            debug.trim_matches('"').to_string()
        }
    }
}

/// Loads every decodable image under `dir` (following symlinked files and folders, with loop
/// protection). Returns the dataset and a report of what was skipped and resized.
pub fn load_image_dir(dir: &Path, opts: &ImageDirOptions) -> Result<(Dataset, ImageDirReport)> {
    load_image_dir_with_progress(dir, opts, &LoadProgress::new())
}

/// [`load_image_dir`], counting listed, probed and decoded files in `progress` as it goes and
/// stopping with [`Error::Cancelled`] soon after `progress` is cancelled (each thread finishes
/// the image in hand; the flag is read before every file).
pub fn load_image_dir_with_progress(
    dir: &Path,
    opts: &ImageDirOptions,
    progress: &LoadProgress,
) -> Result<(Dataset, ImageDirReport)> {
    let cancelled = || Error::Cancelled { path: dir.into() };
    progress.start(LoadStage::Listing, 0);
    // Class folders are the first level of subfolders (symlinks to folders included), sorted
    // by name (ImageFolder's order).
    let mut class_dirs: Vec<OsString> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name())
        .filter(|n| !n.to_string_lossy().starts_with('.'))
        .collect();
    class_dirs.sort();
    let class_names: Vec<String> = class_dirs.iter().map(|n| class_display_name(n)).collect();
    let labelled = !class_dirs.is_empty();
    let class_index: HashMap<&OsString, u16> = class_dirs
        .iter()
        .enumerate()
        .map(|(i, n)| (n, i as u16))
        .collect();

    let mut files: Vec<(PathBuf, Option<u16>)> = Vec::new();
    let mut report = ImageDirReport::default();
    // follow_links: subsets are usually built from symlinks (torchvision follows them);
    // walkdir reports a link back to an ancestor as a loop error instead of descending.
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
    {
        if progress.is_cancelled() {
            return Err(cancelled());
        }
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let p = e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| dir.into());
                let reason = if e.loop_ancestor().is_some() {
                    "a symlink loop (a link back to a folder above it)".to_string()
                } else {
                    e.to_string()
                };
                report.skipped.push((p, reason));
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let hidden = rel
            .components()
            .any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        let label = if labelled {
            let top = rel
                .components()
                .next()
                .map(|c| c.as_os_str().to_os_string());
            match top.as_ref().and_then(|t| class_index.get(t)) {
                Some(&l) if rel.components().count() > 1 => Some(l),
                _ => {
                    report
                        .skipped
                        .push((entry.path().into(), "outside the class folders".into()));
                    continue;
                }
            }
        } else {
            None
        };
        files.push((entry.path().to_path_buf(), label));
        progress.step();
    }

    // Every file's size from its header: the target size and the budget are known before a
    // single image is decoded.
    progress.start(LoadStage::ReadingHeaders, files.len());
    let kept = AtomicU64::new(0);
    let probed: Vec<Probed> = files
        .into_par_iter()
        .map(|(path, label)| {
            if progress.is_cancelled() {
                // Skipped cheaply; the whole result is dropped below.
                return (path, label, Err(String::new()));
            }
            let header = probe(&path, &kept);
            progress.step();
            (path, label, header)
        })
        .collect();
    if progress.is_cancelled() {
        return Err(cancelled());
    }
    let mut sized = Vec::new();
    for (path, label, header) in probed {
        match header {
            Ok(((w, h), _))
                if w as usize > MAX_DECODE_SIDE as usize
                    || h as usize > MAX_DECODE_SIDE as usize =>
            {
                report.skipped.push((
                    path,
                    format!(
                        "{w}x{h} pixels is over the decoder's limit of {MAX_DECODE_SIDE} a side"
                    ),
                ));
            }
            Ok(((w, h), bytes)) => sized.push((path, label, (h as usize, w as usize), bytes)),
            Err(reason) => report.skipped.push((path, reason)),
        }
    }
    if sized.is_empty() {
        let detail = if report.skipped.is_empty() {
            String::new()
        } else {
            format!(
                " ({} files could not be decoded as images)",
                report.skipped.len()
            )
        };
        return Err(Error::NoImages {
            path: dir.into(),
            detail,
        });
    }
    let (height, width) = match opts.size {
        Some((h, w)) => (h, w),
        None => most_common_size(sized.iter().map(|(_, _, s, _)| *s)),
    };
    if height == 0 || width == 0 || height > MAX_SIDE || width > MAX_SIDE {
        return Err(Error::InvalidArgument(format!(
            "image size {height}x{width} is out of range (1..={MAX_SIDE} per side)"
        )));
    }
    // The budget: the dataset at its final size (as RGB, the worst case) and, per decoding
    // thread, the largest decoded image (RGBA, 16-bit at worst) with its resized copy.
    let budget = crate::budget::Budget::current();
    let largest = sized
        .iter()
        .map(|(_, _, (h, w), _)| (*h as u64) * (*w as u64) * 8)
        .max()
        .unwrap_or(0);
    let threads = rayon::current_num_threads() as u64;
    let transient = largest
        .saturating_add((height * width * 3) as u64)
        .saturating_mul(threads);
    budget.check_dataset(
        dir,
        sized.len() as u64,
        ImageShape::new(height, width, 3),
        transient,
        "resize with --image-size (e.g. 64x64) or use fewer images",
    )?;

    // Decode and bring each image to the target size at once, keeping only its bytes.
    progress.start(LoadStage::Decoding, sized.len());
    let results: Vec<(PathBuf, std::result::Result<Decoded, String>)> = sized
        .into_par_iter()
        .map(|(path, label, _, bytes)| {
            if progress.is_cancelled() {
                return (path, Err(String::new()));
            }
            let r = decode(&path, bytes).map(|image| {
                let colour = has_colour(&image);
                let resized = (image.height() as usize, image.width() as usize) != (height, width);
                let shape = ImageShape::new(height, width, if colour { 3 } else { 1 });
                Decoded {
                    label,
                    bytes: to_bytes(&image, shape),
                    colour,
                    resized,
                }
            });
            progress.step();
            (path, r)
        })
        .collect();
    if progress.is_cancelled() {
        return Err(cancelled());
    }
    let mut decoded = Vec::new();
    for (path, r) in results {
        match r {
            Ok(d) => {
                report.files.push(path);
                decoded.push(d);
            }
            Err(reason) => report.skipped.push((path, reason)),
        }
    }
    if decoded.is_empty() {
        return Err(Error::NoImages {
            path: dir.into(),
            detail: format!(
                " ({} files could not be decoded as images)",
                report.skipped.len()
            ),
        });
    }
    let colour = decoded.iter().any(|d| d.colour);
    let shape = ImageShape::new(height, width, if colour { 3 } else { 1 });
    report.resized = decoded.iter().filter(|d| d.resized).count();
    let mut pixels = Vec::with_capacity(decoded.len() * shape.len());
    for d in &decoded {
        if colour && !d.colour {
            // A grey picture in a colour dataset: each value thrice.
            pixels.extend(d.bytes.iter().flat_map(|&v| [v, v, v]));
        } else {
            pixels.extend_from_slice(&d.bytes);
        }
    }
    let labels: Option<Vec<u16>> =
        labelled.then(|| decoded.iter().map(|d| d.label.unwrap_or(0)).collect());
    report.loaded = decoded.len();
    report.scale = Some("8-bit images, values 0..255".into());
    report.pixel_scale = Some(super::PixelScale::Byte);
    report.labels = Some(if labelled {
        format!("labels from {} class folders", class_names.len())
    } else {
        "no labels (no class subfolders)".into()
    });
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string());
    let split = vec![Split::Train; decoded.len()];
    drop(decoded);
    let ds = Dataset::new(name, dir, shape, pixels, labels, class_names, split)?
        .with_report(report.clone());
    Ok((ds, report))
}

/// Whether an image really uses colour: decoders such as BMP's report RGB even for grey
/// pictures, so look at the pixels.
fn has_colour(image: &DynamicImage) -> bool {
    image.color().has_color()
        && image
            .to_rgb8()
            .pixels()
            .any(|p| p[0] != p[1] || p[1] != p[2])
}

fn most_common_size(sizes: impl Iterator<Item = (usize, usize)>) -> (usize, usize) {
    let mut counts: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for size in sizes {
        *counts.entry(size).or_default() += 1;
    }
    // Ties go to the smallest size (BTreeMap order), so the choice is deterministic.
    counts
        .into_iter()
        .fold(
            ((0, 0), 0),
            |best, (size, n)| if n > best.1 { (size, n) } else { best },
        )
        .0
}

fn to_bytes(image: &DynamicImage, shape: ImageShape) -> Vec<u8> {
    let (h, w) = (shape.height as u32, shape.width as u32);
    let resized;
    let image = if image.height() != h || image.width() != w {
        resized = image.resize_exact(w, h, FilterType::Triangle);
        &resized
    } else {
        image
    };
    if shape.channels == 1 {
        image.to_luma8().into_raw()
    } else {
        image.to_rgb8().into_raw()
    }
}
