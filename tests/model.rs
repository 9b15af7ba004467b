//! The VAE: shapes, checkpoints (round trip, every kind of bad file), fitting data.

use latent_explorer::Error;
use latent_explorer::data::{Dataset, ImageShape, Split};
use latent_explorer::model::{Likelihood, Model, VaeConfig};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::path::Path;

fn tiny_dataset(n: usize, side: usize) -> Dataset {
    let shape = ImageShape::new(side, side, 1);
    let pixels: Vec<u8> = (0..n * shape.len()).map(|i| (i * 37 % 256) as u8).collect();
    Dataset::new(
        "tiny",
        "memory",
        shape,
        pixels,
        Some((0..n).map(|i| (i % 3) as u16).collect()),
        vec!["a".into(), "b".into(), "c".into()],
        vec![Split::Train; n],
    )
    .unwrap()
}

#[test]
fn default_architecture_matches_pytorch_examples() {
    let c = VaeConfig::mnist(20);
    assert_eq!(c.summary(), "784-400-20-400-784 bernoulli, beta 1");
    // 784*400+400 + 2*(400*20+20) + 20*400+400 + 400*784+784
    assert_eq!(c.parameter_count(), 652_824);
    let shapes: HashMap<String, Vec<usize>> = c.param_shapes().into_iter().collect();
    assert_eq!(shapes["encoder.hidden.0.weight"], vec![400, 784]);
    assert_eq!(shapes["encoder.mean.weight"], vec![20, 400]);
    assert_eq!(shapes["encoder.logvar.bias"], vec![20]);
    assert_eq!(shapes["decoder.hidden.0.weight"], vec![400, 20]);
    assert_eq!(shapes["decoder.out.weight"], vec![784, 400]);
    assert_eq!(shapes.len(), 10);
}

#[test]
fn deeper_configs_and_validation() {
    let c = VaeConfig {
        hidden: vec![256, 64],
        ..VaeConfig::mnist(8)
    };
    assert_eq!(c.summary(), "784-256-64-8-64-256-784 bernoulli, beta 1");
    let m = Model::new_random(c, 3).unwrap();
    let out = m.decode(&[0.0; 16]).unwrap();
    assert_eq!(out.len(), 2 * 784);
    for bad in [0usize, 65] {
        let e = Model::new_random(VaeConfig::mnist(bad), 1).err().unwrap();
        assert!(matches!(e, Error::InvalidConfig(_)), "{e}");
    }
    let e = Model::new_random(
        VaeConfig {
            beta: f64::NAN,
            ..VaeConfig::mnist(2)
        },
        1,
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("beta"), "{e}");
}

#[test]
fn encode_decode_and_scores_have_per_sample_shapes() {
    let data = tiny_dataset(37, 8);
    let m = Model::new_random(VaeConfig::for_shape(data.shape, 5), 1).unwrap();
    let idx: Vec<usize> = (0..37).collect();
    let codes = m.encode(&data, &idx).unwrap();
    assert_eq!(codes.len(), 37);
    assert_eq!(codes.mean.len(), 37 * 5);
    assert_eq!(codes.logvar.len(), 37 * 5);
    let images = m.decode(&codes.mean).unwrap();
    assert_eq!(images.len(), 37 * 64);
    assert!(images.iter().all(|v| (0.0..=1.0).contains(v)));
    let scores = m.score(&data, &idx, 7).unwrap();
    assert_eq!(scores.recon.len(), 37);
    assert_eq!(scores.kl.len(), 37);
    assert!(scores.recon.iter().all(|r| r.is_finite() && *r > 0.0));
    assert!(scores.kl.iter().all(|k| k.is_finite() && *k >= 0.0));
    // Same seed, same estimate.
    assert_eq!(m.score(&data, &idx, 7).unwrap().recon, scores.recon);
    assert!(
        m.decode(&[0.0; 4]).is_err(),
        "4 values are not a multiple of 5"
    );
}

#[test]
fn same_seed_same_weights() {
    let a = Model::new_random(VaeConfig::mnist(2), 42).unwrap();
    let b = Model::new_random(VaeConfig::mnist(2), 42).unwrap();
    let c = Model::new_random(VaeConfig::mnist(2), 43).unwrap();
    let z = [0.5f32, -1.0];
    assert_eq!(a.decode(&z).unwrap(), b.decode(&z).unwrap());
    assert_ne!(a.decode(&z).unwrap(), c.decode(&z).unwrap());
}

