//! `.npy`, `.npz` and pixel-CSV datasets through `load_dataset`: real MNIST images (from the
//! bundled IDX files) written the ways numpy users and Kaggle save them, loaded back exactly,
//! and bad input (truncation, hostile headers, wrong dtypes, NaN, out-of-range values) refused
//! with an error naming the file, never a panic.

mod common;

use common::*;
use latent_explorer::Error;
use latent_explorer::data::{Dataset, LoadOptions, Split, load_dataset};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn load(path: &Path) -> latent_explorer::Result<Dataset> {
    load_dataset(path, &LoadOptions::default())
}

/// Loads `path` expecting an error whose one-line message names the file and holds `needle`.
fn load_err(path: &Path, needle: &str) -> Error {
    let err = match load(path) {
        Ok(ds) => panic!(
            "{} loaded as {} but should fail",
            path.display(),
            ds.summary()
        ),
        Err(e) => e,
    };
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "{msg:?} does not name the file"
    );
    assert!(msg.contains(needle), "{msg:?} does not say {needle:?}");
    assert!(!msg.contains('\n'), "{msg:?} spans lines");
    err
}

/// The first `n` bundled MNIST test images (bytes, 784 each) and their labels.
fn mnist(n: usize) -> (Vec<u8>, Vec<u16>) {
    let ds = load(&mnist_dir()).unwrap();
    let idx: Vec<usize> = ds.indices(Split::Test).into_iter().take(n).collect();
    let pixels = idx
        .iter()
        .flat_map(|&i| ds.image_bytes(i).to_vec())
        .collect();
    let labels = idx.iter().map(|&i| ds.label(i).unwrap()).collect();
    (pixels, labels)
}

/// A `.npy` file as numpy writes it (format 1.0), from a dtype, order, shape and raw payload.
fn npy(descr: &str, fortran: bool, shape: &[usize], payload: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let f = if fortran { "True" } else { "False" };
    let mut text = format!("{{'descr': '{descr}', 'fortran_order': {f}, 'shape': {tuple}, }}");
    while (10 + text.len() + 1) % 64 != 0 {
        text.push(' ');
    }
    text.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((text.len() as u16).to_le_bytes());
    out.extend(text.as_bytes());
    out.extend(payload);
    out
}

fn f32_bytes(v: impl IntoIterator<Item = f32>) -> Vec<u8> {
    v.into_iter().flat_map(f32::to_le_bytes).collect()
}

