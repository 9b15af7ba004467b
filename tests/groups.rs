//! Lasso selection and named groups on real MNIST codes: a lasso around a class's cluster
//! takes exactly the points a plain point-in-polygon test finds (and fast, on all 70,000), a
//! group exported as NumPy reads back the same (with the project's reader, and with numpy
//! when python3 has it), and the attribute vector between two label groups is the difference
//! of the class means.

mod common;

use latent_explorer::data::{Dataset, LoadOptions, load_dataset};
use latent_explorer::latent::{
    Group, attribute_vector, codes_at, group_csv, group_numpy_files, group_picture, group_stats,
    indices_path, labels_path, point_in_polygon, select_in_polygon,
};
use latent_explorer::model::{Codes, Model};
use latent_explorer::npy::{Values, read_npy};
use std::path::Path;
use std::sync::OnceLock;
use std::time::Instant;

fn model(name: &str) -> Model {
    Model::load(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("models")
            .join(name),
    )
    .unwrap()
}

fn mnist() -> &'static Dataset {
    static DATA: OnceLock<Dataset> = OnceLock::new();
    DATA.get_or_init(|| load_dataset(&common::mnist_dir(), &LoadOptions::default()).unwrap())
}

/// All 70,000 MNIST samples encoded by a bundled model (row k is sample k).
fn codes(name: &'static str) -> &'static Codes {
    static LATENT2: OnceLock<Codes> = OnceLock::new();
    static LATENT16: OnceLock<Codes> = OnceLock::new();
    let cell = if name.contains("latent2.") {
        &LATENT2
    } else {
        &LATENT16
    };
    cell.get_or_init(|| {
        let data = mnist();
        let all: Vec<usize> = (0..data.len()).collect();
        model(name).encode(data, &all).unwrap()
    })
}

/// A jagged hand-drawn-like lasso of `n` vertices around `centre`, radius wobbling around `r`.
fn lasso(centre: [f64; 2], r: f64, n: usize) -> Vec<[f64; 2]> {
    (0..n)
        .map(|k| {
            let t = k as f64 / n as f64 * std::f64::consts::TAU;
            let wobble = 1.0 + 0.25 * (5.0 * t).sin() + 0.1 * ((k * 7919 % 13) as f64 / 13.0 - 0.5);
            [
                centre[0] + r * wobble * t.cos(),
                centre[1] + r * wobble * t.sin(),
            ]
        })
        .collect()
}

#[test]
fn a_lasso_around_a_cluster_takes_exactly_the_points_inside_and_is_fast() {
    let data = mnist();
    let c = codes("mnist-latent2.safetensors");
    // At latent 2 the map is the codes themselves.
    let coords: Vec<[f64; 2]> = (0..c.len())
        .map(|k| [c.mean_of(k)[0] as f64, c.mean_of(k)[1] as f64])
        .collect();
    assert_eq!(coords.len(), 70_000);
    // The ones' cluster: around the median of their codes, radius the median distance.
    let ones: Vec<usize> = (0..data.len())
        .filter(|&i| data.label(i) == Some(1))
        .collect();
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let centre = [
        median(ones.iter().map(|&i| coords[i][0]).collect()),
        median(ones.iter().map(|&i| coords[i][1]).collect()),
    ];
    let dist = |p: [f64; 2]| ((p[0] - centre[0]).powi(2) + (p[1] - centre[1]).powi(2)).sqrt();
    let r = median(ones.iter().map(|&i| dist(coords[i])).collect());
    let polygon = lasso(centre, r, 300);

    let selected = select_in_polygon(&coords, &polygon);
    let brute: Vec<u32> = (0..coords.len() as u32)
        .filter(|&k| point_in_polygon(&polygon, coords[k as usize]))
        .collect();
    assert_eq!(
        selected, brute,
        "the banded test and the plain one disagree"
    );
    assert!(selected.len() > 1000, "{} selected", selected.len());
    let purity = selected
        .iter()
        .filter(|&&k| data.label(k as usize) == Some(1))
        .count() as f64
        / selected.len() as f64;
    assert!(
        purity > 0.5,
        "a lasso around the ones takes mostly ones: {purity:.2}"
    );

    // The time on all 70,000 points, best of 20 (the machine may be shared).
    let mut best = f64::INFINITY;
    for _ in 0..20 {
        let t0 = Instant::now();
        let s = select_in_polygon(&coords, &polygon);
        best = best.min(t0.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(s.len(), selected.len());
    }
    // A lasso around everything: every point inside the bounding box is tested.
    let everything = lasso(centre, 1e3, 300);
    let mut best_all = f64::INFINITY;
    for _ in 0..20 {
        let t0 = Instant::now();
        let s = select_in_polygon(&coords, &everything);
        best_all = best_all.min(t0.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(s.len(), coords.len());
    }
    println!(
        "lasso of 300 vertices over 70,000 points: {best:.2} ms around the ones ({} selected), \
         {best_all:.2} ms around all of them",
        selected.len()
    );
    // Generous: the figure itself is printed; a debug build or a loaded machine must pass.
    assert!(best_all < 200.0, "{best_all:.1} ms");
}

#[test]
fn a_group_exported_as_numpy_and_csv_reads_back_the_same() {
    let data = mnist();
    let c = codes("mnist-latent16.safetensors");
    let sevens = Group::new(
        "sevens",
        [255, 215, 0],
        Group::of_label(data, &(0..data.len()).collect::<Vec<_>>(), 7),
    );
    sevens.check(data.len()).unwrap();
    let rows = sevens.rows(Some);
    let indices: Vec<usize> = rows.clone();
    let sub = codes_at(c, &rows);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sevens.npy");
    for (path, bytes) in group_numpy_files(&out, data, &indices, &sub).unwrap() {
        std::fs::write(path, bytes).unwrap();
    }
    let means = read_npy(&out).unwrap();
    assert_eq!(means.shape, vec![sevens.len(), 16]);
    assert_eq!(means.values, Values::F32(sub.mean.clone()));
    let labels = read_npy(&labels_path(&out)).unwrap();
    assert_eq!(labels.to_i64().unwrap(), vec![7; sevens.len()]);
    let index = read_npy(&indices_path(&out)).unwrap();
    let want: Vec<i64> = sevens.indices.iter().map(|&i| i as i64).collect();
    assert_eq!(index.to_i64().unwrap(), want);

    // numpy itself, when python3 has it.
    let script = format!(
        "import numpy as n; m=n.load({:?}); l=n.load({:?}); i=n.load({:?}); \
         print(m.shape[0], m.shape[1], str(m.dtype), int(l.sum()), int(i.sum()), repr(float(m[3, 5])))",
        out.display().to_string(),
        labels_path(&out).display().to_string(),
        indices_path(&out).display().to_string()
    );
    match std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
    {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            let f: Vec<&str> = text.split_whitespace().collect();
            assert_eq!(f[0].parse::<usize>().unwrap(), sevens.len());
            assert_eq!(f[1], "16");
            assert_eq!(f[2], "float32");
            assert_eq!(f[3].parse::<i64>().unwrap(), 7 * sevens.len() as i64);
            assert_eq!(f[4].parse::<i64>().unwrap(), want.iter().sum::<i64>());
            assert_eq!(f[5].parse::<f32>().unwrap(), sub.mean[3 * 16 + 5]);
        }
        _ => println!(
            "python3 with numpy is not available here: read back with the project's reader only"
        ),
    }

    // CSV: a header, then one row per member with its index, label and code.
    let csv = group_csv(data, &indices, &sub).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), sevens.len() + 1);
    assert!(lines[0].starts_with("index,split,label,class,mean_0"));
    let row: Vec<&str> = lines[4].split(',').collect();
    assert_eq!(row[0].parse::<usize>().unwrap(), indices[3]);
    assert_eq!(row[2], "7");
    assert_eq!(row[4].parse::<f32>().unwrap(), sub.mean[3 * 16]);

    // The PNG grid: the first 1,024 members, square-ish, at scale 1.
    let (picture, shown) = group_picture(data, &indices, 1).unwrap();
    assert_eq!(shown, 1024);
    assert_eq!(picture.width(), 32 * 28 + 31 * 2);
    // A group from another, larger dataset is refused, naming it.
    let e = Group::new("far", [0, 0, 0], vec![70_000])
        .check(data.len())
        .unwrap_err();
    assert!(e.to_string().contains("\"far\""), "{e}");
}

