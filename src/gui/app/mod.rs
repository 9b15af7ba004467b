//! The explorer window: it owns the [`Workspace`] (shared state), the [`Panels`] (each panel's
//! own state) and the background threads. A frame is: `logic()` drains the workers' events
//! (with a time budget, never waiting) and brings what derives from the workspace up to date;
//! `ui()` lays the panels out, which push [`Command`]s; then the app applies the commands.

mod commands;
mod dataset_loads;
mod derived;
mod events;
mod export;
mod groups;
mod headless;
mod layout;
mod layout_runs;
mod session;
mod sweep;
mod traversal;

use crate::gui::command::Command;
use crate::gui::dialogs::{FileDialogs, NativeDialogs};
use crate::gui::notices::{NoticeKind, Topic};
use crate::gui::panels::{Panels, Timings};
use crate::gui::state::{Projection, Settings};
use crate::gui::worker::{Event, EventSender, Job, JobHook, JobsWorker, TrainHook, TrainerHandle};
use crate::gui::workspace::Workspace;
use crate::recovery::{Recovered, RecoveryStore};
pub use session::{SessionEvent, Snapshot};
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
    /// Where an unsaved model is kept so that nothing trained is lost (None: nowhere).
    pub recovery: Option<RecoveryStore>,
    /// Print what was loaded on stderr.
    pub log: bool,
    /// Called before every background job / training event (tests inject faults with it).
    pub job_hook: Option<JobHook>,
    pub train_hook: Option<TrainHook>,
    /// Where the bundled dataset and default model are (the binary resolves them: a source
    /// tree, or the files it carries, written to a per-user folder).
    pub bundled: crate::assets::BundledPaths,
    /// A session file to open at start (its dataset and model instead of the remembered ones).
    pub session: Option<PathBuf>,
}

impl Default for AppOptions {
    fn default() -> Self {
        Self {
            dialogs: Arc::new(NativeDialogs),
            dataset: None,
            model: None,
            restore_settings: true,
            map_points: None,
            recovery: Some(RecoveryStore::default_location()),
            log: true,
            job_hook: None,
            train_hook: None,
            bundled: crate::assets::BundledPaths::default(),
            session: None,
        }
    }
}

/// What start-up asked for, so that a remembered pair that turns out not to fit (or not to
/// open) falls back to the bundled pair instead of leaving the window empty.
#[derive(Default)]
struct Startup {
    /// Either path came from the remembered settings (not from the user this time), and no
    /// dataset was asked for: a dataset the user named is never swapped for the bundled one.
    remembered: bool,
    /// The model the user named at start, kept when the remembered dataset does not fit it.
    asked_model: Option<PathBuf>,
    /// Both loads have answered.
    done: bool,
    /// The bundled pair was already tried.
    fell_back: bool,
}

pub struct ExplorerApp {
    pub settings: Settings,
    pub ws: Workspace,
    pub panels: Panels,
    events: EventSender,
    events_rx: Receiver<Event>,
    jobs: JobsWorker,
    trainer: Option<TrainerHandle>,
    /// The t-SNE / UMAP run in progress, and cancelled ones still finishing.
    pub layout_runs: layout_runs::LayoutRuns,
    dialogs: Arc<dyn FileDialogs>,
    started: Instant,
    /// Time spent laying out the panels this frame.
    pub ui_ms: f32,
    /// CPU time of the previous whole frame, as eframe measures it.
    pub frame_ms: f32,
    /// Seconds from start to the first drawn map.
    pub startup_secs: Option<f64>,
    probe_rng_seed: u64,
    map_points: usize,
    /// A file dialog failed to show: typed paths are the way in.
    pub dialogs_unavailable: bool,
    recovery: Option<RecoveryStore>,
    /// An unsaved model from an earlier run, offered for restoring.
    pub recovered: Option<Recovered>,
    /// A restored model waiting for its dataset to load.
    pending_restore: Option<(Arc<crate::model::Model>, Option<PathBuf>)>,
    /// The weights generation last written to the recovery file.
    recovery_written: Option<u64>,
    train_hook: Option<TrainHook>,
    startup: Startup,
    /// Bumped by "Reset layout": the panels get new ids, so their remembered sizes go.
    layout_epoch: u64,
    bundled: crate::assets::BundledPaths,
    log: bool,
    /// The map plot's id (its memory holds the legend entries the user hid; the figure
    /// export leaves them out too).
    map_plot_id: Option<egui::Id>,
    /// The session file: saving, opening, restoring, unsaved changes.
    session: session::SessionRun,
    /// Dataset loads asked for and not yet answered (their progress, and Cancel).
    dataset_loads: dataset_loads::DatasetLoads,
    /// The command being applied was confirmed to replace an unsaved, trained model.
    replace_confirmed: bool,
}