fn i64_bytes(v: impl IntoIterator<Item = i64>) -> Vec<u8> {
    v.into_iter().flat_map(i64::to_le_bytes).collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// An `.npz` of named `.npy` files; `deflate` as `np.savez_compressed` writes it.
fn npz(members: &[(&str, Vec<u8>)], deflate: bool) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let method = if deflate {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let opts = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, bytes) in members {
        zip.start_file(format!("{name}.npy"), opts).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn assert_same(ds: &Dataset, pixels: &[u8], labels: Option<&[u16]>) {
    let d = ds.shape.len();
    assert_eq!(ds.len() * d, pixels.len());
    for i in 0..ds.len() {
        assert_eq!(ds.image_bytes(i), &pixels[i * d..(i + 1) * d], "image {i}");
    }
    assert_eq!(ds.labels(), labels);
}

#[test]
fn npy_images_pair_with_labels_by_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let (px, labels) = mnist(300);
    let ls = || labels.iter().map(|&l| l as i64);
    write(dir.path(), "x.npy", &npy("|u1", false, &[300, 28, 28], &px));
    write(
        dir.path(),
        "y.npy",
        &npy("<i8", false, &[300], &i64_bytes(ls())),
    );
    let ds = load(&dir.path().join("x.npy")).unwrap();
    assert_eq!(ds.shape.to_string(), "28x28 grey");
    assert_same(&ds, &px, Some(&labels));
    assert_eq!(ds.count(Split::Train), 300);

    // x_train / y_train pair up; y_test (another count) is left alone; labels as int32.
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let i32s: Vec<u8> = ls().flat_map(|l| (l as i32).to_le_bytes()).collect();
    write(&sub, "x_train.npy", &npy("|u1", false, &[300, 784], &px));
    write(&sub, "y_train.npy", &npy("<i4", false, &[300], &i32s));
    write(
        &sub,
        "y_test.npy",
        &npy("<i8", false, &[3], &i64_bytes([1, 2, 3])),
    );
    let ds = load(&sub.join("x_train.npy")).unwrap();
    assert_same(&ds, &px, Some(&labels));

    // "labels.npy" beside "images.npy"; a labels file of another count is an error naming both.
    write(&sub, "images.npy", &npy("|u1", false, &[300, 28, 28], &px));
    write(&sub, "labels.npy", &npy("|u1", false, &[299], &px[..299]));
    let e = load_err(&sub.join("images.npy"), "300 images");
    assert!(e.to_string().contains("labels.npy has 299 labels"), "{e}");

    // No labels file at all: unlabelled.
    let lone = dir.path().join("lone");
    std::fs::create_dir(&lone).unwrap();
    write(&lone, "digits.npy", &npy("|u1", false, &[300, 28, 28], &px));
    assert!(load(&lone.join("digits.npy")).unwrap().labels().is_none());
}

#[test]
fn float_integer_fortran_big_endian_and_rgb_arrays_load_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (px, _) = mnist(50);
    let shape = [50, 28, 28];
    // float32 in [0, 1] (x / 255.), float64 in [0, 255], int16, big-endian float32.
    let unit = f32_bytes(px.iter().map(|&b| b as f32 / 255.0));
    let wide: Vec<u8> = px.iter().flat_map(|&b| (b as f64).to_le_bytes()).collect();
    let i16s: Vec<u8> = px.iter().flat_map(|&b| (b as i16).to_le_bytes()).collect();
    let be: Vec<u8> = px.iter().flat_map(|&b| (b as f32).to_be_bytes()).collect();
    for (name, descr, payload) in [
        ("unit.npy", "<f4", &unit),
        ("wide.npy", "<f8", &wide),
        ("short.npy", "<i2", &i16s),
        ("be.npy", ">f4", &be),
    ] {
        let p = write(dir.path(), name, &npy(descr, false, &shape, payload));
        assert_same(&load(&p).unwrap(), &px, None);
    }
    // Fortran order: the same images stored first-index-fastest.
    let mut fortran = vec![0u8; px.len()];
    for n in 0..50 {
        for r in 0..28 {
            for c in 0..28 {
                fortran[n + 50 * (r + 28 * c)] = px[n * 784 + r * 28 + c];
            }
        }
    }
    let p = write(dir.path(), "f.npy", &npy("|u1", true, &shape, &fortran));
    assert_same(&load(&p).unwrap(), &px, None);
    // N x H x W x 3.
    let rgb: Vec<u8> = (0..4).flat_map(|i| image_pixels(i, 5, 6, 3)).collect();
    let p = write(
        dir.path(),
        "rgb.npy",
        &npy("|u1", false, &[4, 5, 6, 3], &rgb),
    );
    let ds = load(&p).unwrap();
    assert_eq!(ds.shape.to_string(), "6x5 RGB");
    assert_same(&ds, &rgb, None);
}

