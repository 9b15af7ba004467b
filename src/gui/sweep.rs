//! Rate-distortion sweeps in the window: the library's [`run_sweep`] on a thread of its own
//! ("explorer-sweep"), reporting one progress over the whole sweep and each model as it is
//! saved; and the second model of the side-by-side comparison, loaded, encoded and projected on
//! another ("explorer-compare"). Both answer through channels that the window drains in
//! `logic()`; neither touches the workspace's model, so the window stays usable while they run.

use crate::data::Dataset;
use crate::latent::Pca;
use crate::model::{Model, VaeConfig};
use crate::train::{
    SweepEvent, SweepPoint, SweepResult, TrainConfig, TrainControl, TrainEvent, run_sweep,
    split_indices, sweep_subset,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The default folder of a sweep: "sweep-<model name>" in the export folder.
pub fn default_folder(model_path: Option<&Path>, export_folder: Option<&Path>) -> PathBuf {
    let stem = model_path
        .and_then(|p| p.file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "new-model".into());
    export_folder
        .map(Path::to_path_buf)
        .unwrap_or_else(super::export_files::default_folder)
        .join(format!("sweep-{stem}"))
}

/// What the Rate-distortion tab asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepRequest {
    pub points: Vec<SweepPoint>,
    pub epochs: usize,
    /// Train on at most this many training samples (and a sixth as many held out), as the
    /// command's `--limit`; None: all.
    pub limit: Option<usize>,
    pub folder: PathBuf,
}

/// What the sweep thread reports.
enum SweepMsg {
    Starting { index: usize, point: SweepPoint },
    Progress { fraction: f32, epoch: usize },
    Done(SweepResult),
    Ended(Result<(), String>),
}

/// A sweep in progress.
pub struct SweepRun {
    control: TrainControl,
    rx: Receiver<SweepMsg>,
    handle: Option<JoinHandle<()>>,
    pub total: usize,
    pub epochs: usize,
    /// The model being trained (its position in the sweep) and its epoch, from 1.
    pub current: Option<(usize, SweepPoint)>,
    pub epoch: usize,
    /// Fraction of the whole sweep done.
    pub fraction: f32,
    pub started: Instant,
}

