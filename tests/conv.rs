//! The convolutional VAE: shapes from 28x28 grey to 64x64 RGB and odd sizes, clear refusals
//! of sizes it cannot take, checkpoints that round-trip, the fused CPU trainer's gradients
//! against candle's autograd, and training that learns on real Fashion-MNIST, stops when asked
//! and refuses to apply a non-finite step.

use latent_explorer::Error;
use latent_explorer::data::{Dataset, ImageShape, LoadOptions, Split, load_dataset};
use latent_explorer::model::{Architecture, Model, VaeConfig};
use latent_explorer::train::{TrainConfig, TrainControl, TrainEvent, train};
use std::path::PathBuf;

/// The bundled Fashion-MNIST sample: 1,000 training and 200 test images.
fn fashion() -> Dataset {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/fashion-mnist-sample");
    load_dataset(&path, &LoadOptions::default()).unwrap()
}

/// Deterministic values in [0, 1] for `n` images of `shape`.
fn pattern(n: usize, shape: ImageShape) -> Vec<f32> {
    (0..n * shape.len())
        .map(|i| ((i * 37 + i / 7) % 101) as f32 / 100.0)
        .collect()
}

#[test]
fn conv_models_take_grey_and_rgb_images_of_many_sizes() {
    for (h, w, c) in [
        (28, 28, 1),
        (32, 32, 3),
        (64, 64, 3),
        (45, 37, 3),
        (29, 64, 1),
    ] {
        let shape = ImageShape::new(h, w, c);
        let config = VaeConfig::conv(shape, 8);
        let model = Model::new_random(config.clone(), 1).unwrap();
        assert_eq!(model.config().arch, Architecture::Conv);
        // The weights are exactly the listed names and shapes.
        let vars: Vec<(String, Vec<usize>)> = model
            .vars()
            .into_iter()
            .map(|(n, v)| (n, v.as_tensor().dims().to_vec()))
            .collect();
        let mut listed = config.param_shapes();
        listed.sort();
        assert_eq!(vars, listed, "{shape}");
        assert!(vars.iter().any(|(n, _)| n == "encoder.conv.0.weight"));
        assert!(
            vars.iter()
                .any(|(n, s)| n == "decoder.deconv.2.weight" && s[1] == c)
        );
        let codes = model.encode_values(&pattern(3, shape)).unwrap();
        assert_eq!((codes.len(), codes.latent), (3, 8), "{shape}");
        assert!(codes.mean.iter().all(|v| v.is_finite()));
        let images = model.decode(&codes.mean).unwrap();
        assert_eq!(images.len(), 3 * shape.len(), "{shape}");
        assert!(images.iter().all(|v| (0.0..=1.0).contains(v)), "{shape}");
        let summary = config.summary();
        assert!(summary.starts_with("conv "), "{summary}");
        if h % 8 != 0 || w % 8 != 0 {
            assert!(summary.contains("padded to"), "{summary}");
        }
    }
}

#[test]
fn the_decoder_keeps_the_image_layout_pixel_for_pixel() {
    // With the decoder's last bias set per channel and every other decoder weight zero, the
    // output must be that channel's colour everywhere: a wrong permute between candle's
    // C x H x W and the dataset's H x W x C would mix the channels up.
    let shape = ImageShape::new(30, 36, 3);
    let model = Model::new_random(VaeConfig::conv(shape, 4), 2).unwrap();
    for (name, var) in model.vars() {
        if name.starts_with("decoder.") {
            let zeros = var.as_tensor().zeros_like().unwrap();
            var.set(&zeros).unwrap();
        }
    }
    let bias = model
        .vars()
        .into_iter()
        .find(|(n, _)| n == "decoder.deconv.2.bias")
        .unwrap()
        .1;
    let logits = [4.0f32, -4.0, 0.0];
    bias.set(&candle_core::Tensor::new(&logits, model.device()).unwrap())
        .unwrap();
    let image = model.decode(&[0.3, -1.0, 2.0, 0.5]).unwrap();
    for px in image.chunks(3) {
        assert!(
            px[0] > 0.98 && px[1] < 0.02 && (px[2] - 0.5).abs() < 1e-6,
            "{px:?}"
        );
    }
}

