//! The Traversal tab with the real app: it computes a grid on the worker and shows it, follows
//! its controls, survives the model changing under a request, and exports PNG and GIF.

mod common;
mod gui_support;

use egui_kittest::kittest::Queryable;
use gui_support::*;
use latent_explorer::gui::{AppOptions, BottomTab, Command, ExplorerApp};
use latent_explorer::model::ACTIVE_KL_THRESHOLD;
use std::path::{Path, PathBuf};

fn bundled(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

fn step_checked(
    h: &mut egui_kittest::Harness<'static, ExplorerApp>,
    what: &str,
    done: impl Fn(&ExplorerApp) -> bool,
) {
    let start = std::time::Instant::now();
    while !done(h.state()) {
        assert!(
            start.elapsed().as_secs() < 90,
            "timed out waiting for {what}"
        );
        h.step();
        if let Err(e) = check_invariants(h.state()) {
            panic!("while waiting for {what}: {e}");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    h.step();
}

#[test]
fn the_traversal_tab_shows_the_active_dimensions_by_kl_and_survives_a_model_change() {
    // The bundled latent-16 model with three dimensions collapsed onto the prior.
    let dir = tempfile::tempdir().unwrap();
    let collapsed = dir.path().join("collapsed.safetensors");
    common::latent16_with_collapsed(&[2, 9, 13])
        .save(&collapsed)
        .unwrap();
    let options = AppOptions {
        model: Some(collapsed),
        ..quiet_options()
    };
    let mut h = quiet_harness(options, egui::vec2(1400.0, 900.0));
    step_checked(&mut h, "the latent-16 map", |a| {
        a.ws.map.codes.as_ref().is_some_and(|c| c.latent == 16)
    });
    h.get_by_label("Traversal").click();
    step_checked(&mut h, "the traversal grid", |a| {
        a.panels.traversal.grid.is_some()
    });
    let app = h.state();
    assert_eq!(app.settings.bottom_tab, BottomTab::Traversal);
    let kl = app.ws.map.codes.as_ref().unwrap().kl_per_dim();
    let active = kl.iter().filter(|&&k| k > ACTIVE_KL_THRESHOLD).count();
    assert_eq!(active, 13, "{kl:?}");
    let grid = app.panels.traversal.grid.clone().unwrap();
    assert_eq!(grid.rows(), active);
    assert_eq!(grid.columns(), app.settings.traversal.steps);
    let kls: Vec<f32> = grid.plan.rows.iter().map(|r| r.kl.unwrap()).collect();
    assert!(kls.windows(2).all(|w| w[0] >= w[1]), "{kls:?}");
    // What a person sees: the size and how many dimensions were hidden, and the picture.
    h.get_by_label_contains(&format!("{active} rows x 9 columns"));
    h.get_by_label_contains(&format!("{} of 16 dimensions inactive", 16 - active));
    assert_eq!(app.panels.traversal.view.count(), active * 9);

    // A control changes the grid.
    h.state_mut().settings.traversal.steps = 5;
    step_checked(&mut h, "a 5-column grid", |a| {
        a.panels
            .traversal
            .grid
            .as_ref()
            .is_some_and(|g| g.columns() == 5)
    });

    // Exports through a typed path: a labelled PNG and a GIF.
    let (png, gif) = (dir.path().join("t.png"), dir.path().join("t.gif"));
    h.state_mut().panels.traversal.typed_path = png.display().to_string();
    h.step();
    h.get_by_label("Traversal as PNG…").click();
    step_checked(&mut h, "the PNG", |_| png.exists());
    h.state_mut().panels.traversal.typed_path = gif.display().to_string();
    h.step();
    h.get_by_label("Traversal as GIF…").click();
    step_checked(&mut h, "the GIF", |_| gif.exists());
    let picture = image::open(&png).unwrap();
    assert!(picture.width() > 5 * 28 && picture.height() > active as u32 * 28);
    assert!(std::fs::read(&gif).unwrap().starts_with(b"GIF89a"));

    // Ask for another grid and change the model before the answer can arrive: the old answer
    // is dropped and the new model's grid replaces it.
    h.state_mut().settings.traversal.steps = 7;
    h.step();
    h.state_mut().apply(Command::OpenModel(bundled(
        "models/mnist-latent2.safetensors",
    )));
    step_checked(&mut h, "the latent-2 grid", |a| {
        a.ws.latent() == 2
            && a.panels
                .traversal
                .grid
                .as_ref()
                .is_some_and(|g| g.plan.latent == 2)
    });
    let grid = h.state().panels.traversal.grid.clone().unwrap();
    assert_eq!(grid.columns(), 7);
    assert!(grid.rows() <= 2);
    settle(&mut h, 60);
    check_invariants(h.state()).unwrap();
}

#[test]
fn the_analogy_tab_makes_seven_minus_one_with_its_quality_and_grid() {
    let options = AppOptions {
        model: Some(bundled("models/mnist-latent16.safetensors")),
        ..quiet_options()
    };
    let mut h = quiet_harness(options, egui::vec2(1400.0, 900.0));
    step_checked(&mut h, "the latent-16 map", |a| {
        a.ws.map.codes.as_ref().is_some_and(|c| c.latent == 16)
    });
    h.get_by_label("Analogy").click();
    h.step();
    h.get_by_label("Make analogy").click();
    step_checked(&mut h, "the analogy", |a| a.panels.analogy.result.is_some());
    let r = h.state().panels.analogy.result.clone().unwrap();
    assert_eq!(r.name, "7 minus 1");
    assert_eq!((r.grid.rows(), r.grid.columns()), (6, 7));
    assert!(r.quality.consistency > 0.5, "{:?}", r.quality);
    assert!(r.quality.chance.abs() < 0.05, "{:?}", r.quality);
    h.get_by_label_contains("7 minus 1: ");
    // The groups are the map's samples of each class.
    let app = h.state();
    let data = app.ws.data.as_ref().unwrap();
    let sevens = app
        .ws
        .map
        .indices
        .iter()
        .filter(|&&i| data.label(i) == Some(7))
        .count();
    assert_eq!(r.plus_count, sevens);
    // Exported as a labelled PNG through a typed path.
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("analogy.png");
    h.state_mut().panels.analogy.typed_path = png.display().to_string();
    h.step();
    h.get_by_label("Analogy grid as PNG…").click();
    step_checked(&mut h, "the PNG", |_| png.exists());
    let picture = image::open(&png).unwrap();
    assert!(picture.width() > 7 * 28 && picture.height() > 6 * 28);
}

#[test]
fn a_relative_path_typed_for_an_export_lands_in_the_export_folder_never_the_working_folder() {
    // The monkey test once typed "7" into this field and clicked the button: a PNG named "7"
    // appeared wherever the program had been started (the repository root).
    let name = "typed-relative-traversal-export.png";
    let cwd_file = std::env::current_dir().unwrap().join(name);
    let _ = std::fs::remove_file(&cwd_file);
    let folder = tempfile::tempdir().unwrap();
    let mut h = quiet_harness(quiet_options(), egui::vec2(1400.0, 900.0));
    h.state_mut().settings.export_folder = Some(folder.path().to_path_buf());
    step_checked(&mut h, "the map", |a| a.ws.map.codes.is_some());
    h.get_by_label("Traversal").click();
    step_checked(&mut h, "the traversal grid", |a| {
        a.panels.traversal.grid.is_some()
    });
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "export to:")
        .click();
    h.step();
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "export to:")
        .type_text(name);
    h.step();
    assert_eq!(h.state().panels.traversal.typed_path, name);
    h.get_by_label("Traversal as PNG…").click();
    let inside = folder.path().join(name);
    step_checked(&mut h, "the export", |a| {
        inside.exists() || cwd_file.exists() || a.ws.notices.errors().next().is_some()
    });
    let wrote_into_cwd = cwd_file.exists();
    let _ = std::fs::remove_file(&cwd_file);
    assert!(
        !wrote_into_cwd,
        "a typed relative path was written into the working folder"
    );
    assert!(
        inside.exists(),
        "{:?}",
        h.state().ws.notices.errors().next()
    );
    assert!(image::open(&inside).is_ok());
}
