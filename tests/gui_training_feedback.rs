//! Training feedback that accumulates, and a start that cannot hang: continued training adds
//! to the curves, the epoch count and the timeline; the ETA stands still while paused; a
//! remembered dataset and model that do not fit each other fall back to the bundled pair; the
//! map takes the training images' codes from the run while it goes on, and is exact after.

mod common;
mod gui_support;
use egui::vec2;
use gui_support::{quiet_harness, quiet_options, settle, step_until};
use latent_explorer::gui::{AppOptions, Command, NoticeKind};
use latent_explorer::train::split_indices;
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn small_options() -> AppOptions {
    AppOptions {
        // A small map keeps the per-epoch re-encoding quick.
        map_points: Some(5_000),
        ..quiet_options()
    }
}

#[test]
fn continued_training_adds_to_the_curves_the_epochs_and_the_timeline() {
    let mut h = quiet_harness(small_options(), vec2(1280.0, 720.0));
    step_until(&mut h, "the map", |a| a.ws.map.codes.is_some());
    settle(&mut h, 60);
    h.state_mut().settings.train.epochs = 1;
    h.state_mut().apply(Command::StartTraining);
    step_until(&mut h, "the first run", |a| {
        !a.panels.training.epochs.is_empty()
    });
    settle(&mut h, 120);
    let (steps1, last_x1, frames1) = {
        let a = h.state();
        let t = &a.panels.training;
        (
            t.steps.len(),
            t.steps.last().unwrap()[0],
            a.ws.timeline.frames.len(),
        )
    };
    assert!(steps1 > 10 && frames1 > 0);
    h.state_mut().apply(Command::StartTraining);
    step_until(&mut h, "the second run", |a| {
        a.panels.training.epochs.len() == 2
    });
    settle(&mut h, 120);
    let a = h.state();
    let t = &a.panels.training;
    assert!(
        t.steps.len() > steps1 + 10,
        "the curve kept its first run and grew"
    );
    assert!(
        t.steps[steps1][0] > last_x1,
        "the second run's steps continue after the first's: {} after {last_x1}",
        t.steps[steps1][0]
    );
    assert_eq!(t.epochs_before, 1, "the epochs count on from the first run");
    assert!(t.epochs[1].0 > t.epochs[0].0);
    assert!(a.ws.timeline.frames.len() > frames1, "the timeline grew");
}

#[test]
fn the_eta_stands_still_while_paused() {
    let mut h = quiet_harness(small_options(), vec2(1280.0, 720.0));
    step_until(&mut h, "the map", |a| a.ws.map.codes.is_some());
    settle(&mut h, 60);
    h.state_mut().settings.train.epochs = 50;
    h.state_mut().apply(Command::StartTraining);
    step_until(&mut h, "some steps", |a| {
        a.panels
            .training
            .last_step
            .as_ref()
            .is_some_and(|s| s.global_step > 20)
    });
    h.state_mut().apply(Command::PauseTraining);
    step_until(&mut h, "the pause", |a| a.panels.training.paused);
    // Let the last in-flight step land.
    for _ in 0..10 {
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = h.state().panels.training.eta_secs().unwrap();
    std::thread::sleep(Duration::from_millis(600));
    h.step();
    let after = h.state().panels.training.eta_secs().unwrap();
    assert!(
        (after - before).abs() < 1e-6,
        "ETA {before} -> {after} while paused"
    );
    h.state_mut().apply(Command::StopTraining);
    step_until(&mut h, "the stop", |a| !a.is_training());
}

#[test]
fn a_refusal_made_while_training_is_withdrawn_when_training_ends() {
    let mut h = quiet_harness(small_options(), vec2(1280.0, 720.0));
    step_until(&mut h, "the map", |a| a.ws.map.codes.is_some());
    settle(&mut h, 60);
    h.state_mut().settings.train.epochs = 50;
    h.state_mut().apply(Command::StartTraining);
    step_until(&mut h, "training", |a| a.is_training());
    h.state_mut()
        .apply(Command::OpenDataset(common::mnist_dir()));
    h.step();
    let refusals = |a: &latent_explorer::gui::ExplorerApp| {
        a.ws.notices
            .errors()
            .filter(|n| n.text.starts_with("stop training before"))
            .count()
    };
    assert_eq!(refusals(h.state()), 1, "the open is refused while training");
    h.state_mut().apply(Command::StopTraining);
    step_until(&mut h, "the stop", |a| !a.is_training());
    assert_eq!(
        refusals(h.state()),
        0,
        "once training has ended the refusal no longer holds, so it is not left on screen"
    );
}

/// Settings as eframe would have stored them.
struct MemoryStorage(std::collections::HashMap<String, String>);

impl eframe::Storage for MemoryStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_string(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

#[test]
fn a_remembered_pair_that_does_not_fit_falls_back_to_the_bundled_pair_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let digits = common::write_idx_dataset(dir.path(), "digits8", 200, 40, 8, 8);
    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/mnist-latent2.safetensors");
    let mut storage = MemoryStorage(Default::default());
    let settings = latent_explorer::gui::Settings {
        dataset_path: Some(digits),
        model_path: Some(model),
        ..Default::default()
    };
    eframe::set_value(&mut storage, eframe::APP_KEY, &settings);
    let options = AppOptions {
        restore_settings: true,
        ..quiet_options()
    };
    let mut h = egui_kittest::Harness::builder()
        .with_size(vec2(1280.0, 720.0))
        .build_eframe(move |cc| {
            latent_explorer::gui::ExplorerApp::with_context(
                cc.egui_ctx.clone(),
                Some(&storage),
                options,
            )
        });
    step_until(&mut h, "a map", |a| a.ws.map.codes.is_some());
    settle(&mut h, 60);
    let a = h.state();
    let data = a.ws.data.as_ref().unwrap();
    assert_eq!(data.len(), 70_000, "the bundled MNIST");
    assert!(a.ws.model.as_ref().unwrap().check_fits(data).is_ok());
    assert!(
        a.ws.notices
            .iter()
            .any(|n| n.text.contains("opened the bundled ones")),
        "a note says why"
    );
    assert!(!a.is_loading(), "start-up ended");
}

#[test]
fn a_dataset_named_at_start_is_kept_even_when_the_default_model_does_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let digits = common::write_idx_dataset(dir.path(), "digits8", 200, 40, 8, 8);
    let options = AppOptions {
        dataset: Some(digits),
        ..quiet_options()
    };
    let mut h = quiet_harness(options, vec2(1280.0, 720.0));
    step_until(&mut h, "the dataset", |a| {
        a.ws.data.is_some() && !a.is_busy()
    });
    settle(&mut h, 30);
    let a = h.state();
    assert_eq!(
        a.ws.data.as_ref().unwrap().shape.len(),
        64,
        "the 8x8 dataset asked for, not the bundled MNIST"
    );
    // The model was start-up's choice, not the user's: a note, not an error.
    assert!(
        a.ws.notices
            .iter()
            .any(|n| n.kind == NoticeKind::Info && n.text.contains("expects images of 28x28")),
        "the window says the model does not fit it"
    );
    assert_eq!(a.ws.notices.errors().count(), 0);
}

