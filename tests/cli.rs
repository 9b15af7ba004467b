//! The `latent-explorer` binary as a subprocess: every subcommand on the bundled MNIST or small
//! generated datasets, and the error exits (code 2, one `error:` line naming the bad file, no
//! panic text, nothing left behind).

mod common;

use common::*;
use latent_explorer::data::{LoadOptions, load_dataset};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_latent-explorer");

/// A command for the binary, run from `cwd`, with backtraces on so a panic would be loud.
fn cmd_in(cwd: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(cwd)
        .env("RUST_BACKTRACE", "1")
        .env_remove("RAYON_NUM_THREADS");
    c
}

fn run_in(cwd: &Path, args: &[&str]) -> Output {
    cmd_in(cwd)
        .args(args)
        .output()
        .expect("run latent-explorer")
}

fn run(args: &[&str]) -> Output {
    run_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn describe(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

fn assert_ok(out: &Output) {
    assert!(out.status.success(), "command failed: {}", describe(out));
    let err = text(&out.stderr);
    assert!(!err.contains("panicked"), "{}", describe(out));
}

/// Exit code 2, exactly one stderr line starting with `error:` that contains every needle,
/// and no panic or backtrace text. Returns the line.
fn assert_error(out: &Output, needles: &[&str]) -> String {
    assert_eq!(out.status.code(), Some(2), "{}", describe(out));
    let err = text(&out.stderr);
    for bad in ["panicked", "backtrace", "RUST_BACKTRACE", "thread 'main'"] {
        assert!(
            !err.contains(bad),
            "panic text on stderr: {}",
            describe(out)
        );
    }
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one stderr line: {}",
        describe(out)
    );
    let line = lines[0];
    assert!(line.starts_with("error:"), "{}", describe(out));
    for n in needles {
        assert!(line.contains(n), "stderr does not mention {n:?}: {line}");
    }
    line.to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

fn mnist() -> String {
    mnist_dir().display().to_string()
}

/// Files in `dir` (names), to check nothing was left behind.
fn listing(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

struct Trained {
    _dir: TempDir,
    model: PathBuf,
    output: Output,
}

/// The tiny latent-2 MNIST model, trained once for the whole file.
fn trained() -> &'static Trained {
    static MODEL: OnceLock<Trained> = OnceLock::new();
    MODEL.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let model = dir.path().join("m.safetensors");
        let data = mnist();
        let output = run(&[
            "train",
            "--data",
            &data,
            "--limit",
            "512",
            "--epochs",
            "1",
            "--latent",
            "2",
            "--quiet",
            "--out",
            s(&model),
        ]);
        assert_ok(&output);
        Trained {
            _dir: dir,
            model,
            output,
        }
    })
}

fn model() -> &'static str {
    s(&trained().model)
}

fn decode_png(path: &Path) -> image::DynamicImage {
    image::open(path).unwrap_or_else(|e| panic!("{} does not decode: {e}", path.display()))
}

/// A generated 8x8 IDX dataset folder with train and t10k files.
fn small_idx(dir: &Path) -> PathBuf {
    write_idx_dataset(dir, "small8", 300, 60, 8, 8)
}

// ---------------------------------------------------------------------------------------------
// Subcommands
// ---------------------------------------------------------------------------------------------

#[test]
fn train_writes_a_checkpoint_that_info_describes() {
    let t = trained();
    assert!(t.model.is_file());
    assert!(std::fs::metadata(&t.model).unwrap().len() > 600_000 * 4);
    let stdout = text(&t.output.stdout);
    assert!(
        stdout.contains("data:  MNIST: 598 images (512 train, 86 test), 28x28 grey, 10 classes"),
        "{stdout}"
    );
    assert!(stdout.contains("784-400-2-400-784"), "{stdout}");
    assert!(stdout.contains("631188 parameters"), "{stdout}");
    assert!(
        stdout.contains("train: 512 samples, held out: 86, 4 steps per epoch"),
        "{stdout}"
    );
    assert!(stdout.contains("epoch 1/1: train loss"), "{stdout}");
    assert!(
        stdout.contains(&format!("saved {}", t.model.display())),
        "{stdout}"
    );
    // No temp files left beside the checkpoint.
    let dir = t.model.parent().unwrap();
    assert_eq!(listing(dir), BTreeSet::from(["m.safetensors".to_string()]));

    let info = run(&["info", "--model", model()]);
    assert_ok(&info);
    let out = text(&info.stdout);
    assert!(
        out.lines()
            .any(|l| l.starts_with("architecture:") && l.contains("784-400-2-400-784")),
        "{out}"
    );
    assert!(out.contains("latent dims:  2"), "{out}");
    assert!(out.contains("trained on:   MNIST"), "{out}");
    assert!(out.contains("epochs:       1 (512 samples seen)"), "{out}");

    let json = run(&["info", "--model", model(), "--json"]);
    assert_ok(&json);
    let v: serde_json::Value =
        serde_json::from_slice(&json.stdout).expect("info --json prints JSON");
    assert_eq!(v["config"]["latent"], 2);
    assert_eq!(v["config"]["hidden"], serde_json::json!([400]));
    assert_eq!(v["config"]["input"]["height"], 28);
    assert_eq!(v["config"]["input"]["width"], 28);
    assert_eq!(v["config"]["input"]["channels"], 1);
    assert_eq!(v["config"]["likelihood"], "bernoulli");
    assert_eq!(v["parameters"], 631_188);
    assert_eq!(v["history"]["epochs"], 1);
    assert_eq!(v["history"]["dataset_name"], "MNIST");
    let loss = v["history"]["train_loss"]
        .as_f64()
        .expect("train loss recorded");
    assert!(loss.is_finite() && loss > 0.0, "{loss}");
    assert!(v["dataset"].is_null());

    // With a dataset: whether the model fits it.
    let dir = tempfile::tempdir().unwrap();
    let small = small_idx(dir.path());
    let json = run(&["info", "--model", model(), "--json", "--data", s(&small)]);
    assert_ok(&json);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["fits_dataset"], false);
    let out = run(&["info", "--model", model(), "--data", &mnist()]);
    assert_ok(&out);
    assert!(text(&out.stdout).contains("fits:         yes"));
}

