//! Latent traversals on the bundled latent-16 MNIST model with real MNIST codes: the grid's
//! size, rows ordered by KL with inactive dimensions hidden, ranges from the codes, the held
//! start code, decoding, the labelled PNG and the GIF's frames.

mod common;

use image::AnimationDecoder;
use latent_explorer::data::{LoadOptions, Split, load_dataset};
use latent_explorer::latent::{
    DimSelection, Direction, TraversalRange, TraversalSpec, plan_traversal, traverse,
};
use latent_explorer::model::{ACTIVE_KL_THRESHOLD, Codes, Model};
use std::path::Path;
use std::sync::OnceLock;

fn model() -> Model {
    Model::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models/mnist-latent16.safetensors"))
        .unwrap()
}

/// The latent-16 model's codes of MNIST's 10,000 test images (encoded once).
fn codes() -> &'static Codes {
    static CODES: OnceLock<Codes> = OnceLock::new();
    CODES.get_or_init(|| {
        let data = load_dataset(&common::mnist_dir(), &LoadOptions::default()).unwrap();
        model().encode(&data, &data.indices(Split::Test)).unwrap()
    })
}

fn axis(d: &Direction) -> usize {
    match d {
        Direction::Axis(d) => *d,
        Direction::Principal(k) => panic!("expected a latent axis, got principal direction {k}"),
    }
}

/// Dimensions collapsed in the model of the hiding test.
const COLLAPSED: [usize; 3] = [2, 9, 13];

#[test]
fn rows_are_the_active_dimensions_by_kl_and_the_grid_has_rows_x_steps_images() {
    // The bundled model uses all 16 dimensions (each above 0.9 nats): nothing to hide.
    let kl = codes().kl_per_dim();
    assert!(kl.iter().all(|&k| k > ACTIVE_KL_THRESHOLD), "{kl:?}");
    let spec = TraversalSpec {
        steps: 7,
        dims: DimSelection::Active,
        order_by_kl: true,
        ..Default::default()
    };
    assert_eq!(
        plan_traversal(&spec, 16, Some(codes())).unwrap().rows.len(),
        16
    );

    // Three dimensions collapsed onto the prior: they are the ones hidden.
    let m = common::latent16_with_collapsed(&COLLAPSED);
    let data = load_dataset(&common::mnist_dir(), &LoadOptions::default()).unwrap();
    let collapsed_codes = m.encode(&data, &data.indices(Split::Test)).unwrap();
    let kl = collapsed_codes.kl_per_dim();
    let active: Vec<usize> = (0..16).filter(|d| !COLLAPSED.contains(d)).collect();
    for d in 0..16 {
        assert_eq!(
            kl[d] > ACTIVE_KL_THRESHOLD,
            active.contains(&d),
            "KL {kl:?}"
        );
    }
    let grid = traverse(&m, &spec, Some(&collapsed_codes)).unwrap();
    assert_eq!(grid.rows(), 13);
    assert_eq!(grid.columns(), 7);
    assert_eq!(grid.images.len(), 13 * 7 * 784);
    let dims: Vec<usize> = grid.plan.rows.iter().map(|r| axis(&r.direction)).collect();
    let kls: Vec<f32> = grid.plan.rows.iter().map(|r| r.kl.unwrap()).collect();
    assert!(
        kls.windows(2).all(|w| w[0] >= w[1]),
        "rows not ordered by KL: {kls:?}"
    );
    for (d, k) in dims.iter().zip(&kls) {
        assert_eq!(*k, kl[*d]);
    }
    let mut shown = dims.clone();
    shown.sort();
    assert_eq!(shown, active, "the rows are exactly the active dimensions");

    // All dimensions: 16 rows, still by KL, the collapsed ones last.
    let all = plan_traversal(
        &TraversalSpec {
            dims: DimSelection::All,
            ..spec.clone()
        },
        16,
        Some(&collapsed_codes),
    )
    .unwrap();
    assert_eq!(all.rows.len(), 16);
    let mut last: Vec<usize> = all.rows[13..].iter().map(|r| axis(&r.direction)).collect();
    last.sort();
    assert_eq!(last, COLLAPSED);

    // Each tile is the decoder's picture of its code: z[d] set to the column's value.
    let codes_flat = grid.plan.codes();
    let (r, c) = (1, 6);
    let code = &codes_flat[(r * 7 + c) * 16..(r * 7 + c + 1) * 16];
    for (k, v) in code.iter().enumerate() {
        let want = if k == dims[r] { 3.0 } else { 0.0 };
        assert_eq!(*v, want, "dimension {k} of tile ({r}, {c})");
    }
    let decoded = m.decode(code).unwrap();
    let tile = grid.image(r, c).unwrap();
    let diff = decoded
        .iter()
        .zip(tile)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(diff < 1e-5, "tile differs from its decoded code by {diff}");
}

