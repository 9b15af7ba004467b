//! The monkey test: seeded random action sequences against the real App through egui_kittest.
//! Clicks, drags and wheel anywhere, keys and typed text, and app actions (datasets the model
//! does not fit, 8x8, 64x64, colour, a corrupt file, a missing path; models of other latent
//! sizes and architectures; training started, paused, stopped; every tab, projection and
//! toggle, t-SNE and UMAP runs with any parameters the menu takes, cancelled or switched away
//! mid-way; selections, lassos (Ctrl, Shift, Alt + drag), groups and what they do, anchors and
//! exports to temporary paths). After every action: no panic
//! and the invariants of `gui_support::check_invariants`; at the end, nothing busy forever.
//!
//! `LATENT_EXPLORER_MONKEY_ACTIONS` (default 1500 per seed) and `LATENT_EXPLORER_MONKEY_SEEDS`
//! (default "1,2") set the length of a run; docs/reliability.md reports a long one.

mod common;
mod gui_support;
use egui::{Event, Key, Modifiers, PointerButton, Pos2, vec2};
use egui_kittest::Harness;
use gui_support::{check_invariants, quiet_harness, quiet_options, settle};
use latent_explorer::analysis::{AnomalyScore, MaskKind};
use latent_explorer::gui::panels::analogy::Side;
use latent_explorer::gui::{
    BottomTab, ColorBy, Command, ExplorerApp, ExportKind, GroupEdit, GroupSource, Projection,
};
use latent_explorer::latent::SelectMode;
use latent_explorer::latent::layout::{MIN_DIST_RANGE, NEIGHBOURS_RANGE, PERPLEXITY_RANGE};
use latent_explorer::model::Architecture;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::time::Instant;

const SIZE: egui::Vec2 = egui::vec2(1280.0, 720.0);

/// The files a monkey opens: datasets that fit the bundled model and ones that do not.
struct Files {
    datasets: Vec<PathBuf>,
    models: Vec<PathBuf>,
    out: PathBuf,
}

fn files(dir: &Path) -> Files {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corrupt = dir.join("corrupt-images-idx3-ubyte");
    std::fs::write(&corrupt, b"\x00\x00\x08\x03\x00\x00\x00\x05garbage").unwrap();
    let corrupt_model = dir.join("corrupt.safetensors");
    std::fs::write(&corrupt_model, b"not a checkpoint at all").unwrap();
    let out = dir.join("exports");
    std::fs::create_dir_all(&out).unwrap();
    Files {
        datasets: vec![
            common::mnist_dir(),
            root.join("assets/fashion-mnist-sample"),
            common::write_idx_dataset(dir, "digits8", 300, 60, 8, 8),
            common::write_idx_dataset(dir, "big64", 120, 30, 64, 64),
            common::write_colour_shapes(&dir.join("colour"), 6),
            corrupt,
            dir.join("does-not-exist"),
        ],
        models: vec![
            root.join("models/mnist-latent2.safetensors"),
            root.join("models/mnist-latent16.safetensors"),
            corrupt_model,
            dir.join("missing.safetensors"),
        ],
        out,
    }
}

fn key_event(key: Key, pressed: bool) -> Event {
    Event::Key {
        key,
        physical_key: None,
        pressed,
        repeat: false,
        modifiers: Modifiers::default(),
    }
}

/// One random thing a user could do.
/// A command that replaces the model, sometimes as the unsaved-model prompt's "Discard it"
/// sends it (otherwise a trained model holds it back and asks; random clicks answer that).
fn confirmed_or_not(rng: &mut StdRng, cmd: Command) -> Command {
    if rng.random_bool(0.5) {
        Command::Replace(Box::new(cmd))
    } else {
        cmd
    }
}

