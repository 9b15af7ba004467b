//! Files written whole or not at all.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` through a temp file in the same folder and a rename, so readers
/// see either the old file or the complete new one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_whole(path, bytes, false)
}

/// [`write_atomically`] that never replaces an existing file: when `path` exists (even if it
/// appeared a moment ago) nothing is written and the error's kind is `AlreadyExists`
/// ([`is_already_exists`]).
pub fn write_new_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_whole(path, bytes, true)
}

/// Whether `error` says the file was already there ([`write_new_atomically`]).
pub fn is_already_exists(error: &Error) -> bool {
    matches!(error, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists)
}

/// Writes several files that belong together (codes and their labels): every one is written in
/// full to a temp file first, and only then are they renamed into place, so a failure part way
/// (a full disk, a folder that refuses) leaves none of the new files behind.
pub fn write_all_atomically(files: &[(std::path::PathBuf, Vec<u8>)]) -> Result<()> {
    // Dropped on an early return, each temp file deletes itself.
    let staged = files
        .iter()
        .map(|(path, bytes)| stage(path, bytes))
        .collect::<Result<Vec<_>>>()?;
    for ((path, _), (tmp, dir)) in files.iter().zip(staged) {
        tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
        sync_dir(&dir);
    }
    Ok(())
}

fn write_whole(path: &Path, bytes: &[u8], keep_existing: bool) -> Result<()> {
    let (tmp, dir) = stage(path, bytes)?;
    if keep_existing {
        // An atomic "rename unless the name is taken" (the temp file goes away on failure).
        tmp.persist_noclobber(path)
            .map_err(|e| Error::io(path, e.error))?;
    } else {
        tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    }
    // Make the rename itself durable: sync the folder that holds the new name.
    sync_dir(&dir);
    Ok(())
}

/// `bytes` in a synced temp file beside `path`, with `path`'s permissions, and the folder.
fn stage(path: &Path, bytes: &[u8]) -> Result<(tempfile::NamedTempFile, std::path::PathBuf)> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    // A replaced file keeps its permissions; a new one gets the usual 0666 less the umask
    // (tempfile alone would leave every output private, 0600).
    let existing = std::fs::metadata(path).ok().map(|m| m.permissions());
    let mut builder = tempfile::Builder::new();
    builder.prefix(".latent-explorer-").suffix(".tmp");
    if let Some(p) = existing.clone().or_else(new_file_permissions) {
        builder.permissions(p);
    }
    let mut tmp = builder.tempfile_in(&dir).map_err(|e| Error::io(&dir, e))?;
    // The builder's mode is narrowed by the umask, as for any new file; an existing file's
    // exact mode is restored here.
    if let Some(p) = existing {
        tmp.as_file()
            .set_permissions(p)
            .map_err(|e| Error::io(path, e))?;
    }
    tmp.write_all(bytes).map_err(|e| Error::io(path, e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    Ok((tmp, dir))
}

#[cfg(unix)]
fn sync_dir(dir: &Path) {
    // A failure here (some file systems refuse to sync folders) does not undo the write.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) {}

#[cfg(unix)]
fn new_file_permissions() -> Option<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Some(std::fs::Permissions::from_mode(0o666))
}

#[cfg(not(unix))]
fn new_file_permissions() -> Option<std::fs::Permissions> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_that_cannot_be_written_whole_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let codes = dir.path().join("codes.npy");
        let labels = dir.path().join("missing-folder").join("codes.labels.npy");
        let files = vec![
            (codes.clone(), b"means".to_vec()),
            (labels, b"labels".to_vec()),
        ];
        assert!(write_all_atomically(&files).is_err());
        // Neither the first file nor any temp file is left in the folder.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{left:?}");

        let labels = dir.path().join("codes.labels.npy");
        let files = vec![
            (codes.clone(), b"means".to_vec()),
            (labels.clone(), b"l".to_vec()),
        ];
        write_all_atomically(&files).unwrap();
        assert_eq!(std::fs::read(&codes).unwrap(), b"means");
        assert_eq!(std::fs::read(&labels).unwrap(), b"l");
    }
}
