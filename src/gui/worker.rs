//! Background work for the window: a named jobs thread (loading, encoding, batch decoding,
//! saving, exporting) and a named trainer thread per training run. Both send [`Event`]s and wake
//! the window; the window drains them in `logic()` and never waits.

use super::dialogs::{DialogPurpose, ExportKind};
use super::export_files::{Destination, write_export};
use super::map_figure::MapFigure;
use super::snapshot_encoder::SnapshotEncoder;
use super::trained_codes::MapCodeBook;
use super::workspace::Generation;
use crate::data::{Dataset, LoadOptions, LoadProgress, load_dataset_with_progress};
use crate::model::{Codes, Model};
use crate::recovery::RecoveryStore;
use crate::train::{
    BatchCodes, TrainConfig, TrainControl, TrainEvent, TrainSummary, split_indices,
    steps_report_codes, train_reporting_codes,
};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What a batch decode is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DecodePurpose {
    Strip,
    Grid,
    /// A conditional model's probe drawn as every class (the Decoder's class row).
    ClassRow,
    /// A conditional model's probe drawn from one class to another.
    ClassStrip,
    /// Samples from the selection's posterior.
    Spread,
    /// The decoded grid behind the map.
    Manifold,
    /// Reconstructions of the samples in a zoomed-in view, for the map's thumbnails.
    Thumbnails,
}

/// Which job an event answers (failures name it; nothing is parsed from message text).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobKind {
    LoadDataset,
    LoadModel,
    Encode,
    Score,
    Decode(DecodePurpose),
    SaveModel,
    Export(ExportKind),
    Dialog,
    Traverse,
    Analogy,
    /// A mixture, clustering or holes computed from the map's codes.
    AnalyseCodes,
}

/// What a result was computed for: the workspace's generation then, and the asker's serial
/// number (so that of several requests only the newest answer is used).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stamp {
    pub generation: Generation,
    pub serial: u64,
}

/// Work for the jobs thread.
pub enum Job {
    /// A dataset, read with the user's load options (pixel range, label column, image size),
    /// counting in and cancelled through the window's handle on its progress.
    LoadDataset(PathBuf, LoadOptions, Arc<LoadProgress>),
    LoadModel(PathBuf),
    /// Encode `indices` of `data` for the map.
    Encode {
        stamp: Stamp,
        model: Arc<Model>,
        data: Arc<Dataset>,
        indices: Arc<Vec<usize>>,
    },
    /// Anomaly scores of the map's samples.
    Score {
        stamp: Stamp,
        model: Arc<Model>,
        data: Arc<Dataset>,
        indices: Arc<Vec<usize>>,
    },
    Decode {
        purpose: DecodePurpose,
        stamp: Stamp,
        model: Arc<Model>,
        codes: Vec<f32>,
        /// What a conditional model decodes the codes as (ignored by another).
        condition: crate::model::Condition,
    },
    SaveModel {
        model: Arc<Model>,
        path: PathBuf,
    },
    /// A traversal grid; `codes` are the map's (for a range from the codes and the KL order).
    Traverse {
        stamp: Stamp,
        model: Arc<Model>,
        codes: Option<Arc<Codes>>,
        spec: crate::latent::TraversalSpec,
        /// The class a conditional model draws every frame as.
        condition: crate::model::Condition,
    },
    /// An attribute vector between two groups of the map's codes, its quality, and the
    /// analogy grid.
    Analogy {
        stamp: Stamp,
        model: Arc<Model>,
        codes: Arc<Codes>,
        request: super::panels::analogy::AnalogyRequest,
    },
    WriteFile {
        kind: ExportKind,
        dest: Destination,
        contents: ExportContents,
    },
    /// Work on the map's codes (`[n, dims]`; stamp serial: the codes version).
    AnalyseCodes {
        stamp: Stamp,
        request: super::codes_analysis::CodesRequest,
        codes: Arc<crate::model::Codes>,
        labels: Option<Vec<u16>>,
    },
}