/// While a run goes on, the map's training images take the codes their steps computed (from
/// weights up to an epoch old) and only the held-out images are encoded, with the snapshot's
/// own weights; once the run has ended the whole map is encoded again with the final weights.
#[test]
fn while_training_the_map_takes_the_steps_codes_and_is_exact_once_the_run_ends() {
    let dir = tempfile::tempdir().unwrap();
    let options = AppOptions {
        // Every sample on the map, the held-out ones too.
        dataset: Some(common::write_idx_dataset(
            dir.path(),
            "small",
            3000,
            500,
            28,
            28,
        )),
        ..quiet_options()
    };
    let mut h = quiet_harness(options, vec2(1280.0, 720.0));
    step_until(&mut h, "the map", |a| a.ws.map.codes.is_some());
    settle(&mut h, 60);
    h.state_mut().settings.train.epochs = 40;
    h.state_mut().apply(Command::StartTraining);
    let (data, indices) = {
        let a = h.state();
        (a.ws.data.clone().unwrap(), a.ws.map.indices.clone())
    };
    let (train, _) = split_indices(&data, &h.state().settings.train);
    let train: HashSet<usize> = train.into_iter().collect();
    let (held_out_rows, train_rows): (Vec<usize>, Vec<usize>) =
        (0..indices.len()).partition(|&r| !train.contains(&indices[r]));
    assert!(!held_out_rows.is_empty() && !train_rows.is_empty());
    let (mut snapshots, mut from_steps, mut seen) = (0, 0, h.state().ws.map.codes_version);
    let mut held_fresh = 0;
    let started = Instant::now();
    while h.state().is_training() {
        assert!(started.elapsed() < Duration::from_secs(300), "never ended");
        h.step();
        let a = h.state();
        if a.ws.map.codes_version == seen || !a.is_training() {
            continue;
        }
        seen = a.ws.map.codes_version;
        snapshots += 1;
        let (model, codes) = (a.ws.model.clone().unwrap(), a.ws.map.codes.clone().unwrap());
        let differs = |rows: &[usize]| {
            let idx: Vec<usize> = rows.iter().map(|&r| indices[r]).collect();
            let fresh = model.encode(&data, &idx).unwrap();
            let l = fresh.latent;
            let mut worst = 0f32;
            for (k, &r) in rows.iter().enumerate() {
                for d in 0..l {
                    worst = worst.max((codes.mean[r * l + d] - fresh.mean[k * l + d]).abs());
                }
            }
            worst
        };
        // Held-out codes are encoded with the snapshot's weights, or kept from an earlier
        // snapshot while the encoder rests (the snapshot encoder's unit tests check which).
        if differs(&held_out_rows) < 1e-4 {
            held_fresh += 1;
        }
        if differs(&train_rows) > 1e-3 {
            from_steps += 1;
        }
    }
    assert!(snapshots >= 2, "only {snapshots} snapshots");
    assert!(held_fresh >= 1, "the held-out codes were never encoded");
    assert!(
        from_steps >= 1,
        "no snapshot took the training images' codes from the steps"
    );
    step_until(&mut h, "the map encoded after the run", |a| {
        a.ws.map.codes_version != seen && !a.is_busy()
    });
    let a = h.state();
    let (model, codes) = (a.ws.model.clone().unwrap(), a.ws.map.codes.clone().unwrap());
    let exact = model.encode(&data, &indices).unwrap();
    let worst = codes
        .mean
        .iter()
        .zip(&exact.mean)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(worst < 1e-4, "the final map is off by {worst}");
}
