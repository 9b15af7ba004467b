//! Training through candle's autograd, for architectures the hand-fused MLP step does not
//! cover (the conv VAE). Same contract as the fused loop in `mod.rs`: the same seeded
//! shuffles and noise, beta schedule, events, pause / resume / stop within a step, and a step
//! whose loss or gradients are not finite is never applied.
//!
//! The optimiser updates the model's own variables in place, so every event's model is
//! current (no syncing as the fused trainer needs).

use super::{EpochStats, RunInfo, StepStats, TrainConfig, TrainEvent, TrainSummary, evaluate};
use crate::data::{BatchBuffer, Dataset};
use crate::error::{Error, Result};
use crate::model::Model;
use candle_core::Tensor;
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand_distr::{Distribution, StandardNormal};
use std::time::Instant;

/// Per-batch sums of the loss terms, as plain numbers.
struct BatchSums {
    recon: f64,
    kl: f64,
}

/// One forward and backward pass and, when everything is finite, one Adam step.
fn step(
    model: &Model,
    optimizer: &mut AdamW,
    x: &[f32],
    eps: Vec<f32>,
    n: usize,
    beta: f64,
) -> Result<std::result::Result<BatchSums, f32>> {
    let device = model.device();
    let latent = model.latent();
    let x = Tensor::from_slice(x, (n, x.len() / n), device)?;
    let eps = Tensor::from_vec(eps, (n, latent), device)?;
    let losses = model.vae().losses(&x, &eps)?;
    let recon = losses.recon.sum_all()?;
    let kl = losses.kl.sum_all()?;
    // The batch sum, as the fused trainer (and the PyTorch reference) optimise.
    let loss = (&recon + (&kl * beta)?)?;
    let loss_v = loss.to_scalar::<f32>()?;
    if !loss_v.is_finite() {
        return Ok(Err(loss_v));
    }
    let grads = loss.backward()?;
    for (_, var) in model.vars() {
        if let Some(g) = grads.get(var.as_tensor())
            && !g.sqr()?.sum_all()?.to_scalar::<f32>()?.is_finite()
        {
            return Ok(Err(f32::NAN));
        }
    }
    optimizer.step(&grads)?;
    Ok(Ok(BatchSums {
        recon: recon.to_scalar::<f32>()? as f64,
        kl: kl.to_scalar::<f32>()? as f64,
    }))
}

/// Trains `model` (whose history is already stamped) on `train_idx`, evaluating on
/// `test_idx` after every epoch.
pub(super) fn run(
    model: &mut Model,
    data: &Dataset,
    cfg: &TrainConfig,
    control: &super::TrainControl,
    sink: &mut dyn FnMut(TrainEvent, &Model),
    (mut train_idx, test_idx): (Vec<usize>, Vec<usize>),
    rng: &mut StdRng,
) -> Result<TrainSummary> {
    let vars = model.vars().into_iter().map(|(_, v)| v).collect();
    let mut optimizer = AdamW::new(
        vars,
        ParamsAdamW {
            lr: cfg.learning_rate,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            // Plain Adam, as the fused trainer and the PyTorch reference use.
            weight_decay: 0.0,
        },
    )?;
    let bs = cfg.batch_size;
    let steps_per_epoch = train_idx.len().div_ceil(bs);
    sink(
        TrainEvent::Started(RunInfo {
            epochs: cfg.epochs,
            steps_per_epoch,
            n_train: train_idx.len(),
            n_test: test_idx.len(),
        }),
        model,
    );
    let latent = model.latent();
    let start = Instant::now();
    let mut buf = BatchBuffer::new();
    let mut global_step = 0;
    let mut summary = TrainSummary {
        epochs_completed: 0,
        steps: 0,
        stopped: false,
        last_epoch: None,
        elapsed_secs: 0.0,
    };
    let mut paused_secs = 0.0;
    'epochs: for epoch in 1..=cfg.epochs {
        train_idx.shuffle(rng);
        let epoch_start = Instant::now();
        let (mut sum_loss, mut sum_recon, mut sum_kl, mut seen) = (0f64, 0f64, 0f64, 0usize);
        for (s, chunk) in train_idx.chunks(bs).enumerate() {
            let mut pause_began = None;
            let go_on = control.checkpoint(&mut |paused| {
                if paused {
                    pause_began = Some(Instant::now());
                    sink(TrainEvent::Paused, model)
                } else {
                    sink(TrainEvent::Resumed, model)
                }
            });
            if let Some(t) = pause_began {
                paused_secs += t.elapsed().as_secs_f64();
            }
            if !go_on {
                summary.stopped = true;
                break 'epochs;
            }
            let n = chunk.len();
            let eps: Vec<f32> = (0..n * latent)
                .map(|_| -> f32 { StandardNormal.sample(rng) })
                .collect();
            let progress = (epoch - 1) as f64 + s as f64 / steps_per_epoch as f64;
            let step_beta = cfg.beta * cfg.beta_schedule.factor(progress);
            let x = buf.fill(data, chunk);
            let sums = match step(model, &mut optimizer, x, eps, n, step_beta)? {
                Ok(sums) => sums,
                Err(value) => {
                    return Err(Error::NonFiniteLoss {
                        epoch,
                        step: s + 1,
                        value,
                    });
                }
            };
            global_step += 1;
            let loss_v = sums.recon + step_beta * sums.kl;
            sum_loss += loss_v;
            sum_recon += sums.recon;
            sum_kl += sums.kl;
            seen += n;
            summary.steps += 1;
            let secs = (epoch_start.elapsed().as_secs_f64() - paused_secs).max(1e-9);
            sink(
                TrainEvent::Step(StepStats {
                    epoch,
                    step: s + 1,
                    global_step,
                    loss: (loss_v / n as f64) as f32,
                    recon: (sums.recon / n as f64) as f32,
                    kl: (sums.kl / n as f64) as f32,
                    beta: step_beta as f32,
                    samples_per_sec: seen as f64 / secs,
                }),
                model,
            );
        }
        let epoch_secs = (epoch_start.elapsed().as_secs_f64() - paused_secs).max(1e-9);
        paused_secs = 0.0;
        let eval_start = Instant::now();
        let test = evaluate(
            model,
            data,
            &test_idx,
            cfg.seed.wrapping_add(epoch as u64),
            control,
        )?;
        if control.is_stopping() {
            summary.stopped = true;
            break;
        }
        let seen_f = seen.max(1) as f64;
        let stats = EpochStats {
            epoch,
            train_loss: sum_loss / seen_f,
            train_recon: sum_recon / seen_f,
            train_kl: sum_kl / seen_f,
            test_loss: test.map(|t| t.0 + cfg.beta * t.1),
            test_recon: test.map(|t| t.0),
            test_kl: test.map(|t| t.1),
            samples_per_sec: seen as f64 / epoch_secs,
            epoch_secs,
            test_eval_secs: eval_start.elapsed().as_secs_f64(),
            elapsed_secs: start.elapsed().as_secs_f64(),
        };
        summary.epochs_completed = epoch;
        summary.last_epoch = Some(stats.clone());
        let h = &mut model.history;
        h.epochs += 1;
        h.samples_seen += seen as u64;
        h.train_loss = Some(stats.train_loss);
        h.test_loss = stats.test_loss;
        sink(TrainEvent::Epoch(stats), model);
    }
    summary.elapsed_secs = start.elapsed().as_secs_f64();
    Ok(summary)
}
