//! The importance-weighted bound on log p(x) (Burda et al.) on the real bundled MNIST and the
//! bundled models: it is at least the ELBO, grows with k, equals the ELBO in expectation at
//! k = 1, is seeded, refuses k outside 1..=5000; and the `evaluate` command.
//!
//! Tolerances are standard errors of per-sample differences over a few hundred held-out
//! samples. Samples are independent, so a mean of n differences is close to normal with the
//! sample standard error; 4 standard errors is a two-sided false-alarm rate of about 6e-5, and
//! with the fixed seeds every run gives the same numbers anyway (the tolerance is what keeps a
//! change of seed or of floating-point order from failing a true statement).

mod common;

use common::mnist_dir;
use latent_explorer::analysis::{
    AnomalyScore, LikelihoodEstimate, MAX_IW_SAMPLES, importance_weighted_bound, recon_constant,
    score_anomalies,
};
use latent_explorer::data::{Dataset, LoadOptions, Split, load_dataset};
use latent_explorer::model::{Likelihood, Model, VaeConfig};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

const BIN: &str = env!("CARGO_BIN_EXE_latent-explorer");

fn mnist() -> &'static Dataset {
    static DATA: OnceLock<Dataset> = OnceLock::new();
    DATA.get_or_init(|| load_dataset(&mnist_dir(), &LoadOptions::default()).unwrap())
}

fn model_path(latent: usize) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("models/mnist-latent{latent}.safetensors"))
}

fn model(latent: usize) -> Model {
    Model::load(&model_path(latent)).unwrap()
}

/// The first `n` held-out MNIST samples.
fn held_out(n: usize) -> Vec<usize> {
    mnist().indices(Split::Test).into_iter().take(n).collect()
}

