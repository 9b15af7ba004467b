//! The training loop on real MNIST: it learns, it is reproducible, it can be paused, resumed and
//! stopped, it survives divergence, and it matches the PyTorch reference's quality.

use latent_explorer::Error;
use latent_explorer::data::{Dataset, LoadOptions, Split, load_dataset};
use latent_explorer::model::{Model, VaeConfig};
use latent_explorer::train::{TrainConfig, TrainControl, TrainEvent, train};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn mnist() -> &'static Dataset {
    static DATA: OnceLock<Dataset> = OnceLock::new();
    DATA.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/mnist");
        load_dataset(&path, &LoadOptions::default()).unwrap()
    })
}

/// The first `n_train` training and `n_test` test samples.
fn subset(n_train: usize, n_test: usize) -> Dataset {
    let d = mnist();
    let mut idx: Vec<usize> = d.indices(Split::Train).into_iter().take(n_train).collect();
    idx.extend(d.indices(Split::Test).into_iter().take(n_test));
    d.subset(&idx).unwrap()
}

fn quick(epochs: usize, seed: u64) -> TrainConfig {
    TrainConfig {
        epochs,
        seed,
        ..TrainConfig::default()
    }
}

fn run(
    model: &mut Model,
    data: &Dataset,
    cfg: &TrainConfig,
) -> (
    latent_explorer::Result<latent_explorer::train::TrainSummary>,
    Vec<TrainEvent>,
) {
    let mut events = Vec::new();
    let r = train(model, data, cfg, &TrainControl::new(), &mut |e, _| {
        events.push(e)
    });
    (r, events)
}

/// Summed binary cross-entropy of predicting every test image by the mean training image.
fn mean_image_bce(data: &Dataset) -> f64 {
    let mean = data.mean_image(&data.indices(Split::Train));
    let test = data.indices(Split::Test);
    let mut total = 0f64;
    for &i in &test {
        for (x, m) in data.image(i).iter().zip(&mean) {
            let m = m.clamp(1e-6, 1.0 - 1e-6) as f64;
            let x = *x as f64;
            total -= x * m.ln() + (1.0 - x) * (1.0 - m).ln();
        }
    }
    total / test.len() as f64
}