impl ExplorerApp {
    /// The app on an egui context of the caller's (eframe passes its own; headless runs such
    /// as `bench-scale` make one and drive it with [`ExplorerApp::frame`]).
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
        let mut ws = Workspace::default();
        let jobs = match JobsWorker::spawn(events.clone(), options.job_hook.clone()) {
            Ok(j) => j,
            Err(e) => {
                // Without the worker nothing loads; say so and keep the window usable.
                ws.notices.push(
                    NoticeKind::Error,
                    format!("could not start the background worker: {e}"),
                );
                JobsWorker::disabled()
            }
        };
        let recovered = options.recovery.as_ref().and_then(RecoveryStore::find);
        let mut app = Self {
            settings,
            ws,
            panels: Panels::default(),
            events,
            events_rx,
            jobs,
            trainer: None,
            layout_runs: Default::default(),
            dialogs: options.dialogs,
            started: Instant::now(),
            ui_ms: 0.0,
            frame_ms: 0.0,
            startup_secs: None,
            probe_rng_seed: 1,
            map_points: options.map_points.unwrap_or(MAP_POINTS).max(1),
            dialogs_unavailable: false,
            recovery: options.recovery,
            recovered,
            pending_restore: None,
            recovery_written: None,
            train_hook: options.train_hook,
            startup: Startup::default(),
            layout_epoch: 0,
            log: options.log,
            bundled: options.bundled.clone(),
            map_plot_id: None,
            session: Default::default(),
            dataset_loads: Default::default(),
            replace_confirmed: false,
        };
        if app.settings.export_folder.is_none() {
            app.settings.export_folder = Some(crate::gui::export_files::default_folder());
        }
        let (mut asked_dataset, mut asked_model) = (options.dataset, options.model);
        if let Some(path) = &options.session {
            let (dataset, model) = app.start_with_session(path);
            asked_dataset = asked_dataset.or(dataset);
            asked_model = asked_model.or(model);
        }
        let remembered = asked_dataset.is_none();
        app.startup.asked_model = asked_model.clone();
        let bundled = options.bundled;
        let dataset = app.startup_path(
            asked_dataset,
            |s| &s.dataset_path,
            bundled.dataset.clone(),
            "dataset",
        );
        let model = app.startup_path(
            asked_model,
            |s| &s.model_path,
            bundled.model.clone(),
            "model",
        );
        app.startup.remembered =
            remembered && (dataset != bundled.dataset || model != bundled.model);
        // Options that no longer parse (edited by hand) fall back to the loader's own choices.
        let load_options = app.settings.dataset_options.parse().unwrap_or_default();
        app.submit_dataset_load(dataset, load_options);
        app.jobs.submit(Job::LoadModel(model));
        if let Some(path) = options.session {
            app.apply(Command::Session(
                crate::gui::panels::session::SessionCommand::OpenFile(path),
            ));
        }
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