impl Job {
    pub fn kind(&self) -> JobKind {
        match self {
            Job::LoadDataset(..) => JobKind::LoadDataset,
            Job::LoadModel(_) => JobKind::LoadModel,
            Job::Encode { .. } => JobKind::Encode,
            Job::Score { .. } => JobKind::Score,
            Job::Decode { purpose, .. } => JobKind::Decode(*purpose),
            Job::SaveModel { .. } => JobKind::SaveModel,
            Job::Traverse { .. } => JobKind::Traverse,
            Job::Analogy { .. } => JobKind::Analogy,
            Job::WriteFile { kind, .. } => JobKind::Export(*kind),
            Job::AnalyseCodes { .. } => JobKind::AnalyseCodes,
        }
    }
}

/// What to write for an export: copies of what the window shows, turned into file bytes here.
pub enum ExportContents {
    Png(image::DynamicImage),
    Text(String),
    /// The map's codes as NumPy: a .npy with the labels beside it, or one .npz, by the
    /// destination's extension.
    Numpy {
        codes: Codes,
        indices: Arc<Vec<usize>>,
        labels: Option<Vec<i64>>,
    },
    /// The map as a figure, drawn here.
    Figure(Box<MapFigure>),
    /// A group's members (`codes` row k is sample `indices[k]`), turned into CSV, NumPy files
    /// or a PNG grid of their images here.
    Group {
        kind: ExportKind,
        data: Arc<Dataset>,
        indices: Vec<usize>,
        codes: Codes,
        scale: u32,
    },
    /// A traversal drawn here, off the UI thread: the labelled grid (PNG) or its animation.
    Traversal {
        grid: Arc<crate::latent::TraversalGrid>,
        scale: u32,
        animated: bool,
    },
}

impl ExportContents {
    /// The files to write for `path` (the main one first).
    fn into_files(self, path: &std::path::Path) -> Result<Vec<(PathBuf, Vec<u8>)>, String> {
        let png = |image: &image::DynamicImage| -> Result<Vec<u8>, String> {
            let mut bytes = std::io::Cursor::new(Vec::new());
            image
                .write_to(&mut bytes, image::ImageFormat::Png)
                .map_err(|e| format!("could not encode the picture as PNG: {e}"))?;
            Ok(bytes.into_inner())
        };
        Ok(match self {
            ExportContents::Png(image) => vec![(path.into(), png(&image)?)],
            ExportContents::Text(text) => vec![(path.into(), text.into_bytes())],
            ExportContents::Numpy {
                codes,
                indices,
                labels,
            } => crate::latent::numpy_files(path, &codes, &indices, labels.as_deref())
                .map_err(|e| e.to_string())?,
            ExportContents::Figure(figure) => vec![(path.into(), png(&figure.render()?)?)],
            ExportContents::Group {
                kind,
                data,
                indices,
                codes,
                scale,
            } => {
                let err = |e: crate::Error| e.to_string();
                match kind {
                    ExportKind::GroupNumpy => {
                        crate::latent::group_numpy_files(path, &data, &indices, &codes)
                            .map_err(err)?
                    }
                    ExportKind::GroupPng => {
                        let (picture, _) =
                            crate::latent::group_picture(&data, &indices, scale).map_err(err)?;
                        vec![(path.into(), png(&picture)?)]
                    }
                    _ => vec![(
                        path.into(),
                        crate::latent::group_csv(&data, &indices, &codes)
                            .map_err(err)?
                            .into_bytes(),
                    )],
                }
            }
            ExportContents::Traversal {
                grid,
                scale,
                animated: true,
            } => vec![(
                path.into(),
                grid.gif(scale, TRAVERSAL_FRAME_MS)
                    .map_err(|e| format!("could not draw the animation: {e}"))?,
            )],
            ExportContents::Traversal { grid, scale, .. } => {
                let picture = grid
                    .picture(scale)
                    .map_err(|e| format!("could not draw the traversal grid: {e}"))?;
                vec![(path.into(), png(&picture)?)]
            }
        })
    }
}