#[test]
fn the_vector_between_two_label_groups_is_the_difference_of_class_means() {
    let data = mnist();
    let c = codes("mnist-latent16.safetensors");
    let all: Vec<usize> = (0..data.len()).collect();
    let sevens = Group::new("7", [0; 3], Group::of_label(data, &all, 7));
    let ones = Group::new("1", [0; 3], Group::of_label(data, &all, 1));
    let v = attribute_vector(c, &sevens.rows(Some), &ones.rows(Some)).unwrap();
    // The class means, straight from the labels.
    let mean = |class: u16, d: usize| {
        let rows: Vec<usize> = all
            .iter()
            .copied()
            .filter(|&i| data.label(i) == Some(class))
            .collect();
        rows.iter().map(|&r| c.mean_of(r)[d] as f64).sum::<f64>() / rows.len() as f64
    };
    for (d, got) in v.iter().enumerate() {
        let want = mean(7, d) - mean(1, d);
        assert!(
            (*got as f64 - want).abs() < 1e-5,
            "dimension {d}: {got} vs {want}"
        );
    }
    // The group's statistics agree: its mean code, and the nearest sample to it.
    let s = group_stats(c, &sevens.rows(Some), None, 3).unwrap();
    for (d, m) in s.mean_code.iter().enumerate() {
        assert!((*m as f64 - mean(7, d)).abs() < 1e-5);
    }
    let d2 = |r: usize| -> f32 {
        c.mean_of(r)
            .iter()
            .zip(&s.mean_code)
            .map(|(a, b)| (a - b) * (a - b))
            .sum()
    };
    let best = (0..c.len())
        .min_by(|&a, &b| d2(a).total_cmp(&d2(b)))
        .unwrap();
    assert_eq!(s.nearest[0], best);
}
