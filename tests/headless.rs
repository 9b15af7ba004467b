//! The window's app without a window: `ExplorerApp::headless` and `run_frame`, the public way
//! bench-scale (and any program embedding the library) drives it. It loads the data and model it
//! is given, maps them, and answers a drag on the map, with no eframe involved.

use egui::{Event, Modifiers, PointerButton, Pos2, RawInput, Rect, vec2};
use latent_explorer::assets::BundledPaths;
use latent_explorer::gui::{AppOptions, DialogPurpose, ExplorerApp, FileDialogs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct NoDialogs;

impl FileDialogs for NoDialogs {
    fn pick(&self, _: DialogPurpose) -> Option<PathBuf> {
        None
    }
}

#[test]
fn a_headless_app_maps_its_data_and_pans_on_a_drag() {
    let ctx = egui::Context::default();
    let bundled = BundledPaths::from_source_tree();
    let mut app = ExplorerApp::headless(
        ctx.clone(),
        AppOptions {
            dialogs: Arc::new(NoDialogs),
            restore_settings: false,
            // Only the bundled paths are given: the app opens them as it would at first start.
            bundled: bundled.clone(),
            map_points: Some(5_000),
            recovery: None,
            log: false,
            ..AppOptions::default()
        },
    );
    let mut time = 0.0;
    let mut frame = |app: &mut ExplorerApp, events: Vec<Event>| {
        time += 1.0 / 60.0;
        let input = RawInput {
            screen_rect: Some(Rect::from_min_size(Pos2::ZERO, vec2(1400.0, 900.0))),
            time: Some(time),
            events,
            ..Default::default()
        };
        let out = app.run_frame(&ctx, input);
        assert!(!out.shapes.is_empty(), "a frame draws something");
        assert!(app.frame_ms > 0.0);
    };
    let start = Instant::now();
    while !(app.ws.map.codes.is_some() && app.panels.map.screen.is_some() && !app.is_busy()) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the map never appeared"
        );
        frame(&mut app, Vec::new());
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(app.ws.data.as_ref().unwrap().len(), 70_000);
    assert_eq!(app.ws.map.codes.as_ref().unwrap().len(), 5_000);
    assert_eq!(app.latent(), 2);
    assert!(
        app.ws
            .model_path
            .as_ref()
            .unwrap()
            .ends_with("models/mnist-latent2.safetensors")
    );

    // A few frames for the layout to settle (panel sizes, the view fitted to the points).
    for _ in 0..5 {
        frame(&mut app, Vec::new());
    }
    // Drag the map by 100 px: what it shows moves with the pointer.
    let transform = app.panels.map.screen.unwrap();
    // Away from the probe (the white diamond, at the origin): a drag that starts on it moves
    // the probe instead of the view.
    let probe = app.ws.probe.clone();
    let probe_at =
        transform.position_from_point(&egui_plot::PlotPoint::new(probe[0] as f64, probe[1] as f64));
    let centre = transform.frame().center() - vec2(0.0, 80.0);
    assert!(centre.distance(probe_at) > 30.0);
    let before = transform.value_from_position(centre);
    let press = |pos, pressed| Event::PointerButton {
        pos,
        button: PointerButton::Primary,
        pressed,
        modifiers: Modifiers::default(),
    };
    frame(
        &mut app,
        vec![Event::PointerMoved(centre), press(centre, true)],
    );
    for k in 1..=10 {
        frame(
            &mut app,
            vec![Event::PointerMoved(centre + vec2(10.0 * k as f32, 0.0))],
        );
    }
    frame(&mut app, vec![press(centre + vec2(100.0, 0.0), false)]);
    frame(&mut app, Vec::new());
    let after = app.panels.map.screen.unwrap().value_from_position(centre);
    // 100 px of the view's width in plot units, and the view's height.
    let bounds = transform.bounds();
    let expected = 100.0 / transform.frame().width() as f64 * bounds.width();
    let moved = before.x - after.x;
    assert!(
        (0.5 * expected..1.5 * expected).contains(&moved),
        "dragging 100 px right moves the view by about {expected} left, moved {moved}"
    );
    assert!(
        (after.y - before.y).abs() < 0.02 * bounds.height(),
        "{before:?} -> {after:?}"
    );
}