/// Everything background work tells the window.
pub enum Event {
    DatasetLoaded {
        data: Arc<Dataset>,
        path: PathBuf,
        secs: f64,
    },
    ModelLoaded {
        model: Arc<Model>,
        path: PathBuf,
    },
    /// A dataset load stopped by its Cancel button: nothing was read into the window.
    DatasetLoadCancelled(PathBuf),
    Encoded {
        stamp: Stamp,
        codes: Codes,
        secs: f64,
    },
    Decoded {
        purpose: DecodePurpose,
        stamp: Stamp,
        images: Vec<f32>,
    },
    Scored {
        stamp: Stamp,
        scores: crate::analysis::AnomalyScores,
    },
    /// A traversal grid, or why the asked one cannot be made (shown in its tab).
    Traversed {
        stamp: Stamp,
        result: Result<Arc<crate::latent::TraversalGrid>, String>,
    },
    /// An analogy, or why it cannot be made (shown in its tab).
    Analogy {
        stamp: Stamp,
        result: Result<Arc<super::panels::analogy::AnalogyResult>, String>,
    },
    ModelSaved(PathBuf),
    /// An answer about the map's codes (an error is one line for the user).
    CodesAnalysed {
        stamp: Stamp,
        request: super::codes_analysis::CodesRequest,
        result: Result<super::codes_analysis::CodesResult, String>,
    },
    Exported {
        kind: ExportKind,
        path: PathBuf,
    },
    DialogClosed {
        purpose: DialogPurpose,
        path: Option<PathBuf>,
    },
    /// The desktop could not show a file dialog at all.
    DialogUnavailable(DialogPurpose),
    Train(TrainEvent),
    /// The model as training left it a moment ago, and its codes for the map.
    TrainSnapshot {
        generation: Generation,
        model: Arc<Model>,
        codes: Option<Codes>,
        /// The (global step, epoch) the weights are from: the codes arrive a little later.
        at: TrainedTo,
    },
    TrainDone {
        generation: Generation,
        model: Arc<Model>,
        result: Result<TrainSummary, String>,
    },
    /// A t-SNE / UMAP run's progress, now and then with its layout so far.
    LayoutProgress {
        stamp: Stamp,
        fraction: f32,
        text: String,
        frame: Option<Arc<super::map_layouts::LayoutFrame>>,
    },
    /// A t-SNE / UMAP run ended: its layout, None when cancelled, or why it failed.
    LayoutDone {
        stamp: Stamp,
        result: Result<Option<Arc<super::map_layouts::LayoutFrame>>, String>,
    },
    /// The trainer panicked; the window keeps the model of its last snapshot.
    TrainCrashed(String),
    /// A session saved or opened (on a thread of its own, see `app::session`).
    Session(Box<crate::gui::app::SessionEvent>),
    /// A job failed; `error` is one line for the user.
    Failed {
        job: JobKind,
        error: String,
    },
}

/// How long each frame of an exported traversal animation shows.
pub const TRAVERSAL_FRAME_MS: u32 = 120;

/// Called before every job and every training event: tests use it to inject faults (a panic
/// on the worker or the trainer) without a switch in the production types.
pub type JobHook = Arc<dyn Fn(JobKind) + Send + Sync>;
pub type TrainHook = Arc<dyn Fn(&TrainEvent) + Send + Sync>;

/// Jobs submitted and not yet finished (or dropped as stale), by kind of work.
#[derive(Default)]
pub struct InFlight {
    loads: AtomicUsize,
    encodes: AtomicUsize,
    other: AtomicUsize,
}

