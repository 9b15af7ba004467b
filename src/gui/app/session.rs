//! Sessions in the app: capturing what the window shows into a [`SessionState`], saving it
//! and opening one on a thread of their own (reading and hashing the dataset and model is file
//! work), and restoring one. Loading is asynchronous, so a restore waits: the session's files
//! are opened, and the selection, anchors, probe and view are applied once the dataset and
//! model have loaded and the map has its codes (the view once the map shows the session's
//! projection). Whether anything the session holds changed since it was saved or opened is
//! found each frame by comparing a fresh capture with the one saved, and shown in the title.

use super::ExplorerApp;
use crate::gui::command::Command;
use crate::gui::dialogs::DialogPurpose;
use crate::gui::panels::analogy::Side;
use crate::gui::panels::session::SessionCommand;
use crate::gui::state::{AttributeVector, ColorBy, ColourValue, Projection, Settings};
use crate::gui::worker::{Event, Job};
use crate::latent::layout::{MIN_DIST_RANGE, NEIGHBOURS_RANGE, PERPLEXITY_RANGE};
use crate::session::{
    AnalogySettings, Bookmark, ColourBy, FilesReport, NamedVector, ProjectionKind, ProjectionSpec,
    Session, SessionState, ViewBounds,
};
use std::path::PathBuf;

/// What a session holds, as compared for "unsaved changes".
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub dataset: Option<PathBuf>,
    pub model: Option<PathBuf>,
    pub state: SessionState,
}

/// Answers from the session thread.
pub enum SessionEvent {
    Saved {
        path: PathBuf,
        snapshot: Box<Snapshot>,
        result: Result<(), String>,
    },
    Opened {
        path: PathBuf,
        result: Result<Box<(Session, FilesReport)>, String>,
    },
}

/// A session opened and waiting for its dataset, model and codes.
struct PendingRestore {
    path: PathBuf,
    state: SessionState,
    /// The files it asked for (None: its file was missing, or it names none).
    dataset: Option<PathBuf>,
    model: Option<PathBuf>,
    /// The session's samples are the current dataset's (false: its dataset is missing).
    indices_apply: bool,
}

/// The app's session state.
#[derive(Default)]
pub struct SessionRun {
    /// What was last saved or opened (None: no session yet).
    baseline: Option<Snapshot>,
    pending: Option<PendingRestore>,
    /// The view to show once the map shows its projection: a session's (`restoring`) or a
    /// bookmark's.
    pending_view: Option<PendingView>,
    /// Frames until the view shown is taken as the saved one (the plot fits the restored
    /// bounds to its own shape, which may move them a little).
    rebase_view_in: Option<u8>,
    /// Saves and opens sent and not yet answered.
    in_flight: usize,
    /// Dataset and model loads asked for a session and not yet answered (loaded or failed).
    /// Counted from the answers themselves: the worker's in-flight count drops before its
    /// answer has been drained.
    awaiting_loads: usize,
    /// Files asked for at start for a session given on the command line.
    started_with: (Option<PathBuf>, Option<PathBuf>),
    /// The title last sent to the window.
    title: String,
}

struct PendingView {
    projection: ProjectionSpec,
    view: ViewBounds,
    /// A restored session's view: once shown, what the plot made of it becomes the saved one.
    restoring: bool,
}

impl SessionRun {
    pub fn busy(&self) -> bool {
        self.in_flight > 0 || self.pending.is_some()
    }

    /// A dataset or model load has answered (see `awaiting_loads`).
    pub fn load_answered(&mut self) {
        self.awaiting_loads = self.awaiting_loads.saturating_sub(1);
    }
}

