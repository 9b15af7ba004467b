//! Faults in the window's background threads and a desktop without file dialogs. Faults are
//! injected through the app's job and training hooks, which only tests set.

mod gui_support;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use gui_support::step_until;
use latent_explorer::gui::{AppOptions, Command, DialogPurpose, ExplorerApp, FileDialogs};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A desktop with no portal: every dialog "returns" at once with nothing.
struct NoDialogs;

impl FileDialogs for NoDialogs {
    fn pick(&self, _: DialogPurpose) -> Option<PathBuf> {
        None
    }
}

/// Faults the tests switch on.
#[derive(Default)]
struct Faults {
    /// The next background job panics.
    worker: AtomicBool,
    /// Training panics at its 20th step.
    training: AtomicBool,
    steps: AtomicUsize,
}

fn harness_with(faults: Arc<Faults>) -> Harness<'static, ExplorerApp> {
    let (jf, tf) = (faults.clone(), faults);
    Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_eframe(move |cc| {
            ExplorerApp::new(
                cc,
                AppOptions {
                    dialogs: Arc::new(NoDialogs),
                    restore_settings: false,
                    recovery: None,
                    log: false,
                    job_hook: Some(Arc::new(move |_| {
                        if jf.worker.swap(false, Ordering::SeqCst) {
                            panic!("fault injected into the worker");
                        }
                    })),
                    train_hook: Some(Arc::new(move |ev| {
                        if matches!(ev, latent_explorer::train::TrainEvent::Step(_))
                            && tf.training.load(Ordering::SeqCst)
                            && tf.steps.fetch_add(1, Ordering::SeqCst) + 1 == 20
                        {
                            panic!("fault injected into training");
                        }
                    })),
                    ..AppOptions::default()
                },
            )
        })
}

fn harness() -> Harness<'static, ExplorerApp> {
    harness_with(Arc::default())
}

fn errors(app: &ExplorerApp) -> Vec<String> {
    app.ws.notices.errors().map(|n| n.text.clone()).collect()
}

fn ready(h: &mut Harness<'static, ExplorerApp>) {
    step_until(h, "the map", |a| a.ws.map.codes.is_some());
}

#[test]
fn a_panic_in_the_worker_is_reported_and_the_app_stays_usable() {
    let faults = Arc::new(Faults::default());
    let mut h = harness_with(faults.clone());
    ready(&mut h);
    faults.worker.store(true, Ordering::SeqCst);
    h.state_mut().apply(Command::RebuildGrid);
    step_until(&mut h, "the error", |a| !errors(a).is_empty());
    assert!(
        errors(h.state())[0].contains("internal error"),
        "{:?}",
        errors(h.state())
    );
    // The worker still works: a new grid is decoded by it.
    h.state_mut().apply(Command::RebuildGrid);
    step_until(&mut h, "the grid", |a| !a.panels.generate.grid.is_empty());
    assert_eq!(h.state().ws.data.as_ref().unwrap().len(), 70_000);
}

#[test]
fn a_panic_in_training_is_reported_and_the_app_stays_usable() {
    let faults = Arc::new(Faults::default());
    faults.training.store(true, Ordering::SeqCst);
    let mut h = harness_with(faults);
    ready(&mut h);
    let before = h.state().ws.model.clone().unwrap();
    h.get_by_label("Start").click();
    step_until(&mut h, "the crash report", |a| !errors(a).is_empty());
    let app = h.state();
    assert!(!app.is_training());
    assert!(
        errors(app)[0].contains("internal error"),
        "{:?}",
        errors(app)
    );
    let model = app.ws.model.clone().unwrap();
    assert_eq!(model.latent(), before.latent());
    assert!(
        model
            .decode(&[0.0, 0.0])
            .unwrap()
            .iter()
            .all(|v| v.is_finite())
    );
    // Still usable: select a sample.
    let i = app.ws.map.indices[5];
    h.state_mut().apply(Command::Select(i));
    h.step();
    assert_eq!(h.state().ws.selection, Some(i));
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
        h.state().ws.data.as_ref().unwrap().len(),
        70_000,
        "nothing changed"
    );
    // Typing the path works instead.
    let fashion =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/mnist/t10k-images-idx3-ubyte.gz");
    h.state_mut().panels.dataset.typed_path = fashion.display().to_string();
    h.step();
    h.get_by_label("Open this dataset").click();
    step_until(&mut h, "the typed dataset", |a| {
        a.ws.data.as_ref().is_some_and(|d| d.len() == 10_000)
    });
    // And the model's path fields are open and named.
    h.step();
    h.get_by_label("Open this model");
    h.get_by_label("Save to this path");
}
