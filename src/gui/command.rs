//! What a panel may ask for. Panels push commands while they are laid out; only the app applies
//! them, after the frame, checking every sample index and code against the current dataset and
//! model first (a panel may show something a moment older than the workspace).

use super::dialogs::{DialogPurpose, ExportKind};
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Dialog(DialogPurpose),
    OpenDataset(PathBuf),
    OpenModel(PathBuf),
    SaveModelTo(PathBuf),
    /// Write to exactly this path (a save dialog's answer).
    ExportTo(ExportKind, PathBuf),
    /// Write to the export folder under the suggested name (a free variant of it).
    Export(ExportKind),
    /// Show a folder in the desktop's file manager.
    OpenFolder(PathBuf),
    NewModel,
    StartTraining,
    PauseTraining,
    ResumeTraining,
    StopTraining,
    Select(usize),
    /// "Go to" a sample typed by number: selected if it exists, else a message says why not.
    GoTo(usize),
    /// Write one picture (a sample, or a code decoded) as PNG into the export folder.
    ExportPicture(super::panels::picture::Picture),
    /// Show a message (e.g. what a typed entry could not be).
    Notify(String),
    SetProbe(Vec<f32>),
    ResetProbeToSelection,
    SampleProbe,
    AddAnchor(usize),
    ClearAnchors,
    RebuildStrip,
    RerollGrid,
    RebuildGrid,
    /// Fit a mixture, cluster, or find holes, on the map's codes (on the jobs thread).
    AnalyseCodes(super::codes_analysis::CodesRequest),
    ReprojectMap,
    /// Stop the t-SNE / UMAP run in progress (the map goes back to PCA).
    CancelLayout,
    /// Decode the grid behind the map for this view (x0, y0, x1, y1).
    DecodeManifold([f64; 4]),
    /// Make an attribute vector: the mean code of class `plus` minus that of class `minus`.
    MakeAttribute {
        plus: u16,
        minus: u16,
    },
    /// Add `amount` times attribute `k` to the probe.
    ApplyAttribute {
        k: usize,
        amount: f32,
    },
    RemoveAttribute(usize),
    /// Show a past frame of the training timeline on the map (None: the live codes).
    ShowTimeline(Option<usize>),
    /// Hide part of the selected sample and fill it in.
    FillIn,
    DismissNotice(usize),
    /// Estimate the held-out likelihood: `k` draws per sample, on at most `samples` held-out
    /// samples (0: all).
    EstimateLikelihood {
        k: usize,
        samples: usize,
    },
    CancelLikelihood,
    /// Panel sizes back to their defaults.
    ResetLayout,
    /// Open the model kept by the recovery file of an earlier, unsaved run.
    RestoreRecovered,
    /// Delete that recovery file.
    DiscardRecovered,
    /// Save or open a session, or a bookmark of the view.
    Session(super::panels::session::SessionCommand),
}