impl InFlight {
    fn counter(&self, kind: JobKind) -> &AtomicUsize {
        match kind {
            JobKind::LoadDataset | JobKind::LoadModel => &self.loads,
            JobKind::Encode => &self.encodes,
            _ => &self.other,
        }
    }
    pub fn loads(&self) -> usize {
        self.loads.load(Ordering::Acquire)
    }
    pub fn encodes(&self) -> usize {
        self.encodes.load(Ordering::Acquire)
    }
    pub fn any(&self) -> usize {
        self.loads() + self.encodes() + self.other.load(Ordering::Acquire)
    }
}

/// How often a running training's step figures redraw the window (about 30 times a second).
pub const STEP_REPAINT_EVERY: Duration = Duration::from_millis(33);

/// Sends events and wakes the window.
#[derive(Clone)]
pub struct EventSender {
    tx: Sender<Event>,
    ctx: egui::Context,
}

impl EventSender {
    pub fn new(tx: Sender<Event>, ctx: egui::Context) -> Self {
        Self { tx, ctx }
    }

    pub fn send(&self, event: Event) {
        // A step's figures come hundreds of times a second: they move the loss curve at a
        // display's pace, not at the trainer's, so that a window left to train spends its
        // cores training rather than redrawing. Anything else is shown at once.
        let frequent = matches!(event, Event::Train(TrainEvent::Step(_)));
        // A closed window drops the receiver; there is nobody left to tell.
        let _ = self.tx.send(event);
        if frequent {
            self.ctx.request_repaint_after(STEP_REPAINT_EVERY);
        } else {
            self.ctx.request_repaint();
        }
    }

    pub fn raw(&self) -> Sender<Event> {
        self.tx.clone()
    }

    pub fn ctx(&self) -> &egui::Context {
        &self.ctx
    }
}

/// The jobs thread. Dropping it closes the queue and lets the thread end.
pub struct JobsWorker {
    tx: Option<Sender<Job>>,
    handle: Option<JoinHandle<()>>,
    in_flight: Arc<InFlight>,
}

impl JobsWorker {
    pub fn spawn(events: EventSender, hook: Option<JobHook>) -> std::io::Result<Self> {
        let (tx, rx) = channel::<Job>();
        let in_flight = Arc::new(InFlight::default());
        let counts = in_flight.clone();
        let handle = std::thread::Builder::new()
            .name("explorer-jobs".into())
            .spawn(move || jobs_loop(rx, events, counts, hook))?;
        Ok(Self {
            tx: Some(tx),
            handle: Some(handle),
            in_flight,
        })
    }

    /// A worker that runs nothing (when its thread could not be started).
    pub fn disabled() -> Self {
        Self {
            tx: None,
            handle: None,
            in_flight: Arc::default(),
        }
    }

    pub fn submit(&self, job: Job) {
        if let Some(tx) = &self.tx {
            let counter = self.in_flight.counter(job.kind());
            counter.fetch_add(1, Ordering::AcqRel);
            if tx.send(job).is_err() {
                counter.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }

    /// Whether jobs are taken (false for [`JobsWorker::disabled`]).
    pub fn is_running(&self) -> bool {
        self.tx.is_some()
    }

    /// What is still to be done.
    pub fn in_flight(&self) -> &InFlight {
        &self.in_flight
    }
}

impl Drop for JobsWorker {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn jobs_loop(rx: Receiver<Job>, events: EventSender, counts: Arc<InFlight>, hook: Option<JobHook>) {
    while let Ok(first) = rx.recv() {
        // Only the newest encode and the newest decode of each purpose matter: drop the
        // ones a later request has made stale (slider drags and training send many).
        let mut queue = vec![first];
        queue.extend(rx.try_iter());
        let newest = |kind: JobKind| queue.iter().rposition(|j| j.kind() == kind);
        let coalesced = [
            JobKind::Encode,
            JobKind::Decode(DecodePurpose::Strip),
            JobKind::Decode(DecodePurpose::Grid),
            JobKind::Decode(DecodePurpose::Manifold),
            JobKind::Decode(DecodePurpose::Spread),
            JobKind::Decode(DecodePurpose::ClassRow),
            JobKind::Decode(DecodePurpose::ClassStrip),
            JobKind::Traverse,
        ];
        let keep: Vec<Option<usize>> = coalesced.iter().map(|&k| newest(k)).collect();
        for (i, job) in queue.into_iter().enumerate() {
            let kind = job.kind();
            let stale = coalesced
                .iter()
                .zip(&keep)
                .any(|(&k, &newest)| k == kind && newest != Some(i));
            if !stale {
                run_job_guarded(job, &events, hook.as_ref());
            }
            counts.counter(kind).fetch_sub(1, Ordering::AcqRel);
            if stale {
                // Nothing will answer it: let the window re-check its busy state.
                events.ctx().request_repaint();
            }
        }
    }
}

/// The text of a caught panic.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown cause".into())
}

/// Runs a job; a panic inside it becomes an error the window shows, and the worker lives on.
fn run_job_guarded(job: Job, events: &EventSender, hook: Option<&JobHook>) {
    let kind = job.kind();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if let Some(hook) = hook {
            hook(kind);
        }
        run_job(job, events)
    }));
    if let Err(payload) = outcome {
        let what = match kind {
            JobKind::LoadDataset | JobKind::LoadModel => "could not open the file",
            _ => "a background task failed",
        };
        events.send(Event::Failed {
            job: kind,
            error: format!(
                "{what}: internal error ({}); nothing was changed",
                panic_message(payload.as_ref())
            ),
        });
    }
}