impl Drop for SweepRun {
    /// Closing the window mid-sweep stops it within a training step; the models finished so
    /// far are saved and listed in the summary.
    fn drop(&mut self) {
        self.control.stop();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// The second model of the comparison: its codes of the map's samples, projected to 2-D.
pub struct CompareMap {
    pub path: PathBuf,
    /// The dataset generation the codes belong to.
    pub data_generation: u64,
    /// Dataset indices, in the order of `coords`.
    pub indices: Arc<Vec<usize>>,
    pub coords: Vec<[f32; 2]>,
    pub latent: usize,
    /// "PCA" or "latent axes".
    pub projection: &'static str,
    pub secs: f64,
}

type CompareAnswer = Result<CompareMap, String>;

/// The sweep shown in the Rate-distortion tab, the one running, and the comparison.
#[derive(Default)]
pub struct SweepState {
    pub run: Option<SweepRun>,
    /// The folder of the sweep shown, and its models in order.
    pub folder: Option<PathBuf>,
    pub results: Vec<SweepResult>,
    pub compare: Option<CompareMap>,
    /// The model being loaded and encoded for the comparison.
    pub compare_pending: Option<PathBuf>,
    compare_rx: Option<Receiver<CompareAnswer>>,
}

/// What a poll brought, for the window to say.
pub enum SweepNews {
    Saved(SweepResult),
    Finished { models: usize, stopped: bool },
    Failed(String),
    Compared(String),
}

/// How often the sweep thread reports progress within a model.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

impl SweepState {
    pub fn is_running(&self) -> bool {
        self.run.is_some()
    }

    /// Whether the window should keep polling.
    pub fn busy(&self) -> bool {
        self.run.is_some() || self.compare_pending.is_some()
    }

    /// Starts a sweep of `request` on `data` with `base`'s architecture (the caller has
    /// checked the settings and made the folder). The results shown so far are replaced.
    pub fn start(
        &mut self,
        data: Arc<Dataset>,
        base: VaeConfig,
        config: TrainConfig,
        request: SweepRequest,
        ctx: egui::Context,
    ) -> std::io::Result<()> {
        let (tx, rx) = channel();
        let control = TrainControl::new();
        let thread_control = control.clone();
        let total = request.points.len();
        let epochs = config.epochs;
        let folder = request.folder.clone();
        let handle = std::thread::Builder::new()
            .name("explorer-sweep".into())
            .spawn(move || {
                let send = |msg: SweepMsg| {
                    let _ = tx.send(msg);
                    ctx.request_repaint();
                };
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    sweep_thread(&data, &base, &config, &request, &thread_control, &send)
                }));
                send(SweepMsg::Ended(match outcome {
                    Ok(result) => result,
                    Err(payload) => Err(format!(
                        "internal error ({})",
                        super::worker::panic_message(payload.as_ref())
                    )),
                }));
            })?;
        self.folder = Some(folder);
        self.results.clear();
        self.run = Some(SweepRun {
            control,
            rx,
            handle: Some(handle),
            total,
            epochs,
            current: None,
            epoch: 0,
            fraction: 0.0,
            started: Instant::now(),
        });
        Ok(())
    }

    /// Stops the sweep after the current training step; what is saved stays.
    pub fn cancel(&self) {
        if let Some(run) = &self.run {
            run.control.stop();
        }
    }

    /// Shows the sweep saved in `folder` (read by the caller).
    pub fn show_saved(&mut self, folder: PathBuf, results: Vec<SweepResult>) {
        self.folder = Some(folder);
        self.results = results;
    }

    /// Loads, encodes and projects the model at `path` for the comparison, on its own thread.
    /// A request in flight is forgotten (its thread finishes unheard).
    pub fn start_compare(
        &mut self,
        path: PathBuf,
        data: Arc<Dataset>,
        indices: Arc<Vec<usize>>,
        data_generation: u64,
        ctx: egui::Context,
    ) -> std::io::Result<()> {
        let (tx, rx) = channel();
        let asked = path.clone();
        std::thread::Builder::new()
            .name("explorer-compare".into())
            .spawn(move || {
                let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    compare_map(path, &data, indices, data_generation)
                }))
                .unwrap_or_else(|p| {
                    Err(format!(
                        "internal error ({})",
                        super::worker::panic_message(p.as_ref())
                    ))
                });
                let _ = tx.send(answer);
                ctx.request_repaint();
            })?;
        self.compare_pending = Some(asked);
        self.compare_rx = Some(rx);
        Ok(())
    }

    /// Drains what the threads sent; never waits.
    pub fn poll(&mut self, data_generation: u64) -> Vec<SweepNews> {
        let mut news = Vec::new();
        if self
            .compare
            .as_ref()
            .is_some_and(|c| c.data_generation != data_generation)
        {
            // Codes of another dataset's samples mean nothing beside this one's map.
            self.compare = None;
        }
        if let Some(rx) = &self.compare_rx {
            match rx.try_recv() {
                Ok(Ok(map)) => {
                    self.compare_rx = None;
                    self.compare_pending = None;
                    if map.data_generation == data_generation {
                        news.push(SweepNews::Compared(format!(
                            "{}: {} codes in {:.1} s",
                            map.path.display(),
                            map.coords.len(),
                            map.secs
                        )));
                        self.compare = Some(map);
                    }
                }
                Ok(Err(e)) => {
                    self.compare_rx = None;
                    self.compare_pending = None;
                    news.push(SweepNews::Failed(format!("could not compare: {e}")));
                }
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => {
                    self.compare_rx = None;
                    self.compare_pending = None;
                }
            }
        }
        let Some(run) = &mut self.run else {
            return news;
        };
        let mut ended = None;
        loop {
            match run.rx.try_recv() {
                Ok(SweepMsg::Starting { index, point }) => {
                    run.current = Some((index, point));
                    run.epoch = 1;
                    run.fraction = index as f32 / run.total.max(1) as f32;
                }
                Ok(SweepMsg::Progress { fraction, epoch }) => {
                    run.fraction = fraction;
                    run.epoch = epoch;
                }
                Ok(SweepMsg::Done(result)) => {
                    self.results.push(result.clone());
                    news.push(SweepNews::Saved(result));
                }
                Ok(SweepMsg::Ended(result)) => {
                    ended = Some(result);
                    break;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    ended = Some(Err("the sweep stopped unexpectedly".into()));
                    break;
                }
            }
        }
        if let Some(result) = ended {
            let stopped = run.control.is_stopping();
            self.run = None;
            news.push(match result {
                Ok(()) => SweepNews::Finished {
                    models: self.results.len(),
                    stopped,
                },
                Err(e) => SweepNews::Failed(format!("the sweep stopped: {e}")),
            });
        }
        news
    }
}

