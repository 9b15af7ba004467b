//! The real window, driven through egui_kittest: it starts on the bundled data and model,
//! clicking the map selects, sliders change the preview, training starts and stops,
//! interpolation and exports work, and bad files are refused without losing anything.

mod common;
mod gui_support;
use egui::{Event, Modifiers, PointerButton, Pos2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use gui_support::step_until;
use latent_explorer::gui::{
    AppOptions, Command, DialogPurpose, ExplorerApp, ExportKind, FileDialogs, NoticeKind,
};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Answers each dialog with a path chosen by the test (or cancels).
#[derive(Default)]
struct TestDialogs {
    answers: Mutex<HashMap<DialogPurpose, PathBuf>>,
}

impl TestDialogs {
    fn answer(&self, purpose: DialogPurpose, path: PathBuf) {
        self.answers.lock().unwrap().insert(purpose, path);
    }
}

impl FileDialogs for TestDialogs {
    fn pick(&self, purpose: DialogPurpose) -> Option<PathBuf> {
        let answer = self.answers.lock().unwrap().get(&purpose).cloned();
        if answer.is_none() {
            // A person takes a moment to press Cancel (an instant "cancel" means no dialog).
            std::thread::sleep(Duration::from_millis(300));
        }
        answer
    }
}

fn harness(dialogs: Arc<TestDialogs>) -> Harness<'static, ExplorerApp> {
    Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_eframe(move |cc| {
            ExplorerApp::new(
                cc,
                AppOptions {
                    dialogs,
                    dataset: None,
                    model: None,
                    restore_settings: false,
                    map_points: None,
                    recovery: None,
                    log: false,
                    ..AppOptions::default()
                },
            )
        })
}

/// Steps until the window shows an error notice, and returns it.
fn first_error(h: &mut Harness<'static, ExplorerApp>, what: &str) -> latent_explorer::gui::Notice {
    step_until(h, what, |a| {
        a.ws.notices.iter().any(|n| n.kind == NoticeKind::Error)
    });
    h.state()
        .ws
        .notices
        .iter()
        .find(|n| n.kind == NoticeKind::Error)
        .cloned()
        .unwrap()
}

fn ready(h: &mut Harness<'static, ExplorerApp>) {
    step_until(h, "the map", |a| {
        a.ws.map.codes.is_some() && a.panels.map.screen.is_some()
    });
}

fn click_at(h: &mut Harness<'static, ExplorerApp>, pos: Pos2) {
    h.event(Event::PointerMoved(pos));
    h.step();
    for pressed in [true, false] {
        h.event(Event::PointerButton {
            pos,
            button: PointerButton::Primary,
            pressed,
            modifiers: Modifiers::default(),
        });
        h.step();
    }
    // A click on the map is acted on once the double-click time has passed.
    for _ in 0..2 {
        h.step();
    }
}

/// The map sample farthest from the others' centre: alone on screen, so a click hits it.
fn outlier(app: &ExplorerApp) -> usize {
    let map = &app.ws.map;
    let n = map.coords.len() as f64;
    let c = map
        .coords
        .iter()
        .fold([0.0, 0.0], |a, p| [a[0] + p[0] / n, a[1] + p[1] / n]);
    let k = (0..map.coords.len())
        .max_by(|&a, &b| {
            let d = |p: [f64; 2]| (p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2);
            d(map.coords[a]).total_cmp(&d(map.coords[b]))
        })
        .unwrap();
    map.indices[k]
}

fn screen_pos(app: &ExplorerApp, i: usize) -> Pos2 {
    let c = app.ws.map.coord_of(i).unwrap();
    app.panels
        .map
        .screen
        .unwrap()
        .position_from_point(&egui_plot::PlotPoint::new(c[0], c[1]))
}

#[test]
fn starts_on_the_bundled_data_and_model_with_the_map_drawn() {
    let mut h = harness(Arc::default());
    ready(&mut h);
    let app = h.state();
    let data = app.ws.data.as_ref().unwrap();
    assert_eq!(data.name, "MNIST");
    assert_eq!(data.len(), 70_000);
    let model = app.ws.model.as_ref().unwrap();
    assert_eq!(model.latent(), 2);
    assert_eq!(app.ws.map.coords.len(), 70_000);
    assert!(app.startup_secs.unwrap() < 10.0);
    assert!(app.ws.notices.iter().all(|n| n.kind != NoticeKind::Error));
    // The panels are there, by name.
    h.get_by_label("Start");
    h.get_by_label("Open model…");
    h.get_by_role_and_label(egui::accesskit::Role::Slider, "z0");
    // Every input widget has an accessible name.
    h.check_accessibility();
}