fn run_job(job: Job, events: &EventSender) {
    let kind = job.kind();
    let failed = |error: String| Event::Failed { job: kind, error };
    let event = match job {
        Job::LoadDataset(path, options, progress) => {
            let t0 = Instant::now();
            match load_dataset_with_progress(&path, &options, &progress) {
                Ok(data) => Event::DatasetLoaded {
                    // Here, not on the UI thread when the Missing data tab first asks.
                    data: {
                        data.train_mean_image();
                        Arc::new(data)
                    },
                    path,
                    secs: t0.elapsed().as_secs_f64(),
                },
                Err(crate::error::Error::Cancelled { .. }) => Event::DatasetLoadCancelled(path),
                Err(e) => failed(format!("could not open the dataset: {e}")),
            }
        }
        Job::LoadModel(path) => match Model::load(&path) {
            Ok(model) => Event::ModelLoaded {
                model: Arc::new(model),
                path,
            },
            Err(e) => failed(format!("could not open the model: {e}")),
        },
        Job::Encode {
            stamp,
            model,
            data,
            indices,
        } => {
            let t0 = Instant::now();
            match model.encode(&data, &indices) {
                Ok(codes) => Event::Encoded {
                    stamp,
                    codes,
                    secs: t0.elapsed().as_secs_f64(),
                },
                Err(e) => failed(format!("could not encode the dataset: {e}")),
            }
        }
        Job::Score {
            stamp,
            model,
            data,
            indices,
        } => match crate::analysis::score_anomalies(&model, &data, &indices, 2, 1) {
            Ok(scores) => Event::Scored { stamp, scores },
            Err(e) => failed(format!("could not score the samples: {e}")),
        },
        Job::Decode {
            purpose,
            stamp,
            model,
            codes,
            condition,
        } => match model.decode_as(&codes, condition.classes()) {
            Ok(images) => Event::Decoded {
                purpose,
                stamp,
                images,
            },
            Err(e) => failed(format!("could not decode: {e}")),
        },
        Job::Traverse {
            stamp,
            model,
            codes,
            spec,
            condition,
        } => Event::Traversed {
            stamp,
            result: crate::latent::traverse_as(
                &model,
                &spec,
                codes.as_deref(),
                condition.classes(),
            )
            .map(Arc::new)
            .map_err(|e| e.to_string()),
        },
        Job::Analogy {
            stamp,
            model,
            codes,
            request,
        } => Event::Analogy {
            stamp,
            result: analogy(&model, &codes, request)
                .map(Arc::new)
                .map_err(|e| e.to_string()),
        },
        Job::AnalyseCodes {
            stamp,
            request,
            codes,
            labels,
        } => Event::CodesAnalysed {
            stamp,
            request,
            result: super::codes_analysis::run(request, &codes, labels.as_deref()),
        },
        Job::SaveModel { model, path } => match model.save(&path) {
            Ok(()) => Event::ModelSaved(path),
            Err(e) => failed(format!("could not save the model: {e}")),
        },
        Job::WriteFile {
            kind: export,
            dest,
            contents,
        } => {
            let written = contents
                .into_files(&dest.wanted_path())
                .and_then(|files| write_export(&dest, files));
            match written {
                Ok(path) => Event::Exported { kind: export, path },
                Err(e) => failed(format!("could not export {}: {e}", export.human_name())),
            }
        }
    };
    events.send(event);
}