fn act(h: &mut Harness<'static, ExplorerApp>, rng: &mut StdRng, f: &Files, k: usize) {
    let pos = Pos2::new(rng.random_range(0.0..SIZE.x), rng.random_range(0.0..SIZE.y));
    let n = h.state().ws.data.as_ref().map_or(1, |d| d.len()).max(1);
    // Mostly in range, sometimes past it: a command from a stale picture.
    let index = if rng.random_bool(0.9) {
        rng.random_range(0..n)
    } else {
        n + rng.random_range(0..100_000)
    };
    let latent = h.state().latent();
    let button = |pos, pressed| Event::PointerButton {
        pos,
        button: PointerButton::Primary,
        pressed,
        modifiers: Modifiers::default(),
    };
    match rng.random_range(0..100) {
        // The pointer: clicks, drags, wheel, hovering.
        0..=19 => {
            h.event(Event::PointerMoved(pos));
            h.event(button(pos, true));
            h.step();
            h.event(button(pos, false));
        }
        20..=26 => {
            let to = pos
                + vec2(
                    rng.random_range(-200.0..200.0),
                    rng.random_range(-200.0..200.0),
                );
            // Plain (pan), Ctrl (lasso), Shift (box zoom, or add to a selection), Alt
            // (take away from one); sometimes with the Lasso or Rectangle tool on.
            let modifiers = *[
                Modifiers::default(),
                Modifiers::CTRL | Modifiers::COMMAND,
                Modifiers::SHIFT,
                Modifiers::ALT,
            ]
            .choose(rng)
            .unwrap();
            if rng.random_bool(0.3) {
                use latent_explorer::gui::panels::map::select::MapTool;
                h.state_mut().panels.map.tool = *MapTool::ALL.choose(rng).unwrap();
            }
            h.event(Event::ModifiersChanged(modifiers));
            h.event(Event::PointerMoved(pos));
            h.event(button(pos, true));
            for t in [0.3, 0.6, 1.0] {
                h.step();
                h.event(Event::PointerMoved(pos + (to - pos) * t));
            }
            h.event(button(to, false));
            h.step();
            h.event(Event::ModifiersChanged(Modifiers::default()));
        }
        27..=31 => {
            h.event(Event::PointerMoved(pos));
            h.event(Event::MouseWheel {
                unit: egui::MouseWheelUnit::Point,
                delta: vec2(0.0, rng.random_range(-120.0..120.0)),
                phase: egui::TouchPhase::Move,
                source: egui::MouseWheelSource::Unknown,
                modifiers: if rng.random_bool(0.5) {
                    Modifiers::CTRL
                } else {
                    Modifiers::default()
                },
            });
        }
        32..=35 => h.event(Event::PointerMoved(pos)),
        // The keyboard.
        36..=40 => {
            let key = *[
                Key::ArrowLeft,
                Key::ArrowRight,
                Key::ArrowUp,
                Key::ArrowDown,
                Key::Enter,
                Key::Escape,
                Key::Tab,
                Key::Space,
                Key::Backspace,
                Key::Delete,
            ]
            .choose(rng)
            .unwrap();
            h.event(key_event(key, true));
            h.event(key_event(key, false));
        }
        41..=42 => {
            let text = ["7", "-1", "1e9", "abc", "0", "/tmp/x", "3,4", "é"]
                .choose(rng)
                .unwrap();
            h.event(Event::Text(text.to_string()));
        }
        // Opening things.
        43..=45 => h.state_mut().apply(Command::OpenDataset(
            f.datasets.choose(rng).unwrap().clone(),
        )),
        46..=47 => {
            let open = Command::OpenModel(f.models.choose(rng).unwrap().clone());
            h.state_mut().apply(confirmed_or_not(rng, open));
        }
        48..=49 => {
            let app = h.state_mut();
            let s = &mut app.settings.new_model;
            s.arch = if rng.random_bool(0.7) {
                Architecture::Mlp
            } else {
                Architecture::Conv
            };
            s.latent = rng.random_range(1..=20);
            s.hidden = ["400", "64", "32,16", "0", "x"]
                .choose(rng)
                .unwrap()
                .to_string();
            s.channels = ["4,8", "8", "4,4,4", "", "99999999999"]
                .choose(rng)
                .unwrap()
                .to_string();
            app.apply(confirmed_or_not(rng, Command::NewModel));
        }
        // Training.
        50..=52 => {
            let app = h.state_mut();
            app.settings.train.epochs = rng.random_range(1..=2);
            app.settings.train.batch_size = *[1usize, 64, 128, 4096].choose(rng).unwrap();
            app.apply(Command::StartTraining);
        }
        53 => h.state_mut().apply(Command::PauseTraining),
        54 => h.state_mut().apply(Command::ResumeTraining),
        55..=56 => h.state_mut().apply(Command::StopTraining),
        // Tabs, projection, toggles.
        57..=61 => {
            let s = &mut h.state_mut().settings;
            s.bottom_tab = *[
                BottomTab::Interpolation,
                BottomTab::Generate,
                BottomTab::Anomalies,
                BottomTab::MissingData,
                BottomTab::Export,
                BottomTab::Traversal,
                BottomTab::Analogy,
                BottomTab::RateDistortion,
                BottomTab::Groups,
            ]
            .choose(rng)
            .unwrap();
        }
        62..=64 => {
            let s = &mut h.state_mut().settings;
            match rng.random_range(0..7) {
                0 => s.show_manifold = !s.show_manifold,
                1 => s.show_prior = !s.show_prior,
                2 => s.show_all_ellipses = rng.random_bool(0.2),
                3 => {
                    s.color_by = if s.color_by == ColorBy::Label {
                        ColorBy::AnomalyScore
                    } else {
                        ColorBy::Label
                    }
                }
                4 => {
                    // t-SNE and UMAP start a run on a thread of their own, drawn as it goes;
                    // the next change of projection, dataset or model cancels it mid-way.
                    s.projection = *[
                        Projection::Pca,
                        Projection::Axes,
                        Projection::Tsne,
                        Projection::Umap,
                    ]
                    .choose(rng)
                    .unwrap();
                    if rng.random_bool(0.5) {
                        // Anything the projection menu's fields accept.
                        s.layout.perplexity = rng.random_range(PERPLEXITY_RANGE);
                        s.layout.neighbours = rng.random_range(NEIGHBOURS_RANGE);
                        s.layout.min_dist = rng.random_range(MIN_DIST_RANGE);
                    }
                }
                5 => {
                    s.axis_x = rng.random_range(0..20);
                    s.axis_y = rng.random_range(0..20);
                }
                _ => {
                    // The IW bound with a small k: a couple of decodes a sample.
                    s.anomaly_iw_k = 2;
                    s.anomaly_score = *[
                        AnomalyScore::NegativeElbo,
                        AnomalyScore::Reconstruction,
                        AnomalyScore::NegativeIwBound,
                    ]
                    .choose(rng)
                    .unwrap();
                }
            }
        }
        // Selections, anchors, the probe, analyses.
        65..=71 => h.state_mut().apply(Command::Select(index)),
        72..=74 => h.state_mut().apply(Command::AddAnchor(index)),
        75 => h.state_mut().apply(Command::ClearAnchors),
        76..=77 => {
            let len = if rng.random_bool(0.8) {
                latent
            } else {
                rng.random_range(0..32)
            };
            let code = (0..len).map(|_| rng.random_range(-6.0..6.0)).collect();
            h.state_mut().apply(Command::SetProbe(code));
        }
        78 => h.state_mut().apply(Command::SampleProbe),
        79 => h.state_mut().apply(Command::ResetProbeToSelection),
        80..=81 => {
            let app = h.state_mut();
            app.settings.inpaint_mask = *[
                MaskKind::BottomHalf,
                MaskKind::CentreSquare,
                MaskKind::Random {
                    fraction: 0.6,
                    seed: 1,
                },
                MaskKind::Rect {
                    top: 50,
                    left: 50,
                    height: 9,
                    width: 9,
                },
            ]
            .choose(rng)
            .unwrap();
            app.apply(Command::FillIn);
        }
        82 => h.state_mut().apply(Command::MakeAttribute {
            plus: rng.random_range(0..12),
            minus: rng.random_range(0..12),
        }),
        83 => h.state_mut().apply(Command::ApplyAttribute {
            k: rng.random_range(0..3),
            amount: rng.random_range(-2.0..2.0),
        }),
        84 => h.state_mut().apply(Command::ShowTimeline(
            rng.random_bool(0.7).then(|| rng.random_range(0..70)),
        )),
        85 => {
            let s = &mut h.state_mut().settings;
            s.interp_steps = rng.random_range(2..=32);
            s.grid_count = rng.random_range(4..=144);
            s.temperature = rng.random_range(0.0..2.0);
            // Out-of-range values too: the tab shows why, never panics.
            let t = &mut s.traversal;
            t.steps = rng.random_range(1..=30);
            t.sigmas = rng.random_range(0.0..6.0);
            t.from_selection = rng.random_bool(0.5);
            t.hide_inactive = rng.random_bool(0.5);
            t.principal = rng.random_bool(0.3);
            t.order_by_kl = rng.random_bool(0.7);
            t.range = *[
                latent_explorer::latent::TraversalRange::Prior,
                latent_explorer::latent::TraversalRange::Spread,
                latent_explorer::latent::TraversalRange::MinMax,
            ]
            .choose(rng)
            .unwrap();
            let a = &mut h.state_mut().panels.analogy;
            a.steps = rng.random_range(1..=20);
            a.rows = rng.random_range(0..=14);
            let side = |rng: &mut StdRng| {
                if rng.random_bool(0.5) {
                    Side::Label(rng.random_range(0..12))
                } else {
                    Side::Group(rng.random_range(0..4))
                }
            };
            a.asked = rng.random_bool(0.5).then(|| (side(rng), side(rng)));
            h.state_mut().apply(Command::RebuildStrip);
        }
        86 => h.state_mut().apply(Command::RerollGrid),
        87..=89 => {
            let kind = *[
                ExportKind::Preview,
                ExportKind::Strip,
                ExportKind::Grid,
                ExportKind::Map,
                ExportKind::Codes,
                ExportKind::CodesNumpy,
                ExportKind::Traversal,
                ExportKind::TraversalGif,
                ExportKind::Analogy,
            ]
            .choose(rng)
            .unwrap();
            if rng.random_bool(0.5) {
                let name = format!("{k}-{}", kind.name_suffix());
                h.state_mut()
                    .apply(Command::ExportTo(kind, f.out.join(name)));
            } else {
                // Plain "Export": the suggested name (or a free variant) in the folder.
                let app = h.state_mut();
                app.settings.export_folder = Some(f.out.clone());
                app.apply(Command::Export(kind));
            }
        }
        90 => {
            let command = if rng.random_bool(0.5) {
                Command::DismissNotice(rng.random_range(0..4))
            } else {
                // The layout's Cancel button (nothing happens when no run is going).
                Command::CancelLayout
            };
            h.state_mut().apply(command);
        }
        91 => h.state_mut().apply(Command::ResetLayout),
        92 => h.state_mut().apply(Command::ReprojectMap),
        // Groups: made from the selection, a label or the threshold; edited, exported, some
        // of them named by a stale position or holding samples past the dataset.
        93..=95 => {
            let app = h.state_mut();
            app.settings.export_folder = Some(f.out.clone());
            let command = match rng.random_range(0..5) {
                0 => Command::SelectMany {
                    indices: (0..rng.random_range(0..50))
                        .map(|_| index as u32 + rng.random_range(0..500))
                        .collect(),
                    mode: *[SelectMode::Replace, SelectMode::Add, SelectMode::Subtract]
                        .choose(rng)
                        .unwrap(),
                },
                1 => Command::MakeGroup(
                    [
                        GroupSource::Selection,
                        GroupSource::Label(rng.random_range(0..12)),
                        GroupSource::AnomalyThreshold,
                    ]
                    .choose(rng)
                    .unwrap()
                    .clone(),
                ),
                2 => Command::ClearMultiSelection,
                _ => Command::EditGroup(
                    rng.random_range(0..4),
                    [
                        GroupEdit::Rename(format!("g{k}")),
                        GroupEdit::Recolour([rng.random(), rng.random(), rng.random()]),
                        GroupEdit::Show(rng.random_bool(0.5)),
                        GroupEdit::Select,
                        GroupEdit::DecodeMean,
                        GroupEdit::Export(ExportKind::GroupCsv),
                        GroupEdit::Export(ExportKind::GroupNumpy),
                        GroupEdit::Export(ExportKind::GroupPng),
                        GroupEdit::Delete,
                    ]
                    .choose(rng)
                    .unwrap()
                    .clone(),
                ),
            };
            app.apply(command);
        }
        // Time passing: background work lands.
        _ => std::thread::sleep(std::time::Duration::from_millis(rng.random_range(1..40))),
    }
}

