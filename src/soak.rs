//! `latent-explorer soak`: the window's background load without the window, for as long as
//! asked. Training runs on all of the data while a second thread re-encodes the map from
//! fresh snapshots of the model and a third decodes slider positions continuously; resident
//! memory is sampled throughout. It answers "does memory stay flat, does anything error".

use crate::bench::{loadavg_1m, peak_rss_mib};
use latent_explorer::data::{LoadOptions, Split, load_dataset};
use latent_explorer::error::{Error, Result};
use latent_explorer::model::{Model, VaeConfig};
use latent_explorer::train::{TrainConfig, TrainControl, TrainEvent, train};
use serde_json::json;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Current resident memory in MiB (Linux VmRSS).
pub fn rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// One unit of a background loop's work, repeated until the soak ends.
type Work = Box<dyn Fn(&Model) -> Result<()> + Send>;

#[derive(Default)]
struct Counters {
    steps: AtomicU64,
    epochs: AtomicU64,
    encodes: AtomicU64,
    decodes: AtomicU64,
    errors: AtomicU64,
}

pub fn run(data_path: &Path, minutes: f64, latent: usize, report_every_secs: f64) -> Result<()> {
    if !(minutes.is_finite() && minutes > 0.0) {
        return Err(Error::InvalidArgument(format!(
            "--minutes must be > 0, got {minutes}"
        )));
    }
    let data = Arc::new(load_dataset(data_path, &LoadOptions::default())?);
    let map: Arc<Vec<usize>> =
        Arc::new(data.indices(Split::Test).into_iter().take(10_000).collect());
    let model = Model::new_random(VaeConfig::for_shape(data.shape, latent), 1)?;
    let latest = Arc::new(Mutex::new(Arc::new(model.duplicate()?)));
    let counters = Arc::new(Counters::default());
    let control = TrainControl::new();
    let done = Arc::new(AtomicBool::new(false));

    let trainer = {
        let (data, latest, counters, control) = (
            data.clone(),
            latest.clone(),
            counters.clone(),
            control.clone(),
        );
        std::thread::Builder::new()
            .name("soak-trainer".into())
            .spawn(move || {
                let mut model = model;
                let cfg = TrainConfig {
                    epochs: 1_000_000,
                    ..TrainConfig::default()
                };
                let mut last = Instant::now();
                let mut sink = |ev: TrainEvent, m: &Model| {
                    match ev {
                        TrainEvent::Step(_) => counters.steps.fetch_add(1, Ordering::Relaxed),
                        TrainEvent::Epoch(_) => counters.epochs.fetch_add(1, Ordering::Relaxed),
                        TrainEvent::Failed(_) => counters.errors.fetch_add(1, Ordering::Relaxed),
                        _ => 0,
                    };
                    if last.elapsed() >= Duration::from_millis(700) {
                        last = Instant::now();
                        match m.duplicate() {
                            Ok(copy) => {
                                if let Ok(mut l) = latest.lock() {
                                    *l = Arc::new(copy);
                                }
                            }
                            Err(_) => {
                                counters.errors.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                };
                train(&mut model, &data, &cfg, &control, &mut sink)
            })
            .map_err(|e| Error::InvalidArgument(format!("could not start the trainer: {e}")))?
    };
    let spawn_loop = |name: &str, work: Work| {
        let (latest, done, counters) = (latest.clone(), done.clone(), counters.clone());
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    let model = match latest.lock() {
                        Ok(l) => l.clone(),
                        Err(_) => break,
                    };
                    if work(&model).is_err() {
                        counters.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
    };
    let encoder = {
        let (data, map, counters) = (data.clone(), map.clone(), counters.clone());
        spawn_loop(
            "soak-map",
            Box::new(move |m: &Model| {
                m.encode(&data, &map)?;
                counters.encodes.fetch_add(1, Ordering::Relaxed);
                // The window re-encodes at most this often.
                std::thread::sleep(Duration::from_millis(700));
                Ok(())
            }),
        )
    };
    let slider = {
        let counters = counters.clone();
        let calls = AtomicU64::new(0);
        spawn_loop(
            "soak-slider",
            Box::new(move |m: &Model| {
                let k = calls.fetch_add(1, Ordering::Relaxed);
                let z: Vec<f32> = (0..m.latent())
                    .map(|d| ((k as f32) * 0.01 + d as f32).sin() * 2.0)
                    .collect();
                m.decode(&z)?;
                counters.decodes.fetch_add(1, Ordering::Relaxed);
                // A drag produces one decode per frame.
                std::thread::sleep(Duration::from_millis(4));
                Ok(())
            }),
        )
    };
    let (encoder, slider) = (
        encoder.map_err(|e| Error::InvalidArgument(e.to_string()))?,
        slider.map_err(|e| Error::InvalidArgument(e.to_string()))?,
    );

    let start = Instant::now();
    let total = Duration::from_secs_f64(minutes * 60.0);
    let mut rss_at_minute_1 = None;
    let report = |t: f64| {
        let r = json!({
            "kind": "soak", "t_secs": t, "rss_mib": rss_mib(), "peak_rss_mib": peak_rss_mib(),
            "steps": counters.steps.load(Ordering::Relaxed),
            "epochs": counters.epochs.load(Ordering::Relaxed),
            "map_encodes": counters.encodes.load(Ordering::Relaxed),
            "slider_decodes": counters.decodes.load(Ordering::Relaxed),
            "errors": counters.errors.load(Ordering::Relaxed),
            "loadavg_1m": loadavg_1m(),
        });
        println!("{r}");
    };
    let mut next_report = 0.0;
    while start.elapsed() < total && !trainer.is_finished() {
        std::thread::sleep(Duration::from_millis(200));
        let t = start.elapsed().as_secs_f64();
        if rss_at_minute_1.is_none() && t >= 60.0 {
            rss_at_minute_1 = rss_mib();
        }
        if t >= next_report {
            report(t);
            next_report += report_every_secs.max(1.0);
        }
    }
    control.stop();
    done.store(true, Ordering::Relaxed);
    let trained = trainer.join();
    let _ = (encoder.join(), slider.join());
    report(start.elapsed().as_secs_f64());
    let train_error = match trained {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some("the trainer panicked".to_string()),
    };
    println!(
        "{}",
        json!({
            "kind": "soak-summary", "minutes": start.elapsed().as_secs_f64() / 60.0,
            "rss_mib_at_minute_1": rss_at_minute_1, "rss_mib_at_end": rss_mib(),
            "peak_rss_mib": peak_rss_mib(), "errors": counters.errors.load(Ordering::Relaxed),
            "train_error": train_error,
        })
    );
    if counters.errors.load(Ordering::Relaxed) > 0 {
        return Err(Error::InvalidArgument("the soak run saw errors".into()));
    }
    Ok(())
}
