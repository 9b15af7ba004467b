//! t-SNE and UMAP in the window (the real app through egui_kittest, on 2,000 MNIST points of
//! the bundled latent-16 model): choosing t-SNE in the projection menu ends with a laid-out map
//! that was drawn live on the way and still decodes; switching away and back is instant;
//! Cancel stops a run; a model opened mid-run leaves nothing broken behind.

mod common;
mod gui_support;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use gui_support::{check_invariants, quiet_harness, quiet_options, step_until};
use latent_explorer::assets::{MODEL, MODEL_LATENT16, source_tree_path};
use latent_explorer::gui::panels::map::axis_name;
use latent_explorer::gui::{Command, ExplorerApp, NoticeKind, Projection};
use latent_explorer::latent::layout::LayoutMethod;
use std::time::{Duration, Instant};

fn harness() -> Harness<'static, ExplorerApp> {
    let mut options = quiet_options();
    options.model = Some(source_tree_path(MODEL_LATENT16));
    options.dataset = Some(common::mnist_dir());
    options.map_points = Some(2000);
    let mut h = quiet_harness(options, egui::vec2(1400.0, 900.0));
    step_until(&mut h, "the map", |a| {
        a.ws.map.codes.is_some() && a.panels.map.screen.is_some() && !a.is_busy()
    });
    assert_eq!(h.state().latent(), 16);
    h
}

