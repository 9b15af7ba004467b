//! `latent-explorer bench-scale`: how the cost grows with the number of samples. For each size
//! it times one training epoch on that many images, encoding them all, and the window's frames
//! with that many points on the map: the real app, headless, fed pointer drags (pan), zoom
//! gestures, and pans again while a training run updates the map. A frame's time is the CPU
//! time of egui's pass over the app plus tessellation, what eframe reports as `cpu_usage`;
//! drawing the triangles is the GPU's (or, under Xvfb, the software rasteriser's) business.

use crate::bench::{emit, loadavg_1m, peak_rss_mib};
use egui::{Event, Modifiers, PointerButton, Pos2, RawInput, Rect, Vec2, vec2};
use latent_explorer::data::{Dataset, LoadOptions, Split, load_dataset};
use latent_explorer::error::{Error, Result};
use latent_explorer::gui::{AppOptions, Command, ExplorerApp};
use latent_explorer::model::{Model, VaeConfig};
use latent_explorer::train::{TrainConfig, TrainControl, train};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The window size the frames are measured at (the README screenshots' size).
const SCREEN: Vec2 = vec2(1400.0, 900.0);

pub struct ScaleOptions {
    pub data: PathBuf,
    pub model: PathBuf,
    pub sizes: Vec<usize>,
    pub frames: usize,
    pub latent: usize,
    /// Epochs trained in the window, each beside one trained by the library.
    pub window_rounds: usize,
}

pub fn run(opts: &ScaleOptions) -> Result<()> {
    let data = Arc::new(load_dataset(&opts.data, &LoadOptions::default())?);
    emit(json!({
        "kind": "config",
        "dataset": data.summary(),
        "threads": rayon::current_num_threads(),
        "frames_per_phase": opts.frames,
        "loadavg_1m_at_start": loadavg_1m(),
        "version": latent_explorer::model::version_string(),
    }));
    for &n in &opts.sizes {
        let n = n.min(data.len());
        let indices: Vec<usize> = (0..n).collect();
        let subset = Arc::new(data.subset(&indices)?);

        // One epoch on n training images (no held-out evaluation).
        let mut model = Model::new_random(VaeConfig::for_shape(data.shape, opts.latent), 1)?;
        let cfg = TrainConfig {
            epochs: 1,
            holdout_fraction: 0.0,
            ..TrainConfig::default()
        };
        let train_set = subset_as_train(&subset)?;
        let summary = train(
            &mut model,
            &train_set,
            &cfg,
            &TrainControl::new(),
            &mut |_, _| {},
        )?;
        let epoch_secs = summary.last_epoch.map(|e| e.epoch_secs).unwrap_or(f64::NAN);

        let bundled = Model::load(&opts.model)?;
        let start = Instant::now();
        bundled.encode(&subset, &indices)?;
        let encode_secs = start.elapsed().as_secs_f64();

        let frames = measure_frames(opts, n, &data)?;
        emit(json!({
            "kind": "scale",
            "points": n,
            "train_epoch_seconds": epoch_secs,
            "train_samples_per_sec": n as f64 / epoch_secs,
            "encode_seconds": encode_secs,
            "frame_ms": frames,
            "loadavg_1m": loadavg_1m(),
            "peak_rss_mib": peak_rss_mib(),
        }));
    }
    Ok(())
}

/// One epoch of `model_path` trained as `train` does from the command line.
fn library_rate_for(model_path: &Path, data: &Dataset, cfg: &TrainConfig) -> Result<f64> {
    let mut model = Model::load(model_path)?;
    let cfg = TrainConfig {
        epochs: 1,
        ..cfg.clone()
    };
    let summary = train(&mut model, data, &cfg, &TrainControl::new(), &mut |_, _| {})?;
    Ok(summary.last_epoch.map_or(f64::NAN, |e| e.samples_per_sec))
}

/// The same images, all marked for training.
fn subset_as_train(d: &latent_explorer::data::Dataset) -> Result<latent_explorer::data::Dataset> {
    let pixels: Vec<u8> = (0..d.len())
        .flat_map(|i| d.image_bytes(i).to_vec())
        .collect();
    latent_explorer::data::Dataset::new(
        &d.name,
        d.source.clone(),
        d.shape,
        pixels,
        d.labels().map(|l| l.to_vec()),
        d.class_names().to_vec(),
        vec![Split::Train; d.len()],
    )
}

/// The benchmark opens no files through dialogs.
pub(crate) struct NoDialogs;

impl latent_explorer::gui::FileDialogs for NoDialogs {
    fn pick(&self, _: latent_explorer::gui::DialogPurpose) -> Option<PathBuf> {
        None
    }
}

/// Runs one headless frame of the app and returns its CPU milliseconds.
pub(crate) struct Headless {
    pub(crate) ctx: egui::Context,
    pub(crate) app: ExplorerApp,
    pub(crate) time: f64,
    /// The earliest repaint the app or its threads asked for, as eframe keeps it.
    repaint_at: Arc<Mutex<Option<Instant>>>,
}

impl Headless {
    pub(crate) fn new(ctx: egui::Context, app: ExplorerApp) -> Self {
        let repaint_at = Arc::new(Mutex::new(None::<Instant>));
        let requests = Arc::clone(&repaint_at);
        ctx.set_request_repaint_callback(move |info| {
            let at = Instant::now() + info.delay;
            let mut next = requests.lock().unwrap_or_else(|e| e.into_inner());
            *next = Some(next.map_or(at, |n| n.min(at)));
        });
        Self {
            ctx,
            app,
            time: 0.0,
            repaint_at,
        }
    }

    /// Runs frames as eframe would with nobody at the controls: only when the app (or one of its
    /// threads) asked for a repaint, and never more often than a 60 Hz display shows them.
    /// Returns how many frames ran.
    pub(crate) fn paced_frames_while(&mut self, go_on: impl Fn(&ExplorerApp) -> bool) -> usize {
        const VSYNC: Duration = Duration::from_micros(16_667);
        let mut frames = 0;
        let mut last = Instant::now();
        while go_on(&self.app) {
            let due = *self.repaint_at.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            match due {
                Some(at) if at <= now && now >= last + VSYNC => {
                    *self.repaint_at.lock().unwrap_or_else(|e| e.into_inner()) = None;
                    last = now;
                    let out = self.frame_output(Vec::new());
                    frames += 1;
                    let delay = out
                        .viewport_output
                        .get(&egui::ViewportId::ROOT)
                        .map_or(Duration::MAX, |v| v.repaint_delay);
                    if delay != Duration::MAX {
                        let at = Instant::now() + delay;
                        let mut next = self.repaint_at.lock().unwrap_or_else(|e| e.into_inner());
                        *next = Some(next.map_or(at, |n| n.min(at)));
                    }
                }
                // Asleep until the next request or the next display refresh, whichever is later.
                Some(at) => std::thread::sleep(at.max(last + VSYNC).saturating_duration_since(now)),
                None => std::thread::sleep(Duration::from_millis(1)),
            }
        }
        frames
    }

    fn frame_output(&mut self, events: Vec<Event>) -> egui::FullOutput {
        self.time += 1.0 / 60.0;
        let input = RawInput {
            screen_rect: Some(Rect::from_min_size(Pos2::ZERO, SCREEN)),
            time: Some(self.time),
            predicted_dt: 1.0 / 60.0,
            events,
            ..Default::default()
        };
        let mut out = self.app.run_frame(&self.ctx, input);
        let shapes = std::mem::take(&mut out.shapes);
        let _ = self.ctx.tessellate(shapes, out.pixels_per_point);
        out
    }

    pub(crate) fn frame(&mut self, events: Vec<Event>) -> f64 {
        let start = Instant::now();
        self.frame_output(events);
        start.elapsed().as_secs_f64() * 1000.0
    }

    pub(crate) fn until(&mut self, what: &str, done: impl Fn(&ExplorerApp) -> bool) -> Result<()> {
        let start = Instant::now();
        while !done(&self.app) {
            if start.elapsed() > Duration::from_secs(120) {
                return Err(Error::InvalidArgument(format!(
                    "timed out waiting for {what}"
                )));
            }
            self.frame(Vec::new());
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }
}

pub(crate) fn stats(mut ms: Vec<f64>) -> serde_json::Value {
    ms.sort_by(f64::total_cmp);
    let q = |f: f64| ms[((ms.len() - 1) as f64 * f).round() as usize];
    json!({"median": q(0.5), "p90": q(0.9), "max": q(1.0)})
}

fn measure_frames(opts: &ScaleOptions, n: usize, data: &Dataset) -> Result<serde_json::Value> {
    let ctx = egui::Context::default();
    let app = ExplorerApp::headless(
        ctx.clone(),
        AppOptions {
            dialogs: Arc::new(NoDialogs),
            dataset: Some(opts.data.clone()),
            model: Some(opts.model.clone()),
            restore_settings: false,
            map_points: Some(n),
            recovery: None,
            log: false,
            ..AppOptions::default()
        },
    );
    let mut h = Headless::new(ctx, app);
    h.until("the map", |a| {
        a.ws.map.codes.is_some() && a.panels.map.screen.is_some() && !a.is_busy()
    })?;
    let centre = h
        .app
        .panels
        .map
        .screen
        .map(|t| t.frame().center())
        .unwrap_or(Pos2::new(700.0, 450.0));
    // Warm-up: a few idle frames.
    for _ in 0..10 {
        h.frame(Vec::new());
    }
    let pan = pan_frames(&mut h, centre, opts.frames);
    let zoom: Vec<f64> = (0..opts.frames)
        .map(|k| {
            let factor = if (k / 20) % 2 == 0 { 1.03 } else { 1.0 / 1.03 };
            h.frame(vec![Event::PointerMoved(centre), Event::Zoom(factor)])
        })
        .collect();
    let redraws_before = h.app.panels.map.raster.redraws;
    let idle: Vec<f64> = (0..opts.frames).map(|_| h.frame(Vec::new())).collect();
    let idle_redraws = h.app.panels.map.raster.redraws - redraws_before;
    // Every tenth point's posterior ellipse drawn while panning.
    h.app.settings.show_all_ellipses = true;
    let ellipses = pan_frames(&mut h, centre, opts.frames);
    h.app.settings.show_all_ellipses = false;
    // The mouse wheel zooms about the cursor.
    let wheel: Vec<f64> = (0..opts.frames)
        .map(|k| {
            let dy = if (k / 20) % 2 == 0 { 6.0 } else { -6.0 };
            h.frame(vec![
                Event::PointerMoved(centre),
                Event::MouseWheel {
                    unit: egui::MouseWheelUnit::Point,
                    delta: vec2(0.0, dy),
                    modifiers: Modifiers::default(),
                    phase: egui::TouchPhase::Move,
                    source: egui::MouseWheelSource::Unknown,
                },
            ])
        })
        .collect();
    h.app.apply(Command::StartTraining);
    h.until("training to start", |a| a.is_training())?;
    let training = pan_frames(&mut h, centre, opts.frames);
    h.app.apply(Command::StopTraining);
    h.until("training to stop", |a| !a.is_training())?;
    let in_window = window_against_library(&mut h, opts, data)?;
    // Zoomed in until the points in view are drawn as their images, then panned.
    let mut zoom_steps = 0;
    while h.app.panels.map.thumbnails.shown == 0 && zoom_steps < 400 {
        h.frame(vec![Event::PointerMoved(centre), Event::Zoom(1.1)]);
        zoom_steps += 1;
    }
    let thumbnails_shown = h.app.panels.map.thumbnails.shown;
    let thumbnails = pan_frames(&mut h, centre, opts.frames);
    Ok(json!({
        "map_ready_seconds": h.app.startup_secs,
        "pan": stats(pan),
        "zoom": stats(zoom),
        "idle": stats(idle),
        "pan_with_ellipses": stats(ellipses),
        "wheel_zoom": stats(wheel),
        "pan_with_thumbnails": stats(thumbnails),
        "thumbnails_in_view": thumbnails_shown,
        "pan_while_training": stats(training),
        "training_in_window": in_window,
        "raster_redraws_while_idle": idle_redraws,
        "last_raster_ms": h.app.panels.map.raster.last_redraw_ms,
    }))
}

/// Whole epochs in the window, the map re-encoded at every snapshot, nobody at the controls
/// (frames run when the app asks for them, as eframe runs them on a 60 Hz display), each just
/// after an epoch of the same model, data and settings trained by the library as the command
/// line trains it. Alternated a few times: a shared machine's speed drifts by a third for
/// seconds at a time, and a pair measured together sees the same drift.
fn window_against_library(
    h: &mut Headless,
    opts: &ScaleOptions,
    data: &Dataset,
) -> Result<serde_json::Value> {
    h.app.settings.train.epochs = 1;
    let mut rounds = Vec::new();
    for _ in 0..opts.window_rounds.max(1) {
        let library_cpu_before = cpu_seconds_by_thread();
        let library_started = Instant::now();
        let library = library_rate_for(&opts.model, data, &h.app.settings.train)?;
        let library_secs = library_started.elapsed().as_secs_f64();
        let library_cpu = cpu_used_since(&library_cpu_before, Default::default());
        let timeline_before = h.app.ws.timeline.frames.len();
        let cpu_before = cpu_seconds_by_thread();
        h.app.apply(Command::StartTraining);
        h.until("training to start", |a| a.is_training())?;
        let started = Instant::now();
        // Threads that end with the run (the trainer's, the snapshot encoder's) leave /proc
        // with it: their last counts are read a few times a second while it runs.
        let last_seen = std::cell::RefCell::new(cpu_seconds_by_thread());
        let last_read = std::cell::Cell::new(Instant::now());
        let frames = h.paced_frames_while(|a| {
            if last_read.get().elapsed() > Duration::from_millis(100) {
                last_read.set(Instant::now());
                last_seen.borrow_mut().extend(cpu_seconds_by_thread());
            }
            a.is_training() && started.elapsed() < Duration::from_secs(900)
        });
        let secs = started.elapsed().as_secs_f64();
        let cpu = cpu_used_since(&cpu_before, last_seen.into_inner());
        // Each snapshot's codes add a frame to the run's timeline.
        let refreshes = h
            .app
            .ws
            .timeline
            .frames
            .len()
            .saturating_sub(timeline_before);
        h.app.apply(Command::StopTraining);
        h.until("training to stop", |a| !a.is_training())?;
        let window = h
            .app
            .panels
            .training
            .last_step
            .as_ref()
            .map(|s| s.samples_per_sec);
        rounds.push(json!({
            "library_samples_per_sec": library,
            "window_samples_per_sec": window,
            "share": window.map(|w| w / library),
            "map_refreshes": refreshes,
            "frames_per_sec": frames as f64 / secs,
            "seconds": secs,
            "cpu_seconds_by_thread": cpu,
            // The library's epoch (with its held-out evaluation, if the settings keep one).
            "library_seconds": library_secs,
            "library_cpu_seconds_by_thread": library_cpu,
        }));
    }
    let median = |key: &str| {
        let mut v: Vec<f64> = rounds.iter().filter_map(|r| r[key].as_f64()).collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied()
    };
    Ok(json!({
        "median_share": median("share"),
        "median_library_samples_per_sec": median("library_samples_per_sec"),
        "median_window_samples_per_sec": median("window_samples_per_sec"),
        "rounds": rounds,
    }))
}

/// CPU seconds (user and system) each live thread of this process has used, by thread id,
/// with its name; empty where /proc is not there.
fn cpu_seconds_by_thread() -> std::collections::HashMap<u64, (String, f64)> {
    let mut out = std::collections::HashMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in tasks.flatten() {
        let tid = task.file_name().to_str().and_then(|t| t.parse().ok());
        let stat = std::fs::read_to_string(task.path().join("stat")).ok();
        if let (Some(tid), Some(thread)) = (tid, stat.as_deref().and_then(stat_cpu_seconds)) {
            out.insert(tid, thread);
        }
    }
    if let Some(process) = process_cpu_seconds() {
        out.insert(PROCESS, process);
    }
    out
}

/// CPU seconds used since `before`, summed by thread name (threads started since count whole),
/// from the counts now, or for threads that have ended, from their counts in `last_seen`.
fn cpu_used_since(
    before: &std::collections::HashMap<u64, (String, f64)>,
    mut last_seen: std::collections::HashMap<u64, (String, f64)>,
) -> std::collections::BTreeMap<String, f64> {
    last_seen.extend(cpu_seconds_by_thread());
    let mut by_name = std::collections::BTreeMap::new();
    for (&tid, (name, now)) in &last_seen {
        if tid == PROCESS {
            continue;
        }
        let then = before.get(&tid).map_or(0.0, |(_, s)| *s);
        *by_name.entry(name.clone()).or_insert(0.0) += now - then;
    }
    // What the process used beyond that: threads that ended between two readings.
    let counted: f64 = by_name.values().sum();
    let process_before = before.get(&PROCESS).map_or(0.0, |(_, s)| *s);
    let process_now = last_seen.get(&PROCESS).map_or(0.0, |(_, s)| *s);
    let unaccounted = process_now - process_before - counted;
    if unaccounted > 0.0 {
        by_name.insert("(other)".to_string(), unaccounted);
    }
    by_name.retain(|_, s| *s > 0.0);
    by_name
}

/// The key under which [`cpu_seconds_by_thread`] keeps the whole process's CPU seconds.
const PROCESS: u64 = 0;

fn process_cpu_seconds() -> Option<(String, f64)> {
    stat_cpu_seconds(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// The name and CPU seconds (user and system) in a /proc `stat` line.
fn stat_cpu_seconds(stat: &str) -> Option<(String, f64)> {
    // The kernel counts in clock ticks of 1/100 s on every Linux this runs on (USER_HZ).
    const TICKS_PER_SECOND: f64 = 100.0;
    // "tid (name) state ppid ..." with utime and stime the 14th and 15th fields; the name may
    // hold spaces, so fields are counted from its closing bracket.
    let (open, close) = (stat.find('(')?, stat.rfind(')')?);
    let name = stat[open + 1..close].to_string();
    let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    Some((name, (ticks(11)? + ticks(12)?) / TICKS_PER_SECOND))
}

/// Drags the map back and forth by a few pixels a frame.
pub(crate) fn pan_frames(h: &mut Headless, centre: Pos2, frames: usize) -> Vec<f64> {
    let press = |pos, pressed| Event::PointerButton {
        pos,
        button: PointerButton::Primary,
        pressed,
        modifiers: Modifiers::default(),
    };
    h.frame(vec![Event::PointerMoved(centre), press(centre, true)]);
    let mut pos = centre;
    let ms = (0..frames)
        .map(|k| {
            let dir = if (k / 30) % 2 == 0 { 1.0 } else { -1.0 };
            pos += vec2(4.0 * dir, 2.5 * dir);
            h.frame(vec![Event::PointerMoved(pos)])
        })
        .collect();
    h.frame(vec![press(pos, false)]);
    ms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_gives_its_thread_name_and_cpu_seconds() {
        // Fields after the name: state ppid pgrp session tty tpgid flags minflt cminflt majflt
        // cmajflt utime stime ...; a name may hold spaces and brackets.
        let line = "4242 (explorer (a) b) S 1 1 1 0 -1 4194560 10 0 0 0 250 37 0 0 20 0 1";
        assert_eq!(
            stat_cpu_seconds(line),
            Some(("explorer (a) b".to_string(), 2.87))
        );
        assert_eq!(stat_cpu_seconds("4242 (short) S 1"), None);
    }

    #[test]
    fn this_threads_cpu_time_is_counted_under_its_name() {
        let name = "stat-test-spin";
        let spent = std::thread::Builder::new()
            .name(name.into())
            .spawn(|| {
                let before = cpu_seconds_by_thread();
                let start = Instant::now();
                let mut x = 0u64;
                while start.elapsed() < Duration::from_millis(300) {
                    x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
                }
                cpu_used_since(&before, std::collections::HashMap::new())
            })
            .unwrap()
            .join()
            .unwrap();
        if std::path::Path::new("/proc/self/task").exists() {
            // 300 ms of spinning, counted in ticks of 10 ms, on a machine that may be busy.
            let own = spent.get(name).copied().unwrap_or(0.0);
            assert!((0.05..=0.5).contains(&own), "{spent:?}");
        }
    }
}
