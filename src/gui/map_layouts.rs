//! t-SNE and UMAP maps in the window. A run takes 10 to 90 s, so it gets a named thread of its
//! own (the jobs thread stays free for decoding); it sends the layout as it optimises, at most
//! every `FRAME_EVERY`, each frame ready to draw (positions, picking grid and the lookup that
//! maps positions back to codes, all built on that thread), and a progress figure. A run is
//! cancelled by its flag, and dropped handles cancel and join.

use super::map_raster::PointGrid;
use super::worker::{Event, EventSender, Stamp};
use crate::latent::layout::{
    CancelFlag, LayoutLookup, LayoutMethod, LayoutParams, LayoutProgress, Stage,
    compute_layout_from,
};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The least time between two live layouts sent to the window (each costs it a redraw of the
/// point raster, not a rebuild: the grid comes ready).
pub const FRAME_EVERY: Duration = Duration::from_millis(400);
/// The least time between two progress figures without a layout.
const PROGRESS_EVERY: Duration = Duration::from_millis(150);

/// What a layout is of: the method and its parameters (bit patterns, so it can key a map).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LayoutKey {
    pub method: LayoutMethod,
    perplexity: u32,
    neighbours: usize,
    min_dist: u32,
    seed: u64,
}

impl LayoutKey {
    /// Only the parameters the method uses are part of the key.
    pub fn new(method: LayoutMethod, p: &LayoutParams) -> Self {
        let (perplexity, neighbours, min_dist) = match method {
            LayoutMethod::Tsne => (p.perplexity.to_bits(), 0, 0),
            LayoutMethod::Umap => (0, p.neighbours, p.min_dist.to_bits()),
        };
        Self {
            method,
            perplexity,
            neighbours,
            min_dist,
            seed: p.seed,
        }
    }
}

/// One layout ready for the map: positions, the picking grid over them, and the lookup
/// between positions and the codes the layout was made from.
pub struct LayoutFrame {
    pub coords: Vec<[f64; 2]>,
    pub grid: PointGrid,
    pub lookup: LayoutLookup,
}

impl LayoutFrame {
    fn build(codes: &Arc<Vec<f32>>, dims: usize, flat: &[f32]) -> Self {
        let coords32: Vec<[f32; 2]> = flat.chunks_exact(2).map(|p| [p[0], p[1]]).collect();
        let coords: Vec<[f64; 2]> = coords32
            .iter()
            .map(|p| [p[0] as f64, p[1] as f64])
            .collect();
        let grid = PointGrid::build(&coords);
        let lookup = LayoutLookup::new(codes.clone(), dims, coords32);
        Self {
            coords,
            grid,
            lookup,
        }
    }
}

/// A run's progress as the map panel shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct LayoutStatus {
    pub key: LayoutKey,
    /// 0..=1 over the whole run.
    pub fraction: f32,
    pub text: String,
    pub started: Instant,
}

/// A layout run on its own thread.
pub struct LayoutRun {
    pub key: LayoutKey,
    /// The map codes version it lays out.
    pub codes_version: u64,
    pub stamp: Stamp,
    cancel: CancelFlag,
    handle: Option<JoinHandle<()>>,
}

impl LayoutRun {
    /// Starts laying out `codes` ([n, dims]), from the positions of `start` where given (the
    /// same samples' layout under earlier weights); events carry `stamp`.
    #[allow(clippy::too_many_arguments)]
    pub fn spawn(
        key: LayoutKey,
        params: LayoutParams,
        codes: Arc<Vec<f32>>,
        dims: usize,
        start: Option<Arc<LayoutFrame>>,
        codes_version: u64,
        stamp: Stamp,
        events: EventSender,
    ) -> Result<Self, String> {
        let cancel = CancelFlag::new();
        let flag = cancel.clone();
        let handle = std::thread::Builder::new()
            .name("explorer-layout".into())
            .spawn(move || {
                let start: Option<Vec<[f32; 2]>> = start.map(|f| {
                    f.coords
                        .iter()
                        .map(|p| [p[0] as f32, p[1] as f32])
                        .collect()
                });
                let run_one = Run {
                    method: key.method,
                    params,
                    codes,
                    dims,
                    start,
                    stamp,
                };
                run(run_one, &flag, events)
            })
            .map_err(|e| format!("could not start the {} run: {e}", key.method.name()))?;
        Ok(Self {
            key,
            codes_version,
            stamp,
            cancel,
            handle: Some(handle),
        })
    }

    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    pub fn is_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(|h| h.is_finished())
    }
}

impl Drop for LayoutRun {
    /// A run nobody wants stops within an epoch (or a neighbour batch).
    fn drop(&mut self) {
        self.cancel.cancel();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// What one run lays out.
struct Run {
    method: LayoutMethod,
    params: LayoutParams,
    codes: Arc<Vec<f32>>,
    dims: usize,
    start: Option<Vec<[f32; 2]>>,
    stamp: Stamp,
}

fn run(what: Run, cancel: &CancelFlag, events: EventSender) {
    let Run {
        method,
        params,
        codes,
        dims,
        start,
        stamp,
    } = what;
    let start = start.as_deref();
    let mut last_frame: Option<Instant> = None;
    let mut last_progress = Instant::now();
    let mut on_progress = |p: &LayoutProgress| {
        let now = Instant::now();
        let frame_due = p.coords.is_some()
            && (last_frame.is_none_or(|t| now - t >= FRAME_EVERY) || p.done == p.total);
        if !frame_due && now - last_progress < PROGRESS_EVERY && p.stage != Stage::Graph {
            return;
        }
        let frame = if frame_due {
            last_frame = Some(now);
            p.coords
                .map(|flat| Arc::new(LayoutFrame::build(&codes, dims, flat)))
        } else {
            None
        };
        last_progress = now;
        events.send(Event::LayoutProgress {
            stamp,
            fraction: p.fraction(),
            text: p.describe(),
            frame,
        });
    };
    let outcome =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match background_pool() {
            Some(pool) => pool.install(|| {
                compute_layout_from(
                    &codes,
                    dims,
                    method,
                    &params,
                    start,
                    cancel,
                    &mut on_progress,
                )
            }),
            None => compute_layout_from(
                &codes,
                dims,
                method,
                &params,
                start,
                cancel,
                &mut on_progress,
            ),
        }));
    let result = match outcome {
        Ok(Ok(Some(coords))) => {
            let flat: Vec<f32> = coords.iter().flat_map(|p| *p).collect();
            Ok(Some(Arc::new(LayoutFrame::build(&codes, dims, &flat))))
        }
        Ok(Ok(None)) => Ok(None),
        Ok(Err(e)) => Err(format!("{} failed: {e}", method.name())),
        Err(payload) => Err(format!(
            "{} failed: internal error ({})",
            method.name(),
            super::worker::panic_message(payload.as_ref())
        )),
    };
    events.send(Event::LayoutDone { stamp, result });
}

/// The run's own rayon threads, at a lower scheduling priority where the system allows. On the
/// global pool a run's long parallel loops would queue the window's own parallel work (the
/// hover preview's decode, the map raster) behind them for a whole epoch.
fn background_pool() -> Option<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(rayon::current_num_threads())
        .thread_name(|i| format!("explorer-layout-{i}"))
        .start_handler(|_| lower_this_threads_priority())
        .build()
        .ok()
}

#[cfg(target_os = "linux")]
fn lower_this_threads_priority() {
    // SAFETY: setpriority only reads its integer arguments; on Linux `who = 0` with
    // PRIO_PROCESS names the calling thread. A failure leaves the priority as it was.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_this_threads_priority() {}
