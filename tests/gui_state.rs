//! State that cannot go stale and a layout that holds: what a dataset or model switch leaves
//! behind, status that is true, repeated errors, panel sizes, and the loss curves in view
//! while training. Each test is one of the faults found by trying the window as a user.

mod common;
mod gui_support;
use egui::{Event, Modifiers, PointerButton, Pos2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use gui_support::{check_invariants, quiet_harness, quiet_options, settle, step_until};
use latent_explorer::gui::{Command, DialogPurpose, ExplorerApp, NoticeKind};
use std::path::PathBuf;

fn harness_at(size: egui::Vec2) -> Harness<'static, ExplorerApp> {
    quiet_harness(quiet_options(), size)
}

fn ready(h: &mut Harness<'static, ExplorerApp>) {
    step_until(h, "the map", |a| {
        a.ws.map.codes.is_some() && a.panels.map.screen.is_some()
    });
}

fn drag(h: &mut Harness<'static, ExplorerApp>, from: Pos2, to: Pos2) {
    let button = |pos, pressed| Event::PointerButton {
        pos,
        button: PointerButton::Primary,
        pressed,
        modifiers: Modifiers::default(),
    };
    h.event(Event::PointerMoved(from));
    h.step();
    h.event(button(from, true));
    h.step();
    for k in 1..=8 {
        h.event(Event::PointerMoved(from + (to - from) * (k as f32 / 8.0)));
        h.step();
    }
    h.event(button(to, false));
    h.step();
    h.step();
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The reported crash: nearest samples of a large dataset stayed on screen after opening a
/// small one that the model does not fit; clicking one indexed past the new dataset.
#[test]
fn a_dataset_the_model_does_not_fit_leaves_nothing_of_the_old_one_behind() {
    let dir = tempfile::tempdir().unwrap();
    let digits = common::write_idx_dataset(dir.path(), "digits8", 300, 60, 8, 8);
    let mut h = harness_at(egui::vec2(1400.0, 900.0));
    ready(&mut h);
    let far = 65_000;
    h.state_mut().apply(Command::Select(far));
    h.state_mut().apply(Command::AddAnchor(far));
    h.state_mut().apply(Command::AddAnchor(12));
    h.step();
    h.step();
    assert_eq!(h.state().panels.decoder.neighbours.len(), 8);
    assert_eq!(h.state().panels.interpolation.anchors.len(), 2);
    h.state_mut().apply(Command::OpenDataset(digits));
    step_until(&mut h, "the 8x8 dataset", |a| {
        a.ws.data.as_ref().is_some_and(|d| d.len() == 360)
    });
    let app = h.state();
    assert_eq!(app.ws.selection, None);
    assert!(app.panels.decoder.neighbours.is_empty());
    assert!(app.panels.interpolation.anchors.is_empty());
    assert!(app.panels.interpolation.strip.is_empty());
    assert!(
        app.ws
            .notices
            .errors()
            .any(|n| n.text.contains("Create a New model")),
        "the user is told the model does not fit"
    );
    check_invariants(app).unwrap();
    // A command from a picture of the old dataset is refused, not applied.
    h.state_mut().apply(Command::Select(far));
    h.state_mut().apply(Command::AddAnchor(far));
    h.step();
    assert_eq!(h.state().ws.selection, None);
    assert!(h.state().panels.interpolation.anchors.is_empty());
    // Clicking where the thumbnails were does nothing harmful.
    for y in (300..700).step_by(40) {
        let p = Pos2::new(1250.0, y as f32);
        h.event(Event::PointerMoved(p));
        h.event(Event::PointerButton {
            pos: p,
            button: PointerButton::Primary,
            pressed: true,
            modifiers: Modifiers::default(),
        });
        h.step();
        h.event(Event::PointerButton {
            pos: p,
            button: PointerButton::Primary,
            pressed: false,
            modifiers: Modifiers::default(),
        });
        h.step();
        check_invariants(h.state()).unwrap();
    }
    // The model is kept, unchanged, for a dataset it fits.
    assert_eq!(h.state().latent(), 2);
}

/// After a model switch the strip, the posterior draws and the grid come from the new model's
/// codes (they used to be decoded from the old model's).
#[test]
fn a_model_switch_redoes_strip_draws_and_grid_from_the_new_codes() {
    let mut h = harness_at(egui::vec2(1400.0, 900.0));
    ready(&mut h);
    let (a, b) = (h.state().ws.map.indices[10], h.state().ws.map.indices[20]);
    h.state_mut().apply(Command::Select(a));
    h.state_mut().apply(Command::AddAnchor(a));
    h.state_mut().apply(Command::AddAnchor(b));
    h.state_mut().apply(Command::RebuildGrid);
    step_until(&mut h, "the strip, grid and draws", |app| {
        !app.panels.interpolation.strip.is_empty()
            && !app.panels.generate.grid.is_empty()
            && !app.panels.decoder.selection.spread.is_empty()
    });
    h.state_mut().apply(Command::OpenModel(
        root().join("models/mnist-latent16.safetensors"),
    ));
    step_until(&mut h, "the latent-16 codes", |app| {
        app.ws.map.latent() == 16
    });
    step_until(&mut h, "the new strip, grid and draws", |app| {
        !app.panels.interpolation.strip.is_empty()
            && !app.panels.generate.grid.is_empty()
            && !app.panels.decoder.selection.spread.is_empty()
    });
    let app = h.state();
    check_invariants(app).unwrap();
    let frames = &app.panels.interpolation.frames;
    assert!(frames.iter().all(|f| f.len() == 16));
    // The path starts and ends at the anchors' new codes.
    let close = |x: &[f32], y: &[f32]| x.iter().zip(y).all(|(p, q)| (p - q).abs() < 1e-5);
    assert!(close(&frames[0], &app.code_of(a).unwrap()));
    assert!(close(&frames[frames.len() - 1], &app.code_of(b).unwrap()));
    assert!(app.panels.generate.codes.iter().all(|c| c.len() == 16));
    assert_eq!(app.ws.selection, Some(a), "the selection (a sample) stays");
}

/// No spinner without work: after a training run (whose snapshots replace in-flight encodes)
/// and after a dialog that cannot be shown, nothing counts as busy.
#[test]
fn the_spinner_shows_only_while_work_is_in_flight() {
    let mut h = harness_at(egui::vec2(1400.0, 900.0));
    ready(&mut h);
    settle(&mut h, 30);
    assert!(!h.state().is_busy());
    h.state_mut().settings.train.epochs = 1;
    h.state_mut().apply(Command::StartTraining);
    step_until(&mut h, "training to start", |a| a.is_training());
    step_until(&mut h, "training to end", |a| !a.is_training());
    settle(&mut h, 30);
    assert!(!h.state().is_busy(), "busy after training ended");
    // A dialog that cannot be shown says so and leaves nothing busy.
    h.state_mut()
        .apply(Command::Dialog(DialogPurpose::OpenDatasetFolder));
    step_until(&mut h, "the no-dialog note", |a| {
        a.ws.notices
            .errors()
            .any(|n| n.text.contains("no file dialog"))
    });
    settle(&mut h, 10);
    assert!(!h.state().is_busy());
}

#[test]
fn an_untrained_model_shows_no_collapse_warning() {
    let mut h = harness_at(egui::vec2(1400.0, 900.0));
    ready(&mut h);
    h.state_mut().settings.new_model.latent = 8;
    h.state_mut().apply(Command::NewModel);
    step_until(&mut h, "the new model's codes", |a| a.ws.map.latent() == 8);
    h.step();
    assert!(
        h.query_by_label_contains("Posterior collapse").is_none(),
        "a model that never trained has not collapsed"
    );
    h.get_by_label_contains("KL per latent dimension");
}

#[test]
fn repeated_errors_collapse_into_one_line_with_a_count() {
    let mut h = harness_at(egui::vec2(1400.0, 900.0));
    ready(&mut h);
    let missing = root().join("no-such-dataset");
    for _ in 0..5 {
        h.state_mut().apply(Command::OpenDataset(missing.clone()));
    }
    settle(&mut h, 30);
    let errors: Vec<_> = h.state().ws.notices.errors().collect();
    assert_eq!(
        errors.len(),
        1,
        "{:?}",
        errors.iter().map(|n| &n.text).collect::<Vec<_>>()
    );
    assert_eq!(errors[0].count, 5);
    assert_eq!(errors[0].kind, NoticeKind::Error);
    h.get_by_label_contains("(x5)");
}

/// A message appearing does not move the controls: the strip has one height with or without.
#[test]
fn a_message_does_not_move_the_controls() {
    let mut h = harness_at(egui::vec2(1280.0, 720.0));
    ready(&mut h);
    settle(&mut h, 30);
    h.state_mut().apply(Command::DismissNotice(0));
    h.step();
    h.step();
    let before = h.get_by_label("Start").rect();
    h.state_mut()
        .apply(Command::OpenDataset(root().join("no-such-dataset")));
    step_until(&mut h, "the error", |a| a.ws.notices.errors().count() > 0);
    h.step();
    let after = h.get_by_label("Start").rect();
    assert_eq!(
        before, after,
        "the Start button moved when an error appeared"
    );
}

/// Fashion-MNIST's class names are long: they are cut to the panel, which keeps its width,
/// and the map's controls stay on screen at 1280x720.
#[test]
fn long_class_names_do_not_widen_the_panels() {
    let mut h = harness_at(egui::vec2(1280.0, 720.0));
    ready(&mut h);
    h.state_mut().apply(Command::OpenDataset(
        root().join("assets/fashion-mnist-sample"),
    ));
    step_until(&mut h, "Fashion-MNIST", |a| {
        a.ws.data.as_ref().is_some_and(|d| d.len() == 1200)
    });
    step_until(&mut h, "its map", |a| a.ws.map.codes.is_some());
    h.step();
    let open = h.get_by_label("Open folder…").rect();
    assert!(
        open.max.x < 430.0,
        "the left panel widened to {}",
        open.max.x
    );
    let size = h
        .get_by_role_and_label(egui::accesskit::Role::Slider, "point size")
        .rect();
    assert!(size.max.x <= 1280.0 && size.min.x > 230.0, "{size:?}");
}

/// No drag of a panel's edge squeezes the map away, and "Reset layout" puts the panels back.
#[test]
fn panel_edges_cannot_squeeze_the_map_away_and_reset_layout_restores_them() {
    let mut h = harness_at(egui::vec2(1280.0, 720.0));
    ready(&mut h);
    let reset_at = h.get_by_label("Reset to selection").rect();
    let map_before = h.state().panels.map.screen.unwrap().frame().width();
    // The right panel's left edge, dragged across the whole window.
    let edge = reset_at.min.x - 9.0;
    drag(&mut h, Pos2::new(edge, 400.0), Pos2::new(20.0, 400.0));
    let map_after = h.state().panels.map.screen.unwrap().frame().width();
    assert!(
        map_after > 250.0,
        "the map was squeezed from {map_before} to {map_after}"
    );
    h.state_mut().apply(Command::ResetLayout);
    h.step();
    h.step();
    let back = h.get_by_label("Reset to selection").rect();
    assert!(
        (back.min.x - reset_at.min.x).abs() < 2.0,
        "{back:?} vs {reset_at:?}"
    );
}

/// While a run trains, its loss curves are on screen at 1280x720 without scrolling.
#[test]
fn the_loss_curves_are_in_view_while_training_at_1280x720() {
    let mut h = harness_at(egui::vec2(1280.0, 720.0));
    ready(&mut h);
    h.state_mut().settings.train.epochs = 20;
    h.state_mut().apply(Command::StartTraining);
    step_until(&mut h, "some steps", |a| a.panels.training.steps.len() > 5);
    h.step();
    let above_plot = h.get_by_label("log scale").rect();
    // The plot (200 points high) follows the curve options.
    assert!(
        above_plot.max.y + 200.0 < 720.0,
        "the loss plot starts at {} and does not fit",
        above_plot.max.y
    );
    h.get_by_label("Stop").click();
    step_until(&mut h, "training to stop", |a| !a.is_training());
    // Continuing keeps the curve and counts on.
    let steps = h.state().panels.training.steps.len();
    h.state_mut().settings.train.epochs = 1;
    h.state_mut().apply(Command::StartTraining);
    step_until(&mut h, "more steps", |a| {
        a.panels.training.steps.len() > steps + 5
    });
    let t = &h.state().panels.training;
    assert!(
        t.steps.windows(2).all(|w| w[1][0] > w[0][0]),
        "steps count on"
    );
    h.state_mut().apply(Command::StopTraining);
    step_until(&mut h, "training to stop", |a| !a.is_training());
}

/// Adding anchors lengthens the anchor list but moves no button.
#[test]
fn adding_anchors_does_not_move_the_buttons() {
    let mut h = harness_at(egui::vec2(1400.0, 900.0));
    ready(&mut h);
    let i = h.state().ws.map.indices[40_000];
    h.state_mut().apply(Command::Select(i));
    h.step();
    h.step();
    let label = format!("Add selection ({i})");
    let add = h.get_by_label(&label).rect();
    let clear = h.get_by_label("Clear").rect();
    for j in [10, 20_000, 60_000] {
        h.state_mut().apply(Command::AddAnchor(j));
    }
    step_until(&mut h, "the strip", |a| {
        !a.panels.interpolation.strip.is_empty()
    });
    assert_eq!(h.get_by_label(&label).rect(), add);
    assert_eq!(h.get_by_label("Clear").rect(), clear);
    h.get_by_label_contains("Anchors: A=10 -> B=20000 -> C=60000");
}

/// The anomaly threshold belongs to one model on one dataset: another dataset starts afresh.
#[test]
fn the_anomaly_threshold_does_not_carry_over_to_another_dataset() {
    let mut h = harness_at(egui::vec2(1400.0, 900.0));
    ready(&mut h);
    h.state_mut().settings.anomaly_threshold = Some(335.0);
    h.state_mut().apply(Command::OpenDataset(
        root().join("assets/fashion-mnist-sample"),
    ));
    step_until(&mut h, "Fashion-MNIST", |a| {
        a.ws.data.as_ref().is_some_and(|d| d.len() == 1200)
    });
    assert_eq!(h.state().settings.anomaly_threshold, None);
}
