//! The gestures and behaviours people expect from a scatter map and its pictures, one test
//! each, on the real App at 1400x900: the wheel zooms about the cursor, a double-click fits
//! without selecting, Shift+drag zooms into a box, sliders take arrow keys and never show a
//! clamped value, `?` lists the shortcuts, pictures are clickable objects, "Go to", the split
//! filter, solo a class, the anomaly threshold on the map, and a far selection brought into view.

mod gui_support;
use egui::accesskit::Role;
use egui::{Event, Key, Modifiers, PointerButton, Pos2, Vec2, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use egui_plot::PlotPoint;
use gui_support::{quiet_harness, quiet_options, settle, step_until};
use latent_explorer::gui::{BottomTab, ColorBy, SplitFilter};
use latent_explorer::gui::{Command, ExplorerApp};

fn harness() -> Harness<'static, ExplorerApp> {
    let mut h = quiet_harness(quiet_options(), vec2(1400.0, 900.0));
    step_until(&mut h, "the map", |a| {
        a.ws.map.codes.is_some() && a.panels.map.screen.is_some()
    });
    settle(&mut h, 60);
    h
}

/// The map's visible bounds (x0, y0, x1, y1) and its frame on screen.
fn view(h: &Harness<'static, ExplorerApp>) -> ([f64; 4], egui::Rect) {
    let t = h.state().panels.map.screen.unwrap();
    let b = t.bounds();
    ([b.min()[0], b.min()[1], b.max()[0], b.max()[1]], *t.frame())
}

fn to_plot(h: &Harness<'static, ExplorerApp>, p: Pos2) -> PlotPoint {
    h.state().panels.map.screen.unwrap().value_from_position(p)
}

fn to_screen(h: &Harness<'static, ExplorerApp>, c: [f64; 2]) -> Pos2 {
    h.state()
        .panels
        .map
        .screen
        .unwrap()
        .position_from_point(&PlotPoint::new(c[0], c[1]))
}

fn button(pos: Pos2, pressed: bool, modifiers: Modifiers) -> Event {
    Event::PointerButton {
        pos,
        button: PointerButton::Primary,
        pressed,
        modifiers,
    }
}

fn click(h: &mut Harness<'static, ExplorerApp>, pos: Pos2) {
    h.event(Event::PointerMoved(pos));
    h.step();
    h.event(button(pos, true, Modifiers::default()));
    h.event(button(pos, false, Modifiers::default()));
    h.step();
}

fn wheel(h: &mut Harness<'static, ExplorerApp>, pos: Pos2, dy: f32) {
    h.event(Event::PointerMoved(pos));
    h.event(Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: vec2(0.0, dy),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Unknown,
        modifiers: Modifiers::default(),
    });
    // Smooth scrolling spreads the delta over a few frames.
    for _ in 0..20 {
        h.step();
    }
}

/// The map point farthest from the others' centre: alone on screen.
fn outlier(app: &ExplorerApp) -> usize {
    let map = &app.ws.map;
    let n = map.coords.len() as f64;
    let c = map
        .coords
        .iter()
        .fold([0.0, 0.0], |a, p| [a[0] + p[0] / n, a[1] + p[1] / n]);
    let d = |p: [f64; 2]| (p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2);
    let k = (0..map.coords.len())
        .max_by(|&a, &b| d(map.coords[a]).total_cmp(&d(map.coords[b])))
        .unwrap();
    map.indices[k]
}

fn go_to_field<'a>(h: &'a Harness<'static, ExplorerApp>) -> egui_kittest::Node<'a> {
    h.get_by_role_and_label(Role::TextInput, "Go to")
}

#[test]
fn the_wheel_zooms_about_the_cursor() {
    let mut h = harness();
    let (before, frame) = view(&h);
    let at = frame.center() + vec2(frame.width() * 0.2, -frame.height() * 0.15);
    let under = to_plot(&h, at);
    wheel(&mut h, at, 120.0);
    let (after, _) = view(&h);
    let (w0, w1) = (before[2] - before[0], after[2] - after[0]);
    assert!(w1 < w0 * 0.8, "wheel up zooms in: width {w0} -> {w1}");
    let still = to_plot(&h, at);
    let tolerance = w1 * 0.01;
    assert!(
        (still.x - under.x).abs() < tolerance && (still.y - under.y).abs() < tolerance,
        "the point under the cursor stays there: {under:?} -> {still:?}"
    );
    // Down zooms back out; nothing was selected or moved on the way.
    wheel(&mut h, at, -120.0);
    let (back, _) = view(&h);
    assert!(back[2] - back[0] > w1 * 1.2);
    assert_eq!(h.state().ws.selection, None);
}

