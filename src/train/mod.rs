//! The training loop: headless and synchronous. It takes a stop/pause handle and an event sink,
//! so the CLI drives it with a progress bar, the window from a named worker thread, and tests
//! directly. Every random draw (shuffles, reparameterisation noise) comes from one seeded
//! generator: the same seed gives the same weights.

mod autograd;
mod control;
mod conv_shard;
mod fused;
mod fused_conv;
mod shard;
mod sweep;

pub use control::{RunState, TrainControl};
pub use fused::{Adam, FusedVae};
pub use fused_conv::FusedConvVae;
pub use shard::StepSums;
pub use sweep::{
    SWEEP_SUMMARY, SweepEvent, SweepPoint, SweepResult, rate_distortion, read_sweep, run_sweep,
    sweep_csv, sweep_points, sweep_subset,
};

use crate::data::{BatchBuffer, Dataset};
use crate::error::{Error, Result};
use crate::model::{Architecture, INFERENCE_BATCH, Model};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// The model's candle weights are refreshed from the trainer this often (and at every epoch's
/// end, on stop and on error), so observers see a model at most this many steps old.
pub const SYNC_EVERY_STEPS: usize = 25;

/// How beta moves during a run (the weight of the KL term).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum BetaSchedule {
    /// Beta throughout.
    #[default]
    Constant,
    /// From 0 up to beta over the first `epochs` epochs, then beta (KL annealing).
    LinearWarmup { epochs: f64 },
    /// Cyclical annealing (Fu et al., 2019): in every period of `epochs` epochs, up from 0 to
    /// beta over the first half, then beta for the second half.
    Cyclical { epochs: f64 },
}

impl std::str::FromStr for BetaSchedule {
    type Err = String;
    /// "constant", "warmup:EPOCHS" or "cyclical:EPOCHS".
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (kind, arg) = s.split_once(':').unwrap_or((s, ""));
        let epochs = || -> std::result::Result<f64, String> {
            arg.parse::<f64>()
                .ok()
                .filter(|e| e.is_finite() && *e > 0.0)
                .ok_or_else(|| format!("'{s}' needs a positive number of epochs, e.g. {kind}:5"))
        };
        match kind.to_ascii_lowercase().as_str() {
            "constant" => Ok(BetaSchedule::Constant),
            "warmup" => Ok(BetaSchedule::LinearWarmup { epochs: epochs()? }),
            "cyclical" => Ok(BetaSchedule::Cyclical { epochs: epochs()? }),
            _ => Err(format!(
                "unknown beta schedule '{s}' (constant, warmup:N or cyclical:N)"
            )),
        }
    }
}

impl BetaSchedule {
    /// The multiplier of beta after `progress` epochs (fractional).
    pub fn factor(&self, progress: f64) -> f64 {
        match *self {
            BetaSchedule::Constant => 1.0,
            BetaSchedule::LinearWarmup { epochs } if epochs > 0.0 => (progress / epochs).min(1.0),
            BetaSchedule::Cyclical { epochs } if epochs > 0.0 => {
                let phase = (progress % epochs) / epochs;
                (phase * 2.0).min(1.0)
            }
            _ => 1.0,
        }
    }
}

/// How to train.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Weight of the KL term for this run (also recorded in the model's config).
    pub beta: f64,
    pub seed: u64,
    /// For datasets without a test split: the fraction of samples held out.
    pub holdout_fraction: f64,
    /// How beta moves during the run.
    pub beta_schedule: BetaSchedule,
}

impl Default for TrainConfig {
    /// The PyTorch-examples settings: Adam, lr 1e-3, batch 128.
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 128,
            learning_rate: 1e-3,
            beta: 1.0,
            seed: 1,
            holdout_fraction: 0.1,
            beta_schedule: BetaSchedule::Constant,
        }
    }
}

impl TrainConfig {
    pub fn validate(&self) -> Result<()> {
        if self.batch_size == 0 || self.batch_size > 65_536 {
            return Err(Error::InvalidArgument(format!(
                "batch size must be 1..=65536, got {}",
                self.batch_size
            )));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(Error::InvalidArgument(format!(
                "learning rate must be a positive number, got {}",
                self.learning_rate
            )));
        }
        if !(self.beta.is_finite() && self.beta >= 0.0) {
            return Err(Error::InvalidArgument(format!(
                "beta must be a number >= 0, got {}",
                self.beta
            )));
        }
        if !(0.0..0.9).contains(&self.holdout_fraction) {
            return Err(Error::InvalidArgument(format!(
                "held-out fraction must be in [0, 0.9), got {}",
                self.holdout_fraction
            )));
        }
        Ok(())
    }
}

/// Sizes of a run, sent once at the start.
#[derive(Clone, Debug, PartialEq)]
pub struct RunInfo {
    pub epochs: usize,
    pub steps_per_epoch: usize,
    pub n_train: usize,
    pub n_test: usize,
}

