//! The conditional VAE: trained briefly on real MNIST it draws the class it is asked for (as a
//! nearest-class-mean classifier in pixel space judges); its checkpoints keep `conditional`;
//! old checkpoints load as unconditional; and every way of encoding or decoding without the
//! class it needs is refused with a message, never answered with a guess.

use latent_explorer::Error;
use latent_explorer::data::{Dataset, ImageShape, LoadOptions, Split, load_dataset};
use latent_explorer::latent::sample_prior;
use latent_explorer::model::{Classes, Model, VaeConfig};
use latent_explorer::train::{TrainConfig, TrainControl, train};
use std::path::PathBuf;
use std::sync::OnceLock;

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

/// The same images without their labels.
fn unlabelled(data: &Dataset) -> Dataset {
    let pixels: Vec<u8> = (0..data.len())
        .flat_map(|i| data.image_bytes(i).to_vec())
        .collect();
    Dataset::new(
        "unlabelled",
        "/tmp/no-labels-here.npy",
        data.shape,
        pixels,
        None,
        Vec::new(),
        vec![Split::Train; data.len()],
    )
    .unwrap()
}

/// Per class, the mean of its real training images in pixel space.
fn class_means(data: &Dataset, classes: usize) -> Vec<Vec<f64>> {
    let d = data.shape.len();
    let mut sums = vec![vec![0f64; d]; classes];
    let mut counts = vec![0usize; classes];
    for i in data.indices(Split::Train) {
        let c = data.label(i).unwrap() as usize;
        for (s, &b) in sums[c].iter_mut().zip(data.image_bytes(i)) {
            *s += b as f64 / 255.0;
        }
        counts[c] += 1;
    }
    for (s, n) in sums.iter_mut().zip(counts) {
        s.iter_mut().for_each(|v| *v /= n.max(1) as f64);
    }
    sums
}

/// The class whose mean image is nearest (Euclidean) to `image`.
fn nearest_mean(means: &[Vec<f64>], image: &[f32]) -> usize {
    let dist = |m: &[f64]| -> f64 {
        m.iter()
            .zip(image)
            .map(|(a, &b)| (a - b as f64).powi(2))
            .sum()
    };
    (0..means.len())
        .min_by(|&a, &b| dist(&means[a]).total_cmp(&dist(&means[b])))
        .unwrap()
}

/// The fraction of prior draws, `per_class` for each class, that the nearest-class-mean
/// classifier assigns to the class they were drawn as.
fn asked_class_accuracy(model: &Model, means: &[Vec<f64>], per_class: usize) -> f64 {
    let l = model.latent();
    let d = model.config().input.len();
    let mut hits = 0;
    for class in 0..means.len() as u16 {
        let z = sample_prior(per_class, l, 1.0, 100 + class as u64);
        let images = model.decode_as(&z, Classes::All(class)).unwrap();
        hits += images
            .chunks_exact(d)
            .filter(|img| nearest_mean(means, img) == class as usize)
            .count();
    }
    hits as f64 / (per_class * means.len()) as f64
}

/// The seed's question: does a conditional model draw the class it is asked for? Judged
/// without its encoder, by the class means of real images. An untrained model draws the same
/// grey blur whatever the class (near chance, 10%), so the check can fail.
#[test]
fn a_conditional_model_draws_the_class_it_is_asked_for() {
    let data = subset(20_000, 1_000);
    let means = class_means(&data, 10);
    // A small code leaves the class to the label: with 2 dims this setting drew the asked
    // class 82% of the time (4 epochs, 5.5 s on a loaded 2-core AMD EPYC); with 8 dims, 41%
    // (the encoder then keeps some of the class in the code).
    let config = VaeConfig::mnist(2).conditioned_on(&data).unwrap();
    assert!(config.conditional && config.classes == 10);
    let mut model = Model::new_random(config, 7).unwrap();
    let untrained = asked_class_accuracy(&model, &means, 100);
    assert!(
        untrained < 0.25,
        "an untrained model should be near chance, got {untrained:.2}"
    );
    let cfg = TrainConfig {
        epochs: 4,
        seed: 3,
        ..TrainConfig::default()
    };
    let started = std::time::Instant::now();
    let summary = train(
        &mut model,
        &data,
        &cfg,
        &TrainControl::new(),
        &mut |_, _| {},
    )
    .unwrap();
    let last = summary.last_epoch.unwrap();
    eprintln!(
        "conditional 784(+10)-400-2-400-784: {} epochs of 20,000 in {:.1} s (last epoch {:.2} s, {:.0} samples/s), held-out loss {:.1}",
        summary.epochs_completed,
        started.elapsed().as_secs_f64(),
        last.epoch_secs,
        last.samples_per_sec,
        last.test_loss.unwrap()
    );
    assert!(last.test_loss.unwrap() < 165.0, "it learned: {last:?}");
    let trained = asked_class_accuracy(&model, &means, 100);
    eprintln!("drawn as the asked class: {trained:.3} (untrained {untrained:.3}, chance 0.1)");
    assert!(
        trained > 0.5,
        "samples are the asked class only {trained:.2} of the time"
    );
}