#[test]
fn npz_train_and_test_keys_become_splits() {
    let dir = tempfile::tempdir().unwrap();
    let (px, labels) = mnist(120);
    let ls = |a: usize, b: usize| {
        npy(
            "<i8",
            false,
            &[b - a],
            &i64_bytes(labels[a..b].iter().map(|&l| l as i64)),
        )
    };
    let xs = |a: usize, b: usize| npy("|u1", false, &[b - a, 28, 28], &px[a * 784..b * 784]);
    for deflate in [false, true] {
        let p = write(
            dir.path(),
            "mnist.npz",
            &npz(
                &[
                    ("x_train", xs(0, 100)),
                    ("y_train", ls(0, 100)),
                    ("x_test", xs(100, 120)),
                    ("y_test", ls(100, 120)),
                ],
                deflate,
            ),
        );
        let ds = load(&p).unwrap();
        assert_eq!((ds.count(Split::Train), ds.count(Split::Test)), (100, 20));
        assert_same(&ds, &px, Some(&labels));
        assert_eq!(ds.split_of(100), Split::Test);
    }
    // X / targets; a single unnamed array (np.savez('d.npz', x) calls it arr_0).
    let p = write(
        dir.path(),
        "xy.npz",
        &npz(&[("X", xs(0, 120)), ("targets", ls(0, 120))], true),
    );
    assert_same(&load(&p).unwrap(), &px, Some(&labels));
    let p = write(dir.path(), "one.npz", &npz(&[("arr_0", xs(0, 120))], false));
    assert_same(&load(&p).unwrap(), &px, None);
    // Keys we do not know are listed in the error.
    let p = write(
        dir.path(),
        "odd.npz",
        &npz(&[("a", xs(0, 2)), ("b", xs(0, 2))], false),
    );
    load_err(&p, "[\"a\", \"b\"]");
    // Labels of another count.
    let p = write(
        dir.path(),
        "short.npz",
        &npz(&[("x", xs(0, 120)), ("y", ls(0, 100))], false),
    );
    load_err(&p, "has 120 images but array 'y' has 100 labels");
}

