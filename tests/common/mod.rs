//! Helpers shared by the integration tests: where the bundled MNIST lives, and writers for
//! small IDX files and image folders in temp dirs. Every generated pixel and label follows a
//! known formula so tests can check loaded values exactly.

#![allow(dead_code)]

use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;
use std::path::{Path, PathBuf};

/// IDX magic of u8 images with 3 dims (n, rows, cols).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// IDX magic of u8 images with 4 dims (n, rows, cols, channels).
pub const IMAGES4_MAGIC: u32 = 0x0000_0804;
/// IDX magic of u8 labels.
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// IDX magic of i32 labels.
pub const LABELS_I32_MAGIC: u32 = 0x0000_0C01;

/// The bundled MNIST folder.
pub fn mnist_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/mnist")
}

/// Pixel `(r, c)` (channel `ch`) of generated image `i`: a pattern that differs between
/// images, rows, columns and channels.
pub fn pixel(i: usize, r: usize, c: usize, ch: usize) -> u8 {
    ((i * 37 + r * 11 + c * 5 + ch * 101) % 256) as u8
}

/// Label of generated sample `i` with `classes` classes.
pub fn label(i: usize, classes: usize) -> u8 {
    ((i * 7 + 3) % classes) as u8
}

/// The bytes of generated image `i` (H x W x C, row-major), as a loader should return them.
pub fn image_pixels(i: usize, rows: usize, cols: usize, channels: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows * cols * channels);
    for r in 0..rows {
        for c in 0..cols {
            for ch in 0..channels {
                out.push(pixel(i, r, c, ch));
            }
        }
    }
    out
}

/// An IDX header: magic then big-endian dims.
pub fn idx_header(magic: u32, dims: &[u32]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out
}

/// A complete u8 IDX images file of `n` generated grey images.
pub fn idx_images(n: usize, rows: usize, cols: usize) -> Vec<u8> {
    let mut out = idx_header(IMAGES_MAGIC, &[n as u32, rows as u32, cols as u32]);
    for i in 0..n {
        out.extend(image_pixels(i, rows, cols, 1));
    }
    out
}

/// A complete 4-dim u8 IDX images file of `n` generated images with `channels` channels.
pub fn idx_images4(n: usize, rows: usize, cols: usize, channels: usize) -> Vec<u8> {
    let dims = [n as u32, rows as u32, cols as u32, channels as u32];
    let mut out = idx_header(IMAGES4_MAGIC, &dims);
    for i in 0..n {
        out.extend(image_pixels(i, rows, cols, channels));
    }
    out
}

/// A u8 IDX labels file holding exactly `labels`.
pub fn idx_labels_from(labels: &[u8]) -> Vec<u8> {
    let mut out = idx_header(LABELS_MAGIC, &[labels.len() as u32]);
    out.extend_from_slice(labels);
    out
}

/// A u8 IDX labels file of `n` generated labels.
pub fn idx_labels(n: usize, classes: usize) -> Vec<u8> {
    let labels: Vec<u8> = (0..n).map(|i| label(i, classes)).collect();
    idx_labels_from(&labels)
}

/// An i32 IDX labels file (magic 0x00000C01) holding exactly `labels`.
pub fn idx_labels_i32(labels: &[i32]) -> Vec<u8> {
    let mut out = idx_header(LABELS_I32_MAGIC, &[labels.len() as u32]);
    for l in labels {
        out.extend_from_slice(&l.to_be_bytes());
    }
    out
}

/// Gzip-compresses `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).expect("gzip in memory");
    enc.finish().expect("gzip in memory")
}

/// Writes `bytes` to `dir/name`, gzip-compressed (and ".gz" appended to the name) when `gz`.
pub fn write_file(dir: &Path, name: &str, bytes: &[u8], gz: bool) -> PathBuf {
    let (path, data) = if gz {
        (dir.join(format!("{name}.gz")), gzip(bytes))
    } else {
        (dir.join(name), bytes.to_vec())
    };
    std::fs::write(&path, data).expect("write test file");
    path
}

/// Writes an MNIST-style pair `{prefix}-images-idx3-ubyte` and `{prefix}-labels-idx1-ubyte`
/// (".gz" added when `gz`) of `n` generated images and labels. Returns (images, labels).
pub fn write_idx_pair(
    dir: &Path,
    prefix: &str,
    n: usize,
    rows: usize,
    cols: usize,
    classes: usize,
    gz: bool,
) -> (PathBuf, PathBuf) {
    let images = write_file(
        dir,
        &format!("{prefix}-images-idx3-ubyte"),
        &idx_images(n, rows, cols),
        gz,
    );
    let labels = write_file(
        dir,
        &format!("{prefix}-labels-idx1-ubyte"),
        &idx_labels(n, classes),
        gz,
    );
    (images, labels)
}

/// A folder `dir/name` with an MNIST-style train pair of `n_train` and t10k pair of `n_test`
/// generated images of `rows` x `cols` and 10 classes (raw files). Returns the folder.
pub fn write_idx_dataset(
    dir: &Path,
    name: &str,
    n_train: usize,
    n_test: usize,
    rows: usize,
    cols: usize,
) -> PathBuf {
    let folder = dir.join(name);
    std::fs::create_dir_all(&folder).expect("create dataset folder");
    write_idx_pair(&folder, "train", n_train, rows, cols, 10, false);
    write_idx_pair(&folder, "t10k", n_test, rows, cols, 10, false);
    folder
}

/// A grey `width` x `height` image whose every pixel is `value`.
pub fn grey_image(width: u32, height: u32, value: u8) -> image::GrayImage {
    image::GrayImage::from_pixel(width, height, image::Luma([value]))
}