#[test]
fn clicking_a_map_point_selects_that_sample_and_moves_the_sliders() {
    let mut h = harness(Arc::default());
    ready(&mut h);
    let target = outlier(h.state());
    let pos = screen_pos(h.state(), target);
    click_at(&mut h, pos);
    h.step();
    let app = h.state();
    assert_eq!(app.ws.selection, Some(target));
    let code = app.code_of(target).unwrap();
    assert_eq!(app.ws.probe, code, "the sliders move to the selected code");
    assert_eq!(app.ws.history.first(), Some(&target));
    // Original and reconstruction are shown.
    assert_eq!(app.panels.decoder.selection.images.count(), 2);
    h.get_by_label_contains(&format!("sample {target}"));
}

#[test]
fn moving_a_slider_changes_the_preview_pixels() {
    let mut h = harness(Arc::default());
    ready(&mut h);
    step_until(&mut h, "the preview", |a| {
        !a.panels.decoder.preview.is_empty()
    });
    let before = h.state().panels.decoder.preview.values().to_vec();
    let version = h.state().panels.decoder.preview.version;
    h.get_by_role_and_label(egui::accesskit::Role::Slider, "z0")
        .set_value_accesskit(2.5);
    h.step();
    h.step();
    let app = h.state();
    assert!(
        (app.ws.probe[0] - 2.5).abs() < 1e-4,
        "probe {:?}",
        app.ws.probe
    );
    assert!(app.panels.decoder.preview.version > version);
    let after = app.panels.decoder.preview.values();
    let changed = before
        .iter()
        .zip(after)
        .filter(|(a, b)| (*a - *b).abs() > 0.05)
        .count();
    assert!(changed > 20, "only {changed} pixels changed");
    // The preview is the decoded probe.
    let expect = app
        .ws
        .model
        .as_ref()
        .unwrap()
        .decode(&app.ws.probe)
        .unwrap();
    assert_eq!(after, expect.as_slice());
}

