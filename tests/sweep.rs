//! A rate-distortion sweep on a small real MNIST subset: one model per beta, each saved, and
//! as beta grows the held-out rate (KL) falls and the distortion (reconstruction) rises; and
//! the `sweep` command's CSV and refusals.

mod common;

use common::mnist_dir;
use latent_explorer::data::{Dataset, LoadOptions, Split, load_dataset};
use latent_explorer::model::{Model, VaeConfig};
use latent_explorer::train::{
    SWEEP_SUMMARY, SweepEvent, TrainConfig, TrainControl, read_sweep, run_sweep, sweep_csv,
    sweep_points, sweep_subset,
};
use std::path::Path;
use std::process::Command;

/// The first 3,000 training and 500 held-out MNIST images.
fn subset() -> Dataset {
    let data = load_dataset(&mnist_dir(), &LoadOptions::default()).unwrap();
    let mut keep: Vec<usize> = data.indices(Split::Train).into_iter().take(3000).collect();
    keep.extend(data.indices(Split::Test).into_iter().take(500));
    data.subset(&keep).unwrap()
}

#[test]
fn rate_falls_and_distortion_rises_as_beta_grows() {
    let data = subset();
    let dir = tempfile::tempdir().unwrap();
    let points = sweep_points(&[0.25, 1.0, 4.0], &[8]).unwrap();
    let config = TrainConfig {
        epochs: 4,
        ..Default::default()
    };
    let mut done = 0;
    let summary = dir.path().join(SWEEP_SUMMARY);
    let results = run_sweep(
        &data,
        &VaeConfig::mnist(8),
        &config,
        &points,
        dir.path(),
        &TrainControl::new(),
        &mut |ev| {
            if let SweepEvent::Done { index, .. } = ev {
                done += 1;
                // The summary lists every model done so far, this one included.
                assert_eq!(
                    read_sweep(summary.parent().unwrap()).unwrap().len(),
                    index + 1
                );
            }
        },
    )
    .unwrap();
    assert_eq!((results.len(), done), (3, 3));
    for r in &results {
        eprintln!(
            "beta {}: rate {:.2}, distortion {:.2}",
            r.point.beta, r.rate, r.distortion
        );
        // Saved, loadable, with the beta and latent size it was trained with.
        let m = Model::load(&r.path).unwrap();
        assert_eq!((m.config().beta, m.latent()), (r.point.beta, 8));
        assert_eq!(r.held_out, 500);
    }
    for w in results.windows(2) {
        assert!(w[1].rate < w[0].rate, "rate: {:?}", results);
        assert!(
            w[1].distortion > w[0].distortion,
            "distortion: {:?}",
            results
        );
    }
    // Rate-distortion points: a much higher beta costs many nats of distortion.
    assert!(results[0].rate > 2.0 * results[2].rate, "{results:?}");
    let csv = sweep_csv(&results);
    assert_eq!(csv.lines().count(), 4);
    assert!(csv.starts_with("beta,latent,rate,distortion,elbo,"));
    assert_eq!(std::fs::read_to_string(&summary).unwrap(), csv);
    // Read back: the same models, figures to the summary's 4 decimals.
    let read = read_sweep(dir.path()).unwrap();
    for (a, b) in read.iter().zip(&results) {
        assert_eq!(
            (a.point, &a.path, a.held_out),
            (b.point, &b.path, b.held_out)
        );
        assert!((a.rate - b.rate).abs() < 1e-4 && (a.distortion - b.distortion).abs() < 1e-4);
    }
}

#[test]
fn a_summary_that_is_not_one_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let refused = |text: &str, needle: &str| {
        std::fs::write(dir.path().join(SWEEP_SUMMARY), text).unwrap();
        let e = read_sweep(dir.path()).unwrap_err().to_string();
        assert!(e.contains(SWEEP_SUMMARY) && e.contains(needle), "{e}");
        assert!(!e.contains('\n'), "{e}");
    };
    let header = "beta,latent,rate,distortion,elbo,held_out,train_secs,model\n";
    refused("a,b\n1,2\n", "header");
    refused(
        &format!("{header}x,2,1,1,-2,10,1,m.safetensors\n"),
        "beta 'x'",
    );
    refused(
        &format!("{header}1,2.5,1,1,-2,10,1,m.safetensors\n"),
        "latent '2.5'",
    );
    refused(
        &format!("{header}1,2,1,1,-2,10,1,../m.safetensors\n"),
        "not a file name",
    );
    refused(&format!("{header}1,2,1\n"), "row 1");
    std::fs::write(
        dir.path().join(SWEEP_SUMMARY),
        format!("{header}0.5,2,3.25,120.5,-123.75,100,1.5,\"a,b.safetensors\"\n"),
    )
    .unwrap();
    let r = read_sweep(dir.path()).unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].point.beta, r[0].point.latent, r[0].held_out),
        (0.5, 2, 100)
    );
    assert_eq!(r[0].path, dir.path().join("a,b.safetensors"));
    // No summary at all: not found, naming it.
    let empty = tempfile::tempdir().unwrap();
    let e = read_sweep(empty.path()).unwrap_err().to_string();
    assert!(e.contains(SWEEP_SUMMARY), "{e}");
    // The subset keeps the first training samples and a sixth as many held out.
    let data = subset();
    let small = sweep_subset(&data, 600).unwrap();
    assert_eq!(small.len(), 700);
    assert!(sweep_subset(&data, 0).is_err());
}

#[test]
fn sweep_points_refuse_bad_settings() {
    assert!(sweep_points(&[], &[2]).is_err());
    assert!(sweep_points(&[1.0], &[]).is_err());
    assert!(sweep_points(&[-1.0], &[2]).is_err());
    assert!(sweep_points(&[f64::NAN], &[2]).is_err());
    assert!(sweep_points(&[1.0, 1.0], &[2]).is_err());
    assert_eq!(sweep_points(&[1.0, 2.0], &[2, 4]).unwrap().len(), 4);
}

fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_latent-explorer"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

#[test]
fn the_sweep_command_writes_models_and_a_csv_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rd");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let o = run(&[
        "sweep",
        "--beta",
        "0.5,4",
        "--latent",
        "4",
        "--epochs",
        "1",
        "--limit",
        "1200",
        "--out-dir",
        &s(&out),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 3, "{csv}");
    assert!(rows[1].starts_with("0.5,4,") && rows[2].starts_with("4,4,"));
    assert!(out.join("beta-0.5_latent-4.safetensors").is_file());
    assert!(out.join("beta-4_latent-4.safetensors").is_file());

    let refused = |args: &[&str], needle: &str| {
        let o = run(args);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(o.status.code(), Some(2), "{err}");
        let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
        assert_eq!(errors.len(), 1, "{err}");
        assert!(errors[0].contains(needle), "'{needle}' not in {err}");
    };
    let fresh = dir.path().join("fresh");
    refused(
        &["sweep", "--beta=-1", "--out-dir", &s(&fresh)],
        "beta must be",
    );
    refused(&["sweep", "--beta", "x", "--out-dir", &s(&fresh)], "--beta");
    refused(
        &["sweep", "--latent", "0", "--out-dir", &s(&fresh)],
        "latent",
    );
    refused(
        &["sweep", "--epochs", "0", "--out-dir", &s(&fresh)],
        "--epochs",
    );
    let deep = dir.path().join("no").join("such");
    refused(&["sweep", "--out-dir", &s(&deep)], "no");
    assert!(!fresh.exists() && !dir.path().join("no").exists());
}