#[test]
fn sizes_a_conv_model_cannot_take_are_refused_with_the_reason() {
    let cases = [
        (
            ImageShape::new(6, 40, 1),
            vec![32, 64, 64],
            "8 to 256 pixels a side",
        ),
        (
            ImageShape::new(300, 300, 3),
            vec![32, 64, 64],
            "got 300x300",
        ),
        (ImageShape::new(28, 28, 1), vec![], "1 to 4 conv layers"),
        (ImageShape::new(28, 28, 1), vec![32, 0], "out of range"),
    ];
    for (shape, channels, needle) in cases {
        let config = VaeConfig {
            hidden: channels,
            ..VaeConfig::conv(shape, 4)
        };
        let msg = match Model::new_random(config, 1) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{shape} was accepted"),
        };
        assert!(msg.contains(needle), "{shape}: {msg}");
    }
}

#[test]
fn a_conv_checkpoint_round_trips_and_bundled_mlp_checkpoints_stay_mlp() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conv.safetensors");
    let shape = ImageShape::new(32, 32, 3);
    let model = Model::new_random(VaeConfig::conv(shape, 6), 9).unwrap();
    model.save(&path).unwrap();
    let loaded = Model::load(&path).unwrap();
    assert_eq!(loaded.config(), model.config());
    let z = [0.1f32, -0.4, 1.3, 0.0, 2.0, -2.0];
    assert_eq!(loaded.decode(&z).unwrap(), model.decode(&z).unwrap());
    let x = pattern(2, shape);
    assert_eq!(
        loaded.encode_values(&x).unwrap().mean,
        model.encode_values(&x).unwrap().mean
    );

    // The same weights under an MLP config are refused, naming what is missing.
    let mlp = VaeConfig::for_shape(shape, 6);
    let bytes = std::fs::read(&path).unwrap();
    let json = serde_json::to_string(&mlp).unwrap();
    let conv_json = serde_json::to_string(model.config()).unwrap();
    assert!(conv_json.contains("\"arch\":\"conv\""), "{conv_json}");
    // Rewrite the header's config (a JSON string inside the JSON header) to the MLP's.
    let bad = dir.path().join("relabelled.safetensors");
    let mut header_len = [0u8; 8];
    header_len.copy_from_slice(&bytes[..8]);
    let n = u64::from_le_bytes(header_len) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + n]).unwrap().replacen(
        &conv_json.replace('"', "\\\""),
        &json.replace('"', "\\\""),
        1,
    );
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header.as_bytes());
    out.extend(&bytes[8 + n..]);
    std::fs::write(&bad, out).unwrap();
    let msg = match Model::load(&bad) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("conv weights loaded as an MLP"),
    };
    assert!(
        msg.contains("encoder.hidden.0.weight") && msg.contains("encoder.conv.0.weight"),
        "{msg}"
    );

    // Checkpoints written before the architecture field existed load as MLPs.
    let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut seen = 0;
    for entry in std::fs::read_dir(models).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "safetensors") {
            let bytes = std::fs::read(&p).unwrap();
            assert!(!String::from_utf8_lossy(&bytes[..4096.min(bytes.len())]).contains("arch"));
            assert_eq!(Model::load(&p).unwrap().config().arch, Architecture::Mlp);
            seen += 1;
        }
    }
    assert!(seen >= 2);
}

fn fashion_config(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 50,
        learning_rate: 2e-3,
        seed: 3,
        ..TrainConfig::default()
    }
}

#[test]
fn a_conv_model_learns_fashion_mnist() {
    let data = fashion();
    let mut model = Model::new_random(VaeConfig::conv(data.shape, 8), 5).unwrap();
    let test = data.indices(Split::Test);
    let before: f64 = model
        .score(&data, &test, 1)
        .unwrap()
        .loss()
        .iter()
        .sum::<f32>() as f64
        / test.len() as f64;
    let mut events = Vec::new();
    let summary = train(
        &mut model,
        &data,
        &fashion_config(2),
        &TrainControl::new(),
        &mut |e, _| events.push(e),
    )
    .unwrap();
    assert_eq!(summary.epochs_completed, 2);
    assert_eq!(summary.steps, 2 * 1000 / 50);
    let epochs: Vec<f64> = events
        .iter()
        .filter_map(|e| match e {
            TrainEvent::Epoch(s) => s.test_loss,
            _ => None,
        })
        .collect();
    assert_eq!(epochs.len(), 2);
    let steps = events
        .iter()
        .filter(|e| matches!(e, TrainEvent::Step(_)))
        .count();
    assert_eq!(steps, 40);
    assert!(matches!(events.last(), Some(TrainEvent::Finished(_))));
    assert!(
        epochs[1] < epochs[0] && epochs[1] < before * 0.7,
        "held-out loss {before:.1} -> {epochs:?}"
    );
    assert_eq!(model.history.epochs, 2);
    assert_eq!(model.history.test_loss, Some(epochs[1]));
}

