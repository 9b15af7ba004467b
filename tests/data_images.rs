//! Image folders: class subfolders as labels, grey or colour, files that do not decode skipped
//! and reported, one common size, and typed errors for folders with nothing to load.

mod common;

use common::*;
use latent_explorer::Error;
use latent_explorer::data::{
    Dataset, ImageDirOptions, ImageDirReport, ImageShape, LoadOptions, LoadProgress, LoadStage,
    Split, load_dataset, load_dataset_with_progress, load_image_dir,
};
use std::path::Path;
use tempfile::TempDir;

fn tmp() -> TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn load_dir(dir: &Path) -> (Dataset, ImageDirReport) {
    load_image_dir(dir, &ImageDirOptions::default()).expect("image folder loads")
}

fn load_dir_err(dir: &Path, opts: &ImageDirOptions) -> Error {
    match load_image_dir(dir, opts) {
        Ok((ds, _)) => panic!("{} loaded as {}", dir.display(), ds.summary()),
        Err(e) => e,
    }
}

/// Writes `bytes` at `dir/rel`, creating folders.
fn put(dir: &Path, rel: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn grey_png_class_folders_load_exactly() {
    let dir = tmp();
    let root = dir.path().join("pets");
    for k in 0..3u8 {
        save_image(&root, &format!("cats/c{k}.png"), &patterned_grey(8, 6, k));
    }
    for k in 0..2u8 {
        save_image(
            &root,
            &format!("dogs/d{k}.png"),
            &patterned_grey(8, 6, 10 + k),
        );
    }
    let (ds, report) = load_dir(&root);
    assert_eq!(ds.len(), 5);
    assert_eq!(
        ds.shape,
        ImageShape::new(6, 8, 1),
        "height 6, width 8, grey"
    );
    assert_eq!(ds.name, "pets");
    assert_eq!(ds.source, root);
    assert_eq!(ds.class_names(), &["cats".to_string(), "dogs".to_string()]);
    assert_eq!(ds.labels(), Some(&[0u16, 0, 0, 1, 1][..]));
    assert_eq!(ds.class_name(4), Some("dogs"));
    assert_eq!(ds.count(Split::Train), 5);
    assert_eq!(ds.count(Split::Test), 0);
    let seeds = [0u8, 1, 2, 10, 11];
    for (i, &s) in seeds.iter().enumerate() {
        assert_eq!(
            ds.image_bytes(i),
            patterned_grey(8, 6, s).as_raw().as_slice(),
            "image {i} keeps its exact pixels"
        );
    }
    assert_eq!(report.loaded, 5);
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(report.resized, 0);

    // load_dataset on the folder gives the same dataset.
    let same = load_dataset(&root, &LoadOptions::default()).expect("loads");
    assert_eq!(same.len(), 5);
    assert_eq!(same.labels(), ds.labels());
    assert_eq!(same.image_bytes(3), ds.image_bytes(3));
}

#[test]
fn grey_png_and_jpeg_stay_one_channel() {
    let dir = tmp();
    save_image(dir.path(), "a/one.png", &grey_image(10, 10, 100));
    save_image(dir.path(), "a/two.jpg", &grey_image(10, 10, 150));
    save_image(dir.path(), "b/three.jpeg", &patterned_grey(10, 10, 3));
    let la = image::GrayAlphaImage::from_pixel(10, 10, image::LumaA([60, 255]));
    save_image(dir.path(), "b/four.png", &la);
    let l16 =
        image::ImageBuffer::<image::Luma<u16>, Vec<u16>>::from_pixel(10, 10, image::Luma([65_535]));
    save_image(dir.path(), "b/five.png", &l16);

    let (ds, report) = load_dir(dir.path());
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(ds.len(), 5);
    assert_eq!(ds.shape, ImageShape::new(10, 10, 1));
    assert!(ds.image_bytes(0).iter().all(|&b| b == 100));
    // A flat grey JPEG decodes to (nearly) its value.
    assert!(ds.image_bytes(1).iter().all(|&b| b.abs_diff(150) <= 2));
    // Walk order is by name: b/five.png, b/four.png, b/three.jpeg.
    assert!(ds.image_bytes(2).iter().all(|&b| b == 255), "16-bit white");
    assert!(
        ds.image_bytes(3).iter().all(|&b| b == 60),
        "grey with alpha"
    );
}

#[test]
fn grey_bmp_stays_one_channel() {
    // A BMP of a grey image has no colour, whatever pixel format its decoder reports.
    let dir = tmp();
    save_image(dir.path(), "x/one.bmp", &grey_image(6, 6, 40));
    save_image(dir.path(), "x/two.bmp", &patterned_grey(6, 6, 9));
    save_image(dir.path(), "y/three.png", &grey_image(6, 6, 200));
    let (ds, report) = load_dir(dir.path());
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(ds.len(), 3);
    assert_eq!(
        ds.shape,
        ImageShape::new(6, 6, 1),
        "grey BMP files made the dataset {}",
        ds.shape
    );
    assert_eq!(
        ds.image_bytes(1),
        patterned_grey(6, 6, 9).as_raw().as_slice()
    );
}

#[test]
fn any_colour_image_makes_three_channels() {
    let dir = tmp();
    save_image(dir.path(), "grey/g0.png", &grey_image(4, 4, 90));
    save_image(dir.path(), "grey/g1.png", &patterned_grey(4, 4, 5));
    save_image(dir.path(), "red/r0.png", &rgb_image(4, 4, [200, 10, 30]));
    let (ds, report) = load_dir(dir.path());
    assert!(report.skipped.is_empty());
    assert_eq!(ds.shape, ImageShape::new(4, 4, 3));
    assert_eq!(ds.shape.len(), 48);
    assert_eq!(ds.shape.to_string(), "4x4 RGB");
    // Grey images become (v, v, v); the colour one keeps its channels.
    assert!(ds.image_bytes(0).iter().all(|&b| b == 90));
    let g1: Vec<u8> = patterned_grey(4, 4, 5)
        .as_raw()
        .iter()
        .flat_map(|&v| [v, v, v])
        .collect();
    assert_eq!(ds.image_bytes(1), g1.as_slice());
    assert!(ds.image_bytes(2).chunks(3).all(|p| p == [200, 10, 30]));
    assert_eq!(ds.labels(), Some(&[0u16, 0, 1][..]));

    // A colour JPEG or BMP does the same.
    for ext in ["jpg", "bmp"] {
        let dir = tmp();
        save_image(dir.path(), "a/g.png", &grey_image(8, 8, 10));
        save_image(
            dir.path(),
            &format!("a/c.{ext}"),
            &rgb_image(8, 8, [20, 200, 60]),
        );
        let (ds, report) = load_dir(dir.path());
        assert!(report.skipped.is_empty(), "{ext}: {:?}", report.skipped);
        assert_eq!(ds.shape.channels, 3, "{ext}");
        let px = &ds.image_bytes(0)[..3];
        assert!(
            px[0].abs_diff(20) <= 6 && px[1].abs_diff(200) <= 6 && px[2].abs_diff(60) <= 6,
            "{ext}: {px:?}"
        );
    }
}

#[test]
fn files_that_do_not_decode_are_skipped_and_reported() {
    let dir = tmp();
    let root = dir.path();
    save_image(root, "cats/a.png", &grey_image(5, 5, 1));
    save_image(root, "cats/b.png", &grey_image(5, 5, 2));
    save_image(root, "dogs/c.png", &grey_image(5, 5, 3));
    let notes = put(root, "cats/notes.txt", b"these are my cats\n");
    let png = png_bytes(5, 5);
    let broken = put(root, "dogs/broken.png", &png[..png.len() / 2]);
    let empty = put(root, "dogs/empty.png", b"");
    let outside = put(root, "README.md", b"# pets\n");
    // Hidden files and folders are ignored, not reported.
    put(root, "cats/.DS_Store", b"\0\0\0\x01Bud1");
    save_image(root, ".thumbnails/t.png", &grey_image(5, 5, 9));

    let (ds, report) = load_dir(root);
    assert_eq!(ds.len(), 3);
    assert_eq!(report.loaded, 3);
    assert_eq!(ds.class_names(), &["cats".to_string(), "dogs".to_string()]);
    assert_eq!(ds.labels(), Some(&[0u16, 0, 1][..]));
    let mut skipped: Vec<_> = report.skipped.iter().map(|(p, _)| p.clone()).collect();
    skipped.sort();
    let mut expected = vec![notes, broken, empty, outside.clone()];
    expected.sort();
    assert_eq!(skipped, expected, "{:?}", report.skipped);
    for (path, reason) in &report.skipped {
        assert!(!reason.is_empty(), "{} has no reason", path.display());
    }
    let (_, why) = report.skipped.iter().find(|(p, _)| *p == outside).unwrap();
    assert!(why.contains("outside the class folders"), "{why}");

    // Not fatal through load_dataset either.
    let ds = load_dataset(root, &LoadOptions::default()).expect("loads despite junk");
    assert_eq!(ds.len(), 3);
}

#[test]
fn mixed_sizes_resize_to_the_most_common_size() {
    let dir = tmp();
    for k in 0..3u8 {
        save_image(
            dir.path(),
            &format!("a/s{k}.png"),
            &patterned_grey(10, 7, k),
        );
    }
    save_image(dir.path(), "a/tall.png", &grey_image(12, 20, 77));
    save_image(dir.path(), "b/tiny.png", &grey_image(3, 3, 200));
    let (ds, report) = load_dir(dir.path());
    assert_eq!(
        ds.shape,
        ImageShape::new(7, 10, 1),
        "width 10, height 7 is most common"
    );
    assert_eq!(report.resized, 2);
    assert_eq!(report.loaded, 5);
    // Untouched images keep their pixels; a flat image stays flat when resized.
    assert_eq!(
        ds.image_bytes(0),
        patterned_grey(10, 7, 0).as_raw().as_slice()
    );
    assert!(ds.image_bytes(3).iter().all(|&b| b == 77));
    assert!(ds.image_bytes(4).iter().all(|&b| b == 200));

    // A tie goes to the smallest size, deterministically.
    let tie = tmp();
    save_image(tie.path(), "p.png", &grey_image(6, 6, 1));
    save_image(tie.path(), "q.png", &grey_image(6, 6, 1));
    save_image(tie.path(), "r.png", &grey_image(4, 4, 1));
    save_image(tie.path(), "s.png", &grey_image(4, 4, 1));
    let (ds, report) = load_dir(tie.path());
    assert_eq!(ds.shape, ImageShape::new(4, 4, 1));
    assert_eq!(report.resized, 2);
}

#[test]
fn explicit_size_is_honoured() {
    let dir = tmp();
    save_image(dir.path(), "a/x.png", &grey_image(10, 10, 50));
    save_image(dir.path(), "a/y.png", &grey_image(10, 10, 60));
    save_image(dir.path(), "b/z.png", &rgb_image(30, 8, [1, 2, 3]));
    let opts = ImageDirOptions {
        size: Some((16, 12)),
    };
    let (ds, report) = load_image_dir(dir.path(), &opts).expect("loads");
    assert_eq!(ds.shape, ImageShape::new(16, 12, 3), "height 16, width 12");
    assert_eq!(report.resized, 3);
    assert!(ds.image_bytes(0).iter().all(|&b| b == 50));
    assert!(ds.image_bytes(2).chunks(3).all(|p| p == [1, 2, 3]));

    // The same through load_dataset.
    let options = LoadOptions {
        image_size: Some((5, 9)),
        ..Default::default()
    };
    let ds = load_dataset(dir.path(), &options).expect("loads");
    assert_eq!(ds.shape, ImageShape::new(5, 9, 3));
    assert_eq!(ds.len(), 3);

    // Sizes out of range are refused with a typed error.
    for size in [(0, 5), (5, 0), (5000, 10)] {
        let err = load_dir_err(dir.path(), &ImageDirOptions { size: Some(size) });
        assert!(
            matches!(err, Error::InvalidArgument(_)),
            "{size:?}: {err:?}"
        );
    }
}

#[test]
fn labels_follow_sorted_subfolder_names() {
    let dir = tmp();
    // Created out of order; each class has its own fill value.
    write_image_folder(
        dir.path(),
        &[("zebra", 2, 30), ("apple", 3, 10), ("mango", 1, 20)],
        4,
        4,
    );
    // A nested folder belongs to its top-level class.
    save_image(dir.path(), "apple/more/deep.png", &grey_image(4, 4, 13));
    let (ds, _) = load_dir(dir.path());
    assert_eq!(
        ds.class_names(),
        &[
            "apple".to_string(),
            "mango".to_string(),
            "zebra".to_string()
        ]
    );
    assert_eq!(ds.len(), 7);
    let fill_to_class = |v: u8| match v {
        10..=13 => 0u16,
        20 => 1,
        30 | 31 => 2,
        other => panic!("unexpected fill {other}"),
    };
    for i in 0..ds.len() {
        let v = ds.image_bytes(i)[0];
        assert_eq!(ds.label(i), Some(fill_to_class(v)), "sample {i} (fill {v})");
    }
    assert_eq!(ds.labels().unwrap().iter().filter(|&&l| l == 0).count(), 4);
}

#[test]
fn flat_folder_is_unlabelled() {
    let dir = tmp();
    save_image(dir.path(), "b.png", &grey_image(3, 3, 2));
    save_image(dir.path(), "a.png", &grey_image(3, 3, 1));
    let (ds, report) = load_dir(dir.path());
    assert_eq!(ds.len(), 2);
    assert!(ds.labels().is_none());
    assert!(ds.class_names().is_empty());
    assert_eq!(ds.image_bytes(0)[0], 1, "sorted by file name");
    assert_eq!(report.loaded, 2);
}

#[test]
fn folder_of_only_junk_is_no_images_naming_the_folder() {
    let dir = tmp();
    let root = dir.path().join("junk");
    put(&root, "cats/notes.txt", b"no pictures here");
    let png = png_bytes(6, 6);
    put(&root, "dogs/cut.png", &png[..20]);
    let err = load_dir_err(&root, &ImageDirOptions::default());
    assert!(matches!(err, Error::NoImages { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&root.display().to_string()), "{msg}");
    assert!(msg.contains("2 files could not be decoded"), "{msg}");

    let err = load_dataset(&root, &LoadOptions::default()).expect_err("nothing to load");
    assert!(matches!(err, Error::NoImages { .. }), "{err:?}");
    assert!(err.to_string().contains(&root.display().to_string()));
}

#[test]
fn empty_folders_error() {
    let dir = tmp();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for err in [
        load_dir_err(&empty, &ImageDirOptions::default()),
        load_dataset(&empty, &LoadOptions::default()).expect_err("empty"),
    ] {
        assert!(matches!(err, Error::NoImages { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&empty.display().to_string()),
            "{err}"
        );
    }

    // Class folders with nothing in them.
    let classes = dir.path().join("classes");
    std::fs::create_dir_all(classes.join("a")).unwrap();
    std::fs::create_dir_all(classes.join("b")).unwrap();
    let err = load_dir_err(&classes, &ImageDirOptions::default());
    assert!(matches!(err, Error::NoImages { .. }), "{err:?}");

    // A folder that is not there.
    let missing = dir.path().join("missing");
    let err = load_dir_err(&missing, &ImageDirOptions::default());
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains(&missing.display().to_string()));
}

/// A folder of real MNIST digits as PNGs: every one is counted, and the progress ends at the
/// image count with the pixels as MNIST's own.
#[test]
fn progress_counts_every_image_of_a_full_load() {
    let dir = tmp();
    let root = write_mnist_pngs(&dir.path().join("digits"), 1500);
    let progress = LoadProgress::new();
    let ds = load_dataset_with_progress(&root, &LoadOptions::default(), &progress)
        .expect("the folder loads");
    assert_eq!(ds.len(), 1500);
    assert_eq!(ds.shape, ImageShape::new(28, 28, 1));
    assert_eq!(ds.class_names().len(), 10);
    let v = progress.view();
    assert_eq!(
        (v.stage, v.done, v.total),
        (LoadStage::Decoding, 1500, 1500)
    );
    // The first file in name order is the first "0" in MNIST's training set.
    let mnist = load_dataset(&mnist_dir(), &LoadOptions::default()).unwrap();
    let first_zero = (0..mnist.len())
        .find(|&i| mnist.label(i) == Some(0))
        .unwrap();
    assert_eq!(ds.image_bytes(0), mnist.image_bytes(first_zero));
    assert_eq!(ds.label(0), Some(0));
}

/// Cancelled part-way through decoding (at an exact image, from the loader's own progress
/// callback) or before it starts: the cancel error naming the folder, never a dataset.
#[test]
fn cancelling_a_folder_load_returns_the_cancel_error() {
    let dir = tmp();
    let root = write_mnist_pngs(&dir.path().join("digits"), 1500);
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen_in = seen.clone();
    let progress = LoadProgress::with_observer(move |p| {
        let v = p.view();
        if v.stage == LoadStage::Decoding {
            seen_in.fetch_max(v.done, std::sync::atomic::Ordering::AcqRel);
            if v.done >= 300 {
                p.cancel();
            }
        }
    });
    match load_dataset_with_progress(&root, &LoadOptions::default(), &progress) {
        Err(Error::Cancelled { path }) => assert_eq!(path, root),
        Err(e) => panic!("expected the cancel error, got {e}"),
        Ok(ds) => panic!("a cancelled load returned {}", ds.summary()),
    }
    // Each thread stops after the image in hand: far from all 1500 were decoded.
    let decoded = progress.done();
    assert!((300..1500).contains(&decoded), "{decoded} decoded");
    assert!(seen.load(std::sync::atomic::Ordering::Acquire) >= 300);
    let e = Error::Cancelled { path: root.clone() }.to_string();
    assert!(e.contains("cancelled") && e.contains("digits"), "{e}");

    // Cancelled before it starts: nothing is read.
    let early = LoadProgress::new();
    early.cancel();
    assert!(matches!(
        load_dataset_with_progress(&root, &LoadOptions::default(), &early),
        Err(Error::Cancelled { .. })
    ));
    assert_eq!(early.view().stage, LoadStage::Opening);
}

/// Small files are read once and decoded from memory, large ones from the file: both give
/// the same pixels, and a format known only by its extension (TGA) still opens from memory.
#[test]
fn small_and_large_files_decode_to_their_exact_pixels() {
    let dir = tmp();
    let root = dir.path().join("mixed");
    let mut state = 12345u32;
    let noise = image::GrayImage::from_fn(300, 300, |_, _| {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        image::Luma([(state >> 16) as u8])
    });
    let big = save_image(&root, "a/noise.png", &noise);
    assert!(
        std::fs::metadata(&big).unwrap().len() > 64 << 10,
        "kept on disk"
    );
    let flat = grey_image(300, 300, 77);
    let tga = save_image(&root, "b/flat.tga", &flat);
    assert!(
        std::fs::metadata(&tga).unwrap().len() < 64 << 10,
        "read whole"
    );
    let small = patterned_grey(300, 300, 5);
    save_image(&root, "b/pattern.png", &small);
    let (ds, report) = load_dir(&root);
    assert_eq!(report.skipped, Vec::new());
    assert_eq!(ds.len(), 3);
    assert_eq!(ds.image_bytes(0), noise.as_raw().as_slice());
    assert_eq!(ds.image_bytes(1), flat.as_raw().as_slice());
    assert_eq!(ds.image_bytes(2), small.as_raw().as_slice());
    assert_eq!(ds.labels(), Some(&[0u16, 1, 1][..]));
}
