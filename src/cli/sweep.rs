//! `latent-explorer sweep`: a rate-distortion sweep (see `latent_explorer::train::run_sweep`).

use super::SweepArgs;
use super::commands::load_data;
use latent_explorer::error::{Error, Result};
use latent_explorer::model::{Likelihood, VaeConfig};
use latent_explorer::train::{
    SWEEP_SUMMARY, SweepEvent, TrainConfig, TrainControl, TrainEvent, run_sweep, sweep_points,
    sweep_subset,
};

pub(super) fn sweep_cmd(a: SweepArgs) -> Result<()> {
    let points = sweep_points(&a.beta, &a.latent)?;
    if a.epochs == 0 {
        return Err(Error::InvalidArgument("--epochs must be at least 1".into()));
    }
    if a.limit == Some(0) {
        return Err(Error::InvalidArgument("--limit must be at least 1".into()));
    }
    match a.out_dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() && !parent.is_dir() => {
            return Err(Error::NotFound {
                path: parent.to_path_buf(),
            });
        }
        _ => {}
    }
    if a.out_dir.exists() && !a.out_dir.is_dir() {
        return Err(Error::InvalidArgument(format!(
            "{} is a file, not a folder",
            a.out_dir.display()
        )));
    }
    let mut data = load_data(&a.data)?;
    if let Some(limit) = a.limit {
        data = sweep_subset(&data, limit)?;
    }
    let likelihood = a
        .likelihood
        .unwrap_or_else(|| Likelihood::suggested_for(&data).0);
    let base = VaeConfig {
        hidden: a.hidden.clone(),
        likelihood,
        ..VaeConfig::for_shape(data.shape, a.latent[0])
    };
    for p in &points {
        VaeConfig {
            latent: p.latent,
            beta: p.beta,
            ..base.clone()
        }
        .validate()?;
    }
    let config = TrainConfig {
        epochs: a.epochs,
        batch_size: a.batch_size,
        learning_rate: a.learning_rate,
        seed: a.seed,
        holdout_fraction: a.holdout,
        ..Default::default()
    };
    config.validate()?;
    std::fs::create_dir_all(&a.out_dir).map_err(|e| Error::Io {
        path: a.out_dir.clone(),
        source: e,
    })?;
    println!("data:  {}", data.summary());
    println!(
        "sweep: {} models ({likelihood}), {} epochs each, into {}",
        points.len(),
        a.epochs,
        a.out_dir.display()
    );
    let control = TrainControl::new();
    let mut report = |ev: SweepEvent| match ev {
        SweepEvent::Starting {
            index,
            total,
            point,
        } => println!(
            "model {}/{total}: beta {}, latent {}",
            index + 1,
            point.beta,
            point.latent
        ),
        SweepEvent::Train(TrainEvent::Epoch(e)) => println!(
            "  epoch {}/{}: train loss {:.2}, {:.1} s",
            e.epoch, a.epochs, e.train_loss, e.epoch_secs
        ),
        SweepEvent::Train(_) => {}
        SweepEvent::Done { result, .. } => println!(
            "  held out: rate {:.3} nats, distortion {:.3} nats, ELBO {:.3}; saved {}",
            result.rate,
            result.distortion,
            result.elbo(),
            result.path.display()
        ),
    };
    let results = run_sweep(
        &data,
        &base,
        &config,
        &points,
        &a.out_dir,
        &control,
        &mut report,
    )?;
    // run_sweep keeps the summary current after every model.
    let csv_path = a.out_dir.join(SWEEP_SUMMARY);
    println!("beta,latent,rate,distortion,elbo");
    for r in &results {
        println!(
            "{},{},{:.3},{:.3},{:.3}",
            r.point.beta,
            r.point.latent,
            r.rate,
            r.distortion,
            r.elbo()
        );
    }
    println!("wrote {}", csv_path.display());
    Ok(())
}
