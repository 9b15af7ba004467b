//! Sampling where the data is, on the real bundled MNIST and latent-16 model: a Gaussian
//! mixture fitted to the codes gives samples the model explains better (higher ELBO) than
//! samples from the prior; k-means on the codes finds the digits far above chance; the holes
//! of the prior exist on real codes; and the `sample --from mixture` and `cluster` commands,
//! with their refusals (exit 2, one line).

mod common;

use common::mnist_dir;
use latent_explorer::analysis::{
    Components, HoleOptions, MixtureOptions, aggregate_posterior_draws, find_holes, fit_mixture,
    fit_mixture_components, importance_weighted_bound, kmeans, overall_purity, summarize_clusters,
};
use latent_explorer::data::{Dataset, ImageShape, LoadOptions, Split, load_dataset};
use latent_explorer::latent::sample_prior;
use latent_explorer::model::Model;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::AtomicBool;

const BIN: &str = env!("CARGO_BIN_EXE_latent-explorer");

fn mnist() -> &'static Dataset {
    static DATA: OnceLock<Dataset> = OnceLock::new();
    DATA.get_or_init(|| load_dataset(&mnist_dir(), &LoadOptions::default()).unwrap())
}

fn model_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/mnist-latent16.safetensors")
}

fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| Model::load(&model_path()).unwrap())
}

/// Codes (posterior means) of the first `n` training images.
fn train_codes(n: usize) -> (Vec<usize>, Vec<f32>) {
    let indices: Vec<usize> = mnist().indices(Split::Train).into_iter().take(n).collect();
    let codes = model().encode(mnist(), &indices).unwrap();
    (indices, codes.mean)
}

/// The decoded images of `z` as a dataset (bytes, as every dataset holds), and their ELBO
/// per image in nats, averaged over 8 draws from q(z|x) each.
fn elbo_of_decoded(z: &[f32]) -> Vec<f64> {
    let m = model();
    let images = m.decode(z).unwrap();
    let n = images.len() / 784;
    let pixels: Vec<u8> = images
        .iter()
        .map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect();
    let data = Dataset::new(
        "decoded",
        "decoded",
        ImageShape::new(28, 28, 1),
        pixels,
        None,
        Vec::new(),
        vec![Split::Test; n],
    )
    .unwrap();
    let indices: Vec<usize> = (0..n).collect();
    importance_weighted_bound(m, &data, &indices, 8, 3, &|_| {}, &AtomicBool::new(false))
        .unwrap()
        .unwrap()
        .elbo
}

fn mean_and_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

#[test]
fn samples_from_the_mixture_have_a_higher_elbo_than_samples_from_the_prior() {
    let (_, codes) = train_codes(20_000);
    let mixture = fit_mixture(&codes, 16, 10, &MixtureOptions::default()).unwrap();
    let n = 1000;
    let from_mixture = elbo_of_decoded(&mixture.sample(n, 1.0, 11));
    let from_prior = elbo_of_decoded(&sample_prior(n, 16, 1.0, 11));
    let (m, m_se) = mean_and_se(&from_mixture);
    let (p, p_se) = mean_and_se(&from_prior);
    eprintln!("ELBO of decoded samples: mixture {m:.2} +- {m_se:.2}, prior {p:.2} +- {p_se:.2}");
    // Independent samples: the difference's standard error is the root of the sum of squares;
    // 4 of them is a two-sided false alarm of about 6e-5.
    assert!(
        m - p > 4.0 * (m_se * m_se + p_se * p_se).sqrt(),
        "mixture {m} +- {m_se}, prior {p} +- {p_se}"
    );
    // And the mixture is a better density for held-out codes than the prior.
    let test: Vec<usize> = mnist()
        .indices(Split::Test)
        .into_iter()
        .take(2000)
        .collect();
    let held_out = model().encode(mnist(), &test).unwrap().mean;
    let mixture_ll = mixture.log_densities(&held_out).iter().sum::<f64>() / 2000.0;
    let prior_ll = held_out
        .chunks(16)
        .map(|z| {
            -0.5 * z.iter().map(|&v| (v * v) as f64).sum::<f64>()
                - 8.0 * (2.0 * std::f64::consts::PI).ln()
        })
        .sum::<f64>()
        / 2000.0;
    assert!(mixture_ll > prior_ll, "{mixture_ll} vs {prior_ll}");
}

