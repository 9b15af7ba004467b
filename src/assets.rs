//! The files that come with the program: MNIST (`assets/mnist`) and two trained models
//! (`models/`). The library looks for them in a source tree only: the working directory (a
//! clone) or the tree this crate was built from. The `latent-explorer` binary also carries
//! them embedded and writes them to a per-user folder when no source tree has them (an
//! installed binary); it passes the paths it resolved to the library ([`BundledPaths`], the
//! window's `AppOptions`), so the library itself never carries the 15 MB.

use std::path::PathBuf;

/// The bundled MNIST folder, relative to a source tree.
pub const DATASET: &str = "assets/mnist";
/// The bundled latent-2 model (the default everywhere), relative to a source tree.
pub const MODEL: &str = "models/mnist-latent2.safetensors";
/// The bundled latent-16 model, relative to a source tree.
pub const MODEL_LATENT16: &str = "models/mnist-latent16.safetensors";

/// Set (to anything) to make [`in_source_tree`] find nothing, as for a binary installed with
/// `cargo install` whose source tree is gone. For tests.
pub const IGNORE_SOURCE_TREE_ENV: &str = "LATENT_EXPLORER_IGNORE_SOURCE_TREE";

/// A bundled file or folder in a source tree: under the working directory when run from a
/// clone, else in the tree this crate was built from. `None` when neither has it, or when
/// [`IGNORE_SOURCE_TREE_ENV`] is set.
pub fn in_source_tree(relative: &str) -> Option<PathBuf> {
    if std::env::var_os(IGNORE_SOURCE_TREE_ENV).is_some() {
        return None;
    }
    let here = PathBuf::from(relative);
    if here.exists() {
        return Some(here);
    }
    let built_from = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative);
    built_from.exists().then_some(built_from)
}

/// [`in_source_tree`], or where there is none, the path the file would have in the tree this
/// crate was built from (so that opening it fails naming that path).
pub fn source_tree_path(relative: &str) -> PathBuf {
    in_source_tree(relative)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative))
}

/// Where the bundled dataset and default model are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundledPaths {
    /// The MNIST folder.
    pub dataset: PathBuf,
    /// The latent-2 model.
    pub model: PathBuf,
}

impl BundledPaths {
    /// The source tree's files ([`source_tree_path`]).
    pub fn from_source_tree() -> Self {
        Self {
            dataset: source_tree_path(DATASET),
            model: source_tree_path(MODEL),
        }
    }
}

impl Default for BundledPaths {
    fn default() -> Self {
        Self::from_source_tree()
    }
}
