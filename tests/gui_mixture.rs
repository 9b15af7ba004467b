//! The window's "sampling where the data is": the Generate tab draws from a mixture fitted to
//! the map's codes on the jobs thread; the map shows k-means clusters (majority label, purity,
//! medoid) and the prior's holes, and a click on a hole moves the probe to that hole's code.

mod common;
mod gui_support;
use egui::{Event, Modifiers, PointerButton};
use egui_kittest::Harness;
use gui_support::{check_invariants, quiet_harness, quiet_options, settle, step_until};
use latent_explorer::gui::{BottomTab, ExplorerApp};

fn ready() -> Harness<'static, ExplorerApp> {
    let mut h = quiet_harness(quiet_options(), egui::vec2(1400.0, 900.0));
    step_until(&mut h, "the map", |a| {
        a.ws.map.codes.is_some() && a.panels.map.screen.is_some()
    });
    h
}

#[test]
fn the_generate_tab_draws_from_a_mixture_fitted_on_the_worker() {
    let mut h = ready();
    h.state_mut().settings.bottom_tab = BottomTab::Generate;
    h.state_mut().panels.generate.source.k = 5;
    h.state_mut().panels.generate.source.from_mixture = true;
    // The source changed: the grid waits for the fit, then is drawn from it.
    step_until(&mut h, "the mixture and its grid", |a| {
        let v = a.ws.map.codes_version;
        a.panels.generate.source.mixture(v).is_some() && !a.panels.generate.grid.is_empty()
    });
    let app = h.state();
    check_invariants(app).unwrap();
    let fit = app
        .panels
        .generate
        .source
        .mixture(app.ws.map.codes_version)
        .unwrap();
    assert_eq!(fit.mixture.k(), 5);
    assert_eq!(fit.mixture.fitted_on, app.ws.map.indices.len());
    // The grid's codes are the mixture's draws (seeded by the grid's seed).
    let n = app.panels.generate.codes.len();
    let expected = fit
        .mixture
        .sample(n, app.settings.temperature, app.settings.grid_seed);
    assert_eq!(app.panels.generate.codes.concat(), expected);

    // Back to the prior: drawn at once, no fit needed.
    h.state_mut().panels.generate.source.from_mixture = false;
    h.state_mut()
        .apply(latent_explorer::gui::Command::RebuildGrid);
    let n = h.state().panels.generate.codes.len();
    let prior = latent_explorer::latent::sample_prior(
        n,
        2,
        h.state().settings.temperature,
        h.state().settings.grid_seed,
    );
    assert_eq!(h.state().panels.generate.codes.concat(), prior);
}

#[test]
fn the_map_shows_clusters_and_holes_and_a_click_on_a_hole_decodes_it() {
    let mut h = ready();
    h.state_mut().panels.map.clusters.show_clusters = true;
    h.state_mut().panels.map.clusters.show_holes = true;
    step_until(&mut h, "clusters and holes", |a| {
        let v = a.ws.map.codes_version;
        let layer = &a.panels.map.clusters;
        layer.clustering(v).is_some() && layer.holes_now(v).is_some()
    });
    let app = h.state();
    let v = app.ws.map.codes_version;
    let layer = &app.panels.map.clusters;
    let c = layer.clustering(v).unwrap();
    assert_eq!(c.summaries.len(), 10);
    assert_eq!(c.assignments.len(), app.ws.map.indices.len());
    let purity = latent_explorer::analysis::overall_purity(&c.summaries);
    assert!(purity > 0.5, "purity {purity} of the latent-2 codes");
    let holes = layer.holes_now(v).unwrap().clone();
    assert_eq!(holes.len(), 2000);

    // The deepest hole inside the view: a click there moves the probe to its code.
    let screen = app.panels.map.screen.unwrap();
    let frame = *screen.frame();
    let target = holes.hole_indices().into_iter().find_map(|i| {
        let p = app.ws.map.project(holes.probe(i), &app.settings);
        let pos = screen.position_from_point(&egui_plot::PlotPoint::new(p[0], p[1]));
        frame.shrink(10.0).contains(pos).then_some((i, pos))
    });
    let (i, pos) = target.expect("a hole inside the map's view");
    let button = |pressed| Event::PointerButton {
        pos,
        button: PointerButton::Primary,
        pressed,
        modifiers: Modifiers::default(),
    };
    h.event(Event::PointerMoved(pos));
    h.step();
    h.event(button(true));
    h.step();
    h.event(button(false));
    h.step();
    // A map click is acted on once the double-click time has passed.
    settle(&mut h, 10);
    assert_eq!(h.state().ws.probe, holes.probe(i).to_vec());
    check_invariants(h.state()).unwrap();
}
