//! Issue 12: files as people really have them, and inputs that ask for more than the machine
//! has. A generator writes each kind as small files on the fly; each test asserts the outcome:
//! the right pixels (compared with the same images from the bundled IDX files), or a one-line
//! refusal with exit code 2 from the command line, run under a memory cap (`ulimit -v`), never
//! an abort or a panic.

mod common;

use common::*;
use latent_explorer::data::{Dataset, LabelColumn, LoadOptions, PixelRange, Split, load_dataset};
use latent_explorer::model::{Model, VaeConfig};
use safetensors::tensor::{Dtype, TensorView};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_latent-explorer");

fn load(path: &Path) -> Dataset {
    load_dataset(path, &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{} should load: {e}", path.display()))
}

fn load_with(path: &Path, options: LoadOptions) -> Dataset {
    load_dataset(path, &options).unwrap_or_else(|e| panic!("{} should load: {e}", path.display()))
}

fn load_err(path: &Path, needle: &str) -> String {
    match load_dataset(path, &LoadOptions::default()) {
        Ok(d) => panic!(
            "{} loaded as {} but should fail",
            path.display(),
            d.summary()
        ),
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains(needle), "{msg:?} does not say {needle:?}");
            assert!(!msg.contains('\n'), "{msg:?} spans lines");
            msg
        }
    }
}

/// The first `n` bundled MNIST test images (784 bytes each) and their labels.
fn mnist(n: usize) -> (Vec<u8>, Vec<u16>) {
    let ds = load(&mnist_dir());
    let idx: Vec<usize> = ds.indices(Split::Test).into_iter().take(n).collect();
    let px = idx
        .iter()
        .flat_map(|&i| ds.image_bytes(i).to_vec())
        .collect();
    let labels = idx.iter().map(|&i| ds.label(i).unwrap()).collect();
    (px, labels)
}

fn all_pixels(ds: &Dataset) -> Vec<u8> {
    (0..ds.len())
        .flat_map(|i| ds.image_bytes(i).to_vec())
        .collect()
}

/// A `.npy` file from a header dict text and a payload.
fn npy_raw(dict: &str, payload: &[u8]) -> Vec<u8> {
    let mut text = dict.to_string();
    while !(10 + text.len() + 1).is_multiple_of(64) {
        text.push(' ');
    }
    text.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((text.len() as u16).to_le_bytes());
    out.extend(text.as_bytes());
    out.extend(payload);
    out
}

fn npy(descr: &str, shape: &[usize], payload: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    npy_raw(
        &format!(
            "{{'descr': '{descr}', 'fortran_order': False, 'shape': ({}), }}",
            dims.join(", ")
        ),
        payload,
    )
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, bytes).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs the CLI under an address-space cap (`ulimit -v`, KiB), with extra environment.
fn run_capped(cap_kib: u64, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let script = format!("ulimit -v {cap_kib}; exec \"$0\" \"$@\"");
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script).arg(BIN).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("runs")
}

/// Asserts a refusal: exit code 2 (not a signal, not a panic), one `error:` line holding
/// `needle`.
fn assert_refused(out: &std::process::Output, needle: &str) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(2),
        "exit {:?}; stderr: {err}",
        out.status
    );
    assert!(!err.contains("panicked"), "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(
        errors[0].contains(needle),
        "{err:?} does not say {needle:?}"
    );
    errors[0].to_string()
}

/// 3 GiB of address space: enough for the program, far too little for what the hostile
/// inputs ask for.
const CAP_KIB: u64 = 3 << 20;

// ---------------------------------------------------------------- pixel scale