impl ExplorerApp {
    pub(super) fn apply_session(&mut self, cmd: SessionCommand) {
        match cmd {
            SessionCommand::Open => self.apply(Command::Dialog(DialogPurpose::OpenSession)),
            SessionCommand::SaveAs => self.apply(Command::Dialog(DialogPurpose::SaveSession)),
            SessionCommand::Save => match self.ws.session.path.clone() {
                Some(p) => self.save_session(p),
                None => self.apply(Command::Dialog(DialogPurpose::SaveSession)),
            },
            SessionCommand::SaveTo(p) => self.save_session(p),
            SessionCommand::OpenFile(p) => self.open_session(p),
            SessionCommand::AddBookmark => self.add_bookmark(),
            SessionCommand::GoToBookmark(k) => {
                if let Some(b) = self.panels.session.bookmarks.get(k).cloned() {
                    // A bookmark names its semantic vector among this model's.
                    let attributes: Vec<Option<usize>> =
                        self.attributes_for_model().into_iter().map(Some).collect();
                    let latent = self.latent();
                    apply_projection(&mut self.settings, &b.projection, &attributes, latent);
                    self.session.pending_view = Some(PendingView {
                        projection: b.projection,
                        view: b.view,
                        restoring: false,
                    });
                }
            }
        }
    }

    /// Opens the session named on the command line: its files are loaded at start (instead
    /// of the remembered ones) while the thread checks them.
    pub(super) fn start_with_session(
        &mut self,
        path: &std::path::Path,
    ) -> (Option<PathBuf>, Option<PathBuf>) {
        match Session::read(path) {
            Ok(s) => {
                let (d, m) = s.locate_files(path);
                self.session.started_with = (d.clone(), m.clone());
                // Start-up asks for a dataset and a model (the session's or, where its file
                // is missing, the usual ones): the restore waits for both answers.
                self.session.awaiting_loads = 2;
                (d, m)
            }
            // The thread reads it again and says why it cannot be opened.
            Err(_) => (None, None),
        }
    }

    fn save_session(&mut self, path: PathBuf) {
        // Typed by hand where no dialog works: never relative to the working folder.
        let path = match crate::gui::export_files::typed_full_path(&path, "the session file") {
            Ok(p) => p,
            Err(e) => {
                self.error(format!("the session was not saved: {e}"));
                return;
            }
        };
        let path = if crate::session::is_session_path(&path) {
            path
        } else {
            let mut name = path.into_os_string();
            name.push(crate::session::EXTENSION);
            PathBuf::from(name)
        };
        let snapshot = self.capture_session();
        if self.ws.model_unsaved {
            self.info(match &snapshot.model {
                Some(m) => format!(
                    "the model has unsaved changes: the session names {} as it is on disk",
                    m.display()
                ),
                None => "the model is not saved: the session holds no model".to_string(),
            });
        }
        let events = self.events.clone();
        self.session.in_flight += 1;
        self.ws.session.busy = true;
        let spawned = std::thread::Builder::new()
            .name("session-save".into())
            .spawn(move || {
                let result = guarded(|| {
                    Session::capture(
                        &path,
                        snapshot.dataset.as_deref(),
                        snapshot.model.as_deref(),
                        snapshot.state.clone(),
                    )
                    .and_then(|s| s.write(&path))
                    .map_err(|e| e.to_string())
                });
                events.send(Event::Session(Box::new(SessionEvent::Saved {
                    path,
                    snapshot: Box::new(snapshot),
                    result,
                })));
            });
        if let Err(e) = spawned {
            self.session.in_flight -= 1;
            self.error(format!("could not save the session: {e}"));
        }
    }

    fn open_session(&mut self, path: PathBuf) {
        if self.refused_while_training("opening a session") {
            return;
        }
        let events = self.events.clone();
        self.session.in_flight += 1;
        self.ws.session.busy = true;
        let spawned = std::thread::Builder::new()
            .name("session-open".into())
            .spawn(move || {
                let result = guarded(|| {
                    let s = Session::read(&path).map_err(|e| e.to_string())?;
                    let report = s.check_files(&path);
                    Ok(Box::new((s, report)))
                });
                events.send(Event::Session(Box::new(SessionEvent::Opened {
                    path,
                    result,
                })));
            });
        if let Err(e) = spawned {
            self.session.in_flight -= 1;
            self.error(format!("could not open the session: {e}"));
        }
    }

    pub(super) fn session_event(&mut self, event: SessionEvent) {
        self.session.in_flight = self.session.in_flight.saturating_sub(1);
        match event {
            SessionEvent::Saved {
                path,
                snapshot,
                result,
            } => match result {
                Ok(()) => {
                    self.info(format!("saved the session to {}", path.display()));
                    self.ws.session.path = Some(path);
                    self.session.baseline = Some(*snapshot);
                }
                Err(e) => self.error(format!("could not save the session: {e}")),
            },
            SessionEvent::Opened { path, result } => match result {
                Ok(opened) => {
                    let (session, report) = *opened;
                    self.session_opened(path, session, report)
                }
                Err(e) => {
                    self.error(format!("could not open the session: {e}"));
                    self.session.started_with = (None, None);
                }
            },
        }
        self.ws.session.busy = self.session.busy();
    }