/// A `width` x `height` colour image whose every pixel is `rgb`.
pub fn rgb_image(width: u32, height: u32, rgb: [u8; 3]) -> image::RgbImage {
    image::RgbImage::from_pixel(width, height, image::Rgb(rgb))
}

/// A grey image with a per-pixel pattern (so exact values can be checked after loading).
pub fn patterned_grey(width: u32, height: u32, seed: u8) -> image::GrayImage {
    image::GrayImage::from_fn(width, height, |x, y| {
        image::Luma([(x * 13 + y * 29 + seed as u32 * 7) as u8])
    })
}

/// Saves `img` at `dir/rel` (creating folders), in the format the extension names.
pub fn save_image<P, C>(dir: &Path, rel: &str, img: &image::ImageBuffer<P, C>) -> PathBuf
where
    P: image::Pixel + image::PixelWithColorType,
    [P::Subpixel]: image::EncodableLayout,
    C: std::ops::Deref<Target = [P::Subpixel]>,
{
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().expect("has parent")).expect("create folder");
    img.save(&path).expect("save test image");
    path
}

/// An image folder with class subfolders: for each `(class, count, value)` writes `count`
/// grey `width` x `height` PNGs filled with `value + k` into `dir/class/`. Returns `dir`.
pub fn write_image_folder(
    dir: &Path,
    classes: &[(&str, usize, u8)],
    width: u32,
    height: u32,
) -> PathBuf {
    for &(class, count, value) in classes {
        for k in 0..count {
            let img = grey_image(width, height, value.wrapping_add(k as u8));
            save_image(dir, &format!("{class}/img{k:03}.png"), &img);
        }
    }
    dir.to_path_buf()
}

/// PNG bytes of a small grey image (for files that must look like a real picture).
pub fn png_bytes(width: u32, height: u32) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(patterned_grey(width, height, 1))
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

/// The colours of [`write_colour_shapes`]' classes, in channel order R, G, B.
pub const SHAPE_COLOURS: [&str; 3] = ["red", "green", "blue"];

/// A folder of 32x32 RGB PNGs: red, green and blue circles and squares of varying size, place
/// and shade on a noisy grey background (so, like natural images, few values are near 0 or
/// 1), `per_class` of each, in class folders such as `red-circle`. Returns the folder.
pub fn write_colour_shapes(dir: &Path, per_class: usize) -> PathBuf {
    let mut state = 0x2545_f491_u64;
    let mut rand = move |n: u32| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) % n as u64) as u32
    };
    for (c, colour) in SHAPE_COLOURS.iter().enumerate() {
        for shape in ["circle", "square"] {
            for k in 0..per_class {
                let (cx, cy) = (11 + rand(10) as i32, 11 + rand(10) as i32);
                let size = 6 + rand(4) as i32;
                let bright = 170 + rand(50) as u8;
                let img = image::RgbImage::from_fn(32, 32, |x, y| {
                    let (dx, dy) = (x as i32 - cx, y as i32 - cy);
                    let inside = match shape {
                        "circle" => dx * dx + dy * dy <= size * size,
                        _ => dx.abs() <= size && dy.abs() <= size,
                    };
                    if inside {
                        let mut px = [0u8; 3];
                        for (ch, v) in px.iter_mut().enumerate() {
                            *v = if ch == c {
                                bright + rand(10) as u8
                            } else {
                                40 + rand(30) as u8
                            };
                        }
                        image::Rgb(px)
                    } else {
                        let g = 100 + rand(50) as u8;
                        image::Rgb([g, g + rand(6) as u8, g + rand(6) as u8])
                    }
                });
                save_image(dir, &format!("{colour}-{shape}/{k:03}.png"), &img);
            }
        }
    }
    dir.to_path_buf()
}

/// The bundled latent-16 MNIST model with latent dimensions `dims` collapsed onto the prior:
/// their encoder rows zeroed, so q(z_d|x) = N(0, 1) for every x and their KL is exactly 0 (a
/// model whose posterior collapsed there; the bundled one uses all 16).
pub fn latent16_with_collapsed(dims: &[usize]) -> latent_explorer::model::Model {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/mnist-latent16.safetensors");
    let model = latent_explorer::model::Model::load(&path).unwrap();
    for (name, var) in model.vars() {
        if !name.starts_with("encoder.mean.") && !name.starts_with("encoder.logvar.") {
            continue;
        }
        let t = var.as_tensor();
        let shape = t.dims().to_vec();
        let width = if shape.len() == 2 { shape[1] } else { 1 };
        let mut values: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
        for &d in dims {
            values[d * width..(d + 1) * width].fill(0.0);
        }
        let new = candle_core::Tensor::from_vec(values, shape, t.device()).unwrap();
        var.set(&new).unwrap();
    }
    model
}

/// Writes the first `n` MNIST training images as 28x28 grey PNGs in class folders
/// (`dir/<digit>/<index>.png`), as a user's image folder would hold them. Returns `dir`.
pub fn write_mnist_pngs(dir: &Path, n: usize) -> PathBuf {
    use rayon::prelude::*;
    let mnist = latent_explorer::data::load_dataset(
        &mnist_dir().join("train-images-idx3-ubyte.gz"),
        &Default::default(),
    )
    .expect("bundled MNIST");
    assert!(
        n <= mnist.len(),
        "MNIST has {} training images",
        mnist.len()
    );
    for class in mnist.class_names() {
        std::fs::create_dir_all(dir.join(class)).expect("class folder");
    }
    (0..n).into_par_iter().for_each(|i| {
        let class = mnist.class_name(i).expect("MNIST is labelled");
        let img =
            image::GrayImage::from_raw(28, 28, mnist.image_bytes(i).to_vec()).expect("28x28 bytes");
        img.save(dir.join(class).join(format!("{i:05}.png")))
            .expect("write PNG");
    });
    dir.to_path_buf()
}