#[test]
fn floats_in_unit_range_with_rounding_and_resize_overshoot_stay_unit_and_are_clamped() {
    let dir = tempfile::tempdir().unwrap();
    let (px, _) = mnist(20);
    let mut v: Vec<f32> = px.iter().map(|&b| b as f32 / 255.0).collect();
    // Rounding (1.0000001) and a bicubic overshoot (1.03, -0.02) on pixels that are white or
    // black in the IDX file.
    let white: Vec<usize> = (0..v.len()).filter(|&i| px[i] == 255).take(3).collect();
    v[white[0]] = 1.000_000_1;
    v[white[1]] = 1.03;
    let black = (0..v.len()).find(|&i| px[i] == 0).unwrap();
    v[black] = -0.02;
    let payload: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    let p = write(dir.path(), "x.npy", &npy("<f4", &[20, 28, 28], &payload));
    let ds = load(&p);
    assert_eq!(all_pixels(&ds), px, "the same pixels as the IDX file");
    let r = ds.report();
    assert_eq!(r.clamped, 3, "{r:?}");
    let scale = r.scale.clone().unwrap();
    assert!(
        scale.contains("float32") && scale.contains("[0, 1]") && scale.contains("3 values"),
        "{scale}"
    );
}

#[test]
fn bool_arrays_are_binary_and_small_integers_scale_alike_from_npy_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let (px, _) = mnist(10);
    let bits: Vec<u8> = px.iter().map(|&b| u8::from(b > 127)).collect();
    let p = write(dir.path(), "b/x.npy", &npy("|b1", &[10, 28, 28], &bits));
    let ds = load(&p);
    let want: Vec<u8> = bits.iter().map(|&b| b * 255).collect();
    assert_eq!(all_pixels(&ds), want);
    assert!(ds.report().scale.as_ref().unwrap().contains("bool"));

    // scikit-learn's digits: 0..16, as int64 .npy, float64 .npy and CSV: the same pixels.
    let digits: Vec<u8> = (0..20 * 64).map(|i| ((i * 7) % 17) as u8).collect();
    let want: Vec<u8> = digits
        .iter()
        .map(|&v| (v as f64 * 255.0 / 16.0).round() as u8)
        .collect();
    let as_i64: Vec<u8> = digits
        .iter()
        .flat_map(|&v| (v as i64).to_le_bytes())
        .collect();
    let as_f64: Vec<u8> = digits
        .iter()
        .flat_map(|&v| (v as f64).to_le_bytes())
        .collect();
    let a = load(&write(
        dir.path(),
        "i/d.npy",
        &npy("<i8", &[20, 64], &as_i64),
    ));
    let b = load(&write(
        dir.path(),
        "f/d.npy",
        &npy("<f8", &[20, 8, 8], &as_f64),
    ));
    let csv: String = digits
        .chunks(64)
        .map(|r| {
            r.iter()
                .map(|v| format!("{v}.0"))
                .collect::<Vec<_>>()
                .join(",")
                + "\n"
        })
        .collect();
    let c = load(&write(dir.path(), "d.csv", csv.as_bytes()));
    for ds in [&a, &b, &c] {
        assert_eq!(all_pixels(ds), want, "{}", ds.report().summary());
    }
}

#[test]
fn pixel_range_override_reads_uint8_zero_one_data_and_clamps() {
    let dir = tempfile::tempdir().unwrap();
    let bits: Vec<u8> = (0..4 * 16).map(|i| (i % 2) as u8).collect();
    let p = write(dir.path(), "x.npy", &npy("|u1", &[4, 4, 4], &bits));
    // uint8 is 0..255 by the rule: nearly black.
    assert_eq!(load(&p).image_bytes(0)[1], 1);
    let ds = load_with(
        &p,
        LoadOptions {
            pixel_range: PixelRange::Unit,
            ..Default::default()
        },
    );
    assert_eq!(ds.image_bytes(0)[1], 255);
    // Values beyond 255 are refused by the rule, read with max:N.
    let wide: Vec<u8> = (0..16).flat_map(|i| (i * 100i32).to_le_bytes()).collect();
    let p = write(dir.path(), "w/x.npy", &npy("<i4", &[1, 4, 4], &wide));
    load_err(&p, "value 300");
    let ds = load_with(
        &p,
        LoadOptions {
            pixel_range: PixelRange::Max(1500.0),
            ..Default::default()
        },
    );
    assert_eq!(ds.image_bytes(0)[15], 255);
    assert_eq!(ds.report().clamped, 0);
}