    /// Says what moved, changed or went missing, opens the files found, and waits for them.
    fn session_opened(&mut self, path: PathBuf, session: Session, report: FilesReport) {
        for check in [&report.dataset, &report.model].into_iter().flatten() {
            if let Some(problem) = check.problem() {
                match check.status {
                    crate::session::FileStatus::Moved { changed: false } => self.info(problem),
                    _ => self.error(problem),
                }
            }
        }
        let dataset = report.dataset.as_ref().and_then(|c| c.found.clone());
        let model = report.model.as_ref().and_then(|c| c.found.clone());
        // A file that changed on disk is read again even when that path is open already.
        let changed = |c: &Option<crate::session::FileCheck>| {
            c.as_ref()
                .is_some_and(|c| c.status != crate::session::FileStatus::Same)
        };
        let (reload_dataset, reload_model) = (changed(&report.dataset), changed(&report.model));
        let dataset_missing = report.dataset.as_ref().is_some_and(|c| !c.usable());
        if dataset_missing {
            self.info(
                "the session's selection, anchors and groups name samples of its missing dataset: they were not restored",
            );
        }
        let started = std::mem::take(&mut self.session.started_with);
        self.startup.done = true;
        if let Some(d) = &dataset
            && (self.ws.data_path.as_ref() != Some(d) || reload_dataset)
            && started.0.as_ref() != Some(d)
        {
            let options = self.settings.dataset_options.parse().unwrap_or_default();
            self.submit_dataset_load(d.clone(), options);
            self.session.awaiting_loads += 1;
        }
        if let Some(m) = &model
            && (self.ws.model_path.as_ref() != Some(m) || reload_model)
            && started.1.as_ref() != Some(m)
        {
            self.jobs.submit(Job::LoadModel(m.clone()));
            self.session.awaiting_loads += 1;
        }
        self.session.pending_view = None;
        self.ws.session.path = Some(path.clone());
        self.session.pending = Some(PendingRestore {
            path,
            state: session.state,
            dataset,
            model,
            indices_apply: !dataset_missing,
        });
    }