#[test]
fn kmeans_on_mnist_codes_finds_the_digits_far_above_chance() {
    let (indices, codes) = train_codes(10_000);
    let km = kmeans(&codes, 16, 10, 1).unwrap();
    let labels: Vec<u16> = indices.iter().map(|&i| mnist().label(i).unwrap()).collect();
    let summaries = summarize_clusters(&codes, 16, &km.assignments, 10, Some(&labels), 1);
    let purity = overall_purity(&summaries);
    // Chance (every code given the commonest digit) is about 0.11.
    eprintln!("k-means purity on 10,000 latent-16 codes: {purity:.3}");
    assert!(purity > 0.5, "purity {purity}");
    // A medoid is a member of its cluster and most share its cluster's majority label.
    let agreeing = summaries
        .iter()
        .enumerate()
        .filter(|(c, s)| {
            let m = s.medoid.unwrap();
            assert_eq!(km.assignments[m], *c);
            Some(labels[m]) == s.majority_label
        })
        .count();
    assert!(
        agreeing >= 7,
        "{agreeing} of 10 medoids carry the majority label"
    );
}

#[test]
fn the_prior_has_holes_among_mnist_codes_and_bic_picks_several_components() {
    let (indices, codes) = train_codes(10_000);
    let logvar = model().encode(mnist(), &indices).unwrap().logvar;
    let draws = aggregate_posterior_draws(&codes, &logvar, 1);
    let holes = find_holes(&draws, 16, &HoleOptions::default()).unwrap();
    let mass = holes.prior_mass_in_holes();
    eprintln!("prior mass in holes of the latent-16 codes: {mass:.3}");
    // Codes drawn from the prior itself leave under 1% (the library's own tests).
    assert!(mass > 0.02, "{mass}");
    // A prior draw in a hole decodes to an image the model explains worse than one outside.
    let order = holes.hole_indices();
    let inside: Vec<f32> = order
        .iter()
        .take(100)
        .flat_map(|&i| holes.probe(i).to_vec())
        .collect();
    let outside: Vec<f32> = (0..holes.len())
        .filter(|&i| !holes.is_hole(i))
        .take(100)
        .flat_map(|i| holes.probe(i).to_vec())
        .collect();
    let (hole_elbo, _) = mean_and_se(&elbo_of_decoded(&inside));
    let (bulk_elbo, _) = mean_and_se(&elbo_of_decoded(&outside));
    assert!(hole_elbo < bulk_elbo, "{hole_elbo} vs {bulk_elbo}");

    let fit = fit_mixture_components(
        &codes[..3000 * 16],
        16,
        Components::Bic { max: 8 },
        &MixtureOptions::default(),
    )
    .unwrap();
    assert!(fit.mixture.k() > 1, "BIC {:?}", fit.bic);
}