#[test]
fn a_double_click_fits_the_view_and_selects_nothing() {
    let mut h = Harness::builder()
        .with_size(vec2(1400.0, 900.0))
        .with_step_dt(0.05)
        .build_eframe(|cc| ExplorerApp::new(cc, quiet_options()));
    step_until(&mut h, "the map", |a| {
        a.ws.map.codes.is_some() && a.panels.map.screen.is_some()
    });
    settle(&mut h, 60);
    let target = outlier(h.state());
    let probe = h.state().ws.probe.clone();
    // Zoom in away from the target, then double-click on a point.
    let (_, frame) = view(&h);
    wheel(&mut h, frame.center(), 300.0);
    let (zoomed, _) = view(&h);
    let pos = to_screen(&h, h.state().ws.map.coord_of(target).unwrap());
    let pos = if frame.contains(pos) {
        pos
    } else {
        frame.center()
    };
    h.event(Event::PointerMoved(pos));
    h.step();
    // The harness runs a frame per event, 50 ms apart here: the second release comes 150 ms
    // after the first, inside egui's 300 ms double-click time.
    for _ in 0..2 {
        h.event(button(pos, true, Modifiers::default()));
        h.event(button(pos, false, Modifiers::default()));
    }
    h.step();
    settle(&mut h, 10);
    h.step();
    let app = h.state();
    assert_eq!(app.ws.selection, None, "a double-click selects nothing");
    assert_eq!(app.ws.probe, probe, "a double-click leaves the probe alone");
    let (fitted, _) = view(&h);
    assert!(fitted[2] - fitted[0] > (zoomed[2] - zoomed[0]) * 1.5);
    let (lo, hi) = h.state().ws.map.bounds().unwrap();
    assert!(fitted[0] <= lo[0] && fitted[2] >= hi[0] && fitted[1] <= lo[1] && fitted[3] >= hi[1]);
    // A single click still selects, once the double-click time has passed.
    let pos = to_screen(&h, h.state().ws.map.coord_of(target).unwrap());
    click(&mut h, pos);
    settle(&mut h, 10);
    assert_eq!(h.state().ws.selection, Some(target));
}

#[test]
fn shift_drag_zooms_into_the_box() {
    let mut h = harness();
    let (_, frame) = view(&h);
    let from = frame.center() - vec2(100.0, 60.0);
    let to = frame.center() + vec2(60.0, 40.0);
    // egui_plot starts the box where the drag is first seen: the first move.
    let (a, b) = (to_plot(&h, from + (to - from) / 8.0), to_plot(&h, to));
    let shift = Modifiers {
        shift: true,
        ..Modifiers::default()
    };
    // egui reads the modifiers held from the frame's input, not from the pointer events.
    h.event(Event::ModifiersChanged(shift));
    h.event(Event::PointerMoved(from));
    h.step();
    h.event(button(from, true, shift));
    h.step();
    for k in 1..=8 {
        h.event(Event::PointerMoved(from + (to - from) * (k as f32 / 8.0)));
        h.step();
    }
    h.event(button(to, false, shift));
    h.step();
    h.event(Event::ModifiersChanged(Modifiers::default()));
    h.step();
    let (after, _) = view(&h);
    // The box's corners are in view and the view is about the box (the map keeps its 1:1
    // aspect, so one side may be wider).
    let (x0, x1) = (a.x.min(b.x), a.x.max(b.x));
    let (y0, y1) = (a.y.min(b.y), a.y.max(b.y));
    let eps = (x1 - x0) * 0.02;
    assert!(
        after[0] <= x0 + eps && after[2] >= x1 - eps,
        "{after:?} vs x {x0}..{x1}"
    );
    assert!(
        after[1] <= y0 + eps && after[3] >= y1 - eps,
        "{after:?} vs y {y0}..{y1}"
    );
    assert!(
        (after[2] - after[0]) < (x1 - x0) * 2.5,
        "zoomed to about the box: {after:?}"
    );
    assert_eq!(h.state().ws.selection, None);
}