/// One optimiser step; losses are per sample (averaged over the batch).
#[derive(Clone, Debug, PartialEq)]
pub struct StepStats {
    pub epoch: usize,
    /// Step within the epoch, from 1.
    pub step: usize,
    /// Steps since the run started, from 1.
    pub global_step: usize,
    pub loss: f32,
    pub recon: f32,
    pub kl: f32,
    /// Beta used for this step (it moves under a schedule).
    pub beta: f32,
    /// Training throughput of the epoch so far.
    pub samples_per_sec: f64,
}

/// One finished epoch; losses are per sample.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EpochStats {
    pub epoch: usize,
    pub train_loss: f64,
    pub train_recon: f64,
    pub train_kl: f64,
    pub test_loss: Option<f64>,
    pub test_recon: Option<f64>,
    pub test_kl: Option<f64>,
    pub samples_per_sec: f64,
    /// Training time of this epoch (held-out evaluation excluded).
    pub epoch_secs: f64,
    pub test_eval_secs: f64,
    /// Since the run started, evaluation included.
    pub elapsed_secs: f64,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainSummary {
    pub epochs_completed: usize,
    pub steps: usize,
    /// True when stopped before the last epoch finished.
    pub stopped: bool,
    pub last_epoch: Option<EpochStats>,
    pub elapsed_secs: f64,
}

/// What the trainer reports while it runs.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainEvent {
    Started(RunInfo),
    Step(StepStats),
    Epoch(EpochStats),
    Paused,
    Resumed,
    Finished(TrainSummary),
    /// The run ended with an error (e.g. the loss became NaN); the model keeps its last
    /// good weights.
    Failed(String),
}

/// Splits the dataset into (train, held-out) indices: its own test split, or else a seeded
/// fraction of it.
pub fn split_indices(data: &Dataset, cfg: &TrainConfig) -> (Vec<usize>, Vec<usize>) {
    use crate::data::Split;
    let train = data.indices(Split::Train);
    let test = data.indices(Split::Test);
    if !test.is_empty() || cfg.holdout_fraction <= 0.0 {
        return (train, test);
    }
    let mut order = train;
    order.shuffle(&mut StdRng::seed_from_u64(cfg.seed ^ 0x4e1d_u64));
    let k = ((order.len() as f64) * cfg.holdout_fraction).round() as usize;
    let test = order[..k.min(order.len())].to_vec();
    let mut train = order[k.min(order.len())..].to_vec();
    train.sort_unstable();
    let mut test = test;
    test.sort_unstable();
    (train, test)
}

/// Trains `model` on `data`. Emits events to `sink` together with the model as it is at that
/// moment (so an observer can save or re-encode after an epoch), ends with `Finished` or
/// `Failed`.
/// Returns when done, when `control` says stop (within one step), or on error.
pub fn train(
    model: &mut Model,
    data: &Dataset,
    cfg: &TrainConfig,
    control: &TrainControl,
    sink: &mut dyn FnMut(TrainEvent, &Model),
) -> Result<TrainSummary> {
    train_reporting_codes(model, data, cfg, control, sink, None)
}

/// The codes a training step computed on its way: each batch image's posterior mean and
/// log-variance (as the layer gave it, before the clamp), under the weights before the step.
pub struct BatchCodes<'a> {
    /// The batch's dataset indices, in the order of the rows below.
    pub indices: &'a [usize],
    pub latent: usize,
    pub mean: &'a [f32],
    pub logvar: &'a [f32],
}

/// Whether training `model` reports its steps' codes (see [`train_reporting_codes`]): the
/// fused CPU steps do; candle's autograd (any model on a GPU) does not.
pub fn steps_report_codes(model: &Model) -> bool {
    fused_allowed(model)
}

fn fused_allowed(model: &Model) -> bool {
    model.device().is_cpu()
        && std::env::var("LATENT_EXPLORER_TRAINER").map_or(true, |v| v != "autograd")
}

