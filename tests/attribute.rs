//! Attribute vectors between two groups of real MNIST codes (the bundled latent-16 model): the
//! vector is the difference of the groups' means, its quality is high for "7 minus 1" and at
//! chance for two random halves of one class, and the analogy grid turns ones into sevens.

mod common;

use latent_explorer::data::{Dataset, LoadOptions, Split, load_dataset};
use latent_explorer::latent::{analogy_amounts, analogy_grid, attribute_quality, attribute_vector};
use latent_explorer::model::{Codes, Model};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use std::path::Path;
use std::sync::OnceLock;

fn model() -> Model {
    Model::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models/mnist-latent16.safetensors"))
        .unwrap()
}

/// MNIST's test split, its labels and the latent-16 codes (row k is test sample k).
fn test_split() -> &'static (Vec<u16>, Codes) {
    static SPLIT: OnceLock<(Vec<u16>, Codes)> = OnceLock::new();
    SPLIT.get_or_init(|| {
        let data: Dataset = load_dataset(&common::mnist_dir(), &LoadOptions::default()).unwrap();
        let idx = data.indices(Split::Test);
        let labels = idx.iter().map(|&i| data.label(i).unwrap()).collect();
        (labels, model().encode(&data, &idx).unwrap())
    })
}

fn class(labels: &[u16], c: u16) -> Vec<usize> {
    (0..labels.len()).filter(|&k| labels[k] == c).collect()
}

#[test]
fn the_vector_is_the_difference_of_the_class_means() {
    let (labels, codes) = test_split();
    let (sevens, ones) = (class(labels, 7), class(labels, 1));
    let v = attribute_vector(codes, &sevens, &ones).unwrap();
    assert_eq!(v.len(), 16);
    for (d, got) in v.iter().enumerate() {
        let mean = |rows: &[usize]| {
            rows.iter()
                .map(|&r| codes.mean_of(r)[d] as f64)
                .sum::<f64>()
                / rows.len() as f64
        };
        let want = mean(&sevens) - mean(&ones);
        assert!(
            (*got as f64 - want).abs() < 1e-5,
            "dimension {d}: {got} vs {want}"
        );
    }
}

#[test]
fn quality_is_high_for_seven_minus_one_and_at_chance_for_halves_of_one_class() {
    let (labels, codes) = test_split();
    let (sevens, ones) = (class(labels, 7), class(labels, 1));
    let q = attribute_quality(codes, &sevens, &ones, 1).unwrap();
    eprintln!("7 minus 1: {q:?}");
    assert!(q.consistency > 0.5, "{q:?}");
    assert!(q.agreeing > 0.95, "{q:?}");
    assert!(q.chance.abs() < 0.05, "{q:?}");
    assert_eq!(q.pairs, 2000);

    let mut shuffled = sevens.clone();
    shuffled.shuffle(&mut rand::rngs::StdRng::seed_from_u64(7));
    let (a, b) = shuffled.split_at(shuffled.len() / 2);
    let halves = attribute_quality(codes, a, b, 1).unwrap();
    eprintln!("two halves of the sevens: {halves:?}");
    assert!(halves.consistency.abs() < 0.05, "{halves:?}");
    assert!(
        (halves.consistency - halves.chance).abs() < 0.05,
        "{halves:?}"
    );
    assert!((0.4..0.6).contains(&halves.agreeing), "{halves:?}");
    // Same seed, same figures.
    assert_eq!(attribute_quality(codes, a, b, 1).unwrap(), halves);
}

#[test]
fn the_analogy_grid_adds_the_vector_in_steps_and_turns_ones_into_sevens() {
    let (labels, codes) = test_split();
    let (sevens, ones) = (class(labels, 7), class(labels, 1));
    let v = attribute_vector(codes, &sevens, &ones).unwrap();
    let m = model();
    let starts: Vec<(String, Vec<f32>)> = ones
        .iter()
        .take(6)
        .map(|&r| (format!("#{r}"), codes.mean_of(r).to_vec()))
        .collect();
    let amounts = analogy_amounts(5, 1.0, false);
    assert_eq!(amounts, [0.0, 0.25, 0.5, 0.75, 1.0]);
    let grid = analogy_grid(&m, &starts, &v, &amounts).unwrap();
    assert_eq!((grid.rows(), grid.columns()), (6, 5));
    assert_eq!(grid.images.len(), 6 * 5 * 784);
    // Column 0 is the sample's own reconstruction (up to the batch's rounding).
    let own = m.decode(&starts[0].1).unwrap();
    let diff = own
        .iter()
        .zip(&grid.images[..784])
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(
        diff < 1e-5,
        "column 0 differs from the reconstruction by {diff}"
    );
    // At the whole vector, the re-encoded picture is nearer the sevens' mean than the ones'.
    let mean = |rows: &[usize]| -> Vec<f32> {
        let mut s = vec![0f32; 16];
        for &r in rows {
            for (a, b) in s.iter_mut().zip(codes.mean_of(r)) {
                *a += b / rows.len() as f32;
            }
        }
        s
    };
    let (m7, m1) = (mean(&sevens), mean(&ones));
    let dist = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f32>();
    let last: Vec<f32> = (0..6)
        .flat_map(|r| grid.images[(r * 5 + 4) * 784..(r * 5 + 5) * 784].to_vec())
        .collect();
    let again = m.encode_values(&last).unwrap();
    let sevenish = (0..6)
        .filter(|&k| dist(again.mean_of(k), &m7) < dist(again.mean_of(k), &m1))
        .count();
    assert!(sevenish >= 5, "only {sevenish} of 6 moved to the sevens");
    let picture = grid.picture(1).unwrap();
    assert!(picture.width() > 5 * 28 && picture.height() > 6 * 28);
}