#[test]
fn a_clicked_slider_steps_with_the_arrow_keys_and_shows_values_beyond_the_prior() {
    let mut h = harness();
    let before = h.state().ws.probe[0];
    let slider = h.get_by_role_and_label(Role::Slider, "z0").rect();
    let at = slider.center();
    // A click on the rail sets the value there; then the arrows step it.
    click(&mut h, at);
    settle(&mut h, 10);
    let clicked = h.state().ws.probe[0];
    assert_ne!(clicked, before);
    for _ in 0..3 {
        h.key_press(Key::ArrowRight);
    }
    settle(&mut h, 10);
    let stepped = h.state().ws.probe[0];
    assert!(
        stepped > clicked && stepped - clicked < 0.5,
        "three right arrows step the value up a little: {clicked} -> {stepped}"
    );
    h.key_press(Key::ArrowLeft);
    settle(&mut h, 10);
    assert!(h.state().ws.probe[0] < stepped, "left steps it down");
    // A code far outside the prior is shown as it is, not clamped.
    let mut code = h.state().ws.probe.clone();
    code[1] = 7.3;
    h.state_mut().apply(Command::SetProbe(code));
    h.step();
    h.step();
    let node = h.get_by_role_and_label(Role::Slider, "z1");
    let shown = node.accesskit_node().numeric_value().unwrap();
    assert!(
        (shown - 7.3).abs() < 1e-3,
        "the slider shows {shown}, not 7.3"
    );
    // The sliders are wide enough to place a value: at least 150 points.
    assert!(slider.width() >= 150.0, "slider {slider:?}");
}

#[test]
fn question_mark_lists_the_shortcuts_and_escape_closes_them() {
    let mut h = harness();
    assert!(!h.state().panels.help.open);
    h.event(Event::Text("?".into()));
    h.step();
    h.step();
    assert!(h.state().panels.help.open);
    h.get_by_label("Shortcuts");
    h.get_by_label_contains("zoom the map about the cursor");
    h.key_press(Key::Escape);
    h.step();
    assert!(!h.state().panels.help.open);
    // The top bar's "?" opens it too.
    h.get_by_label("?").click();
    h.step();
    h.step();
    assert!(h.state().panels.help.open);
}

#[test]
fn clicking_a_generated_sample_moves_the_probe_there_and_its_menu_adds_an_anchor() {
    let mut h = harness();
    h.state_mut().settings.bottom_tab = BottomTab::Generate;
    step_until(&mut h, "the generated grid", |a| {
        !a.panels.generate.grid.is_empty()
    });
    settle(&mut h, 30);
    let grid = h.get_by_label_contains("Click a sample to move the probe there");
    let rect = grid.rect();
    // The first tile is at the top left.
    let pos = rect.min + vec2(4.0, 4.0);
    click(&mut h, pos);
    settle(&mut h, 10);
    let code = h.state().panels.generate.codes[0].clone();
    assert_eq!(
        h.state().ws.probe,
        code,
        "a click moves the probe to the sample"
    );
    // Right-click: "Add the nearest sample (...) as interpolation anchor".
    h.event(Event::PointerMoved(pos));
    h.event(Event::PointerButton {
        pos,
        button: PointerButton::Secondary,
        pressed: true,
        modifiers: Modifiers::default(),
    });
    h.event(Event::PointerButton {
        pos,
        button: PointerButton::Secondary,
        pressed: false,
        modifiers: Modifiers::default(),
    });
    h.step();
    h.step();
    let nearest = h.state().ws.map.nearest_codes(&code, 1)[0];
    h.get_by_label(&format!(
        "Add the nearest sample ({nearest}) as interpolation anchor"
    ))
    .click();
    settle(&mut h, 10);
    assert_eq!(h.state().panels.interpolation.anchors, vec![nearest]);
}

