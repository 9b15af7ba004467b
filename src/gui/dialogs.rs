//! File dialogs behind a small trait, run off the UI thread.
//!
//! rfd's dialogs block the calling thread (and can hang on a broken desktop portal, where a
//! failure looks like a cancel), so the window asks for a path on a short-lived named thread
//! and receives it as an event. Tests hand the app a [`FileDialogs`] that answers with temp paths.

use super::worker::Event;
use std::path::PathBuf;
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
}

/// Things the window can export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExportKind {
    Preview,
    Strip,
    Grid,
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
}

impl ExportKind {
    /// What it is, in words for messages.
    pub fn human_name(self) -> &'static str {
        match self {
            ExportKind::Preview => "the preview",
            ExportKind::Strip => "the interpolation strip",
            ExportKind::Grid => "the generated grid",
            ExportKind::Map => "the latent map",
            ExportKind::Codes => "the latent codes (CSV)",
            ExportKind::CodesNumpy => "the latent codes (NumPy)",
            ExportKind::Traversal => "the traversal grid",
            ExportKind::TraversalGif => "the traversal animation",
            ExportKind::Analogy => "the analogy grid",
        }
    }

    pub fn default_file_name(self) -> &'static str {
        match self {
            ExportKind::Preview => "preview.png",
            ExportKind::Strip => "interpolation.png",
            ExportKind::Grid => "samples.png",
            ExportKind::Map => "latent-map.png",
            ExportKind::Codes => "codes.csv",
            ExportKind::CodesNumpy => "codes.npy",
            ExportKind::Traversal => "traversal.png",
            ExportKind::TraversalGif => "traversal.gif",
            ExportKind::Analogy => "analogy.png",
        }
    }
}

/// Asks the user for paths. Implementations may block: they are called off the UI thread.
pub trait FileDialogs: Send + Sync {
    /// A path for `purpose`, or None when cancelled.
    fn pick(&self, purpose: DialogPurpose) -> Option<PathBuf>;
}

/// The desktop's dialogs, through rfd.
pub struct NativeDialogs;

impl FileDialogs for NativeDialogs {
    fn pick(&self, purpose: DialogPurpose) -> Option<PathBuf> {
        let dialog = rfd::FileDialog::new();
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
                let (name, exts): (&str, &[&str]) = match kind {
                    ExportKind::Codes => ("CSV", &["csv"]),
                    ExportKind::CodesNumpy => ("NumPy", &["npy", "npz"]),
                    ExportKind::TraversalGif => ("GIF", &["gif"]),
                    _ => ("PNG", &["png"]),
                };
                dialog
                    .set_title("Export")
                    .add_filter(name, exts)
                    .set_file_name(kind.default_file_name())
                    .save_file()
            }
        }
    }
}

/// A dialog that answers "cancelled" sooner than this was never shown.
const NO_DIALOG_WITHIN: std::time::Duration = std::time::Duration::from_millis(150);

/// Shows a dialog on its own thread; the answer arrives as [`Event::DialogClosed`].
pub fn spawn_dialog(
    dialogs: Arc<dyn FileDialogs>,
    purpose: DialogPurpose,
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
                let path = dialogs.pick(purpose);
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
