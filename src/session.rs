//! Sessions: an exploration saved to a JSON file (`*.lxsession.json`) and opened again later.
//! The format is documented in `docs/sessions.md`. This module is the headless part: the
//! records, reading and writing (atomically), the content hashes of the dataset and model
//! files, and the report of which of them moved, changed or went missing. The window captures
//! its state into a [`SessionState`] and applies one; nothing here knows about the window.

use crate::atomic::write_atomically;
use crate::latent::layout::LayoutParams;
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The `format` field every session file carries.
pub const FORMAT: &str = "latent-explorer-session";
/// The newest format version this program reads and the one it writes.
pub const VERSION: u32 = 1;
/// What a session file's name ends with.
pub const EXTENSION: &str = ".lxsession.json";

/// A session file that cannot be read or written: shown as `<path>: <reason>`, one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct SessionError {
    pub path: PathBuf,
    pub reason: String,
}

impl SessionError {
    fn new(path: &Path, reason: impl Into<String>) -> Self {
        Self {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}

/// Whether `path` is named like a session file (`*.lxsession.json`, or `*.lxsession`).
pub fn is_session_path(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    name.ends_with(EXTENSION) || name.ends_with(".lxsession")
}

/// A session's name for the window's title: the file name without `.json`.
pub fn display_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.strip_suffix(".json") {
        Some(stem) if !stem.is_empty() => stem.to_string(),
        _ => name,
    }
}

/// A dataset or model file (or a dataset folder) as the session saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    /// Where it was, absolute.
    pub path: PathBuf,
    /// Where it was relative to the session file's folder (found there when the session and
    /// its files moved together); absent when there is no relative way (another drive).
    #[serde(default)]
    pub relative: Option<PathBuf>,
    /// "xxh3-128:" and 32 hex digits: see [`content_hash`].
    pub hash: String,
    /// Its size in bytes (all files of a folder together).
    pub bytes: u64,
}

/// How the map lays the codes out, and the parameters of each layout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectionKind {
    #[default]
    Pca,
    Axes,
    Tsne,
    Umap,
    Semantic,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProjectionSpec {
    pub kind: ProjectionKind,
    /// The latent axes of `axes`.
    pub axis_x: usize,
    pub axis_y: usize,
    /// t-SNE perplexity, UMAP neighbours and minimum distance, seed.
    pub layout: LayoutParams,
    /// `semantic`: the attribute vector (index into the session's `attributes`).
    pub semantic_attribute: Option<usize>,
}

impl Default for ProjectionSpec {
    fn default() -> Self {
        Self {
            kind: ProjectionKind::Pca,
            axis_x: 0,
            axis_y: 1,
            layout: LayoutParams::default(),
            semantic_attribute: None,
        }
    }
}

/// What colours the map's points.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ColourBy {
    #[default]
    Label,
    AnomalyScore,
    ReconstructionError,
    Kl,
    NegativeElbo,
    PosteriorSigma,
    /// The code's value in one latent dimension.
    LatentDim {
        dim: usize,
    },
}

/// A named latent direction (an attribute vector, e.g. "7 minus 1").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NamedVector {
    pub name: String,
    pub vector: Vec<f32>,
}

/// The Analogy tab's choices.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnalogySettings {
    /// The vector goes to class `plus` from class `minus` (class numbers)...
    pub plus: u16,
    pub minus: u16,
    /// ...or to and from a group (its position in `groups`) when these are set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plus_group: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minus_group: Option<usize>,
    pub rows: usize,
    pub steps: usize,
    pub reach: f32,
    pub both_ways: bool,
}

impl Default for AnalogySettings {
    fn default() -> Self {
        Self {
            plus: 7,
            minus: 1,
            plus_group: None,
            minus_group: None,
            rows: 6,
            steps: 7,
            reach: 1.5,
            both_ways: false,
        }
    }
}

/// The map's visible rectangle in map units: x from `x_min` to `x_max`, y likewise.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ViewBounds {
    pub x_min: f64,
    pub y_min: f64,
    pub x_max: f64,
    pub y_max: f64,
}

impl ViewBounds {
    /// From `[x_min, y_min, x_max, y_max]`.
    pub fn from_array(b: [f64; 4]) -> Self {
        Self {
            x_min: b[0],
            y_min: b[1],
            x_max: b[2],
            y_max: b[3],
        }
    }

    pub fn to_array(self) -> [f64; 4] {
        [self.x_min, self.y_min, self.x_max, self.y_max]
    }

    /// Finite, with some width and height.
    pub fn is_valid(&self) -> bool {
        self.to_array().iter().all(|v| v.is_finite())
            && self.x_max > self.x_min
            && self.y_max > self.y_min
    }
}

