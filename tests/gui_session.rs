//! Sessions: an exploration saved to a `.lxsession.json` file and opened again in a new app
//! (a restart) restores the same view, selection, anchors, probe, projection, colouring,
//! attribute vectors, groups and bookmarks; a session whose model changed or whose dataset is missing
//! says which file and restores the rest; a malformed file is refused in one line (exit 2 on
//! the command line, a message in the window).

mod common;
mod gui_support;

use egui::{Key, Modifiers, vec2};
use egui_kittest::Harness;
use gui_support::{quiet_harness, quiet_options, settle, step_until};
use latent_explorer::gui::panels::analogy::Side;
use latent_explorer::gui::panels::session::SessionCommand;
use latent_explorer::gui::{
    AppOptions, ColorBy, ColourValue, Command, DialogPurpose, ExplorerApp, FileDialogs, GroupEdit,
    GroupSource, NoticeKind, Projection, Settings,
};
use latent_explorer::latent::SelectMode;
use latent_explorer::session::{ColourBy, ProjectionKind, Session, SessionState};
use std::path::{Path, PathBuf};
use std::process::Command as Process;

const SIZE: egui::Vec2 = vec2(1400.0, 900.0);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Settings as eframe keeps them between runs (the "settings folder" of a restart).
#[derive(Default)]
struct MemoryStorage(std::collections::HashMap<String, String>);

impl eframe::Storage for MemoryStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_string(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

fn app_with(options: AppOptions, storage: Option<MemoryStorage>) -> Harness<'static, ExplorerApp> {
    Harness::builder().with_size(SIZE).build_eframe(move |cc| {
        ExplorerApp::with_context(
            cc.egui_ctx.clone(),
            storage.as_ref().map(|s| s as &dyn eframe::Storage),
            options,
        )
    })
}

fn ready(h: &mut Harness<'static, ExplorerApp>, latent: usize) {
    step_until(h, "the map", |a| {
        a.ws.map.codes.is_some() && a.latent() == latent && a.panels.map.screen.is_some()
    });
    settle(h, 120);
}

/// Waits for a save or an open (and the restore after it) to finish, and the view to show.
fn finish_session(h: &mut Harness<'static, ExplorerApp>) {
    step_until(h, "the session", |a| !a.ws.session.busy);
    settle(h, 120);
    for _ in 0..4 {
        h.step();
    }
}

fn session(h: &mut Harness<'static, ExplorerApp>, c: SessionCommand) {
    h.state_mut().apply(Command::Session(c));
    finish_session(h);
}

fn view_of(app: &ExplorerApp) -> [f64; 4] {
    let b = app
        .panels
        .map
        .screen
        .expect("a drawn map")
        .bounds()
        .to_owned();
    [b.min()[0], b.min()[1], b.max()[0], b.max()[1]]
}

fn assert_close(a: [f64; 4], b: [f64; 4], what: &str) {
    let span = (b[2] - b[0]).abs().max((b[3] - b[1]).abs());
    for k in 0..4 {
        assert!(
            (a[k] - b[k]).abs() <= 1e-6 * span,
            "{what}: {a:?} is not {b:?}"
        );
    }
}

/// The session's state without its view (compared apart, within rounding).
fn without_view(s: &SessionState) -> SessionState {
    SessionState {
        view: None,
        ..s.clone()
    }
}

/// A copy of the latent-16 model in `dir` (a file the tests may change).
fn model_copy(dir: &Path) -> PathBuf {
    let to = dir.join("latent16.safetensors");
    std::fs::copy(root().join("models/mnist-latent16.safetensors"), &to).unwrap();
    to
}