// ---------------------------------------------------------------------------------------------
// The commands
// ---------------------------------------------------------------------------------------------

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Exit 2 and one error line naming `needle` (clap adds a "For more information" hint under
/// its own parse errors; that line is not an error).
fn assert_refused(out: &Output, needle: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}{}", text(&out.stdout));
    assert!(!err.contains("panicked"), "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(errors[0].contains(needle), "'{needle}' not in: {err}");
}

#[test]
fn sample_from_the_mixture_writes_a_grid() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("m.png");
    let out = run(&[
        "sample",
        "--from",
        "mixture",
        "--components",
        "6",
        "--model",
        s(&model_path()),
        "--count",
        "16",
        "--out",
        s(&png),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("mixture: 6 components (full covariance) fitted to 60000 codes"),
        "{stdout}"
    );
    // 4 x 4 tiles of 28 x 28 pixels at scale 2 (and the gaps between them).
    let img = image::open(&png).unwrap();
    assert!(
        img.width() >= 4 * 28 * 2 && img.width() < 5 * 28 * 2,
        "{}",
        img.width()
    );
    assert_eq!(img.width(), img.height());

    // bic on the test split, diagonal.
    let png2 = dir.path().join("b.png");
    let out = run(&[
        "sample",
        "--from",
        "mixture",
        "--components",
        "bic:4",
        "--covariance",
        "diagonal",
        "--split",
        "test",
        "--model",
        s(&model_path()),
        "--count",
        "4",
        "--out",
        s(&png2),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("of 1..=4 have the lowest BIC"), "{stdout}");
    assert!(
        stdout.contains("(diagonal covariance) fitted to 10000 codes"),
        "{stdout}"
    );
}

#[test]
fn sample_refuses_bad_mixture_flags() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("x.png");
    for (args, needle) in [
        (vec!["--from", "mixture", "--components", "0"], "components"),
        (vec!["--from", "mixture", "--components", "lots"], "lots"),
        (vec!["--from", "mixture", "--components", "bic:99"], "99"),
        (vec!["--from", "mixture", "--covariance", "round"], "round"),
        (
            vec!["--from", "prior", "--components", "3"],
            "--from mixture",
        ),
        (vec!["--from", "nowhere"], "nowhere"),
    ] {
        let mut all = vec!["sample", "--out", s(&png)];
        all.extend(args);
        assert_refused(&run(&all), needle);
        assert!(!png.exists());
    }
    // A dataset the model cannot take.
    let missing = dir.path().join("no-data");
    let out = run(&[
        "sample",
        "--from",
        "mixture",
        "--data",
        s(&missing),
        "--out",
        s(&png),
    ]);
    assert_refused(&out, s(&missing));
    assert!(!png.exists());
}

#[test]
fn cluster_writes_labels_and_prints_purity() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("clusters.csv");
    let out = run(&[
        "cluster",
        "--model",
        s(&model_path()),
        "--k",
        "10",
        "--split",
        "test",
        "--out",
        s(&csv),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let purity: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("purity: "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(purity > 0.5, "{stdout}");
    let rows = std::fs::read_to_string(&csv).unwrap();
    let mut lines = rows.lines();
    assert_eq!(lines.next(), Some("index,label,cluster"));
    let body: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(body.len(), 10_000);
    // The test split follows the 60,000 training images; labels are MNIST's.
    assert_eq!(body[0][0], "60000");
    assert_eq!(
        body[0][1],
        mnist().label(60_000).unwrap().to_string().as_str()
    );
    assert!(body.iter().all(|r| r[2].parse::<usize>().unwrap() < 10));
    // Ten summary rows on stdout.
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.split(',').count() == 5 && !l.starts_with("cluster,"))
            .count(),
        10,
        "{stdout}"
    );

    // The mixture as the clustering.
    let out = run(&[
        "cluster",
        "--model",
        s(&model_path()),
        "--method",
        "mixture",
        "--k",
        "5",
        "--split",
        "test",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Gaussian mixture"));
}

#[test]
fn cluster_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("c.csv");
    assert_refused(&run(&["cluster", "--k", "0", "--out", s(&csv)]), "clusters");
    assert_refused(&run(&["cluster", "--k", "65", "--out", s(&csv)]), "65");
    assert_refused(
        &run(&["cluster", "--method", "spectral", "--out", s(&csv)]),
        "spectral",
    );
    let nowhere = dir.path().join("no-dir").join("c.csv");
    assert_refused(&run(&["cluster", "--out", s(&nowhere)]), "no-dir");
    // The output may not be the model it reads.
    let model_copy = dir.path().join("m.safetensors");
    std::fs::copy(model_path(), &model_copy).unwrap();
    assert_refused(
        &run(&[
            "cluster",
            "--model",
            s(&model_copy),
            "--out",
            s(&model_copy),
        ]),
        "input",
    );
    assert!(!csv.exists());
}