/// A conditional model's code is the style: the same code drawn as two classes gives two
/// different pictures, and its reconstructions use each sample's own label.
#[test]
fn the_class_changes_the_picture_and_reconstructions_use_the_label() {
    let data = subset(256, 0);
    let model = Model::new_random(VaeConfig::mnist(4).conditioned_on(&data).unwrap(), 1).unwrap();
    let z = vec![0.3f32; 4];
    let a = model.decode_as(&z, Classes::All(1)).unwrap();
    let b = model.decode_as(&z, Classes::All(7)).unwrap();
    assert!(a.iter().zip(&b).any(|(x, y)| (x - y).abs() > 1e-4));
    // A blend of the one-hots at its ends is the classes themselves.
    let mut w = vec![0f32; 10];
    w[7] = 1.0;
    assert_eq!(model.decode_as(&z, Classes::Weights(&w)).unwrap(), b);

    let idx = [0usize, 1, 2];
    let codes = model.encode(&data, &idx).unwrap();
    let labels: Vec<u16> = idx.iter().map(|&i| data.label(i).unwrap()).collect();
    let by_hand = model
        .decode_as(&codes.mean, Classes::Each(&labels))
        .unwrap();
    assert_eq!(model.reconstruct(&data, &idx).unwrap(), by_hand);
    let scores = model.score(&data, &idx, 0).unwrap();
    assert_eq!(scores.recon.len(), 3);
}

/// What cannot be done without a class is refused with a message that says so, naming the
/// dataset's file where there is one.
#[test]
fn a_conditional_model_refuses_to_guess_a_class() {
    let data = subset(64, 0);
    let model = Model::new_random(VaeConfig::mnist(3).conditioned_on(&data).unwrap(), 2).unwrap();
    let z = vec![0.0f32; 6];
    for err in [
        model.decode(&z).unwrap_err(),
        model.encode_values(&data.image(0)).unwrap_err(),
    ] {
        assert!(matches!(err, Error::Conditional(_)), "{err}");
        assert!(
            err.to_string().contains("conditional on 10 classes"),
            "{err}"
        );
    }
    let err = model.decode_as(&z, Classes::All(10)).unwrap_err();
    assert!(
        err.to_string().contains("class 10 is out of range"),
        "{err}"
    );

    let bare = unlabelled(&data);
    for err in [
        model.encode(&bare, &[0, 1]).unwrap_err(),
        model.check_fits(&bare).unwrap_err(),
        model.score(&bare, &[0], 0).unwrap_err(),
        VaeConfig::mnist(3).conditioned_on(&bare).unwrap_err(),
    ] {
        let text = err.to_string();
        assert!(
            text.contains("no-labels-here.npy")
                && (text.contains("no labels") || text.contains("has none")),
            "{text}"
        );
    }
    let mut copy = model.duplicate().unwrap();
    let cfg = TrainConfig {
        epochs: 1,
        ..TrainConfig::default()
    };
    let err = train(&mut copy, &bare, &cfg, &TrainControl::new(), &mut |_, _| {}).unwrap_err();
    assert!(err.to_string().contains("no-labels-here.npy"), "{err}");

    // A dataset with a class the model was not trained on is refused whole, naming a sample.
    let twelve = Dataset::new(
        "twelve classes",
        "/tmp/twelve.npy",
        data.shape,
        (0..data.len())
            .flat_map(|i| data.image_bytes(i).to_vec())
            .collect(),
        Some((0..data.len()).map(|i| (i % 12) as u16).collect()),
        (0..12).map(|c| c.to_string()).collect(),
        vec![Split::Train; data.len()],
    )
    .unwrap();
    let err = model.check_fits(&twelve).unwrap_err().to_string();
    assert!(
        err.contains("sample 10 of twelve classes (/tmp/twelve.npy) has label 10"),
        "{err}"
    );

    // Conv models are not conditional; neither are one-class datasets.
    let conv = VaeConfig::conv(ImageShape::new(28, 28, 1), 3).with_classes(10);
    assert!(conv.validate().is_err());
    assert!(VaeConfig::mnist(3).with_classes(1).validate().is_err());
}