#[test]
fn encode_test_split_writes_labelled_csv() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("codes.csv");
    let out = run(&[
        "encode",
        "--model",
        model(),
        "--data",
        &mnist(),
        "--split",
        "test",
        "--out",
        s(&csv),
    ]);
    assert_ok(&out);
    assert!(text(&out.stdout).contains("wrote 10000 codes of 2 dims"));
    let body = std::fs::read_to_string(&csv).unwrap();
    let mut lines = body.lines();
    assert_eq!(
        lines.next(),
        Some("index,split,label,class,mean_0,mean_1,logvar_0,logvar_1")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 10_000);

    let ds = load_dataset(&mnist_dir(), &LoadOptions::default()).unwrap();
    let mut distinct = BTreeSet::new();
    for (k, row) in rows.iter().enumerate() {
        let f: Vec<&str> = row.split(',').collect();
        assert_eq!(f.len(), 8, "row {k}: {row}");
        let index: usize = f[0].parse().unwrap();
        assert_eq!(index, 60_000 + k);
        assert_eq!(f[1], "test");
        let label = ds.label(index).unwrap().to_string();
        assert_eq!(f[2], label, "row {k}");
        assert_eq!(f[3], label, "class names of MNIST are the digits");
        for v in &f[4..] {
            let x: f32 = v.parse().unwrap_or_else(|_| panic!("row {k}: {v}"));
            assert!(x.is_finite());
        }
        distinct.insert(f[4].to_string());
    }
    assert!(distinct.len() > 1000, "codes differ between samples");
    assert!(rows[0].starts_with("60000,test,7,7,"));
    assert!(rows[1].starts_with("60001,test,2,2,"));
    // Nothing but the CSV in the folder (no temp file left).
    assert_eq!(
        listing(dir.path()),
        BTreeSet::from(["codes.csv".to_string()])
    );
}

#[test]
fn sample_writes_a_png_grid() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("s.png");
    let args = [
        "sample",
        "--model",
        model(),
        "--count",
        "16",
        "--scale",
        "1",
        "--out",
        s(&png),
    ];
    let out = run(&args);
    assert_ok(&out);
    assert!(text(&out.stdout).contains("wrote 16 samples"));
    let img = decode_png(&png);
    // 4 x 4 tiles of 28 px with 2 px gaps.
    assert_eq!((img.width(), img.height()), (118, 118));
    assert_eq!(img.color(), image::ColorType::L8);
    let grey = img.to_luma8();
    // The gaps are the dark gap colour; the tiles are decoded images (not all one value).
    for y in 0..118 {
        assert_eq!(grey.get_pixel(28, y)[0], 32, "vertical gap at y {y}");
        assert_eq!(grey.get_pixel(y, 29)[0], 32, "horizontal gap at x {y}");
    }
    let tile: BTreeSet<u8> = (0..28)
        .flat_map(|y| (0..28).map(move |x| (x, y)))
        .map(|(x, y)| grey.get_pixel(x, y)[0])
        .collect();
    assert!(tile.len() > 5, "tile 0 is nearly flat: {tile:?}");

    // Same seed, same picture; another seed, another picture.
    let again = dir.path().join("again.png");
    let mut args2 = args;
    args2[8] = s(&again);
    assert_ok(&run(&args2));
    assert_eq!(std::fs::read(&png).unwrap(), std::fs::read(&again).unwrap());
    let other = dir.path().join("other.png");
    let out = run(&[
        "sample",
        "--model",
        model(),
        "--count",
        "16",
        "--scale",
        "1",
        "--seed",
        "9",
        "--out",
        s(&other),
    ]);
    assert_ok(&out);
    assert_ne!(std::fs::read(&png).unwrap(), std::fs::read(&other).unwrap());

    // Default scale 2, explicit columns.
    let wide = dir.path().join("wide.png");
    assert_ok(&run(&[
        "sample",
        "--model",
        model(),
        "--count",
        "6",
        "--columns",
        "6",
        "--out",
        s(&wide),
    ]));
    let img = decode_png(&wide);
    assert_eq!((img.width(), img.height()), (6 * 56 + 5 * 2, 56));
}