/// The names directly inside a folder.
fn entries(folder: &Path) -> std::collections::BTreeSet<std::ffi::OsString> {
    std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect()
}

fn run(seed: u64, actions: usize) {
    let dir = tempfile::tempdir().unwrap();
    let f = files(dir.path());
    // Typed text ("7", "é") becomes paths: none may land in the working folder, which for a
    // test is the crate root (a run once left files named 7, 1e9 and é there).
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root_before = entries(root);
    let mut h = quiet_harness(quiet_options(), SIZE);
    // Random clicks on "Export" write here, not into the user's Pictures.
    h.state_mut().settings.export_folder = Some(f.out.clone());
    let mut rng = StdRng::seed_from_u64(seed);
    let start = Instant::now();
    // What the run went through, to show that it reached the states it should.
    let mut pairs = std::collections::BTreeSet::new();
    let (mut trained_frames, mut errors) = (0usize, 0usize);
    let (mut layout_frames, mut laid_out_frames) = (0usize, 0usize);
    let (mut most_groups, mut most_selected) = (0usize, 0usize);
    for k in 0..actions {
        act(&mut h, &mut rng, &f, k);
        h.step();
        let app = h.state();
        if let Err(e) = check_invariants(app) {
            panic!("seed {seed}, action {k}: {e}");
        }
        let shape = app
            .ws
            .data
            .as_ref()
            .map(|d| (d.len(), d.shape.width, d.shape.channels));
        pairs.insert((shape, app.latent()));
        trained_frames += usize::from(app.is_training());
        layout_frames += usize::from(app.layout_runs.current.is_some());
        laid_out_frames += usize::from(app.ws.map.shown_layout().is_some());
        most_groups = most_groups.max(app.ws.groups.len());
        most_selected = most_selected.max(app.ws.multi_selection.len());
        errors = errors.max(app.ws.notices.errors().map(|n| n.count).sum());
    }
    // Nothing busy forever: stop what runs and let the queue drain.
    h.state_mut().apply(Command::StopTraining);
    // Generous: a conv model's encode and scores of 70,000 images take tens of seconds on a
    // busy 2-core machine.
    settle(&mut h, 600);
    if let Err(e) = check_invariants(h.state()) {
        panic!("seed {seed}, after settling: {e}");
    }
    // Quiet frames stay quiet: any work a frame asks for (a grid, a background) ends.
    for _ in 0..5 {
        settle(&mut h, 60);
    }
    let new_in_root: Vec<_> = entries(root).difference(&root_before).cloned().collect();
    assert!(
        new_in_root.is_empty(),
        "seed {seed}: the run wrote into the crate root: {new_in_root:?}"
    );
    eprintln!(
        "monkey seed {seed}: {actions} actions in {:.1} s, no panic, invariants held; \
         {} (dataset, latent) pairs seen, {trained_frames} frames while training, \
         {layout_frames} while a t-SNE/UMAP run went, {laid_out_frames} showing one, \
         up to {errors} errors shown at once, up to {most_groups} groups and \
         {most_selected} samples selected at once",
        start.elapsed().as_secs_f64(),
        pairs.len()
    );
}

#[test]
fn random_actions_never_crash_the_window_or_break_its_invariants() {
    let actions: usize = std::env::var("LATENT_EXPLORER_MONKEY_ACTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500);
    let seeds: Vec<u64> = std::env::var("LATENT_EXPLORER_MONKEY_SEEDS")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 2]);
    for seed in seeds {
        run(seed, actions);
    }
}