// ---------------------------------------------------------------- CSV

#[test]
fn csv_with_bom_crlf_quotes_and_gzip_loads_the_idx_pixels_and_labels() {
    let dir = tempfile::tempdir().unwrap();
    let (px, labels) = mnist(30);
    let mut text = String::from("\u{feff}\"label\",");
    text.push_str(
        &(0..784)
            .map(|k| format!("\"pixel{k}\""))
            .collect::<Vec<_>>()
            .join(","),
    );
    text.push_str("\r\n");
    for (i, l) in labels.iter().enumerate() {
        text.push_str(&format!("\"{l}\","));
        let row: Vec<String> = px[i * 784..(i + 1) * 784]
            .iter()
            .map(|v| v.to_string())
            .collect();
        text.push_str(&row.join(","));
        text.push_str("\r\n");
    }
    let p = write(dir.path(), "train.csv", text.as_bytes());
    let ds = load(&p);
    assert_eq!(all_pixels(&ds), px);
    assert_eq!(ds.labels().unwrap(), &labels[..]);
    let gz = write(dir.path(), "train.csv.gz", &gzip(text.as_bytes()));
    let ds = load(&gz);
    assert_eq!(all_pixels(&ds), px);
    assert_eq!(ds.labels().unwrap(), &labels[..]);
    assert_eq!(ds.name, "train");
}

#[test]
fn headerless_csv_label_column_follows_the_rule_and_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let (mut px, labels) = mnist(40);
    // A corner pixel that varies (more distinct values than there are classes).
    for i in 0..40 {
        px[i * 784] = (i * 6) as u8;
    }
    let last: String = (0..40)
        .map(|i| {
            let mut row: Vec<String> = px[i * 784..(i + 1) * 784]
                .iter()
                .map(|v| v.to_string())
                .collect();
            row.push(labels[i].to_string());
            row.join(",") + "\n"
        })
        .collect();
    let p = write(dir.path(), "last.csv", last.as_bytes());
    let ds = load(&p);
    assert_eq!(
        ds.labels().unwrap(),
        &labels[..],
        "the label is the last column"
    );
    assert_eq!(all_pixels(&ds), px);
    assert!(ds.report().notes.iter().any(|n| n.contains("column 785")));
    // Headerless, label first (the common MNIST CSV): first.
    let first: String = (0..40)
        .map(|i| {
            let mut row = vec![labels[i].to_string()];
            row.extend(px[i * 784..(i + 1) * 784].iter().map(|v| v.to_string()));
            row.join(",") + "\n"
        })
        .collect();
    let ds = load(&write(dir.path(), "first.csv", first.as_bytes()));
    assert_eq!(ds.labels().unwrap(), &labels[..]);
    // The flag overrides: --label-column first on the label-last file takes the corner pixel.
    let ds = load_with(
        &p,
        LoadOptions {
            label_column: LabelColumn::First,
            ..Default::default()
        },
    );
    assert_eq!(ds.label(3), Some(18));
}

#[test]
fn a_csv_whose_first_line_is_longer_than_the_sniffing_window_loads() {
    let dir = tempfile::tempdir().unwrap();
    // 300x300 floats with 17 digits: a first line of about 5.7 MB.
    let side = 300;
    let row: Vec<String> = (0..side * side)
        .map(|k| format!("{:.17}", (k % 7) as f64 / 7.0))
        .collect();
    let line = row.join(",") + "\n";
    let p = write(dir.path(), "wide.csv", format!("{line}{line}").as_bytes());
    let ds = load(&p);
    assert_eq!(ds.len(), 2);
    assert_eq!(ds.shape.height, side);
}

// ---------------------------------------------------------------- numpy