fn sweep_thread(
    data: &Dataset,
    base: &VaeConfig,
    config: &TrainConfig,
    request: &SweepRequest,
    control: &TrainControl,
    send: &dyn Fn(SweepMsg),
) -> Result<(), String> {
    let subset;
    let data = match request.limit {
        Some(limit) => {
            subset = sweep_subset(data, limit).map_err(|e| e.to_string())?;
            &subset
        }
        None => data,
    };
    let total = request.points.len().max(1) as f32;
    let epochs = config.epochs.max(1) as f32;
    let steps_per_epoch = split_indices(data, config)
        .0
        .len()
        .div_ceil(config.batch_size.max(1))
        .max(1) as f32;
    let mut model_index = 0usize;
    let mut last_report = Instant::now();
    let mut report = |ev: SweepEvent| match ev {
        SweepEvent::Starting { index, point, .. } => {
            model_index = index;
            send(SweepMsg::Starting { index, point });
        }
        SweepEvent::Train(TrainEvent::Step(s)) if last_report.elapsed() >= PROGRESS_EVERY => {
            last_report = Instant::now();
            let within = ((s.epoch.max(1) - 1) as f32 + s.step as f32 / steps_per_epoch) / epochs;
            send(SweepMsg::Progress {
                fraction: (model_index as f32 + within.min(1.0)) / total,
                epoch: s.epoch,
            });
        }
        SweepEvent::Train(_) => {}
        SweepEvent::Done { result, .. } => send(SweepMsg::Done(result.clone())),
    };
    run_sweep(
        data,
        base,
        config,
        &request.points,
        &request.folder,
        control,
        &mut report,
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
}

/// The most samples the comparison map draws (it is a small, read-only view).
pub const COMPARE_POINTS: usize = 4000;

fn compare_map(
    path: PathBuf,
    data: &Dataset,
    indices: Arc<Vec<usize>>,
    data_generation: u64,
) -> CompareAnswer {
    let t0 = Instant::now();
    let model = Model::load(&path).map_err(|e| e.to_string())?;
    model.check_fits(data).map_err(|e| e.to_string())?;
    let codes = model
        .encode(data, &indices)
        .map_err(|e| format!("could not encode the dataset: {e}"))?;
    let l = codes.latent;
    let (coords, projection): (Vec<[f32; 2]>, _) = if l <= 2 {
        let coords = codes
            .mean
            .chunks(l)
            .map(|c| [c[0], c.get(1).copied().unwrap_or(0.0)])
            .collect();
        (coords, "latent axes")
    } else {
        let pca = Pca::fit(&codes.mean, l, 2).map_err(|e| e.to_string())?;
        let flat = pca.project_all(&codes.mean);
        (flat.chunks(2).map(|c| [c[0], c[1]]).collect(), "PCA")
    };
    Ok(CompareMap {
        path,
        data_generation,
        indices,
        coords,
        latent: l,
        projection,
        secs: t0.elapsed().as_secs_f64(),
    })
}