#[test]
fn interpolate_writes_a_strip() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("i.png");
    let out = run(&[
        "interpolate",
        "--model",
        model(),
        "--data",
        &mnist(),
        "--from",
        "0",
        "--to",
        "1",
        "--steps",
        "8",
        "--slerp",
        "--scale",
        "2",
        "--out",
        s(&png),
    ]);
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("wrote 8 frames (Spherical) from sample 0 to 1"),
        "{stdout}"
    );
    let img = decode_png(&png);
    assert_eq!((img.width(), img.height()), (8 * 28 * 2 + 7 * 2, 56));
    let grey = img.to_luma8();
    let tile = |k: u32| -> Vec<u8> {
        let x0 = k * (56 + 2);
        (0..56)
            .flat_map(|y| (0..56).map(move |x| (x0 + x, y)))
            .map(|(x, y)| grey.get_pixel(x, y)[0])
            .collect()
    };
    assert_ne!(tile(0), tile(7), "the two ends decode differently");

    // Linear, through a via point, scale 1: two legs of 8 frames share one.
    let lin = dir.path().join("lin.png");
    let out = run(&[
        "interpolate",
        "--model",
        model(),
        "--data",
        &mnist(),
        "--from",
        "0",
        "--to",
        "1",
        "--via",
        "2",
        "--steps",
        "8",
        "--scale",
        "1",
        "--out",
        s(&lin),
    ]);
    assert_ok(&out);
    assert!(text(&out.stdout).contains("wrote 15 frames (Linear)"));
    let img = decode_png(&lin);
    assert_eq!((img.width(), img.height()), (15 * 28 + 14 * 2, 28));
}

#[test]
fn reconstruct_shows_originals_above_reconstructions() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("r.png");
    let out = run(&[
        "reconstruct",
        "--model",
        model(),
        "--data",
        &mnist(),
        "--indices",
        "0,1,2",
        "--scale",
        "1",
        "--out",
        s(&png),
    ]);
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("wrote 3 originals"), "{stdout}");
    assert!(stdout.contains("mean reconstruction error"), "{stdout}");
    let img = decode_png(&png).to_luma8();
    assert_eq!(img.dimensions(), (3 * 28 + 2 * 2, 2 * 28 + 2));
    // The top row holds the dataset's own pixels.
    let ds = load_dataset(&mnist_dir(), &LoadOptions::default()).unwrap();
    for (col, index) in [0usize, 1, 2].into_iter().enumerate() {
        let x0 = col as u32 * 30;
        let top: Vec<u8> = (0..28)
            .flat_map(|y| (0..28).map(move |x| (x, y)))
            .map(|(x, y)| img.get_pixel(x0 + x, y)[0])
            .collect();
        assert_eq!(top.as_slice(), ds.image_bytes(index), "original {index}");
        let bottom: Vec<u8> = (0..28)
            .flat_map(|y| (0..28).map(move |x| (x, y)))
            .map(|(x, y)| img.get_pixel(x0 + x, 30 + y)[0])
            .collect();
        assert_ne!(
            bottom.as_slice(),
            ds.image_bytes(index),
            "reconstruction {index}"
        );
    }

    // Default: the first 16 test samples, using the bundled MNIST when --data is not given
    // (run from elsewhere, so the binary must find its assets on its own).
    let png = dir.path().join("default.png");
    let out = run_in(
        dir.path(),
        &[
            "reconstruct",
            "--model",
            model(),
            "--scale",
            "1",
            "--out",
            "default.png",
        ],
    );
    assert_ok(&out);
    let img = decode_png(&png).to_luma8();
    assert_eq!(img.dimensions(), (16 * 28 + 15 * 2, 58));
    let top: Vec<u8> = (0..28)
        .flat_map(|y| (0..28).map(move |x| (x, y)))
        .map(|(x, y)| img.get_pixel(x, y)[0])
        .collect();
    assert_eq!(top.as_slice(), ds.image_bytes(60_000), "first test sample");
}

/// A latent-4 model of the small generated 8x8 dataset (trained for one epoch here).
fn small_model(dir: &Path, data: &Path) -> PathBuf {
    let model = dir.join("small.safetensors");
    assert_ok(&run(&[
        "train",
        "--data",
        s(data),
        "--epochs",
        "1",
        "--latent",
        "4",
        "--quiet",
        "--out",
        s(&model),
    ]));
    model
}

#[test]
fn project_writes_one_row_per_sample_for_each_method() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_idx(dir.path());
    let model = small_model(dir.path(), &data);
    let ds = load_dataset(&data, &LoadOptions::default()).unwrap();
    for (method, extra) in [
        ("pca", vec![]),
        ("tsne", vec!["--perplexity", "10"]),
        ("umap", vec!["--neighbours", "10", "--min-dist", "0.2"]),
    ] {
        let csv = dir.path().join(format!("{method}.csv"));
        let mut args = vec![
            "project",
            "--data",
            s(&data),
            "--model",
            s(&model),
            "--method",
            method,
            "--out",
            s(&csv),
        ];
        args.extend(extra);
        let out = run(&args);
        assert_ok(&out);
        if method != "pca" {
            assert!(
                text(&out.stderr).contains("optimising"),
                "no progress on stderr: {}",
                describe(&out)
            );
        }
        let body = std::fs::read_to_string(&csv).unwrap();
        let mut lines = body.lines();
        assert_eq!(lines.next(), Some("index,label,x,y"));
        let rows: Vec<&str> = lines.collect();
        assert_eq!(rows.len(), ds.len(), "{method}: one row per sample");
        let mut xs = BTreeSet::new();
        for (k, row) in rows.iter().enumerate() {
            let f: Vec<&str> = row.split(',').collect();
            assert_eq!(f.len(), 4, "{method} row {k}: {row}");
            assert_eq!(f[0], k.to_string());
            assert_eq!(f[1], ds.label(k).unwrap().to_string());
            for v in &f[2..] {
                let x: f32 = v.parse().unwrap();
                assert!(x.is_finite(), "{method} row {k}: {row}");
            }
            xs.insert(f[2].to_string());
        }
        assert!(xs.len() > ds.len() / 2, "{method}: positions differ");
    }
}