#[test]
fn float16_and_python2_headers_load_and_bad_headers_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let (px, _) = mnist(10);
    let f16: Vec<u8> = px
        .iter()
        .flat_map(|&b| half::f16::from_f32(b as f32 / 255.0).to_le_bytes())
        .collect();
    let ds = load(&write(
        dir.path(),
        "h/x.npy",
        &npy("<f2", &[10, 28, 28], &f16),
    ));
    let got = all_pixels(&ds);
    assert!(got.iter().zip(&px).all(|(a, b)| a.abs_diff(*b) <= 1));
    let p2 = npy_raw(
        "{'descr': '|u1', 'fortran_order': False, 'shape': (10L, 28L, 28L), }",
        &px,
    );
    let ds = load(&write(dir.path(), "p/x.npy", &p2));
    assert_eq!(all_pixels(&ds), px);
    let broken = npy_raw(
        "{'descr': '|u1', 'fortran_order': Fals, 'shape': (10, 28, 28), }",
        &px,
    );
    let p = write(dir.path(), "b/x.npy", &broken);
    let msg = load_err(&p, "not a valid .npy header");
    assert!(msg.len() < 400, "{msg}");
}

#[test]
fn a_corrupt_zip_member_or_gzip_stream_is_refused_and_extra_bytes_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (px, labels) = mnist(10);
    // A stored .npz member whose data no longer matches its CRC.
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("x.npy", opts).unwrap();
    zip.write_all(&npy("|u1", &[10, 28, 28], &px)).unwrap();
    let mut bytes = zip.finish().unwrap().into_inner();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x55;
    let p = write(dir.path(), "bad.npz", &bytes);
    load_err(&p, "corrupt");
    // A gzip IDX file with a wrong CRC.
    let d = dir.path().join("gz");
    std::fs::create_dir(&d).unwrap();
    let mut idx = idx_header(IMAGES_MAGIC, &[10, 28, 28]);
    idx.extend(&px);
    let mut gz = gzip(&idx);
    let n = gz.len();
    gz[n - 8] ^= 0xff;
    let p = write(&d, "x-images-idx3-ubyte.gz", &gz);
    load_err(&p, "corrupt gzip");
    // Extra bytes after a raw IDX payload: loaded, and reported.
    let d = dir.path().join("extra");
    std::fs::create_dir(&d).unwrap();
    let mut long = idx.clone();
    long.extend([7u8; 100]);
    let p = write(&d, "x-images-idx3-ubyte", &long);
    let ds = load(&p);
    assert_eq!(all_pixels(&ds), px);
    assert!(
        ds.report()
            .notes
            .iter()
            .any(|n| n.contains("100 bytes after")),
        "{:?}",
        ds.report()
    );
    let _ = labels;
}

// ---------------------------------------------------------------- IDX folders

#[test]
fn a_missing_test_labels_file_keeps_the_training_labels() {
    let dir = tempfile::tempdir().unwrap();
    let (px, labels) = mnist(30);
    let mut train = idx_header(IMAGES_MAGIC, &[20, 28, 28]);
    train.extend(&px[..20 * 784]);
    let mut train_l = idx_header(LABELS_MAGIC, &[20]);
    train_l.extend(labels[..20].iter().map(|&l| l as u8));
    let mut test = idx_header(IMAGES_MAGIC, &[10, 28, 28]);
    test.extend(&px[20 * 784..]);
    write(dir.path(), "train-images-idx3-ubyte", &train);
    write(dir.path(), "train-labels-idx1-ubyte", &train_l);
    write(dir.path(), "t10k-images-idx3-ubyte", &test);
    let ds = load(dir.path());
    assert_eq!(ds.labels().unwrap(), &labels[..20]);
    assert!(
        ds.report()
            .notes
            .iter()
            .any(|n| n.contains("t10k-images-idx3-ubyte")),
        "{:?}",
        ds.report()
    );
}

// ---------------------------------------------------------------- image folders

