//! Faults in the window's background threads and a desktop without file dialogs. A separate
//! test binary, because the training fault is switched on through the environment.

mod gui_support;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use gui_support::step_until;
use latent_explorer::gui::{
    AppOptions, Command, DialogPurpose, ExplorerApp, FileDialogs, NoticeKind,
};
use std::path::PathBuf;
use std::sync::Arc;

/// A desktop with no portal: every dialog "returns" at once with nothing.
struct NoDialogs;

impl FileDialogs for NoDialogs {
    fn pick(&self, _: DialogPurpose) -> Option<PathBuf> {
        None
    }
}

fn harness() -> Harness<'static, ExplorerApp> {
    // SAFETY: set before the app's threads start; the training fault fires only in
    // `a_panic_in_training_is_reported_and_the_app_stays_usable`, which starts training.
    unsafe {
        std::env::set_var("LATENT_EXPLORER_QUIET", "1");
        std::env::set_var("LATENT_EXPLORER_FAULT", "train-panic");
    }
    Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_eframe(|cc| {
            ExplorerApp::new(
                cc,
                AppOptions {
                    dialogs: Arc::new(NoDialogs),
                    restore_settings: false,
                    ..AppOptions::default()
                },
            )
        })
}

fn errors(app: &ExplorerApp) -> Vec<String> {
    app.session
        .notices
        .iter()
        .filter(|n| n.kind == NoticeKind::Error)
        .map(|n| n.text.clone())
        .collect()
}

fn ready(h: &mut Harness<'static, ExplorerApp>) {
    step_until(h, "the map", |a| a.session.map.codes.is_some());
}

#[test]
fn a_panic_in_the_worker_is_reported_and_the_app_stays_usable() {
    let mut h = harness();
    ready(&mut h);
    h.state().inject_worker_fault();
    step_until(&mut h, "the error", |a| !errors(a).is_empty());
    assert!(
        errors(h.state())[0].contains("internal error"),
        "{:?}",
        errors(h.state())
    );
    // The worker still works: a new grid is decoded by it.
    h.state_mut().apply(Command::RebuildGrid);
    step_until(&mut h, "the grid", |a| !a.session.generated.grid.is_empty());
    assert_eq!(h.state().session.data.as_ref().unwrap().len(), 70_000);
}

#[test]
fn a_panic_in_training_is_reported_and_the_app_stays_usable() {
    let mut h = harness();
    ready(&mut h);
    let before = h.state().session.model.clone().unwrap();
    h.get_by_label("Start").click();
    step_until(&mut h, "the crash report", |a| !errors(a).is_empty());
    let app = h.state();
    assert!(!app.is_training());
    assert!(
        errors(app)[0].contains("internal error"),
        "{:?}",
        errors(app)
    );
    let model = app.session.model.clone().unwrap();
    assert_eq!(model.latent(), before.latent());
    assert!(
        model
            .decode(&[0.0, 0.0])
            .unwrap()
            .iter()
            .all(|v| v.is_finite())
    );
    // Still usable: select a sample.
    let i = app.session.map.indices[5];
    h.state_mut().apply(Command::Select(i));
    h.step();
    assert_eq!(h.state().session.selection, Some(i));
    h.get_by_label("Start");
}

#[test]
fn without_file_dialogs_the_user_is_told_and_can_type_a_path() {
    let mut h = harness();
    ready(&mut h);
    h.get_by_label("Open dataset…").click();
    step_until(&mut h, "the note", |a| !errors(a).is_empty());
    let e = errors(h.state());
    assert!(e[0].contains("no file dialog"), "{e:?}");
    assert_eq!(
        h.state().session.data.as_ref().unwrap().len(),
        70_000,
        "nothing changed"
    );
    // Typing the path works instead.
    let fashion =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/mnist/t10k-images-idx3-ubyte.gz");
    h.state_mut().session.typed_dataset_path = fashion.display().to_string();
    h.step();
    h.get_by_label("Open this dataset").click();
    step_until(&mut h, "the typed dataset", |a| {
        a.session.data.as_ref().is_some_and(|d| d.len() == 10_000)
    });
    // And the model's path fields are open and named.
    h.step();
    h.get_by_label("Open this model");
    h.get_by_label("Save to this path");
}