#[test]
fn go_to_selects_a_sample_by_number_and_brings_it_into_view() {
    let mut h = harness();
    let target = outlier(h.state());
    let (_, frame) = view(&h);
    // Zoom in far from the target.
    let c = h.state().ws.map.coord_of(target).unwrap();
    let far = frame.center();
    wheel(&mut h, far, 400.0);
    let (zoomed, _) = view(&h);
    let inside = |v: [f64; 4]| v[0] <= c[0] && c[0] <= v[2] && v[1] <= c[1] && c[1] <= v[3];
    assert!(!inside(zoomed), "the target starts out of view");
    go_to_field(&h).click();
    h.step();
    go_to_field(&h).type_text(&target.to_string());
    h.step();
    h.key_press(Key::Enter);
    settle(&mut h, 10);
    h.step();
    assert_eq!(h.state().ws.selection, Some(target));
    let (now, _) = view(&h);
    assert!(
        inside(now),
        "the selection was brought into view: {now:?} {c:?}"
    );
    assert!(
        (now[2] - now[0]) < (zoomed[2] - zoomed[0]) * 1.01,
        "the zoom was kept"
    );
    // A sample that does not exist says so.
    go_to_field(&h).click();
    h.step();
    h.state_mut().panels.map.goto.clear();
    h.step();
    go_to_field(&h).type_text("9999999");
    h.step();
    h.key_press(Key::Enter);
    settle(&mut h, 10);
    assert_eq!(h.state().ws.selection, Some(target));
    let last = h.state().ws.notices.iter().last().unwrap().text.clone();
    assert!(last.contains("no sample 9999999"), "{last}");
}

#[test]
fn the_split_filter_and_solo_class_hide_points_from_drawing_and_clicks() {
    let mut h = harness();
    let app = h.state();
    let data = app.ws.data.clone().unwrap();
    let target = outlier(app);
    let split = data.split_of(target);
    // Show only the other split: the outlier can no longer be clicked.
    h.state_mut().settings.map_split = if split == latent_explorer::data::Split::Train {
        SplitFilter::Test
    } else {
        SplitFilter::Train
    };
    h.step();
    h.step();
    let pos = to_screen(&h, h.state().ws.map.coord_of(target).unwrap());
    click(&mut h, pos);
    settle(&mut h, 10);
    assert_ne!(h.state().ws.selection, Some(target));
    h.state_mut().settings.map_split = SplitFilter::All;
    h.step();
    // "class 3" in Go to shows class 3 only; its points stay clickable, others are not.
    let class = data.label(target).unwrap();
    let other = (class + 1) % 10;
    go_to_field(&h).click();
    h.step();
    go_to_field(&h).type_text(&format!("class {other}"));
    h.step();
    h.key_press(Key::Enter);
    h.step();
    h.step();
    h.get_by_label("Show all classes");
    let selection_before = h.state().ws.selection;
    click(&mut h, pos);
    settle(&mut h, 10);
    assert_eq!(
        h.state().ws.selection,
        selection_before,
        "a hidden class cannot be clicked"
    );
    h.get_by_label("Show all classes").click();
    h.step();
    h.step();
    click(&mut h, pos);
    settle(&mut h, 10);
    assert_eq!(h.state().ws.selection, Some(target));
}

#[test]
fn the_anomaly_threshold_rings_the_samples_above_it_on_the_map() {
    let mut h = harness();
    h.state_mut().settings.bottom_tab = BottomTab::Anomalies;
    h.state_mut().settings.color_by = ColorBy::AnomalyScore;
    step_until(&mut h, "the scores", |a| a.ws.scores.scores.is_some());
    let values = {
        let app = h.state();
        app.ws
            .scores
            .scores
            .as_ref()
            .unwrap()
            .values(app.settings.anomaly_score)
    };
    let mut sorted = values.clone();
    sorted.sort_by(f32::total_cmp);
    let threshold = sorted[sorted.len() - 200];
    h.state_mut().settings.anomaly_threshold = Some(threshold);
    h.step();
    h.step();
    let expected = values.iter().filter(|&&v| v > threshold).count();
    let label = format!("score > {threshold:.1}: {expected}");
    h.get_by_label_contains(&label);
}