/// An exploration on `model` (and `dataset`, else the bundled MNIST): the latent axes 3 and
/// 5, coloured by z2, sample 123 selected, three anchors, an attribute vector, a probe of its
/// own, the Analogy tab on 3 and 8, a bookmark "the fours" and a view of its own.
fn explore(h: &mut Harness<'static, ExplorerApp>) -> [f64; 4] {
    {
        let app = h.state_mut();
        app.settings.projection = Projection::Axes;
        app.settings.axis_x = 3;
        app.settings.axis_y = 5;
        app.settings.color_by = ColorBy::Value;
        app.settings.color_value = ColourValue::LatentDim(2);
        app.panels.analogy.minus = Side::Label(8);
    }
    h.step();
    h.state_mut()
        .apply(Command::MakeAttribute { plus: 7, minus: 1 });
    // Two groups: a lasso-like selection, renamed, and a label, hidden.
    h.state_mut().apply(Command::SelectMany {
        indices: vec![8, 5, 6, 7],
        mode: SelectMode::Replace,
    });
    h.state_mut()
        .apply(Command::MakeGroup(GroupSource::Selection));
    h.state_mut()
        .apply(Command::MakeGroup(GroupSource::Label(4)));
    h.state_mut()
        .apply(Command::EditGroup(0, GroupEdit::Rename("loops".into())));
    h.state_mut()
        .apply(Command::EditGroup(1, GroupEdit::Show(false)));
    assert_eq!(h.state().ws.groups.len(), 2);
    // The Analogy tab's vector goes to the first group (from class 8).
    h.state_mut().panels.analogy.plus = Side::Group(0);
    h.state_mut().apply(Command::Select(123));
    for i in [10, 20, 30] {
        h.state_mut().apply(Command::AddAnchor(i));
    }
    let probe: Vec<f32> = (0..16).map(|k| k as f32 / 10.0 - 0.7).collect();
    h.state_mut().apply(Command::SetProbe(probe));
    h.state_mut().panels.map.view_to = Some([-1.0, -1.0, 1.5, 1.0]);
    for _ in 0..3 {
        h.step();
    }
    h.state_mut()
        .apply(Command::Session(SessionCommand::AddBookmark));
    h.state_mut().panels.session.bookmarks[0].name = "the fours".into();
    // The view saved differs from the bookmark's.
    h.state_mut().panels.map.view_to = Some([-0.5, -0.25, 0.5, 0.75]);
    for _ in 0..3 {
        h.step();
    }
    settle(h, 120);
    view_of(h.state())
}

