//! IDX loading through the public API: the bundled MNIST, single files, generated raw and
//! gzip files, and every kind of bad input, each of which must give its own typed error that
//! names the file (never a panic).

mod common;

use common::*;
use latent_explorer::Error;
use latent_explorer::data::{
    Dataset, IdxFile, ImageShape, LoadOptions, Split, load_dataset, load_idx_dir, load_idx_pair,
    read_idx,
};
use std::path::Path;
use std::time::{Duration, Instant};
use tempfile::TempDir;

fn load(path: &Path) -> latent_explorer::Result<Dataset> {
    load_dataset(path, &LoadOptions::default())
}

/// Loads `path`, expecting an error; checks its message names `named` and returns it.
fn load_err(path: &Path, named: &Path) -> Error {
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
        msg.contains(&named.display().to_string()),
        "error message {msg:?} does not name {}",
        named.display()
    );
    assert!(!msg.contains('\n'), "error message spans lines: {msg:?}");
    err
}

fn tmp() -> TempDir {
    tempfile::tempdir().expect("temp dir")
}

// ---------------------------------------------------------------------------------------------
// The bundled MNIST
// ---------------------------------------------------------------------------------------------

#[test]
fn bundled_mnist_folder_loads_train_then_test() {
    let ds = load(&mnist_dir()).expect("bundled MNIST loads");
    assert_eq!(ds.len(), 70_000);
    assert_eq!(ds.count(Split::Train), 60_000);
    assert_eq!(ds.count(Split::Test), 10_000);
    assert_eq!(ds.shape, ImageShape::new(28, 28, 1));
    assert_eq!(ds.shape.len(), 784);
    assert_eq!(ds.name, "MNIST");
    assert_eq!(ds.source, mnist_dir());

    // Train samples first, then the test file's.
    assert_eq!(ds.indices(Split::Train), (0..60_000).collect::<Vec<_>>());
    assert_eq!(
        ds.indices(Split::Test),
        (60_000..70_000).collect::<Vec<_>>()
    );
    assert_eq!(ds.split_of(0), Split::Train);
    assert_eq!(ds.split_of(59_999), Split::Train);
    assert_eq!(ds.split_of(60_000), Split::Test);
    assert_eq!(ds.split_of(69_999), Split::Test);

    let names: Vec<String> = (0..10).map(|d| d.to_string()).collect();
    assert_eq!(ds.class_names(), names.as_slice());

    let labels = ds.labels().expect("MNIST is labelled");
    assert_eq!(labels.len(), 70_000);
    assert_eq!(&labels[..10], &[5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    assert_eq!(&labels[60_000..60_010], &[7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    assert_eq!(ds.label(0), Some(5));
    assert_eq!(ds.label(60_000), Some(7));
    assert_eq!(ds.class_name(0), Some("5"));
    assert_eq!(ds.class_name(60_000), Some("7"));

    // Known class counts of MNIST's two files.
    let mut train_counts = [0usize; 10];
    let mut test_counts = [0usize; 10];
    for (i, &l) in labels.iter().enumerate() {
        assert!(l < 10, "label {l} of sample {i}");
        if i < 60_000 {
            train_counts[l as usize] += 1;
        } else {
            test_counts[l as usize] += 1;
        }
    }
    assert_eq!(
        train_counts,
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        test_counts,
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );

    // Pixels in [0, 1]; the first "5" has 166 inked pixels, 111 of them above half.
    let img = ds.image(0);
    assert_eq!(img.len(), 784);
    assert!(img.iter().all(|v| (0.0..=1.0).contains(v)));
    assert_eq!(img.iter().filter(|&&v| v > 0.0).count(), 166);
    assert_eq!(img.iter().filter(|&&v| v > 0.5).count(), 111);
    let total: u64 = ds.image_bytes(0).iter().map(|&b| b as u64).sum();
    assert_eq!(total, 27_525);
    assert!(img.contains(&1.0), "a full-ink pixel exists");
    assert_eq!(
        ds.image_bytes(60_000).iter().filter(|&&b| b > 0).count(),
        116,
        "the first test digit"
    );
    for i in [1, 59_999, 65_432, 69_999] {
        let v = ds.image(i);
        assert!(v.iter().all(|v| (0.0..=1.0).contains(v)));
        let ink = v.iter().filter(|&&v| v > 0.0).count();
        assert!(
            (30..=500).contains(&ink),
            "image {i} has {ink} inked pixels"
        );
    }

    assert_eq!(
        ds.summary(),
        "MNIST: 70000 images (60000 train, 10000 test), 28x28 grey, 10 classes"
    );
}

#[test]
fn single_real_gz_images_file_pairs_with_its_labels() {
    let path = mnist_dir().join("t10k-images-idx3-ubyte.gz");
    let ds = load(&path).expect("a single .gz images file loads");
    assert_eq!(ds.len(), 10_000);
    assert_eq!(ds.shape, ImageShape::new(28, 28, 1));
    // A single file has no held-out part of its own: every sample is a training one.
    assert_eq!(ds.count(Split::Train), 10_000);
    assert_eq!(ds.count(Split::Test), 0);
    assert_eq!(ds.name, "MNIST");
    let labels = ds.labels().expect("labels found beside the images by name");
    assert_eq!(&labels[..10], &[7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    assert_eq!(ds.class_names().len(), 10);
    assert_eq!(
        ds.image_bytes(0).iter().filter(|&&b| b > 0).count(),
        116,
        "same first test digit as in the folder"
    );

    // read_idx on the raw pieces agrees.
    match read_idx(&mnist_dir().join("t10k-labels-idx1-ubyte.gz")).expect("labels read") {
        IdxFile::Labels { labels: raw } => {
            assert_eq!(raw.len(), 10_000);
            assert!(raw.iter().zip(labels).all(|(&a, &b)| a == b as i64));
        }
        other => panic!("labels file read as {other:?}"),
    }
}

#[test]
fn single_images_file_without_labels_is_unlabelled() {
    let dir = tmp();
    let path = write_file(
        dir.path(),
        "pictures-idx3-ubyte",
        &idx_images(5, 3, 4),
        false,
    );
    let ds = load(&path).expect("loads");
    assert_eq!(ds.len(), 5);
    assert_eq!(ds.shape, ImageShape::new(3, 4, 1));
    assert!(ds.labels().is_none());
    assert!(ds.class_names().is_empty());
    assert_eq!(ds.label(0), None);
    assert!(ds.summary().ends_with("unlabelled"), "{}", ds.summary());
}

// ---------------------------------------------------------------------------------------------
// Generated files
// ---------------------------------------------------------------------------------------------

#[test]
fn generated_raw_and_gz_files_load_identically_and_exactly() {
    let (n, rows, cols, classes) = (23, 5, 7, 4);
    let raw_dir = tmp();
    let gz_dir = tmp();
    let (raw_images, _) = write_idx_pair(raw_dir.path(), "train", n, rows, cols, classes, false);
    let (gz_images, _) = write_idx_pair(gz_dir.path(), "train", n, rows, cols, classes, true);
    assert!(gz_images.to_string_lossy().ends_with(".gz"));

    let raw = load(&raw_images).expect("raw loads");
    let gz = load(&gz_images).expect("gz loads");
    for ds in [&raw, &gz] {
        assert_eq!(ds.len(), n);
        assert_eq!(ds.shape, ImageShape::new(rows, cols, 1));
        for i in 0..n {
            assert_eq!(ds.image_bytes(i), image_pixels(i, rows, cols, 1).as_slice());
            assert_eq!(ds.label(i), Some(label(i, classes) as u16), "label {i}");
            assert_eq!(ds.split_of(i), Split::Train);
        }
        let names: Vec<String> = (0..classes).map(|c| c.to_string()).collect();
        assert_eq!(ds.class_names(), names.as_slice());
        // Byte b reads as b / 255.
        let first = ds.image(0);
        for (v, &b) in first.iter().zip(ds.image_bytes(0)) {
            assert_eq!(*v, b as f32 / 255.0);
        }
    }
    assert_eq!(raw.labels(), gz.labels());
    for i in 0..n {
        assert_eq!(raw.image_bytes(i), gz.image_bytes(i));
    }

    // read_idx gives the same content for both.
    for p in [&raw_images, &gz_images] {
        match read_idx(p).expect("read_idx") {
            IdxFile::Images { shape, pixels } => {
                assert_eq!(shape, ImageShape::new(rows, cols, 1));
                assert_eq!(pixels.len(), n * rows * cols);
            }
            other => panic!("{} read as {other:?}", p.display()),
        }
    }
}

#[test]
fn explicit_label_file_and_other_label_types() {
    let dir = tmp();
    let images = write_file(dir.path(), "a.idx", &idx_images(4, 2, 2), false);
    let labels = write_file(dir.path(), "b.idx", &idx_labels_i32(&[3, 0, 70, 1]), true);
    let ds = load_idx_pair(&images, Some(&labels)).expect("explicit pair loads");
    assert_eq!(ds.labels(), Some(&[3u16, 0, 70, 1][..]));
    assert_eq!(ds.class_names().len(), 71);
    assert_eq!(ds.class_name(2), Some("70"));

    // i16 labels (type 0x0B).
    let mut i16_file = idx_header(0x0000_0B01, &[4]);
    for l in [1i16, 300, 2, 0] {
        i16_file.extend_from_slice(&l.to_be_bytes());
    }
    let labels16 = write_file(dir.path(), "c.idx", &i16_file, false);
    let ds = load_idx_pair(&images, Some(&labels16)).expect("i16 labels load");
    assert_eq!(ds.labels(), Some(&[1u16, 300, 2, 0][..]));
}

#[test]
fn four_dim_rgb_idx_images_load_as_three_channels() {
    let dir = tmp();
    let path = write_file(dir.path(), "rgb-images", &idx_images4(3, 4, 5, 3), true);
    let ds = load(&path).expect("4-dim IDX loads");
    assert_eq!(ds.shape, ImageShape::new(4, 5, 3));
    assert_eq!(ds.shape.to_string(), "5x4 RGB");
    for i in 0..3 {
        assert_eq!(ds.image_bytes(i), image_pixels(i, 4, 5, 3).as_slice());
    }
}

#[test]
fn generated_folder_splits_by_train_and_t10k_names() {
    let dir = tmp();
    let folder = dir.path().join("digits");
    std::fs::create_dir(&folder).unwrap();
    // "t10k" sorts before "train": the train file must still come first. Mix raw and gz.
    write_idx_pair(&folder, "train", 20, 6, 6, 10, false);
    write_idx_pair(&folder, "t10k", 7, 6, 6, 10, true);
    std::fs::write(folder.join("README.txt"), "not an IDX file").unwrap();

    let ds = load(&folder).expect("folder loads");
    assert_eq!(ds.len(), 27);
    assert_eq!(ds.name, "digits");
    assert_eq!(ds.indices(Split::Train), (0..20).collect::<Vec<_>>());
    assert_eq!(ds.indices(Split::Test), (20..27).collect::<Vec<_>>());
    for i in 0..20 {
        assert_eq!(ds.image_bytes(i), image_pixels(i, 6, 6, 1).as_slice());
        assert_eq!(ds.label(i), Some(label(i, 10) as u16));
    }
    for k in 0..7 {
        assert_eq!(ds.image_bytes(20 + k), image_pixels(k, 6, 6, 1).as_slice());
        assert_eq!(ds.label(20 + k), Some(label(k, 10) as u16));
    }
    assert_eq!(ds.class_names().len(), 10);

    // load_idx_dir is the same loader; a folder of no IDX images gives None.
    let same = load_idx_dir(&folder).unwrap().expect("IDX folder");
    assert_eq!(same.len(), 27);
    let empty = tmp();
    std::fs::write(empty.path().join("x.txt"), "hello").unwrap();
    assert!(load_idx_dir(empty.path()).unwrap().is_none());

    // "test" in a name also marks held-out samples.
    let other = tmp();
    write_idx_pair(other.path(), "my-test", 3, 2, 2, 2, false);
    write_idx_pair(other.path(), "my-train", 5, 2, 2, 2, false);
    let ds = load(other.path()).expect("loads");
    assert_eq!((ds.count(Split::Train), ds.count(Split::Test)), (5, 3));
    assert_eq!(ds.split_of(0), Split::Train);
    assert_eq!(ds.split_of(7), Split::Test);
}

#[test]
fn folder_with_an_unlabelled_test_part_keeps_the_training_labels() {
    let dir = tmp();
    write_idx_pair(dir.path(), "train", 4, 3, 3, 3, false);
    write_file(
        dir.path(),
        "t10k-images-idx3-ubyte",
        &idx_images(2, 3, 3),
        false,
    );
    let ds = load(dir.path()).expect("loads");
    // Issue 12: the held-out file without labels is left out (and reported), rather than
    // costing the training files their labels.
    assert_eq!(ds.len(), 4);
    assert_eq!((ds.count(Split::Train), ds.count(Split::Test)), (4, 0));
    assert!(ds.labels().is_some());
    assert!(
        ds.report()
            .notes
            .iter()
            .any(|n| n.contains("t10k-images-idx3-ubyte")),
        "{:?}",
        ds.report()
    );
}

// ---------------------------------------------------------------------------------------------
// Bad input: each gives its own typed error naming the file
// ---------------------------------------------------------------------------------------------

#[test]
fn truncated_payload_raw() {
    let dir = tmp();
    let mut bytes = idx_images(10, 4, 4);
    bytes.truncate(16 + 100);
    let path = write_file(dir.path(), "short-images-idx3-ubyte", &bytes, false);
    let err = load_err(&path, &path);
    assert!(
        matches!(
            err,
            Error::Truncated {
                what: "IDX payload",
                expected: 160,
                found: 100,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("truncated"), "{err}");
}

#[test]
fn truncated_payload_gz() {
    let dir = tmp();
    // A complete gzip stream of a short file.
    let mut bytes = idx_images(10, 4, 4);
    bytes.truncate(16 + 100);
    let path = write_file(dir.path(), "short-images-idx3-ubyte", &bytes, true);
    let err = load_err(&path, &path);
    assert!(
        matches!(
            err,
            Error::Truncated {
                what: "IDX payload",
                expected: 160,
                found: 100,
                ..
            }
        ),
        "{err:?}"
    );

    // A gzip file cut off part way (the download stopped): the stream itself is short.
    let full = gzip(&idx_images(200, 28, 28));
    let cut = dir.path().join("cut-images-idx3-ubyte.gz");
    std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
    let err = load_err(&cut, &cut);
    assert!(
        matches!(
            err,
            Error::Truncated {
                what: "IDX payload",
                expected: 156_800,
                ..
            }
        ),
        "a cut-off .gz should read as a truncated payload, got {err:?} ({err})"
    );
}

#[test]
fn truncated_header() {
    let dir = tmp();
    // Magic plus 2 of the 3 dims.
    let bytes = idx_header(IMAGES_MAGIC, &[10, 4]);
    for gz in [false, true] {
        let path = write_file(dir.path(), "header-images", &bytes, gz);
        let err = load_err(&path, &path);
        assert!(
            matches!(
                err,
                Error::Truncated {
                    what: "IDX header",
                    expected: 16,
                    found: 12,
                    ..
                }
            ),
            "{err:?}"
        );
    }
    // Not even a whole magic number; and an empty file.
    for (name, bytes) in [("three-bytes", &[0u8, 0, 8][..]), ("empty", &[][..])] {
        let path = write_file(dir.path(), name, bytes, false);
        let err = load_err(&path, &path);
        assert!(
            matches!(
                err,
                Error::Truncated {
                    what: "IDX magic number",
                    expected: 4,
                    ..
                }
            ),
            "{name}: {err:?}"
        );
    }
}

#[test]
fn wrong_magic_png_and_text() {
    let dir = tmp();
    let png = dir.path().join("digit.png");
    std::fs::write(&png, png_bytes(8, 8)).unwrap();
    let err = load_err(&png, &png);
    assert!(
        matches!(
            err,
            Error::WrongMagic {
                magic: 0x8950_4e47,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("not an IDX file"), "{err}");

    let text = dir.path().join("train-images-idx3-ubyte");
    std::fs::write(&text, "hello, this is not a dataset\n").unwrap();
    let err = load_err(&text, &text);
    assert!(
        matches!(
            err,
            Error::WrongMagic {
                magic: 0x6865_6c6c,
                ..
            }
        ),
        "{err:?}"
    );

    // Right first bytes, but a dimension count no IDX dataset has.
    let odd = write_file(dir.path(), "odd", &idx_header(0x0000_0802, &[1, 1]), false);
    let err = load_err(&odd, &odd);
    assert!(
        matches!(err, Error::WrongMagic { magic: 0x0802, .. }),
        "{err:?}"
    );
}

#[test]
fn unsupported_element_types_and_channels() {
    let dir = tmp();
    // Float images (type 0x0D) and i32 images.
    for magic in [0x0000_0D03u32, 0x0000_0C03] {
        let mut bytes = idx_header(magic, &[1, 2, 2]);
        bytes.extend_from_slice(&[0u8; 64]);
        let path = write_file(dir.path(), &format!("t{magic:x}"), &bytes, false);
        let err = load_err(&path, &path);
        assert!(matches!(err, Error::UnsupportedFormat { .. }), "{err:?}");
    }
    // Two channels per pixel.
    let mut bytes = idx_header(IMAGES4_MAGIC, &[1, 2, 2, 2]);
    bytes.extend_from_slice(&[0u8; 8]);
    let path = write_file(dir.path(), "two-channels", &bytes, false);
    let err = load_err(&path, &path);
    assert!(matches!(err, Error::BadHeader { .. }), "{err:?}");
}

#[test]
fn image_and_label_count_mismatch() {
    let dir = tmp();
    let images = write_file(
        dir.path(),
        "train-images-idx3-ubyte",
        &idx_images(10, 3, 3),
        false,
    );
    let labels = write_file(
        dir.path(),
        "train-labels-idx1-ubyte",
        &idx_labels(9, 10),
        false,
    );
    for path in [&images, &dir.path().to_path_buf()] {
        let err = load_err(path, &images);
        assert!(
            matches!(
                err,
                Error::CountMismatch {
                    images: 10,
                    labels: 9,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().contains(&labels.display().to_string()),
            "{err}"
        );
    }
}

#[test]
fn zero_images() {
    let dir = tmp();
    let path = write_file(
        dir.path(),
        "none-images",
        &idx_header(IMAGES_MAGIC, &[0, 28, 28]),
        false,
    );
    let err = load_err(&path, &path);
    assert!(matches!(err, Error::NoImages { .. }), "{err:?}");

    let gz = write_file(
        dir.path(),
        "none-images",
        &idx_header(IMAGES_MAGIC, &[0, 28, 28]),
        true,
    );
    let err = load_err(&gz, &gz);
    assert!(matches!(err, Error::NoImages { .. }), "{err:?}");
}

#[test]
fn absurd_header_sizes_fail_fast_without_allocating() {
    let dir = tmp();
    let cases: [(&str, [u32; 3]); 4] = [
        ("huge-sides", [4_000_000_000, 65_535, 65_535]),
        ("huge-count", [4_000_000_000, 28, 28]),
        ("max-everything", [u32::MAX, 16_384, 16_384]),
        ("zero-rows", [5, 0, 28]),
    ];
    for (name, dims) in cases {
        for gz in [false, true] {
            let bytes = idx_header(IMAGES_MAGIC, &dims);
            let path = write_file(dir.path(), name, &bytes, gz);
            let start = Instant::now();
            let err = load_err(&path, &path);
            let took = start.elapsed();
            assert!(
                took < Duration::from_millis(250),
                "{name} (gz {gz}) took {took:?}"
            );
            assert!(matches!(err, Error::BadHeader { .. }), "{name}: {err:?}");
        }
    }
    // A plausible header (7.8 GB of pixels) over a tiny payload: truncated, found quickly.
    for gz in [false, true] {
        let mut bytes = idx_header(IMAGES_MAGIC, &[10_000_000, 28, 28]);
        bytes.extend_from_slice(&[7u8; 1000]);
        let path = write_file(dir.path(), "big-claim", &bytes, gz);
        let start = Instant::now();
        let err = load_err(&path, &path);
        assert!(start.elapsed() < Duration::from_millis(250), "gz {gz}");
        assert!(
            matches!(
                err,
                Error::Truncated {
                    what: "IDX payload",
                    expected: 7_840_000_000,
                    found: 1000,
                    ..
                }
            ),
            "gz {gz}: {err:?}"
        );
    }
    // A labels file claiming 4 billion i32 labels.
    let labels = write_file(
        dir.path(),
        "huge-labels",
        &idx_header(LABELS_I32_MAGIC, &[4_000_000_000]),
        false,
    );
    let start = Instant::now();
    let err = read_idx(&labels).expect_err("refused");
    assert!(start.elapsed() < Duration::from_millis(250));
    assert!(
        matches!(err, Error::BadHeader { .. } | Error::Truncated { .. }),
        "{err:?}"
    );
}

#[test]
fn labels_out_of_range() {
    let dir = tmp();
    let images = write_file(
        dir.path(),
        "train-images-idx3-ubyte",
        &idx_images(4, 2, 2),
        false,
    );
    let labels = write_file(
        dir.path(),
        "train-labels-idx1-ubyte",
        &idx_labels_i32(&[1, 2, -1, 0]),
        false,
    );
    for path in [&images, &dir.path().to_path_buf()] {
        let err = load_err(path, &labels);
        assert!(
            matches!(
                err,
                Error::LabelOutOfRange {
                    index: 2,
                    label: -1,
                    ..
                }
            ),
            "{err:?}"
        );
    }
    // Too large for a class index.
    std::fs::write(&labels, idx_labels_i32(&[0, 65_536, 1, 1])).unwrap();
    let err = load_err(&images, &labels);
    assert!(
        matches!(
            err,
            Error::LabelOutOfRange {
                index: 1,
                label: 65_536,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn labels_file_opened_as_a_dataset() {
    let labels = mnist_dir().join("train-labels-idx1-ubyte.gz");
    let err = load_err(&labels, &labels);
    assert!(matches!(err, Error::UnsupportedFormat { .. }), "{err:?}");
    assert!(err.to_string().contains("label"), "{err}");

    // And a labels file given where images belong.
    let dir = tmp();
    let l = write_file(dir.path(), "l.idx", &idx_labels(3, 2), false);
    let err = load_idx_pair(&l, None).expect_err("labels are not images");
    assert!(matches!(err, Error::UnsupportedFormat { .. }), "{err:?}");
    assert!(err.to_string().contains(&l.display().to_string()), "{err}");
}

#[test]
fn two_image_files_of_different_sizes_in_one_folder() {
    let dir = tmp();
    write_idx_pair(dir.path(), "train", 5, 28, 28, 10, false);
    let (t10k, _) = write_idx_pair(dir.path(), "t10k", 5, 8, 8, 10, false);
    let train = dir.path().join("train-images-idx3-ubyte");
    let err = load_err(dir.path(), &t10k);
    assert!(matches!(err, Error::UnsupportedFormat { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("8x8") && msg.contains("28x28"), "{msg}");
    assert!(msg.contains(&train.display().to_string()), "{msg}");
}

#[test]
fn missing_path_is_not_found() {
    let dir = tmp();
    let missing = dir.path().join("no-such-dataset");
    let err = load_err(&missing, &missing);
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

#[test]
fn every_truncation_and_corruption_is_an_error_not_a_panic() {
    let dir = tmp();
    let images = idx_images(3, 4, 4);
    let labels = idx_labels(3, 2);
    for gz in [false, true] {
        // Every proper prefix of the images file is refused, the whole file loads.
        for cut in 0..images.len() {
            let path = write_file(dir.path(), "p-images", &images[..cut], gz);
            assert!(
                load(&path).is_err(),
                "prefix of {cut} bytes (gz {gz}) loaded"
            );
            assert!(read_idx(&path).is_err());
        }
        let path = write_file(dir.path(), "p-images", &images, gz);
        assert_eq!(load(&path).expect("whole file").len(), 3);
        // Every proper prefix of the labels file is refused when paired.
        for cut in 0..labels.len() {
            let lp = write_file(dir.path(), "lbl.idx", &labels[..cut], gz);
            assert!(
                load_idx_pair(&path, Some(&lp)).is_err(),
                "labels prefix {cut} (gz {gz})"
            );
        }
        std::fs::remove_file(&path).unwrap();
    }
    // Every single-byte change of the header gives a result, never a panic.
    for pos in 0..16 {
        for value in [0u8, 1, 3, 4, 0x08, 0x0C, 0x80, 0xFF] {
            let mut bytes = images.clone();
            bytes[pos] = value;
            let path = write_file(dir.path(), "flip", &bytes, false);
            if let Ok(ds) = load(&path) {
                assert!(!ds.is_empty());
                let last = ds.image(ds.len() - 1);
                assert_eq!(last.len(), ds.shape.len());
            }
        }
    }
    // Random garbage, raw and compressed.
    let garbage: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for gz in [false, true] {
        let path = write_file(dir.path(), "garbage", &garbage, gz);
        assert!(load(&path).is_err());
    }
}

#[test]
fn fashion_mnist_folder_gets_clothing_names() {
    let dir = tmp();
    let folder = write_idx_dataset(dir.path(), "fashion-mnist", 12, 3, 4, 4);
    let ds = load(&folder).expect("loads");
    assert_eq!(ds.name, "Fashion-MNIST");
    assert_eq!(ds.class_names().len(), 10);
    assert_eq!(ds.class_names()[0], "T-shirt/top");
    assert_eq!(ds.class_names()[9], "Ankle boot");
    assert_eq!(ds.class_name(0), Some("Dress"), "label(0) is 3");
}

#[test]
fn folder_with_raw_and_gz_copies_of_a_file_does_not_double_the_data() {
    // A common layout after unpacking a download while keeping the archives.
    let dir = tmp();
    write_idx_pair(dir.path(), "train", 20, 4, 4, 10, false);
    write_idx_pair(dir.path(), "train", 20, 4, 4, 10, true);
    write_idx_pair(dir.path(), "t10k", 7, 4, 4, 10, false);
    match load(dir.path()) {
        Ok(ds) => {
            assert_eq!(
                (ds.count(Split::Train), ds.count(Split::Test)),
                (20, 7),
                "each training sample must appear once: {}",
                ds.summary()
            );
        }
        Err(e) => {
            // Refusing the ambiguity is acceptable too, as long as it says which files.
            assert!(e.to_string().contains("train-images-idx3-ubyte"), "{e}");
        }
    }
}