#[test]
fn a_short_run_lowers_the_loss_and_beats_the_mean_image() {
    let data = subset(10_000, 1000);
    let mut model = Model::new_random(VaeConfig::mnist(8), 1).unwrap();
    let test = data.indices(Split::Test);
    let before: f32 = model
        .score(&data, &test, 0)
        .unwrap()
        .loss()
        .iter()
        .sum::<f32>()
        / test.len() as f32;
    let (r, events) = run(&mut model, &data, &quick(3, 1));
    let summary = r.unwrap();
    assert_eq!(summary.epochs_completed, 3);
    assert!(!summary.stopped);
    let epochs: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            TrainEvent::Epoch(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(epochs.len(), 3);
    let steps = events
        .iter()
        .filter(|e| matches!(e, TrainEvent::Step(_)))
        .count();
    assert_eq!(steps, 3 * 10_000usize.div_ceil(128));
    assert!(
        matches!(events.first(), Some(TrainEvent::Started(i)) if i.n_train == 10_000 && i.n_test == 1000)
    );
    assert!(matches!(events.last(), Some(TrainEvent::Finished(_))));
    let last = epochs[2].test_loss.unwrap();
    assert!(
        epochs[0].test_loss.unwrap() > last,
        "held-out loss did not fall: {epochs:?}"
    );
    assert!(last < before as f64 * 0.5, "before {before}, after {last}");
    // Reconstruction alone is far better than predicting the mean image.
    let baseline = mean_image_bce(&data);
    let recon = epochs[2].test_recon.unwrap();
    assert!(
        recon < baseline * 0.8,
        "recon {recon} vs mean image {baseline}"
    );
    assert_eq!(model.history.epochs, 3);
    assert_eq!(model.history.dataset_name.as_deref(), Some("MNIST"));
}

#[test]
fn same_seed_same_result_other_seed_other_result() {
    let data = subset(1000, 200);
    let train_once = |seed| {
        let mut m = Model::new_random(VaeConfig::mnist(4), seed).unwrap();
        let (r, _) = run(&mut m, &data, &quick(1, seed));
        let stats = r.unwrap().last_epoch.unwrap();
        (
            m.decode(&[0.1, -0.2, 0.3, 0.0]).unwrap(),
            stats.train_loss,
            stats.test_loss,
        )
    };
    let a = train_once(5);
    let b = train_once(5);
    let c = train_once(6);
    assert_eq!(a, b);
    assert_ne!(a.0, c.0);
}

#[test]
fn stop_returns_within_a_second_and_pause_holds_the_run() {
    let data = mnist().clone();
    let control = TrainControl::new();
    let (tx, rx) = mpsc::channel();
    let worker_control = control.clone();
    let handle = std::thread::Builder::new()
        .name("test-trainer".into())
        .spawn(move || {
            let mut model = Model::new_random(VaeConfig::mnist(2), 1).unwrap();
            let cfg = quick(50, 1);
            train(&mut model, &data, &cfg, &worker_control, &mut |e, _| {
                let _ = tx.send((Instant::now(), e));
            })
        })
        .unwrap();
    let next = |rx: &mpsc::Receiver<(Instant, TrainEvent)>| {
        rx.recv_timeout(Duration::from_secs(30)).unwrap()
    };
    // Let it run a few steps.
    let mut steps = 0;
    while steps < 5 {
        if let (_, TrainEvent::Step(_)) = next(&rx) {
            steps += 1;
        }
    }
    control.pause();
    loop {
        if let (_, TrainEvent::Paused) = next(&rx) {
            break;
        }
    }
    // While paused nothing happens.
    assert!(rx.recv_timeout(Duration::from_millis(400)).is_err());
    control.resume();
    assert!(matches!(next(&rx).1, TrainEvent::Resumed));
    assert!(matches!(next(&rx).1, TrainEvent::Step(_)));
    let asked = Instant::now();
    control.stop();
    let summary = handle.join().unwrap().unwrap();
    let took = asked.elapsed();
    assert!(took < Duration::from_secs(1), "stop took {took:?}");
    assert!(summary.stopped);
    assert!(summary.epochs_completed < 50);
    let last = rx.try_iter().last().unwrap().1;
    assert!(matches!(last, TrainEvent::Finished(s) if s.stopped));
}

#[test]
fn stop_while_paused_ends_the_run() {
    let data = subset(2000, 100);
    let control = TrainControl::new();
    control.pause();
    let c = control.clone();
    let handle = std::thread::spawn(move || {
        let mut model = Model::new_random(VaeConfig::mnist(2), 1).unwrap();
        train(&mut model, &data, &quick(3, 1), &c, &mut |_, _| {})
    });
    std::thread::sleep(Duration::from_millis(200));
    control.stop();
    let s = handle.join().unwrap().unwrap();
    assert!(s.stopped);
    assert_eq!(s.steps, 0);
}

#[test]
fn divergence_stops_with_an_error_and_keeps_finite_weights() {
    let data = subset(1000, 100);
    let mut model = Model::new_random(VaeConfig::mnist(2), 1).unwrap();
    let cfg = TrainConfig {
        learning_rate: 1e12,
        ..quick(2, 1)
    };
    let (r, events) = run(&mut model, &data, &cfg);
    let e = r.expect_err("a learning rate of 1e12 must diverge");
    assert!(matches!(e, Error::NonFiniteLoss { .. }), "{e}");
    assert!(e.to_string().contains("last good"), "{e}");
    assert!(matches!(events.last(), Some(TrainEvent::Failed(m)) if m.contains("diverged")));
    for (name, v) in model.vars() {
        let values = v
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert!(values.iter().all(|x| x.is_finite()), "{name} is not finite");
    }
}

#[test]
fn bad_settings_and_unfit_data_are_refused() {
    let data = subset(300, 50);
    for cfg in [
        TrainConfig {
            batch_size: 0,
            ..quick(1, 1)
        },
        TrainConfig {
            learning_rate: -1.0,
            ..quick(1, 1)
        },
        TrainConfig {
            beta: f64::NAN,
            ..quick(1, 1)
        },
    ] {
        let mut m = Model::new_random(VaeConfig::mnist(2), 1).unwrap();
        let (r, events) = run(&mut m, &data, &cfg);
        assert!(matches!(r, Err(Error::InvalidArgument(_))));
        assert!(matches!(events.last(), Some(TrainEvent::Failed(_))));
    }
    let mut small = Model::new_random(
        VaeConfig::for_shape(latent_explorer::data::ImageShape::new(8, 8, 1), 2),
        1,
    )
    .unwrap();
    let (r, _) = run(&mut small, &data, &quick(1, 1));
    assert!(matches!(r, Err(Error::ShapeMismatch { .. })));
}

#[test]
fn folder_datasets_without_a_test_split_hold_out_a_fraction() {
    let d = mnist();
    let idx: Vec<usize> = d.indices(Split::Train).into_iter().take(1000).collect();
    let data = d.subset(&idx).unwrap();
    assert_eq!(data.count(Split::Test), 0);
    let cfg = TrainConfig {
        holdout_fraction: 0.2,
        ..quick(1, 3)
    };
    let (train_idx, test_idx) = latent_explorer::train::split_indices(&data, &cfg);
    assert_eq!(test_idx.len(), 200);
    assert_eq!(train_idx.len(), 800);
    assert!(train_idx.iter().all(|i| !test_idx.contains(i)));
}

/// The quality bar: one epoch on all of MNIST with the default architecture ends within 1% of
/// PyTorch's held-out loss per sample at the same epoch (126.87 at latent 20, 170.84 at latent 2,
/// from ../shared/bench/README.md).
#[test]
fn one_mnist_epoch_matches_pytorch_within_one_percent() {
    for (latent, torch) in [(20usize, 126.87f64), (2, 170.84)] {
        let mut model = Model::new_random(VaeConfig::mnist(latent), 1).unwrap();
        let (r, _) = run(&mut model, mnist(), &quick(1, 1));
        let ours = r.unwrap().last_epoch.unwrap().test_loss.unwrap();
        let gap = (ours - torch).abs() / torch;
        assert!(
            gap < 0.01,
            "latent {latent}: ours {ours:.2}, PyTorch {torch}, gap {:.2}%",
            gap * 100.0
        );
    }
}

/// The fused trainer's loss and every gradient agree with candle's autograd on the same batch
/// and noise, for both likelihoods, one and two hidden layers, beta != 1, and conditional
/// models (the one-hot as extra encoder and decoder inputs).
#[test]
fn fused_gradients_match_candle_autograd() {
    use candle_core::Tensor;
    use latent_explorer::model::Likelihood;
    use latent_explorer::train::FusedVae;
    let data = subset(64, 0);
    let idx: Vec<usize> = (0..64).collect();
    let sparse_x: Vec<f32> = idx.iter().flat_map(|&i| data.image(i)).collect();
    // Inverted digits are mostly ones: the first layer then takes the dense path.
    let dense_x: Vec<f32> = sparse_x.iter().map(|v| 1.0 - v).collect();
    let labels: Vec<u16> = idx.iter().map(|&i| data.label(i).unwrap()).collect();
    let one_hot = latent_explorer::model::one_hot_values(&labels, 10);
    for (hidden, likelihood, beta, x, conditional) in [
        (vec![400], Likelihood::Bernoulli, 1.0f32, &sparse_x, false),
        (vec![64, 32], Likelihood::Gaussian, 2.5, &sparse_x, false),
        (vec![50], Likelihood::Bernoulli, 0.3, &sparse_x, false),
        (vec![400], Likelihood::Bernoulli, 1.0, &dense_x, false),
        (vec![400], Likelihood::Bernoulli, 1.0, &sparse_x, true),
        (vec![64, 32], Likelihood::Gaussian, 2.5, &dense_x, true),
    ] {
        let mut config = VaeConfig {
            hidden: hidden.clone(),
            likelihood,
            ..VaeConfig::mnist(3)
        };
        if conditional {
            config = config.with_classes(10);
        }
        let model = Model::new_random(config, 11).unwrap();
        let eps = latent_explorer::latent::sample_prior(64, 3, 1.0, 5);
        let cond: &[f32] = if conditional { &one_hot } else { &[] };

        // Candle's side runs where the model lives (a GPU in a cuda build); the fused one on
        // the CPU.
        let dev = model.device().clone();
        let xt = Tensor::from_slice(x, (64, 784), &dev).unwrap();
        let et = Tensor::from_slice(&eps, (64, 3), &dev).unwrap();
        let ct = conditional.then(|| Tensor::from_slice(cond, (64, 10), &dev).unwrap());
        let losses = model.vae().losses(&xt, ct.as_ref(), &et).unwrap();
        let recon = losses.recon.sum_all().unwrap().to_scalar::<f32>().unwrap();
        let kl = losses.kl.sum_all().unwrap().to_scalar::<f32>().unwrap();
        let loss = (losses.recon.sum_all().unwrap()
            + (losses.kl.sum_all().unwrap() * beta as f64).unwrap())
        .unwrap();
        let grads = loss.backward().unwrap();

        let mut fused = FusedVae::from_model(&model).unwrap();
        let sums = fused.forward_backward(x, cond, &eps, 64, beta);
        assert!(
            (sums.recon as f32 - recon).abs() <= 1e-4 * recon.abs(),
            "{hidden:?}: recon {} vs {recon}",
            sums.recon
        );
        assert!(
            (sums.kl as f32 - kl).abs() <= 1e-3 * kl.abs().max(1.0),
            "{hidden:?}: kl {} vs {kl}",
            sums.kl
        );
        let vars: std::collections::HashMap<String, candle_core::Var> =
            model.vars().into_iter().collect();
        for (name, g) in fused.gradients() {
            let reference = grads
                .get(&vars[&name])
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let scale = reference.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-3);
            let worst = g
                .iter()
                .zip(&reference)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(
                worst <= 2e-3 * scale,
                "{hidden:?} {likelihood:?}: {name} differs by {worst} (scale {scale})"
            );
        }
    }
}