#[test]
fn uncertainty_ellipses_are_one_mesh_found_once_per_layout() {
    let mut h = harness();
    h.state_mut().settings.show_all_ellipses = true;
    h.step();
    h.step();
    let n = h.state().panels.map.ellipses.ellipses.len();
    let points = h.state().ws.map.coords.len();
    assert_eq!(n, points.div_ceil(10));
    // Each is the selection-ellipse maths: the same shape as `posterior_ellipse`.
    let app = h.state();
    let e = app.panels.map.ellipses.ellipses[3];
    let line = app.ws.map.posterior_ellipse(30, &app.settings, 1.0);
    let p = e.point(1.0, 0.0);
    assert!((p[0] - line[0][0]).abs() < 1e-9 && (p[1] - line[0][1]).abs() < 1e-9);
    let (_, frame) = view(&h);
    let t = app.panels.map.screen.unwrap();
    let shape =
        latent_explorer::gui::panels::map::ellipses::mesh(&app.panels.map.ellipses.ellipses, &t);
    let egui::Shape::Mesh(mesh) = shape else {
        panic!("one mesh")
    };
    assert!(!mesh.vertices.is_empty());
    assert!(
        mesh.vertices
            .iter()
            .all(|v| frame.expand(400.0).contains(v.pos)),
        "only ellipses near the view are drawn"
    );
    let _ = Vec2::ZERO;
}

#[test]
fn principal_direction_sliders_move_the_code_along_one_direction() {
    let mut h = harness();
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("models/mnist-latent16.safetensors");
    h.state_mut().apply(Command::OpenModel(path));
    step_until(&mut h, "the latent-16 map", |a| a.ws.map.latent() == 16);
    settle(&mut h, 60);
    h.state_mut().settings.principal_sliders = true;
    h.step();
    h.step();
    let before = h.state().ws.probe.clone();
    // The first direction explains the most variance; its label says how much.
    let slider_rect = |h: &Harness<'static, ExplorerApp>, name: &str| {
        h.get_all_by_label_contains(name)
            .find(|n| n.accesskit_node().role() == Role::Slider)
            .map(|n| n.rect())
    };
    let slider = slider_rect(&h, "PC1 (").expect("a PC1 slider");
    slider_rect(&h, "PC16 (").expect("one slider per direction");
    click(&mut h, slider.center() + vec2(slider.width() * 0.3, 0.0));
    settle(&mut h, 10);
    let after = h.state().ws.probe.clone();
    assert_ne!(before, after);
    let pca = &h.state().panels.decoder.directions.as_ref().unwrap().1;
    let ratios = pca.explained_ratio();
    assert!(ratios.windows(2).all(|w| w[0] >= w[1] - 1e-6), "{ratios:?}");
    // The move lies along PC1: its projection on the other directions did not change.
    let (p0, p1) = (pca.project(&before), pca.project(&after));
    assert!((p1[0] - p0[0]).abs() > 0.05);
    for k in 1..16 {
        assert!(
            (p1[k] - p0[k]).abs() < 1e-3,
            "direction {k} moved: {} -> {}",
            p0[k],
            p1[k]
        );
    }
}

