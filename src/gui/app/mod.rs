//! The explorer window: runtime state, the event loop with the background threads, and the
//! commands panels issue. `logic()` drains events with a time budget; `ui()` lays out the
//! panels, which return commands applied at the end of the frame.

mod analysis;
mod commands;
mod events;
mod headless;

use crate::data::Dataset;
use crate::gui::dialogs::{DialogPurpose, ExportKind, FileDialogs, NativeDialogs, spawn_dialog};
use crate::gui::map_view::MapState;
use crate::gui::panels;
use crate::gui::state::{Projection, Settings};
use crate::gui::textures::ImageView;
use crate::gui::worker::{
    DecodePurpose, Event, EventSender, ExportContents, Job, JobsWorker, TrainerHandle,
};
use crate::latent::{interpolate_path, sample_prior};
use crate::model::{Architecture, Likelihood, Model, VaeConfig};
use crate::train::{EpochStats, RunInfo, StepStats, TrainEvent};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// How long `logic()` may spend draining events per frame.
const EVENT_BUDGET: Duration = Duration::from_millis(4);
/// The most points the map shows: all of MNIST (train and test) and more. The points are drawn
/// as one raster and picked through a grid, so the frame cost barely depends on this.
pub const MAP_POINTS: usize = 200_000;

/// Where the app starts and which dialogs it uses (tests pass their own).
pub struct AppOptions {
    pub dialogs: Arc<dyn FileDialogs>,
    /// Dataset to open instead of the remembered or bundled one.
    pub dataset: Option<PathBuf>,
    /// Model to open instead of the remembered or bundled one.
    pub model: Option<PathBuf>,
    /// Read settings saved by an earlier run.
    pub restore_settings: bool,
    /// Show at most this many samples on the map (benchmarks use it to measure how the cost
    /// grows); default MAP_POINTS.
    pub map_points: Option<usize>,
    /// The bundled dataset and model, opened when nothing else is (the binary passes where it
    /// found or wrote them; the default looks in the source tree).
    pub bundled: crate::assets::BundledPaths,
}