/// A named view: where the map looked, laid out how.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bookmark {
    pub name: String,
    pub view: ViewBounds,
    pub projection: ProjectionSpec,
}

/// A named group of samples: the window's own groups, saved as they are (name, colour,
/// dataset indices, visible).
pub type SessionGroup = crate::latent::Group;

/// Everything of an exploration besides the files: what the window restores.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionState {
    pub projection: ProjectionSpec,
    /// None: fit every point (the window's start).
    pub view: Option<ViewBounds>,
    /// The selected sample (a dataset index).
    pub selection: Option<usize>,
    /// Interpolation anchors A, B, C... (dataset indices).
    pub anchors: Vec<usize>,
    /// The code the sliders show (the probe), of the model's latent size.
    pub probe: Option<Vec<f32>>,
    pub colour_by: ColourBy,
    /// The model's attribute vectors.
    pub attributes: Vec<NamedVector>,
    pub analogy: AnalogySettings,
    pub bookmarks: Vec<Bookmark>,
    pub groups: Vec<SessionGroup>,
}

/// A whole session file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Always [`FORMAT`].
    pub format: String,
    /// The format version it was written in (at most [`VERSION`] to be read).
    pub version: u32,
    #[serde(default)]
    pub dataset: Option<FileRef>,
    #[serde(default)]
    pub model: Option<FileRef>,
    #[serde(default)]
    pub state: SessionState,
}

impl Session {
    /// A session of these files (hashed now, which reads them whole) and this state.
    /// `session_path` is where it will be written (for the paths relative to it).
    pub fn capture(
        session_path: &Path,
        dataset: Option<&Path>,
        model: Option<&Path>,
        state: SessionState,
    ) -> Result<Self, SessionError> {
        let folder = absolute(session_path)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let file_ref = |p: &Path| -> Result<FileRef, SessionError> {
            let path = absolute(p);
            let (hash, bytes) = content_hash(&path)?;
            Ok(FileRef {
                relative: relative_to(&path, &folder),
                path,
                hash,
                bytes,
            })
        };
        Ok(Self {
            format: FORMAT.into(),
            version: VERSION,
            dataset: dataset.map(file_ref).transpose()?,
            model: model.map(file_ref).transpose()?,
            state,
        })
    }

    /// Reads and checks a session file (its format and version; not its files: see
    /// [`Session::check_files`]).
    pub fn read(path: &Path) -> Result<Self, SessionError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            SessionError::new(
                path,
                match e.kind() {
                    std::io::ErrorKind::NotFound => "no such file".to_string(),
                    std::io::ErrorKind::InvalidData => "not a text file".to_string(),
                    _ => e.to_string(),
                },
            )
        })?;
        Self::parse(&text).map_err(|reason| SessionError::new(path, reason))
    }

    /// A session from its JSON text; the error says what is wrong, in one line.
    pub fn parse(text: &str) -> Result<Self, String> {
        // The format and version first: a newer file or another program's JSON gets a
        // message about that rather than about a field it lacks.
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not a valid session file: {e}"))?;
        let format = value.get("format").and_then(|f| f.as_str());
        if format != Some(FORMAT) {
            return Err(format!(
                "not a Latent Explorer session (its \"format\" field should be \"{FORMAT}\")"
            ));
        }
        match value.get("version").and_then(|v| v.as_u64()) {
            Some(v) if v >= 1 && v <= VERSION as u64 => {}
            Some(v) => {
                return Err(format!(
                    "session format version {v}, but this Latent Explorer reads versions 1 to {VERSION} (a newer version wrote it?)"
                ));
            }
            None => return Err("its \"version\" field is missing or not a number".into()),
        }
        serde_json::from_value(value).map_err(|e| format!("not a valid session file: {e}"))
    }

    /// Writes the session as pretty JSON, whole or not at all.
    pub fn write(&self, path: &Path) -> Result<(), SessionError> {
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|e| SessionError::new(path, format!("could not encode the session: {e}")))?;
        text.push('\n');
        write_atomically(path, text.as_bytes()).map_err(|e| SessionError::new(path, e.to_string()))
    }

    /// Where the dataset and model are now (where they were, else beside the session), by
    /// their names alone: nothing is read (see [`Session::check_files`] for their contents).
    pub fn locate_files(&self, session_path: &Path) -> (Option<PathBuf>, Option<PathBuf>) {
        let folder = absolute(session_path)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let locate = |f: &FileRef| {
            if f.path.exists() {
                return Some(f.path.clone());
            }
            let beside = folder.join(f.relative.as_ref()?);
            beside.exists().then(|| absolute(&beside))
        };
        (
            self.dataset.as_ref().and_then(locate),
            self.model.as_ref().and_then(locate),
        )
    }

    /// Where the dataset and model are now, and how they differ from when the session was
    /// saved. Reads (hashes) every file found.
    pub fn check_files(&self, session_path: &Path) -> FilesReport {
        let folder = absolute(session_path)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        FilesReport {
            dataset: self
                .dataset
                .as_ref()
                .map(|f| check_file("dataset", f, &folder)),
            model: self.model.as_ref().map(|f| check_file("model", f, &folder)),
        }
    }
}