#[test]
fn bad_numpy_files_are_refused_naming_file_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (px, _) = mnist(10);
    let good = npy("|u1", false, &[10, 28, 28], &px);
    let cut = write(d, "cut.npy", &good[..good.len() - 100]);
    assert!(matches!(
        load_err(&cut, "truncated"),
        Error::Truncated { .. }
    ));
    let cut_header = write(d, "cuthead.npy", &good[..40]);
    load_err(&cut_header, "truncated");

    // A header claiming 2^60 elements, or a shape whose product overflows: refused at once.
    let start = Instant::now();
    let huge = write(
        d,
        "huge.npy",
        &npy("<f8", false, &[1 << 30, 1 << 15, 1 << 15], &[]),
    );
    load_err(&huge, "GiB");
    let over = write(
        d,
        "over.npy",
        &npy("|u1", false, &[usize::MAX, usize::MAX, 2], &[]),
    );
    load_err(&over, "overflows");
    // Format 2.0 with a header length of 4 GiB.
    let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
    v2.extend(u32::MAX.to_le_bytes());
    let long = write(d, "long.npy", &v2);
    load_err(&long, "not plausible");
    assert!(
        start.elapsed().as_secs_f64() < 1.0,
        "hostile headers took {:?}",
        start.elapsed()
    );

    let floats = |v: Vec<f32>| npy("<f4", false, &[1, 2, 2], &f32_bytes(v));
    let nan = write(d, "nan.npy", &floats(vec![0.0, 0.5, f32::NAN, 1.0]));
    load_err(&nan, "image 0, element 2: value NaN");
    let neg = write(d, "neg.npy", &floats(vec![0.0, -0.5, 0.2, 1.0]));
    load_err(&neg, "value -0.5");
    let big = write(d, "big.npy", &floats(vec![0.0, 256.0, 0.2, 1.0]));
    load_err(&big, "value 256");
    let ints = write(
        d,
        "ints.npy",
        &npy("<i8", false, &[1, 2, 2], &i64_bytes([0, 1, 300, 2])),
    );
    load_err(&ints, "value 300");
    let obj = write(d, "obj.npy", &npy("|O", false, &[1, 2, 2], &[0; 32]));
    load_err(&obj, "not supported");
    let cplx = write(d, "c.npy", &npy("<c8", false, &[1, 2, 2], &[0; 32]));
    load_err(&cplx, "not supported");
    let flat = write(d, "flat.npy", &npy("|u1", false, &[12], &[0; 12]));
    load_err(&flat, "1-D array");
    let chw = write(d, "chw.npy", &npy("|u1", false, &[2, 3, 8, 8], &[0; 384]));
    load_err(&chw, "channels-first");
    let rect = write(d, "rect.npy", &npy("|u1", false, &[2, 10], &[0; 20]));
    load_err(&rect, "not a square image");
    let empty = write(d, "empty.npy", &npy("|u1", false, &[0, 28, 28], &[]));
    assert!(matches!(
        load_err(&empty, "no images"),
        Error::NoImages { .. }
    ));

    // Labels: negative, too large, floats.
    let lab = d.join("lab");
    std::fs::create_dir(&lab).unwrap();
    write(&lab, "x.npy", &npy("|u1", false, &[2, 2, 2], &[0; 8]));
    let y = write(&lab, "y.npy", &npy("<i8", false, &[2], &i64_bytes([1, -3])));
    let e = load(&lab.join("x.npy")).unwrap_err();
    assert!(
        matches!(
            e,
            Error::LabelOutOfRange {
                label: -3,
                index: 1,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains(&y.display().to_string()), "{e}");
    write(
        &lab,
        "y.npy",
        &npy("<i8", false, &[2], &i64_bytes([1, 70_000])),
    );
    assert!(matches!(
        load(&lab.join("x.npy")),
        Err(Error::LabelOutOfRange { label: 70_000, .. })
    ));
    write(
        &lab,
        "y.npy",
        &npy("<f4", false, &[2], &f32_bytes([1.0, 2.0])),
    );
    let e = load(&lab.join("x.npy")).unwrap_err();
    assert!(e.to_string().contains("labels must be integers"), "{e}");

    // A zip that is not a whole archive.
    let zipped = npz(&[("x", good.clone())], true);
    let cutzip = write(d, "cut.npz", &zipped[..zipped.len() / 2]);
    load_err(&cutzip, "npz");
}

#[test]
fn every_truncation_of_npy_and_npz_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let (px, labels) = mnist(3);
    let y = npy(
        "<i8",
        false,
        &[3],
        &i64_bytes(labels.iter().map(|&l| l as i64)),
    );
    let files = [
        ("t.npy", npy("|u1", false, &[3, 28, 28], &px)),
        (
            "t.npz",
            npz(
                &[("x", npy("|u1", false, &[3, 28, 28], &px)), ("y", y)],
                true,
            ),
        ),
    ];
    for (name, bytes) in files {
        let step = (bytes.len() / 300).max(1);
        for len in (0..bytes.len())
            .step_by(step)
            .chain(bytes.len() - 20..bytes.len())
        {
            let p = write(dir.path(), name, &bytes[..len]);
            let result = std::panic::catch_unwind(|| load(&p));
            match result {
                Ok(Err(e)) => assert!(e.to_string().contains(name), "{e}"),
                Ok(Ok(ds)) => panic!("{name} cut to {len} bytes loaded as {}", ds.summary()),
                Err(_) => panic!("{name} cut to {len} bytes panicked"),
            }
        }
    }
}

#[test]
fn kaggle_csv_with_header_and_label_first_loads_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (px, labels) = mnist(200);
    let mut csv = String::from("label");
    for k in 0..784 {
        csv.push_str(&format!(",pixel{k}"));
    }
    csv.push('\n');
    for i in 0..200 {
        csv.push_str(&labels[i].to_string());
        for &b in &px[i * 784..(i + 1) * 784] {
            csv.push_str(&format!(",{b}"));
        }
        csv.push_str("\r\n");
    }
    let p = write(dir.path(), "train.csv", csv.as_bytes());
    let ds = load(&p).unwrap();
    assert_eq!(ds.shape.to_string(), "28x28 grey");
    assert_same(&ds, &px, Some(&labels));

    // Without a header: the label column is found first (Kaggle) or last (np.savetxt(c_[X, y])).
    let rows = |last: bool| -> String {
        (0..200)
            .map(|i| {
                let mut f: Vec<String> = px[i * 784..(i + 1) * 784]
                    .iter()
                    .map(|b| b.to_string())
                    .collect();
                if last {
                    f.push(labels[i].to_string())
                } else {
                    f.insert(0, labels[i].to_string())
                }
                f.join(",") + "\n"
            })
            .collect()
    };
    for last in [false, true] {
        let p = write(dir.path(), "noheader.csv", rows(last).as_bytes());
        assert_same(&load(&p).unwrap(), &px, Some(&labels));
    }
}