#[test]
fn colour_by_a_value_shows_a_gradient_legend_whose_range_is_the_values() {
    let mut h = harness();
    let (_, frame_before) = view(&h);
    h.state_mut().settings.color_by = ColorBy::Value;
    h.state_mut().settings.color_value = latent_explorer::gui::ColourValue::ReconstructionError;
    step_until(&mut h, "the scores", |a| a.ws.scores.scores.is_some());
    settle(&mut h, 30);
    h.step();
    let recon = h.state().ws.scores.scores.as_ref().unwrap().recon.clone();
    let lo = recon.iter().copied().fold(f32::MAX, f32::min);
    let hi = recon.iter().copied().fold(f32::MIN, f32::max);
    h.get_by_label(&format!("{lo:.3}"));
    h.get_by_label(&format!("{hi:.3}"));
    let (_, frame_after) = view(&h);
    assert_eq!(
        frame_before, frame_after,
        "the gradient bar and its spinner do not move the map"
    );
    // The worst-explained sample is drawn in the gradient's top colour.
    let worst = recon
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0;
    let mut panel_values = None;
    {
        let app = h.state_mut();
        let settings = app.settings.clone();
        let ctx = latent_explorer::gui::panels::PanelCtx {
            ws: &app.ws,
            training: false,
            busy: false,
            loading: false,
            encoding: false,
            dialogs_unavailable: false,
            recovered: None,
            timings: Default::default(),
            dataset_loading: None,
        };
        if let Some(v) =
            latent_explorer::gui::panels::map::gradient::values_of(&ctx, settings.color_value)
        {
            panel_values = Some(v);
        }
    }
    let v = panel_values.unwrap();
    assert_eq!(v.range, (lo, hi));
    assert_eq!(
        v.colour_of(worst),
        latent_explorer::gui::panels::map::gradient::viridis(1.0)
    );
    // A latent dimension's values are the codes'.
    h.state_mut().settings.color_value = latent_explorer::gui::ColourValue::LatentDim(1);
    h.step();
    h.step();
    let codes = h.state().ws.map.codes.clone().unwrap();
    let lo = (0..codes.len())
        .map(|k| codes.mean_of(k)[1])
        .fold(f32::MAX, f32::min);
    h.get_by_label(&format!("{lo:.3}"));
}

#[test]
fn thumbnails_appear_once_zoomed_in_past_the_threshold_and_not_before() {
    let mut h = harness();
    h.step();
    assert_eq!(
        h.state().panels.map.thumbnails.shown,
        0,
        "70,000 points: no thumbnails"
    );
    let target = outlier(h.state());
    let mut pos = to_screen(&h, h.state().ws.map.coord_of(target).unwrap());
    // Zoom in about the lone outlier until few points are in view.
    for _ in 0..12 {
        wheel(&mut h, pos, 300.0);
        pos = to_screen(&h, h.state().ws.map.coord_of(target).unwrap());
        if h.state().panels.map.thumbnails.shown > 0 {
            break;
        }
    }
    let shown = h.state().panels.map.thumbnails.shown;
    let (v, _) = view(&h);
    let in_view = h
        .state()
        .ws
        .map
        .coords
        .iter()
        .filter(|c| c[0] >= v[0] && c[0] <= v[2] && c[1] >= v[1] && c[1] <= v[3])
        .count();
    assert!(shown > 0, "zoomed in to {in_view} points, no thumbnails");
    assert_eq!(shown, in_view, "one thumbnail per point in view");
    assert!(in_view <= latent_explorer::gui::panels::map::thumbnails::MAX_THUMBNAILS);
    // Off: none.
    h.state_mut().settings.show_thumbnails = false;
    h.step();
    assert_eq!(h.state().panels.map.thumbnails.shown, 0);
}

/// Zooms in about the lone outlier until thumbnails are drawn; the samples then in view.
fn zoom_to_thumbnails(h: &mut Harness<'static, ExplorerApp>) -> Vec<usize> {
    let target = outlier(h.state());
    let mut pos = to_screen(h, h.state().ws.map.coord_of(target).unwrap());
    for _ in 0..12 {
        wheel(h, pos, 300.0);
        pos = to_screen(h, h.state().ws.map.coord_of(target).unwrap());
        if h.state().panels.map.thumbnails.shown > 0 {
            break;
        }
    }
    let (v, _) = view(h);
    let map = &h.state().ws.map;
    (0..map.coords.len())
        .filter(|&k| {
            let c = map.coords[k];
            c[0] >= v[0] && c[0] <= v[2] && c[1] >= v[1] && c[1] <= v[3]
        })
        .map(|k| map.indices[k])
        .collect()
}

