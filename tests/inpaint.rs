//! Missing data on real MNIST: filling a hidden half of test digits beats filling it with the
//! dataset's mean image; masks are what they say; the `inpaint` command.

use latent_explorer::analysis::{MaskKind, inpaint, make_mask};
use latent_explorer::data::{ImageShape, LoadOptions, Split, load_dataset};
use latent_explorer::model::Model;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn masks_hide_what_they_say() {
    let shape = ImageShape::new(4, 6, 1);
    let hidden = |m: &[bool]| m.iter().filter(|o| !**o).count();
    let left = make_mask(MaskKind::LeftHalf, shape);
    assert_eq!(hidden(&left), 12);
    assert!(!left[0] && left[5], "column 0 hidden, column 5 seen");
    assert_eq!(hidden(&make_mask(MaskKind::BottomHalf, shape)), 12);
    let rect = make_mask(
        MaskKind::Rect {
            top: 1,
            left: 2,
            height: 2,
            width: 3,
        },
        shape,
    );
    assert_eq!(hidden(&rect), 6);
    assert!(!rect[6 + 2] && rect[6 + 1]);
    assert_eq!(hidden(&make_mask("random:0.5".parse().unwrap(), shape)), 12);
    // Colour: every channel of a hidden pixel is hidden.
    let rgb = make_mask(MaskKind::TopHalf, ImageShape::new(2, 2, 3));
    assert_eq!(
        rgb,
        vec![
            false, false, false, false, false, false, true, true, true, true, true, true
        ]
    );
    assert!("random:2".parse::<MaskKind>().is_err());
    assert!("middle".parse::<MaskKind>().is_err());
}

#[test]
fn filling_a_hidden_half_beats_the_mean_image() {
    let data = load_dataset(&root().join("assets/mnist"), &LoadOptions::default()).unwrap();
    let model = Model::load(&root().join("models/mnist-latent16.safetensors")).unwrap();
    let mean = data.mean_image(&data.indices(Split::Train));
    for kind in [
        MaskKind::BottomHalf,
        MaskKind::RightHalf,
        MaskKind::Random {
            fraction: 0.6,
            seed: 3,
        },
    ] {
        let mask = make_mask(kind, data.shape);
        let (mut filled_err, mut mean_err, mut n) = (0f64, 0f64, 0usize);
        let (mut filled_sq, mut mean_sq) = (0f64, 0f64);
        for &i in data.indices(Split::Test).iter().take(200) {
            let image = data.image(i);
            let out = inpaint(&model, &image, &mask, &mean, 20, None).unwrap();
            assert_eq!(out.path.len(), 20);
            for (k, &seen) in mask.iter().enumerate() {
                if seen {
                    assert_eq!(
                        out.completion[k], image[k],
                        "observed pixels are held fixed"
                    );
                } else {
                    filled_err += ((out.completion[k] - image[k]) as f64).abs();
                    mean_err += ((mean[k] - image[k]) as f64).abs();
                    filled_sq += ((out.completion[k] - image[k]) as f64).powi(2);
                    mean_sq += ((mean[k] - image[k]) as f64).powi(2);
                    n += 1;
                }
            }
        }
        let (filled, baseline) = (filled_err / n as f64, mean_err / n as f64);
        println!(
            "{kind:?}: hidden pixels, mean absolute error {filled:.4} (mean image {baseline:.4}), squared {:.4} (mean image {:.4})",
            filled_sq / n as f64,
            mean_sq / n as f64
        );
        assert!(
            filled < baseline * 0.85,
            "{kind:?}: {filled:.4} vs mean image {baseline:.4}"
        );
    }
}

#[test]
fn the_inpaint_command_writes_original_masked_and_completed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("filled.png");
    let model = root().join("models/mnist-latent16.safetensors");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_latent-explorer"))
        .args([
            "inpaint",
            "--model",
            model.to_str().unwrap(),
            "--indices",
            "60000,60001",
            "--hide",
            "left",
            "--scale",
            "1",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let img = image::open(&out).unwrap();
    assert_eq!((img.width(), img.height()), (3 * 28 + 2 * 2, 2 * 28 + 2));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("mean absolute error on the hidden pixels")
    );
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_latent-explorer"))
        .args([
            "inpaint",
            "--hide",
            "middle",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