impl Default for AppOptions {
    fn default() -> Self {
        Self {
            dialogs: Arc::new(NativeDialogs),
            dataset: None,
            model: None,
            restore_settings: true,
            map_points: None,
            bundled: crate::assets::BundledPaths::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum NoticeKind {
    Info,
    Error,
}

#[derive(Clone, Debug)]
pub struct Notice {
    pub kind: NoticeKind,
    pub text: String,
    pub at: Instant,
}

/// Training progress as the window shows it.
#[derive(Default)]
pub struct TrainingView {
    pub info: Option<RunInfo>,
    pub last_step: Option<StepStats>,
    /// (global step, loss, recon, kl) per step.
    pub steps: Vec<[f64; 4]>,
    pub epochs: Vec<(usize, EpochStats)>,
    pub paused: bool,
    pub started_at: Option<Instant>,
}

impl TrainingView {
    /// Seconds left, from the run's throughput so far.
    pub fn eta_secs(&self) -> Option<f64> {
        let info = self.info.as_ref()?;
        let s = self.last_step.as_ref()?;
        let total = (info.epochs * info.steps_per_epoch) as f64;
        let done = s.global_step as f64;
        let elapsed = self.started_at?.elapsed().as_secs_f64();
        (done > 0.0).then(|| elapsed / done * (total - done).max(0.0))
    }
}

/// The interpolation being built.
#[derive(Default)]
pub struct Interpolation {
    pub anchors: Vec<usize>,
    /// The codes of the frames, row by row.
    pub frames: Vec<Vec<f32>>,
    pub strip: ImageView,
    pub generation: u64,
}

/// Anomaly scores of the map's samples and the most anomalous ones as thumbnails.
/// What the map's score bands were computed from: (scores version, score kind).
pub type BandsKey = (u64, crate::analysis::AnomalyScore);

#[derive(Default)]
pub struct Anomalies {
    pub scores: Option<crate::analysis::AnomalyScores>,
    /// Bumped whenever `scores` is replaced (the map's score colours are cached on it).
    pub scores_version: u64,
    /// Each map point's score band, computed once per (scores_version, score kind).
    pub bands: Option<(BandsKey, Arc<Vec<u8>>)>,
    /// The map generation the scores belong to (0: none asked for yet).
    pub generation: u64,
    pub pending: bool,
    /// Dataset indices of the top samples, most anomalous first.
    pub top: Vec<usize>,
    pub thumbnails: ImageView,
    pub requested_at: Option<Instant>,
}

/// While training, scores are refreshed at most this often (scoring competes for the cores).
const RESCORE_WHILE_TRAINING: Duration = Duration::from_secs(3);

/// Tiles per side of the decoded grid behind the map.
pub const MANIFOLD_TILES: usize = 16;

/// How many samples of the selection's posterior are decoded.
pub const SPREAD_SAMPLES: usize = 8;

/// How many nearest samples the decoder panel shows.
pub const NEIGHBOURS: usize = 8;

/// How many of the most anomalous samples the panel shows.
pub const TOP_ANOMALIES: usize = 24;

/// A filled-in sample: original, masked and completed, the error on the hidden pixels, and
/// the path of its code on the map.
#[derive(Default)]
pub struct FilledIn {
    pub sample: Option<usize>,
    pub images: ImageView,
    /// Mean absolute error on the hidden pixels: (completion, the mean image).
    pub errors: Option<(f32, f32)>,
    pub path: Vec<Vec<f32>>,
}

/// The map as training left it at one moment: the replayable history of a run.
pub struct TimelineFrame {
    pub step: usize,
    pub epoch: usize,
    pub latent: usize,
    /// The map points' posterior means, [points, latent] (the replay draws means only).
    pub mean: Vec<f32>,
}

/// The most frames a run keeps; past it every other frame is dropped, so a long run keeps an
/// even sample of its history in bounded memory.
pub const TIMELINE_FRAMES: usize = 60;
/// ...and at most this many code values in all (128 MiB): 60 frames of 70,000 2-D codes fit,
/// while 16-D codes keep 30 frames.
pub const TIMELINE_VALUES: usize = 32 << 20;

/// Samples from the prior.
#[derive(Default)]
pub struct Generated {
    pub codes: Vec<Vec<f32>>,
    pub grid: ImageView,
    pub generation: u64,
}

/// Everything loaded or computed while the window runs.
#[derive(Default)]
pub struct Session {
    pub data: Option<Arc<Dataset>>,
    pub data_path: Option<PathBuf>,
    pub model: Option<Arc<Model>>,
    pub model_path: Option<PathBuf>,
    /// Trained or created since it was last saved.
    pub model_unsaved: bool,
    pub map: MapState,
    pub selection: Option<usize>,
    pub history: Vec<usize>,
    /// The code the sliders show (and the probe on the map marks).
    pub probe: Vec<f32>,
    pub preview: ImageView,
    pub selection_images: ImageView,
    /// Reconstruction error and KL of the selected sample.
    pub selection_scores: Option<(f32, f32)>,
    /// The decoded grid behind the map, and the plot bounds it was decoded for.
    pub manifold: ImageView,
    pub manifold_bounds: Option<[f64; 4]>,
    manifold_asked: Option<[f64; 4]>,
    manifold_generation: u64,
    /// Decoded samples z ~ q(z|x) of the selection: how uncertain its code is.
    pub spread: ImageView,
    spread_generation: u64,
    /// What is under the cursor on the map.
    pub hover: ImageView,
    /// The dataset samples nearest to the probe, and their thumbnails.
    pub neighbours: Vec<usize>,
    pub neighbour_images: ImageView,
    neighbours_for: Vec<f32>,
    /// The map's screen transform in the last frame (for tests and the probe drag).
    pub map_screen: Option<egui_plot::PlotTransform>,
    /// The map's points drawn into a texture for the current view.
    pub map_raster: crate::gui::map_raster::PointRaster,
    pub interp: Interpolation,
    pub generated: Generated,
    pub anomalies: Anomalies,
    pub filled: FilledIn,
    /// The selected sample, large, to drag a rectangle on (Missing data tab).
    pub erase_canvas: ImageView,
    pub erase_sample: Option<usize>,
    pub training: TrainingView,
    pub timeline: Vec<TimelineFrame>,
    /// The frame shown on the map instead of the live codes, if replaying.
    pub timeline_shown: Option<usize>,
    /// The live codes while a past frame is shown.
    live_codes: Option<crate::model::Codes>,
    pub notices: Vec<Notice>,
    pub loading: usize,
    /// Paths typed by the user (the fallback when no file dialog can be shown).
    pub typed_dataset_path: String,
    pub typed_model_path: String,
    pub typed_save_path: String,
    pub typed_export_path: String,
    /// A dialog failed to show: the typed-path fields are shown open.
    pub dialogs_unavailable: bool,
    /// Seconds from start to the first drawn map.
    pub startup_secs: Option<f64>,
    /// The likelihood that suits the loaded dataset, and its fraction of values near 0 or 1.
    pub suggested_likelihood: Option<(crate::model::Likelihood, f64)>,
}

/// What panels ask for; applied after the frame is laid out.
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
}

pub struct ExplorerApp {
    pub settings: Settings,
    pub session: Session,
    events: EventSender,
    events_rx: Receiver<Event>,
    jobs: JobsWorker,
    trainer: Option<TrainerHandle>,
    dialogs: Arc<dyn FileDialogs>,
    started: Instant,
    /// Time spent laying out the panels this frame.
    pub ui_ms: f32,
    /// CPU time of the previous whole frame, as eframe measures it.
    pub frame_ms: f32,
    probe_rng_seed: u64,
    map_points: usize,
}

impl ExplorerApp {
    /// The app on an egui context, with or without a window: `new` under eframe, or headless
    /// (see `headless.rs`). `storage` holds settings saved by an earlier run.
    pub fn with_context(
        egui_ctx: egui::Context,
        storage: Option<&dyn eframe::Storage>,
        options: AppOptions,
    ) -> Self {
        let settings: Settings = if options.restore_settings {
            storage
                .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
                .unwrap_or_default()
        } else {
            Settings::default()
        };
        let (tx, events_rx) = channel();
        let events = EventSender::new(tx, egui_ctx);
        let mut session = Session::default();
        let jobs = match JobsWorker::spawn(events.clone()) {
            Ok(j) => j,
            Err(e) => {
                // Without the worker nothing loads; say so and keep the window usable.
                session.notices.push(Notice {
                    kind: NoticeKind::Error,
                    text: format!("could not start the background worker: {e}"),
                    at: Instant::now(),
                });
                JobsWorker::disabled()
            }
        };
        let mut app = Self {
            settings,
            session,
            events,
            events_rx,
            jobs,
            trainer: None,
            dialogs: options.dialogs,
            started: Instant::now(),
            ui_ms: 0.0,
            frame_ms: 0.0,
            probe_rng_seed: 1,
            map_points: options.map_points.unwrap_or(MAP_POINTS),
        };
        let dataset = app.startup_path(
            options.dataset,
            |s| &s.dataset_path,
            options.bundled.dataset,
            "dataset",
        );
        let model = app.startup_path(
            options.model,
            |s| &s.model_path,
            options.bundled.model,
            "model",
        );
        app.session.loading += 2;
        app.jobs.submit(Job::LoadDataset(dataset));
        app.jobs.submit(Job::LoadModel(model));
        app
    }

    /// The path to open at start: the one asked for, else the remembered one if it still
    /// exists, else the bundled default (with a note when a remembered file went missing).
    fn startup_path(
        &mut self,
        asked: Option<PathBuf>,
        remembered: impl Fn(&Settings) -> &Option<PathBuf>,
        default: PathBuf,
        what: &str,
    ) -> PathBuf {
        if let Some(p) = asked {
            return p;
        }
        match remembered(&self.settings).clone() {
            Some(p) if p.exists() => p,
            Some(p) => {
                self.info(format!(
                    "the last {what} ({}) is no longer there; opened the bundled one",
                    p.display()
                ));
                default
            }
            None => default,
        }
    }

    pub fn info(&mut self, text: impl Into<String>) {
        self.session.notices.push(Notice {
            kind: NoticeKind::Info,
            text: text.into(),
            at: Instant::now(),
        });
    }

    pub fn error(&mut self, text: impl Into<String>) {
        self.session.notices.push(Notice {
            kind: NoticeKind::Error,
            text: text.into(),
            at: Instant::now(),
        });
    }

    pub fn is_training(&self) -> bool {
        self.trainer.is_some()
    }

    /// True (and says so) when a run is training: the model and data must not change under it.
    fn refused_while_training(&mut self, action: &str) -> bool {
        if self.is_training() {
            self.error(format!("stop training before {action}"));
        }
        self.is_training()
    }

    /// True while anything the window asked for is still being loaded or computed.
    pub fn is_busy(&self) -> bool {
        self.session.loading > 0 || self.session.map.encoding
    }

    /// Indices the map shows: every sample (train and held-out), up to MAP_POINTS.
    fn map_indices(&self, data: &Dataset) -> Vec<usize> {
        (0..data.len().min(self.map_points)).collect()
    }

    /// Re-encodes the map with the current model and data.
    fn request_encode(&mut self) {
        let (Some(model), Some(data)) = (&self.session.model, &self.session.data) else {
            return;
        };
        if model.check_fits(data).is_err() {
            return;
        }
        let map = &mut self.session.map;
        map.generation += 1;
        map.encoding = true;
        self.jobs.submit(Job::Encode {
            generation: map.generation,
            model: model.clone(),
            data: data.clone(),
            indices: map.indices.clone(),
        });
    }

    fn set_dataset(&mut self, data: Arc<Dataset>, path: PathBuf, secs: f64) {
        if self.refused_while_training("opening another dataset") {
            return;
        }
        let summary = data.summary();
        self.session.map = MapState::new(Arc::new(self.map_indices(&data)));
        self.session.selection = None;
        self.session.history.clear();
        self.session.interp = Interpolation::default();
        self.session.anomalies = Anomalies::default();
        self.session.timeline.clear();
        self.session.timeline_shown = None;
        self.session.live_codes = None;
        self.session.selection_images = ImageView::default();
        self.settings.dataset_path = Some(path.clone());
        self.session.data_path = Some(path);
        self.session.suggested_likelihood = Some(crate::model::Likelihood::suggested_for(&data));
        self.session.data = Some(data.clone());
        if let Some(model) = &self.session.model
            && let Err(e) = model.check_fits(&data)
        {
            self.error(format!(
                "{e}. Create a New model for this dataset or open one that fits."
            ));
        }
        log_line(&format!("loaded {summary} in {secs:.2} s"));
        self.request_encode();
    }

    /// Replaces the model unless it does not fit the dataset (then the old one stays).
    fn set_model(&mut self, model: Arc<Model>, path: Option<PathBuf>, unsaved: bool) {
        if self.refused_while_training("changing the model") {
            return;
        }
        if let Some(data) = &self.session.data
            && let Err(e) = model.check_fits(data)
        {
            self.error(format!("model refused: {e}"));
            return;
        }
        if let Some(p) = &path {
            self.settings.model_path = Some(p.clone());
        }
        self.session.model_path = path;
        self.session.model_unsaved = unsaved;
        let latent = model.latent();
        self.session.model = Some(model);
        self.session.map.fit_view = true;
        self.session.probe = vec![0.0; latent];
        self.session.training = TrainingView::default();
        if self.settings.axis_x >= latent || self.settings.axis_y >= latent {
            self.settings.axis_x = 0;
            self.settings.axis_y = 1.min(latent - 1);
        }
        self.request_encode();
        self.after_model_change();
    }

    /// Everything decoded from the model is stale: redo the preview, strip and grid.
    fn after_model_change(&mut self) {
        self.session.preview.invalidate();
        self.session.manifold_asked = None;
        self.refresh_selection_images();
        if self.session.interp.anchors.len() >= 2 {
            self.apply(Command::RebuildStrip);
        }
        if !self.session.generated.codes.is_empty() {
            self.apply(Command::RebuildGrid);
        }
    }

    pub fn latent(&self) -> usize {
        self.session.model.as_ref().map(|m| m.latent()).unwrap_or(0)
    }

    /// The map's code for sample `i` of the dataset, if it is on the map.
    pub fn code_of(&self, i: usize) -> Option<Vec<f32>> {
        self.session.map.code_of(i)
    }

    fn refresh_selection_images(&mut self) {
        let (Some(i), Some(model), Some(data)) = (
            self.session.selection,
            self.session.model.clone(),
            self.session.data.clone(),
        ) else {
            return;
        };
        // One sample: cheap enough to do here (tens of microseconds).
        let mut values = data.image(i);
        if let Some(code) = self.code_of(i)
            && let Ok(recon) = model.decode(&code)
        {
            values.extend(recon);
        }
        self.session.selection_scores = model
            .score(&data, &[i], 0)
            .ok()
            .map(|s| (s.recon[0], s.kl[0]));
        let n = values.len() / data.shape.len();
        self.session
            .selection_images
            .set_grid(values, data.shape, n);
        // Eight draws from q(z|x), decoded on the worker.
        if let Some(k) = self.session.map.position_of(i)
            && let Some(codes) = &self.session.map.codes
        {
            let l = codes.latent;
            let (mean, logvar) = (codes.mean_of(k), &codes.logvar[k * l..(k + 1) * l]);
            let noise = sample_prior(SPREAD_SAMPLES, l, 1.0, i as u64);
            let z: Vec<f32> = noise
                .iter()
                .enumerate()
                .map(|(j, e)| mean[j % l] + (0.5 * logvar[j % l]).exp() * e)
                .collect();
            self.session.spread_generation += 1;
            self.jobs.submit(Job::Decode {
                purpose: DecodePurpose::Spread,
                generation: self.session.spread_generation,
                model,
                codes: z,
            });
        }
    }

    /// Decodes the probe for the preview when it changed (one sample: within the frame).
    fn refresh_preview(&mut self) {
        let Some(model) = self.session.model.clone() else {
            return;
        };
        if self.session.probe.len() != model.latent() {
            return;
        }
        if self.session.preview.is_current_for(&self.session.probe) {
            return;
        }
        match model.decode(&self.session.probe) {
            Ok(img) => {
                self.session
                    .preview
                    .set_single(img, model.config().input, &self.session.probe)
            }
            Err(e) => self.error(format!("could not decode: {e}")),
        }
    }

    /// Files dropped onto the window: a .safetensors opens as a model, anything else as data.
    fn handle_dropped_files(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        for path in dropped {
            let is_model = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("safetensors"));
            self.apply(if is_model {
                Command::OpenModel(path)
            } else {
                Command::OpenDataset(path)
            });
        }
    }

    /// Makes the background worker panic (tests show the app survives it).
    #[doc(hidden)]
    pub fn inject_worker_fault(&self) {
        self.jobs.submit(Job::FaultInjection("test"));
    }

    /// Opens a dialog (for tests and panels).
    pub fn ask(&mut self, purpose: DialogPurpose) {
        self.apply(Command::Dialog(purpose));
    }

    pub fn pending_events(&self) -> bool {
        self.is_busy() || self.trainer.as_ref().is_some_and(|t| !t.is_finished())
    }
}

/// Remembered paths must still work when the app starts from another folder.
fn absolute(path: PathBuf) -> PathBuf {
    std::fs::canonicalize(&path).unwrap_or(path)
}

fn log_line(text: &str) {
    if std::env::var_os("LATENT_EXPLORER_QUIET").is_none() {
        eprintln!("{text}");
    }
}

impl ExplorerApp {
    /// Before layout: drains the workers' events, takes dropped files, refreshes what derives
    /// from the probe and the map (eframe's `logic()`).
    pub fn logic_pass(&mut self, ctx: &egui::Context) {
        self.drain_events();
        self.handle_dropped_files(ctx);
        self.refresh_preview();
        self.refresh_neighbours();
        self.request_scores_if_needed();
        if self.session.map.projection_stale(&self.settings) {
            self.apply(Command::ReprojectMap);
        }
    }