#[test]
fn start_produces_progress_and_loss_points_and_stop_ends_them() {
    let mut h = harness(Arc::default());
    ready(&mut h);
    let epochs_before = h.state().ws.model.as_ref().unwrap().history.epochs;
    h.get_by_label("Start").click();
    step_until(&mut h, "loss points", |a| {
        a.panels.training.steps.len() >= 30
    });
    assert!(h.state().is_training());
    let info = h.state().panels.training.info.clone().unwrap();
    assert_eq!(info.n_train, 60_000);
    h.get_by_label("Pause").click();
    step_until(&mut h, "the pause", |a| a.panels.training.paused);
    let paused_at = h.state().panels.training.steps.len();
    for _ in 0..20 {
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        h.state().panels.training.steps.len(),
        paused_at,
        "no steps while paused"
    );
    h.get_by_label("Resume").click();
    step_until(&mut h, "steps after resume", |a| {
        a.panels.training.steps.len() > paused_at + 5
    });
    let asked = Instant::now();
    h.get_by_label("Stop").click();
    step_until(&mut h, "the stop", |a| !a.is_training());
    assert!(asked.elapsed() < Duration::from_secs(5));
    let n = h.state().panels.training.steps.len();
    for _ in 0..20 {
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    let app = h.state();
    assert_eq!(app.panels.training.steps.len(), n, "no steps after stop");
    assert!(app.panels.training.steps.iter().all(|s| s[1].is_finite()));
    // The model after stopping is the trained one (an epoch was not completed, but it changed).
    assert!(app.ws.model_unsaved);
    assert_eq!(app.ws.model.as_ref().unwrap().history.epochs, epochs_before);
    h.get_by_label("Start");
}

#[test]
fn an_interpolation_strip_has_the_asked_frames_and_its_ends_decode_the_anchors() {
    let mut h = harness(Arc::default());
    ready(&mut h);
    let a = outlier(h.state());
    let pos = screen_pos(h.state(), a);
    click_at(&mut h, pos);
    h.step();
    h.get_by_label(&format!("Add selection ({a})")).click();
    h.step();
    // A second anchor: another sample, through the same command the selection panel uses.
    let b = h.state().ws.map.indices[0];
    h.state_mut().apply(Command::Select(b));
    h.step();
    h.get_by_label(&format!("Add selection ({b})")).click();
    h.state_mut().settings.interp_steps = 7;
    h.state_mut().apply(Command::RebuildStrip);
    step_until(&mut h, "the strip", |app| {
        app.panels.interpolation.strip.count() == 7
    });
    let app = h.state();
    assert_eq!(app.panels.interpolation.anchors, vec![a, b]);
    assert_eq!(app.panels.interpolation.frames.len(), 7);
    let model = app.ws.model.as_ref().unwrap();
    for (frame, sample) in [(0usize, a), (6, b)] {
        let expect = model.decode(&app.code_of(sample).unwrap()).unwrap();
        let got = app.panels.interpolation.strip.frame(frame).unwrap();
        let worst = got
            .iter()
            .zip(&expect)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(
            worst < 1e-4,
            "frame {frame} differs from sample {sample}'s decoding by {worst}"
        );
    }
    // Clicking a frame of the strip moves the sliders to its code.
    let code3 = app.panels.interpolation.frames[3].clone();
    h.state_mut().apply(Command::SetProbe(code3.clone()));
    assert_eq!(h.state().ws.probe, code3);
}

#[test]
fn each_export_writes_a_valid_file_and_cancel_does_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let dialogs = Arc::new(TestDialogs::default());
    let mut h = harness(dialogs.clone());
    ready(&mut h);
    // Something in every picture: a grid and a strip.
    h.state_mut().apply(Command::RebuildGrid);
    let (a, b) = (h.state().ws.map.indices[0], h.state().ws.map.indices[1]);
    h.state_mut().apply(Command::AddAnchor(a));
    h.state_mut().apply(Command::AddAnchor(b));
    step_until(&mut h, "grid, strip and preview", |app| {
        !app.panels.generate.grid.is_empty()
            && !app.panels.interpolation.strip.is_empty()
            && !app.panels.decoder.preview.is_empty()
    });
    h.get_by_label("Export").click();
    h.step();
    // Cancelled dialog: nothing written, no error.
    gui_support::row_button(&h, ExportKind::Preview.title(), "Export as…").click();
    for _ in 0..10 {
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    let kinds = [
        (ExportKind::Preview, "preview.png"),
        (ExportKind::Strip, "strip.png"),
        (ExportKind::Grid, "grid.png"),
        (ExportKind::Map, "map.png"),
        (ExportKind::Codes, "codes.csv"),
        (ExportKind::CodesNumpy, "codes.npy"),
    ];
    for (kind, file) in kinds {
        let path = dir.path().join(file);
        dialogs.answer(DialogPurpose::Export(kind), path.clone());
        gui_support::row_button(&h, kind.title(), "Export as…").click();
        step_until(&mut h, file, |_| path.exists());
    }
    let scale = h.state().settings.export_scale;
    let preview = image::open(dir.path().join("preview.png")).unwrap();
    assert_eq!(
        (preview.width(), preview.height()),
        (28 * scale, 28 * scale)
    );
    let strip = image::open(dir.path().join("strip.png")).unwrap();
    let frames = h.state().panels.interpolation.frames.len() as u32;
    assert_eq!(strip.width(), frames * 28 * scale + (frames - 1) * 2);
    assert!(image::open(dir.path().join("grid.png")).unwrap().width() > 28 * scale);
    // The map figure: points in colour on a white figure with grey frame and text.
    let map = image::open(dir.path().join("map.png")).unwrap().to_rgb8();
    let coloured = map
        .pixels()
        .filter(|p| p.0.iter().max().unwrap() - p.0.iter().min().unwrap() > 60)
        .count();
    assert!(
        coloured > 5_000,
        "the map picture has {coloured} coloured pixels"
    );
    let csv = std::fs::read_to_string(dir.path().join("codes.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "index,split,label,class,map_x,map_y,mean_0,mean_1,logvar_0,logvar_1"
    );
    assert_eq!(lines.len(), 70_001);
    // The same codes for numpy: means as float32 70000 x 2, labels beside them.
    let npy = latent_explorer::npy::read_npy(&dir.path().join("codes.npy")).unwrap();
    assert_eq!(
        (npy.shape.as_slice(), npy.dtype.as_str()),
        (&[70_000, 2][..], "<f4")
    );
    let first_mean: Vec<f32> = lines[1]
        .split(',')
        .skip(6)
        .take(2)
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(
        npy.to_f64()[..2],
        [first_mean[0] as f64, first_mean[1] as f64]
    );
    let labels = latent_explorer::npy::read_npy(&dir.path().join("codes.labels.npy")).unwrap();
    assert_eq!(labels.shape, [70_000]);
    assert!(
        h.state()
            .ws
            .notices
            .iter()
            .all(|n| n.kind != NoticeKind::Error)
    );
}

#[test]
fn a_corrupt_dataset_or_an_unfit_model_shows_an_error_and_keeps_what_was_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let dialogs = Arc::new(TestDialogs::default());
    let mut h = harness(dialogs.clone());
    ready(&mut h);
    // A truncated IDX file.
    let bad = dir.path().join("broken-images-idx3-ubyte");
    let mut bytes = vec![0u8, 0, 8, 3, 0, 0, 0, 100, 0, 0, 0, 28, 0, 0, 0, 28];
    bytes.extend(vec![7u8; 500]);
    std::fs::write(&bad, &bytes).unwrap();
    dialogs.answer(DialogPurpose::OpenDatasetFolder, bad.clone());
    h.get_by_label("Open dataset…").click();
    let err = first_error(&mut h, "the error");
    let app = h.state();
    assert!(
        err.text.contains("broken-images-idx3-ubyte") && err.text.contains("truncated"),
        "{}",
        err.text
    );
    assert_eq!(
        app.ws.data.as_ref().unwrap().len(),
        70_000,
        "MNIST is still loaded"
    );
    assert_eq!(app.ws.map.coords.len(), 70_000);
    h.get_by_label_contains("broken-images-idx3-ubyte");
    h.get_by_label("Dismiss").click();
    // One frame applies the dismissal, the next lays the panels out without the notice.
    h.step();
    h.step();
    assert!(
        h.state()
            .ws
            .notices
            .iter()
            .all(|n| n.kind != NoticeKind::Error)
    );

    // A model for 8x8 images.
    let unfit = dir.path().join("small.safetensors");
    let config = latent_explorer::model::VaeConfig::for_shape(
        latent_explorer::data::ImageShape::new(8, 8, 1),
        2,
    );
    latent_explorer::model::Model::new_random(config, 1)
        .unwrap()
        .save(&unfit)
        .unwrap();
    dialogs.answer(DialogPurpose::OpenModel, unfit);
    h.get_by_label("Open model…").click();
    let err = first_error(&mut h, "the refusal");
    let app = h.state();
    assert!(
        err.text.contains("8x8") && err.text.contains("28x28"),
        "{}",
        err.text
    );
    assert_eq!(
        app.ws.model.as_ref().unwrap().config().input.height,
        28,
        "the old model stays"
    );
}

#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

/// An IDX folder of 28x28 images: `n_train` training and `n_test` held-out, labels 0..3.
fn write_idx_folder(dir: &std::path::Path, n_train: u32, n_test: u32) {
    for (prefix, n) in [("train", n_train), ("t10k", n_test)] {
        let mut images = vec![0u8, 0, 8, 3];
        for v in [n, 28, 28] {
            images.extend(v.to_be_bytes());
        }
        images.extend((0..n as usize * 784).map(|i| ((i * 31 + i / 784 * 7) % 256) as u8));
        std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), images).unwrap();
        let mut labels = vec![0u8, 0, 8, 1];
        labels.extend(n.to_be_bytes());
        labels.extend((0..n).map(|i| (i % 4) as u8));
        std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), labels).unwrap();
    }
}