/// What became of one of a session's files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileStatus {
    /// Where it was, with the same contents.
    Same,
    /// Where it was, with other contents.
    Changed { bytes_now: u64 },
    /// Not where it was, but beside the session where it was relative to it.
    Moved { changed: bool },
    /// Neither where it was nor beside the session.
    Missing,
    /// There, but it could not be read.
    Unreadable(String),
}

/// One of a session's files checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileCheck {
    /// "dataset" or "model".
    pub what: &'static str,
    pub recorded: FileRef,
    /// Where it is now (the path to open), if found.
    pub found: Option<PathBuf>,
    pub status: FileStatus,
}

impl FileCheck {
    /// Whether the file can be opened (found, perhaps changed or moved).
    pub fn usable(&self) -> bool {
        self.found.is_some()
    }

    /// What differs, in one line naming the file; None when nothing does.
    pub fn problem(&self) -> Option<String> {
        let (what, was) = (self.what, self.recorded.path.display());
        match &self.status {
            FileStatus::Same => None,
            FileStatus::Changed { bytes_now } => Some(format!(
                "the session's {what} {was} has changed since it was saved (different contents: {} bytes then, {bytes_now} now)",
                self.recorded.bytes
            )),
            FileStatus::Moved { changed } => {
                let now = self
                    .found
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                Some(if *changed {
                    format!(
                        "the session's {what} {was} has moved to {now} (beside the session) and its contents differ from when it was saved"
                    )
                } else {
                    format!(
                        "the session's {what} {was} has moved to {now} (beside the session); same contents, opened from there"
                    )
                })
            }
            FileStatus::Missing => Some(match &self.recorded.relative {
                Some(rel) => format!(
                    "the session's {what} {was} is missing (nor is it at {} beside the session)",
                    rel.display()
                ),
                None => format!("the session's {what} {was} is missing"),
            }),
            FileStatus::Unreadable(e) => {
                Some(format!("the session's {what} {was} cannot be read: {e}"))
            }
        }
    }
}

/// Both files checked (None: the session names no such file).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilesReport {
    pub dataset: Option<FileCheck>,
    pub model: Option<FileCheck>,
}

impl FilesReport {
    /// Every difference, one line each.
    pub fn problems(&self) -> Vec<String> {
        [&self.dataset, &self.model]
            .into_iter()
            .flatten()
            .filter_map(FileCheck::problem)
            .collect()
    }
}

fn check_file(what: &'static str, recorded: &FileRef, folder: &Path) -> FileCheck {
    let check = |found: Option<PathBuf>, status| FileCheck {
        what,
        recorded: recorded.clone(),
        found,
        status,
    };
    let at = |path: &Path| -> Option<Result<(String, u64), SessionError>> {
        path.exists().then(|| content_hash(path))
    };
    match at(&recorded.path) {
        Some(Ok((hash, bytes))) => {
            let status = if hash == recorded.hash {
                FileStatus::Same
            } else {
                FileStatus::Changed { bytes_now: bytes }
            };
            return check(Some(recorded.path.clone()), status);
        }
        Some(Err(e)) => return check(None, FileStatus::Unreadable(e.reason)),
        None => {}
    }
    let beside = recorded.relative.as_ref().map(|r| folder.join(r));
    match beside.as_deref().and_then(|p| at(p).map(|h| (p, h))) {
        Some((p, Ok((hash, _)))) => check(
            Some(absolute(p)),
            FileStatus::Moved {
                changed: hash != recorded.hash,
            },
        ),
        Some((_, Err(e))) => check(None, FileStatus::Unreadable(e.reason)),
        None => check(None, FileStatus::Missing),
    }
}