#[test]
fn save_then_load_gives_identical_outputs_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let data = tiny_dataset(20, 8);
    let mut m = Model::new_random(
        VaeConfig {
            likelihood: Likelihood::Gaussian,
            beta: 4.0,
            ..VaeConfig::for_shape(data.shape, 3)
        },
        9,
    )
    .unwrap();
    m.history.epochs = 7;
    m.history.test_loss = Some(12.5);
    m.history.dataset_name = Some("tiny".into());
    m.save(&path).unwrap();
    let loaded = Model::load(&path).unwrap();
    assert_eq!(loaded.config(), m.config());
    assert_eq!(loaded.history, m.history);
    let idx: Vec<usize> = (0..20).collect();
    let (a, b) = (
        m.encode(&data, &idx).unwrap(),
        loaded.encode(&data, &idx).unwrap(),
    );
    assert_eq!(a.mean, b.mean);
    assert_eq!(a.logvar, b.logvar);
    assert_eq!(m.decode(&a.mean).unwrap(), loaded.decode(&a.mean).unwrap());
    // No temp file is left beside it.
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1);
}

#[test]
fn saving_over_a_file_replaces_it_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    Model::new_random(VaeConfig::mnist(2), 1)
        .unwrap()
        .save(&path)
        .unwrap();
    let second = Model::new_random(VaeConfig::mnist(16), 2).unwrap();
    second.save(&path).unwrap();
    assert_eq!(Model::load(&path).unwrap().latent(), 16);
    // A save that cannot happen (no such folder) fails cleanly and writes nothing.
    let bad = dir.path().join("missing").join("m.safetensors");
    let e = second.save(&bad).err().unwrap();
    assert!(e.to_string().contains("missing"), "{e}");
    assert!(!bad.exists());
    assert_eq!(Model::load(&path).unwrap().latent(), 16);
}

/// Writes a safetensors file from (name, dtype, shape, bytes) with the given metadata.
fn write_raw(
    path: &Path,
    tensors: &[(String, Dtype, Vec<usize>, Vec<u8>)],
    meta: Option<HashMap<String, String>>,
) {
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    std::fs::write(path, safetensors::serialize(views, meta).unwrap()).unwrap();
}

/// The tensors and metadata of a valid checkpoint, to be broken in tests.
type RawTensor = (String, Dtype, Vec<usize>, Vec<u8>);

fn valid_parts(latent: usize) -> (Vec<RawTensor>, HashMap<String, String>) {
    let bytes = Model::new_random(VaeConfig::mnist(latent), 1)
        .unwrap()
        .to_safetensors_bytes()
        .unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().clone().unwrap();
    let mut tensors: Vec<_> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
        .collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    (tensors, meta)
}

fn load_err(path: &Path) -> Error {
    match Model::load(path) {
        Ok(_) => panic!("{} loaded but should not", path.display()),
        Err(e) => {
            assert!(
                e.to_string().contains(&path.display().to_string()),
                "message does not name the file: {e}"
            );
            e
        }
    }
}