#[test]
fn a_folder_dropped_on_the_window_replaces_the_dataset_and_the_map() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("dropped-digits");
    std::fs::create_dir(&folder).unwrap();
    write_idx_folder(&folder, 300, 120);
    let mut h = harness(Arc::default());
    ready(&mut h);
    h.input_mut()
        .dropped_files
        .push(Arc::new(Dropped(folder.clone())));
    h.step();
    step_until(&mut h, "the new map", |a| {
        a.ws.data
            .as_ref()
            .is_some_and(|d| d.name == "dropped-digits")
            && a.ws.map.coords.len() == 420
    });
    let app = h.state();
    assert_eq!(app.ws.data.as_ref().unwrap().len(), 420);
    assert_eq!(app.ws.selection, None);
    assert_eq!(
        app.ws.map.indices[299..301],
        [299, 300],
        "the map shows the training and the held-out samples"
    );
    assert!(app.ws.notices.iter().all(|n| n.kind != NoticeKind::Error));
}

#[test]
fn a_latent_16_model_is_mapped_by_pca_or_by_two_chosen_axes() {
    let dialogs = Arc::new(TestDialogs::default());
    let mut h = harness(dialogs.clone());
    ready(&mut h);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/mnist-latent16.safetensors");
    dialogs.answer(DialogPurpose::OpenModel, path);
    h.get_by_label("Open model…").click();
    step_until(&mut h, "the latent-16 map", |a| a.ws.map.latent() == 16);
    h.step();
    let app = h.state();
    assert_eq!(app.ws.probe.len(), 16);
    for k in 0..16 {
        h.get_by_role_and_label(egui::accesskit::Role::Slider, &format!("z{k}"));
    }
    let pca = app.ws.map.pca.clone().expect("PCA above two dims");
    let first = app.code_of(app.ws.map.indices[0]).unwrap();
    let p = pca.project(&first);
    assert!((app.ws.map.coords[0][0] - p[0] as f64).abs() < 1e-5);
    // Decoding a map position goes through the PCA's inverse.
    let back = app.ws.map.unproject([1.0, -0.5], &first, &app.settings);
    let again = pca.project(&back);
    assert!((again[0] - 1.0).abs() < 1e-4 && (again[1] + 0.5).abs() < 1e-4);
    // Two chosen axes instead.
    h.state_mut().settings.projection = latent_explorer::gui::Projection::Axes;
    h.state_mut().settings.axis_x = 3;
    h.state_mut().settings.axis_y = 5;
    h.step();
    h.step();
    let app = h.state();
    assert_eq!(app.ws.map.coords[0], [first[3] as f64, first[5] as f64]);
    h.get_by_label("x axis");
}

