//! A folder of images (anything the `image` crate decodes), with first-level subfolders as
//! class labels, like torchvision's ImageFolder. Files that do not decode are skipped and
//! counted; every image is resized to one size; grey stays grey unless any image has colour.

use super::{Dataset, ImageShape, Split};
use crate::error::{Error, Result};
use image::imageops::FilterType;
use image::{DynamicImage, ImageReader};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Default)]
pub struct ImageDirOptions {
    /// Target (height, width); default: the most common size in the folder.
    pub size: Option<(usize, usize)>,
}

/// What the loader did besides loading: what it skipped and resized.
#[derive(Clone, Debug, Default)]
pub struct ImageDirReport {
    pub loaded: usize,
    pub skipped: Vec<(PathBuf, String)>,
    pub resized: usize,
}

const MAX_SIDE: usize = 4096;

struct Decoded {
    label: Option<u16>,
    image: DynamicImage,
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

fn decode(path: &Path) -> std::result::Result<DynamicImage, String> {
    let reader = ImageReader::open(path).map_err(|e| e.to_string())?;
    let mut reader = reader.with_guessed_format().map_err(|e| e.to_string())?;
    if reader.format().is_none() {
        return Err("not an image".into());
    }
    reader.limits(limits());
    reader.decode().map_err(|e| e.to_string())
}

/// Loads every decodable image under `dir`. Returns the dataset and a report of skipped files.
pub fn load_image_dir(dir: &Path, opts: &ImageDirOptions) -> Result<(Dataset, ImageDirReport)> {
    // Class folders are the first level of subfolders, sorted by name (ImageFolder's order).
    let mut class_names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    class_names.sort();
    let labelled = !class_names.is_empty();
    let class_index: HashMap<&str, u16> = class_names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i as u16))
        .collect();

    let mut files: Vec<(PathBuf, Option<u16>)> = Vec::new();
    let mut report = ImageDirReport::default();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let p = e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| dir.into());
                report.skipped.push((p, e.to_string()));
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
                .map(|c| c.as_os_str().to_string_lossy());
            match top.as_deref().and_then(|t| class_index.get(t)) {
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
    }

    // Decoding dominates; do it on all cores.
    let results: Vec<(PathBuf, std::result::Result<Decoded, String>)> = files
        .into_par_iter()
        .map(|(path, label)| {
            let r = decode(&path).map(|image| Decoded { label, image });
            (path, r)
        })
        .collect();
    let mut decoded = Vec::new();
    for (path, r) in results {
        match r {
            Ok(d) => decoded.push(d),
            Err(reason) => report.skipped.push((path, reason)),
        }
    }
    if decoded.is_empty() {
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
        None => most_common_size(&decoded),
    };
    if height == 0 || width == 0 || height > MAX_SIDE || width > MAX_SIDE {
        return Err(Error::InvalidArgument(format!(
            "image size {height}x{width} is out of range (1..={MAX_SIDE} per side)"
        )));
    }
    let colour = decoded.iter().any(|d| has_colour(&d.image));
    let shape = ImageShape::new(height, width, if colour { 3 } else { 1 });
    report.resized = decoded
        .iter()
        .filter(|d| (d.image.height() as usize, d.image.width() as usize) != (height, width))
        .count();

    let per_image: Vec<Vec<u8>> = decoded
        .par_iter()
        .map(|d| to_bytes(&d.image, shape))
        .collect();
    let mut pixels = Vec::with_capacity(per_image.len() * shape.len());
    for p in &per_image {
        pixels.extend_from_slice(p);
    }
    let labels = labelled.then(|| decoded.iter().map(|d| d.label.unwrap_or(0)).collect());
    report.loaded = decoded.len();
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string());
    let split = vec![Split::Train; decoded.len()];
    let ds = Dataset::new(name, dir, shape, pixels, labels, class_names, split)?;
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

fn most_common_size(decoded: &[Decoded]) -> (usize, usize) {
    let mut counts: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for d in decoded {
        *counts
            .entry((d.image.height() as usize, d.image.width() as usize))
            .or_default() += 1;
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