fn estimate(model: &Model, indices: &[usize], k: usize, seed: u64) -> LikelihoodEstimate {
    importance_weighted_bound(
        model,
        mnist(),
        indices,
        k,
        seed,
        &|_| {},
        &AtomicBool::new(false),
    )
    .unwrap()
    .expect("not cancelled")
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Mean and standard error of a - b, sample by sample.
fn paired(a: &[f64], b: &[f64]) -> (f64, f64) {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    (mean(&d), LikelihoodEstimate::standard_error(&d))
}

#[test]
fn iw_bound_is_at_least_the_elbo_and_grows_with_k() {
    for latent in [16, 2] {
        let m = model(latent);
        let idx = held_out(300);
        let e1 = estimate(&m, &idx, 1, 7);
        let e10 = estimate(&m, &idx, 10, 7);
        let e100 = estimate(&m, &idx, 100, 7);
        println!(
            "latent {latent}: ELBO {:.3} | IW k=1 {:.3}, k=10 {:.3}, k=100 {:.3} (300 held-out samples)",
            e100.mean_elbo(),
            e1.mean_iw_bound(),
            e10.mean_iw_bound(),
            e100.mean_iw_bound()
        );
        for e in [&e1, &e10, &e100] {
            assert!(e.iw_bound.iter().all(|v| v.is_finite() && *v < 0.0));
            // At or above the ELBO of the same draws, on average.
            let (gap, se) = paired(&e.iw_bound, &e.elbo);
            assert!(
                gap > -4.0 * se,
                "latent {latent}, k = {}: IW bound below the ELBO by {gap:.3} (se {se:.3})",
                e.samples
            );
        }
        // With k = 100 the gap is real, not noise: several nats for these MLP VAEs.
        let (gap, se) = paired(&e100.iw_bound, &e100.elbo);
        assert!(gap > 0.5 && gap > 4.0 * se, "gap {gap:.3} (se {se:.3})");
        // Non-decreasing in k (k = 10 reuses k = 1's draw and adds nine: the pairing is tight).
        for (lo, hi) in [(&e1, &e10), (&e10, &e100)] {
            let (d, se) = paired(&hi.iw_bound, &lo.iw_bound);
            assert!(
                d > -4.0 * se,
                "latent {latent}: L_{} - L_{} = {d:.3} (se {se:.3})",
                hi.samples,
                lo.samples
            );
        }
        assert!(e100.mean_iw_bound() > e10.mean_iw_bound());
        assert!(e10.mean_iw_bound() > e1.mean_iw_bound());
    }
}

/// L_1 = log p(x|z) + log p(z) - log q(z|x) for one draw; the ELBO takes the KL exactly.
/// Their difference per sample is KL - (log q - log p)(z), whose expectation is exactly 0:
/// its mean over 400 samples must lie within 4 standard errors of 0. The ELBO the training
/// code path reports (`Model::score`, other draws) must agree with L_1 within 4 standard errors
/// of their paired difference too: that ties log p(x|z) here to the training loss.
#[test]
fn k_1_equals_the_single_draw_elbo_in_expectation() {
    for latent in [16, 2] {
        let m = model(latent);
        let idx = held_out(400);
        let e = estimate(&m, &idx, 1, 3);
        let (d, se) = paired(&e.iw_bound, &e.elbo);
        println!("latent {latent}: L_1 - ELBO = {d:.4} (se {se:.4})");
        assert!(d.abs() < 4.0 * se, "L_1 - ELBO = {d:.4}, se {se:.4}");
        assert!(se < 1.0, "the test would be too loose: se {se}");

        // The training loss's estimator: recon of one draw plus the exact KL.
        let s = m.score(mnist(), &idx, 11).unwrap();
        let train_elbo: Vec<f64> = s.loss().iter().map(|&v| -(v as f64)).collect();
        for (a, b) in s.kl.iter().zip(&e.kl) {
            assert!(
                (*a as f64 - b).abs() < 1e-3 * b.abs().max(1.0),
                "KL {a} vs {b}"
            );
        }
        // Both are unbiased estimates of each sample's ELBO from independent draws: their
        // paired difference has mean 0.
        let (diff, se_paired) = paired(&e.iw_bound, &train_elbo);
        println!(
            "latent {latent}: training-path ELBO {:.3}, L_1 {:.3}, paired difference {diff:.4} (se {se_paired:.4})",
            mean(&train_elbo),
            mean(&e.iw_bound)
        );
        assert!(diff.abs() < 4.0 * se_paired, "{diff} vs se {se_paired}");
        assert!(
            se_paired < 1.0,
            "the test would be too loose: se {se_paired}"
        );
    }
}

#[test]
fn same_seed_same_numbers_whatever_the_batch() {
    let m = model(16);
    let idx = held_out(120);
    let a = estimate(&m, &idx, 10, 5);
    let b = estimate(&m, &idx, 10, 5);
    assert_eq!(a.iw_bound, b.iw_bound);
    assert_eq!(a.elbo, b.elbo);
    let c = estimate(&m, &idx, 10, 6);
    assert_ne!(a.iw_bound, c.iw_bound, "another seed draws other z");
    // A sample's draws depend on the seed and its index only: scored alone or among others,
    // it gets the same draws (the sums may differ in the last bits with the batch's shape).
    let some = [idx[3], idx[77], idx[100]];
    let alone = estimate(&m, &some, 10, 5);
    for (k, &i) in some.iter().enumerate() {
        let p = idx.iter().position(|&j| j == i).unwrap();
        assert!(
            (alone.iw_bound[k] - a.iw_bound[p]).abs() < 1e-3,
            "{} vs {}",
            alone.iw_bound[k],
            a.iw_bound[p]
        );
    }
}

#[test]
fn k_outside_1_to_5000_is_refused() {
    let m = model(2);
    let idx = held_out(4);
    for k in [0, MAX_IW_SAMPLES + 1] {
        let err =
            importance_weighted_bound(&m, mnist(), &idx, k, 1, &|_| {}, &AtomicBool::new(false))
                .unwrap_err()
                .to_string();
        assert!(err.contains("1 to 5000"), "{err}");
    }
    assert!(estimate(&m, &idx, MAX_IW_SAMPLES, 1).iw_bound.len() == 4);
}

#[test]
fn progress_reaches_one_and_cancel_stops() {
    let m = model(2);
    let idx = held_out(2000);
    let seen = Mutex::new(Vec::new());
    let progress = |f: f64| seen.lock().unwrap().push(f);
    let est =
        importance_weighted_bound(&m, mnist(), &idx, 5, 1, &progress, &AtomicBool::new(false))
            .unwrap()
            .unwrap();
    assert_eq!(est.len(), 2000);
    let seen = seen.into_inner().unwrap();
    assert!(seen.len() > 1, "{seen:?}");
    assert!(seen.iter().all(|f| (0.0..=1.0).contains(f)));
    assert_eq!(seen.iter().copied().fold(0.0, f64::max), 1.0);

    // Set before the start: nothing is computed.
    let cancel = AtomicBool::new(true);
    let r = importance_weighted_bound(&m, mnist(), &idx, 5, 1, &|_| {}, &cancel).unwrap();
    assert!(r.is_none());
    // Set from the progress callback, as a window's Stop button would, mid-way.
    let cancel = AtomicBool::new(false);
    let stop = |_: f64| cancel.store(true, Ordering::Relaxed);
    let r = importance_weighted_bound(&m, mnist(), &idx, 50, 1, &stop, &cancel).unwrap();
    assert!(r.is_none());
}

/// A Gaussian-likelihood model: the ELBO is a true log-density, the training loss's squared
/// error plus D/2 ln(pi).
#[test]
fn gaussian_likelihood_adds_its_normalising_constant() {
    let config = VaeConfig {
        likelihood: Likelihood::Gaussian,
        ..VaeConfig::mnist(4)
    };
    let m = Model::new_random(config, 1).unwrap();
    let idx = held_out(50);
    let e = estimate(&m, &idx, 1, 1);
    let c = 392.0 * std::f64::consts::PI.ln();
    assert!((e.recon_constant - c).abs() < 1e-9);
    assert_eq!(recon_constant(Likelihood::Gaussian, 784), e.recon_constant);
    for i in 0..e.len() {
        assert!((e.elbo[i] - (-(e.recon[i] + c) - e.kl[i])).abs() < 1e-6);
    }
}

#[test]
fn iw_bound_as_an_anomaly_score() {
    let m = model(2);
    let idx = held_out(60);
    let scores = score_anomalies(&m, mnist(), &idx, 2, 1).unwrap();
    assert!(!scores.has(AnomalyScore::NegativeIwBound));
    assert!(scores.value(0, AnomalyScore::NegativeIwBound).is_nan());
    let e = estimate(&m, &idx, 20, 1);
    let scores = scores.with_iw_bound(&e).unwrap();
    assert!(scores.has(AnomalyScore::NegativeIwBound));
    let worst = scores.ranked(AnomalyScore::NegativeIwBound)[0];
    let max = e.iw_bound.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(e.iw_bound[worst], max, "the worst is the least likely");
    // Other samples' estimate is refused.
    let other = estimate(&m, &idx[..10], 2, 1);
    let scores = score_anomalies(&m, mnist(), &idx, 2, 1).unwrap();
    assert!(scores.with_iw_bound(&other).is_err());
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("RAYON_NUM_THREADS")
        .args(args)
        .output()
        .expect("run latent-explorer")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The one stderr line `error: ...` and exit code 2.
fn assert_error(out: &Output, needle: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].starts_with("error:") && lines[0].contains(needle),
        "{err}"
    );
}