    /// A remembered pair that does not open or does not fit: open the bundled pair instead
    /// (once), so that start-up always ends in a usable window; a model the user named stays
    /// (with the bundled dataset), and a dataset the user named is never replaced (the window
    /// then says the model does not fit it).
    fn fall_back_to_bundled(&mut self, why: &str) -> bool {
        if !self.startup.remembered || self.startup.fell_back || self.startup.done {
            return false;
        }
        self.startup.fell_back = true;
        // An empty workspace takes the bundled pair in whichever order it arrives.
        self.ws.clear_pair();
        self.info(format!(
            "the remembered dataset and model could not be used together ({why}); opened the bundled ones"
        ));
        self.submit_dataset_load(
            self.bundled.dataset.clone(),
            // The bundled files are read as they are meant, whatever the user's options.
            crate::data::LoadOptions::default(),
        );
        let model = self
            .startup
            .asked_model
            .clone()
            .unwrap_or_else(|| self.bundled.model.clone());
        self.jobs.submit(Job::LoadModel(model));
        true
    }

    /// Reads a dataset on the jobs thread, its progress shown in the Dataset panel.
    fn submit_dataset_load(&mut self, path: PathBuf, options: crate::data::LoadOptions) {
        if !self.jobs.is_running() {
            // Nothing would ever answer, so nothing is shown as loading either.
            return;
        }
        let progress = self.dataset_loads.start(&path);
        self.jobs.submit(Job::LoadDataset(path, options, progress));
    }

    /// The dataset being read now, and how far it has got.
    pub fn dataset_load_progress(
        &self,
    ) -> Option<(&std::path::Path, crate::data::LoadProgressView)> {
        self.dataset_loads.current()
    }

    pub fn info(&mut self, text: impl Into<String>) {
        self.ws.notices.push(NoticeKind::Info, text);
    }

    pub fn error(&mut self, text: impl Into<String>) {
        self.ws.notices.push(NoticeKind::Error, text);
    }

    /// An error that holds while the model does not fit the dataset (taken back once a pair
    /// that fits is open).
    fn misfit_error(&mut self, text: impl Into<String>) {
        self.ws
            .notices
            .push_about(NoticeKind::Error, Some(Topic::PairMisfit), text);
    }

    /// The model holds training that is in no file but the recovery file.
    pub fn holds_unsaved_training(&self) -> bool {
        self.ws.model_unsaved && self.panels.training.last_step.is_some()
    }

    /// Holds back a command that would replace an unsaved, trained model, and asks first
    /// (returns true then). Confirmed commands come back as [`Command::Replace`].
    fn held_for_unsaved_model(&mut self, cmd: &Command) -> bool {
        use crate::gui::panels::session::SessionCommand;
        let action = match cmd {
            Command::OpenModel(_) => "opening another model",
            Command::NewModel => "creating a new model",
            Command::RestoreRecovered => "restoring the recovered model",
            Command::Session(SessionCommand::OpenFile(_)) => "opening the session",
            _ => return false,
        };
        // While training, the refusal says what to do instead.
        if self.replace_confirmed || self.is_training() || !self.holds_unsaved_training() {
            return false;
        }
        self.panels.replace_prompt.held = Some(crate::gui::panels::unsaved_model::HeldCommand {
            command: cmd.clone(),
            action: action.to_string(),
            epochs: self.panels.training.epochs.len(),
        });
        true
    }

    pub fn is_training(&self) -> bool {
        self.trainer.is_some()
    }

    /// True (and says so) when a run is training: the model and data must not change under it.
    fn refused_while_training(&mut self, action: &str) -> bool {
        if self.is_training() {
            self.ws.notices.push_about(
                NoticeKind::Error,
                Some(Topic::WhileTraining),
                format!("stop training before {action}"),
            );
        }
        self.is_training()
    }

    /// Training has ended, one way or another: its refusals no longer hold.
    fn training_ended(&mut self) {
        self.trainer = None;
        self.panels.training.ended();
        self.ws.notices.withdraw(Topic::WhileTraining);
    }

    /// True while anything the window asked for is still being loaded or computed.
    pub fn is_busy(&self) -> bool {
        self.jobs.in_flight().any() > 0
    }

    /// A dataset or model is being opened.
    pub fn is_loading(&self) -> bool {
        self.jobs.in_flight().loads() > 0
    }