#[cfg(unix)]
#[test]
fn symlinked_images_and_class_folders_are_followed_with_loop_protection() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let a = save_image(&store, "a/1.png", &patterned_grey(6, 6, 1));
    save_image(&store, "b/2.png", &patterned_grey(6, 6, 2));
    save_image(&store, "b/3.png", &patterned_grey(6, 6, 3));
    let root = dir.path().join("subset");
    std::fs::create_dir_all(root.join("cats")).unwrap();
    symlink(&a, root.join("cats/1.png")).unwrap();
    symlink(store.join("b"), root.join("dogs")).unwrap();
    // A link back to the root: a loop, skipped.
    symlink(&root, root.join("dogs-loop")).unwrap();
    let (ds, report) = latent_explorer::data::load_image_dir(&root, &Default::default()).unwrap();
    assert_eq!(ds.len(), 3, "{report:?}");
    assert_eq!(ds.labels().unwrap(), &[0, 1, 1]);
    assert!(
        report.skipped.iter().any(|(_, r)| r.contains("loop")),
        "{report:?}"
    );
}

#[test]
fn truncated_jpegs_are_skipped_and_counted_like_truncated_pngs() {
    let dir = tempfile::tempdir().unwrap();
    let img = image::DynamicImage::ImageLuma8(patterned_grey(16, 16, 4));
    let mut jpg = std::io::Cursor::new(Vec::new());
    img.write_to(&mut jpg, image::ImageFormat::Jpeg).unwrap();
    let jpg = jpg.into_inner();
    write(dir.path(), "whole.jpg", &jpg);
    write(dir.path(), "cut.jpg", &jpg[..jpg.len() * 2 / 3]);
    let png = png_bytes(16, 16);
    write(dir.path(), "cut.png", &png[..png.len() / 2]);
    let ds = load(dir.path());
    assert_eq!(ds.len(), 1);
    let r = ds.report();
    assert_eq!(r.skipped.len(), 2, "{r:?}");
    assert!(
        r.skipped
            .iter()
            .any(|(p, why)| p.ends_with("cut.jpg") && why.contains("truncated"))
    );
    assert!(r.summary().contains("skipped 2 files"), "{}", r.summary());
}

#[cfg(target_os = "linux")]
#[test]
fn non_utf8_class_names_stay_distinct() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    for (name, seed) in [(&b"caf\xe9"[..], 1u8), (&b"caf\xe8"[..], 2)] {
        let d = dir.path().join(OsStr::from_bytes(name));
        std::fs::create_dir(&d).unwrap();
        patterned_grey(5, 5, seed).save(d.join("x.png")).unwrap();
    }
    let ds = load(dir.path());
    assert_eq!(ds.class_names().len(), 2);
    assert_ne!(ds.class_names()[0], ds.class_names()[1]);
    assert_eq!(ds.labels().unwrap(), &[0, 1]);
}

// ---------------------------------------------------------------- PyTorch imports

fn state_dict(path: &Path, prefix: &str, input: usize, latent: usize) {
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
            let bytes: Vec<u8> = (0..n)
                .map(|i| (((i * 7 + k * 13) % 101) as f32 - 50.0) / 2000.0)
                .flat_map(f32::to_le_bytes)
                .collect();
            buffers.push((format!("{prefix}{name}.{param}"), shape, bytes));
        }
    }
    let views: Vec<(String, TensorView)> = buffers
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
            )
        })
        .collect();
    std::fs::write(path, safetensors::serialize(views, None).unwrap()).unwrap();
}

