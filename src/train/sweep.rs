//! A rate-distortion sweep (Alemi et al., 2018, "Fixing a Broken ELBO"): one model per
//! setting (beta, and optionally latent size), each trained with the same data, seed and
//! schedule, saved side by side, and placed by its held-out rate and distortion:
//!
//! - rate R = mean KL(q(z|x) || N(0, I)) over the held-out samples (exact, nats);
//! - distortion D = mean reconstruction term -log p(x|z) with z drawn from q(z|x), as the
//!   training loss counts it (nats; for a Gaussian likelihood the squared error, without
//!   the constant of [`crate::analysis::recon_constant`]).
//!
//! R + D is the negative ELBO at beta = 1, so models on one line R + D = c have the same
//! ELBO. Raising beta buys a lower rate with a higher distortion.

use super::{TrainConfig, TrainControl, TrainEvent, split_indices, train};
use crate::atomic::write_atomically;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::{Model, VaeConfig};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The sweep's summary in its folder (see [`sweep_csv`]), rewritten whole after every model so
/// that a stopped sweep's folder still says what it holds.
pub const SWEEP_SUMMARY: &str = "sweep.csv";

/// One model of a sweep: what differs between them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SweepPoint {
    pub beta: f64,
    pub latent: usize,
}

impl SweepPoint {
    /// The checkpoint's file name in the sweep's folder, e.g. `beta-0.25_latent-16.safetensors`.
    pub fn file_name(&self) -> String {
        format!("beta-{}_latent-{}.safetensors", self.beta, self.latent)
    }
}

/// Every (beta, latent) pair, latent sizes outermost.
pub fn sweep_points(betas: &[f64], latents: &[usize]) -> Result<Vec<SweepPoint>> {
    if betas.is_empty() || latents.is_empty() {
        return Err(Error::InvalidArgument(
            "a sweep needs at least one beta and one latent size".into(),
        ));
    }
    if let Some(b) = betas.iter().find(|b| !(b.is_finite() && **b >= 0.0)) {
        return Err(Error::InvalidArgument(format!(
            "beta must be a number >= 0, got {b}"
        )));
    }
    let mut points = Vec::new();
    for &latent in latents {
        for &beta in betas {
            let p = SweepPoint { beta, latent };
            if points.contains(&p) {
                return Err(Error::InvalidArgument(format!(
                    "beta {beta} with latent {latent} is asked for twice"
                )));
            }
            points.push(p);
        }
    }
    Ok(points)
}

/// The first `limit` training samples and a sixth as many held-out ones: a quick sweep on a
/// part of a large dataset (the command's `--limit`, the window's "samples").
pub fn sweep_subset(data: &Dataset, limit: usize) -> Result<Dataset> {
    use crate::data::Split;
    if limit == 0 {
        return Err(Error::InvalidArgument(
            "a sweep needs at least one training sample".into(),
        ));
    }
    let mut keep: Vec<usize> = data.indices(Split::Train).into_iter().take(limit).collect();
    keep.extend(
        data.indices(Split::Test)
            .into_iter()
            .take(limit.div_ceil(6)),
    );
    data.subset(&keep)
}

/// A trained model of the sweep and where it landed.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepResult {
    pub point: SweepPoint,
    /// Held-out rate (KL), nats per sample.
    pub rate: f64,
    /// Held-out distortion (reconstruction), nats per sample.
    pub distortion: f64,
    pub held_out: usize,
    pub path: PathBuf,
    pub train_secs: f64,
}

impl SweepResult {
    /// The ELBO at beta = 1: -(R + D).
    pub fn elbo(&self) -> f64 {
        -(self.rate + self.distortion)
    }
}

/// Held-out rate and distortion of `model` (means over `indices`, one draw of z per sample).
pub fn rate_distortion(
    model: &Model,
    data: &Dataset,
    indices: &[usize],
    seed: u64,
) -> Result<(f64, f64)> {
    if indices.is_empty() {
        return Err(Error::InvalidArgument(
            "no held-out samples to measure rate and distortion on".into(),
        ));
    }
    let s = model.score(data, indices, seed)?;
    let mean = |v: &[f32]| v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
    Ok((mean(&s.kl), mean(&s.recon)))
}

/// What a sweep reports while it runs.
pub enum SweepEvent<'a> {
    /// Model `index` of `total` starts training.
    Starting {
        index: usize,
        total: usize,
        point: SweepPoint,
    },
    /// A training event of the current model.
    Train(&'a TrainEvent),
    /// Model `index` is trained, saved and measured.
    Done {
        index: usize,
        result: &'a SweepResult,
    },
}