/// A checkpoint keeps `conditional` and the number of classes; one written before conditional
/// models existed (no such keys in its config) loads as unconditional.
#[test]
fn checkpoints_keep_the_condition_and_old_ones_load_unconditional() {
    let dir = tempfile::tempdir().unwrap();
    let data = subset(64, 0);
    let model = Model::new_random(VaeConfig::mnist(3).conditioned_on(&data).unwrap(), 4).unwrap();
    let path = dir.path().join("cvae.safetensors");
    model.save(&path).unwrap();
    let back = Model::load(&path).unwrap();
    assert!(back.config().conditional);
    assert_eq!(back.classes(), Some(10));
    assert_eq!(back.config(), model.config());
    let z = vec![0.5f32, -0.2, 1.0];
    assert_eq!(
        back.decode_as(&z, Classes::All(3)).unwrap(),
        model.decode_as(&z, Classes::All(3)).unwrap()
    );

    let old_json = r#"{"input":{"height":28,"width":28,"channels":1},"hidden":[400],"latent":2,"likelihood":"bernoulli","beta":1.0}"#;
    let old: VaeConfig = serde_json::from_str(old_json).unwrap();
    assert!(!old.conditional);
    assert_eq!(old.classes, 0);
    old.validate().unwrap();
    // The bundled checkpoints predate conditional models.
    let bundled = latent_explorer::assets::source_tree_path(latent_explorer::assets::MODEL);
    let m = Model::load(&bundled).unwrap();
    assert_eq!(m.classes(), None);
    assert!(!m.config().conditional);
}

/// Encoding a dataset takes the flat path (sparse first layer for MNIST, dense for inverted
/// digits); with the one-hot's weight row added it gives what candle gives on [x | one-hot].
#[test]
fn dataset_encoding_matches_candle_with_the_labels() {
    let data = subset(300, 0);
    let inverted = Dataset::new(
        "inverted",
        "memory",
        data.shape,
        (0..data.len())
            .flat_map(|i| {
                data.image_bytes(i)
                    .iter()
                    .map(|b| 255 - b)
                    .collect::<Vec<_>>()
            })
            .collect(),
        data.labels().map(<[u16]>::to_vec),
        data.class_names().to_vec(),
        vec![Split::Train; data.len()],
    )
    .unwrap();
    let model = Model::new_random(VaeConfig::mnist(5).conditioned_on(&data).unwrap(), 9).unwrap();
    let idx: Vec<usize> = (0..300).rev().step_by(3).collect();
    for set in [&data, &inverted] {
        let fast = model.encode(set, &idx).unwrap();
        let values: Vec<f32> = idx.iter().flat_map(|&i| set.image(i)).collect();
        let labels: Vec<u16> = idx.iter().map(|&i| set.label(i).unwrap()).collect();
        let reference = model
            .encode_values_as(&values, Classes::Each(&labels))
            .unwrap();
        for (a, b) in fast
            .mean
            .iter()
            .chain(&fast.logvar)
            .zip(reference.mean.iter().chain(&reference.logvar))
        {
            assert!((a - b).abs() < 1e-4, "{} : {a} vs {b}", set.name);
        }
    }
}