fn analogy(
    model: &Model,
    codes: &Codes,
    request: super::panels::analogy::AnalogyRequest,
) -> crate::Result<super::panels::analogy::AnalogyResult> {
    let vector = crate::latent::attribute_vector(codes, &request.plus, &request.minus)?;
    let quality = crate::latent::attribute_quality(codes, &request.plus, &request.minus, 1)?;
    let starts: Vec<(String, Vec<f32>)> = request
        .starts
        .iter()
        .filter(|(_, row)| *row < codes.len())
        .map(|(name, row)| (name.clone(), codes.mean_of(*row).to_vec()))
        .collect();
    let grid = crate::latent::analogy_grid(model, &starts, &vector, &request.amounts)?;
    Ok(super::panels::analogy::AnalogyResult {
        name: request.name,
        quality,
        grid,
        plus_count: request.plus.len(),
        minus_count: request.minus.len(),
    })
}

/// A training run on its own thread.
pub struct TrainerHandle {
    pub control: TrainControl,
    handle: Option<JoinHandle<()>>,
}

/// Where a training run had got to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrainedTo {
    pub step: usize,
    pub epoch: usize,
}

/// How often the trainer refreshes the window's model and map while it runs.
pub const SNAPSHOT_EVERY: Duration = Duration::from_millis(700);

/// What a training run needs besides the model.
pub struct TrainJob {
    pub data: Arc<Dataset>,
    pub config: TrainConfig,
    /// The map's samples, re-encoded with every snapshot.
    pub map_indices: Arc<Vec<usize>>,
    /// The map's codes when the run starts (under the model being trained), so that snapshots
    /// can take the trainer's own codes from the first one on ([`MapCodeBook`]).
    pub map_codes: Option<Codes>,
    /// The workspace generation the run belongs to (its snapshots carry it).
    pub generation: Generation,
    /// Where the unsaved model is written after every epoch.
    pub recovery: Option<RecoveryStore>,
    pub dataset_path: Option<PathBuf>,
    pub model_path: Option<PathBuf>,
    pub hook: Option<TrainHook>,
}

impl TrainerHandle {
    /// Trains a copy of `model` on a thread of its own.
    pub fn spawn(model: &Model, job: TrainJob, events: EventSender) -> Result<Self, String> {
        let own = model.duplicate().map_err(|e| e.to_string())?;
        let control = TrainControl::new();
        let thread_control = control.clone();
        let handle = std::thread::Builder::new()
            .name("explorer-trainer".into())
            .spawn(move || run_training(own, job, &thread_control, events))
            .map_err(|e| format!("could not start training: {e}"))?;
        Ok(Self {
            control,
            handle: Some(handle),
        })
    }

    pub fn is_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(|h| h.is_finished())
    }
}