#[test]
fn data_parallel_state_dicts_import_and_rgb_inputs_are_read_channels_first() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("dp.safetensors");
    state_dict(&p, "module.", 784, 3);
    let m = Model::load(&p).unwrap();
    assert_eq!(m.config(), &VaeConfig::mnist(3));
    assert!(
        m.history
            .imported_from
            .as_ref()
            .unwrap()
            .contains("nn.DataParallel")
    );
    let info = Command::new(BIN)
        .args(["info", "--model", s(&p)])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&info.stdout).contains("nn.DataParallel"));

    // RGB 8x8: PyTorch's fc1 sees x.view(-1, 192) of an N x 3 x 8 x 8 tensor (C,H,W); our
    // pixels are H,W,C. The codes must match PyTorch's.
    let p = dir.path().join("rgb.safetensors");
    state_dict(&p, "", 192, 2);
    let m = Model::load(&p).unwrap();
    let hwc: Vec<f32> = (0..192).map(|i| ((i * 31) % 97) as f32 / 97.0).collect();
    let mut chw = vec![0f32; 192];
    for y in 0..8 {
        for x in 0..8 {
            for c in 0..3 {
                chw[c * 64 + y * 8 + x] = hwc[(y * 8 + x) * 3 + c];
            }
        }
    }
    let w = |k: usize, i: usize| (((i * 7 + k * 13) % 101) as f32 - 50.0) / 2000.0;
    let h: Vec<f32> = (0..400)
        .map(|o| ((0..192).map(|i| w(0, o * 192 + i) * chw[i]).sum::<f32>() + w(0, o)).max(0.0))
        .collect();
    let mean: Vec<f32> = (0..2)
        .map(|o| (0..400).map(|i| w(1, o * 400 + i) * h[i]).sum::<f32>() + w(1, o))
        .collect();
    let got = m.encode_values(&hwc).unwrap().mean;
    let diff = got
        .iter()
        .zip(&mean)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(diff < 1e-4, "{got:?} vs PyTorch's {mean:?}");
}

#[test]
fn an_unknown_state_dict_is_refused_with_the_same_sorted_names_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("other.safetensors");
    let bytes = [0u8; 16];
    let names = [
        "zeta", "alpha", "mid.w", "beta", "gamma", "delta", "eps", "omega",
    ];
    let views: Vec<(String, TensorView)> = names
        .iter()
        .map(|n| {
            (
                n.to_string(),
                TensorView::new(Dtype::F32, vec![4], &bytes).unwrap(),
            )
        })
        .collect();
    std::fs::write(&p, safetensors::serialize(views, None).unwrap()).unwrap();
    let first = Model::load(&p).err().unwrap().to_string();
    for _ in 0..5 {
        assert_eq!(Model::load(&p).err().unwrap().to_string(), first);
    }
    assert!(
        first.contains(r#"["alpha", "beta", "delta", "eps", "gamma", "mid.w"] and 2 more"#),
        "{first}"
    );
}

// ---------------------------------------------------------------- the budget (CLI, capped)

#[test]
fn a_device_file_is_not_read_as_a_model_or_a_dataset() {
    let out = run_capped(CAP_KIB, &[], &["info", "--model", "/dev/zero"]);
    assert_refused(&out, "not a regular file");
    let out = run_capped(CAP_KIB, &[], &["info", "--data", "/dev/zero"]);
    assert_refused(&out, "not a regular file");
}

#[test]
fn a_small_gz_whose_header_claims_gigabytes_is_refused_by_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    // 2.5 million 28x28 images (about 2 GB) claimed; a few MB of zeros follow.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&idx_header(IMAGES_MAGIC, &[2_500_000, 28, 28]))
        .unwrap();
    e.write_all(&vec![0u8; 4 << 20]).unwrap();
    let p = write(dir.path(), "big-images-idx3-ubyte.gz", &e.finish().unwrap());
    let t0 = std::time::Instant::now();
    let out = run_capped(
        CAP_KIB,
        &[("LATENT_EXPLORER_MEMORY", "1G")],
        &[
            "encode",
            "--data",
            s(&p),
            "--out",
            s(&dir.path().join("c.csv")),
        ],
    );
    assert_refused(&out, "2500000 images of 28x28x1");
    assert!(t0.elapsed().as_secs() < 10);
    // A deflated .npz member that truthfully holds 1.2 GB of float32 (a 1.2 MB file).
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(true);
    zip.start_file("x.npy", opts).unwrap();
    let header = npy_raw(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (400000, 28, 28), }",
        &[],
    );
    zip.write_all(&header).unwrap();
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..1200 {
        zip.write_all(&chunk).unwrap();
    }
    let p = write(dir.path(), "big.npz", &zip.finish().unwrap().into_inner());
    let out = run_capped(
        CAP_KIB,
        &[("LATENT_EXPLORER_MEMORY", "1G")],
        &[
            "encode",
            "--data",
            s(&p),
            "--out",
            s(&dir.path().join("c.csv")),
        ],
    );
    assert_refused(&out, "would need");
    assert!(!dir.path().join("c.csv").exists());
}