#[test]
fn bad_checkpoints_are_refused_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);

    std::fs::write(p("text.safetensors"), "hello, I am not a checkpoint").unwrap();
    assert!(matches!(
        load_err(&p("text.safetensors")),
        Error::BadCheckpoint { .. }
    ));

    assert!(matches!(
        load_err(&p("absent.safetensors")),
        Error::NotFound { .. }
    ));

    let good = Model::new_random(VaeConfig::mnist(2), 1)
        .unwrap()
        .to_safetensors_bytes()
        .unwrap();
    std::fs::write(p("cut.safetensors"), &good[..good.len() / 2]).unwrap();
    assert!(matches!(
        load_err(&p("cut.safetensors")),
        Error::BadCheckpoint { .. }
    ));

    let (tensors, meta) = valid_parts(2);

    // Weights of another program: no config in the metadata and names no VAE we know (our own
    // names without metadata are imported as a PyTorch state dict: see interop.rs).
    let foreign: Vec<_> = tensors
        .iter()
        .map(|(n, d, s, b)| (format!("conv.{n}"), *d, s.clone(), b.clone()))
        .collect();
    write_raw(&p("foreign.safetensors"), &foreign, None);
    let e = load_err(&p("foreign.safetensors"));
    assert!(e.to_string().contains("config"), "{e}");

    // A weight missing.
    let missing: Vec<_> = tensors
        .iter()
        .filter(|t| t.0 != "decoder.out.bias")
        .cloned()
        .collect();
    write_raw(&p("missing.safetensors"), &missing, Some(meta.clone()));
    let e = load_err(&p("missing.safetensors"));
    assert!(matches!(e, Error::CheckpointMismatch { .. }));
    assert!(e.to_string().contains("decoder.out.bias"), "{e}");

    // A weight whose shape disagrees with the config (config says latent 16, weights are latent 2).
    let mut meta16 = meta.clone();
    meta16.insert(
        "config".into(),
        serde_json::to_string(&VaeConfig::mnist(16)).unwrap(),
    );
    write_raw(&p("shape.safetensors"), &tensors, Some(meta16));
    let e = load_err(&p("shape.safetensors"));
    assert!(
        e.to_string()
            .contains("encoder.mean.weight has shape [2, 400]"),
        "{e}"
    );

    // Wrong dtype.
    let f64s: Vec<_> = tensors
        .iter()
        .map(|(n, _, s, b)| {
            let wide: Vec<u8> = b
                .chunks_exact(4)
                .flat_map(|c| (f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64).to_le_bytes())
                .collect();
            (n.clone(), Dtype::F64, s.clone(), wide)
        })
        .collect();
    write_raw(&p("f64.safetensors"), &f64s, Some(meta.clone()));
    let e = load_err(&p("f64.safetensors"));
    assert!(e.to_string().contains("F64"), "{e}");

    // NaN weights.
    let mut nan = tensors.clone();
    nan[0].3[0..4].copy_from_slice(&f32::NAN.to_le_bytes());
    write_raw(&p("nan.safetensors"), &nan, Some(meta.clone()));
    let e = load_err(&p("nan.safetensors"));
    assert!(e.to_string().contains("NaN"), "{e}");

    // An unexpected extra weight.
    let mut extra = tensors.clone();
    extra.push((
        "decoder.extra".into(),
        Dtype::F32,
        vec![1],
        vec![0, 0, 0, 0],
    ));
    write_raw(&p("extra.safetensors"), &extra, Some(meta.clone()));
    let e = load_err(&p("extra.safetensors"));
    assert!(e.to_string().contains("decoder.extra"), "{e}");

    // A config that is itself nonsense.
    let mut silly = meta;
    silly.insert("config".into(), "{\"latent\": \"many\"}".into());
    write_raw(&p("silly.safetensors"), &tensors, Some(silly));
    assert!(matches!(
        load_err(&p("silly.safetensors")),
        Error::BadCheckpoint { .. }
    ));
}

#[test]
fn a_model_refuses_data_of_another_shape() {
    let m = Model::new_random(VaeConfig::mnist(2), 1).unwrap();
    let data = tiny_dataset(4, 8);
    let e = m.encode(&data, &[0, 1]).err().unwrap();
    let msg = e.to_string();
    assert!(matches!(e, Error::ShapeMismatch { .. }));
    assert!(
        msg.contains("28x28 grey") && msg.contains("8x8 grey"),
        "{msg}"
    );
}

#[test]
fn duplicate_does_not_share_weights() {
    let dir = tempfile::tempdir().unwrap();
    let m = Model::new_random(VaeConfig::mnist(2), 1).unwrap();
    let copy = m.duplicate().unwrap();
    let before = copy.decode(&[0.3, 0.3]).unwrap();
    // Change the original's weights through a load of other values into its variables.
    let other = Model::new_random(VaeConfig::mnist(2), 2).unwrap();
    for ((_, a), (_, b)) in m.vars().iter().zip(other.vars().iter()) {
        a.set(b.as_tensor()).unwrap();
    }
    assert_ne!(m.decode(&[0.3, 0.3]).unwrap(), before);
    assert_eq!(copy.decode(&[0.3, 0.3]).unwrap(), before);
    copy.save(&dir.path().join("c.safetensors")).unwrap();
}