#[test]
fn conv_training_stops_when_asked_and_never_applies_a_non_finite_step() {
    let data = fashion();
    let mut model = Model::new_random(VaeConfig::conv(data.shape, 4), 1).unwrap();
    let control = TrainControl::new();
    let mut steps = 0;
    let summary = train(
        &mut model,
        &data,
        &fashion_config(3),
        &control,
        &mut |e, _| {
            if matches!(e, TrainEvent::Step(_)) {
                steps += 1;
                if steps == 3 {
                    control.stop();
                }
            }
        },
    )
    .unwrap();
    assert!(summary.stopped);
    assert_eq!((summary.steps, summary.epochs_completed), (3, 0));

    // An infinite bias makes the very first loss infinite: the run fails with the reason and
    // the weights stay as they were.
    let bias = model
        .vars()
        .into_iter()
        .find(|(n, _)| n == "decoder.deconv.2.bias")
        .unwrap()
        .1;
    bias.set(&candle_core::Tensor::new(&[f32::INFINITY], model.device()).unwrap())
        .unwrap();
    let before = model.vars()[0]
        .1
        .as_tensor()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let mut failed = None;
    let err = train(
        &mut model,
        &data,
        &fashion_config(1),
        &TrainControl::new(),
        &mut |e, _| {
            if let TrainEvent::Failed(m) = e {
                failed = Some(m)
            }
        },
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NonFiniteLoss {
                epoch: 1,
                step: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(failed.unwrap().contains("training diverged"));
    let after = model.vars()[0]
        .1
        .as_tensor()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert_eq!(before, after, "no step was applied");
}

/// The fused CPU trainer's loss and every gradient agree with candle's autograd through the
/// candle model, for grey and colour images, padded odd sizes, 1 to 4 layers, both
/// likelihoods, and a batch split across shards. 75 rows make every shard (one on one thread,
/// two on two) go through more than one micro-batch, so their gradients add up.
#[test]
fn fused_conv_gradients_match_candle_autograd() {
    use candle_core::Tensor;
    use latent_explorer::model::Likelihood;
    use latent_explorer::train::FusedConvVae;
    for (shape, channels, likelihood, beta, n) in [
        (
            ImageShape::new(28, 28, 1),
            vec![32, 64, 64],
            Likelihood::Bernoulli,
            1.0f32,
            75,
        ),
        (
            ImageShape::new(45, 37, 3),
            vec![8, 16],
            Likelihood::Gaussian,
            2.5,
            7,
        ),
        (
            ImageShape::new(16, 16, 3),
            vec![4, 8, 8, 6],
            Likelihood::Bernoulli,
            0.3,
            33,
        ),
        (
            ImageShape::new(6, 10, 1),
            vec![5],
            Likelihood::Bernoulli,
            1.0,
            3,
        ),
    ] {
        let config = VaeConfig {
            hidden: channels.clone(),
            likelihood,
            ..VaeConfig::conv(shape, 3)
        };
        let model = Model::new_random(config, 11).unwrap();
        let x = pattern(n, shape);
        let eps = latent_explorer::latent::sample_prior(n, 3, 1.0, 5);

        let dev = model.device().clone();
        let xt = Tensor::from_slice(&x, (n, shape.len()), &dev).unwrap();
        let et = Tensor::from_slice(&eps, (n, 3), &dev).unwrap();
        let losses = model.vae().losses(&xt, None, &et).unwrap();
        let recon = losses.recon.sum_all().unwrap().to_scalar::<f32>().unwrap();
        let kl = losses.kl.sum_all().unwrap().to_scalar::<f32>().unwrap();
        let loss = (losses.recon.sum_all().unwrap()
            + (losses.kl.sum_all().unwrap() * beta as f64).unwrap())
        .unwrap();
        let grads = loss.backward().unwrap();

        let mut fused = FusedConvVae::from_model(&model).unwrap();
        let sums = fused.forward_backward(&x, &eps, n, beta);
        let what = format!("{shape:?} {channels:?} {likelihood:?}");
        assert!(
            (sums.recon as f32 - recon).abs() <= 1e-4 * recon.abs(),
            "{what}: recon {} vs {recon}",
            sums.recon
        );
        assert!(
            (sums.kl as f32 - kl).abs() <= 1e-3 * kl.abs().max(1.0),
            "{what}: kl {} vs {kl}",
            sums.kl
        );
        let vars: std::collections::HashMap<String, candle_core::Var> =
            model.vars().into_iter().collect();
        let ours = fused.gradients();
        assert_eq!(ours.len(), vars.len());
        for (name, g) in ours {
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
                "{what}: {name} differs by {worst} (scale {scale})"
            );
        }

        // Written back, the weights are the model's own again, exactly.
        let before: Vec<Vec<f32>> = model
            .vars()
            .iter()
            .map(|(_, v)| v.as_tensor().flatten_all().unwrap().to_vec1().unwrap())
            .collect();
        fused.write_to(&model).unwrap();
        for ((name, v), b) in model.vars().iter().zip(&before) {
            let after: Vec<f32> = v.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
            assert_eq!(&after, b, "{what}: {name} changed on a round trip");
        }
    }
}

/// On the CPU, conv models encode and score through flat buffers (`model::conv_flat`): the
/// means, log-variances and both loss terms agree with the candle network's, for a padded
/// colour size and for Fashion-MNIST, over more images than one parallel chunk.
#[test]
fn flat_conv_encoding_and_scoring_match_the_candle_network() {
    use candle_core::Tensor;
    use rand::SeedableRng;
    let close = |ours: &[f32], theirs: &[f32], what: &str| {
        assert_eq!(ours.len(), theirs.len(), "{what}");
        let scale = theirs.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
        let worst = ours
            .iter()
            .zip(theirs)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(
            worst <= 1e-4 * scale,
            "{what}: differs by {worst} (scale {scale})"
        );
    };
    let data = fashion();
    let colour = ImageShape::new(45, 37, 3);
    let colour_x = pattern(150, colour);
    for (config, x, n) in [
        (VaeConfig::conv(data.shape, 8), None, 300),
        (
            VaeConfig {
                hidden: vec![8, 16],
                likelihood: latent_explorer::model::Likelihood::Gaussian,
                ..VaeConfig::conv(colour, 5)
            },
            Some(&colour_x),
            150,
        ),
    ] {
        let model = Model::new_random(config.clone(), 7).unwrap();
        let d = config.input.len();
        let ds;
        let (set, values): (&Dataset, Vec<f32>) = match x {
            None => (&data, (0..n).flat_map(|i| data.image(i)).collect()),
            Some(x) => {
                let bytes: Vec<u8> = x.iter().map(|v| (v * 255.0).round() as u8).collect();
                ds = Dataset::new(
                    "pattern",
                    "pattern",
                    colour,
                    bytes,
                    None,
                    vec![],
                    vec![Split::Train; n],
                )
                .unwrap();
                (&ds, (0..n).flat_map(|i| ds.image(i)).collect())
            }
        };
        let idx: Vec<usize> = (0..n).collect();
        let codes = model.encode(set, &idx).unwrap();
        let xt = Tensor::from_slice(&values, (n, d), model.device()).unwrap();
        let (m, lv) = model.vae().encode(&xt, None).unwrap();
        let flat = |t: Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        close(&codes.mean, &flat(m), "means");
        close(&codes.logvar, &flat(lv), "log-variances");

        let scores = model.score(set, &idx, 9).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let eps =
            latent_explorer::model::standard_normal(&mut rng, n, config.latent, model.device())
                .unwrap();
        let losses = model.vae().losses(&xt, None, &eps).unwrap();
        close(&scores.recon, &flat(losses.recon), "reconstruction error");
        close(&scores.kl, &flat(losses.kl), "KL");
    }
}
