//! `latent-explorer bench-maps`: t-SNE and UMAP of every code of a dataset (by default the
//! 70,000 MNIST images through the bundled latent-16 model), beside PCA: the wall time of
//! each stage, and how many of each point's 10 nearest codes are also among its 10 nearest on
//! the map (on a seeded sample of points, searched exactly among all). Then the window's frame
//! time while a t-SNE run optimises on its own thread and updates the map live. JSON lines.

use crate::bench::{emit, loadavg_1m, peak_rss_mib};
use crate::bench_scale::{Headless, NoDialogs, pan_frames, stats};
use egui::Pos2;
use latent_explorer::data::{LoadOptions, load_dataset};
use latent_explorer::error::Result;
use latent_explorer::gui::{AppOptions, ExplorerApp, Projection};
use latent_explorer::latent::Pca;
use latent_explorer::latent::layout::{
    CancelFlag, LayoutMethod, LayoutParams, Stage, compute_layout, neighbour_preservation,
};
use latent_explorer::model::Model;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

pub struct MapsOptions {
    pub data: PathBuf,
    pub model: PathBuf,
    /// Points the neighbour figure is averaged over.
    pub sample: usize,
    /// Skip the window's frames (library timings only).
    pub no_frames: bool,
    /// Only the window's frames.
    pub frames_only: bool,
}

/// Neighbours compared per point.
const K: usize = 10;

pub fn run(opts: &MapsOptions) -> Result<()> {
    if opts.frames_only {
        return frames_during_tsne(opts);
    }
    let data = Arc::new(load_dataset(&opts.data, &LoadOptions::default())?);
    let model = Model::load(&opts.model)?;
    let indices: Vec<usize> = (0..data.len()).collect();
    let t0 = Instant::now();
    let codes = model.encode(&data, &indices)?;
    let l = codes.latent;
    emit(json!({
        "kind": "config",
        "dataset": data.summary(),
        "model": opts.model.display().to_string(),
        "latent": l,
        "points": indices.len(),
        "threads": rayon::current_num_threads(),
        "quality_sample": opts.sample,
        "quality_k": K,
        "encode_seconds": t0.elapsed().as_secs_f64(),
        "loadavg_1m_at_start": loadavg_1m(),
    }));

    let t0 = Instant::now();
    let pca = Pca::fit(&codes.mean, l, 2)?;
    let coords: Vec<[f32; 2]> = codes
        .mean
        .chunks_exact(l)
        .map(|c| {
            let p = pca.project(c);
            [p[0], p[1]]
        })
        .collect();
    let secs = t0.elapsed().as_secs_f64();
    emit(json!({
        "kind": "map",
        "method": "PCA",
        "seconds": secs,
        "neighbours_kept": neighbour_preservation(&codes.mean, l, &coords, K, opts.sample, 1),
        "loadavg_1m": loadavg_1m(),
    }));

    for method in [LayoutMethod::Umap, LayoutMethod::Tsne] {
        let params = LayoutParams::default();
        let t0 = Instant::now();
        let mut neighbours_done = None;
        let mut optimise_started = None;
        let coords = compute_layout(
            &codes.mean,
            l,
            method,
            &params,
            &CancelFlag::new(),
            &mut |p| {
                if p.stage != Stage::Neighbours && neighbours_done.is_none() {
                    neighbours_done = Some(t0.elapsed().as_secs_f64());
                }
                if p.stage == Stage::Optimising && optimise_started.is_none() {
                    optimise_started = Some(t0.elapsed().as_secs_f64());
                }
            },
        )?
        .unwrap_or_default();
        let secs = t0.elapsed().as_secs_f64();
        emit(json!({
            "kind": "map",
            "method": method.name(),
            "params": params,
            "seconds": secs,
            "neighbour_search_seconds": neighbours_done,
            "optimisation_started_at_seconds": optimise_started,
            "neighbours_kept": neighbour_preservation(&codes.mean, l, &coords, K, opts.sample, 1),
            "loadavg_1m": loadavg_1m(),
            "peak_rss_mib": peak_rss_mib(),
        }));
    }
    if !opts.no_frames {
        frames_during_tsne(opts)?;
    }
    Ok(())
}

/// The window's frame times while a t-SNE run lays the map out: idle frames and pans, from
/// the run's start to its end.
fn frames_during_tsne(opts: &MapsOptions) -> Result<()> {
    let ctx = egui::Context::default();
    let app = ExplorerApp::headless(
        ctx.clone(),
        AppOptions {
            dialogs: Arc::new(NoDialogs),
            dataset: Some(opts.data.clone()),
            model: Some(opts.model.clone()),
            restore_settings: false,
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
    h.app.settings.projection = Projection::Tsne;
    let start = Instant::now();
    let mut idle = Vec::new();
    let mut pan = Vec::new();
    // The UI thread's own CPU time per frame beside the wall time: on a loaded machine the
    // wall time also counts the time the thread waited for a core.
    let mut cpu = Vec::new();
    let mut live_updates = 0u64;
    let mut last_version = h.app.ws.map.version;
    while h.app.ws.map.layout_status.is_some() || h.app.ws.map.shown_layout().is_none() {
        if start.elapsed().as_secs() > 600 {
            break;
        }
        for _ in 0..30 {
            let c0 = thread_cpu_ms();
            idle.push(h.frame(Vec::new()));
            cpu.push(thread_cpu_ms() - c0);
        }
        let c0 = thread_cpu_ms();
        pan.extend(pan_frames(&mut h, centre, 30));
        let per = (thread_cpu_ms() - c0) / 32.0;
        cpu.extend(std::iter::repeat_n(per, 32));
        if h.app.ws.map.version != last_version {
            live_updates += 1;
            last_version = h.app.ws.map.version;
        }
    }
    emit(json!({
        "kind": "frames_during_layout",
        "method": "t-SNE",
        "run_seconds_with_frames": start.elapsed().as_secs_f64(),
        "frames": idle.len() + pan.len(),
        "map_updates_seen": live_updates,
        "idle_ms": stats(idle),
        "pan_ms": stats(pan),
        "ui_thread_cpu_ms": stats(cpu),
        "loadavg_1m": loadavg_1m(),
    }));
    Ok(())
}

/// CPU time this thread has used, in milliseconds (NaN where not measured).
#[cfg(not(unix))]
fn thread_cpu_ms() -> f64 {
    f64::NAN
}

/// CPU time this thread has used, in milliseconds.
#[cfg(unix)]
fn thread_cpu_ms() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into the valid, exclusively borrowed `t`.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) } == 0;
    if ok {
        t.tv_sec as f64 * 1000.0 + t.tv_nsec as f64 / 1e6
    } else {
        f64::NAN
    }
}