fn run_training(mut own: Model, job: TrainJob, control: &TrainControl, events: EventSender) {
    let TrainJob {
        data,
        config,
        map_indices,
        map_codes,
        generation,
        recovery,
        dataset_path,
        model_path,
        hook,
    } = job;
    // The training images' codes come from the steps (where the trainer reports them); the
    // snapshot encoder then encodes only the held-out ones.
    let book = steps_report_codes(&own).then(|| {
        let (train_indices, _) = split_indices(&data, &config);
        MapCodeBook::new(
            data.len(),
            &map_indices,
            &train_indices,
            own.latent(),
            map_codes.as_ref(),
        )
    });
    let book = std::cell::RefCell::new(book);
    let encoder = SnapshotEncoder::spawn(
        Arc::clone(&data),
        map_indices,
        generation,
        control.clone(),
        events.clone(),
    );
    let mut last_snapshot = Instant::now();
    let mut at = TrainedTo::default();
    let mut sink = |ev: TrainEvent, m: &Model| {
        if let Some(hook) = &hook {
            hook(&ev);
        }
        let epoch_end = matches!(ev, TrainEvent::Epoch(_));
        match &ev {
            TrainEvent::Step(s) => {
                at = TrainedTo {
                    step: s.global_step,
                    epoch: s.epoch,
                }
            }
            TrainEvent::Epoch(e) => at.epoch = e.epoch,
            _ => {}
        }
        events.send(Event::Train(ev));
        if epoch_end && let Some(store) = &recovery {
            // Nothing trained is lost: the weights of every finished epoch are on disk.
            if let Err(e) = store.save(m, dataset_path.as_deref(), model_path.as_deref()) {
                events.send(Event::Failed {
                    job: JobKind::SaveModel,
                    error: format!("could not write the recovery file: {e}"),
                });
            }
        }
        if epoch_end || last_snapshot.elapsed() >= SNAPSHOT_EVERY {
            last_snapshot = Instant::now();
            if let Ok(copy) = m.duplicate() {
                let trained = book.borrow().as_ref().and_then(MapCodeBook::snapshot);
                encoder.offer(copy, at, trained);
            }
        }
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut record = |codes: BatchCodes<'_>| {
            if let Some(book) = book.borrow_mut().as_mut() {
                book.record(&codes);
            }
        };
        train_reporting_codes(
            &mut own,
            &data,
            &config,
            control,
            &mut sink,
            Some(&mut record),
        )
    }));
    // The run's snapshots reach the window before the news that it ended.
    encoder.finish();
    match outcome {
        Ok(result) => events.send(Event::TrainDone {
            generation,
            model: Arc::new(own),
            result: result.map_err(|e| e.to_string()),
        }),
        // The weights may be half-updated: the window keeps its last snapshot.
        Err(payload) => events.send(Event::TrainCrashed(panic_message(payload.as_ref()))),
    }
}

impl Drop for TrainerHandle {
    /// Closing the window mid-training stops the run (within a step); the last finished
    /// epoch is in the recovery file.
    fn drop(&mut self) {
        self.control.stop();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::StepStats;
    use std::sync::Mutex;
    use std::sync::mpsc::channel;

    #[test]
    fn step_figures_ask_for_a_repaint_at_display_pace_and_anything_else_at_once() {
        let ctx = egui::Context::default();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&asked);
        ctx.set_request_repaint_callback(move |info| log.lock().unwrap().push(info.delay));
        let (tx, rx) = channel();
        let events = EventSender::new(tx, ctx.clone());
        let step = |global_step| {
            Event::Train(TrainEvent::Step(StepStats {
                epoch: 1,
                step: global_step,
                global_step,
                loss: 1.0,
                recon: 1.0,
                kl: 0.0,
                beta: 1.0,
                samples_per_sec: 1.0,
            }))
        };
        for k in 1..=50 {
            events.send(step(k));
        }
        // Fifty steps, one request: later ones are no sooner than the one pending.
        assert_eq!(*asked.lock().unwrap(), vec![STEP_REPAINT_EVERY]);
        events.send(Event::TrainCrashed("x".into()));
        assert_eq!(asked.lock().unwrap().last(), Some(&Duration::ZERO));
        // Every event still arrives.
        assert_eq!(rx.try_iter().count(), 51);
    }
}