#[test]
fn a_session_saved_then_opened_after_a_restart_shows_the_same_exploration() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_copy(dir.path());
    let path = dir.path().join("digits.lxsession.json");
    let mut storage = MemoryStorage::default();
    let saved_view;
    {
        let mut h = quiet_harness(
            AppOptions {
                model: Some(model.clone()),
                ..quiet_options()
            },
            SIZE,
        );
        ready(&mut h, 16);
        assert_eq!(h.state().window_title(), "Latent Explorer");
        explore(&mut h);
        session(&mut h, SessionCommand::SaveTo(path.clone()));
        assert_eq!(
            h.state().window_title(),
            "digits.lxsession - Latent Explorer"
        );
        // A change shows in the title; Ctrl+S saves it to the same file.
        h.state_mut().apply(Command::Select(200));
        h.step();
        assert_eq!(
            h.state().window_title(),
            "digits.lxsession - Latent Explorer *"
        );
        h.key_press_modifiers(Modifiers::COMMAND, Key::S);
        h.step();
        finish_session(&mut h);
        assert_eq!(
            h.state().window_title(),
            "digits.lxsession - Latent Explorer"
        );
        saved_view = view_of(h.state());
        // The settings remembered for the next start differ from the session (as if the
        // user went on exploring something else): the restart must take them from the file.
        let mut settings: Settings = h.state().settings.clone();
        settings.model_path = Some(root().join("models/mnist-latent2.safetensors"));
        settings.projection = Projection::Pca;
        settings.color_by = ColorBy::Label;
        settings.attributes.clear();
        eframe::set_value(&mut storage, eframe::APP_KEY, &settings);
    }
    let file = Session::read(&path).unwrap();
    let s = &file.state;
    assert_eq!(s.selection, Some(200));
    assert_eq!(s.anchors, vec![10, 20, 30]);
    assert_eq!(s.projection.kind, ProjectionKind::Axes);
    assert_eq!((s.projection.axis_x, s.projection.axis_y), (3, 5));
    assert_eq!(s.colour_by, ColourBy::LatentDim { dim: 2 });
    assert_eq!(s.attributes.len(), 1);
    assert_eq!(s.attributes[0].name, "7 minus 1");
    assert_eq!((s.analogy.plus_group, s.analogy.minus), (Some(0), 8));
    assert_eq!(s.bookmarks.len(), 1);
    assert_eq!(s.bookmarks[0].name, "the fours");
    assert_eq!(s.groups.len(), 2);
    assert_eq!(s.groups[0].name, "loops");
    assert_eq!(s.groups[0].indices, vec![5, 6, 7, 8]);
    assert!(s.groups[0].visible && !s.groups[1].visible);
    assert!(s.groups[1].indices.len() > 6_000, "every 4 on the map");
    assert_eq!(s.probe.as_ref().map(Vec::len), Some(16));
    assert_close(
        s.view.unwrap().to_array(),
        saved_view,
        "the view in the file",
    );
    let hash = &file.model.as_ref().unwrap().hash;
    assert!(hash.starts_with("xxh3-128:"), "{hash}");

    // The restart: the remembered latent-2 model and PCA, then the session opened.
    let options = AppOptions {
        restore_settings: true,
        ..quiet_options()
    };
    let mut h = app_with(options, Some(storage));
    ready(&mut h, 2);
    session(&mut h, SessionCommand::OpenFile(path.clone()));
    let app = h.state();
    assert_eq!(app.latent(), 16, "the session's model");
    let now = app.capture_session();
    assert_eq!(without_view(&now.state), without_view(s));
    assert_eq!(app.ws.selection, Some(200));
    assert_eq!(app.panels.interpolation.anchors, vec![10, 20, 30]);
    assert_eq!(app.ws.groups, s.groups, "the same groups");
    assert_eq!(app.settings.projection, Projection::Axes);
    assert_eq!(app.settings.color_value, ColourValue::LatentDim(2));
    assert_close(view_of(app), saved_view, "the view after opening");
    assert_eq!(app.window_title(), "digits.lxsession - Latent Explorer");
    assert!(
        app.ws.notices.errors().next().is_none(),
        "no errors: {:?}",
        app.ws.notices.iter().map(|n| &n.text).collect::<Vec<_>>()
    );
    // A bookmark goes back to its view and projection.
    let bookmark = s.bookmarks[0].clone();
    h.state_mut().settings.projection = Projection::Pca;
    h.state_mut()
        .apply(Command::Session(SessionCommand::GoToBookmark(0)));
    for _ in 0..5 {
        h.step();
    }
    assert_eq!(h.state().settings.projection, Projection::Axes);
    assert_close(
        view_of(h.state()),
        bookmark.view.to_array(),
        "the bookmark's view",
    );
    assert!(h.state().window_title().ends_with(" *"), "a change");
    drop(h);

    // The same session named at start (`latent-explorer open digits.lxsession.json`).
    let mut h = quiet_harness(
        AppOptions {
            session: Some(path.clone()),
            ..quiet_options()
        },
        SIZE,
    );
    ready(&mut h, 16);
    finish_session(&mut h);
    let app = h.state();
    assert_eq!(without_view(&app.capture_session().state), without_view(s));
    assert_close(view_of(app), saved_view, "the view when opened at start");
    assert_eq!(app.window_title(), "digits.lxsession - Latent Explorer");
}

/// Saves a session of `explore` on `model` (and `dataset`, else the bundled MNIST).
fn saved_session(dir: &Path, dataset: Option<PathBuf>, model: &Path) -> PathBuf {
    let path = dir.join("work.lxsession.json");
    let mut h = quiet_harness(
        AppOptions {
            dataset,
            model: Some(model.to_path_buf()),
            ..quiet_options()
        },
        SIZE,
    );
    ready(&mut h, 16);
    explore(&mut h);
    session(&mut h, SessionCommand::SaveTo(path.clone()));
    assert!(path.exists());
    path
}

