//! The Rate-distortion tab: a sweep started from the window trains and saves one model per
//! setting on the sweep thread, their points appear, a click on one opens that model, a
//! right-click shows its map beside the main one (a click there selects the sample), and a
//! saved sweep's folder opens again. And the Anomalies tab's "negative IW bound" score: computed
//! off the UI thread, it becomes what the list is ranked by.

mod gui_support;
use egui::{Event, Modifiers, PointerButton, Pos2, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use gui_support::{check_invariants, quiet_harness, quiet_options, settle, step_until};
use latent_explorer::analysis::{AnomalyScore, importance_weighted_bound};
use latent_explorer::gui::{BottomTab, Command, ExplorerApp};
use latent_explorer::model::Model;
use latent_explorer::train::{SWEEP_SUMMARY, read_sweep};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

fn click(h: &mut Harness<'static, ExplorerApp>, pos: Pos2, button: PointerButton) {
    h.event(Event::PointerMoved(pos));
    h.step();
    for pressed in [true, false] {
        h.event(Event::PointerButton {
            pos,
            button,
            pressed,
            modifiers: Modifiers::default(),
        });
        h.step();
    }
    h.step();
}

#[test]
fn a_sweep_from_the_window_saves_its_models_and_a_click_opens_one() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("rd");
    let mut options = quiet_options();
    options.map_points = Some(3000);
    let mut h = quiet_harness(options, vec2(1400.0, 1000.0));
    step_until(&mut h, "the map", |a| a.ws.map.codes.is_some());
    settle(&mut h, 60);
    {
        let app = h.state_mut();
        app.settings.bottom_tab = BottomTab::RateDistortion;
        let p = &mut app.panels.rate_distortion;
        p.values = "0.5, 4".into();
        p.epochs = 1;
        p.samples = 1200;
        p.folder = folder.display().to_string();
    }
    h.step();
    let t0 = Instant::now();
    h.get_by_label("Start sweep").click();
    h.step();
    assert!(h.state().ws.sweep.is_running(), "the sweep started");
    // The UI thread keeps drawing frames while the sweep trains.
    let mut frames_while_running = 0;
    let mut last_fraction = 0f32;
    while h.state().ws.sweep.is_running() {
        assert!(t0.elapsed().as_secs() < 120, "the sweep did not end");
        h.step();
        frames_while_running += 1;
        // One progress bar over the whole sweep: it never goes back, and names the model.
        if let Some(run) = &h.state().ws.sweep.run {
            assert!(
                run.fraction >= last_fraction,
                "{} after {last_fraction}",
                run.fraction
            );
            last_fraction = run.fraction;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // How far the bar got while it was watched depends on how fast the machine trains (a
    // short sweep can end between two frames); that it never went back is checked above, and
    // that both models were made, below.
    h.step();
    eprintln!(
        "window sweep of 2 models (1 epoch, 1200 samples): {:.1} s, {frames_while_running} frames drawn meanwhile",
        t0.elapsed().as_secs_f64()
    );
    let results = h.state().ws.sweep.results.clone();
    assert_eq!(results.len(), 2, "one point per setting");
    for (r, beta) in results.iter().zip([0.5, 4.0]) {
        assert_eq!(r.point.beta, beta);
        assert_eq!(r.point.latent, 2, "the loaded model's latent size");
        assert!(r.path.starts_with(folder.canonicalize().unwrap()));
        let m = Model::load(&r.path).unwrap();
        assert_eq!((m.config().beta, m.latent()), (beta, 2));
        assert!(r.rate.is_finite() && r.distortion.is_finite() && r.rate >= 0.0);
    }
    // The summary the command writes too, with the same figures.
    assert!(folder.join(SWEEP_SUMMARY).is_file());
    let saved = read_sweep(&folder.canonicalize().unwrap()).unwrap();
    assert_eq!(saved.len(), 2);
    for (a, b) in saved.iter().zip(&results) {
        assert_eq!((a.point, &a.path), (b.point, &b.path));
        assert!((a.rate - b.rate).abs() < 1e-3 && (a.distortion - b.distortion).abs() < 1e-3);
    }

    // Both points are drawn; a click on the beta-4 one opens that model.
    let on_screen = h.state().panels.rate_distortion.points_on_screen.clone();
    assert_eq!(on_screen.len(), 2);
    let (_, at) = on_screen[1];
    click(&mut h, at, PointerButton::Primary);
    step_until(&mut h, "the clicked model", |a| {
        a.ws.model_path.as_deref() == Some(results[1].path.as_path())
    });
    assert_eq!(h.state().ws.model.as_ref().unwrap().config().beta, 4.0);
    settle(&mut h, 60);
    h.get_by_label("beta-4_latent-2.safetensors");
    check_invariants(h.state()).unwrap();

    // A right-click on the other point shows its map beside, linked by sample.
    let (_, at) = h.state().panels.rate_distortion.points_on_screen[0];
    click(&mut h, at, PointerButton::Secondary);
    step_until(&mut h, "the compared map", |a| a.ws.sweep.compare.is_some());
    h.step();
    let app = h.state();
    let compare = app.ws.sweep.compare.as_ref().unwrap();
    assert_eq!(compare.path, results[0].path);
    eprintln!(
        "compared map: {} codes loaded, encoded and projected in {:.2} s",
        compare.coords.len(),
        compare.secs
    );
    assert_eq!(*compare.indices, *app.ws.map.indices);
    let shown = app.panels.rate_distortion.compare_on_screen.clone();
    assert!(!shown.is_empty());
    // The point farthest from the others' centre: alone on screen, so the click hits it.
    let centre = shown
        .iter()
        .fold(egui::Vec2::ZERO, |s, (_, p)| s + p.to_vec2())
        / shown.len() as f32;
    let &(sample, at) = shown
        .iter()
        .max_by(|a, b| {
            (a.1.to_vec2() - centre)
                .length()
                .total_cmp(&(b.1.to_vec2() - centre).length())
        })
        .unwrap();
    click(&mut h, at, PointerButton::Primary);
    assert_eq!(
        h.state().ws.selection,
        Some(sample),
        "selected in both maps"
    );
    check_invariants(h.state()).unwrap();

    // An earlier sweep's folder opens in a fresh window.
    let mut h = quiet_harness(quiet_options(), vec2(1400.0, 1000.0));
    h.step();
    h.state_mut().apply(Command::OpenSweep(folder.clone()));
    assert_eq!(h.state().ws.sweep.results.len(), 2);
    // A folder without a summary is refused in one line that names the file.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    h.state_mut().apply(Command::OpenSweep(empty.clone()));
    let last = h.state().ws.notices.iter().last().unwrap().text.clone();
    assert!(
        last.contains(SWEEP_SUMMARY) && !last.contains('\n'),
        "{last}"
    );
}

#[test]
fn the_iw_bound_becomes_the_anomaly_ranking() {
    let mut options = quiet_options();
    options.map_points = Some(800);
    let mut h = quiet_harness(options, vec2(1400.0, 900.0));
    h.state_mut().settings.bottom_tab = BottomTab::Anomalies;
    step_until(&mut h, "the scores", |a| {
        !a.panels.anomalies.ranked.is_empty()
    });
    let by_elbo = h.state().panels.anomalies.ranked.clone();
    h.state_mut().settings.anomaly_iw_k = 50;
    h.get_by_label("negative IW bound").click();
    h.step();
    assert_eq!(
        h.state().settings.anomaly_score,
        AnomalyScore::NegativeIwBound
    );
    step_until(&mut h, "the IW bound", |a| {
        a.ws.scores
            .scores
            .as_ref()
            .is_some_and(|s| s.iw_bound.is_some())
            && !a.panels.anomalies.ranked.is_empty()
    });
    let app = h.state();
    let scores = app.ws.scores.scores.clone().unwrap();
    let ranked = app.panels.anomalies.ranked.clone();
    assert_eq!(ranked.len(), scores.len());
    assert!(
        ranked.windows(2).all(|w| w[0].1 >= w[1].1),
        "most anomalous first"
    );
    // The list holds -L_50 as the library computes it for these samples and seed.
    let model = app.ws.model.clone().unwrap();
    let data = app.ws.data.clone().unwrap();
    let e = importance_weighted_bound(
        &model,
        &data,
        &scores.indices,
        50,
        latent_explorer::gui::iw_scores::IW_SEED,
        &|_| {},
        &AtomicBool::new(false),
    )
    .unwrap()
    .unwrap();
    for &(i, score) in ranked.iter().take(50) {
        let k = scores.indices.iter().position(|&j| j == i).unwrap();
        assert!((score as f64 + e.iw_bound[k]).abs() < 1e-3, "sample {i}");
    }
    assert_ne!(
        ranked.iter().map(|r| r.0).collect::<Vec<_>>(),
        by_elbo.iter().map(|r| r.0).collect::<Vec<_>>(),
        "the ranking follows the new score"
    );
    // The bound is tighter than the ELBO: -L_50 below the negative ELBO on average.
    let mean = |v: Vec<f32>| v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
    let (iw, elbo) = (
        mean(scores.values(AnomalyScore::NegativeIwBound)),
        mean(scores.values(AnomalyScore::NegativeElbo)),
    );
    eprintln!("mean -L_50 {iw:.2} nats, mean negative ELBO {elbo:.2} nats");
    assert!(iw < elbo, "-L_50 {iw} not below -ELBO {elbo}");
    assert!(
        h.query_by_label_contains("samples by negative IW bound (k = 50), most anomalous first")
            .is_some()
    );
    check_invariants(h.state()).unwrap();
    // Back to the ELBO: the list is ranked by it again, from the same scores.
    h.get_by_label("negative ELBO").click();
    h.step();
    h.step();
    let again = h.state().panels.anomalies.ranked.clone();
    assert_eq!(again.len(), by_elbo.len());
    let elbo_values = scores.values(AnomalyScore::NegativeElbo);
    let k0 = scores
        .indices
        .iter()
        .position(|&j| j == again[0].0)
        .unwrap();
    assert_eq!(again[0].1, elbo_values[k0]);
}

#[test]
fn a_cancelled_sweep_keeps_the_models_it_saved() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("rd");
    let mut options = quiet_options();
    options.map_points = Some(1000);
    let mut h = quiet_harness(options, vec2(1400.0, 1000.0));
    step_until(&mut h, "the map", |a| a.ws.map.codes.is_some());
    settle(&mut h, 60);
    let request = latent_explorer::gui::sweep::SweepRequest {
        points: latent_explorer::train::sweep_points(&[0.5, 1.0, 2.0], &[2]).unwrap(),
        epochs: 1,
        limit: Some(600),
        folder: folder.clone(),
    };
    h.state_mut().apply(Command::StartSweep(request.clone()));
    assert!(h.state().ws.sweep.is_running());
    // A second sweep and training wait for this one.
    h.state_mut().apply(Command::StartSweep(request));
    h.state_mut().apply(Command::StartTraining);
    assert!(!h.state().is_training());
    step_until(&mut h, "the first model", |a| {
        !a.ws.sweep.results.is_empty()
    });
    h.state_mut().apply(Command::CancelSweep);
    step_until(&mut h, "the sweep to stop", |a| !a.ws.sweep.is_running());
    let saved = h.state().ws.sweep.results.len();
    assert!((1..3).contains(&saved), "{saved} models");
    let listed = read_sweep(&folder).unwrap();
    assert_eq!(listed.len(), saved, "the summary lists what was saved");
    assert!(listed.iter().all(|r| r.path.is_file()));
    let texts: Vec<String> = h
        .state()
        .ws
        .notices
        .iter()
        .map(|n| n.text.clone())
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("a sweep is already running"))
            && texts.iter().any(|t| t.contains("a sweep is running"))
            && texts.iter().any(|t| t.contains("sweep cancelled")),
        "{texts:?}"
    );
    check_invariants(h.state()).unwrap();
}
