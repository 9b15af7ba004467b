//! Training that is not saved is not thrown away by one click: replacing the model asks first
//! (save, discard, or cancel), and errors about a state that has ended leave the screen.

mod common;
mod gui_support;
use egui::vec2;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use gui_support::{quiet_harness, quiet_options, settle, step_until};
use latent_explorer::gui::{AppOptions, Command, ExplorerApp, NoticeKind, Topic};

fn small_options() -> AppOptions {
    AppOptions {
        map_points: Some(2_000),
        ..quiet_options()
    }
}

/// The bundled pair, trained for one epoch in the window (not saved).
fn trained_harness() -> Harness<'static, ExplorerApp> {
    trained_harness_with(small_options())
}

fn trained_harness_with(options: AppOptions) -> Harness<'static, ExplorerApp> {
    let mut h = quiet_harness(options, vec2(1280.0, 720.0));
    step_until(&mut h, "the map", |a| a.ws.map.codes.is_some());
    h.state_mut().settings.train.epochs = 1;
    h.state_mut().apply(Command::StartTraining);
    step_until(&mut h, "training", |a| a.is_training());
    step_until(&mut h, "the end of the run", |a| !a.is_training());
    settle(&mut h, 30);
    assert!(h.state().holds_unsaved_training());
    h
}

/// A few frames: the prompt is laid out on the frame after the command, and shown on the next.
fn frames(h: &mut Harness<'static, ExplorerApp>) {
    for _ in 0..3 {
        h.step();
    }
}

fn parameter_count(h: &Harness<'static, ExplorerApp>) -> usize {
    h.state()
        .ws
        .model
        .as_ref()
        .unwrap()
        .config()
        .parameter_count()
}

#[test]
fn replacing_a_trained_unsaved_model_asks_and_cancel_keeps_it() {
    let mut h = trained_harness();
    let before = h.state().ws.generation();
    // A new model with another hidden size, so that a replacement would show.
    h.state_mut().settings.new_model.hidden = "64".into();
    h.state_mut().apply(Command::NewModel);
    frames(&mut h);
    assert!(h.state().panels.replace_prompt.held.is_some());
    h.get_by_label_contains("The model is not saved");
    h.get_by_label_contains("an epoch of training");
    h.get_by_label("Cancel").click();
    settle(&mut h, 5);
    assert!(h.state().panels.replace_prompt.held.is_none());
    assert_eq!(h.state().ws.generation(), before, "the trained model stays");
    assert!(h.state().holds_unsaved_training());

    // Escape cancels too.
    h.state_mut().apply(Command::OpenModel(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/mnist-latent16.safetensors"),
    ));
    frames(&mut h);
    assert!(h.state().panels.replace_prompt.held.is_some());
    h.key_press(egui::Key::Escape);
    settle(&mut h, 5);
    assert!(h.state().panels.replace_prompt.held.is_none());
    assert_eq!(h.state().ws.generation(), before);
}

#[test]
fn discarding_goes_ahead_with_what_was_asked() {
    let recovery_dir = tempfile::tempdir().unwrap();
    let store = latent_explorer::recovery::RecoveryStore::at(recovery_dir.path());
    let mut h = trained_harness_with(AppOptions {
        recovery: Some(store.clone()),
        ..small_options()
    });
    assert!(store.find().is_some(), "the epoch is in the recovery file");
    let trained_parameters = parameter_count(&h);
    h.state_mut().settings.new_model.hidden = "64".into();
    h.state_mut().apply(Command::NewModel);
    frames(&mut h);
    h.get_by_label("Discard it").click();
    step_until(&mut h, "the new model", |a| {
        a.ws.model
            .as_ref()
            .is_some_and(|m| m.config().parameter_count() != trained_parameters)
    });
    assert!(h.state().panels.replace_prompt.held.is_none());
    assert!(
        !h.state().holds_unsaved_training(),
        "the new model is untrained"
    );
    assert!(
        store.find().is_none(),
        "the discarded model is not offered back at the next start"
    );
    // Nothing trained is held now: the next replacement is not asked about.
    h.state_mut().settings.new_model.hidden = "32".into();
    h.state_mut().apply(Command::NewModel);
    settle(&mut h, 5);
    assert!(h.state().panels.replace_prompt.held.is_none());
}

#[test]
fn a_saved_model_is_replaced_without_asking() {
    let mut h = trained_harness();
    let trained_parameters = parameter_count(&h);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kept.safetensors");
    h.state_mut().apply(Command::SaveModelTo(path.clone()));
    step_until(&mut h, "the save", |a| !a.ws.model_unsaved);
    assert!(path.exists());
    h.state_mut().settings.new_model.hidden = "64".into();
    h.state_mut().apply(Command::NewModel);
    settle(&mut h, 5);
    assert!(h.state().panels.replace_prompt.held.is_none());
    assert_ne!(
        parameter_count(&h),
        trained_parameters,
        "the new model is in"
    );
}

#[test]
fn a_misfit_error_leaves_once_model_and_data_fit() {
    let dir = tempfile::tempdir().unwrap();
    let small = common::write_idx_dataset(dir.path(), "digits8", 200, 40, 8, 8);
    let mut h = quiet_harness(small_options(), vec2(1280.0, 720.0));
    step_until(&mut h, "the map", |a| a.ws.map.codes.is_some());
    h.state_mut().apply(Command::OpenDataset(small));
    step_until(&mut h, "the 8x8 dataset", |a| {
        a.ws.data.as_ref().is_some_and(|d| d.shape.len() == 64)
    });
    h.state_mut().apply(Command::StartTraining);
    settle(&mut h, 3);
    let misfits = |a: &ExplorerApp| {
        a.ws.notices
            .iter()
            .filter(|n| n.kind == NoticeKind::Error && n.topic == Some(Topic::PairMisfit))
            .count()
    };
    assert_eq!(
        misfits(h.state()),
        2,
        "the open and the refused start both say why"
    );
    h.state_mut().apply(Command::NewModel);
    step_until(&mut h, "a model for 8x8 images", |a| {
        a.ws.model
            .as_ref()
            .is_some_and(|m| m.config().input.len() == 64)
    });
    assert_eq!(
        misfits(h.state()),
        0,
        "the new model fits: the errors saying it does not are gone"
    );
}
