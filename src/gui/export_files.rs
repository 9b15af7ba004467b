//! Where exports land: one remembered folder, a suggested file name per item that names the
//! dataset and the model (`mnist-latent2-map.png`), and a fresh name (`-1`, `-2`, ...) rather
//! than ever replacing a file that is there. Every file is written whole or not at all.

use crate::atomic::{is_already_exists, write_all_atomically, write_new_atomically};
use std::path::{Path, PathBuf};

/// The folder exports go to until the user picks one: Pictures, else home, else the current
/// folder.
pub fn default_folder() -> PathBuf {
    dirs::picture_dir()
        .filter(|p| p.is_dir())
        .or_else(|| dirs::home_dir().filter(|p| p.is_dir()))
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."))
}

/// A piece of a file name: lower case letters and digits, any other run of characters one '-'.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    out.chars().take(48).collect::<String>()
}

/// The start of every suggested name: the dataset, then the model ("mnist-latent2"); a model
/// named after its dataset is not named twice.
pub fn name_prefix(dataset: Option<&str>, model: Option<&str>) -> String {
    let d = dataset.map(slug).filter(|s| !s.is_empty());
    let m = model.map(slug).filter(|s| !s.is_empty());
    match (d, m) {
        (Some(d), Some(m)) if m.starts_with(&d) => m,
        (Some(d), Some(m)) => format!("{d}-{m}"),
        (Some(x), None) | (None, Some(x)) => x,
        (None, None) => "latent-explorer".into(),
    }
}

/// Where an export goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// A path the user chose in a save dialog (which asked before replacing a file).
    Chosen(PathBuf),
    /// The suggested name in the export folder; written under the first name not taken.
    InFolder { folder: PathBuf, name: String },
}

impl Destination {
    /// The path the files would be written to if the name is free (for the format's choice).
    pub fn wanted_path(&self) -> PathBuf {
        match self {
            Destination::Chosen(p) => p.clone(),
            Destination::InFolder { folder, name } => folder.join(name),
        }
    }
}

/// A path typed by hand with "~/" standing for the home folder.
pub fn expand_home(typed: &Path) -> PathBuf {
    match (typed.strip_prefix("~"), dirs::home_dir()) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => typed.to_path_buf(),
    }
}

/// The program's working folder is wherever it happened to be started (a repository, the
/// desktop's home, `/`), so a relative path typed for writing is never taken against it.
fn relative_refusal(path: &Path, what: &str) -> String {
    format!(
        "{what} {} is not a full path, so it is not clear where it would go: type one that starts at the root (/…) or at your home folder (~/…)",
        path.display()
    )
}

/// Where a path typed for an export is written: a full path (or "~/…") as typed; a relative
/// one ("7", "maps/a.png") inside the export folder, as a name typed into a save dialog
/// would be. Refused when the export folder itself is not a full path.
pub fn typed_export_path(typed: &Path, folder: &Path) -> Result<PathBuf, String> {
    let typed = expand_home(typed);
    if typed.is_absolute() {
        return Ok(typed);
    }
    let folder = expand_home(folder);
    if folder.is_absolute() {
        Ok(folder.join(typed))
    } else {
        Err(relative_refusal(&folder, "the export folder"))
    }
}

/// A path typed for a file that is not an export (a model, a session, a sweep's folder): a
/// full path (or "~/…"), else refused naming it; there is no folder it could be meant to be in.
pub fn typed_full_path(typed: &Path, what: &str) -> Result<PathBuf, String> {
    let expanded = expand_home(typed);
    if expanded.is_absolute() {
        Ok(expanded)
    } else {
        Err(relative_refusal(typed, what))
    }
}

/// How many numbered names are tried before giving up.
const MOST_NUMBERS: usize = 10_000;

/// Writes `files` (the first is the main file, the others sit beside it named after it, e.g.
/// `codes.labels.npy` beside `codes.npy`) to `dest`, and returns the main file's path.
///
/// In the export folder nothing is replaced: the first number whose files are all free is
/// taken, and each file is moved in with an atomic "rename unless taken". A folder that is
/// missing or cannot be written to is refused naming it, with nothing left behind.
pub fn write_export(dest: &Destination, files: Vec<(PathBuf, Vec<u8>)>) -> Result<PathBuf, String> {
    let Some((main, _)) = files.first() else {
        return Err("there was nothing to write".into());
    };
    match dest {
        Destination::Chosen(path) => {
            // All written in full before any is renamed into place: a failure leaves none.
            write_all_atomically(&files).map_err(|e| e.to_string())?;
            Ok(path.clone())
        }
        Destination::InFolder { folder, name } => {
            check_folder(folder)?;
            // What each file adds to the main file's stem ("" + ".npy", ".labels.npy").
            let main_stem = stem(main);
            let endings: Vec<String> = files
                .iter()
                .map(|(p, _)| {
                    let file = p.file_name().unwrap_or_default().to_string_lossy();
                    file.strip_prefix(main_stem.as_str())
                        .unwrap_or(file.as_ref())
                        .to_string()
                })
                .collect();
            let name_stem = stem(Path::new(name));
            for n in 0..MOST_NUMBERS {
                let base = match n {
                    0 => name_stem.clone(),
                    n => format!("{name_stem}-{n}"),
                };
                let paths: Vec<PathBuf> = endings
                    .iter()
                    .map(|e| folder.join(format!("{base}{e}")))
                    .collect();
                if paths.iter().any(|p| p.exists()) {
                    continue;
                }
                match write_all_new(&paths, &files) {
                    Ok(()) => return Ok(paths[0].clone()),
                    // Taken a moment ago by someone else: try the next number.
                    Err(e) if is_already_exists(&e) => continue,
                    Err(e) => return Err(folder_error(folder, &e)),
                }
            }
            Err(format!(
                "the export folder {} already holds {MOST_NUMBERS} files named {name} and its numbered variants; choose another folder",
                folder.display()
            ))
        }
    }
}

