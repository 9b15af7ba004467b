//! Datasets: N images of H x W x C (C = 1 or 3) stored as bytes, read as values in [0, 1],
//! with optional labels, class names, a train / held-out split and a record of where they came
//! from. Loaders recognise files by content (IDX magic numbers, numpy and zip signatures, CSV
//! text, image signatures), not by name.

mod batch;
mod csv;
mod idx;
mod image_dir;
mod numpy;
mod options;
mod progress;
mod report;
mod scale;

pub use batch::BatchBuffer;
pub use csv::{load_csv, load_csv_with};
pub use idx::{IdxFile, load_idx_dir, load_idx_pair, read_idx};
pub use image_dir::{
    ImageDirOptions, ImageDirReport, load_image_dir, load_image_dir_with_progress,
};
pub use numpy::{load_npy, load_npy_with, load_npz, load_npz_with};
pub use options::{LoadOptionsText, parse_image_size};
pub use progress::{LoadProgress, LoadProgressView, LoadStage};
pub use report::LoadReport;
pub use scale::{PixelRange, PixelScale, UNIT_TOLERANCE, ValueKind};

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Height x width x channels of one image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImageShape {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
}

impl ImageShape {
    pub fn new(height: usize, width: usize, channels: usize) -> Self {
        Self {
            height,
            width,
            channels,
        }
    }

    /// Number of values in one image (the VAE's input width).
    pub fn len(&self) -> usize {
        self.height * self.width * self.channels
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for ImageShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.channels == 1 { "grey" } else { "RGB" };
        write!(f, "{}x{} {}", self.width, self.height, kind)
    }
}

/// Which part of the dataset a sample belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Split {
    Train,
    Test,
}

impl Split {
    pub fn as_str(&self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }
}

/// A loaded dataset. Pixels are kept as bytes (a quarter of the memory of f32) in
/// row-major H x W x C order per image and converted to [0, 1] floats when batched.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Short human name ("MNIST", a folder's name).
    pub name: String,
    /// The file or folder it was loaded from.
    pub source: PathBuf,
    pub shape: ImageShape,
    pixels: Vec<u8>,
    labels: Option<Vec<u16>>,
    class_names: Vec<String>,
    split: Vec<Split>,
    /// The training split's mean image, computed on first use (the loader's thread warms it).
    train_mean: OnceLock<Vec<f32>>,
    /// What the loader did: loaded, skipped, resized, clamped, the scale, the labels.
    report: LoadReport,
}

/// The largest number of classes a label may index.
pub const MAX_CLASSES: usize = 65_536;

impl Dataset {
    /// Builds a dataset, checking that every part agrees in length and that labels index
    /// `class_names`.
    pub fn new(
        name: impl Into<String>,
        source: impl Into<PathBuf>,
        shape: ImageShape,
        pixels: Vec<u8>,
        labels: Option<Vec<u16>>,
        class_names: Vec<String>,
        split: Vec<Split>,
    ) -> Result<Self> {
        let source = source.into();
        if shape.is_empty() || !(shape.channels == 1 || shape.channels == 3) {
            return Err(Error::UnsupportedFormat {
                path: source,
                reason: format!(
                    "images must be non-empty with 1 or 3 channels, got {}x{}x{}",
                    shape.height, shape.width, shape.channels
                ),
            });
        }
        let n = pixels.len() / shape.len();
        if n == 0 {
            return Err(Error::NoImages {
                path: source,
                detail: String::new(),
            });
        }
        if pixels.len() != n * shape.len() || split.len() != n {
            return Err(Error::BadHeader {
                path: source,
                reason: "pixel data and split do not agree on the number of images".into(),
            });
        }
        if let Some(labels) = &labels {
            if labels.len() != n {
                return Err(Error::BadHeader {
                    path: source,
                    reason: format!("{} images but {} labels", n, labels.len()),
                });
            }
            if let Some((index, &label)) = labels
                .iter()
                .enumerate()
                .find(|(_, l)| **l as usize >= class_names.len())
            {
                return Err(Error::LabelOutOfRange {
                    path: source,
                    index,
                    label: label as i64,
                    limit: class_names.len(),
                });
            }
        }
        Ok(Self {
            name: name.into(),
            source,
            shape,
            pixels,
            labels,
            class_names,
            split,
            train_mean: OnceLock::new(),
            report: LoadReport {
                loaded: n,
                ..Default::default()
            },
        })
    }

