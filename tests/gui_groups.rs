//! Lasso selection and groups in the real window (bundled MNIST and model, 1400x900): Ctrl +
//! drag draws a lasso whose selection is exactly the points inside it; "Make group" turns it
//! into a group that is renamed, hidden, exported (CSV, .npy, PNG grid) from the Groups tab;
//! the Rectangle tool with Shift adds and with Alt takes away; the Analogy tab makes a vector
//! between two groups.

mod gui_support;
use egui::accesskit::Role;
use egui::{Event, Key, Modifiers, PointerButton, Pos2, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use egui_plot::PlotPoint;
use gui_support::{check_invariants, quiet_harness, quiet_options, settle, step_until};
use latent_explorer::gui::panels::analogy::Side;
use latent_explorer::gui::panels::map::select::MapTool;
use latent_explorer::gui::{BottomTab, Command, ExplorerApp};
use latent_explorer::latent::{SelectMode, point_in_polygon, select_in_rect};
use latent_explorer::npy::{Values, read_npy};

fn harness() -> Harness<'static, ExplorerApp> {
    let mut h = quiet_harness(quiet_options(), vec2(1400.0, 900.0));
    step_until(&mut h, "the map", |a| {
        a.ws.map.codes.is_some() && a.panels.map.screen.is_some()
    });
    settle(&mut h, 60);
    h
}

fn to_plot(h: &Harness<'static, ExplorerApp>, p: Pos2) -> [f64; 2] {
    let v = h.state().panels.map.screen.unwrap().value_from_position(p);
    [v.x, v.y]
}

fn to_screen(h: &Harness<'static, ExplorerApp>, c: [f64; 2]) -> Pos2 {
    let t = h.state().panels.map.screen.unwrap();
    t.position_from_point(&PlotPoint::new(c[0], c[1]))
}

/// Drags the primary button through `path` with `modifiers` held, a frame per point.
fn drag(h: &mut Harness<'static, ExplorerApp>, path: &[Pos2], modifiers: Modifiers) {
    let button = |pos, pressed| Event::PointerButton {
        pos,
        button: PointerButton::Primary,
        pressed,
        modifiers,
    };
    // egui reads the modifiers held from the frame's input, not from the pointer events.
    h.event(Event::ModifiersChanged(modifiers));
    h.event(Event::PointerMoved(path[0]));
    h.step();
    h.event(button(path[0], true));
    h.step();
    for &p in &path[1..] {
        h.event(Event::PointerMoved(p));
        h.step();
    }
    h.event(button(*path.last().unwrap(), false));
    h.step();
    h.event(Event::ModifiersChanged(Modifiers::default()));
    h.step();
}

/// The dataset indices of the map points inside `polygon` (map coordinates), by brute force.
fn inside(app: &ExplorerApp, polygon: &[[f64; 2]]) -> Vec<u32> {
    let map = &app.ws.map;
    (0..map.coords.len())
        .filter(|&k| point_in_polygon(polygon, map.coords[k]))
        .map(|k| map.indices[k] as u32)
        .collect()
}

/// The screen position of the median of class `label`'s points.
fn cluster_centre(h: &Harness<'static, ExplorerApp>, label: u16) -> Pos2 {
    let app = h.state();
    let data = app.ws.data.as_ref().unwrap();
    let map = &app.ws.map;
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for (k, &i) in map.indices.iter().enumerate() {
        if data.label(i) == Some(label) {
            xs.push(map.coords[k][0]);
            ys.push(map.coords[k][1]);
        }
    }
    xs.sort_by(f64::total_cmp);
    ys.sort_by(f64::total_cmp);
    to_screen(h, [xs[xs.len() / 2], ys[ys.len() / 2]])
}

fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_lasso_becomes_a_group_that_is_renamed_hidden_and_exported() {
    let mut h = harness();
    let dir = tempfile::tempdir().unwrap();
    h.state_mut().settings.export_folder = Some(dir.path().to_path_buf());
    // A lasso of 24 vertices, 45 points across, around the ones' cluster.
    let centre = cluster_centre(&h, 1);
    let path: Vec<Pos2> = (0..24)
        .map(|k| {
            let t = k as f32 / 24.0 * std::f32::consts::TAU;
            let r = 45.0 * (1.0 + 0.2 * (3.0 * t).sin());
            centre + vec2(r * t.cos(), r * t.sin())
        })
        .collect();
    let polygon: Vec<[f64; 2]> = path.iter().map(|&p| to_plot(&h, p)).collect();
    let view = |h: &Harness<'static, ExplorerApp>| {
        let t = h.state().panels.map.screen.unwrap();
        [t.bounds().min(), t.bounds().max()]
    };
    let view_before = view(&h);
    drag(&mut h, &path, Modifiers::CTRL | Modifiers::COMMAND);
    settle(&mut h, 10);
    let want = inside(h.state(), &polygon);
    assert!(want.len() > 50, "the lasso holds {} points", want.len());
    assert_eq!(h.state().ws.multi_selection, want);
    // A lasso does not pan the map, nor select a single sample.
    assert_eq!(view(&h), view_before);
    assert_eq!(h.state().ws.selection, None);
    h.get_by_label(&format!("{} selected", want.len()));

    h.get_by_label("Make group").click();
    settle(&mut h, 10);
    {
        let ws = &h.state().ws;
        assert_eq!(ws.groups.len(), 1);
        assert_eq!(ws.groups[0].indices, want);
        assert!(ws.groups[0].visible);
        assert!(ws.multi_selection.is_empty());
    }

    // The Groups tab: rename it.
    h.get_by_label("Groups").click();
    settle(&mut h, 30);
    h.get_by(|n| n.role() == Role::TextInput && n.value().as_deref() == Some("selection 1"))
        .click();
    h.step();
    h.key_press(Key::End);
    for _ in 0..12 {
        h.key_press(Key::Backspace);
    }
    // The field still has the keyboard: type into it.
    h.event(Event::Text("ones".into()));
    h.step();
    h.step();
    assert_eq!(h.state().ws.groups[0].name, "ones");
    h.key_press(Key::Enter);
    h.step();

    // Its mean error and KL once the scores are in.
    step_until(&mut h, "the group's statistics", |a| {
        a.panels
            .groups
            .stats_of(0)
            .is_some_and(|s| s.mean_recon.is_some() && s.mean_kl.is_some())
    });
    let stats = h.state().panels.groups.stats_of(0).unwrap().clone();
    assert_eq!(stats.count, want.len());
    h.get_by_label_contains("mean reconstruction error");

    // Hide it on the map.
    h.get_by_label("on map").click();
    h.step();
    assert!(!h.state().ws.groups[0].visible);

    // Decode its mean: the probe moves to the mean code.
    h.get_by_label("Decode mean").click();
    h.step();
    assert_eq!(h.state().ws.probe, stats.mean_code);

    // Export it three ways into the export folder.
    for button in ["CSV", ".npy", "PNG grid"] {
        h.get_by_label(button).click();
        h.step();
    }
    settle(&mut h, 30);
    let start = std::time::Instant::now();
    while files_in(dir.path()).len() < 5 && start.elapsed().as_secs() < 30 {
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let files = files_in(dir.path());
    let prefix = files[0].split("group-ones").next().unwrap().to_string();
    let want_files: Vec<String> = [
        "group-ones.csv",
        "group-ones.indices.npy",
        "group-ones.labels.npy",
        "group-ones.npy",
        "group-ones.png",
    ]
    .iter()
    .map(|f| format!("{prefix}{f}"))
    .collect();
    assert_eq!(files, want_files);
    let npy = |f: &str| read_npy(&dir.path().join(format!("{prefix}{f}"))).unwrap();
    let app = h.state();
    let latent = app.latent();
    let means = npy("group-ones.npy");
    assert_eq!(means.shape, vec![want.len(), latent]);
    let codes: Vec<f32> = want
        .iter()
        .flat_map(|&i| app.code_of(i as usize).unwrap())
        .collect();
    assert_eq!(means.values, Values::F32(codes));
    let index: Vec<i64> = want.iter().map(|&i| i as i64).collect();
    assert_eq!(npy("group-ones.indices.npy").to_i64().unwrap(), index);
    let data = app.ws.data.as_ref().unwrap();
    let labels: Vec<i64> = want
        .iter()
        .map(|&i| data.label(i as usize).unwrap() as i64)
        .collect();
    assert_eq!(npy("group-ones.labels.npy").to_i64().unwrap(), labels);
    let csv = std::fs::read_to_string(dir.path().join(format!("{prefix}group-ones.csv"))).unwrap();
    assert_eq!(csv.lines().count(), want.len() + 1);
    let png = image::open(dir.path().join(format!("{prefix}group-ones.png"))).unwrap();
    assert!(png.width() >= 28);

    // Delete it.
    h.get_by_label("Delete").click();
    h.step();
    assert!(h.state().ws.groups.is_empty());
    check_invariants(h.state()).unwrap();
}