#[test]
fn fused_bce_matches_the_unfused_formula_and_its_gradient() {
    use candle_core::{Device, Tensor, Var};
    use latent_explorer::model::bce_with_logits_rows;
    let dev = Device::Cpu;
    let (rows, cols) = (37, 50);
    let logits: Vec<f32> = (0..rows * cols)
        .map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 20.0)
        .collect();
    let targets: Vec<f32> = (0..rows * cols)
        .map(|i| (i * 31 % 101) as f32 / 100.0)
        .collect();
    let l = Var::from_vec(logits.clone(), (rows, cols), &dev).unwrap();
    let t = Tensor::from_vec(targets.clone(), (rows, cols), &dev).unwrap();
    // Weight each row differently so the backward pass's per-row scaling is checked too.
    let w = Tensor::from_vec(
        (0..rows).map(|r| r as f32 + 1.0).collect::<Vec<_>>(),
        rows,
        &dev,
    )
    .unwrap();

    let fused = bce_with_logits_rows(l.as_tensor(), &t).unwrap();
    let fused_grad = (&fused * &w)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();

    let x = l.as_tensor();
    let reference = ((x.relu().unwrap() - (x * &t).unwrap()).unwrap()
        + (x.abs().unwrap().neg().unwrap().exp().unwrap() + 1.0)
            .unwrap()
            .log()
            .unwrap())
    .unwrap()
    .sum(1)
    .unwrap();
    let ref_grad = (&reference * &w)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();

    let a = fused.to_vec1::<f32>().unwrap();
    let b = reference.to_vec1::<f32>().unwrap();
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() <= 1e-4 * y.abs().max(1.0), "{x} vs {y}");
    }
    let ga = fused_grad
        .get(&l)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let gb = ref_grad
        .get(&l)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    for (x, y) in ga.iter().zip(&gb) {
        assert!((x - y).abs() <= 1e-4 * y.abs().max(1.0), "{x} vs {y}");
    }
    // Huge logits stay finite (candle's own BCE goes to inf here).
    let big = Tensor::from_vec(vec![1e30f32, -1e30, 100.0, -100.0], (1, 4), &dev).unwrap();
    let tt = Tensor::from_vec(vec![0.0f32, 1.0, 0.5, 0.5], (1, 4), &dev).unwrap();
    let v = bce_with_logits_rows(&big, &tt)
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()[0];
    assert!(v.is_finite() && v > 1e30, "{v}");
    // On a GPU build with a GPU, the same sums come from candle's ops there.
    let gpu = &latent_explorer::device::compute().device;
    if !gpu.is_cpu() {
        let on_gpu = bce_with_logits_rows(
            &l.as_tensor().to_device(gpu).unwrap(),
            &t.to_device(gpu).unwrap(),
        )
        .unwrap()
        .to_device(&dev)
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
        for (x, y) in on_gpu.iter().zip(&a) {
            assert!((x - y).abs() <= 1e-4 * y.abs().max(1.0), "{x} vs {y}");
        }
    }
}

/// Encoding a dataset goes through flat weights and, for sparse images, a kernel that visits
/// only non-zero pixels; it must give candle's answer, for sparse (MNIST) and dense
/// (inverted MNIST) images, on a trained model and a fresh one with two hidden layers.
#[test]
fn dataset_encoding_matches_candle_for_sparse_and_dense_images() {
    use latent_explorer::data::{LoadOptions, load_dataset};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mnist = load_dataset(&root.join("assets/mnist"), &LoadOptions::default()).unwrap();
    let idx: Vec<usize> = (0..1500).map(|i| i * 37).collect();
    let sparse = mnist.subset(&idx).unwrap();
    let inverted_pixels: Vec<u8> = (0..sparse.len())
        .flat_map(|i| {
            sparse
                .image_bytes(i)
                .iter()
                .map(|b| 255 - b)
                .collect::<Vec<_>>()
        })
        .collect();
    let dense = Dataset::new(
        "inverted",
        "memory",
        sparse.shape,
        inverted_pixels,
        None,
        Vec::new(),
        vec![Split::Test; sparse.len()],
    )
    .unwrap();
    let trained = Model::load(&root.join("models/mnist-latent16.safetensors")).unwrap();
    let deep = Model::new_random(
        VaeConfig {
            hidden: vec![300, 100],
            ..VaeConfig::mnist(5)
        },
        3,
    )
    .unwrap();
    for model in [&trained, &deep] {
        for data in [&sparse, &dense] {
            let all: Vec<usize> = (0..data.len()).collect();
            let fast = model.encode(data, &all).unwrap();
            let values: Vec<f32> = all.iter().flat_map(|&i| data.image(i)).collect();
            let reference = model.encode_values(&values).unwrap();
            for (what, a, b) in [
                ("mean", &fast.mean, &reference.mean),
                ("logvar", &fast.logvar, &reference.logvar),
            ] {
                assert_eq!(a.len(), b.len());
                let worst = a
                    .iter()
                    .zip(b)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0f32, f32::max);
                assert!(worst < 1e-3, "{} {what}: differs by {worst}", data.name);
            }
        }
    }
}