#[test]
fn sklearn_digits_style_and_unit_scale_csv() {
    let dir = tempfile::tempdir().unwrap();
    // 8x8 values 0..16 with the target last, as np.savetxt writes floats. As in the real set,
    // the corner pixel is always 0 (which tells the first column from the label column).
    let values = |i: usize, k: usize| {
        if k == 0 {
            0
        } else {
            ((i * 3 + k * 5) % 17) as u8
        }
    };
    let csv: String = (0..30)
        .map(|i| {
            let mut f: Vec<String> = (0..64)
                .map(|k| format!("{:.18e}", values(i, k) as f64))
                .collect();
            f.push(format!("{:.18e}", (i % 10) as f64));
            f.join(",") + "\n"
        })
        .collect();
    let p = write(dir.path(), "digits.csv", csv.as_bytes());
    let ds = load(&p).unwrap();
    assert_eq!(ds.shape.to_string(), "8x8 grey");
    assert_eq!(ds.label(13), Some(3));
    for k in 0..64 {
        let want = (values(13, k) as f64 * 255.0 / 16.0).round() as u8;
        assert_eq!(ds.image_bytes(13)[k], want);
    }
    assert_eq!(ds.image_bytes(0).iter().max(), Some(&255));
    // Values in [0, 1], a header naming the label "target" in the middle, pandas' index column.
    let mut csv = String::from(",p0,p1,target,p2,p3\n");
    for i in 0..5 {
        csv.push_str(&format!("{i},0.0,1.0,{},0.5,{}\n", i % 2, i as f64 / 10.0));
    }
    let ds = load(&write(dir.path(), "unit.csv", csv.as_bytes())).unwrap();
    assert_eq!(ds.shape.to_string(), "2x2 grey");
    assert_eq!(ds.image_bytes(3), &[0, 255, 128, 77]);
    assert_eq!(ds.labels(), Some(&[0, 1, 0, 1, 0][..]));
}

#[test]
fn bad_csv_files_name_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let header = "label,a,b,c,d\n";
    let p = write(
        d,
        "range.csv",
        format!("{header}1,0,10,20,30\n2,0,300,1,1\n").as_bytes(),
    );
    load_err(&p, "line 3, column 3: value 300");
    let p = write(d, "neg.csv", format!("{header}1,0,-1,20,30\n").as_bytes());
    load_err(&p, "line 2, column 3: value -1");
    let p = write(d, "nan.csv", format!("{header}1,0,nan,20,30\n").as_bytes());
    load_err(&p, "value NaN");
    let p = write(
        d,
        "text.csv",
        format!("{header}1,0,1,2,3\n1,zero,1,2,3\n").as_bytes(),
    );
    load_err(&p, "line 3, column 2: 'zero' is not a number");
    let p = write(
        d,
        "ragged.csv",
        format!("{header}1,0,1,2,3\n1,0,1\n").as_bytes(),
    );
    load_err(&p, "line 3 has 3 values");
    let p = write(d, "frac.csv", format!("{header}1.5,0,1,2,3\n").as_bytes());
    load_err(&p, "label 1.5 is not a whole number");
    let p = write(d, "odd.csv", b"label,a,b,c\n1,0,1,2\n");
    load_err(&p, "3 pixel columns");
    let p = write(d, "headonly.csv", header.as_bytes());
    load_err(&p, "no images");
    // A line of prose with a comma is not taken for a CSV: the IDX loader's error stands.
    let p = write(d, "prose.csv", b"hello, world\n");
    assert!(matches!(
        load_err(&p, "not an IDX file"),
        Error::WrongMagic { .. }
    ));
}
