//! Background work for the window: a named jobs thread (loading, encoding, batch decoding,
//! saving, exporting) and a named trainer thread per training run. Both send [`Event`]s and wake
//! the window; the window drains them in `logic()` and never waits.

use super::dialogs::{DialogPurpose, ExportKind};
use crate::data::{Dataset, LoadOptions, load_dataset};
use crate::model::{Codes, Model};
use crate::train::{TrainConfig, TrainControl, TrainEvent, TrainSummary, train};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What a batch decode is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodePurpose {
    Strip,
    Grid,
    /// Samples from the selection's posterior.
    Spread,
    /// The decoded grid behind the map.
    Manifold,
}

/// Work for the jobs thread.
pub enum Job {
    LoadDataset(PathBuf),
    LoadModel(PathBuf),
    /// Encode `indices` of `data` for the map; `generation` tells stale answers apart.
    Encode {
        generation: u64,
        model: Arc<Model>,
        data: Arc<Dataset>,
        indices: Arc<Vec<usize>>,
    },
    /// Anomaly scores of the map's samples.
    Score {
        generation: u64,
        model: Arc<Model>,
        data: Arc<Dataset>,
        indices: Arc<Vec<usize>>,
    },
    Decode {
        purpose: DecodePurpose,
        generation: u64,
        model: Arc<Model>,
        codes: Vec<f32>,
    },
    SaveModel {
        model: Arc<Model>,
        path: PathBuf,
    },
    WriteFile {
        kind: ExportKind,
        path: PathBuf,
        contents: ExportContents,
    },
    /// Panics on the worker (tests use it to show a crash there is survived).
    #[doc(hidden)]
    FaultInjection(&'static str),
}

/// What to write for an export.
pub enum ExportContents {
    Png(image::DynamicImage),
    Text(String),
    /// Whole files (a .npy with its labels beside it), each written atomically.
    Files(Vec<(PathBuf, Vec<u8>)>),
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
    Encoded {
        generation: u64,
        codes: Codes,
        secs: f64,
    },
    Decoded {
        purpose: DecodePurpose,
        generation: u64,
        images: Vec<f32>,
    },
    Scored {
        generation: u64,
        scores: crate::analysis::AnomalyScores,
    },
    ModelSaved(PathBuf),
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
        model: Arc<Model>,
        codes: Option<Codes>,
    },
    TrainDone {
        model: Arc<Model>,
        result: Result<TrainSummary, String>,
    },
    /// The trainer panicked; the window keeps the model of its last snapshot.
    TrainCrashed(String),
    Error(String),
}

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
        // A closed window drops the receiver; there is nobody left to tell.
        let _ = self.tx.send(event);
        self.ctx.request_repaint();
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
}

impl JobsWorker {
    pub fn spawn(events: EventSender) -> std::io::Result<Self> {
        let (tx, rx) = channel::<Job>();
        let handle = std::thread::Builder::new()
            .name("explorer-jobs".into())
            .spawn(move || jobs_loop(rx, events))?;
        Ok(Self {
            tx: Some(tx),
            handle: Some(handle),
        })
    }

    /// A worker that runs nothing (when its thread could not be started).
    pub fn disabled() -> Self {
        Self {
            tx: None,
            handle: None,
        }
    }

    pub fn submit(&self, job: Job) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(job);
        }
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