    /// What the loader did (loaded, skipped by reason, resized, clamped, the pixel scale,
    /// labels found or not, files read, warnings).
    pub fn report(&self) -> &LoadReport {
        &self.report
    }

    /// Replaces the load report (the loaders fill it in); `loaded` is set to the dataset's
    /// size.
    pub fn with_report(mut self, mut report: LoadReport) -> Self {
        report.loaded = self.len();
        self.report = report;
        self
    }

    pub fn len(&self) -> usize {
        self.split.len()
    }

    pub fn is_empty(&self) -> bool {
        self.split.is_empty()
    }

    /// Raw bytes of image `i` (H x W x C, row-major).
    pub fn image_bytes(&self, i: usize) -> &[u8] {
        let d = self.shape.len();
        &self.pixels[i * d..(i + 1) * d]
    }

    /// Image `i` as values in [0, 1].
    pub fn image(&self, i: usize) -> Vec<f32> {
        self.image_bytes(i)
            .iter()
            .map(|&b| b as f32 / 255.0)
            .collect()
    }

    pub fn labels(&self) -> Option<&[u16]> {
        self.labels.as_deref()
    }

    pub fn label(&self, i: usize) -> Option<u16> {
        self.labels.as_ref().map(|l| l[i])
    }

    /// How many classes the labels index (the class names' count); None without labels.
    pub fn class_count(&self) -> Option<usize> {
        self.labels.as_ref().map(|_| self.class_names.len())
    }

    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    /// Name of the class of sample `i`, if labelled.
    pub fn class_name(&self, i: usize) -> Option<&str> {
        self.label(i)
            .and_then(|l| self.class_names.get(l as usize))
            .map(String::as_str)
    }

    pub fn split_of(&self, i: usize) -> Split {
        self.split[i]
    }

    /// Indices of every sample in `split`, in order.
    pub fn indices(&self, split: Split) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| self.split[i] == split)
            .collect()
    }

    pub fn count(&self, split: Split) -> usize {
        self.split.iter().filter(|&&s| s == split).count()
    }

    /// A new dataset of the given samples (in that order), keeping their splits and labels.
    pub fn subset(&self, indices: &[usize]) -> Result<Self> {
        let d = self.shape.len();
        let mut pixels = Vec::with_capacity(indices.len() * d);
        for &i in indices {
            pixels.extend_from_slice(self.image_bytes(i));
        }
        Dataset::new(
            self.name.clone(),
            self.source.clone(),
            self.shape,
            pixels,
            self.labels
                .as_ref()
                .map(|l| indices.iter().map(|&i| l[i]).collect()),
            self.class_names.clone(),
            indices.iter().map(|&i| self.split[i]).collect(),
        )
        .map(|d| d.with_report(self.report.clone()))
    }

    /// Marks a seeded random `fraction` of the samples as held out. Used for datasets that
    /// come without a test split (an image folder, a single IDX file).
    pub fn with_holdout_fraction(mut self, fraction: f64, seed: u64) -> Self {
        use rand::SeedableRng;
        use rand::seq::SliceRandom;
        let n = self.len();
        let k = ((n as f64) * fraction.clamp(0.0, 0.9)).round() as usize;
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
        self.split = vec![Split::Train; n];
        for &i in &order[..k] {
            self.split[i] = Split::Test;
        }
        self.train_mean = OnceLock::new();
        self
    }

    /// The mean image of the training split: the baseline a fill-in must beat. Averaging
    /// 60,000 images takes tens of milliseconds, so it is computed once.
    pub fn train_mean_image(&self) -> &[f32] {
        self.train_mean
            .get_or_init(|| self.mean_image(&self.indices(Split::Train)))
    }

    /// The mean image over `indices`, in [0, 1] (the baseline any model must beat).
    pub fn mean_image(&self, indices: &[usize]) -> Vec<f32> {
        let d = self.shape.len();
        let mut sum = vec![0f64; d];
        for &i in indices {
            for (s, &b) in sum.iter_mut().zip(self.image_bytes(i)) {
                *s += b as f64;
            }
        }
        let n = indices.len().max(1) as f64;
        sum.into_iter().map(|s| (s / n / 255.0) as f32).collect()
    }

    /// One line for logs and panels: "MNIST: 70000 images (60000 train, 10000 test), 28x28 grey, 10 classes".
    pub fn summary(&self) -> String {
        let classes = if self.labels.is_some() {
            format!(", {} classes", self.class_names.len())
        } else {
            ", unlabelled".to_string()
        };
        format!(
            "{}: {} images ({} train, {} test), {}{}",
            self.name,
            self.len(),
            self.count(Split::Train),
            self.count(Split::Test),
            self.shape,
            classes
        )
    }
}

