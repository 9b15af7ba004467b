//! Interop with numpy and PyTorch. Always: a PyTorch-style state dict (fc1..fc4, no metadata)
//! written here with the `safetensors` crate imports with the right architecture and weights;
//! `encode --out` .npy / .npz files read back with our reader. Where the PyTorch venv exists
//! (/tmp/torch-venv, or $TORCH_PY) with torch, numpy and safetensors: numpy reads our code files,
//! and weights round-trip through ../shared/bench/torch_vae.py's VAE in both directions with
//! encode means equal to 1e-4. Where it is absent, that part prints why it was skipped.

mod common;

use latent_explorer::data::{LoadOptions, Split, load_dataset};
use latent_explorer::model::{Model, VaeConfig};
use latent_explorer::npy::{Npz, npy_f32, read_npy};
use safetensors::tensor::{Dtype, TensorView};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_latent-explorer");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn run(args: &[&str]) -> Output {
    let out = Command::new(BIN)
        .current_dir(ROOT)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The venv's python when it can import torch, numpy and safetensors and the reference model
/// exists; otherwise None, after printing why.
fn torch_python() -> Option<PathBuf> {
    let py =
        PathBuf::from(std::env::var("TORCH_PY").unwrap_or("/tmp/torch-venv/bin/python".into()));
    let bench = Path::new(ROOT).join("../shared/bench/torch_vae.py");
    if !py.exists() {
        eprintln!("skipping the PyTorch part: {} does not exist", py.display());
        return None;
    }
    if !bench.exists() {
        eprintln!(
            "skipping the PyTorch part: {} does not exist",
            bench.display()
        );
        return None;
    }
    let ok = Command::new(&py)
        .args(["-c", "import torch, numpy, safetensors"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        eprintln!(
            "skipping the PyTorch part: {} cannot import torch, numpy and safetensors",
            py.display()
        );
        return None;
    }
    Some(py)
}

fn python(py: &Path, args: &[&str]) -> String {
    let out = Command::new(py)
        .current_dir(ROOT)
        .arg("scripts/torch_interop.py")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// 64 real MNIST test images as float32 N x 28 x 28 in [0, 1] (as a torch user feeds them).
fn write_images(path: &Path) -> Vec<f32> {
    let ds = load_dataset(&common::mnist_dir(), &LoadOptions::default()).unwrap();
    let values: Vec<f32> = ds.indices(Split::Test)[..64]
        .iter()
        .flat_map(|&i| ds.image(i))
        .collect();
    std::fs::write(path, npy_f32(&[64, 28, 28], &values).unwrap()).unwrap();
    values
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn f32s(p: &Path) -> Vec<f32> {
    read_npy(p)
        .unwrap()
        .to_f64()
        .into_iter()
        .map(|v| v as f32)
        .collect()
}

/// A state dict like the classic example's, weights from a formula, in `dtype`.
fn classic_state_dict(path: &Path, input: usize, latent: usize, dtype: Dtype) {
    let layers = [
        ("fc1", 400, input),
        ("fc21", latent, 400),
        ("fc22", latent, 400),
        ("fc3", 400, latent),
        ("fc4", input, 400),
    ];
    let mut buffers = Vec::new();
    for (k, (name, out, inp)) in layers.iter().enumerate() {
        for (param, shape) in [("weight", vec![*out, *inp]), ("bias", vec![*out])] {
            let n: usize = shape.iter().product();
            let vals = (0..n).map(|i| (((i * 7 + k * 13) % 101) as f32 - 50.0) / 2000.0);
            let bytes: Vec<u8> = match dtype {
                Dtype::F16 => vals
                    .flat_map(|v| half::f16::from_f32(v).to_le_bytes())
                    .collect(),
                Dtype::F64 => vals.flat_map(|v| (v as f64).to_le_bytes()).collect(),
                _ => vals.flat_map(f32::to_le_bytes).collect(),
            };
            buffers.push((format!("{name}.{param}"), shape, bytes));
        }
    }
    let views: Vec<(String, TensorView)> = buffers
        .iter()
        .map(|(n, s, b)| (n.clone(), TensorView::new(dtype, s.clone(), b).unwrap()))
        .collect();
    std::fs::write(path, safetensors::serialize(views, None).unwrap()).unwrap();
}

#[test]
fn a_pytorch_state_dict_written_in_rust_imports_with_its_weights() {
    let dir = tempfile::tempdir().unwrap();
    for dtype in [Dtype::F32, Dtype::F16, Dtype::F64] {
        let p = dir.path().join("classic.safetensors");
        classic_state_dict(&p, 784, 3, dtype);
        let model = Model::load(&p).unwrap();
        assert_eq!(model.config(), &VaeConfig::mnist(3));
        // Its encoder is fc21(relu(fc1(x))): check one image against that sum, by hand.
        let x: Vec<f32> = (0..784).map(|i| (i % 17) as f32 / 16.0).collect();
        let w = |k: usize, i: usize| (((i * 7 + k * 13) % 101) as f32 - 50.0) / 2000.0;
        let w = |k, i| {
            if dtype == Dtype::F16 {
                half::f16::from_f32(w(k, i)).to_f32()
            } else {
                w(k, i)
            }
        };
        let h: Vec<f32> = (0..400)
            .map(|o| ((0..784).map(|i| w(0, o * 784 + i) * x[i]).sum::<f32>() + w(0, o)).max(0.0))
            .collect();
        let mean: Vec<f32> = (0..3)
            .map(|o| (0..400).map(|i| w(1, o * 400 + i) * h[i]).sum::<f32>() + w(1, o))
            .collect();
        let got = model.encode_values(&x).unwrap();
        assert!(
            max_diff(&got.mean, &mean) < 1e-4,
            "{dtype:?}: {:?} vs {mean:?}",
            got.mean
        );
    }
    // The CLI says where it came from.
    let p = dir.path().join("classic.safetensors");
    let info = String::from_utf8(run(&["info", "--model", s(&p)]).stdout).unwrap();
    assert!(
        info.contains("imported:     from a PyTorch state dict (fc1, fc21, fc22, fc3, fc4)"),
        "{info}"
    );
    assert!(info.contains("784-400-3-400-784"), "{info}");

    // Our own names without metadata: the same model.
    let ours = Model::new_random(
        VaeConfig::for_shape(latent_explorer::data::ImageShape::new(8, 8, 3), 4),
        2,
    )
    .unwrap();
    let bytes = ours.to_safetensors_bytes().unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let plain = safetensors::serialize(st.tensors(), None).unwrap();
    let p = dir.path().join("plain.safetensors");
    std::fs::write(&p, plain).unwrap();
    let back = Model::load(&p).unwrap();
    assert_eq!(back.config().input.to_string(), "8x8 RGB");
    let x = vec![0.5f32; 192];
    assert_eq!(
        back.encode_values(&x).unwrap().mean,
        ours.encode_values(&x).unwrap().mean
    );

    // An input width that is no image: an error naming the file and the width.
    let p = dir.path().join("odd.safetensors");
    classic_state_dict(&p, 785, 3, Dtype::F32);
    let e = Model::load(&p).err().unwrap().to_string();
    assert!(
        e.contains("odd.safetensors") && e.contains("input width 785"),
        "{e}"
    );
}

#[test]
fn encoded_codes_as_npy_and_npz_read_back_by_us_and_numpy() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("x.npy");
    write_images(&data);
    // Labels beside the images, so the codes have labels too.
    let ds = load_dataset(&common::mnist_dir(), &LoadOptions::default()).unwrap();
    let labels: Vec<i64> = ds.indices(Split::Test)[..64]
        .iter()
        .map(|&i| ds.label(i).unwrap() as i64)
        .collect();
    std::fs::write(
        d.join("y.npy"),
        latent_explorer::npy::npy_i64(&[64], &labels).unwrap(),
    )
    .unwrap();
    let (npy, npz, csv) = (
        d.join("codes.npy"),
        d.join("codes.npz"),
        d.join("codes.csv"),
    );
    for out in [&npy, &npz, &csv] {
        run(&["encode", "--data", s(&data), "--out", s(out)]);
    }
    // The CSV's means, to compare with.
    let text = std::fs::read_to_string(&csv).unwrap();
    let csv_means: Vec<f32> = text
        .lines()
        .skip(1)
        .flat_map(|l| {
            l.split(',')
                .skip(4)
                .take(2)
                .map(|v| v.parse::<f32>().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    let means = read_npy(&npy).unwrap();
    assert_eq!(
        (means.shape.clone(), means.dtype.as_str()),
        (vec![64, 2], "<f4")
    );
    assert_eq!(f32s(&npy), csv_means);
    let lab = read_npy(&d.join("codes.labels.npy")).unwrap();
    assert_eq!(
        (lab.dtype.as_str(), lab.to_i64().unwrap()),
        ("<i8", labels.clone())
    );
    let mut z = Npz::open(&npz).unwrap();
    assert_eq!(z.names(), ["mean", "logvar", "index", "labels"]);
    assert_eq!(z.read("mean").unwrap(), means);
    assert_eq!(z.read("labels").unwrap().to_i64().unwrap(), labels);
    assert_eq!(
        z.read("index").unwrap().to_i64().unwrap(),
        (0..64).collect::<Vec<i64>>()
    );
    assert_eq!(z.read("logvar").unwrap().shape, [64, 2]);

    let Some(py) = torch_python() else { return };
    let json = python(&py, &["inspect", "--npy", s(&npy), "--npz", s(&npz)]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["npy"]["shape"], serde_json::json!([64, 2]));
    assert_eq!(v["npy"]["dtype"], "<f4");
    let sum: f64 = csv_means.iter().map(|&m| m as f64).sum();
    assert!(
        (v["npy"]["sum"].as_f64().unwrap() - sum).abs() < 1e-3,
        "{json}"
    );
    assert_eq!(v["npz"]["labels"]["dtype"], "<i8");
    assert_eq!(
        v["npz"]["labels"]["sum"].as_f64().unwrap(),
        labels.iter().sum::<i64>() as f64
    );
    assert_eq!(v["npz"]["logvar"]["shape"], serde_json::json!([64, 2]));
}

#[test]
fn weights_round_trip_through_pytorch_both_ways() {
    let Some(py) = torch_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let images = d.join("images.npy");
    write_images(&images);

    // PyTorch -> us: torch_vae.VAE's random init saved with save_file, in f32 and f16.
    for dtype in ["float32", "float16"] {
        let weights = d.join(format!("torch-{dtype}.safetensors"));
        python(
            &py,
            &[
                "export",
                "--latent",
                "5",
                "--seed",
                "3",
                "--dtype",
                dtype,
                "--out",
                s(&weights),
            ],
        );
        let ours = d.join("ours.npy");
        run(&[
            "encode",
            "--model",
            s(&weights),
            "--data",
            s(&images),
            "--out",
            s(&ours),
        ]);
        let theirs = d.join("theirs.npy");
        python(
            &py,
            &[
                "encode",
                "--weights",
                s(&weights),
                "--images",
                s(&images),
                "--out",
                s(&theirs),
            ],
        );
        let diff = max_diff(&f32s(&ours), &f32s(&theirs));
        println!("torch {dtype} -> latent-explorer: encode means differ by at most {diff:e}");
        assert!(diff < 1e-4, "{dtype}: {diff}");
        // Decoding the same codes.
        let decoded = d.join("decoded.npy");
        python(
            &py,
            &[
                "decode",
                "--weights",
                s(&weights),
                "--codes",
                s(&ours),
                "--out",
                s(&decoded),
            ],
        );
        let model = Model::load(&weights).unwrap();
        let diff = max_diff(&model.decode(&f32s(&ours)).unwrap(), &f32s(&decoded));
        assert!(diff < 1e-4, "decode {dtype}: {diff}");
        run(&[
            "sample",
            "--model",
            s(&weights),
            "--count",
            "4",
            "--out",
            s(&d.join("s.png")),
        ]);
    }

    // Us -> PyTorch: a model trained by the CLI, loaded with safetensors.torch.load_file and
    // renamed into the VAE class.
    let ckpt = d.join("ours.safetensors");
    run(&[
        "train",
        "--data",
        s(&images),
        "--latent",
        "4",
        "--epochs",
        "1",
        "--quiet",
        "--out",
        s(&ckpt),
    ]);
    let ours = d.join("ours-codes.npy");
    run(&[
        "encode",
        "--model",
        s(&ckpt),
        "--data",
        s(&images),
        "--out",
        s(&ours),
    ]);
    let theirs = d.join("torch-codes.npy");
    python(
        &py,
        &[
            "encode",
            "--weights",
            s(&ckpt),
            "--images",
            s(&images),
            "--out",
            s(&theirs),
        ],
    );
    let diff = max_diff(&f32s(&ours), &f32s(&theirs));
    println!("latent-explorer -> torch: encode means differ by at most {diff:e}");
    assert!(diff < 1e-4, "{diff}");
}