/// [`train`], also handing `codes` every applied step's [`BatchCodes`] (before the step's
/// event), where the steps compute them ([`steps_report_codes`]). Over an epoch that is a code
/// for every training image at no extra cost: the window's map takes them instead of
/// re-encoding the training images while a run goes on.
pub fn train_reporting_codes(
    model: &mut Model,
    data: &Dataset,
    cfg: &TrainConfig,
    control: &TrainControl,
    sink: &mut dyn FnMut(TrainEvent, &Model),
    codes: Option<&mut dyn FnMut(BatchCodes<'_>)>,
) -> Result<TrainSummary> {
    let result = run(model, data, cfg, control, sink, codes);
    match &result {
        Ok(summary) => sink(TrainEvent::Finished(summary.clone()), model),
        Err(e) => sink(TrainEvent::Failed(e.to_string()), model),
    }
    result
}

fn run(
    model: &mut Model,
    data: &Dataset,
    cfg: &TrainConfig,
    control: &TrainControl,
    sink: &mut dyn FnMut(TrainEvent, &Model),
    codes: Option<&mut dyn FnMut(BatchCodes<'_>)>,
) -> Result<TrainSummary> {
    cfg.validate()?;
    model.check_fits(data)?;
    // Adam's moments of weights that stop getting gradients sink into subnormal floats, which
    // slowed later epochs by a third or more (see `flush_subnormals`).
    // (The pool first: where this thread is one of the pool's, the guard then gives it back
    // the pool's setting.)
    crate::kernels::cpu::flush_subnormals_in_pool();
    let _flush = crate::kernels::cpu::flush_subnormals();
    let (train_idx, test_idx) = split_indices(data, cfg);
    if train_idx.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "{} has no training samples",
            data.name
        )));
    }
    model.set_beta(cfg.beta);
    let h = &mut model.history;
    h.dataset_name = Some(data.name.clone());
    h.dataset_shape = Some(data.shape);
    h.dataset_size = Some(data.len());
    h.seed = Some(cfg.seed);
    h.created_with = crate::model::version_string();
    let mut rng = StdRng::seed_from_u64(cfg.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x7e57);
    // The fused steps cover MLPs and conv models on the CPU; any model on a GPU trains through
    // candle's autograd (so does a CPU model under LATENT_EXPLORER_TRAINER=autograd, which is
    // there to compare the two).
    let net = match model.config().arch {
        _ if !fused_allowed(model) => None,
        Architecture::Mlp => Some(FusedNet::Mlp(FusedVae::from_model(model)?)),
        Architecture::Conv => Some(FusedNet::Conv(FusedConvVae::from_model(model)?)),
    };
    let mut stepper: Box<dyn Stepper> = match net {
        Some(net) => Box::new(FusedStepper {
            net,
            adam: Adam::new(cfg.learning_rate),
        }),
        None => Box::new(autograd::AutogradStepper::new(model, cfg)?),
    };
    run_epochs(
        model,
        data,
        cfg,
        control,
        sink,
        (train_idx, test_idx),
        &mut rng,
        stepper.as_mut(),
        codes,
    )
}

/// What differs between the ways a model trains: one optimisation step, and bringing the
/// model's own weights up to date with the trainer's.
trait Stepper {
    /// One step on x[n, D] with reparameterisation noise eps[n, latent] and, for a conditional
    /// model, the one-hot labels cond[n, classes] (empty otherwise). A step whose loss or
    /// gradients are not finite is not applied: Ok(Err(loss value)).
    fn step(
        &mut self,
        model: &Model,
        x: &[f32],
        cond: &[f32],
        eps: &[f32],
        n: usize,
        beta: f64,
    ) -> Result<std::result::Result<StepSums, f32>>;
    /// Makes the model's weights the trainer's (a no-op where they are the same weights).
    fn sync(&mut self, model: &Model) -> Result<()>;
    /// Appends the last step's codes ([n, latent] means, then log-variances) and says whether
    /// it could (a stepper that does not keep them returns false).
    fn batch_codes(&self, _mean: &mut Vec<f32>, _logvar: &mut Vec<f32>) -> bool {
        false
    }
}

/// A hand-fused network: the MLP's or the conv model's.
enum FusedNet {
    Mlp(FusedVae),
    Conv(FusedConvVae),
}

struct FusedStepper {
    net: FusedNet,
    adam: Adam,
}

impl Stepper for FusedStepper {
    fn step(
        &mut self,
        _: &Model,
        x: &[f32],
        cond: &[f32],
        eps: &[f32],
        n: usize,
        beta: f64,
    ) -> Result<std::result::Result<StepSums, f32>> {
        // Conv models are never conditional (the config refuses it), so `cond` is empty there.
        let (sums, finite) = match &mut self.net {
            FusedNet::Mlp(net) => (
                net.forward_backward(x, cond, eps, n, beta as f32),
                net.grads_finite(),
            ),
            FusedNet::Conv(net) => (
                net.forward_backward(x, eps, n, beta as f32),
                net.grads_finite(),
            ),
        };
        let loss = (sums.recon + beta * sums.kl) as f32;
        if !loss.is_finite() || !finite {
            return Ok(Err(if loss.is_finite() { f32::NAN } else { loss }));
        }
        match &mut self.net {
            FusedNet::Mlp(net) => net.adam_step(&self.adam),
            FusedNet::Conv(net) => net.adam_step(&self.adam),
        }
        Ok(Ok(sums))
    }