#[test]
fn the_rectangle_tool_adds_with_shift_and_takes_away_with_alt_and_groups_make_an_analogy() {
    let mut h = harness();
    h.state_mut().panels.map.tool = MapTool::Rectangle;
    let c = h.state().panels.map.screen.unwrap().frame().center();
    let rect = |h: &Harness<'static, ExplorerApp>, a: Pos2, b: Pos2| {
        select_in_rect(&h.state().ws.map.coords, to_plot(h, a), to_plot(h, b))
            .into_iter()
            .map(|k| h.state().ws.map.indices[k as usize] as u32)
            .collect::<Vec<u32>>()
    };
    let steps = |a: Pos2, b: Pos2| -> Vec<Pos2> {
        (0..=6).map(|k| a + (b - a) * (k as f32 / 6.0)).collect()
    };
    let (a0, a1) = (c - vec2(80.0, 60.0), c + vec2(0.0, 40.0));
    let (b0, b1) = (c - vec2(20.0, 20.0), c + vec2(70.0, 70.0));
    let first = rect(&h, a0, a1);
    drag(&mut h, &steps(a0, a1), Modifiers::default());
    assert_eq!(h.state().ws.multi_selection, first);
    let second = rect(&h, b0, b1);
    drag(&mut h, &steps(b0, b1), Modifiers::SHIFT);
    let mut union: Vec<u32> = [first.clone(), second.clone()].concat();
    union.sort_unstable();
    union.dedup();
    assert_eq!(h.state().ws.multi_selection, union);
    assert!(
        union.len() > first.len(),
        "the second rectangle added points"
    );
    drag(&mut h, &steps(b0, b1), Modifiers::ALT);
    let rest: Vec<u32> = first
        .iter()
        .copied()
        .filter(|i| !second.contains(i))
        .collect();
    assert_eq!(h.state().ws.multi_selection, rest);
    // A click with the tool on selects no region (and leaves the selection alone).
    drag(&mut h, &[c, c], Modifiers::default());
    settle(&mut h, 10);
    assert_eq!(h.state().ws.multi_selection, rest);

    // Two groups from labels, and an analogy between them in the Analogy tab.
    h.state_mut().settings.bottom_tab = BottomTab::Groups;
    h.step();
    for label in [7u16, 1] {
        h.state_mut().panels.groups.label = label;
        h.step();
        h.get_by_label("Make from label").click();
        h.step();
    }
    assert_eq!(h.state().ws.groups.len(), 2);
    assert_eq!(h.state().ws.groups[0].name, "class 7");
    h.state_mut().settings.bottom_tab = BottomTab::Analogy;
    h.state_mut().panels.analogy.plus = Side::Group(0);
    h.state_mut().panels.analogy.minus = Side::Group(1);
    h.step();
    h.get_by_label("Make analogy").click();
    step_until(&mut h, "the analogy", |a| a.panels.analogy.result.is_some());
    let r = h.state().panels.analogy.result.clone().unwrap();
    assert_eq!(r.name, "class 7 minus class 1");
    let sevens = h.state().ws.groups[0].len();
    assert_eq!(r.plus_count, sevens);
    assert!(
        r.quality.consistency > r.quality.chance + 0.3,
        "{:?}",
        r.quality
    );
    check_invariants(h.state()).unwrap();

    // A group of the samples above the anomaly threshold (the worst 1%).
    h.state_mut().settings.bottom_tab = BottomTab::Groups;
    step_until(&mut h, "the anomaly scores", |a| {
        a.ws.scores.scores.is_some()
    });
    let (values, kind) = {
        let app = h.state();
        let kind = app.settings.anomaly_score;
        (app.ws.scores.scores.as_ref().unwrap().values(kind), kind)
    };
    let mut sorted = values.clone();
    sorted.sort_by(f32::total_cmp);
    let t = sorted[sorted.len() * 99 / 100];
    h.state_mut().settings.anomaly_threshold = Some(t);
    h.step();
    h.get_by_label(&format!("{} > {t:.1}", kind.label()))
        .click();
    h.step();
    let above: Vec<u32> = {
        let map = &h.state().ws.map;
        (0..values.len())
            .filter(|&k| values[k] > t)
            .map(|k| map.indices[k] as u32)
            .collect()
    };
    assert_eq!(h.state().ws.groups.len(), 3);
    assert_eq!(h.state().ws.groups[2].indices, above);
    assert!(above.len() >= 690 && above.len() <= 710, "{}", above.len());

    // Another dataset: the groups and the selection named the old one's samples, and go.
    h.state_mut().apply(Command::SelectMany {
        indices: vec![1, 2, 3],
        mode: SelectMode::Add,
    });
    let fashion =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/fashion-mnist-sample");
    h.state_mut().apply(Command::OpenDataset(fashion));
    step_until(&mut h, "the other dataset", |a| {
        a.ws.data.as_ref().is_some_and(|d| d.len() != 70_000)
    });
    assert!(h.state().ws.groups.is_empty());
    assert!(h.state().ws.multi_selection.is_empty());
    assert!(
        h.state().ws.notices.iter().any(|n| n
            .text
            .contains("3 groups of the previous dataset were dropped")),
        "a notice says so"
    );
    settle(&mut h, 60);
    check_invariants(h.state()).unwrap();
}
