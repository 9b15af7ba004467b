//! Nothing trained is lost: a window process training an unsaved model is killed after an
//! epoch, and the next start offers the model back, whole and working.
//!
//! The window process is this test binary run again (`recovery_child`), driving the real App
//! headless through egui_kittest; the parent kills it with SIGKILL once the trainer has written
//! the recovery file, so no exit handler or panic hook runs.

mod common;
mod gui_support;
use egui_kittest::kittest::Queryable;
use gui_support::{quiet_harness, quiet_options, step_until};
use latent_explorer::gui::{AppOptions, Command};
use latent_explorer::recovery::RecoveryStore;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "LATENT_EXPLORER_TEST_RECOVERY_CHILD";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn options(dir: &Path) -> AppOptions {
    AppOptions {
        dataset: Some(root().join("assets/fashion-mnist-sample")),
        recovery: Some(RecoveryStore::at(dir)),
        ..quiet_options()
    }
}

/// The window process: trains an unsaved model until it is killed. Does nothing when run as
/// an ordinary test.
#[test]
fn recovery_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let mut h = quiet_harness(options(Path::new(&dir)), egui::vec2(1280.0, 720.0));
    step_until(&mut h, "the map", |a| a.ws.map.codes.is_some());
    h.state_mut().settings.new_model.latent = 4;
    h.state_mut().apply(Command::NewModel);
    step_until(&mut h, "the new model's map", |a| a.ws.map.latent() == 4);
    h.state_mut().settings.train.epochs = 1000;
    h.state_mut().apply(Command::StartTraining);
    loop {
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_killed_window_offers_its_unsaved_model_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = RecoveryStore::at(dir.path());
    let mut child = Process::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "recovery_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while store.find().is_none() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the window process ended by itself: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "no recovery file after 3 minutes"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Killed mid-run, after at least one epoch: no chance to clean up.
    child.kill().unwrap();
    child.wait().unwrap();

    let mut h = quiet_harness(options(dir.path()), egui::vec2(1280.0, 720.0));
    step_until(&mut h, "the map", |a| a.ws.map.codes.is_some());
    assert!(
        h.state().recovered.is_some(),
        "the restart offers the model"
    );
    h.get_by_label_contains("Restore the unsaved model from")
        .click();
    step_until(&mut h, "the restored model", |a| {
        a.latent() == 4 && a.ws.map.latent() == 4
    });
    let app = h.state();
    let model = app.ws.model.as_ref().unwrap();
    assert!(model.history.epochs >= 1, "{} epochs", model.history.epochs);
    assert!(app.ws.model_unsaved, "restored, not yet saved");
    let decoded = model.decode(&[0.0; 4]).unwrap();
    assert!(
        decoded
            .iter()
            .all(|v| v.is_finite() && (0.0..=1.0).contains(v))
    );
    assert!(app.recovered.is_none());

    // Saving it for real removes the recovery file.
    let saved = dir.path().join("kept.safetensors");
    h.state_mut().apply(Command::SaveModelTo(saved.clone()));
    step_until(&mut h, "the save", |a| !a.ws.model_unsaved);
    assert!(saved.exists());
    assert!(store.find().is_none());
}

#[test]
fn discard_deletes_the_recovery_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = RecoveryStore::at(dir.path());
    let model =
        latent_explorer::model::Model::load(&root().join("models/mnist-latent2.safetensors"))
            .unwrap();
    store.save(&model, None, None).unwrap();
    let mut h = quiet_harness(options(dir.path()), egui::vec2(1280.0, 720.0));
    step_until(&mut h, "the map", |a| a.ws.map.codes.is_some());
    h.get_by_label("Discard").click();
    h.step();
    h.step();
    assert!(h.state().recovered.is_none());
    assert!(store.find().is_none());
    assert!(h.query_by_label("Discard").is_none());
}

/// A recovered model that does not fit the dataset open at start comes back with its own.
#[test]
fn a_recovered_model_comes_back_with_its_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let digits = common::write_idx_dataset(data_dir.path(), "digits8", 200, 40, 8, 8);
    let config = latent_explorer::model::VaeConfig::for_shape(
        latent_explorer::data::ImageShape::new(8, 8, 1),
        3,
    );
    let model = latent_explorer::model::Model::new_random(config, 1).unwrap();
    RecoveryStore::at(dir.path())
        .save(&model, Some(&digits), None)
        .unwrap();
    let mut h = quiet_harness(
        AppOptions {
            recovery: Some(RecoveryStore::at(dir.path())),
            ..quiet_options()
        },
        egui::vec2(1280.0, 720.0),
    );
    step_until(&mut h, "the map", |a| a.ws.map.codes.is_some());
    h.get_by_label_contains("Restore the unsaved model from")
        .click();
    step_until(&mut h, "the model with its dataset", |a| {
        a.latent() == 3 && a.ws.map.latent() == 3
    });
    let app = h.state();
    assert_eq!(app.ws.data.as_ref().unwrap().len(), 240);
    assert!(app.ws.model_unsaved);
}