#[test]
fn closing_the_window_mid_training_stops_the_run_and_saves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let dialogs = Arc::new(TestDialogs::default());
    let mut h = harness(dialogs);
    ready(&mut h);
    h.get_by_label("Start").click();
    step_until(&mut h, "training", |a| a.panels.training.steps.len() >= 5);
    let closed = Instant::now();
    drop(h);
    assert!(
        closed.elapsed() < Duration::from_secs(2),
        "closing took {:?}",
        closed.elapsed()
    );
    // Nothing was written anywhere we could see: the bundled model is untouched.
    let bundled =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/mnist-latent2.safetensors");
    let model = latent_explorer::model::Model::load(&bundled).unwrap();
    assert_eq!(model.history.epochs, 30);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn the_anomalies_tab_ranks_samples_and_a_click_selects_one() {
    let mut h = harness(Arc::default());
    ready(&mut h);
    h.get_by_label("Anomalies").click();
    step_until(&mut h, "the scores", |a| {
        a.ws.scores.scores.is_some() && !a.panels.anomalies.ranked.is_empty()
    });
    h.step();
    let app = h.state();
    let scores = app.ws.scores.scores.as_ref().unwrap();
    assert_eq!(scores.len(), 70_000);
    let kind = app.settings.anomaly_score;
    // The list is the ranking: the first is the highest score of all.
    let first = app.panels.anomalies.ranked[0].0;
    let k = scores.indices.iter().position(|&i| i == first).unwrap();
    let best = scores.values(kind).into_iter().fold(f32::MIN, f32::max);
    assert_eq!(scores.value(k, kind), best);
    h.get_by_label_contains("samples above");
    // Clicking the first row of the list selects that sample.
    h.get_by_label_contains("#1  sample").click();
    h.step();
    h.step();
    assert_eq!(h.state().ws.selection, Some(first));
    // Colouring the map by score works with the same scores.
    h.get_by_label("colour the map by score").click();
    h.step();
    h.step();
    assert_eq!(
        h.state().settings.color_by,
        latent_explorer::gui::ColorBy::AnomalyScore
    );
}

#[test]
fn the_nearest_samples_to_the_code_follow_the_probe() {
    let mut h = harness(Arc::default());
    ready(&mut h);
    let i = h.state().ws.map.indices[123];
    h.state_mut().apply(Command::Select(i));
    h.step();
    h.step();
    let app = h.state();
    assert_eq!(app.panels.decoder.neighbours.len(), 8);
    assert_eq!(
        app.panels.decoder.neighbours[0].0, i,
        "a sample is its own nearest neighbour"
    );
    let code = app.code_of(i).unwrap();
    let dist = |j: usize| {
        app.code_of(j)
            .unwrap()
            .iter()
            .zip(&code)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f32>()
    };
    let d: Vec<f32> = app
        .panels
        .decoder
        .neighbours
        .iter()
        .map(|&(j, _)| dist(j))
        .collect();
    // The distances shown are the Euclidean distances in code space.
    for (&(_, shown), &squared) in app.panels.decoder.neighbours.iter().zip(&d) {
        assert!(
            (shown - squared.sqrt()).abs() < 1e-4,
            "{shown} vs {}",
            squared.sqrt()
        );
    }
    assert!(d.windows(2).all(|w| w[0] <= w[1]), "nearest first: {d:?}");
    // Every other sample on the map is at least as far as the 8th.
    let eighth = d[7];
    let closer = app
        .ws
        .map
        .indices
        .iter()
        .filter(|&&j| dist(j) < eighth)
        .count();
    assert!(closer <= 7);
    assert_eq!(app.panels.decoder.neighbour_images.count(), 8);
    // Moving the probe moves them.
    h.state_mut().apply(Command::SetProbe(vec![3.0, -3.0]));
    h.step();
    h.step();
    assert_ne!(h.state().panels.decoder.neighbours[0].0, i);
}

#[test]
fn the_selection_shows_its_uncertainty_as_an_ellipse_and_decoded_samples() {
    let mut h = harness(Arc::default());
    ready(&mut h);
    let i = h.state().ws.map.indices[42];
    h.state_mut().apply(Command::Select(i));
    step_until(&mut h, "the posterior samples", |a| {
        a.panels.decoder.selection.spread.count() == 8
    });
    let app = h.state();
    let map = &app.ws.map;
    let k = map.position_of(i).unwrap();
    let codes = map.codes.as_ref().unwrap();
    let sigma: Vec<f64> = codes.logvar[2 * k..2 * k + 2]
        .iter()
        .map(|&v| (0.5 * v as f64).exp())
        .collect();
    let centre = map.coords[k];
    for sigmas in [1.0, 2.0] {
        let e = map.posterior_ellipse(k, &app.settings, sigmas);
        let max_dx = e
            .iter()
            .map(|p| (p[0] - centre[0]).abs())
            .fold(0.0, f64::max);
        let max_dy = e
            .iter()
            .map(|p| (p[1] - centre[1]).abs())
            .fold(0.0, f64::max);
        assert!(
            (max_dx - sigmas * sigma[0]).abs() < 1e-3 * sigmas,
            "{max_dx} vs {}",
            sigmas * sigma[0]
        );
        assert!(
            (max_dy - sigmas * sigma[1]).abs() < 1e-3 * sigmas,
            "{max_dy} vs {}",
            sigmas * sigma[1]
        );
    }
    // The decoded posterior samples differ from one another (the code is uncertain) but
    // resemble the reconstruction.
    let spread = &app.panels.decoder.selection.spread;
    assert_ne!(spread.frame(0).unwrap(), spread.frame(1).unwrap());
    let recon = app.panels.decoder.selection.images.frame(1).unwrap();
    let diff: f32 = spread
        .frame(0)
        .unwrap()
        .iter()
        .zip(recon)
        .map(|(a, b)| (a - b).abs())
        .sum::<f32>()
        / 784.0;
    assert!(diff < 0.2, "mean pixel difference {diff}");
}

