//! `latent-explorer open [PATH...]` (or paths right after the program's name): the window on
//! the given dataset and/or model, so that a shell and a file manager's "Open with" both work.
//! A `.safetensors` file is a model, a `.lxsession.json` file a session (alone: it names its
//! own dataset and model), anything else a dataset; at most one of each. Paths are checked
//! before the window opens: a missing one is refused with `error: <path>: <reason>`, and so is
//! a session file that cannot be read.

use latent_explorer::model::is_checkpoint_path;
use latent_explorer::session::{Session, is_session_path};
use std::path::{Path, PathBuf};

/// What to open.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenTargets {
    pub dataset: Option<PathBuf>,
    pub model: Option<PathBuf>,
    pub session: Option<PathBuf>,
}

/// A path `open` refuses, and why; shown as `<path>: <reason>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub path: PathBuf,
    pub reason: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

/// Sorts the paths into a dataset and a model by name alone (no file is read).
pub fn classify(paths: &[PathBuf]) -> Result<OpenTargets, Refused> {
    let mut targets = OpenTargets::default();
    for path in paths {
        let (slot, what) = if is_session_path(path) {
            (&mut targets.session, "session")
        } else if is_checkpoint_path(path) {
            (&mut targets.model, "model")
        } else {
            (&mut targets.dataset, "dataset")
        };
        if let Some(first) = slot {
            return Err(Refused {
                path: path.clone(),
                reason: format!(
                    "only one {what} can be opened, and {} is one already",
                    first.display()
                ),
            });
        }
        *slot = Some(path.clone());
    }
    if let Some(session) = &targets.session
        && targets.dataset.is_some() | targets.model.is_some()
    {
        return Err(Refused {
            path: session.clone(),
            reason: "a session names its own dataset and model: open it alone".into(),
        });
    }
    Ok(targets)
}

/// Why a path that is not there is refused.
pub const NOT_FOUND: &str = "no such file or folder";

/// Refuses the first path that is not there (or cannot be read), then [`classify`].
pub fn targets(paths: &[PathBuf]) -> Result<OpenTargets, Refused> {
    for path in paths {
        check_exists(path)?;
    }
    let targets = classify(paths)?;
    if let Some(path) = &targets.session {
        // A malformed session is refused here, before any window opens.
        Session::read(path).map_err(|e| Refused {
            path: e.path,
            reason: e.reason,
        })?;
    }
    Ok(targets)
}

fn check_exists(path: &Path) -> Result<(), Refused> {
    let refuse = |reason: String| Refused {
        path: path.to_path_buf(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| {
        refuse(match e.kind() {
            std::io::ErrorKind::NotFound => NOT_FOUND.to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => e.to_string(),
        })
    })?;
    if is_checkpoint_path(path) && meta.is_dir() {
        return Err(refuse(
            "a model is a .safetensors file, not a folder".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(p: &[&str]) -> Vec<PathBuf> {
        p.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn safetensors_files_are_models_and_anything_else_a_dataset() {
        assert_eq!(classify(&[]).unwrap(), OpenTargets::default());
        let t = classify(&paths(&["data/mnist", "m.SafeTensors"])).unwrap();
        assert_eq!(t.dataset, Some(PathBuf::from("data/mnist")));
        assert_eq!(t.model, Some(PathBuf::from("m.SafeTensors")));
        // Order does not matter; any other extension (or none) is a dataset.
        let t = classify(&paths(&["a.safetensors", "x.npz"])).unwrap();
        assert_eq!(t.dataset, Some(PathBuf::from("x.npz")));
        assert_eq!(t.model, Some(PathBuf::from("a.safetensors")));
        let t = classify(&paths(&["digits.csv"])).unwrap();
        assert_eq!(t.dataset, Some(PathBuf::from("digits.csv")));
        assert_eq!(t.model, None);
        let t = classify(&paths(&["work/digits.lxsession.json"])).unwrap();
        assert_eq!(t.session, Some(PathBuf::from("work/digits.lxsession.json")));
        assert_eq!((t.dataset, t.model), (None, None));
        let e = classify(&paths(&["a.lxsession.json", "m.safetensors"])).unwrap_err();
        assert!(e.reason.contains("open it alone"), "{e}");
    }

    #[test]
    fn two_of_a_kind_are_refused_naming_the_second() {
        let e = classify(&paths(&["a.safetensors", "b.safetensors"])).unwrap_err();
        assert_eq!(e.path, PathBuf::from("b.safetensors"));
        assert!(e.reason.contains("only one model"), "{e}");
        assert!(e.reason.contains("a.safetensors"), "{e}");
        let e = classify(&paths(&["one", "m.safetensors", "two"])).unwrap_err();
        assert_eq!(e.to_string().split(':').next(), Some("two"));
        assert!(e.reason.contains("only one dataset"), "{e}");
    }

    #[test]
    fn missing_paths_are_refused_before_anything_opens() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data.npy");
        std::fs::write(&data, b"x").unwrap();
        let missing = dir.path().join("gone.safetensors");
        let e = targets(&[data.clone(), missing.clone()]).unwrap_err();
        assert_eq!(e.path, missing);
        assert_eq!(e.reason, NOT_FOUND);
        // A missing path is named before two of a kind are.
        let e = targets(&[data.clone(), data.clone(), missing.clone()]).unwrap_err();
        assert_eq!(e.path, missing);
        let t = targets(std::slice::from_ref(&data)).unwrap();
        assert_eq!(t.dataset, Some(data));
        // A folder named like a model is not one.
        let folder = dir.path().join("m.safetensors");
        std::fs::create_dir(&folder).unwrap();
        assert!(
            targets(&[folder])
                .unwrap_err()
                .reason
                .contains("not a folder")
        );
    }
}
