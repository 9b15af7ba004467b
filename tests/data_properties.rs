//! Property tests of the CSV reader and the pixel-scale rule: for any small dataset, written
//! the ways spreadsheets and numpy write it, the pixels and labels read back are the ones
//! written, and the same values scale the same way from CSV and from numpy.

mod common;
use latent_explorer::data::{Dataset, LabelColumn, LoadOptions, load_dataset};
use latent_explorer::npy::{npy_f32, npy_i64};
use proptest::prelude::*;
use std::path::Path;

fn all_pixels(ds: &Dataset) -> Vec<u8> {
    (0..ds.len())
        .flat_map(|i| ds.image_bytes(i).to_vec())
        .collect()
}

/// How a CSV is written: a header row, a byte-order mark, CRLF line ends, quoted fields, the
/// label first or last, gzip.
#[derive(Clone, Debug)]
struct Dialect {
    header: bool,
    bom: bool,
    crlf: bool,
    quoted: bool,
    label_last: bool,
    gz: bool,
}

fn dialect() -> impl Strategy<Value = Dialect> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(header, bom, crlf, quoted, label_last, gz)| Dialect {
            header,
            bom,
            crlf,
            quoted,
            label_last,
            gz,
        })
}

fn csv_text(d: &Dialect, pixels: &[u8], labels: &[u16], per_image: usize) -> String {
    let end = if d.crlf { "\r\n" } else { "\n" };
    let field = |s: String| if d.quoted { format!("\"{s}\"") } else { s };
    let mut text = String::new();
    if d.bom {
        text.push('\u{feff}');
    }
    let arrange = |label: String, mut cells: Vec<String>| {
        if d.label_last {
            cells.push(label);
        } else {
            cells.insert(0, label);
        }
        cells.join(",")
    };
    if d.header {
        let names = (0..per_image).map(|k| field(format!("pixel{k}"))).collect();
        text.push_str(&arrange(field("label".into()), names));
        text.push_str(end);
    }
    for (i, l) in labels.iter().enumerate() {
        let cells = pixels[i * per_image..(i + 1) * per_image]
            .iter()
            .map(|v| field(v.to_string()))
            .collect();
        text.push_str(&arrange(field(l.to_string()), cells));
        text.push_str(end);
    }
    text
}

/// `n` images of `side` x `side` bytes, one pixel 255 so the scale is 0..255 whatever the
/// rest holds, and labels over at least two classes.
fn images() -> impl Strategy<Value = (usize, Vec<u8>, Vec<u16>)> {
    (2usize..6, 2usize..24).prop_flat_map(|(side, n)| {
        (
            Just(side),
            proptest::collection::vec(any::<u8>(), n * side * side),
            proptest::collection::vec(0u16..10, n),
        )
            .prop_map(|(side, mut px, mut labels)| {
                px[0] = 255;
                labels[0] = 0;
                labels[1] = 1;
                (side, px, labels)
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn a_csv_reads_back_the_pixels_and_labels_written((side, px, labels) in images(), d in dialect()) {
        let dir = tempfile::tempdir().unwrap();
        let text = csv_text(&d, &px, &labels, side * side);
        let path = common::write_file(dir.path(), "data.csv", text.as_bytes(), d.gz);
        // With a header the label column is found by name; without, the user says which.
        let label_column = match (d.header, d.label_last) {
            (true, _) => LabelColumn::Auto,
            (false, true) => LabelColumn::Last,
            (false, false) => LabelColumn::First,
        };
        let options = LoadOptions { label_column, ..Default::default() };
        let ds = load_dataset(&path, &options)
            .map_err(|e| TestCaseError::fail(format!("{d:?}: {e}")))?;
        prop_assert_eq!(ds.len(), labels.len());
        prop_assert_eq!((ds.shape.height, ds.shape.width), (side, side));
        prop_assert_eq!(all_pixels(&ds), px);
        prop_assert_eq!(ds.labels().unwrap(), &labels[..]);
        prop_assert_eq!(ds.report().clamped, 0);
    }

    #[test]
    fn small_integers_scale_alike_from_csv_and_numpy(
        values in proptest::collection::vec(0i64..=16, 32),
        top in 2i64..=16,
    ) {
        // Two 4x4 images of whole numbers up to `top` (reached once).
        let mut values = values;
        for v in values.iter_mut() {
            *v = (*v).min(top);
        }
        values[5] = top;
        let dir = tempfile::tempdir().unwrap();
        let npy = dir.path().join("x.npy");
        std::fs::write(&npy, npy_i64(&[2, 4, 4], &values).unwrap()).unwrap();
        let rows: Vec<String> = values
            .chunks(16)
            .map(|r| r.iter().map(i64::to_string).collect::<Vec<_>>().join(","))
            .collect();
        let csv = dir.path().join("x.csv");
        std::fs::write(&csv, rows.join("\n") + "\n").unwrap();
        let options = LoadOptions { label_column: LabelColumn::None, ..Default::default() };
        let from_npy = load_dataset(&npy, &options).unwrap();
        let from_csv = load_dataset(&csv, &options).unwrap();
        prop_assert_eq!(all_pixels(&from_npy), all_pixels(&from_csv));
        // The rule: largest 1 is 0/1 data, up to 16 is 0..16 data.
        let white = if top <= 1 { 1.0 } else { 16.0 };
        let expected: Vec<u8> =
            values.iter().map(|&v| (v as f64 * 255.0 / white).round() as u8).collect();
        prop_assert_eq!(all_pixels(&from_npy), expected);
    }

    #[test]
    fn floats_a_little_above_one_stay_unit_data_and_are_counted(
        values in proptest::collection::vec(0.0f32..=1.0, 32),
        over in proptest::collection::vec((0usize..32, 0.0f32..0.1), 0..5),
    ) {
        let mut values = values;
        values[0] = 0.5; // never all whole numbers
        for &(i, dv) in &over {
            values[i] = 1.0 + dv;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.npy");
        std::fs::write(&path, npy_f32(&[2, 4, 4], &values).unwrap()).unwrap();
        let ds = load_dataset(Path::new(&path), &LoadOptions::default()).unwrap();
        let expected: Vec<u8> = values
            .iter()
            .map(|&v| (v.clamp(0.0, 1.0) as f64 * 255.0).round() as u8)
            .collect();
        prop_assert_eq!(all_pixels(&ds), expected);
        let outside = values.iter().filter(|&&v| v > 1.0).count();
        prop_assert_eq!(ds.report().clamped, outside);
    }
}
