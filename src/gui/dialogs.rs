//! File dialogs behind a small trait, run off the UI thread.
//!
//! rfd's dialogs block the calling thread (and can hang on a broken desktop portal, where a
//! failure looks like a cancel), so the window asks for a path on a short-lived named thread
//! and receives it as an event. Tests hand the app a [`FileDialogs`] that answers with temp paths.

use super::worker::Event;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::Sender;

/// What a dialog is for; comes back with the chosen path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DialogPurpose {
    OpenDatasetFile,
    OpenDatasetFolder,
    OpenModel,
    SaveModel,
    Export(ExportKind),
    /// The folder plain "Export" writes to.
    ExportFolder,
    OpenSession,
    SaveSession,
}

/// Things the window can export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExportKind {
    Preview,
    Strip,
    Grid,
    /// The map as a figure: axes, legend, title.
    Map,
    Codes,
    /// The codes as numpy: .npy (with labels beside it) or .npz, by the chosen extension.
    CodesNumpy,
    /// The traversal grid with its labels, as PNG.
    Traversal,
    /// The traversal swept row by row, as an animated GIF.
    TraversalGif,
    /// The analogy grid with its labels, as PNG.
    Analogy,
    /// One picture (a sample, a generated image, a strip frame), from its right-click menu.
    Picture,
    /// A group's indices, labels and codes as CSV, from the Groups tab.
    GroupCsv,
    /// ...as NumPy (.npy with labels and indices beside it).
    GroupNumpy,
    /// ...its members' images as a PNG grid.
    GroupPng,
}

impl ExportKind {
    pub const ALL: [ExportKind; 6] = [
        ExportKind::Preview,
        ExportKind::Strip,
        ExportKind::Grid,
        ExportKind::Map,
        ExportKind::Codes,
        ExportKind::CodesNumpy,
    ];

    /// What it is, in words for messages ("exported the latent map figure to ...").
    pub fn human_name(self) -> &'static str {
        match self {
            ExportKind::Preview => "the preview",
            ExportKind::Strip => "the interpolation strip",
            ExportKind::Grid => "the generated grid",
            ExportKind::Map => "the latent map figure",
            ExportKind::Codes => "the latent codes as CSV",
            ExportKind::CodesNumpy => "the latent codes as NumPy",
            ExportKind::Traversal => "the traversal grid",
            ExportKind::TraversalGif => "the traversal animation",
            ExportKind::Analogy => "the analogy grid",
            ExportKind::Picture => "the picture",
            ExportKind::GroupCsv => "the group as CSV",
            ExportKind::GroupNumpy => "the group as NumPy",
            ExportKind::GroupPng => "the group's images",
        }
    }

    /// Its row in the Export tab.
    pub fn title(self) -> &'static str {
        match self {
            ExportKind::Preview => "Preview (PNG)",
            ExportKind::Strip => "Interpolation strip (PNG)",
            ExportKind::Grid => "Generated grid (PNG)",
            ExportKind::Map => "Latent map figure (PNG)",
            ExportKind::Codes => "Latent codes (CSV)",
            ExportKind::CodesNumpy => "Latent codes (NumPy .npy)",
            ExportKind::Traversal => "Traversal grid (PNG)",
            ExportKind::TraversalGif => "Traversal animation (GIF)",
            ExportKind::Analogy => "Analogy grid (PNG)",
            ExportKind::Picture => "Picture (PNG)",
            ExportKind::GroupCsv => "Group (CSV)",
            ExportKind::GroupNumpy => "Group (NumPy .npy)",
            ExportKind::GroupPng => "Group images (PNG)",
        }
    }

    /// The end of its suggested file name, after the dataset and model.
    pub fn name_suffix(self) -> &'static str {
        match self {
            ExportKind::Preview => "preview.png",
            ExportKind::Strip => "strip.png",
            ExportKind::Grid => "samples.png",
            ExportKind::Map => "map.png",
            ExportKind::Codes => "codes.csv",
            ExportKind::CodesNumpy => "codes.npy",
            ExportKind::Traversal => "traversal.png",
            ExportKind::TraversalGif => "traversal.gif",
            ExportKind::Analogy => "analogy.png",
            ExportKind::Picture => "picture.png",
            ExportKind::GroupCsv => "group.csv",
            ExportKind::GroupNumpy => "group.npy",
            ExportKind::GroupPng => "group.png",
        }
    }

    /// The save dialog's filter: format name and extensions.
    fn filter(self) -> (&'static str, &'static [&'static str]) {
        match self {
            ExportKind::Codes | ExportKind::GroupCsv => ("CSV", &["csv"]),
            ExportKind::CodesNumpy | ExportKind::GroupNumpy => ("NumPy", &["npy", "npz"]),
            ExportKind::TraversalGif => ("GIF", &["gif"]),
            _ => ("PNG", &["png"]),
        }
    }
}