/// The file name without its last extension.
fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Writes each file under its new path, companions first; a failure removes what this call
/// wrote so no half set is left.
fn write_all_new(paths: &[PathBuf], files: &[(PathBuf, Vec<u8>)]) -> crate::Result<()> {
    let mut written = Vec::new();
    for (path, (_, bytes)) in paths.iter().zip(files).rev() {
        if let Err(e) = write_new_atomically(path, bytes) {
            for p in written {
                let _ = std::fs::remove_file(p);
            }
            return Err(e);
        }
        written.push(path.clone());
    }
    Ok(())
}

/// The folder must be a full path, exist and be a folder (it is not created: a typo would
/// scatter files).
pub fn check_folder(folder: &Path) -> Result<(), String> {
    if folder.as_os_str().is_empty() {
        return Err("no export folder is set: type one or press Choose… in the Export tab".into());
    }
    if !folder.is_absolute() {
        return Err(relative_refusal(folder, "the export folder"));
    }
    match std::fs::metadata(folder) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(format!(
            "the export folder {} is a file, not a folder: choose another in the Export tab",
            folder.display()
        )),
        Err(_) => Err(format!(
            "the export folder {} does not exist: create it or choose another in the Export tab",
            folder.display()
        )),
    }
}

fn folder_error(folder: &Path, error: &crate::Error) -> String {
    let reason = match error {
        crate::Error::Io { source, .. } => source.to_string(),
        other => other.to_string(),
    };
    format!(
        "could not write into the export folder {} ({reason}): choose another in the Export tab",
        folder.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_name_the_dataset_and_the_model_once() {
        assert_eq!(slug("Fashion MNIST (train)"), "fashion-mnist-train");
        assert_eq!(
            name_prefix(Some("MNIST"), Some("mnist-latent16")),
            "mnist-latent16"
        );
        assert_eq!(
            name_prefix(Some("Fashion-MNIST"), Some("my model")),
            "fashion-mnist-my-model"
        );
        assert_eq!(name_prefix(None, None), "latent-explorer");
    }

    #[test]
    fn the_folder_keeps_every_file_and_companions_move_with_the_number() {
        let dir = tempfile::tempdir().unwrap();
        let dest = Destination::InFolder {
            folder: dir.path().into(),
            name: "m-codes.npy".into(),
        };
        let files = |tag: u8| {
            vec![
                (dir.path().join("m-codes.npy"), vec![tag]),
                (dir.path().join("m-codes.labels.npy"), vec![tag, tag]),
            ]
        };
        let first = write_export(&dest, files(1)).unwrap();
        let second = write_export(&dest, files(2)).unwrap();
        assert_eq!(first, dir.path().join("m-codes.npy"));
        assert_eq!(second, dir.path().join("m-codes-1.npy"));
        assert_eq!(std::fs::read(&first).unwrap(), [1]);
        assert_eq!(std::fs::read(&second).unwrap(), [2]);
        assert_eq!(
            std::fs::read(dir.path().join("m-codes-1.labels.npy")).unwrap(),
            [2, 2]
        );
        // A lone labels file also takes the name.
        std::fs::write(dir.path().join("m-codes-2.labels.npy"), b"x").unwrap();
        let third = write_export(&dest, files(3)).unwrap();
        assert_eq!(third, dir.path().join("m-codes-3.npy"));
    }

    #[test]
    fn a_typed_relative_path_goes_into_the_export_folder_never_the_working_one() {
        let folder = Path::new("/data/exports");
        assert_eq!(
            typed_export_path(Path::new("7"), folder).unwrap(),
            folder.join("7")
        );
        assert_eq!(
            typed_export_path(Path::new("maps/a.png"), folder).unwrap(),
            folder.join("maps/a.png")
        );
        assert_eq!(
            typed_export_path(Path::new("/tmp/x"), folder).unwrap(),
            Path::new("/tmp/x")
        );
        if let Some(home) = dirs::home_dir() {
            assert_eq!(
                typed_export_path(Path::new("~/a.png"), folder).unwrap(),
                home.join("a.png")
            );
        }
        let e = typed_export_path(Path::new("7"), Path::new("exports")).unwrap_err();
        assert!(
            e.contains("exports") && e.contains("not a full path"),
            "{e}"
        );
        let e = typed_full_path(Path::new("1e9"), "the model file").unwrap_err();
        assert!(e.contains("the model file 1e9 is not a full path"), "{e}");
        assert!(typed_full_path(Path::new("/m.safetensors"), "the model file").is_ok());
        let e = check_folder(Path::new("é")).unwrap_err();
        assert!(e.contains("not a full path"), "{e}");
    }

    #[test]
    fn a_new_file_never_replaces_one_that_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("taken.png");
        std::fs::write(&p, b"old").unwrap();
        let e = write_new_atomically(&p, b"new").unwrap_err();
        assert!(is_already_exists(&e), "{e}");
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        // The temp file went away with the refusal.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_missing_folder_is_named_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("not-here");
        let dest = Destination::InFolder {
            folder: gone.clone(),
            name: "x.png".into(),
        };
        let e = write_export(&dest, vec![(gone.join("x.png"), vec![1])]).unwrap_err();
        assert!(
            e.contains(&gone.display().to_string()) && e.contains("does not exist"),
            "{e}"
        );
        assert!(!gone.exists());
    }
}