#[test]
fn project_refuses_bad_parameters_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("out.csv");
    let out = run(&[
        "project",
        "--method",
        "tsne",
        "--perplexity",
        "500",
        "--out",
        s(&csv),
    ]);
    assert_error(&out, &["perplexity"]);
    let out = run(&[
        "project",
        "--method",
        "umap",
        "--min-dist",
        "3",
        "--out",
        s(&csv),
    ]);
    assert_error(&out, &["min-dist"]);
    let out = run(&["project", "--method", "mds", "--out", s(&csv)]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(!csv.exists());
}

#[test]
fn bench_prints_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_idx(dir.path());
    let out = run(&[
        "--threads",
        "1",
        "bench",
        "--epochs",
        "1",
        "--latent",
        "2",
        "--decode-calls",
        "50",
        "--data",
        s(&data),
    ]);
    assert_ok(&out);
    let stdout = text(&out.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let kinds: Vec<&str> = lines.iter().map(|v| v["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "config",
            "gemm_peak",
            "epoch",
            "encode",
            "encode",
            "decode",
            "memory"
        ],
        "{stdout}"
    );
    for v in &lines {
        assert_eq!(v["framework"], "candle");
        assert_eq!(v["threads"], 1);
    }
    let config = &lines[0];
    assert_eq!(config["epochs"], 1);
    assert_eq!(config["arch"], "mlp");
    assert_eq!(
        config["dataset"],
        "small8: 360 images (300 train, 60 test), 8x8 grey, 10 classes"
    );
    // A 1024^3 product measured, at a rate any machine this runs on reaches.
    assert!(lines[1]["gflops"].as_f64().unwrap() > 0.1, "{}", lines[1]);
    let epoch = &lines[2];
    assert_eq!(epoch["epoch"], 1);
    assert_eq!(epoch["latent"], 2);
    assert!(epoch["train_loss_per_sample"].as_f64().unwrap().is_finite());
    assert!(epoch["test_loss_per_sample"].as_f64().unwrap().is_finite());
    assert!(epoch["samples_per_sec"].as_f64().unwrap() > 0.0);
    assert_eq!(lines[3]["n"], 60);
    assert_eq!(lines[4]["n"], 360);
    let decode = &lines[5];
    assert_eq!(decode["calls"], 50);
    let (min, median) = (
        decode["min_us"].as_f64().unwrap(),
        decode["median_us"].as_f64().unwrap(),
    );
    assert!(min > 0.0 && min <= median, "{decode}");
    assert!(lines[6]["peak_rss_mib"].as_f64().unwrap() > 1.0);

    // The conv model on the first 100 training images: the epoch says so, and the held-out
    // set stays whole.
    let out = run(&[
        "--threads",
        "1",
        "bench",
        "--arch",
        "conv",
        "--limit",
        "100",
        "--latent",
        "4",
        "--decode-calls",
        "5",
        "--data",
        s(&data),
    ]);
    assert_ok(&out);
    let stdout = text(&out.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert_eq!(lines[0]["arch"], "conv");
    assert_eq!(lines[0]["limit"], 100);
    let epoch = lines.iter().find(|v| v["kind"] == "epoch").unwrap();
    assert_eq!(epoch["arch"], "conv");
    assert!(epoch["test_loss_per_sample"].as_f64().unwrap().is_finite());
    let encodes: Vec<&serde_json::Value> = lines.iter().filter(|v| v["kind"] == "encode").collect();
    assert_eq!(
        (encodes[0]["n"].as_u64(), encodes[1]["n"].as_u64()),
        (Some(60), Some(360))
    );
}

// ---------------------------------------------------------------------------------------------
// Error exits
// ---------------------------------------------------------------------------------------------

#[test]
fn missing_data_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-data");
    let csv = dir.path().join("x.csv");
    let out = run(&[
        "encode",
        "--model",
        model(),
        "--data",
        s(&missing),
        "--out",
        s(&csv),
    ]);
    assert_error(&out, &[s(&missing), "not found"]);
    assert!(!csv.exists());
    let out = run(&[
        "train",
        "--data",
        s(&missing),
        "--epochs",
        "1",
        "--out",
        s(&dir.path().join("m.safetensors")),
    ]);
    assert_error(&out, &[s(&missing)]);
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn corrupt_dataset_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = idx_images(10, 28, 28);
    bytes.truncate(16 + 1000);
    let bad = write_file(dir.path(), "bad-images-idx3-ubyte", &bytes, false);
    let csv = dir.path().join("x.csv");
    let out = run(&[
        "encode",
        "--model",
        model(),
        "--data",
        s(&bad),
        "--out",
        s(&csv),
    ]);
    assert_error(&out, &[s(&bad), "truncated"]);
    assert!(!csv.exists());

    let text_file = dir.path().join("notes.txt");
    std::fs::write(&text_file, "not a dataset").unwrap();
    let png = dir.path().join("r.png");
    let out = run(&[
        "reconstruct",
        "--model",
        model(),
        "--data",
        s(&text_file),
        "--out",
        s(&png),
    ]);
    assert_error(&out, &[s(&text_file), "not an IDX file"]);
    assert!(!png.exists());

    // A folder with a corrupt labels file.
    let folder = dir.path().join("ds");
    std::fs::create_dir(&folder).unwrap();
    write_idx_pair(&folder, "train", 5, 28, 28, 10, false);
    let labels = write_file(
        &folder,
        "train-labels-idx1-ubyte",
        &idx_labels_i32(&[0, 1, -1, 2, 3]),
        false,
    );
    let out = run(&["info", "--model", model(), "--data", s(&folder)]);
    assert_error(&out, &[s(&labels), "out of range"]);
}