#[test]
fn ranges_from_the_codes_follow_their_spread_and_extremes() {
    let c = codes();
    let n = c.len() as f64;
    let spec = TraversalSpec {
        range: TraversalRange::Spread,
        sigmas: 2.0,
        steps: 5,
        dims: DimSelection::List(vec![3]),
        order_by_kl: false,
        ..Default::default()
    };
    let plan = plan_traversal(&spec, 16, Some(c)).unwrap();
    let values = &plan.rows[0].values;
    let means: Vec<f64> = (0..c.len()).map(|i| c.mean_of(i)[3] as f64).collect();
    let mean = means.iter().sum::<f64>() / n;
    let var_means = means.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / n;
    let post_var = (0..c.len())
        .map(|i| (c.logvar[i * 16 + 3] as f64).exp())
        .sum::<f64>()
        / n;
    let sd = (var_means + post_var).sqrt();
    assert!((values[2] as f64 - mean).abs() < 1e-4, "centre {values:?}");
    assert!((values[4] as f64 - (mean + 2.0 * sd)).abs() < 1e-3);
    assert_eq!(plan.column_labels[0], "-2.0\u{3c3}");

    let minmax = plan_traversal(
        &TraversalSpec {
            range: TraversalRange::MinMax,
            ..spec
        },
        16,
        Some(c),
    )
    .unwrap();
    let lo = means.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = means.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert!((minmax.rows[0].values[0] as f64 - lo).abs() < 1e-5);
    assert!((minmax.rows[0].values[4] as f64 - hi).abs() < 1e-5);
    assert_eq!(minmax.column_labels, ["min", "25%", "50%", "75%", "max"]);
}

#[test]
fn a_start_code_is_held_and_principal_rows_follow_the_variance() {
    let c = codes();
    let start = c.mean_of(0).to_vec();
    let plan = plan_traversal(
        &TraversalSpec {
            steps: 3,
            start: Some(start.clone()),
            ..Default::default()
        },
        16,
        Some(c),
    )
    .unwrap();
    let flat = plan.codes();
    for (r, row) in plan.rows.iter().enumerate() {
        let d = axis(&row.direction);
        for col in 0..3 {
            let code = &flat[(r * 3 + col) * 16..(r * 3 + col + 1) * 16];
            for k in 0..16 {
                let want = if k == d { row.values[col] } else { start[k] };
                assert_eq!(code[k], want);
            }
        }
    }

    let pca = plan_traversal(
        &TraversalSpec {
            principal: true,
            dims: DimSelection::All,
            ..Default::default()
        },
        16,
        Some(c),
    )
    .unwrap();
    assert_eq!(pca.rows.len(), 16);
    let explained: Vec<f32> = pca.rows.iter().map(|r| r.explained.unwrap()).collect();
    assert!(explained.windows(2).all(|w| w[0] >= w[1]));
    // Along a principal direction from the prior's centre, each code's projection onto the
    // direction is the column's value.
    let flat = pca.codes();
    let steps = pca.steps();
    let first = &flat[..16];
    let last = &flat[(steps - 1) * 16..steps * 16];
    let norm: f32 = first
        .iter()
        .zip(last)
        .map(|(a, b)| (b - a).powi(2))
        .sum::<f32>()
        .sqrt();
    assert!(
        (norm - 6.0).abs() < 1e-4,
        "a sweep of -3..3 along a unit direction: {norm}"
    );
    let active = c
        .kl_per_dim()
        .iter()
        .filter(|&&k| k > ACTIVE_KL_THRESHOLD)
        .count();
    let pca_active = plan_traversal(
        &TraversalSpec {
            principal: true,
            dims: DimSelection::Active,
            ..Default::default()
        },
        16,
        Some(c),
    )
    .unwrap();
    assert_eq!(pca_active.rows.len(), active);
}

#[test]
fn the_gif_sweeps_each_row_forward_and_back_and_the_png_is_labelled() {
    let m = model();
    let spec = TraversalSpec {
        steps: 5,
        dims: DimSelection::List(vec![0, 4, 9]),
        order_by_kl: false,
        ..Default::default()
    };
    let grid = traverse(&m, &spec, None).unwrap();
    assert_eq!((grid.rows(), grid.columns()), (3, 5));
    let dir = tempfile::tempdir().unwrap();
    let gif = dir.path().join("t.gif");
    grid.save_gif(&gif, 2, 100).unwrap();
    let decoder = image::codecs::gif::GifDecoder::new(std::io::BufReader::new(
        std::fs::File::open(&gif).unwrap(),
    ))
    .unwrap();
    let frames = decoder.into_frames().collect_frames().unwrap();
    // Forward 5 values, back through the 3 inside ones: 8 frames a row.
    assert_eq!(frames.len(), 3 * (2 * 5 - 2));
    assert_eq!(grid.frame_order().len(), frames.len());
    let size = frames[0].buffer().dimensions();
    assert!(frames.iter().all(|f| f.buffer().dimensions() == size));
    assert!(size.0 >= 56 && size.1 > 56, "frames of {size:?}");
    // The frame of row 0 at the last value shows that tile (grey levels kept exactly).
    let tile = grid.image(0, 4).unwrap();
    let f = frames[4].buffer();
    let x0 = (size.0 - 56) / 2;
    let (px, py) = (x0 + 2 * 14, 2 * 14);
    let want = (tile[14 * 28 + 14].clamp(0.0, 1.0) * 255.0).round() as u8;
    assert_eq!(f.get_pixel(px, py)[0], want);

    let png = dir.path().join("t.png");
    grid.save_png(&png, 2).unwrap();
    let picture = image::open(&png).unwrap();
    let inner = latent_explorer::render::grid(&grid.images, grid.shape, 5, 2).unwrap();
    assert!(picture.width() > inner.width() && picture.height() > inner.height());
}
