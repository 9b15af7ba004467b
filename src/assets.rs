//! Where the bundled dataset and models are.

use std::path::PathBuf;

/// A bundled file: relative to the current folder if it is there, else in the source tree.
pub fn bundled_path(relative: &str) -> PathBuf {
    let here = PathBuf::from(relative);
    if here.exists() {
        return here;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}