/// The default build computes on the CPU; asking for a GPU this build lacks falls back to the
/// CPU and says why (the same path a GPU build takes when no GPU is present). A cuda build on
/// a machine with a GPU takes it.
#[test]
fn the_device_is_the_cpu_unless_a_gpu_build_finds_one() {
    use latent_explorer::device::choose;
    let auto = choose(None);
    let gpu = cfg!(feature = "cuda") && candle_core::utils::cuda_is_available();
    if gpu && auto.fallback_reason.is_none() {
        assert!(
            !auto.is_cpu() && auto.description.contains("CUDA"),
            "{}",
            auto.description
        );
    } else {
        assert!(
            auto.is_cpu() && auto.description.starts_with("CPU ("),
            "{}",
            auto.description
        );
    }
    if !gpu {
        assert!(auto.fallback_reason.is_none());
    }
    if !cfg!(feature = "cuda") {
        let asked = choose(Some("cuda"));
        assert!(asked.is_cpu());
        let why = asked.fallback_reason.unwrap();
        assert!(why.contains("--features cuda"), "{why}");
    }
    let unknown = choose(Some("tpu"));
    assert!(unknown.is_cpu() && unknown.fallback_reason.unwrap().contains("'tpu'"));
    // A model lives on the device the process chose.
    let model = Model::new_random(VaeConfig::mnist(2), 1).unwrap();
    let chosen = latent_explorer::device::compute();
    assert_eq!(model.device().is_cpu(), chosen.is_cpu());
    assert!(chosen.is_cpu() || gpu, "{}", chosen.description);
}

/// The bundled checkpoints, loaded and saved again, hold the same tensors (dtype, shape and
/// bytes) and say the same in their metadata.
#[test]
fn bundled_checkpoints_save_back_to_the_same_tensors_and_metadata() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in ["mnist-latent2", "mnist-latent16"] {
        let path = root.join(format!("models/{name}.safetensors"));
        let original = std::fs::read(&path).unwrap();
        let saved = Model::load(&path).unwrap().to_safetensors_bytes().unwrap();
        let (a, b) = (
            SafeTensors::deserialize(&original).unwrap(),
            SafeTensors::deserialize(&saved).unwrap(),
        );
        let mut names_a = a.names();
        let mut names_b = b.names();
        names_a.sort();
        names_b.sort();
        assert_eq!(names_a, names_b, "{name}");
        for n in names_a {
            let (ta, tb) = (a.tensor(n).unwrap(), b.tensor(n).unwrap());
            assert_eq!(ta.dtype(), tb.dtype(), "{name} {n}");
            assert_eq!(ta.shape(), tb.shape(), "{name} {n}");
            assert!(ta.data() == tb.data(), "{name} {n}: values differ");
        }
        // The metadata says the same (these files predate the config's `arch` and the
        // history's `imported_from`, which saving now writes out).
        let meta = |bytes: &[u8]| {
            let m = SafeTensors::read_metadata(bytes)
                .unwrap()
                .1
                .metadata()
                .clone()
                .unwrap();
            let config: VaeConfig = serde_json::from_str(&m["config"]).unwrap();
            let history: serde_json::Value = serde_json::from_str(&m["history"]).unwrap();
            (
                m["format"].clone(),
                config,
                history["epochs"].clone(),
                history["test_loss"].clone(),
            )
        };
        assert_eq!(meta(&original), meta(&saved), "{name}");
    }
}

/// One list of an MLP's layers: the parameters are its weights and biases, in its order.
#[test]
fn the_mlp_layer_list_is_the_parameter_list() {
    use latent_explorer::model::MlpRole;
    let mut c = VaeConfig::mnist(5);
    c.hidden = vec![300, 100];
    let layers = c.mlp_layers();
    let roles: Vec<MlpRole> = layers.iter().map(|l| l.role).collect();
    assert_eq!(
        roles,
        [
            MlpRole::EncoderHidden(0),
            MlpRole::EncoderHidden(1),
            MlpRole::Mean,
            MlpRole::Logvar,
            MlpRole::DecoderHidden(0),
            MlpRole::DecoderHidden(1),
            MlpRole::Output,
        ]
    );
    let widths: Vec<(usize, usize)> = layers.iter().map(|l| (l.inp, l.out)).collect();
    assert_eq!(
        widths,
        [
            (784, 300),
            (300, 100),
            (100, 5),
            (100, 5),
            (5, 100),
            (100, 300),
            (300, 784)
        ]
    );
    let from_layers: Vec<(String, Vec<usize>)> = layers
        .iter()
        .flat_map(|l| {
            [
                (l.weight_name(), vec![l.out, l.inp]),
                (l.bias_name(), vec![l.out]),
            ]
        })
        .collect();
    assert_eq!(from_layers, c.param_shapes());
    assert_eq!(layers[2].name, "encoder.mean");
    assert_eq!(layers[6].name, "decoder.out");
    // A model made from the list loads its own checkpoint back.
    let m = Model::new_random(c, 3).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.safetensors");
    m.save(&p).unwrap();
    assert_eq!(
        Model::load(&p).unwrap().decode(&[0.5; 5]).unwrap(),
        m.decode(&[0.5; 5]).unwrap()
    );
}