#[test]
fn a_session_whose_model_changed_names_the_model_and_restores_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_copy(dir.path());
    let path = saved_session(dir.path(), None, &model);
    // One weight's lowest mantissa byte changes: still a model, other contents.
    let mut bytes = std::fs::read(&model).unwrap();
    let k = bytes.len() - 4;
    bytes[k] ^= 1;
    std::fs::write(&model, bytes).unwrap();
    assert!(latent_explorer::model::Model::load(&model).is_ok());
    let mut h = quiet_harness(quiet_options(), SIZE);
    ready(&mut h, 2);
    session(&mut h, SessionCommand::OpenFile(path.clone()));
    let app = h.state();
    let said: Vec<&str> = app.ws.notices.errors().map(|n| n.text.as_str()).collect();
    assert!(
        said.iter()
            .any(|t| t.contains("latent16.safetensors") && t.contains("changed")),
        "the changed model is named: {said:?}"
    );
    assert!(
        !said.iter().any(|t| t.contains("mnist")),
        "the dataset did not change: {said:?}"
    );
    let s = Session::read(&path).unwrap().state;
    assert_eq!(app.latent(), 16);
    assert_eq!(without_view(&app.capture_session().state), without_view(&s));
    assert_close(view_of(app), s.view.unwrap().to_array(), "the view");
}

#[test]
fn a_session_whose_dataset_is_missing_says_so_and_restores_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_copy(dir.path());
    let data = dir.path().join("mnist-copy");
    std::fs::create_dir(&data).unwrap();
    for entry in std::fs::read_dir(common::mnist_dir()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), data.join(entry.file_name())).unwrap();
    }
    let path = saved_session(dir.path(), Some(data.clone()), &model);
    std::fs::remove_dir_all(&data).unwrap();
    let mut h = quiet_harness(quiet_options(), SIZE);
    ready(&mut h, 2);
    h.state_mut().apply(Command::Select(42));
    session(&mut h, SessionCommand::OpenFile(path.clone()));
    let app = h.state();
    let said: Vec<&str> = app.ws.notices.errors().map(|n| n.text.as_str()).collect();
    assert!(
        said.iter()
            .any(|t| t.contains("mnist-copy") && t.contains("missing")),
        "the missing dataset is named: {said:?}"
    );
    assert!(
        app.ws
            .notices
            .iter()
            .any(|n| n.text.contains("were not restored")),
        "what was not restored is said"
    );
    // The rest: the model, projection, colouring, probe, bookmarks; the selection (a sample
    // of the missing dataset) is not applied to the bundled one.
    let s = Session::read(&path).unwrap().state;
    assert_eq!(app.latent(), 16);
    assert_eq!(app.ws.selection, Some(42));
    assert!(app.panels.interpolation.anchors.is_empty());
    let now = app.capture_session().state;
    assert_eq!(now.projection, s.projection);
    assert_eq!(now.colour_by, s.colour_by);
    assert_eq!(now.probe, s.probe);
    assert_eq!(now.bookmarks, s.bookmarks);
    assert_eq!(now.attributes, s.attributes);
    assert_eq!(
        app.ws.data.as_ref().unwrap().len(),
        70_000,
        "the bundled data stays"
    );
}

