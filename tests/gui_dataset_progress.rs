//! Opening a large image folder in the window: the Dataset panel counts the images as they
//! are read, Cancel stops the reading and keeps the dataset and model that were open (with a
//! notice saying so), and the same folder then opens in full.

mod common;
mod gui_support;

use egui_kittest::kittest::Queryable;
use gui_support::{check_invariants, quiet_harness, quiet_options, step_until};
use latent_explorer::data::LoadStage;
use latent_explorer::gui::{Command, NoticeKind};
use std::sync::Arc;

/// Large enough that reading it (listing, headers, decoding) takes a good part of a second
/// even on a fast machine, so Cancel is reached well before the end.
const IMAGES: usize = 20_000;

#[test]
fn a_folder_shows_its_progress_and_cancel_keeps_the_open_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let root = common::write_mnist_pngs(&dir.path().join("digits"), IMAGES);
    let mut h = quiet_harness(quiet_options(), egui::vec2(1400.0, 900.0));
    step_until(&mut h, "the bundled pair", |a| {
        a.ws.data.is_some() && a.ws.model.is_some() && !a.is_loading()
    });
    let data_before = h.state().ws.data.clone().unwrap();
    let model_before = h.state().ws.model.clone().unwrap();

    h.state_mut().apply(Command::OpenDataset(root.clone()));
    step_until(&mut h, "the folder's images being counted", |a| {
        a.dataset_load_progress().is_some_and(|(_, v)| {
            matches!(v.stage, LoadStage::ReadingHeaders | LoadStage::Decoding)
        })
    });
    // "Reading image headers: 1,234 / 20,000" or "Reading images: ...", with a bar.
    h.get_by_label_contains("Reading image");
    h.get_by_label_contains("/ 20,000");
    h.get_by_label_contains("Opening digits");
    h.get_by_label("Cancel opening").click();
    step_until(&mut h, "the cancel notice", |a| {
        a.ws.notices
            .iter()
            .any(|n| n.kind == NoticeKind::Info && n.text.contains("was cancelled"))
    });
    step_until(&mut h, "the load to end", |a| !a.is_loading());
    let app = h.state();
    assert!(
        Arc::ptr_eq(app.ws.data.as_ref().unwrap(), &data_before),
        "the open dataset was replaced"
    );
    assert!(Arc::ptr_eq(app.ws.model.as_ref().unwrap(), &model_before));
    assert!(app.dataset_load_progress().is_none());
    assert_eq!(app.ws.notices.errors().count(), 0);
    let notice = app
        .ws
        .notices
        .iter()
        .find(|n| n.text.contains("was cancelled"))
        .unwrap();
    assert!(notice.text.contains("digits"), "{}", notice.text);
    assert!(notice.text.contains("is still open"), "{}", notice.text);
    check_invariants(app).unwrap();
    h.step();
    assert!(h.query_by_label_contains("Reading image").is_none());

    // Not cancelled, the same folder opens whole.
    h.state_mut().apply(Command::OpenDataset(root.clone()));
    step_until(&mut h, "the folder", |a| {
        a.ws.data.as_ref().is_some_and(|d| d.len() == IMAGES) && !a.is_loading()
    });
    let app = h.state();
    assert_eq!(app.ws.data.as_ref().unwrap().class_names().len(), 10);
    assert!(app.dataset_load_progress().is_none());
    check_invariants(app).unwrap();
}