    fn sync(&mut self, model: &Model) -> Result<()> {
        match &self.net {
            FusedNet::Mlp(net) => net.write_to(model),
            FusedNet::Conv(net) => net.write_to(model),
        }
    }

    fn batch_codes(&self, mean: &mut Vec<f32>, logvar: &mut Vec<f32>) -> bool {
        match &self.net {
            FusedNet::Mlp(net) => net.batch_codes(mean, logvar),
            FusedNet::Conv(net) => net.batch_codes(mean, logvar),
        }
        true
    }
}

/// The epochs: shuffles, batches, noise, the beta schedule, pause / resume / stop, events,
/// held-out evaluation and the model's history, the same for every stepper.
#[allow(clippy::too_many_arguments)]
fn run_epochs(
    model: &mut Model,
    data: &Dataset,
    cfg: &TrainConfig,
    control: &TrainControl,
    sink: &mut dyn FnMut(TrainEvent, &Model),
    (mut train_idx, test_idx): (Vec<usize>, Vec<usize>),
    rng: &mut StdRng,
    stepper: &mut dyn Stepper,
    mut codes: Option<&mut dyn FnMut(BatchCodes<'_>)>,
) -> Result<TrainSummary> {
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
    let beta = cfg.beta;
    let latent = model.latent();
    // A conditional model's one-hot labels, checked against its classes before the first step.
    let classes = model.classes().unwrap_or(0);
    let labels: Vec<u16> = if classes > 0 {
        model.labels_of(data, &train_idx)?;
        data.labels().map(<[u16]>::to_vec).unwrap_or_default()
    } else {
        Vec::new()
    };
    let mut cond: Vec<f32> = Vec::with_capacity(bs * classes);
    let start = Instant::now();
    let mut buf = BatchBuffer::new();
    let mut eps: Vec<f32> = Vec::with_capacity(bs * latent);
    let (mut code_mean, mut code_logvar) = (Vec::new(), Vec::new());
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
                stepper.sync(model)?;
                break 'epochs;
            }
            let n = chunk.len();
            let x = buf.fill(data, chunk);
            eps.clear();
            eps.extend((0..n * latent).map(|_| -> f32 { StandardNormal.sample(rng) }));
            cond.clear();
            if classes > 0 {
                cond.resize(n * classes, 0.0);
                for (row, &i) in cond.chunks_exact_mut(classes).zip(chunk) {
                    row[labels[i] as usize] = 1.0;
                }
            }
            let progress = (epoch - 1) as f64 + s as f64 / steps_per_epoch as f64;
            let step_beta = beta * cfg.beta_schedule.factor(progress);
            global_step += 1;
            // A step that is not finite was not applied: the weights stay the last good ones.
            let sums = match stepper.step(model, x, &cond, &eps, n, step_beta)? {
                Ok(sums) => sums,
                Err(value) => {
                    stepper.sync(model)?;
                    return Err(Error::NonFiniteLoss {
                        epoch,
                        step: s + 1,
                        value,
                    });
                }
            };
            if global_step % SYNC_EVERY_STEPS == 0 {
                stepper.sync(model)?;
            }
            if let Some(report) = codes.as_deref_mut() {
                code_mean.clear();
                code_logvar.clear();
                let kept = stepper.batch_codes(&mut code_mean, &mut code_logvar);
                if kept && code_mean.len() == n * latent && code_logvar.len() == n * latent {
                    report(BatchCodes {
                        indices: chunk,
                        latent,
                        mean: &code_mean,
                        logvar: &code_logvar,
                    });
                }
            }
            let loss = sums.recon + step_beta * sums.kl;
            sum_loss += loss;
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
                    loss: (loss / n as f64) as f32,
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
        stepper.sync(model)?;
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
            test_loss: test.map(|t| t.0 + beta * t.1),
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

/// Mean per-sample (reconstruction, KL) over `indices`, or None when there are none.
/// Stops early (returning what it has) when asked to stop.
fn evaluate(
    model: &Model,
    data: &Dataset,
    indices: &[usize],
    seed: u64,
    control: &TrainControl,
) -> Result<Option<(f64, f64)>> {
    if indices.is_empty() {
        return Ok(None);
    }
    let (mut recon, mut kl, mut n) = (0f64, 0f64, 0usize);
    for (k, chunk) in indices.chunks(INFERENCE_BATCH).enumerate() {
        if control.is_stopping() {
            break;
        }
        let s = model.score(
            data,
            chunk,
            seed.wrapping_mul(1_000_003).wrapping_add(k as u64),
        )?;
        recon += s.recon.iter().map(|&v| v as f64).sum::<f64>();
        kl += s.kl.iter().map(|&v| v as f64).sum::<f64>();
        n += chunk.len();
    }
    let n = n.max(1) as f64;
    Ok(Some((recon / n, kl / n)))
}
