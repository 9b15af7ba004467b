//! `latent-explorer bench`: training throughput, single-sample decode latency, encode time and
//! peak memory, printed as JSON lines shaped like the PyTorch reference's
//! (`../shared/bench/torch_vae.py`) so the two can be put side by side.
//!
//! Thread counts are fixed per process (rayon's pool and candle's gemm read them once), so
//! without `--threads` the command runs itself once per thread count and relays the lines.

use crate::cli::{BenchArgs, data_or_default};
use latent_explorer::data::{LoadOptions, Split, load_dataset};
use latent_explorer::error::{Error, Result};
use latent_explorer::model::{Architecture, Model, VaeConfig};
use latent_explorer::train::{TrainConfig, TrainControl, TrainEvent, train};
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

/// 1-minute load average, for the record beside every figure.
pub fn loadavg_1m() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Peak resident memory of this process in MiB (Linux VmHWM).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

pub fn emit(v: serde_json::Value) {
    println!("{v}");
    let _ = std::io::stdout().flush();
}

pub fn run(args: BenchArgs) -> Result<()> {
    match current_threads() {
        Some(t) => run_single(&args, t),
        None => run_each_thread_count(&args),
    }
}

/// The thread count this process was started with (`--threads` sets RAYON_NUM_THREADS).
fn current_threads() -> Option<usize> {
    std::env::var("RAYON_NUM_THREADS").ok()?.parse().ok()
}

fn run_each_thread_count(args: &BenchArgs) -> Result<()> {
    let exe = std::env::current_exe().map_err(|e| Error::io("current executable", e))?;
    for &t in &args.thread_counts {
        let mut cmd = Command::new(&exe);
        cmd.arg("--threads").arg(t.to_string()).arg("bench");
        if let Some(d) = &args.data {
            cmd.arg("--data").arg(d);
        }
        cmd.arg("--epochs").arg(args.epochs.to_string());
        cmd.arg("--latent").arg(
            args.latent
                .iter()
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join(","),
        );
        cmd.arg("--decode-calls").arg(args.decode_calls.to_string());
        cmd.arg("--seed").arg(args.seed.to_string());
        cmd.arg("--arch").arg(args.arch.to_string());
        cmd.arg("--limit").arg(args.limit.to_string());
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| Error::io(&exe, e))?;
        if let Some(out) = child.stdout.take() {
            for line in BufReader::new(out).lines().map_while(|l| l.ok()) {
                println!("{line}");
            }
        }
        let status = child.wait().map_err(|e| Error::io(&exe, e))?;
        if !status.success() {
            return Err(Error::InvalidArgument(format!(
                "bench at {t} threads failed ({status})"
            )));
        }
    }
    Ok(())
}