#[test]
fn beta_schedules_warm_up_and_cycle() {
    use latent_explorer::train::BetaSchedule;
    let warm: BetaSchedule = "warmup:2".parse().unwrap();
    assert_eq!(warm, BetaSchedule::LinearWarmup { epochs: 2.0 });
    assert_eq!(warm.factor(0.0), 0.0);
    assert_eq!(warm.factor(1.0), 0.5);
    assert_eq!(warm.factor(5.0), 1.0);
    let cyc: BetaSchedule = "cyclical:4".parse().unwrap();
    assert_eq!(cyc.factor(1.0), 0.5);
    assert_eq!(cyc.factor(3.0), 1.0);
    assert_eq!(cyc.factor(4.0), 0.0, "a new cycle starts from zero");
    assert_eq!(BetaSchedule::Constant.factor(7.3), 1.0);
    assert!("warmup".parse::<BetaSchedule>().is_err());
    assert!("sometimes".parse::<BetaSchedule>().is_err());

    // In a run, the steps report the beta they used: 0 at the start of a warm-up, rising.
    let data = subset(1280, 100);
    let mut model = Model::new_random(VaeConfig::mnist(2), 1).unwrap();
    let cfg = TrainConfig {
        beta_schedule: warm,
        ..quick(2, 1)
    };
    let (r, events) = run(&mut model, &data, &cfg);
    r.unwrap();
    let betas: Vec<f32> = events
        .iter()
        .filter_map(|e| match e {
            TrainEvent::Step(s) => Some(s.beta),
            _ => None,
        })
        .collect();
    assert_eq!(betas.len(), 20);
    assert_eq!(betas[0], 0.0);
    assert!(betas.windows(2).all(|w| w[1] > w[0]));
    assert!((betas[19] - 0.95).abs() < 1e-6);
}