#[test]
fn evaluate_prints_both_figures_and_writes_one_row_per_sample() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("per-sample.csv");
    let model = model_path(16);
    let out = run(&[
        "evaluate",
        "--model",
        model.to_str().unwrap(),
        "--limit",
        "50",
        "--iw-samples",
        "20",
        "--seed",
        "2",
        "--out",
        csv.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    println!("{stdout}");
    let figure = |name: &str| -> f64 {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} line: {stdout}"));
        line[name.len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let (elbo, iw, gap) = (figure("ELBO:"), figure("IW bound:"), figure("gap:"));
    assert!(elbo < 0.0 && iw < 0.0 && iw > elbo, "{stdout}");
    assert!((iw - elbo - gap).abs() < 2e-3, "{stdout}");
    assert!(stdout.contains("time:"), "{stdout}");

    let body = std::fs::read_to_string(&csv).unwrap();
    let mut lines = body.lines();
    assert_eq!(lines.next(), Some("index,label,elbo,iw_bound"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 50);
    let test = held_out(50);
    let mut sum = (0.0, 0.0);
    for (row, &i) in rows.iter().zip(&test) {
        assert_eq!(row.len(), 4);
        assert_eq!(row[0].parse::<usize>().unwrap(), i);
        assert_eq!(row[1].parse::<u16>().unwrap(), mnist().label(i).unwrap());
        sum.0 += row[2].parse::<f64>().unwrap();
        sum.1 += row[3].parse::<f64>().unwrap();
    }
    assert!((sum.0 / 50.0 - elbo).abs() < 2e-3 && (sum.1 / 50.0 - iw).abs() < 2e-3);
    // The library gives the same numbers for the same seed.
    let e = estimate(&Model::load(&model).unwrap(), &test, 20, 2);
    assert!((e.mean_iw_bound() - iw).abs() < 2e-3);

    // Refusals: k out of range, and an output that is an input.
    assert_error(&run(&["evaluate", "--iw-samples", "0"]), "--iw-samples");
    assert_error(&run(&["evaluate", "--iw-samples", "5001"]), "1 to 5000");
    let before = std::fs::read(&model).unwrap();
    assert_error(
        &run(&[
            "evaluate",
            "--model",
            model.to_str().unwrap(),
            "--limit",
            "5",
            "--out",
            model.to_str().unwrap(),
        ]),
        "is an input",
    );
    assert_eq!(std::fs::read(&model).unwrap(), before);
}

#[test]
fn anomalies_can_rank_by_the_iw_bound() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("a.csv");
    let out = run(&[
        "anomalies",
        "--score",
        "iw",
        "--iw-samples",
        "5",
        "--split",
        "test",
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("negative IW bound"));
    let body = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(body.lines().count(), 10_001);
}