fn jobs_loop(rx: Receiver<Job>, events: EventSender) {
    while let Ok(first) = rx.recv() {
        // Only the newest encode and the newest decode of each purpose matter: drop the
        // ones a later request has made stale (slider drags and training send many).
        let mut queue = vec![first];
        queue.extend(rx.try_iter());
        let last_encode = queue.iter().rposition(|j| matches!(j, Job::Encode { .. }));
        let last_decode = |p: DecodePurpose| {
            queue
                .iter()
                .rposition(|j| matches!(j, Job::Decode { purpose, .. } if *purpose == p))
        };
        let (last_strip, last_grid) = (
            last_decode(DecodePurpose::Strip),
            last_decode(DecodePurpose::Grid),
        );
        for (i, job) in queue.into_iter().enumerate() {
            let stale = match &job {
                Job::Encode { .. } => Some(i) != last_encode,
                Job::Decode {
                    purpose: DecodePurpose::Strip,
                    ..
                } => Some(i) != last_strip,
                Job::Decode {
                    purpose: DecodePurpose::Grid,
                    ..
                } => Some(i) != last_grid,
                _ => false,
            };
            if !stale {
                run_job_guarded(job, &events);
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
fn run_job_guarded(job: Job, events: &EventSender) {
    let loading = matches!(job, Job::LoadDataset(_) | Job::LoadModel(_));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_job(job, events)));
    if let Err(payload) = outcome {
        let what = if loading {
            "could not open the file"
        } else {
            "a background task failed"
        };
        events.send(Event::Error(format!(
            "{what}: internal error ({}); nothing was changed",
            panic_message(payload.as_ref())
        )));
    }
}

fn run_job(job: Job, events: &EventSender) {
    let event = match job {
        Job::FaultInjection(what) => panic!("fault injected: {what}"),
        Job::LoadDataset(path) => {
            let t0 = Instant::now();
            match load_dataset(&path, &LoadOptions::default()) {
                Ok(data) => Event::DatasetLoaded {
                    // Here, not on the UI thread when the Missing data tab first asks.
                    data: {
                        data.train_mean_image();
                        Arc::new(data)
                    },
                    path,
                    secs: t0.elapsed().as_secs_f64(),
                },
                Err(e) => Event::Error(format!("could not open the dataset: {e}")),
            }
        }
        Job::LoadModel(path) => match Model::load(&path) {
            Ok(model) => Event::ModelLoaded {
                model: Arc::new(model),
                path,
            },
            Err(e) => Event::Error(format!("could not open the model: {e}")),
        },
        Job::Encode {
            generation,
            model,
            data,
            indices,
        } => {
            let t0 = Instant::now();
            match model.encode(&data, &indices) {
                Ok(codes) => Event::Encoded {
                    generation,
                    codes,
                    secs: t0.elapsed().as_secs_f64(),
                },
                Err(e) => Event::Error(format!("could not encode the dataset: {e}")),
            }
        }
        Job::Score {
            generation,
            model,
            data,
            indices,
        } => match crate::analysis::score_anomalies(&model, &data, &indices, 2, 1) {
            Ok(scores) => Event::Scored { generation, scores },
            Err(e) => Event::Error(format!("could not score the samples: {e}")),
        },
        Job::Decode {
            purpose,
            generation,
            model,
            codes,
        } => match model.decode(&codes) {
            Ok(images) => Event::Decoded {
                purpose,
                generation,
                images,
            },
            Err(e) => Event::Error(format!("could not decode: {e}")),
        },
        Job::SaveModel { model, path } => match model.save(&path) {
            Ok(()) => Event::ModelSaved(path),
            Err(e) => Event::Error(format!("could not save the model: {e}")),
        },
        Job::WriteFile {
            kind,
            path,
            contents,
        } => {
            let written = match contents {
                ExportContents::Png(image) => crate::render::save_png(&image, &path),
                ExportContents::Text(text) => {
                    crate::atomic::write_atomically(&path, text.as_bytes())
                }
                // The labels file first, so the main file never sits beside stale labels.
                ExportContents::Files(files) => files
                    .iter()
                    .rev()
                    .try_for_each(|(p, bytes)| crate::atomic::write_atomically(p, bytes)),
            };
            match written {
                Ok(()) => Event::Exported { kind, path },
                Err(e) => Event::Error(format!("export failed: {e}")),
            }
        }
    };
    events.send(event);
}

/// A training run on its own thread.
pub struct TrainerHandle {
    pub control: TrainControl,
    handle: Option<JoinHandle<()>>,
}

/// How often the trainer refreshes the window's model and map while it runs.
pub const SNAPSHOT_EVERY: Duration = Duration::from_millis(700);

impl TrainerHandle {
    /// Trains a copy of `model` on `data`; the map's `indices` are re-encoded with every snapshot.
    pub fn spawn(
        model: &Model,
        data: Arc<Dataset>,
        cfg: TrainConfig,
        map_indices: Arc<Vec<usize>>,
        events: EventSender,
    ) -> Result<Self, String> {
        let mut own = model.duplicate().map_err(|e| e.to_string())?;
        let control = TrainControl::new();
        let thread_control = control.clone();
        let handle = std::thread::Builder::new()
            .name("explorer-trainer".into())
            .spawn(move || {
                let mut last_snapshot = Instant::now();
                // Encoding the map runs on this thread between steps: where it is slow (a conv
                // model, a large dataset) snapshots come less often, so that they take at most
                // a fifth of the run.
                let mut snapshot_every = SNAPSHOT_EVERY;
                let mut sink = |ev: TrainEvent, m: &Model| {
                    let epoch_end = matches!(ev, TrainEvent::Epoch(_));
                    events.send(Event::Train(ev));
                    if epoch_end || last_snapshot.elapsed() >= snapshot_every {
                        let started = Instant::now();
                        if let Ok(copy) = m.duplicate() {
                            let codes = copy.encode(&data, &map_indices).ok();
                            events.send(Event::TrainSnapshot {
                                model: Arc::new(copy),
                                codes,
                            });
                        }
                        snapshot_every = SNAPSHOT_EVERY.max(started.elapsed() * 4);
                        last_snapshot = Instant::now();
                    }
                };
                let fault = std::env::var("LATENT_EXPLORER_FAULT").ok();
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let mut steps = 0usize;
                    let mut guarded = |ev: TrainEvent, m: &Model| {
                        if matches!(ev, TrainEvent::Step(_)) {
                            steps += 1;
                            // Fault injection for the crash test: panic mid-run.
                            if steps == 20 && fault.as_deref() == Some("train-panic") {
                                panic!("fault injected into training");
                            }
                        }
                        sink(ev, m)
                    };
                    train(&mut own, &data, &cfg, &thread_control, &mut guarded)
                }));
                match outcome {
                    Ok(result) => events.send(Event::TrainDone {
                        model: Arc::new(own),
                        result: result.map_err(|e| e.to_string()),
                    }),
                    // The weights may be half-updated: the window keeps its last snapshot.
                    Err(payload) => {
                        events.send(Event::TrainCrashed(panic_message(payload.as_ref())))
                    }
                }
            })
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

impl Drop for TrainerHandle {
    /// Closing the window mid-training stops the run (within a step) and saves nothing.
    fn drop(&mut self) {
        self.control.stop();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