/// The content hash of a file, or of a folder (every file under it, in name order, each with
/// its path relative to the folder and its length, so renames and moves between files count
/// as changes): XXH3-128 from the `xxhash-rust` crate, written "xxh3-128:<32 hex digits>",
/// with the number of bytes read.
pub fn content_hash(path: &Path) -> Result<(String, u64), SessionError> {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut total = 0u64;
    let meta = std::fs::metadata(path).map_err(|e| SessionError::new(path, e.to_string()))?;
    if meta.is_dir() {
        for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
            let entry = entry.map_err(|e| SessionError::new(path, e.to_string()))?;
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = entry.path().strip_prefix(path).unwrap_or(entry.path());
            let name = rel.to_string_lossy();
            hasher.update(&(name.len() as u64).to_le_bytes());
            hasher.update(name.as_bytes());
            let len = std::fs::metadata(entry.path())
                .map_err(|e| SessionError::new(entry.path(), e.to_string()))?
                .len();
            hasher.update(&len.to_le_bytes());
            total += hash_file(entry.path(), &mut hasher)?;
        }
    } else {
        total = hash_file(path, &mut hasher)?;
    }
    Ok((format!("xxh3-128:{:032x}", hasher.digest128()), total))
}

fn hash_file(path: &Path, hasher: &mut xxhash_rust::xxh3::Xxh3) -> Result<u64, SessionError> {
    let mut file = std::fs::File::open(path).map_err(|e| SessionError::new(path, e.to_string()))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| SessionError::new(path, e.to_string()))?;
        if n == 0 {
            return Ok(total);
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
}

/// The path made absolute (symbolic links resolved where it exists).
fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| {
        // A file not written yet: its folder resolved, its name kept.
        match (path.parent(), path.file_name()) {
            (Some(dir), Some(name)) if !dir.as_os_str().is_empty() => std::fs::canonicalize(dir)
                .map(|d| d.join(name))
                .unwrap_or_else(|_| path.to_path_buf()),
            _ => std::env::current_dir()
                .map(|d| d.join(path))
                .unwrap_or_else(|_| path.to_path_buf()),
        }
    })
}