/// Where a dialog opens and the name it suggests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DialogStart {
    pub folder: Option<PathBuf>,
    pub file_name: Option<String>,
}

/// Asks the user for paths. Implementations may block: they are called off the UI thread.
pub trait FileDialogs: Send + Sync {
    /// A path for `purpose`, or None when cancelled.
    fn pick(&self, purpose: DialogPurpose) -> Option<PathBuf>;

    /// [`Self::pick`], opening in `start.folder` with `start.file_name` suggested (dialogs
    /// that cannot do so ignore it).
    fn pick_from(&self, purpose: DialogPurpose, start: &DialogStart) -> Option<PathBuf> {
        let _ = start;
        self.pick(purpose)
    }

    /// Shows `folder` in the desktop's file manager without waiting for it. Without a desktop
    /// (tests) there is none to show it in.
    fn show_folder(&self, folder: &Path) -> Result<(), String> {
        let _ = folder;
        Err("there is no file manager here".into())
    }
}

/// The desktop's dialogs, through rfd.
pub struct NativeDialogs;

impl FileDialogs for NativeDialogs {
    fn pick(&self, purpose: DialogPurpose) -> Option<PathBuf> {
        self.pick_from(purpose, &DialogStart::default())
    }

    fn show_folder(&self, folder: &Path) -> Result<(), String> {
        // Started and left to run (xdg-open, open or explorer).
        open::that_detached(folder).map_err(|e| e.to_string())
    }

    fn pick_from(&self, purpose: DialogPurpose, start: &DialogStart) -> Option<PathBuf> {
        let mut dialog = rfd::FileDialog::new();
        if let Some(folder) = start.folder.as_ref().filter(|f| f.is_dir()) {
            dialog = dialog.set_directory(folder);
        }
        match purpose {
            DialogPurpose::OpenDatasetFile => {
                // No extension filter: rfd's filters are "*.ext" patterns, which would hide
                // MNIST's extension-less IDX files; files are recognised by content anyway.
                dialog
                    .set_title("Open dataset (IDX, .npy / .npz or CSV file)")
                    .pick_file()
            }
            DialogPurpose::OpenDatasetFolder => dialog
                .set_title("Open dataset folder (IDX files or images in class folders)")
                .pick_folder(),
            DialogPurpose::OpenModel => dialog
                .set_title("Open model")
                .add_filter("safetensors", &["safetensors"])
                .pick_file(),
            DialogPurpose::SaveModel => dialog
                .set_title("Save model as")
                .add_filter("safetensors", &["safetensors"])
                .set_file_name("model.safetensors")
                .save_file(),
            DialogPurpose::Export(kind) => {
                let (name, exts) = kind.filter();
                let file_name = start
                    .file_name
                    .clone()
                    .unwrap_or_else(|| kind.name_suffix().to_string());
                dialog
                    .set_title(format!("Export {}", kind.human_name()))
                    .add_filter(name, exts)
                    .set_file_name(file_name)
                    .save_file()
            }
            DialogPurpose::ExportFolder => dialog.set_title("Export folder").pick_folder(),
            DialogPurpose::OpenSession => dialog
                .set_title("Open session")
                .add_filter("Latent Explorer session", &["json", "lxsession"])
                .pick_file(),
            DialogPurpose::SaveSession => dialog
                .set_title("Save session as")
                .add_filter("Latent Explorer session", &["json"])
                .set_file_name(
                    start
                        .file_name
                        .clone()
                        .unwrap_or_else(|| format!("session{}", crate::session::EXTENSION)),
                )
                .save_file(),
        }
    }
}

/// A dialog that answers "cancelled" sooner than this was never shown.
const NO_DIALOG_WITHIN: std::time::Duration = std::time::Duration::from_millis(150);

/// Shows a dialog on its own thread; the answer arrives as [`Event::DialogClosed`].
pub fn spawn_dialog(
    dialogs: Arc<dyn FileDialogs>,
    purpose: DialogPurpose,
    start: DialogStart,
    events: Sender<Event>,
    ctx: egui::Context,
) {
    let spawned = std::thread::Builder::new()
        .name("file-dialog".into())
        .spawn({
            let events = events.clone();
            let ctx = ctx.clone();
            move || {
                let shown = std::time::Instant::now();
                let path = dialogs.pick_from(purpose, &start);
                // rfd reports a missing desktop portal as a cancel; nobody cancels that fast.
                let event = if path.is_none() && shown.elapsed() < NO_DIALOG_WITHIN {
                    Event::DialogUnavailable(purpose)
                } else {
                    Event::DialogClosed { purpose, path }
                };
                let _ = events.send(event);
                ctx.request_repaint();
            }
        });
    if let Err(e) = spawned {
        let _ = events.send(Event::Failed {
            job: super::worker::JobKind::Dialog,
            error: format!("could not open a file dialog: {e}"),
        });
        ctx.request_repaint();
    }
}