#[test]
fn the_decoded_background_covers_the_view_with_the_decoder_output() {
    let mut h = harness(Arc::default());
    ready(&mut h);
    h.state_mut().settings.show_manifold = true;
    h.state_mut().settings.show_prior = true;
    step_until(&mut h, "the mosaic", |a| {
        a.panels.map.manifold.count() == 256 && a.panels.map.manifold_bounds.is_some()
    });
    let app = h.state();
    let b = app.panels.map.manifold_bounds.unwrap();
    assert!(b[2] > b[0] && b[3] > b[1]);
    // The top-left tile is the decoding of the top-left cell's centre.
    let (x, y) = (b[0] + (b[2] - b[0]) / 32.0, b[3] - (b[3] - b[1]) / 32.0);
    let code = app.ws.map.unproject([x, y], &app.ws.probe, &app.settings);
    let expect = app.ws.model.as_ref().unwrap().decode(&code).unwrap();
    let got = app.panels.map.manifold.frame(0).unwrap();
    let worst = got
        .iter()
        .zip(&expect)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(worst < 1e-4, "{worst}");
    // The view did not run away (the mosaic must not push the plot's bounds).
    for _ in 0..10 {
        h.step();
    }
    let b2 = h.state().panels.map.manifold_bounds.unwrap();
    assert!(
        (b2[2] - b2[0]) < 2.0 * (b[2] - b[0]) + 1e-9,
        "{b:?} -> {b2:?}"
    );
}

#[test]
fn the_missing_data_tab_fills_in_the_selection() {
    let mut h = harness(Arc::default());
    ready(&mut h);
    let i = h.state().ws.map.indices[7];
    h.state_mut().apply(Command::Select(i));
    h.get_by_label("Missing data").click();
    h.step();
    h.step();
    h.get_by_label("Fill in the selection").click();
    h.step();
    h.step();
    let app = h.state();
    let f = &app.panels.missing.filled;
    assert_eq!(f.sample, Some(i));
    assert_eq!(f.images.count(), 3);
    assert_eq!(f.path.len(), app.settings.inpaint_iterations);
    let (fill, mean) = f.errors.unwrap();
    assert!(fill.is_finite() && mean.is_finite() && fill > 0.0);
    // The seen half of the completion is the original's.
    let (orig, done) = (f.images.frame(0).unwrap(), f.images.frame(2).unwrap());
    assert_eq!(&orig[..392], &done[..392]);
    h.get_by_label_contains("mean absolute error on the hidden pixels");
}

#[test]
fn the_training_timeline_replays_how_the_map_organised() {
    let mut h = harness(Arc::default());
    ready(&mut h);
    let before = h.state().ws.map.coords.clone();
    h.get_by_label("Start").click();
    step_until(&mut h, "three snapshots", |a| {
        a.ws.timeline.frames.len() >= 3
    });
    h.get_by_label("Stop").click();
    step_until(&mut h, "the stop", |a| !a.is_training());
    h.step();
    let n = h.state().ws.timeline.frames.len();
    let live = h.state().ws.map.coords.clone();
    assert_ne!(live, before, "training moved the points");
    // Show the first frame: the map draws that frame's codes.
    h.state_mut().apply(Command::ShowTimeline(Some(0)));
    h.step();
    let app = h.state();
    let first = &app.ws.timeline.frames[0];
    assert_eq!(
        app.ws.map.coords[5],
        [first.mean[10] as f64, first.mean[11] as f64]
    );
    h.get_by_label("Live");
    // Back to live.
    h.state_mut().apply(Command::ShowTimeline(None));
    h.step();
    assert_eq!(h.state().ws.timeline.shown, None);
    assert!(h.state().ws.timeline.frames.len() >= n);
}

