//! The window reads datasets with the same options as the command line (`--label-column`,
//! `--pixel-range`, `--image-size`): set in the dataset panel, used for every open, and a
//! dataset can be reopened with them; and it refuses to train at a batch the machine cannot hold.

mod gui_support;
use egui_kittest::kittest::Queryable;
use gui_support::{quiet_harness, quiet_options, step_until};
use latent_explorer::gui::Command;

/// A headerless CSV of 4x4 images whose first column is 0 or 255 (two values: the rule takes
/// it for the label) and whose last column is the real label (five classes).
fn csv_with_label_last(dir: &std::path::Path) -> (std::path::PathBuf, Vec<u32>) {
    let mut text = String::new();
    let mut labels = Vec::new();
    for i in 0..50u32 {
        let mut row = vec![if i % 3 == 0 { 255 } else { 0 }];
        row.extend((1..16).map(|k| (i * 7 + k * 13) % 256));
        row.push(i % 5);
        labels.push(i % 5);
        let row: Vec<String> = row.iter().map(u32::to_string).collect();
        text.push_str(&(row.join(",") + "\n"));
    }
    let path = dir.join("label-last.csv");
    std::fs::write(&path, text).unwrap();
    (path, labels)
}

#[test]
fn the_label_column_set_in_the_window_is_the_one_read() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, labels) = csv_with_label_last(dir.path());
    let mut h = quiet_harness(quiet_options(), egui::vec2(1400.0, 900.0));
    step_until(&mut h, "the bundled dataset", |a| a.ws.data.is_some());

    // An option that does not parse: refused with the reason, nothing opened.
    h.state_mut().settings.dataset_options.label_column = "0".into();
    h.state_mut().apply(Command::OpenDataset(csv.clone()));
    step_until(&mut h, "the refusal", |a| {
        a.ws.notices
            .errors()
            .any(|n| n.text.contains("dataset options") && n.text.contains("label column '0'"))
    });
    assert_eq!(h.state().ws.data.as_ref().unwrap().len(), 70_000);

    // By the rule, the two-valued first column is taken for the label...
    h.state_mut().settings.dataset_options.label_column = "auto".into();
    h.state_mut().apply(Command::OpenDataset(csv.clone()));
    step_until(&mut h, "the CSV", |a| {
        a.ws.data.as_ref().is_some_and(|d| d.len() == 50)
    });
    let d = h.state().ws.data.clone().unwrap();
    assert_eq!(
        (d.label(0), d.label(1)),
        (Some(255), Some(0)),
        "the rule took the 0/255 column"
    );

    // ...and "last", chosen in the panel, reads the real labels when reopened from there.
    h.state_mut().settings.dataset_options.label_column = "last".into();
    for _ in 0..4 {
        h.step();
    }
    if h.query_by_label("Reopen with these").is_none() {
        h.get_by_label("Load options (changed)").click();
        h.step();
        h.step();
    }
    h.get_by_label("Reopen with these").click();
    step_until(&mut h, "the CSV read with the label last", |a| {
        a.ws.data
            .as_ref()
            .is_some_and(|d| d.len() == 50 && d.class_names().len() == 5)
    });
    let d = h.state().ws.data.clone().unwrap();
    let read: Vec<u32> = (0..50).map(|i| d.label(i).unwrap() as u32).collect();
    assert_eq!(read, labels);
    assert_eq!((d.shape.height, d.shape.width), (4, 4));
}

#[test]
fn a_batch_the_memory_cannot_hold_is_refused_before_training() {
    // A small budget: the bundled model and dataset fit, a batch of 65,536 does not. (Set before
    // any window exists; the other test in this file fits in it too.)
    // SAFETY: set once, before this test starts any thread that reads the environment.
    unsafe { std::env::set_var(latent_explorer::budget::MEMORY_ENV, "300M") };
    let mut h = quiet_harness(quiet_options(), egui::vec2(1400.0, 900.0));
    step_until(&mut h, "the bundled pair", |a| {
        a.ws.data.is_some() && a.ws.model.is_some()
    });
    h.state_mut().settings.train.batch_size = 65_536;
    h.state_mut().apply(Command::StartTraining);
    h.step();
    assert!(!h.state().is_training());
    let refused =
        h.state().ws.notices.errors().any(|n| {
            n.text.contains("batches of 65536") && n.text.contains("LATENT_EXPLORER_MEMORY")
        });
    assert!(
        refused,
        "{:?}",
        h.state()
            .ws
            .notices
            .errors()
            .map(|n| &n.text)
            .collect::<Vec<_>>()
    );
    // At the usual batch it trains.
    h.state_mut().settings.train.batch_size = 128;
    h.state_mut().settings.train.epochs = 1;
    h.state_mut().apply(Command::StartTraining);
    h.step();
    assert!(h.state().is_training());
    h.state_mut().apply(Command::StopTraining);
    step_until(&mut h, "training to stop", |a| !a.is_training());
}