#[test]
fn non_checkpoint_model() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("s.png");

    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "this is not a model\n").unwrap();
    let out = run(&["sample", "--model", s(&notes), "--out", s(&png)]);
    assert_error(&out, &[s(&notes), "not a valid checkpoint"]);

    let bytes = std::fs::read(model()).unwrap();
    let cut = dir.path().join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = run(&["sample", "--model", s(&cut), "--out", s(&png)]);
    assert_error(&out, &[s(&cut), "not a valid checkpoint"]);

    let empty = dir.path().join("empty.safetensors");
    std::fs::write(&empty, b"").unwrap();
    let csv = dir.path().join("x.csv");
    let out = run(&[
        "encode",
        "--model",
        s(&empty),
        "--data",
        &mnist(),
        "--out",
        s(&csv),
    ]);
    assert_error(&out, &[s(&empty)]);

    let out = run(&["info", "--model", s(dir.path())]);
    assert_error(&out, &[s(dir.path()), "folder"]);

    let missing = dir.path().join("missing.safetensors");
    let out = run(&["sample", "--model", s(&missing), "--out", s(&png)]);
    assert_error(&out, &[s(&missing), "not found"]);

    assert!(!png.exists());
    assert!(!csv.exists());
}

#[test]
fn model_that_does_not_fit_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let small = small_idx(dir.path());
    let csv = dir.path().join("x.csv");
    let out = run(&[
        "encode",
        "--model",
        model(),
        "--data",
        s(&small),
        "--out",
        s(&csv),
    ]);
    let line = assert_error(&out, &["28x28", "8x8", "small8"]);
    assert!(!csv.exists(), "{line}");

    let png = dir.path().join("i.png");
    let out = run(&[
        "interpolate",
        "--model",
        model(),
        "--data",
        s(&small),
        "--from",
        "0",
        "--to",
        "1",
        "--out",
        s(&png),
    ]);
    assert_error(&out, &["28x28", "8x8"]);
    let out = run(&[
        "reconstruct",
        "--model",
        model(),
        "--data",
        s(&small),
        "--out",
        s(&png),
    ]);
    assert_error(&out, &["28x28", "8x8"]);
    assert!(!png.exists());

    // Continuing training on data of another shape is refused before anything is written.
    let next = dir.path().join("next.safetensors");
    let out = run(&[
        "train",
        "--model",
        model(),
        "--data",
        s(&small),
        "--epochs",
        "1",
        "--quiet",
        "--out",
        s(&next),
    ]);
    assert_error(&out, &["28x28", "8x8"]);
    assert!(!next.exists());
}