/// Options for [`load_dataset`].
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// For image folders: resize every image to this (height, width); default the most common size.
    pub image_size: Option<(usize, usize)>,
    /// The pixel scale (`--pixel-range`); default: decided by the rule in `scale.rs`.
    pub pixel_range: PixelRange,
    /// Which CSV column holds the labels (`--label-column`).
    pub label_column: LabelColumn,
}

/// Which column of a CSV holds the labels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LabelColumn {
    /// By header name (label, target, class, y, ...); without a header, by the rule in
    /// `csv.rs` (the first or last column, whichever holds whole numbers with the fewest
    /// distinct values, at least two; ties go to the first).
    #[default]
    Auto,
    First,
    Last,
    /// No label column: every column is a pixel.
    None,
    /// The N-th column, counting from 1.
    Index(usize),
}

impl std::str::FromStr for LabelColumn {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "first" => Ok(Self::First),
            "last" => Ok(Self::Last),
            "none" => Ok(Self::None),
            n => match n.parse::<usize>() {
                Ok(k) if k >= 1 => Ok(Self::Index(k)),
                _ => Err(format!(
                    "label column '{s}' is not first, last, none, auto or a column number from 1"
                )),
            },
        }
    }
}

/// Loads a dataset from an IDX file, a `.npy` / `.npz` file, a CSV of pixel rows, a folder
/// holding IDX files, or a folder of images.
/// Datasets without their own test split get none here; the trainer holds out a fraction.
pub fn load_dataset(path: &Path, options: &LoadOptions) -> Result<Dataset> {
    load_dataset_with_progress(path, options, &LoadProgress::new())
}

/// [`load_dataset`], reporting progress in `progress` (image folders count their files; other
/// formats stay at [`LoadStage::Opening`]) and returning [`Error::Cancelled`], with no dataset,
/// once `progress` is cancelled: a folder stops within an image per thread, a single file
/// (which loads in a second or so) is read and dropped.
pub fn load_dataset_with_progress(
    path: &Path,
    options: &LoadOptions,
    progress: &LoadProgress,
) -> Result<Dataset> {
    if progress.is_cancelled() {
        return Err(Error::Cancelled { path: path.into() });
    }
    let data = load_by_kind(path, options, progress)?;
    if progress.is_cancelled() {
        return Err(Error::Cancelled { path: path.into() });
    }
    Ok(data)
}

fn load_by_kind(path: &Path, options: &LoadOptions, progress: &LoadProgress) -> Result<Dataset> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        if let Some(ds) = idx::load_idx_dir_with(path, options)? {
            return Ok(ds);
        }
        let opts = ImageDirOptions {
            size: options.image_size,
        };
        return load_image_dir_with_progress(path, &opts, progress)
            .map(|(ds, report)| ds.with_report(report));
    }
    // Only regular files: a device or FIFO has no length to check a header against.
    crate::budget::open_regular(path)?;
    // A single file, by its first bytes: numpy, zip (an .npz), CSV text (raw or gzip), else IDX
    // images (with labels beside it when they pair up by name), which refuses anything else by
    // its magic.
    let prefix = crate::npy::peek(path)?;
    if crate::npy::is_npy(&prefix) {
        return load_npy_with(path, options);
    }
    if crate::npy::is_zip(&prefix) {
        return load_npz_with(path, options);
    }
    if csv::looks_like_csv(path) {
        return load_csv_with(path, options);
    }
    // The header alone says which kind it is; the payload is read once, by the loader.
    match idx::header_is_images(path)? {
        true => idx::load_idx_pair_with(path, None, options),
        false => Err(Error::UnsupportedFormat {
            path: path.to_path_buf(),
            reason: "this is an IDX label file; open the images file or the folder holding both"
                .into(),
        }),
    }
}

/// Default class names for a 10-class IDX dataset, from where it lives: Fashion-MNIST's
/// clothing names when the path says so, digits otherwise.
pub(crate) fn default_class_names(path: &Path, classes: usize) -> Vec<String> {
    const FASHION: [&str; 10] = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ];
    let lower = path.to_string_lossy().to_lowercase();
    if classes <= 10 && lower.contains("fashion") {
        FASHION.iter().map(|s| s.to_string()).collect()
    } else {
        (0..classes.max(1)).map(|c| c.to_string()).collect()
    }
}