#[test]
fn thumbnails_show_reconstructions_decoded_in_the_background_when_chosen() {
    use latent_explorer::gui::ThumbnailSource;
    use latent_explorer::gui::panels::map::thumbnails::sample_image;
    let mut h = harness();
    h.state_mut().settings.thumbnail_source = ThumbnailSource::Reconstruction;
    h.step();
    assert_eq!(
        h.state().panels.map.thumbnails.recon.drawn,
        0,
        "not zoomed in"
    );
    let in_view = zoom_to_thumbnails(&mut h);
    assert!(!in_view.is_empty());
    assert_eq!(h.state().panels.map.thumbnails.shown, in_view.len());
    // The worker decodes them; meanwhile the originals stand in.
    step_until(&mut h, "thumbnails drawn from reconstructions", |a| {
        a.panels.map.thumbnails.recon.drawn == in_view.len()
    });
    let app = h.state();
    let (model, data) = (app.ws.model.clone().unwrap(), app.ws.data.clone().unwrap());
    let codes = app.ws.map.codes.clone().unwrap();
    let recon = &app.panels.map.thumbnails.recon;
    let mut differs = 0.0;
    for &i in &in_view {
        let shown = recon
            .image(i)
            .expect("a reconstruction for every thumbnail");
        // The model's decoding of the sample's posterior mean, as 8-bit pixels.
        let k = app.ws.map.position_of(i).unwrap();
        let decoded = model
            .decode_as(
                codes.mean_of(k),
                latent_explorer::model::Condition::None.classes(),
            )
            .unwrap();
        assert_eq!(shown.pixels.len(), decoded.len());
        for (p, v) in shown.pixels.iter().zip(&decoded) {
            let want = (v.clamp(0.0, 1.0) * 255.0).round() as i32;
            assert!((p.r() as i32 - want).abs() <= 1, "sample {i}");
        }
        let original = sample_image(&data, i);
        differs += shown
            .pixels
            .iter()
            .zip(&original.pixels)
            .map(|(a, b)| (a.r() as f64 - b.r() as f64).abs())
            .sum::<f64>()
            / original.pixels.len() as f64;
    }
    let mean_difference = differs / in_view.len() as f64;
    assert!(
        mean_difference > 2.0,
        "reconstructions differ from the originals by {mean_difference:.2} grey levels a pixel"
    );
    // Back to the originals: nothing drawn from reconstructions.
    h.state_mut().settings.thumbnail_source = ThumbnailSource::Original;
    h.step();
    assert_eq!(h.state().panels.map.thumbnails.recon.drawn, 0);
    assert_eq!(h.state().panels.map.thumbnails.shown, in_view.len());
}

#[test]
fn the_density_view_is_drawn_under_the_points_when_chosen() {
    let mut h = harness();
    h.step();
    assert_eq!(h.state().panels.map.density.redraws, 0);
    h.state_mut().settings.show_density = true;
    h.step();
    h.step();
    assert!(h.state().panels.map.density.redraws > 0);
    let redraws = h.state().panels.map.density.redraws;
    // An idle map is not shaded again.
    for _ in 0..5 {
        h.step();
    }
    assert_eq!(h.state().panels.map.density.redraws, redraws);
}

#[test]
fn a_pictures_menu_exports_its_image_to_the_export_folder() {
    let mut h = harness();
    let dir = tempfile::tempdir().unwrap();
    h.state_mut().settings.export_folder = Some(dir.path().to_path_buf());
    h.state_mut().settings.bottom_tab = BottomTab::Generate;
    step_until(&mut h, "the generated grid", |a| {
        !a.panels.generate.grid.is_empty()
    });
    settle(&mut h, 30);
    let pos = h
        .get_by_label_contains("Click a sample to move the probe there")
        .rect()
        .min
        + vec2(4.0, 4.0);
    h.event(Event::PointerMoved(pos));
    for pressed in [true, false] {
        h.event(Event::PointerButton {
            pos,
            button: PointerButton::Secondary,
            pressed,
            modifiers: Modifiers::default(),
        });
    }
    h.step();
    h.step();
    h.get_by_label("Export image (to the export folder)")
        .click();
    settle(&mut h, 20);
    let list = || -> Vec<String> {
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    let start = std::time::Instant::now();
    while !list().iter().any(|f| f.ends_with(".png")) && start.elapsed().as_secs() < 20 {
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let files = list();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].ends_with("-decoded.png"), "{files:?}");
    let img = image::open(dir.path().join(&files[0])).unwrap();
    let shape = h.state().ws.data.as_ref().unwrap().shape;
    let scale = h.state().settings.export_scale;
    assert_eq!(img.width(), shape.width as u32 * scale);
}