/// Steps (checking the invariants each frame) until `done`, for at most `secs`.
fn step_checked(
    h: &mut Harness<'static, ExplorerApp>,
    what: &str,
    secs: u64,
    done: impl Fn(&ExplorerApp) -> bool,
) {
    let start = Instant::now();
    while !done(h.state()) {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        h.step();
        if let Err(e) = check_invariants(h.state()) {
            panic!("{what}: {e}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    h.step();
}

/// Picks `label` in the projection menu.
fn choose(h: &mut Harness<'static, ExplorerApp>, label: &str) {
    h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "projection")
        .click();
    h.step();
    h.step();
    h.get_by_label(label).click();
    h.step();
    h.step();
}

fn running(a: &ExplorerApp) -> bool {
    a.ws.map.layout_status.is_some()
}

#[test]
fn choosing_tsne_lays_the_map_out_live_and_it_still_decodes() {
    let mut h = harness();
    let pca_coords = h.state().ws.map.coords.clone();
    choose(&mut h, "t-SNE of all codes");
    assert_eq!(h.state().settings.projection, Projection::Tsne);
    step_checked(&mut h, "a live layout", 60, |a| {
        a.ws.map.shown_layout().is_some()
    });
    // The first layout drawn comes from the run in progress, not its end.
    assert!(running(h.state()), "no layout was drawn while t-SNE ran");
    h.get_by_label("Cancel");
    let top_while_running = h.state().panels.map.screen.unwrap().frame().top();
    step_checked(&mut h, "t-SNE to finish", 120, |a| !running(a));
    h.step();
    assert_eq!(
        h.state().panels.map.screen.unwrap().frame().top(),
        top_while_running,
        "the run's progress row coming and going moved the map"
    );
    let app = h.state();
    let map = &app.ws.map;
    let frame = map.shown_layout().expect("the finished layout is shown");
    assert_eq!(map.coords.len(), 2000);
    assert_eq!(map.coords, frame.coords);
    assert_ne!(map.coords, pca_coords);
    assert!(
        app.ws
            .notices
            .iter()
            .any(|n| n.text.contains("t-SNE of 2000 codes laid out")),
        "no word that the layout finished"
    );
    // A position on a point decodes to that point's code; the probe lands back on it.
    let i = map.indices[123];
    let at = map.coord_of(i).unwrap();
    let code = map.code_of(i).unwrap();
    assert_eq!(map.unproject(at, &app.ws.probe, &app.settings), code);
    let back = map.project(&code, &app.settings);
    assert!((back[0] - at[0]).abs() < 1e-4 && (back[1] - at[1]).abs() < 1e-4);
    assert_eq!(axis_name(&h.state().settings, 16, 0), "t-SNE 1");
    h.get_by_label_contains("positions decode from the 8 nearest points");

    // Away and back: the finished layout comes back at once, with no new run.
    let laid_out = h.state().ws.map.coords.clone();
    choose(&mut h, "PCA (first two components)");
    assert_eq!(h.state().ws.map.coords, pca_coords);
    choose(&mut h, "t-SNE of all codes");
    assert!(!running(h.state()), "switching back started a new run");
    assert_eq!(h.state().ws.map.coords, laid_out);
}

#[test]
fn cancel_stops_a_run_and_goes_back_to_pca() {
    let mut h = harness();
    choose(&mut h, "UMAP of all codes");
    step_checked(&mut h, "the UMAP run", 30, running);
    h.get_by_label("Cancel").click();
    h.step();
    h.step();
    let app = h.state();
    assert!(!running(app));
    assert_eq!(app.settings.projection, Projection::Pca);
    assert!(app.ws.map.shown_layout().is_none());
    assert!(
        app.ws
            .notices
            .iter()
            .any(|n| n.kind == NoticeKind::Info && n.text.contains("UMAP cancelled"))
    );
    // The cancelled thread ends on its own (within an epoch), and nothing restarts it.
    step_checked(&mut h, "the run's thread to end", 30, |a| {
        a.layout_runs.alive() == 0
    });
    for _ in 0..20 {
        h.step();
    }
    assert!(!running(h.state()));
    assert!(h.state().ws.map.layouts.is_empty());
}

#[test]
fn opening_another_model_mid_run_drops_the_run_and_its_layouts() {
    let mut h = harness();
    choose(&mut h, "t-SNE of all codes");
    step_checked(&mut h, "the t-SNE run", 30, running);
    h.state_mut()
        .apply(Command::OpenModel(source_tree_path(MODEL)));
    step_checked(&mut h, "the latent-2 model's map", 60, |a| {
        a.latent() == 2 && a.ws.map.codes.is_some() && !a.is_busy()
    });
    let app = h.state();
    assert!(!running(app));
    assert!(app.ws.map.layouts.is_empty() && app.ws.map.live.is_none());
    assert!(app.ws.map.shown_layout().is_none());
    // At latent 2 the map is the codes themselves.
    let map = &app.ws.map;
    let i = map.indices[5];
    let code = map.code_of(i).unwrap();
    let at = map.coord_of(i).unwrap();
    assert_eq!([code[0] as f64, code[1] as f64], at);
    step_checked(&mut h, "the old run's thread to end", 30, |a| {
        a.layout_runs.alive() == 0
    });

    // And back to a latent-16 model: t-SNE (still chosen) runs again on the new codes.
    h.state_mut()
        .apply(Command::OpenModel(source_tree_path(MODEL_LATENT16)));
    step_checked(&mut h, "a new t-SNE layout", 120, |a| {
        a.latent() == 16 && a.ws.map.shown_layout().is_some() && !running(a)
    });
    let key = h.state().ws.map.layouts.keys().next().copied().unwrap();
    assert_eq!(key.method, LayoutMethod::Tsne);
}

#[test]
fn semantic_axes_lay_the_map_along_an_attribute_vector() {
    let mut h = harness();
    choose(&mut h, "semantic axes (an attribute vector)");
    h.get_by_label_contains("make an attribute vector in the Decoder panel first");
    h.state_mut()
        .apply(Command::MakeAttribute { plus: 7, minus: 1 });
    for _ in 0..4 {
        h.step();
    }
    let app = h.state();
    let a = app
        .settings
        .attributes
        .last()
        .expect("the attribute vector")
        .clone();
    assert_eq!(a.name, "7 minus 1");
    let map = &app.ws.map;
    let axes = map.pca.as_ref().expect("semantic axes are a linear map");
    let norm = a.vector.iter().map(|v| v * v).sum::<f32>().sqrt();
    for (u, v) in axes.components[0].iter().zip(&a.vector) {
        assert!((u - v / norm).abs() < 1e-5);
    }
    // x of every point is its code's position along the vector (about the mean).
    let i = map.indices[42];
    let code = map.code_of(i).unwrap();
    let x: f32 = code
        .iter()
        .zip(&axes.mean)
        .zip(&a.vector)
        .map(|((c, m), v)| (c - m) * v / norm)
        .sum();
    assert!((map.coord_of(i).unwrap()[0] as f32 - x).abs() < 1e-4);
    let s = &app.settings;
    assert_eq!(axis_name(s, 16, 0), "7 minus 1");
    assert_eq!(axis_name(s, 16, 1), "PC1 of the rest");
}

/// While training moves the codes on, a finished UMAP map is not laid out again at every
/// weight sync: it stays, said to be of the previous weights, and is redone once after the
/// run, from its own positions.
#[test]
fn after_training_a_finished_map_is_redone_once_not_at_every_weight_sync() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = quiet_options();
    options.model = Some(source_tree_path(MODEL_LATENT16));
    options.dataset = Some(common::write_idx_dataset(
        dir.path(),
        "small",
        1500,
        300,
        28,
        28,
    ));
    let mut h = quiet_harness(options, egui::vec2(1400.0, 900.0));
    step_until(&mut h, "the map", |a| {
        a.ws.map.codes.is_some() && a.panels.map.screen.is_some() && !a.is_busy()
    });
    let laid_out = |a: &ExplorerApp| {
        a.ws.map
            .wanted_layout(&a.settings)
            .is_some_and(|k| a.ws.map.has_current_layout(k))
    };
    h.state_mut().settings.projection = Projection::Umap;
    step_checked(&mut h, "UMAP to finish", 120, laid_out);
    let runs = h.state().layout_runs.started();
    let before = h.state().ws.map.coords.clone();
    let version = h.state().ws.map.codes_version;
    {
        let app = h.state_mut();
        app.settings.train.epochs = 30;
        app.settings.train.batch_size = 32;
        app.apply(Command::StartTraining);
    }
    let (mut said_previous, start) = (false, Instant::now());
    while h.state().is_training() {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "training never ended"
        );
        h.step();
        let app = h.state();
        // The step that hears the run ended may also take the final codes and start the
        // one redo: only steps still training must not start a run.
        if !app.is_training() {
            break;
        }
        assert_eq!(
            app.layout_runs.started(),
            runs,
            "a layout run started while training"
        );
        if app.layout_is_of_previous_weights() && !said_previous {
            h.step();
            h.get_by_label_contains("layout of the previous weights");
            said_previous = true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let syncs = h.state().ws.map.codes_version - version;
    assert!(syncs >= 2, "only {syncs} new codes while training");
    assert!(
        said_previous,
        "the map never said its layout was of earlier weights"
    );
    step_checked(&mut h, "the layout redone after training", 120, laid_out);
    let app = h.state();
    assert_eq!(app.layout_runs.started(), runs + 1, "redone once");
    assert!(!app.layout_is_of_previous_weights());
    // Started from the old positions, the new map keeps much of their arrangement.
    let after = &app.ws.map.coords;
    let corr = |axis: usize| {
        let (a, b): (Vec<f64>, Vec<f64>) = before
            .iter()
            .zip(after)
            .map(|(p, q)| (p[axis], q[axis]))
            .unzip();
        let n = a.len() as f64;
        let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
        let cov: f64 = a.iter().zip(&b).map(|(x, y)| (x - ma) * (y - mb)).sum();
        let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
        let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
        cov / (va * vb).sqrt()
    };
    eprintln!(
        "{syncs} weight syncs while training, one redo after; positions correlate with the \
         previous layout's: x {:.2}, y {:.2}",
        corr(0),
        corr(1)
    );
}