#[test]
fn kl_per_dimension_finds_the_collapsed_dimensions() {
    use latent_explorer::model::{ACTIVE_KL_THRESHOLD, Codes};
    // Dimension 0 informative (means spread, small variance), dimension 1 collapsed to the prior.
    let n = 1000;
    let mut mean = Vec::new();
    let mut logvar = Vec::new();
    for i in 0..n {
        mean.extend([((i % 20) as f32 - 10.0) / 5.0, 0.0]);
        logvar.extend([-4.0, 0.0]);
    }
    let codes = Codes {
        latent: 2,
        mean,
        logvar,
    };
    let kl = codes.kl_per_dim();
    assert!(kl[0] > 1.0, "{kl:?}");
    assert!(kl[1].abs() < 1e-6, "{kl:?}");
    assert_eq!(kl.iter().filter(|&&k| k > ACTIVE_KL_THRESHOLD).count(), 1);
}

/// Training flushes subnormal floats on the maths threads (Adam's moments of weights that stop
/// getting gradients otherwise sink into them and slowed later epochs by a third), and gives
/// the calling thread its own settings back.
#[test]
fn training_flushes_subnormals_on_its_threads_and_restores_the_callers() {
    use latent_explorer::kernels::cpu::flushes_subnormals;
    let data = subset(256, 64);
    let mut model = Model::new_random(VaeConfig::mnist(2), 1).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    assert!(!flushes_subnormals());
    let mut during = Vec::new();
    pool.install(|| {
        train(
            &mut model,
            &data,
            &quick(1, 1),
            &TrainControl::new(),
            &mut |e, _| {
                if matches!(e, TrainEvent::Step(_)) {
                    during.push(flushes_subnormals())
                }
            },
        )
        .unwrap()
    });
    let x86 = cfg!(target_arch = "x86_64");
    assert!(!during.is_empty() && during.iter().all(|&f| f == x86));
    assert_eq!(pool.broadcast(|_| flushes_subnormals()), vec![x86; 2]);
    assert!(!flushes_subnormals(), "the caller's settings are back");
}
