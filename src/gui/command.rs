//! What a panel may ask for. Panels push commands while they are laid out; only the app applies
//! them, after the frame, checking every sample index and code against the current dataset and
//! model first (a panel may show something a moment older than the workspace).

use super::dialogs::{DialogPurpose, ExportKind};
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Dialog(DialogPurpose),
    OpenDataset(PathBuf),
    /// Stop the dataset loads in progress (the open dataset and model stay).
    CancelDatasetLoad,
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
    /// Draw the probe (and generated codes) as this class: conditional models only.
    SetClass(u16),
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
    /// The samples a lasso or rectangle took, combined with the multi-selection by `mode`.
    SelectMany {
        indices: Vec<u32>,
        mode: crate::latent::SelectMode,
    },
    ClearMultiSelection,
    /// Make a named group of samples.
    MakeGroup(GroupSource),
    /// Change group `k` (its position in the list).
    EditGroup(usize, GroupEdit),
    /// Open the model kept by the recovery file of an earlier, unsaved run.
    RestoreRecovered,
    /// Delete that recovery file.
    DiscardRecovered,
    /// Train a rate-distortion sweep (on the sweep thread), saving each model in its folder.
    StartSweep(super::sweep::SweepRequest),
    /// Stop the sweep after the current step (the models saved stay).
    CancelSweep,
    /// Show the sweep an earlier run (the window's or `latent-explorer sweep`) left in a folder.
    OpenSweep(PathBuf),
    /// Show this model's map beside the main one (encoded on its own thread).
    CompareModel(PathBuf),
    /// Close the comparison.
    CloseCompare,
    /// Save or open a session, or a bookmark of the view.
    Session(super::panels::session::SessionCommand),
    /// Carry out a command that replaces an unsaved, trained model: the user said to discard it.
    Replace(Box<Command>),
}

/// Where a new group's samples come from.
#[derive(Clone, Debug, PartialEq)]
pub enum GroupSource {
    /// The multi-selection (a lasso or rectangle on the map).
    Selection,
    /// Every sample on the map with this label.
    Label(u16),
    /// The map's samples scoring above the anomaly threshold.
    AnomalyThreshold,
}

/// What can be done to a group.
#[derive(Clone, Debug, PartialEq)]
pub enum GroupEdit {
    Rename(String),
    Recolour([u8; 3]),
    Show(bool),
    Delete,
    /// Move the probe to the members' mean code (the decoder shows it).
    DecodeMean,
    /// Write it to the export folder: CSV, NumPy or a PNG grid of its images.
    Export(super::dialogs::ExportKind),
    /// Its members become the multi-selection.
    Select,
}
