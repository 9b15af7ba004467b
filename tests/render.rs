//! Pictures: sizes of single images, strips and grids, crisp scaling, colour, PNG files.

use latent_explorer::data::ImageShape;
use latent_explorer::render::{TILE_GAP, grid, save_png, strip, to_image};

#[test]
fn single_image_scaled_with_crisp_pixels() {
    let shape = ImageShape::new(2, 3, 1);
    let values = [0.0, 0.5, 1.0, 1.0, 0.25, 0.0];
    let img = to_image(&values, shape, 4).unwrap().to_luma8();
    assert_eq!(img.dimensions(), (12, 8));
    for y in 0..8 {
        for x in 0..12 {
            let src = values[(y / 4) * 3 + x / 4];
            assert_eq!(
                img.get_pixel(x as u32, y as u32).0[0],
                (src * 255.0f32).round() as u8
            );
        }
    }
}

#[test]
fn strips_and_grids_have_the_right_size() {
    let shape = ImageShape::new(28, 28, 1);
    let ten = vec![0.5f32; 10 * 784];
    let s = strip(&ten, shape, 2).unwrap();
    assert_eq!((s.width(), s.height()), (10 * 56 + 9 * TILE_GAP, 56));
    let g = grid(&ten, shape, 4, 1).unwrap();
    // 10 tiles in rows of 4: 3 rows.
    assert_eq!(
        (g.width(), g.height()),
        (4 * 28 + 3 * TILE_GAP, 3 * 28 + 2 * TILE_GAP)
    );
    assert!(grid(&ten[..100], shape, 4, 1).is_err(), "not a whole image");
    assert!(grid(&ten, shape, 4, 0).is_err(), "scale 0");
}

#[test]
fn colour_images_stay_colour_and_values_are_clamped() {
    let shape = ImageShape::new(1, 2, 3);
    let values = [1.0, 0.0, 0.0, 0.0, 2.0, -1.0];
    let img = to_image(&values, shape, 1).unwrap().to_rgb8();
    assert_eq!(img.get_pixel(0, 0).0, [255, 0, 0]);
    assert_eq!(img.get_pixel(1, 0).0, [0, 255, 0]);
}

#[test]
fn png_files_are_written_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grid.png");
    let shape = ImageShape::new(28, 28, 1);
    let values: Vec<f32> = (0..4 * 784).map(|i| (i % 784) as f32 / 784.0).collect();
    save_png(&grid(&values, shape, 2, 3).unwrap(), &path).unwrap();
    let back = image::open(&path).unwrap().to_luma8();
    assert_eq!(back.dimensions(), (2 * 84 + TILE_GAP, 2 * 84 + TILE_GAP));
    assert_eq!(back.get_pixel(0, 0).0[0], 0);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left"
    );
    let bad = dir.path().join("nope").join("x.png");
    let e = save_png(&grid(&values, shape, 2, 1).unwrap(), &bad)
        .err()
        .unwrap();
    assert!(e.to_string().contains("nope"), "{e}");
    assert!(!bad.exists());
}
