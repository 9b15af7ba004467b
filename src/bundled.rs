//! The bundled dataset and models, embedded in this binary so that one installed with
//! `cargo install --path .` and run from any folder still has them. When no source tree holds
//! the files (see `latent_explorer::assets::in_source_tree`), they are written once, atomically,
//! into a per-user folder and opened from there:
//!
//! - `$LATENT_EXPLORER_DATA_DIR/bundled` when that is set (for tests),
//! - else `$XDG_DATA_HOME/latent-explorer/bundled`, else
//!   `~/.local/share/latent-explorer/bundled` (macOS: `~/Library/Application Support/...`,
//!   Windows: `%LOCALAPPDATA%\latent-explorer\bundled`).
//!
//! A file already there with the same contents is left alone; one that differs (another
//! version's, or damaged) is replaced. Only this binary carries the 15 MB: the library and the
//! test binaries do not.

use latent_explorer::assets::{self, BundledPaths};
use latent_explorer::atomic::write_atomically;
use latent_explorer::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Overrides the per-user data folder (the bundled files go to `<it>/bundled`).
pub const DATA_DIR_ENV: &str = "LATENT_EXPLORER_DATA_DIR";

/// A file compiled into the binary, with its path relative to the source tree.
struct Embedded {
    relative: &'static str,
    bytes: &'static [u8],
}

macro_rules! embed {
    ($relative:literal) => {
        Embedded {
            relative: $relative,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $relative)),
        }
    };
}

/// `assets::DATASET`'s files.
const DATASET_FILES: [Embedded; 4] = [
    embed!("assets/mnist/train-images-idx3-ubyte.gz"),
    embed!("assets/mnist/train-labels-idx1-ubyte.gz"),
    embed!("assets/mnist/t10k-images-idx3-ubyte.gz"),
    embed!("assets/mnist/t10k-labels-idx1-ubyte.gz"),
];

/// `assets::MODEL` and `assets::MODEL_LATENT16`.
const MODEL_FILES: [Embedded; 2] = [
    embed!("models/mnist-latent2.safetensors"),
    embed!("models/mnist-latent16.safetensors"),
];

/// The bundled MNIST folder.
pub fn dataset() -> Result<PathBuf> {
    resolve(assets::DATASET, &DATASET_FILES)
}

/// The bundled latent-2 model (the latent-16 one is written beside it).
pub fn model() -> Result<PathBuf> {
    resolve(assets::MODEL, &MODEL_FILES)
}

/// The bundled latent-16 model (written with the latent-2 one).
pub fn model_latent16() -> Result<PathBuf> {
    if let Some(path) = assets::in_source_tree(assets::MODEL_LATENT16) {
        return Ok(path);
    }
    model()?;
    Ok(bundled_dir()?.join(assets::MODEL_LATENT16))
}

/// Both, for the window.
pub fn paths() -> Result<BundledPaths> {
    Ok(BundledPaths {
        dataset: dataset()?,
        model: model()?,
    })
}

/// The source tree's copy if there is one, else the per-user copy (written if needed).
fn resolve(relative: &str, files: &[Embedded]) -> Result<PathBuf> {
    if let Some(path) = assets::in_source_tree(relative) {
        return Ok(path);
    }
    let root = bundled_dir()?;
    for file in files {
        let path = root.join(file.relative);
        if !holds(&path, file.bytes) {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            }
            write_atomically(&path, file.bytes)?;
        }
    }
    Ok(root.join(relative))
}

/// Whether the file at `path` has exactly these contents.
fn holds(path: &Path, bytes: &[u8]) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() == bytes.len() as u64)
        && std::fs::read(path).is_ok_and(|b| b == bytes)
}

/// Where the bundled files are written.
fn bundled_dir() -> Result<PathBuf> {
    data_dir().map(|d| d.join("bundled")).ok_or_else(|| {
        Error::InvalidArgument(format!(
            "no source tree holds the bundled files and there is no per-user data folder to \
             write them to (set HOME, XDG_DATA_HOME or {DATA_DIR_ENV})"
        ))
    })
}

/// The per-user data folder, `.../latent-explorer`.
fn data_dir() -> Option<PathBuf> {
    // XDG and the like: relative values are to be ignored.
    let var = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let base = if cfg!(windows) {
        var("LOCALAPPDATA")?
    } else if cfg!(target_os = "macos") {
        var("HOME")?.join("Library/Application Support")
    } else {
        var("XDG_DATA_HOME").or_else(|| Some(var("HOME")?.join(".local/share")))?
    };
    Some(base.join("latent-explorer"))
}
