//! A conditional model in the window: created from the New model dialog on the labelled
//! bundled MNIST, trained, its map encoded with the labels; the Decoder's class picker draws
//! the probe as the picked class, the row below draws it once per class, and the strip goes
//! from one class to another with the style held.

mod common;
mod gui_support;
use egui_kittest::kittest::Queryable;
use gui_support::{check_invariants, quiet_harness, quiet_options, step_until};
use latent_explorer::gui::{Command, ExplorerApp};
use latent_explorer::model::Classes;

fn images_of(view: &latent_explorer::gui::ImageView) -> usize {
    view.count()
}

/// Equal within float noise (a batch of ten and a batch of one may round differently).
fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5)
}

#[test]
fn a_conditional_model_draws_the_picked_class_and_a_row_of_every_class() {
    let mut h = quiet_harness(quiet_options(), egui::vec2(1400.0, 900.0));
    step_until(&mut h, "the bundled pair", |a: &ExplorerApp| {
        a.ws.map.codes.is_some()
    });
    {
        let app = h.state_mut();
        app.settings.new_model.conditional = true;
        app.settings.new_model.latent = 2;
        app.settings.train.epochs = 1;
    }
    h.state_mut().apply(Command::NewModel);
    let model = h.state().ws.model.clone().unwrap();
    assert_eq!(
        model.classes(),
        Some(10),
        "the dialog's box made it conditional"
    );
    // The map is encoded with each sample's label.
    step_until(&mut h, "the map's codes", |a| a.ws.map.codes.is_some());

    h.state_mut().apply(Command::StartTraining);
    step_until(&mut h, "training to start", |a| a.is_training());
    step_until(&mut h, "one epoch", |a| !a.is_training());
    let app = h.state();
    let model = app.ws.model.clone().unwrap();
    assert_eq!(model.history.epochs, 1);
    assert!(model.config().conditional);
    check_invariants(app).unwrap();

    // The picker and the row are on screen.
    h.get_by_label("Same style across all classes");

    h.state_mut().apply(Command::SetClass(3));
    assert_eq!(h.state().ws.class, 3);
    step_until(&mut h, "the class row and strip", |a| {
        let v = &a.panels.decoder.classes;
        v.is_current() && images_of(&v.row) == 10 && images_of(&v.strip) > 0
    });
    let app = h.state();
    let probe = app.ws.probe.clone();
    // The preview is the probe drawn as class 3.
    let expected = model.decode_as(&probe, Classes::All(3)).unwrap();
    assert!(close(app.panels.decoder.preview.values(), &expected));
    // The row: one image per class, image k the probe drawn as class k.
    let row = &app.panels.decoder.classes.row;
    assert_eq!(images_of(row), 10);
    for k in 0..10u16 {
        let want = model.decode_as(&probe, Classes::All(k)).unwrap();
        assert!(close(row.frame(k as usize).unwrap(), &want), "class {k}");
    }
    assert_ne!(row.frame(0), row.frame(1), "classes draw differently");
    // The strip ends at its two classes.
    let strip = &app.panels.decoder.classes.strip;
    let (from, to) = (
        app.panels.decoder.classes.from,
        app.panels.decoder.classes.to,
    );
    assert_ne!(from, to);
    assert!(close(
        strip.frame(0).unwrap(),
        &model.decode_as(&probe, Classes::All(from)).unwrap()
    ));
    assert!(close(
        strip.frame(strip.count() - 1).unwrap(),
        &model.decode_as(&probe, Classes::All(to)).unwrap()
    ));

    // Selecting a sample picks its class.
    let i = 5;
    let label = app.ws.data.as_ref().unwrap().label(i).unwrap();
    h.state_mut().apply(Command::Select(i));
    assert_eq!(h.state().ws.class, label);
    // A class the model does not have is ignored.
    h.state_mut().apply(Command::SetClass(10));
    assert_eq!(h.state().ws.class, label);
    h.step();
    check_invariants(h.state()).unwrap();
}