    /// Lays out the panels, then applies the commands they issued (eframe's `ui()`).
    pub fn ui_pass(&mut self, ui: &mut egui::Ui) {
        let t0 = Instant::now();
        let mut commands = Vec::new();
        egui::Panel::top("top-bar").show(ui, |ui| panels::top_bar_ui(self, ui, &mut commands));
        egui::Panel::left("left-panel")
            .resizable(true)
            .default_size(300.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    panels::dataset::dataset_ui(self, ui, &mut commands);
                    panels::model::model_ui(self, ui, &mut commands);
                    panels::training::training_ui(self, ui, &mut commands);
                });
            });
        egui::Panel::right("right-panel")
            .resizable(true)
            .default_size(300.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    panels::sliders::sliders_ui(self, ui, &mut commands);
                });
            });
        egui::Panel::bottom("bottom-panel")
            .resizable(true)
            .default_size(260.0)
            .show(ui, |ui| panels::bottom_ui(self, ui, &mut commands));
        egui::CentralPanel::default_margins().show(ui, |ui| {
            panels::map::map_ui(self, ui, &mut commands);
        });
        for cmd in commands {
            self.apply(cmd);
        }
        self.ui_ms = t0.elapsed().as_secs_f32() * 1000.0;
        if self.pending_events() {
            // Background work will wake us; this keeps the progress moving even so.
            ui.ctx().request_repaint_after(Duration::from_millis(100));
        }
    }
}

impl Projection {
    pub fn label(self) -> &'static str {
        match self {
            Projection::Pca => "PCA (first two components)",
            Projection::Axes => "two latent axes",
        }
    }
}