/// `path` relative to `base` (both absolute), with `..` where needed.
fn relative_to(path: &Path, base: &Path) -> Option<PathBuf> {
    use std::path::Component;
    let (p, b): (Vec<Component>, Vec<Component>) =
        (path.components().collect(), base.components().collect());
    // Another root (a Windows drive) has no relative path.
    if p.first() != b.first() {
        return None;
    }
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut rel = PathBuf::new();
    for _ in common..b.len() {
        rel.push("..");
    }
    for c in &p[common..] {
        rel.push(c.as_os_str());
    }
    Some(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> SessionState {
        SessionState {
            projection: ProjectionSpec {
                kind: ProjectionKind::Axes,
                axis_x: 3,
                axis_y: 5,
                ..Default::default()
            },
            view: Some(ViewBounds::from_array([-1.0, -2.0, 3.0, 4.0])),
            selection: Some(12),
            anchors: vec![1, 2, 3],
            probe: Some(vec![0.5, -0.25]),
            colour_by: ColourBy::LatentDim { dim: 1 },
            attributes: vec![NamedVector {
                name: "7 minus 1".into(),
                vector: vec![1.0, 2.0],
            }],
            analogy: AnalogySettings::default(),
            bookmarks: vec![Bookmark {
                name: "the sevens".into(),
                view: ViewBounds::from_array([0.0, 0.0, 1.0, 1.0]),
                projection: ProjectionSpec::default(),
            }],
            groups: vec![SessionGroup {
                name: "loops".into(),
                colour: [200, 10, 10],
                indices: vec![4, 5],
                visible: true,
            }],
        }
    }

    #[test]
    fn a_session_round_trips_through_its_file_and_finds_its_files_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        std::fs::write(data.join("a.npy"), b"images").unwrap();
        std::fs::write(data.join("b.npy"), b"labels").unwrap();
        let model = dir.path().join("m.safetensors");
        std::fs::write(&model, b"weights").unwrap();
        let path = dir.path().join("work").join("x.lxsession.json");
        std::fs::create_dir(path.parent().unwrap()).unwrap();
        let s = Session::capture(&path, Some(&data), Some(&model), state()).unwrap();
        assert_eq!(s.dataset.as_ref().unwrap().bytes, 12);
        assert_eq!(
            s.model.as_ref().unwrap().relative,
            Some(PathBuf::from("../m.safetensors"))
        );
        s.write(&path).unwrap();
        let back = Session::read(&path).unwrap();
        assert_eq!(back, s);
        let report = back.check_files(&path);
        assert!(report.problems().is_empty(), "{:?}", report.problems());
        assert_eq!(report.model.unwrap().found, Some(absolute(&model)));
    }

    #[test]
    fn changed_moved_and_missing_files_are_each_named() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("project");
        std::fs::create_dir(&root).unwrap();
        let data = root.join("d.csv");
        let model = root.join("m.safetensors");
        std::fs::write(&data, b"1,2,3").unwrap();
        std::fs::write(&model, b"weights").unwrap();
        let path = root.join("s.lxsession.json");
        let s = Session::capture(&path, Some(&data), Some(&model), state()).unwrap();
        s.write(&path).unwrap();
        // The model changes in place (same size, other bytes): named as changed.
        std::fs::write(&model, b"WEIGHTS").unwrap();
        let problems = Session::read(&path).unwrap().check_files(&path).problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("m.safetensors") && problems[0].contains("changed"));
        // The folder moves with the session in it: both found beside it, the model changed.
        let moved = dir.path().join("elsewhere");
        std::fs::rename(&root, &moved).unwrap();
        let path = moved.join("s.lxsession.json");
        let report = Session::read(&path).unwrap().check_files(&path);
        let d = report.dataset.as_ref().unwrap();
        assert_eq!(d.status, FileStatus::Moved { changed: false });
        assert_eq!(d.found, Some(absolute(&moved.join("d.csv"))));
        assert_eq!(
            report.model.as_ref().unwrap().status,
            FileStatus::Moved { changed: true }
        );
        // The dataset goes: missing, named, the model still usable.
        std::fs::remove_file(moved.join("d.csv")).unwrap();
        let report = Session::read(&path).unwrap().check_files(&path);
        let d = report.dataset.as_ref().unwrap();
        assert_eq!(d.status, FileStatus::Missing);
        assert!(!d.usable());
        assert!(d.problem().unwrap().contains("d.csv"));
        assert!(report.model.unwrap().usable());
    }

    #[test]
    fn bad_files_get_one_line_naming_the_file_and_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.lxsession.json");
        for (text, reason) in [
            ("{ not json", "not a valid session file"),
            ("[1, 2]", "not a Latent Explorer session"),
            (
                r#"{"format": "latent-explorer-session", "version": 99}"#,
                "version 99",
            ),
            (
                r#"{"format": "latent-explorer-session", "version": 1, "state": {"selection": "x"}}"#,
                "not a valid session file",
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            let e = Session::read(&path).unwrap_err().to_string();
            assert!(e.starts_with(&path.display().to_string()), "{e}");
            assert!(e.contains(reason), "{e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
        let e = Session::read(&dir.path().join("none.lxsession.json")).unwrap_err();
        assert_eq!(e.reason, "no such file");
    }

    #[test]
    fn a_minimal_file_reads_with_defaults_and_groups_default_to_none() {
        let s = Session::parse(r#"{"format": "latent-explorer-session", "version": 1}"#).unwrap();
        assert_eq!(s.state, SessionState::default());
        assert!(s.state.groups.is_empty() && s.dataset.is_none());
    }

    #[test]
    fn the_documented_example_is_a_session_this_program_reads() {
        let doc = include_str!("../docs/sessions.md");
        let start = doc.find("```json").expect("an example") + "```json".len();
        let end = start + doc[start..].find("```").expect("its end");
        let s = Session::parse(&doc[start..end]).unwrap();
        assert_eq!(s.state.projection.kind, ProjectionKind::Axes);
        assert_eq!(s.state.colour_by, ColourBy::LatentDim { dim: 2 });
        assert_eq!(s.state.bookmarks[0].name, "the fours");
        assert_eq!(s.state.groups[0].indices, vec![4, 5]);
        assert_eq!(s.model.unwrap().bytes, 2593400);
    }

    #[test]
    fn folder_hashes_see_contents_and_names() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), b"xy").unwrap();
        std::fs::write(dir.path().join("b"), b"z").unwrap();
        let (h1, n) = content_hash(dir.path()).unwrap();
        assert_eq!(n, 3);
        assert!(h1.starts_with("xxh3-128:") && h1.len() == 9 + 32);
        std::fs::rename(dir.path().join("b"), dir.path().join("c")).unwrap();
        let (h2, _) = content_hash(dir.path()).unwrap();
        assert_ne!(h1, h2, "a renamed file is a change");
        assert_eq!(
            relative_to(Path::new("/a/b/c"), Path::new("/a/d")),
            Some(PathBuf::from("../b/c"))
        );
        assert!(is_session_path(Path::new("x/Digits.LXSESSION.json")));
        assert!(!is_session_path(Path::new("x/digits.json")));
        assert_eq!(
            display_name(Path::new("/x/digits.lxsession.json")),
            "digits.lxsession"
        );
    }
}