    /// Once per frame: restores a pending session when its files have loaded, shows its view
    /// when the map is ready for it, and keeps the title up to date.
    pub(super) fn advance_session(&mut self, ctx: &egui::Context) {
        if self.session.pending.is_some() && self.session_ready() {
            if let Some(p) = self.session.pending.take() {
                self.restore_session(p);
            }
            self.ws.session.busy = self.session.busy();
        }
        self.show_pending_view();
        if let Some(n) = self.session.rebase_view_in {
            if n == 0 {
                self.session.rebase_view_in = None;
                let view = self.current_view();
                if let Some(b) = &mut self.session.baseline {
                    b.state.view = view;
                }
            } else {
                self.session.rebase_view_in = Some(n - 1);
            }
        }
        let dirty = match &self.session.baseline {
            Some(b) if self.session.pending.is_none() => *b != self.capture_session(),
            _ => false,
        };
        self.ws.session.dirty = dirty;
        let title = self.window_title();
        if title != self.session.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.session.title = title;
        }
    }

    /// The window's title: the session's name and a star for unsaved changes.
    pub fn window_title(&self) -> String {
        match &self.ws.session.path {
            Some(p) => format!(
                "{} - Latent Explorer{}",
                crate::session::display_name(p),
                if self.ws.session.dirty { " *" } else { "" }
            ),
            None => "Latent Explorer".to_string(),
        }
    }

    /// The session's files have answered (loaded or failed) and the map has its codes.
    fn session_ready(&self) -> bool {
        let Some(p) = &self.session.pending else {
            return false;
        };
        if self.session.awaiting_loads > 0 || self.is_loading() {
            return false;
        }
        let loaded =
            |want: &Option<PathBuf>, have: &Option<PathBuf>| want.is_none() || want == have;
        if loaded(&p.dataset, &self.ws.data_path) && loaded(&p.model, &self.ws.model_path) {
            // Encoding follows a load: wait for the codes when there will be any.
            return !self.ws.pair_fits()
                || self.ws.map.codes.is_some()
                || self.jobs.in_flight().encodes() == 0;
        }
        // A file failed to load (the error is shown): restore onto what there is.
        true
    }

    fn restore_session(&mut self, p: PendingRestore) {
        let s = p.state;
        let latent = self.latent();
        let indices_apply = p.indices_apply && p.dataset.as_ref() == self.ws.data_path.as_ref();
        // The attribute vectors first: the semantic projection names one of them.
        let model_path = self.ws.model_path.clone();
        let mut placed: Vec<Option<usize>> = Vec::new();
        let mut skipped = 0;
        for a in &s.attributes {
            if a.vector.len() != latent || a.vector.iter().any(|v| !v.is_finite()) {
                placed.push(None);
                skipped += 1;
                continue;
            }
            let attributes = &mut self.settings.attributes;
            let k = match attributes
                .iter()
                .position(|x| x.model == model_path && x.name == a.name)
            {
                Some(k) => {
                    attributes[k].vector = a.vector.clone();
                    k
                }
                None => {
                    attributes.push(AttributeVector {
                        name: a.name.clone(),
                        vector: a.vector.clone(),
                        model: model_path.clone(),
                    });
                    attributes.len() - 1
                }
            };
            placed.push(Some(k));
        }
        if skipped > 0 {
            self.info(format!(
                "{skipped} of the session's attribute vectors do not fit this model ({latent} latent dimensions): left out"
            ));
        }
        apply_projection(&mut self.settings, &s.projection, &placed, latent);
        self.settings.color_by = match s.colour_by {
            ColourBy::Label => ColorBy::Label,
            ColourBy::AnomalyScore => ColorBy::AnomalyScore,
            _ => ColorBy::Value,
        };
        if let Some(v) = colour_value(s.colour_by, latent) {
            self.settings.color_value = v;
        } else if self.settings.color_by == ColorBy::Value {
            self.settings.color_by = ColorBy::Label;
        }
        // Groups are sample numbers: kept only with the dataset they belong to, each checked.
        self.ws.groups.clear();
        self.ws.multi_selection.clear();
        self.ws.groups_version += 1;
        if indices_apply {
            for g in &s.groups {
                if let Err(e) = self.ws.add_group(g.clone()) {
                    self.info(format!("the session's {e}: left out"));
                }
            }
        }
        let a = &mut self.panels.analogy;
        let classes = self
            .ws
            .data
            .as_ref()
            .map_or(0, |d| d.class_names().len())
            .max(1);
        // A side names a group only when that group was restored.
        let groups = self.ws.groups.len();
        let side = |label: u16, group: Option<usize>| match group {
            Some(k) if k < groups => Side::Group(k),
            _ => Side::Label(label.min(classes as u16 - 1)),
        };
        a.plus = side(s.analogy.plus, s.analogy.plus_group);
        a.minus = side(s.analogy.minus, s.analogy.minus_group);
        a.rows = s.analogy.rows.clamp(1, 12);
        a.steps = s.analogy.steps.clamp(2, 15);
        a.reach = if s.analogy.reach.is_finite() {
            s.analogy.reach.clamp(0.25, 3.0)
        } else {
            1.5
        };
        a.both_ways = s.analogy.both_ways;
        self.panels.session.bookmarks = s.bookmarks.clone();
        if indices_apply {
            match s.selection {
                Some(i) if !self.ws.select(i) => self.info(format!(
                    "the session's selection, sample {i}, is not in the dataset"
                )),
                Some(_) => {}
                None => self.ws.selection = None,
            }
            let it = &mut self.panels.interpolation;
            it.anchors = s
                .anchors
                .iter()
                .copied()
                .filter(|&i| self.ws.contains(i))
                .collect();
            it.frames.clear();
            it.strip = Default::default();
            it.serial += 1;
            if it.anchors.len() >= 2 {
                self.rebuild_strip();
            }
        }
        match &s.probe {
            Some(code) if self.ws.fits_code(code) => self.ws.probe = code.clone(),
            Some(code) if !code.is_empty() => self.info(format!(
                "the session's probe has {} values and this model {latent}: not restored",
                code.len()
            )),
            _ => {}
        }
        let settings = self.settings.clone();
        self.ws.map.reproject(&settings);
        self.session.pending_view = s.view.filter(ViewBounds::is_valid).map(|view| PendingView {
            projection: s.projection.clone(),
            view,
            restoring: true,
        });
        self.info(format!("opened the session {}", p.path.display()));
        // What the files are now is what the session holds from here on.
        let mut baseline = self.capture_session();
        baseline.state.view = s.view;
        self.session.baseline = Some(baseline);
    }

    /// Sends the pending view to the map once it shows the view's projection; dropped when
    /// the projection was changed meanwhile.
    fn show_pending_view(&mut self) {
        let Some(PendingView {
            projection: spec,
            view,
            restoring,
        }) = &self.session.pending_view
        else {
            return;
        };
        let map = &self.ws.map;
        if map.codes.is_none() {
            return;
        }
        if projection_kind(self.settings.projection) != spec.kind && self.latent() > 2 {
            self.session.pending_view = None;
            return;
        }
        if map.projection_stale(&self.settings) {
            return;
        }
        if let Some(key) = map.wanted_layout(&self.settings)
            && !(map.has_current_layout(key) && map.shown_layout().is_some())
        {
            return;
        }
        self.panels.map.view_to = Some(view.to_array());
        if *restoring {
            // The plot shows it in the next frame; read it back the frame after.
            self.session.rebase_view_in = Some(2);
        }
        self.session.pending_view = None;
    }

    fn add_bookmark(&mut self) {
        let Some(view) = self.current_view() else {
            self.error("the map has no view to bookmark yet");
            return;
        };
        let attributes = self.attributes_for_model();
        let panel = &mut self.panels.session;
        let name = panel.next_name();
        panel.bookmarks.push(Bookmark {
            name: name.clone(),
            view,
            projection: projection_spec(&self.settings, &attributes),
        });
        self.info(format!("bookmarked this view as \"{name}\""));
    }

    /// The map's view now (or the one a restore is about to show).
    fn current_view(&self) -> Option<ViewBounds> {
        if let Some(p) = &self.session.pending_view {
            return Some(p.view);
        }
        self.ws.map.codes.as_ref()?;
        let b = self.panels.map.screen?.bounds().to_owned();
        let v = ViewBounds::from_array([b.min()[0], b.min()[1], b.max()[0], b.max()[1]]);
        v.is_valid().then_some(v)
    }

    /// What the window would save now.
    pub fn capture_session(&self) -> Snapshot {
        let attributes = self.attributes_for_model();
        let s = &self.settings;
        let analogy = &self.panels.analogy;
        Snapshot {
            dataset: self.ws.data_path.clone(),
            // An unsaved model is named by the file it was last saved to (None: never saved).
            model: self.ws.model_path.clone(),
            state: SessionState {
                projection: projection_spec(s, &attributes),
                view: self.current_view(),
                selection: self.ws.selection,
                anchors: self.panels.interpolation.anchors.clone(),
                probe: (!self.ws.probe.is_empty()).then(|| self.ws.probe.clone()),
                colour_by: match s.color_by {
                    ColorBy::Label => ColourBy::Label,
                    ColorBy::AnomalyScore => ColourBy::AnomalyScore,
                    ColorBy::Value => match s.color_value {
                        ColourValue::ReconstructionError => ColourBy::ReconstructionError,
                        ColourValue::Kl => ColourBy::Kl,
                        ColourValue::NegativeElbo => ColourBy::NegativeElbo,
                        ColourValue::PosteriorSigma => ColourBy::PosteriorSigma,
                        ColourValue::LatentDim(dim) => ColourBy::LatentDim { dim },
                    },
                },
                attributes: attributes
                    .iter()
                    .map(|&k| NamedVector {
                        name: s.attributes[k].name.clone(),
                        vector: s.attributes[k].vector.clone(),
                    })
                    .collect(),
                analogy: AnalogySettings {
                    plus: side_label(analogy.plus, 7),
                    minus: side_label(analogy.minus, 1),
                    plus_group: side_group(analogy.plus),
                    minus_group: side_group(analogy.minus),
                    rows: analogy.rows,
                    steps: analogy.steps,
                    reach: analogy.reach,
                    both_ways: analogy.both_ways,
                },
                bookmarks: self.panels.session.bookmarks.clone(),
                groups: self.ws.groups.clone(),
            },
        }
    }
}

