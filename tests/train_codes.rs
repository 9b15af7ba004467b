//! The codes a training run reports on its way (the window's map takes them instead of
//! re-encoding the training images while a run goes on): every training image once an epoch,
//! no held-out image, each the model's own code for it, for the MLP (one shard and several)
//! and the conv model.

use latent_explorer::data::{Dataset, LoadOptions, Split, load_dataset};
use latent_explorer::model::{Model, VaeConfig};
use latent_explorer::train::{
    BatchCodes, TrainConfig, TrainControl, steps_report_codes, train_reporting_codes,
};
use std::collections::HashMap;
use std::path::PathBuf;

fn load(dir: &str, n_train: usize, n_test: usize) -> Dataset {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join(dir);
    let d = load_dataset(&path, &LoadOptions::default()).unwrap();
    let mut idx: Vec<usize> = d.indices(Split::Train).into_iter().take(n_train).collect();
    idx.extend(d.indices(Split::Test).into_iter().take(n_test));
    d.subset(&idx).unwrap()
}

/// Trains `model` for `epochs` with a learning rate so small that the weights do not move
/// (Adam's steps are about the learning rate), on a pool of `threads`, and returns every
/// reported code by dataset index, with how often each index was reported.
fn reported(
    model: &mut Model,
    data: &Dataset,
    epochs: usize,
    threads: usize,
) -> HashMap<usize, (usize, Vec<f32>, Vec<f32>)> {
    let cfg = TrainConfig {
        epochs,
        batch_size: 100,
        learning_rate: 1e-20,
        ..TrainConfig::default()
    };
    let mut seen: HashMap<usize, (usize, Vec<f32>, Vec<f32>)> = HashMap::new();
    let mut record = |b: BatchCodes<'_>| {
        assert_eq!(b.mean.len(), b.indices.len() * b.latent);
        assert_eq!(b.logvar.len(), b.indices.len() * b.latent);
        for (k, &i) in b.indices.iter().enumerate() {
            let row = k * b.latent..(k + 1) * b.latent;
            let entry = seen.entry(i).or_default();
            entry.0 += 1;
            entry.1 = b.mean[row.clone()].to_vec();
            entry.2 = b.logvar[row].to_vec();
        }
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        train_reporting_codes(
            model,
            data,
            &cfg,
            &TrainControl::new(),
            &mut |_, _| {},
            Some(&mut record),
        )
    })
    .unwrap();
    seen
}

fn assert_reports_every_training_code(model: &Model, data: &Dataset, threads: usize) {
    assert!(steps_report_codes(model));
    let mut trained = model.duplicate().unwrap();
    let seen = reported(&mut trained, data, 2, threads);
    let train = data.indices(Split::Train);
    assert_eq!(seen.len(), train.len(), "{threads} threads");
    assert!(
        seen.values().all(|(count, _, _)| *count == 2),
        "once an epoch"
    );
    let expected = model.encode(data, &train).unwrap();
    let mut worst = 0f32;
    for (k, i) in train.iter().enumerate() {
        let (_, mean, logvar) = &seen[i];
        let l = expected.latent;
        for d in 0..l {
            worst = worst
                .max((mean[d] - expected.mean[k * l + d]).abs())
                .max((logvar[d] - expected.logvar[k * l + d]).abs());
        }
    }
    assert!(worst < 1e-3, "{threads} threads: codes differ by {worst}");
}

#[test]
fn an_mlp_run_reports_each_training_images_code_once_an_epoch() {
    let data = load("mnist", 600, 100);
    let model = Model::new_random(VaeConfig::mnist(4), 3).unwrap();
    // One shard, then the batch split over two.
    assert_reports_every_training_code(&model, &data, 1);
    assert_reports_every_training_code(&model, &data, 2);
}

#[test]
fn a_conv_run_reports_each_training_images_code_once_an_epoch() {
    let data = load("fashion-mnist-sample", 300, 50);
    let model = Model::new_random(VaeConfig::conv(data.shape, 4), 3).unwrap();
    assert_reports_every_training_code(&model, &data, 1);
    assert_reports_every_training_code(&model, &data, 2);
}