#[test]
fn a_model_larger_than_the_budget_is_refused_before_it_is_allocated() {
    let dir = tempfile::tempdir().unwrap();
    // Four 1024x1024 images in a tiny .npz: an MLP on them has 839M weights.
    let zeros = vec![0u8; 4 << 20];
    let npz = {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("x.npy", opts).unwrap();
        zip.write_all(&npy("|u1", &[4, 1024, 1024], &zeros))
            .unwrap();
        zip.finish().unwrap().into_inner()
    };
    assert!(npz.len() < 100_000);
    let p = write(dir.path(), "big.npz", &npz);
    let model = dir.path().join("m.safetensors");
    let out = run_capped(
        CAP_KIB,
        &[],
        &[
            "train",
            "--data",
            s(&p),
            "--out",
            s(&model),
            "--epochs",
            "1",
        ],
    );
    let line = assert_refused(&out, "--hidden");
    assert!(line.contains("would need"), "{line}");
    assert!(!model.exists());
    // Eight hidden layers of 16384 on MNIST.
    let out = run_capped(
        CAP_KIB,
        &[],
        &[
            "train",
            "--out",
            s(&model),
            "--hidden",
            "16384,16384,16384,16384,16384,16384,16384,16384",
        ],
    );
    assert_refused(&out, "would need");
}

#[test]
fn interpolation_pictures_and_threads_are_checked_against_the_machine() {
    let dir = tempfile::tempdir().unwrap();
    let strip = dir.path().join("s.png");
    let via: Vec<String> = (1..3999).map(|i| i.to_string()).collect();
    let via = via.join(",");
    let out = run_capped(
        CAP_KIB,
        &[("LATENT_EXPLORER_MEMORY", "512M")],
        &[
            "interpolate",
            "--from",
            "0",
            "--to",
            "5",
            "--via",
            &via,
            "--steps",
            "256",
            "--out",
            s(&strip),
        ],
    );
    assert_refused(&out, "fewer --steps");
    assert!(!strip.exists());
    // A picture wider than u32 is refused, not a wrapped width and a panic.
    let shape = latent_explorer::data::ImageShape::new(1, 40_000, 1);
    let e = latent_explorer::render::grid(&vec![0.5; 80_000 * 2], shape, 4, 64).unwrap_err();
    assert!(e.to_string().contains("too large"), "{e}");
    // Far more threads than cores: lowered with a note, the command still works.
    let out = Command::new(BIN)
        .args(["--threads", "100000", "info"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("cores"));
}

#[test]
fn outputs_never_overwrite_inputs_and_a_failed_command_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (px, _) = mnist(20);
    let p = write(dir.path(), "x.npy", &npy("|u1", &[20, 28, 28], &px));
    let before = std::fs::read(&p).unwrap();
    let out = Command::new(BIN)
        .args(["encode", "--data", s(&p), "--out", s(&p)])
        .output()
        .unwrap();
    assert_refused(&out, "is an input");
    assert_eq!(std::fs::read(&p).unwrap(), before);
    // anomalies --out a.png: refused before anything is written.
    let png = dir.path().join("a.png");
    let out = Command::new(BIN)
        .args(["anomalies", "--data", s(&p), "--out", s(&png)])
        .output()
        .unwrap();
    assert_refused(&out, ".csv");
    assert!(!png.exists());
    // The load report is printed (on stdout, beside the command's other lines).
    let csv = dir.path().join("codes.csv");
    let out = Command::new(BIN)
        .args(["encode", "--data", s(&p), "--out", s(&csv)])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("load: loaded 20 images") && text.contains("uint8"),
        "{text}"
    );
}