/// Runs `f`, turning a panic into an error (a session thread never takes the window down).
fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        Err(format!(
            "internal error ({})",
            crate::gui::worker::panic_message(payload.as_ref())
        ))
    })
}

fn projection_kind(p: Projection) -> ProjectionKind {
    match p {
        Projection::Pca => ProjectionKind::Pca,
        Projection::Axes => ProjectionKind::Axes,
        Projection::Tsne => ProjectionKind::Tsne,
        Projection::Umap => ProjectionKind::Umap,
        Projection::Semantic => ProjectionKind::Semantic,
    }
}

/// The projection as a session keeps it; the semantic vector by its place among the model's
/// attribute vectors (`attributes`: their indices in the settings).
fn projection_spec(s: &Settings, attributes: &[usize]) -> ProjectionSpec {
    ProjectionSpec {
        kind: projection_kind(s.projection),
        axis_x: s.axis_x,
        axis_y: s.axis_y,
        layout: s.layout,
        semantic_attribute: s
            .semantic_attribute
            .and_then(|k| attributes.iter().position(|&a| a == k)),
    }
}

/// Sets the settings' projection from a session's; `attributes[k]`: where the session's k-th
/// attribute vector is in the settings (None: left out).
fn apply_projection(
    s: &mut Settings,
    spec: &ProjectionSpec,
    attributes: &[Option<usize>],
    latent: usize,
) {
    s.projection = match spec.kind {
        ProjectionKind::Pca => Projection::Pca,
        ProjectionKind::Axes => Projection::Axes,
        ProjectionKind::Tsne => Projection::Tsne,
        ProjectionKind::Umap => Projection::Umap,
        ProjectionKind::Semantic => Projection::Semantic,
    };
    let last = latent.saturating_sub(1);
    s.axis_x = spec.axis_x.min(last);
    s.axis_y = spec.axis_y.min(last);
    let l = spec.layout;
    let clamp = |v: f32, r: &std::ops::RangeInclusive<f32>, d: f32| {
        if v.is_finite() {
            v.clamp(*r.start(), *r.end())
        } else {
            d
        }
    };
    let d = crate::latent::layout::LayoutParams::default();
    s.layout = crate::latent::layout::LayoutParams {
        perplexity: clamp(l.perplexity, &PERPLEXITY_RANGE, d.perplexity),
        neighbours: l
            .neighbours
            .clamp(*NEIGHBOURS_RANGE.start(), *NEIGHBOURS_RANGE.end()),
        min_dist: clamp(l.min_dist, &MIN_DIST_RANGE, d.min_dist),
        seed: l.seed,
    };
    if let Some(k) = spec
        .semantic_attribute
        .and_then(|k| attributes.get(k).copied().flatten())
    {
        s.semantic_attribute = Some(k);
    }
}

/// The colour value of a session's colouring (None: label or score bands, or a latent
/// dimension this model does not have).
fn colour_value(c: ColourBy, latent: usize) -> Option<ColourValue> {
    match c {
        ColourBy::Label | ColourBy::AnomalyScore => None,
        ColourBy::ReconstructionError => Some(ColourValue::ReconstructionError),
        ColourBy::Kl => Some(ColourValue::Kl),
        ColourBy::NegativeElbo => Some(ColourValue::NegativeElbo),
        ColourBy::PosteriorSigma => Some(ColourValue::PosteriorSigma),
        ColourBy::LatentDim { dim } => (dim < latent).then_some(ColourValue::LatentDim(dim)),
    }
}

/// An Analogy side's class, or `otherwise` for a group side (kept for older readers).
fn side_label(side: Side, otherwise: u16) -> u16 {
    match side {
        Side::Label(k) => k,
        Side::Group(_) => otherwise,
    }
}

/// An Analogy side's group position, if it is a group.
fn side_group(side: Side) -> Option<usize> {
    match side {
        Side::Group(k) => Some(k),
        Side::Label(_) => None,
    }
}