    pub fn latent(&self) -> usize {
        self.ws.latent()
    }

    /// The attribute vectors that belong to the current model.
    pub fn attributes_for_model(&self) -> Vec<usize> {
        crate::gui::panels::decoder::attributes_for(&self.ws, &self.settings)
    }

    /// The map's code for sample `i` of the dataset, if it is on the map.
    pub fn code_of(&self, i: usize) -> Option<Vec<f32>> {
        self.ws.code_of(i)
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
            self.apply(if crate::model::is_checkpoint_path(&path) {
                Command::OpenModel(path)
            } else {
                Command::OpenDataset(path)
            });
        }
    }

    /// What is in flight, in words (for diagnostics).
    pub fn busy_report(&self) -> String {
        let f = self.jobs.in_flight();
        format!(
            "{} loads, {} encodes, {} other jobs in flight; training: {}",
            f.loads(),
            f.encodes(),
            f.any() - f.loads() - f.encodes(),
            match &self.trainer {
                Some(t) if t.is_finished() => "ended, not yet reported",
                Some(_) => "running",
                None => "no",
            }
        )
    }

    pub fn pending_events(&self) -> bool {
        self.is_busy()
            || self.trainer.as_ref().is_some_and(|t| !t.is_finished())
            || self.panels.map.pending_click.is_some()
            || self.ws.likelihood.task.is_some()
            || self.ws.sweep.busy()
            || self.ws.iw_scores.task.is_some()
            || self.session.busy()
    }

    fn log_line(&self, text: &str) {
        if self.log {
            eprintln!("{text}");
        }
    }

    /// The window's state as the panels see it (the workspace itself is added by `layout`).
    fn flags(&self) -> (bool, bool, bool, bool, Timings) {
        (
            self.is_training(),
            self.is_busy(),
            self.is_loading(),
            self.jobs.in_flight().encodes() > 0,
            Timings {
                ui_ms: self.ui_ms,
                frame_ms: self.frame_ms,
                raster_ms: self.panels.map.raster.last_redraw_ms,
                startup_secs: self.startup_secs,
            },
        )
    }

    /// The first half of a frame (eframe's `logic()`): drains the workers' events, takes
    /// dropped files, brings what derives from the workspace up to date. Never waits.
    pub fn logic_pass(&mut self, ctx: &egui::Context) {
        self.drain_events();
        self.poll_sweep();
        self.handle_dropped_files(ctx);
        self.sync_derived();
        let generation = self.ws.generation();
        if let Some(error) = self.ws.likelihood.poll(generation) {
            self.ws
                .notices
                .push(crate::gui::notices::NoticeKind::Error, error);
        }
        self.ws.notices.expire();
    }

    /// The second half (eframe's `ui()`): lays the panels out, then applies their commands.
    pub fn ui_pass(&mut self, ui: &mut egui::Ui) {
        let t0 = Instant::now();
        let commands = self.layout(ui);
        for cmd in commands {
            self.apply(cmd);
        }
        // A command may have changed the dataset or model: nothing derived from the old ones
        // survives the frame.
        self.sync_derived();
        self.advance_session(ui.ctx());
        self.ui_ms = t0.elapsed().as_secs_f32() * 1000.0;
        if self.pending_events() {
            // Background work will wake us; this keeps the progress moving even so.
            ui.ctx().request_repaint_after(Duration::from_millis(100));
        }
    }
}

/// Remembered paths must still work when the app starts from another folder.
fn absolute(path: PathBuf) -> PathBuf {
    std::fs::canonicalize(&path).unwrap_or(path)
}

impl Projection {
    pub fn label(self) -> &'static str {
        match self {
            Projection::Pca => "PCA (first two components)",
            Projection::Axes => "two latent axes",
            Projection::Tsne => "t-SNE of all codes",
            Projection::Umap => "UMAP of all codes",
            Projection::Semantic => "semantic axes (an attribute vector)",
        }
    }
}
