//! One error type for the headless core. Every variant that comes from a file names that file,
//! so the window and the command line can show a single readable line without extra context.

use std::path::PathBuf;

/// Convenience alias used throughout the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{}: not found", path.display())]
    NotFound { path: PathBuf },

    #[error("{}: truncated: expected {expected} bytes of {what}, found {found}", path.display())]
    Truncated {
        path: PathBuf,
        what: &'static str,
        expected: u64,
        found: u64,
    },

    #[error("{}: not an IDX file (magic number {magic:#010x}; expected 2051 for images or 2049 for labels), a .npy / .npz array or a CSV of pixel rows", path.display())]
    WrongMagic { path: PathBuf, magic: u32 },

    #[error("{}: {reason}", path.display())]
    BadHeader { path: PathBuf, reason: String },

    #[error("{} has {images} images but {} has {labels} labels", images_path.display(), labels_path.display())]
    CountMismatch {
        images_path: PathBuf,
        labels_path: PathBuf,
        images: usize,
        labels: usize,
    },

    #[error("{}: label {label} of sample {index} is out of range (0..{limit})", path.display())]
    LabelOutOfRange {
        path: PathBuf,
        index: usize,
        label: i64,
        limit: usize,
    },

    #[error("{}: no images found{detail}", path.display())]
    NoImages { path: PathBuf, detail: String },

    #[error("{}: {reason}", path.display())]
    UnsupportedFormat { path: PathBuf, reason: String },

    #[error("{}: not a valid checkpoint: {reason}", path.display())]
    BadCheckpoint { path: PathBuf, reason: String },

    #[error("{}: checkpoint does not fit its config: {}", path.display(), problems.join("; "))]
    CheckpointMismatch {
        path: PathBuf,
        problems: Vec<String>,
    },

    #[error(
        "{model_name} expects images of {model}, but the dataset {dataset_name} has images of {dataset}"
    )]
    ShapeMismatch {
        /// The model's file, or "the new model".
        model_name: String,
        model: String,
        dataset: String,
        /// The dataset's name and where it came from.
        dataset_name: String,
    },

    #[error("{what} would need {needed} of memory, more than the budget of {available}; {advice}")]
    OverBudget {
        what: String,
        needed: String,
        available: String,
        advice: String,
    },

    /// A conditional model asked to encode or decode without a class it can use: one line
    /// naming the model and the dataset or the missing class.
    #[error("{0}")]
    Conditional(String),

    #[error("invalid model config: {0}")]
    InvalidConfig(String),

    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    #[error(
        "training diverged: the loss became {value} at epoch {epoch}, step {step}; the weights of the last good step were kept (try a lower learning rate or beta)"
    )]
    NonFiniteLoss {
        epoch: usize,
        step: usize,
        value: f32,
    },

    /// A load stopped on request (its [`crate::data::LoadProgress`] was cancelled); nothing of
    /// it is kept.
    #[error("{}: reading was cancelled", path.display())]
    Cancelled { path: PathBuf },

    #[error("{}: could not write image: {reason}", path.display())]
    ImageWrite { path: PathBuf, reason: String },

    #[error("tensor computation failed: {0}")]
    Candle(#[from] candle_core::Error),
}

impl Error {
    /// An I/O error on `path`: [`Error::NotFound`] when it is not there, else [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        if source.kind() == std::io::ErrorKind::NotFound {
            Error::NotFound { path }
        } else {
            Error::Io { path, source }
        }
    }
}