#[test]
fn index_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("i.png");
    let out = run(&[
        "interpolate",
        "--model",
        model(),
        "--data",
        &mnist(),
        "--from",
        "70000",
        "--to",
        "1",
        "--out",
        s(&png),
    ]);
    assert_error(&out, &["70000", "out of range"]);
    let out = run(&[
        "reconstruct",
        "--model",
        model(),
        "--data",
        &mnist(),
        "--indices",
        "3,99999",
        "--out",
        s(&png),
    ]);
    assert_error(&out, &["99999", "out of range"]);
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn zero_threads() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("s.png");
    let out = run(&[
        "--threads",
        "0",
        "sample",
        "--model",
        model(),
        "--out",
        s(&png),
    ]);
    assert_error(&out, &["--threads"]);
    let out = run(&[
        "sample",
        "--threads",
        "0",
        "--model",
        model(),
        "--out",
        s(&png),
    ]);
    assert_error(&out, &["--threads"]);
    assert!(!png.exists());
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let out = run(&[
        "sample",
        "--model",
        model(),
        "--out",
        "x.png",
        "--bogus-flag",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.starts_with("error:"), "{err}");
    assert!(
        err.lines().next().unwrap().contains("--bogus-flag"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
    assert!(out.stdout.is_empty());
    assert!(!Path::new(env!("CARGO_MANIFEST_DIR")).join("x.png").exists());

    let out = run(&["no-such-subcommand"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(text(&out.stderr).starts_with("error:"));
}

#[test]
fn sample_into_a_missing_folder_fails_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("not-there");
    let png = missing.join("x.png");
    let out = run(&["sample", "--model", model(), "--out", s(&png)]);
    assert_error(&out, &[s(&missing)]);
    assert!(!missing.exists());
    assert!(listing(dir.path()).is_empty());

    // Writing over an existing file with a failing command keeps the old file.
    let keep = dir.path().join("keep.png");
    std::fs::write(&keep, b"old").unwrap();
    let out = run(&[
        "sample",
        "--model",
        model(),
        "--count",
        "0",
        "--out",
        s(&keep),
    ]);
    assert_error(&out, &["--count"]);
    assert_eq!(std::fs::read(&keep).unwrap(), b"old");
    assert_eq!(
        listing(dir.path()),
        BTreeSet::from(["keep.png".to_string()])
    );
}

#[test]
fn outputs_get_ordinary_file_permissions() {
    use std::os::unix::fs::PermissionsExt;
    // Under umask 022 a new output file is readable by everyone (0644), like any other
    // program's output, and overwriting a file keeps its mode.
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("s.png");
    let script = format!(
        "umask 022 && exec '{BIN}' sample --model '{}' --count 4 --out '{}'",
        model(),
        s(&png)
    );
    let out = Command::new("sh").arg("-c").arg(&script).output().unwrap();
    assert_ok(&out);
    let mode = std::fs::metadata(&png).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644, "new output has mode {mode:o}");

    std::fs::set_permissions(&png, std::fs::Permissions::from_mode(0o664)).unwrap();
    let out = Command::new("sh").arg("-c").arg(&script).output().unwrap();
    assert_ok(&out);
    let mode = std::fs::metadata(&png).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o664, "overwritten output has mode {mode:o}");
}

#[test]
fn open_refuses_missing_paths_before_the_window_opens() {
    // No display in tests: every case here must be refused before a window could open.
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("nowhere");
    for args in [
        vec!["open", s(&missing)],
        vec![s(&missing)],
        vec!["open", &mnist(), "gone.safetensors"],
    ] {
        let out = run(&args);
        let line = assert_error(&out, &["no such file or folder"]);
        let named = args.last().unwrap();
        assert!(
            line.starts_with(&format!("error: {named}: ")),
            "the refused path comes first: {line}"
        );
        assert!(out.stdout.is_empty(), "{}", describe(&out));
    }
    // Two of a kind, both present: refused as well, naming the second.
    let out = run(&["open", model(), "models/mnist-latent16.safetensors"]);
    assert_error(&out, &["models/mnist-latent16.safetensors: only one model"]);
    let out = run(&[&mnist(), "assets/fashion-mnist-sample"]);
    assert_error(&out, &["assets/fashion-mnist-sample: only one dataset"]);
}

#[test]
fn an_installed_binary_finds_its_bundled_files_from_any_folder() {
    // As after `cargo install`: run from an unrelated folder, no source tree to find (the
    // variable hides it), the per-user data folder empty.
    let cwd = TempDir::new().unwrap();
    let data_dir = TempDir::new().unwrap();
    let installed = |args: &[&str]| {
        cmd_in(cwd.path())
            .env("LATENT_EXPLORER_IGNORE_SOURCE_TREE", "1")
            .env("LATENT_EXPLORER_DATA_DIR", data_dir.path())
            .args(args)
            .output()
            .expect("run latent-explorer")
    };
    let out = installed(&["info", "--json"]);
    assert_ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("info --json");
    let bundled = data_dir.path().join("bundled");
    let model_path = bundled.join("models/mnist-latent2.safetensors");
    assert_eq!(v["path"], s(&model_path), "{v}");
    assert_eq!(v["config"]["latent"], 2);
    assert_eq!(
        v["bundled_dataset"],
        s(&bundled.join("assets/mnist")),
        "{v}"
    );
    // The written files are the source tree's, byte for byte.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for f in [
        "models/mnist-latent2.safetensors",
        "models/mnist-latent16.safetensors",
        "assets/mnist/train-images-idx3-ubyte.gz",
        "assets/mnist/train-labels-idx1-ubyte.gz",
        "assets/mnist/t10k-images-idx3-ubyte.gz",
        "assets/mnist/t10k-labels-idx1-ubyte.gz",
    ] {
        let written = std::fs::read(bundled.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(
            written == std::fs::read(root.join(f)).unwrap(),
            "{f} differs"
        );
    }
    let written_at = std::fs::metadata(&model_path).unwrap().modified().unwrap();

    // The text form says where the dataset is; a second run rewrites nothing; and a command
    // that reads the bundled dataset and model works from there.
    let out = installed(&["info"]);
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("checkpoint:   {}", model_path.display())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "bundled data: {}",
            bundled.join("assets/mnist").display()
        )),
        "{stdout}"
    );
    assert_eq!(
        std::fs::metadata(&model_path).unwrap().modified().unwrap(),
        written_at
    );
    let out = installed(&[
        "reconstruct",
        "--count",
        "2",
        "--scale",
        "1",
        "--out",
        "r.png",
    ]);
    assert_ok(&out);
    assert_eq!(decode_png(&cwd.path().join("r.png")).width(), 2 * 28 + 2);
    // Nothing was written into the working folder but the output.
    assert_eq!(listing(cwd.path()), BTreeSet::from(["r.png".to_string()]));
}

fn latent16() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models/mnist-latent16.safetensors")
        .display()
        .to_string()
}

