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
    ExportTo(ExportKind, PathBuf),
    NewModel,
    StartTraining,
    PauseTraining,
    ResumeTraining,
    StopTraining,
    Select(usize),
    SetProbe(Vec<f32>),
    ResetProbeToSelection,
    SampleProbe,
    AddAnchor(usize),
    ClearAnchors,
    RebuildStrip,
    RerollGrid,
    RebuildGrid,
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
    /// Panel sizes back to their defaults.
    ResetLayout,
    /// Open the model kept by the recovery file of an earlier, unsaved run.
    RestoreRecovered,
    /// Delete that recovery file.
    DiscardRecovered,
}