#[test]
fn a_malformed_session_is_one_line_in_the_window_and_exit_code_2_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.lxsession.json");
    std::fs::write(
        &bad,
        "{ \"format\": \"latent-explorer-session\", \"version\": 1, ",
    )
    .unwrap();
    let other = dir.path().join("other.lxsession.json");
    std::fs::write(&other, "[1, 2, 3]").unwrap();
    let bin = env!("CARGO_BIN_EXE_latent-explorer");
    for (file, reason) in [
        (&bad, "not a valid session file"),
        (&other, "not a Latent Explorer session"),
    ] {
        for args in [vec!["open"], vec![]] {
            let out = Process::new(bin)
                .args(&args)
                .arg(file)
                .env("RUST_BACKTRACE", "1")
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{err}");
            assert_eq!(err.lines().count(), 1, "one line: {err}");
            assert!(err.starts_with("error: "), "{err}");
            assert!(err.contains(&file.display().to_string()), "{err}");
            assert!(err.contains(reason), "{err}");
            assert!(!err.contains("panicked"), "{err}");
        }
    }
    // In the window (the dialogs answer with these paths): Ctrl+Shift+S saves a session,
    // Ctrl+O opens the broken one: a message naming the file, nothing else changes.
    let saved = dir.path().join("saved.lxsession.json");
    let dialogs = PathDialogs {
        open: bad.clone(),
        save: saved.clone(),
    };
    let mut h = quiet_harness(
        AppOptions {
            dialogs: std::sync::Arc::new(dialogs),
            ..quiet_options()
        },
        SIZE,
    );
    ready(&mut h, 2);
    h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::S);
    step_until(&mut h, "the save", |a| a.ws.session.path.is_some());
    finish_session(&mut h);
    assert!(Session::read(&saved).is_ok());
    assert_eq!(
        h.state().window_title(),
        "saved.lxsession - Latent Explorer"
    );
    h.key_press_modifiers(Modifiers::COMMAND, Key::O);
    step_until(&mut h, "the error", |a| {
        a.ws.notices.errors().next().is_some()
    });
    finish_session(&mut h);
    let app = h.state();
    let error = app
        .ws
        .notices
        .iter()
        .find(|n| n.kind == NoticeKind::Error)
        .expect("an error is shown");
    assert!(
        error.text.contains("broken.lxsession.json"),
        "{}",
        error.text
    );
    assert!(
        error.text.contains("not a valid session file"),
        "{}",
        error.text
    );
    assert!(!error.text.contains('\n'));
    assert_eq!(app.window_title(), "saved.lxsession - Latent Explorer");
    assert_eq!(app.latent(), 2);
    // A session saved where it cannot be written: said, and no file appears.
    let nowhere = dir.path().join("no-such-folder").join("x.lxsession.json");
    session(&mut h, SessionCommand::SaveTo(nowhere.clone()));
    assert!(!nowhere.exists());
    assert!(
        h.state()
            .ws
            .notices
            .errors()
            .any(|n| n.text.contains("could not save the session")),
    );
    assert_eq!(
        h.state().window_title(),
        "saved.lxsession - Latent Explorer"
    );
}

/// Scrolls the widget labelled `label` into view and clicks it.
fn click_label(h: &mut Harness<'static, ExplorerApp>, label: &str) {
    use egui_kittest::kittest::Queryable;
    h.get_by_label(label).scroll_to_me();
    h.step();
    h.step();
    // By accessibility action: the section may lie below the left panel's fold.
    h.get_by_label(label).click_accesskit();
    for _ in 0..3 {
        h.step();
    }
}

fn bookmark_names(h: &Harness<'static, ExplorerApp>) -> Vec<String> {
    let b = &h.state().panels.session.bookmarks;
    b.iter().map(|b| b.name.clone()).collect()
}

#[test]
fn the_bookmark_list_adds_goes_to_renames_and_deletes() {
    let mut h = quiet_harness(quiet_options(), SIZE);
    ready(&mut h, 2);
    h.state_mut().panels.map.view_to = Some([-1.0, -1.0, 1.0, 1.0]);
    for _ in 0..3 {
        h.step();
    }
    let bookmarked = view_of(h.state());
    click_label(&mut h, "Bookmark this view");
    assert_eq!(bookmark_names(&h), ["View 1"]);
    assert_eq!(
        h.state().panels.session.bookmarks[0].view.to_array(),
        bookmarked
    );
    // Elsewhere, then back through the bookmark's button.
    h.state_mut().panels.map.view_to = Some([0.0, 0.0, 3.0, 2.0]);
    for _ in 0..3 {
        h.step();
    }
    assert!((view_of(h.state())[2] - bookmarked[2]).abs() > 0.5);
    click_label(&mut h, "View 1");
    for _ in 0..3 {
        h.step();
    }
    assert_close(view_of(h.state()), bookmarked, "the bookmark's view");
    // Rename: the field takes the keyboard; Enter or OK keeps the name.
    click_label(&mut h, "Rename");
    h.event(egui::Event::Text(" sevens".into()));
    h.step();
    click_label(&mut h, "OK");
    assert_eq!(bookmark_names(&h), ["View 1 sevens"]);
    click_label(&mut h, "Delete");
    assert!(bookmark_names(&h).is_empty());
}

/// Dialogs that answer at once: `open` for "Open session", `save` for "Save session as".
struct PathDialogs {
    open: PathBuf,
    save: PathBuf,
}

impl FileDialogs for PathDialogs {
    fn pick(&self, purpose: DialogPurpose) -> Option<PathBuf> {
        match purpose {
            DialogPurpose::OpenSession => Some(self.open.clone()),
            DialogPurpose::SaveSession => Some(self.save.clone()),
            _ => None,
        }
    }
}