#[test]
fn traverse_writes_a_labelled_grid_of_the_active_dimensions_and_a_gif() {
    let dir = tempfile::tempdir().unwrap();
    let (png, gif) = (dir.path().join("t.png"), dir.path().join("t.gif"));
    // Three of the 16 dimensions collapsed onto the prior: 13 active rows.
    let collapsed = dir.path().join("collapsed.safetensors");
    latent16_with_collapsed(&[2, 9, 13])
        .save(&collapsed)
        .unwrap();
    let m = s(&collapsed).to_string();
    let out = run(&[
        "traverse",
        "--model",
        &m,
        "--data",
        &mnist(),
        "--range",
        "spread",
        "--steps",
        "5",
        "--dims",
        "active",
        "--from-sample",
        "3",
        "--scale",
        "1",
        "--out",
        s(&png),
        "--gif",
        s(&gif),
    ]);
    assert_ok(&out);
    let stdout = text(&out.stdout);
    // "wrote a traversal of R active latent dimensions by KL x 5 values (spread range) ..."
    let rows: usize = stdout
        .split("wrote a traversal of ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no row count in {stdout}"));
    assert!(
        stdout.contains("active latent dimensions by KL x 5 values (spread range) from sample 3"),
        "{stdout}"
    );
    assert_eq!(rows, 13, "{stdout}");
    assert!(
        stdout.contains(&format!("wrote {} frames", rows * 8)),
        "{stdout}"
    );
    // Labels in margins: wider and taller than the bare grid of R x 5 tiles.
    let img = decode_png(&png);
    let bare = (5 * 28 + 4 * 2, rows as u32 * 28 + (rows as u32 - 1) * 2);
    assert!(
        img.width() > bare.0 && img.height() > bare.1,
        "{}x{}",
        img.width(),
        img.height()
    );
    use image::AnimationDecoder;
    let frames = image::codecs::gif::GifDecoder::new(std::io::BufReader::new(
        std::fs::File::open(&gif).unwrap(),
    ))
    .unwrap()
    .into_frames()
    .collect_frames()
    .unwrap();
    assert_eq!(frames.len(), rows * 8);
}

#[test]
fn traverse_from_the_prior_needs_no_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("t.png");
    let m = latent16();
    let out = run(&[
        "traverse",
        "--model",
        &m,
        "--no-kl-order",
        "--dims",
        "0,3,5",
        "--steps",
        "4",
        "--sigmas",
        "2",
        "--out",
        s(&png),
    ]);
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert!(!stdout.contains("load:"), "read a dataset: {stdout}");
    assert!(
        stdout.contains("wrote a traversal of 3 latent dimensions x 4 values (prior range)"),
        "{stdout}"
    );
    assert!(decode_png(&png).width() > 4 * 56);
}

#[test]
fn traverse_refuses_bad_input_with_one_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("t.png");
    let m = latent16();
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec!["--steps", "1"], vec!["--steps must be 2..=64"]),
        (vec!["--dims", "2,99"], vec!["dimension 99 is out of range"]),
        (vec!["--dims", "1,1"], vec!["dimension 1 is listed twice"]),
        (vec!["--range", "minmax", "--sigmas", "2"], vec!["--sigmas"]),
        (vec!["--sigmas", "0"], vec!["--sigmas must be above 0"]),
        (
            vec!["--frame-ms", "5"],
            vec!["--frame-ms must be 20..=10000"],
        ),
        (
            vec!["--from-sample", "70000"],
            vec!["index 70000 is out of range"],
        ),
    ];
    for (extra, needles) in cases {
        let mut args = vec!["traverse", "--model", &m, "--out", s(&png)];
        args.extend(extra.iter().copied());
        let out = run(&args);
        assert_error(&out, &needles);
        assert!(!png.exists(), "{args:?} left a file");
    }
    let out = run(&[
        "traverse",
        "--model",
        &m,
        "--range",
        "sideways",
        "--out",
        s(&png),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let missing = dir.path().join("no/such/dir/t.png");
    assert_error(
        &run(&["traverse", "--model", &m, "--out", s(&missing)]),
        &["no/such/dir"],
    );
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn analogy_prints_the_vectors_quality_and_writes_the_grid() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("a.png");
    let m = latent16();
    let out = run(&[
        "analogy",
        "--model",
        &m,
        "--data",
        &mnist(),
        "--plus",
        "7",
        "--minus",
        "1",
        "--steps",
        "5",
        "--scale",
        "1",
        "--out",
        s(&png),
    ]);
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("attribute 7 minus 1:"), "{stdout}");
    let consistency: f32 = stdout
        .split("consistency ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no consistency in {stdout}"));
    assert!(consistency > 0.5, "{stdout}");
    assert!(
        stdout.contains("wrote an analogy grid of 6 samples x 5 amounts"),
        "{stdout}"
    );
    let img = decode_png(&png);
    assert!(img.width() > 5 * 28 + 4 * 2 && img.height() > 6 * 28 + 5 * 2);

    for (extra, needles) in [
        (
            vec!["--plus", "12", "--minus", "1"],
            vec!["--plus 12 is not a class"],
        ),
        (
            vec!["--plus", "7", "--minus", "1", "--steps", "1"],
            vec!["--steps must be 2..=32"],
        ),
        (
            vec!["--plus-samples", "5", "--minus", "1"],
            vec!["at least 2"],
        ),
        (
            vec!["--plus", "7", "--minus", "1", "--samples", "70000"],
            vec!["index 70000 is out of range"],
        ),
    ] {
        let bad = dir.path().join("bad.png");
        let mut args = vec!["analogy", "--model", &m, "--out", s(&bad)];
        args.extend(extra);
        assert_error(&run(&args), &needles);
        assert!(!bad.exists());
    }
}