#[test]
fn an_attribute_vector_is_the_difference_of_class_means_and_moves_the_code() {
    let mut h = harness(Arc::default());
    ready(&mut h);
    h.state_mut()
        .apply(Command::MakeAttribute { plus: 7, minus: 1 });
    h.step();
    let app = h.state();
    let attrs = app.attributes_for_model();
    assert_eq!(attrs.len(), 1);
    let a = &app.settings.attributes[attrs[0]];
    assert_eq!(a.name, "7 minus 1");
    let data = app.ws.data.as_ref().unwrap();
    let map = &app.ws.map;
    let mean = |c: u16| {
        let ks: Vec<usize> = (0..map.indices.len())
            .filter(|&k| data.label(map.indices[k]) == Some(c))
            .collect();
        let codes = map.codes.as_ref().unwrap();
        (0..2)
            .map(|d| ks.iter().map(|&k| codes.mean_of(k)[d]).sum::<f32>() / ks.len() as f32)
            .collect::<Vec<_>>()
    };
    let (m7, m1) = (mean(7), mean(1));
    for d in 0..2 {
        assert!((a.vector[d] - (m7[d] - m1[d])).abs() < 1e-4);
    }
    // Adding the attribute to the code of a "1" moves it by the vector.
    let before = app.ws.probe.clone();
    let v = a.vector.clone();
    h.state_mut().apply(Command::ApplyAttribute {
        k: attrs[0],
        amount: 1.0,
    });
    let after = h.state().ws.probe.clone();
    for d in 0..2 {
        assert!((after[d] - before[d] - v[d]).abs() < 1e-5);
    }
    // It is part of the saved settings.
    let saved = serde_json::to_string(&h.state().settings).unwrap();
    assert!(saved.contains("7 minus 1"));
    h.get_by_label("Attribute vectors");
}

#[test]
fn dragging_a_rectangle_on_the_sample_hides_it_and_fills_it_in() {
    let mut h = harness(Arc::default());
    ready(&mut h);
    let i = h.state().ws.map.indices[3];
    h.state_mut().apply(Command::Select(i));
    h.get_by_label("Missing data").click();
    for _ in 0..3 {
        h.step();
    }
    // The canvas shows the 28 px sample at 5x: drag from (4, 4) to (20, 16) in its pixels.
    let canvas = h.get_by_label("sample to hide part of").rect();
    let (a, b) = (
        canvas.min + egui::vec2(22.0, 22.0),
        canvas.min + egui::vec2(102.0, 82.0),
    );
    h.event(Event::PointerMoved(a));
    h.step();
    h.event(Event::PointerButton {
        pos: a,
        button: PointerButton::Primary,
        pressed: true,
        modifiers: Modifiers::default(),
    });
    h.step();
    for t in [0.3f32, 0.6, 1.0] {
        h.event(Event::PointerMoved(a + (b - a) * t));
        h.step();
    }
    h.event(Event::PointerButton {
        pos: b,
        button: PointerButton::Primary,
        pressed: false,
        modifiers: Modifiers::default(),
    });
    h.step();
    h.step();
    let app = h.state();
    let latent_explorer::analysis::MaskKind::Rect { height, width, .. } = app.settings.inpaint_mask
    else {
        panic!("the mask is {:?}", app.settings.inpaint_mask);
    };
    assert!(height >= 8 && width >= 8, "{height}x{width}");
    assert_eq!(app.panels.missing.filled.sample, Some(i));
    assert!(app.panels.missing.filled.errors.is_some());
}

#[test]
fn a_conv_model_made_in_the_new_model_dialog_trains_on_colour_images() {
    let dir = tempfile::tempdir().unwrap();
    let folder = common::write_colour_shapes(&dir.path().join("shapes"), 12);
    let mut h = harness(Arc::default());
    ready(&mut h);
    h.input_mut().dropped_files.push(Arc::new(Dropped(folder)));
    h.step();
    step_until(&mut h, "the colour dataset", |a| {
        a.ws.data.as_ref().is_some_and(|d| d.shape.channels == 3)
    });
    h.get_by_label("New model").click();
    h.step();
    h.step();
    // The likelihood is chosen from the data until someone picks one.
    let combo = egui::accesskit::Role::ComboBox;
    let shown = |h: &Harness<'static, ExplorerApp>, label: &str| {
        h.get_by_role_and_label(combo, label)
            .value()
            .unwrap_or_default()
    };
    let likelihood = shown(&h, "likelihood");
    assert!(likelihood.starts_with("auto: gaussian"), "{likelihood}");
    assert_eq!(shown(&h, "architecture"), "MLP");
    h.get_by_role_and_label(combo, "architecture").click();
    h.step();
    h.step();
    h.get_by_label("Conv").click();
    h.step();
    h.step();
    h.get_by_label("conv channels");
    h.state_mut().settings.train.epochs = 1;
    h.state_mut().settings.train.batch_size = 16;
    h.get_by_label("Create new model").click();
    step_until(&mut h, "the conv model and its map", |a| {
        a.ws.model
            .as_ref()
            .is_some_and(|m| m.config().arch == latent_explorer::model::Architecture::Conv)
            && a.ws.map.codes.is_some()
    });
    let config = h.state().ws.model.as_ref().unwrap().config().clone();
    assert_eq!(
        (
            config.input.height,
            config.input.width,
            config.input.channels
        ),
        (32, 32, 3)
    );
    assert_eq!(config.hidden, vec![32, 64, 64]);
    assert_eq!(
        config.likelihood,
        latent_explorer::model::Likelihood::Gaussian
    );
    h.step();
    h.get_by_label("Conv (strided convolutions)");
    // The left panel settles over a few frames after the model changes (its rows and the open
    // New model section animate); click Start where it ends up.
    h.get_by_label("Start").scroll_to_me();
    for _ in 0..10 {
        h.step();
    }
    h.get_by_label("Start").click();
    step_until(&mut h, "an epoch of conv training", |a| {
        !a.is_training() && !a.panels.training.epochs.is_empty()
    });
    step_until(&mut h, "a colour preview", |a| {
        a.panels
            .decoder
            .preview
            .shape()
            .is_some_and(|s| s.channels == 3)
    });
    let app = h.state();
    let model = app.ws.model.as_ref().unwrap();
    assert_eq!(model.history.epochs, 1);
    assert!(model.history.test_loss.is_some_and(f64::is_finite));
    assert!(
        app.ws
            .notices
            .iter()
            .all(|n| n.kind != NoticeKind::Error || n.text.contains("expects images of")),
        "{:?}",
        app.ws.notices.iter().map(|n| &n.text).collect::<Vec<_>>()
    );
    let picture = app.panels.decoder.preview.picture(1).unwrap();
    assert_eq!(picture.color(), image::ColorType::Rgb8);
}