/// Trains one model per point: `base` gives the architecture (its beta and latent are
/// replaced by the point's), `config` the run (its beta too). Each is saved in `out_dir` as
/// [`SweepPoint::file_name`] when its training ends, and [`SWEEP_SUMMARY`] is rewritten
/// (atomically) with every model done so far. Stops early (returning what is done) when
/// `control` is stopped.
pub fn run_sweep(
    data: &Dataset,
    base: &VaeConfig,
    config: &TrainConfig,
    points: &[SweepPoint],
    out_dir: &Path,
    control: &TrainControl,
    report: &mut dyn FnMut(SweepEvent),
) -> Result<Vec<SweepResult>> {
    if !out_dir.is_dir() {
        return Err(Error::NotFound {
            path: out_dir.to_path_buf(),
        });
    }
    let (_, held_out) = split_indices(data, config);
    if held_out.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "{} has no held-out samples to measure the models on",
            data.name
        )));
    }
    let mut results = Vec::with_capacity(points.len());
    for (index, &point) in points.iter().enumerate() {
        if control.is_stopping() {
            break;
        }
        report(SweepEvent::Starting {
            index,
            total: points.len(),
            point,
        });
        let model_config = VaeConfig {
            beta: point.beta,
            latent: point.latent,
            ..base.clone()
        };
        model_config.validate()?;
        let mut model = Model::new_random(model_config, config.seed)?;
        let run = TrainConfig {
            beta: point.beta,
            ..config.clone()
        };
        let summary = train(&mut model, data, &run, control, &mut |ev, _| {
            report(SweepEvent::Train(&ev))
        })?;
        if summary.stopped {
            break;
        }
        let path = out_dir.join(point.file_name());
        model.save(&path)?;
        let (rate, distortion) = rate_distortion(&model, data, &held_out, config.seed)?;
        let result = SweepResult {
            point,
            rate,
            distortion,
            held_out: held_out.len(),
            path,
            train_secs: summary.elapsed_secs,
        };
        results.push(result);
        write_atomically(&out_dir.join(SWEEP_SUMMARY), sweep_csv(&results).as_bytes())?;
        report(SweepEvent::Done {
            index,
            result: &results[results.len() - 1],
        });
    }
    Ok(results)
}

/// The sweep as CSV: beta, latent, rate, distortion, elbo (nats per held-out sample), the
/// number of held-out samples, training seconds and the checkpoint's file name.
pub fn sweep_csv(results: &[SweepResult]) -> String {
    let mut csv = String::from("beta,latent,rate,distortion,elbo,held_out,train_secs,model\n");
    for r in results {
        let name = r
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let _ = writeln!(
            csv,
            "{},{},{:.4},{:.4},{:.4},{},{:.2},{}",
            r.point.beta,
            r.point.latent,
            r.rate,
            r.distortion,
            r.elbo(),
            r.held_out,
            r.train_secs,
            crate::latent::csv_field(&name)
        );
    }
    csv
}

/// Reads the summary an earlier sweep left in `dir` ([`SWEEP_SUMMARY`]): its models, with
/// their paths in `dir`. A summary that is not one (another header, a row that does not parse)
/// is refused naming the file and the row.
pub fn read_sweep(dir: &Path) -> Result<Vec<SweepResult>> {
    let path = dir.join(SWEEP_SUMMARY);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(path.clone(), e))?;
    let bad = |reason: String| Error::UnsupportedFormat {
        path: path.clone(),
        reason,
    };
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| bad(format!("not a sweep summary: {e}")))?
        .clone();
    let wanted = [
        "beta",
        "latent",
        "rate",
        "distortion",
        "elbo",
        "held_out",
        "train_secs",
        "model",
    ];
    if header.iter().collect::<Vec<_>>() != wanted {
        return Err(bad(format!(
            "not a sweep summary: the header is not {}",
            wanted.join(",")
        )));
    }
    let mut results = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let record = record.map_err(|e| bad(format!("row {}: {e}", row + 1)))?;
        let field = |k: usize| record.get(k).unwrap_or("").trim();
        let number = |k: usize| -> Result<f64> {
            field(k)
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    bad(format!(
                        "row {}: {} '{}' is not a number",
                        row + 1,
                        wanted[k],
                        field(k)
                    ))
                })
        };
        let whole = |k: usize| -> Result<usize> {
            field(k).parse::<usize>().map_err(|_| {
                bad(format!(
                    "row {}: {} '{}' is not a whole number",
                    row + 1,
                    wanted[k],
                    field(k)
                ))
            })
        };
        let name = field(7);
        // The summary names files in its own folder, never elsewhere.
        if name.is_empty() || Path::new(name).file_name() != Some(std::ffi::OsStr::new(name)) {
            return Err(bad(format!(
                "row {}: '{name}' is not a file name in the sweep's folder",
                row + 1
            )));
        }
        results.push(SweepResult {
            point: SweepPoint {
                beta: number(0)?,
                latent: whole(1)?,
            },
            rate: number(2)?,
            distortion: number(3)?,
            held_out: whole(5)?,
            path: dir.join(name),
            train_secs: number(6)?,
        });
    }
    Ok(results)
}