// ---------------------------------------------------------------------------------------------
// Conditional models
// ---------------------------------------------------------------------------------------------

/// `train --conditional` needs labels: on an images file alone it exits 2 naming the file, and
/// writes nothing.
#[test]
fn train_conditional_refuses_a_dataset_without_labels() {
    let dir = tempfile::tempdir().unwrap();
    let images = write_file(
        dir.path(),
        "lonely-images-idx3-ubyte",
        &idx_images(64, 8, 8),
        false,
    );
    let out_path = dir.path().join("c.safetensors");
    let before = listing(dir.path());
    let out = run(&[
        "train",
        "--data",
        s(&images),
        "--conditional",
        "--epochs",
        "1",
        "--quiet",
        "--out",
        s(&out_path),
    ]);
    assert_error(&out, &["lonely-images-idx3-ubyte", "conditional", "labels"]);
    assert_eq!(listing(dir.path()), before, "nothing written");
}

/// A conditional model trained by the CLI: `info` names it, `sample --class K` draws it, and
/// the class is required, range-checked, and refused for an unconditional model.
#[test]
fn sample_draws_the_class_asked_of_a_conditional_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("cvae.safetensors");
    let train = run(&[
        "train",
        "--data",
        &mnist(),
        "--conditional",
        "--limit",
        "512",
        "--epochs",
        "1",
        "--latent",
        "2",
        "--quiet",
        "--out",
        s(&model),
    ]);
    assert_ok(&train);
    assert!(
        text(&train.stdout).contains("conditional on 10 classes"),
        "{}",
        describe(&train)
    );
    let png = dir.path().join("sevens.png");
    let out = run(&[
        "sample",
        "--model",
        s(&model),
        "--class",
        "7",
        "--count",
        "8",
        "--columns",
        "8",
        "--scale",
        "1",
        "--out",
        s(&png),
    ]);
    assert_ok(&out);
    // One row of 8 tiles of 28 px with 2 px gaps.
    assert_eq!(decode_png(&png).width(), 8 * 28 + 7 * 2);

    let missing = dir.path().join("none.png");
    let out = run(&["sample", "--model", s(&model), "--out", s(&missing)]);
    assert_error(&out, &["cvae.safetensors", "--class"]);
    let out = run(&[
        "sample",
        "--model",
        s(&model),
        "--class",
        "10",
        "--out",
        s(&missing),
    ]);
    assert_error(&out, &["--class 10", "0..10"]);
    let plain = self::model();
    let out = run(&[
        "sample",
        "--model",
        plain,
        "--class",
        "3",
        "--out",
        s(&missing),
    ]);
    assert_error(&out, &["--class is for conditional models"]);
    assert!(!missing.exists());

    // Interpolation blends the anchors' labels along with their codes.
    let strip = dir.path().join("strip.png");
    assert_ok(&run(&[
        "interpolate",
        "--model",
        s(&model),
        "--data",
        &mnist(),
        "--from",
        "0",
        "--to",
        "1",
        "--out",
        s(&strip),
    ]));
}

/// A command run under `script`, on a pseudo-terminal (where progress bars draw): its exit
/// status and everything it wrote there, stdout and stderr together.
fn run_on_terminal(args: &[&str]) -> (std::process::ExitStatus, String) {
    let line = std::iter::once(BIN)
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("RUST_BACKTRACE", "1")
        .env_remove("RAYON_NUM_THREADS")
        .output()
        .expect("run script (util-linux)");
    (out.status, text(&out.stdout))
}

#[test]
fn an_image_folder_loads_with_a_progress_bar_that_quiet_hides() {
    let dir = tempfile::tempdir().unwrap();
    let folder = write_mnist_pngs(&dir.path().join("digits"), 3000);
    // Not a terminal: no bar, stderr empty, and the speed line on stdout.
    let out = run(&["info", "--data", s(&folder)]);
    assert_ok(&out);
    assert_eq!(text(&out.stderr), "", "{}", describe(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("load: read 3000 images in") && stdout.contains("images/s"),
        "{stdout}"
    );
    assert!(stdout.contains("digits: 3000 images"), "{stdout}");

    // On a terminal the bar draws, stage by stage...
    let (status, screen) = run_on_terminal(&["info", "--data", s(&folder)]);
    assert!(status.success(), "{screen}");
    // Which stages get drawn depends on the speed (the bar redraws at most 20 times a second
    // and 3,000 small PNGs can be read in 50 ms), so either stage's label counts.
    let drawn =
        |screen: &str| screen.contains("Listing images") || screen.contains("Reading image");
    assert!(drawn(&screen), "no progress bar: {screen}");
    assert!(screen.contains("load: read 3000 images"), "{screen}");
    // ...and --quiet hides it, as it hides training's.
    let (status, screen) = run_on_terminal(&["info", "--quiet", "--data", s(&folder)]);
    assert!(status.success(), "{screen}");
    assert!(!drawn(&screen), "{screen}");
    assert!(screen.contains("load: read 3000 images"), "{screen}");

    // Every command reading a dataset takes --quiet (here encode, to a CSV of every image).
    let csv = dir.path().join("codes.csv");
    let out = run(&["encode", "--quiet", "--data", s(&folder), "--out", s(&csv)]);
    assert_ok(&out);
    let rows = std::fs::read_to_string(&csv).unwrap().lines().count();
    assert_eq!(rows, 3001, "a header and a row per image");
}