/// All 70,000 points are drawn as one raster: an idle map is not redrawn, dragging it shows the
/// raster already drawn (it has a margin around the view) and draws it for the new view once
/// the view stands still, the legend's check box hides a class from it, and picking still
/// finds a point through the grid index.
#[test]
fn the_map_raster_is_redrawn_only_when_the_view_or_the_classes_change() {
    let mut h = harness(Arc::default());
    ready(&mut h);
    for _ in 0..3 {
        h.step();
    }
    let redraws = h.state().panels.map.raster.redraws;
    for _ in 0..10 {
        h.step();
    }
    assert_eq!(
        h.state().panels.map.raster.redraws,
        redraws,
        "idle frames redraw nothing"
    );

    // Drag the map: the view moves and the raster follows it.
    let frame = *h.state().panels.map.screen.unwrap().frame();
    // Away from the probe (a drag that starts on the probe moves the probe instead).
    let start = frame.center() + egui::vec2(0.0, 60.0);
    let before = *h.state().panels.map.screen.unwrap().bounds();
    h.event(Event::PointerMoved(start));
    h.event(Event::PointerButton {
        pos: start,
        button: PointerButton::Primary,
        pressed: true,
        modifiers: Modifiers::default(),
    });
    h.step();
    let before_drag = h.state().panels.map.raster.redraws;
    for k in 1..=10 {
        h.event(Event::PointerMoved(start + egui::vec2(8.0 * k as f32, 0.0)));
        h.step();
    }
    assert!(
        h.state().panels.map.raster.redraws <= before_drag + 1,
        "a drag of 80 px within the margin does not redraw at every frame"
    );
    let end = start + egui::vec2(80.0, 0.0);
    h.event(Event::PointerButton {
        pos: end,
        button: PointerButton::Primary,
        pressed: false,
        modifiers: Modifiers::default(),
    });
    h.step();
    h.step();
    let after = *h.state().panels.map.screen.unwrap().bounds();
    assert!(
        after.min()[0] < before.min()[0],
        "dragging right shows what lies left"
    );
    // Standing still, the raster is drawn for the new view, and covers it.
    for _ in 0..3 {
        h.step();
    }
    let (view, covers) = h.state().panels.map.raster.drawn_for().unwrap();
    let shown = [
        after.min()[0],
        after.min()[1],
        after.max()[0],
        after.max()[1],
    ];
    assert_eq!(view, shown, "drawn for the view now shown");
    assert!(covers[0] < view[0] && covers[2] > view[2], "with a margin");
    assert!(h.state().panels.map.raster.redraws > redraws);

    // Hide class 7 from the legend.
    let redraws = h.state().panels.map.raster.redraws;
    h.get_by_role_and_label(egui::accesskit::Role::CheckBox, "7")
        .click();
    h.step();
    h.step();
    assert!(
        h.state().panels.map.raster.redraws > redraws,
        "hiding a class redraws"
    );

    // Picking goes through the grid: the outlier is still found where it is drawn.
    let target = outlier(h.state());
    let pos = screen_pos(h.state(), target);
    let hit = h.state().ws.map.nearest(
        {
            let t = h.state().panels.map.screen.unwrap();
            let p = t.value_from_position(pos);
            [p.x, p.y]
        },
        [1.0, 1.0],
        f64::INFINITY,
    );
    assert_eq!(hit, Some(target));
}