fn run_single(args: &BenchArgs, threads: usize) -> Result<()> {
    let path = data_or_default(args.data.clone())?;
    let load_start = Instant::now();
    let data = load_dataset(&path, &LoadOptions::default())?;
    emit(json!({
        "kind": "config", "framework": "candle", "version": latent_explorer::model::version_string(),
        "threads": threads, "dataset": data.summary(), "arch": args.arch.to_string(), "limit": args.limit,
        "load_seconds": load_start.elapsed().as_secs_f64(),
        "epochs": args.epochs, "batch_size": 128, "lr": 1e-3, "seed": args.seed,
        "loadavg_1m_at_start": loadavg_1m(),
    }));
    emit(json!({
        "kind": "gemm_peak", "framework": "candle", "threads": threads,
        "gflops": gemm_peak_gflops(threads), "size": PEAK_SIZE,
    }));
    let test = data.indices(Split::Test);
    let all: Vec<usize> = (0..data.len()).collect();
    // --limit: the first N training images and every held-out one (times are per sample).
    let limited;
    let train_data = if args.limit > 0 {
        let mut keep = data.indices(Split::Train);
        keep.truncate(args.limit);
        keep.extend_from_slice(&test);
        limited = data.subset(&keep)?;
        &limited
    } else {
        &data
    };
    let arch = args.arch;
    for &latent in &args.latent {
        let config = match arch {
            Architecture::Mlp => VaeConfig::for_shape(data.shape, latent),
            Architecture::Conv => VaeConfig::conv(data.shape, latent),
        };
        let mut model = Model::new_random(config, args.seed)?;
        let cfg = TrainConfig {
            epochs: args.epochs,
            seed: args.seed,
            ..TrainConfig::default()
        };
        let mut sink = |ev: TrainEvent, _: &Model| {
            if let TrainEvent::Epoch(e) = ev {
                emit(json!({
                    "kind": "epoch", "framework": "candle", "latent": latent, "threads": threads,
                    "arch": arch.to_string(), "epoch": e.epoch,
                    "train_loss_per_sample": e.train_loss,
                    "test_loss_per_sample": e.test_loss,
                    "samples_per_sec": e.samples_per_sec,
                    "epoch_seconds": e.epoch_secs,
                    "test_eval_seconds": e.test_eval_secs,
                    "loadavg_1m": loadavg_1m(),
                }));
            }
        };
        train(
            &mut model,
            train_data,
            &cfg,
            &TrainControl::new(),
            &mut sink,
        )?;

        let time_encode = |indices: &[usize]| -> Result<(f64, f64)> {
            let mut times = Vec::new();
            for _ in 0..5 {
                let t0 = Instant::now();
                let codes = model.encode(&data, indices)?;
                times.push(t0.elapsed().as_secs_f64());
                std::hint::black_box(codes);
            }
            times.sort_by(f64::total_cmp);
            Ok((times[times.len() / 2], times[0]))
        };
        if !test.is_empty() {
            let (median, min) = time_encode(&test)?;
            emit(json!({
                "kind": "encode", "framework": "candle", "latent": latent, "threads": threads,
                "n": test.len(), "median_s": median, "min_s": min,
            }));
        }
        let (median, min) = time_encode(&all)?;
        emit(json!({
            "kind": "encode", "framework": "candle", "latent": latent, "threads": threads,
            "n": all.len(), "median_s": median, "min_s": min,
        }));

        let codes = model.encode(&data, &test[..test.len().min(1000)])?;
        let mut lat = Vec::with_capacity(args.decode_calls);
        for _ in 0..20 {
            std::hint::black_box(model.decode(&vec![0.0; latent])?);
        }
        for k in 0..args.decode_calls.max(1) {
            let z = if codes.is_empty() {
                vec![0.0; latent]
            } else {
                codes.mean_of(k % codes.len()).to_vec()
            };
            let t0 = Instant::now();
            let out = model.decode(&z)?;
            lat.push(t0.elapsed().as_secs_f64());
            std::hint::black_box(out);
        }
        lat.sort_by(f64::total_cmp);
        emit(json!({
            "kind": "decode", "framework": "candle", "latent": latent, "threads": threads,
            "calls": lat.len(),
            "median_us": lat[lat.len() / 2] * 1e6,
            "p90_us": lat[(lat.len() * 9 / 10).min(lat.len() - 1)] * 1e6,
            "min_us": lat[0] * 1e6,
            "loadavg_1m": loadavg_1m(),
        }));
    }
    emit(json!({
        "kind": "memory", "framework": "candle", "threads": threads,
        "peak_rss_mib": peak_rss_mib(),
    }));
    Ok(())
}

/// Side of the square f32 product timed for the machine's matrix-product peak.
const PEAK_SIZE: usize = 1024;

/// The best of several PEAK_SIZE^3 f32 products by `gemm` (the kernel every product here
/// uses) on `threads` threads, in GFLOP/s: the ceiling the training figures are compared to.
fn gemm_peak_gflops(threads: usize) -> f64 {
    let n = PEAK_SIZE;
    let a: Vec<f32> = (0..n * n).map(|i| (i % 7) as f32 * 0.1).collect();
    let b: Vec<f32> = (0..n * n).map(|i| (i % 5) as f32 * 0.1).collect();
    let mut c = vec![0f32; n * n];
    let par = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    let mut best = f64::INFINITY;
    for _ in 0..6 {
        let t0 = Instant::now();
        latent_explorer::kernels::dense::product(
            (n, n, n),
            &mut c,
            false,
            &a,
            false,
            &b,
            false,
            par,
        );
        best = best.min(t0.elapsed().as_secs_f64());
    }
    std::hint::black_box(&c);
    2.0 * (n * n * n) as f64 / best / 1e9
}
