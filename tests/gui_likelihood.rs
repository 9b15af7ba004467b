//! The held-out likelihood in the window: the ELBO beside the IW bound, computed off the UI
//! thread with progress, the same numbers as the library's, dropped when the model changes.

mod gui_support;
use egui::vec2;
use egui_kittest::kittest::Queryable;
use gui_support::{quiet_harness, quiet_options, settle, step_until};
use latent_explorer::analysis::importance_weighted_bound;
use latent_explorer::gui::Command;
use latent_explorer::gui::likelihood::held_out_sample;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

#[test]
fn the_window_estimates_the_held_out_likelihood_as_the_library_does() {
    let mut h = quiet_harness(quiet_options(), vec2(1400.0, 900.0));
    step_until(&mut h, "the map", |a| a.ws.map.codes.is_some());
    settle(&mut h, 60);
    h.state_mut().apply(Command::EstimateLikelihood {
        k: 10,
        samples: 300,
    });
    assert!(h.state().ws.likelihood.task.is_some(), "started");
    h.step();
    step_until(&mut h, "the estimate", |a| a.ws.likelihood.result.is_some());
    let app = h.state();
    let r = app.ws.likelihood.result.clone().unwrap();
    assert_eq!((r.k, r.n), (10, 300));
    // The same samples and seed through the library give the same figures.
    let data = app.ws.data.clone().unwrap();
    let model = app.ws.model.clone().unwrap();
    let indices = held_out_sample(&data, 300);
    assert!(
        indices
            .iter()
            .all(|&i| data.split_of(i) == latent_explorer::data::Split::Test)
    );
    let e = importance_weighted_bound(
        &model,
        &data,
        &indices,
        10,
        1,
        &|_| {},
        &AtomicBool::new(false),
    )
    .unwrap()
    .unwrap();
    assert!((e.mean_iw_bound() - r.mean_iw_bound).abs() < 1e-9);
    assert!((e.mean_elbo() - r.mean_elbo).abs() < 1e-9);
    assert!(
        r.gap() > 0.0,
        "the IW bound is above the ELBO on average: {r:?}"
    );
    // The figures are on screen (the section opened).
    h.get_by_label("Likelihood (held-out)").click();
    h.step();
    h.step();
    h.get_by_label(&format!("{:.2}", r.mean_elbo));
    h.get_by_label("IW bound (k = 10)");
}

#[test]
fn another_model_cancels_the_estimate_and_drops_its_result() {
    let mut h = quiet_harness(quiet_options(), vec2(1400.0, 900.0));
    step_until(&mut h, "the map", |a| a.ws.map.codes.is_some());
    settle(&mut h, 60);
    h.state_mut().apply(Command::EstimateLikelihood {
        k: 2000,
        samples: 0,
    });
    h.step();
    assert!(h.state().ws.likelihood.task.is_some());
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/mnist-latent16.safetensors");
    h.state_mut().apply(Command::OpenModel(path));
    step_until(&mut h, "the latent-16 map", |a| a.ws.map.latent() == 16);
    assert!(
        h.state().ws.likelihood.task.is_none(),
        "the old model's estimate was cancelled"
    );
    assert!(h.state().ws.likelihood.result.is_none());
    // A bad k is refused with a message, nothing starts.
    h.state_mut()
        .apply(Command::EstimateLikelihood { k: 0, samples: 10 });
    assert!(h.state().ws.likelihood.task.is_none());
    assert!(h.state().ws.notices.errors().count() > 0);
}
