//! Exports without friction and the full anomaly list, through the real window: plain
//! "Export" writes the suggested name into the remembered folder and never over an earlier
//! file; the map figure has axes, a legend in the map's colours and leaves hidden classes out;
//! messages speak in words, not code names; the anomaly list reaches its last sample.

mod gui_support;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use gui_support::{quiet_harness, quiet_options, row_button, step_until};
use latent_explorer::gui::map_figure::FRAME;
use latent_explorer::gui::panels::map::legend::BAND_COLOURS;
use latent_explorer::gui::{ColorBy, ExplorerApp, ExportKind, NoticeKind, class_colour};
use std::path::{Path, PathBuf};

fn harness() -> Harness<'static, ExplorerApp> {
    quiet_harness(quiet_options(), egui::vec2(1400.0, 900.0))
}

fn ready(h: &mut Harness<'static, ExplorerApp>) {
    step_until(h, "the map", |a| {
        a.ws.map.codes.is_some() && a.panels.map.screen.is_some()
    });
}

/// Opens the Export tab and types `folder` into its Folder field.
fn export_tab_with_folder(h: &mut Harness<'static, ExplorerApp>, folder: &Path) {
    h.get_by_label("Export").click();
    h.step();
    h.get_by_label("Folder:")
        .set_text_value_accesskit(&folder.display().to_string());
    h.step();
    h.step();
    assert_eq!(
        h.state().settings.export_folder.as_deref(),
        Some(folder),
        "the typed folder is remembered in the settings"
    );
}

/// Clicks the plain "Export" of a row and waits for `path` to appear.
fn export_and_wait(h: &mut Harness<'static, ExplorerApp>, kind: ExportKind, path: &Path) {
    row_button(h, kind.title(), "Export").click();
    step_until(h, &path.display().to_string(), |_| path.exists());
    // The notice comes with the file.
    step_until(h, "the notice", |a| {
        a.panels.export.last_written.as_deref() == Some(path)
    });
}

fn rgb(image: &image::RgbImage, x: u32, y: u32) -> [u8; 3] {
    image.get_pixel(x, y).0
}

/// The plot's frame in a figure: the first and last columns and rows where a long run of the
/// frame's grey stands.
fn plot_frame(image: &image::RgbImage) -> (u32, u32, u32, u32) {
    let (w, h) = image.dimensions();
    let column_is_frame =
        |x: u32| (0..h).filter(|&y| rgb(image, x, y) == FRAME).count() as u32 > h / 3;
    let row_is_frame =
        |y: u32| (0..w).filter(|&x| rgb(image, x, y) == FRAME).count() as u32 > w / 3;
    let xs: Vec<u32> = (0..w).filter(|&x| column_is_frame(x)).collect();
    let ys: Vec<u32> = (0..h).filter(|&y| row_is_frame(y)).collect();
    assert!(!xs.is_empty() && !ys.is_empty(), "no plot frame found");
    (xs[0], ys[0], *xs.last().unwrap(), *ys.last().unwrap())
}

/// Pixels of exactly `colour` in the columns `x0..` of the image.
fn count_colour(image: &image::RgbImage, x0: u32, colour: [u8; 3]) -> usize {
    let (w, h) = image.dimensions();
    (x0..w)
        .flat_map(|x| (0..h).map(move |y| (x, y)))
        .filter(|&(x, y)| rgb(image, x, y) == colour)
        .count()
}

#[test]
fn plain_export_writes_the_suggested_name_into_the_folder_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness();
    ready(&mut h);
    export_tab_with_folder(&mut h, dir.path());
    // The suggested names, shown on each row, name the dataset and the model.
    h.get_by_label("mnist-latent2-map.png");
    h.get_by_label("mnist-latent2-codes.csv");

    let first = dir.path().join("mnist-latent2-codes.csv");
    export_and_wait(&mut h, ExportKind::Codes, &first);
    let first_bytes = std::fs::read(&first).unwrap();
    assert!(first_bytes.starts_with(b"index,split,label"));
    let notice = h.state().ws.notices.iter().last().unwrap().text.clone();
    assert!(
        notice.contains(&first.display().to_string()) && notice.contains("latent codes as CSV"),
        "{notice}"
    );
    // Again: a numbered name beside the first, which is left as it was.
    let second = dir.path().join("mnist-latent2-codes-1.csv");
    export_and_wait(&mut h, ExportKind::Codes, &second);
    assert_eq!(std::fs::read(&first).unwrap(), first_bytes);
    assert_eq!(std::fs::read(&second).unwrap(), first_bytes);
    h.get_by_label_contains("Last written:");

    // NumPy: the labels file moves with the number.
    let npy = dir.path().join("mnist-latent2-codes.npy");
    export_and_wait(&mut h, ExportKind::CodesNumpy, &npy);
    let npy2 = dir.path().join("mnist-latent2-codes-1.npy");
    export_and_wait(&mut h, ExportKind::CodesNumpy, &npy2);
    for labels in [
        "mnist-latent2-codes.labels.npy",
        "mnist-latent2-codes-1.labels.npy",
    ] {
        let l = latent_explorer::npy::read_npy(&dir.path().join(labels)).unwrap();
        assert_eq!(l.shape, [70_000], "{labels}");
    }
    // Nothing else was written (no temp files left behind).
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "mnist-latent2-codes-1.csv",
            "mnist-latent2-codes-1.labels.npy",
            "mnist-latent2-codes-1.npy",
            "mnist-latent2-codes.csv",
            "mnist-latent2-codes.labels.npy",
            "mnist-latent2-codes.npy",
        ]
    );
    assert!(h.state().ws.notices.errors().next().is_none());
}

#[test]
fn the_map_figure_has_margins_and_a_legend_in_the_maps_colours_without_hidden_classes() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness();
    ready(&mut h);
    // Hide class 3 from the map's legend (as a click on its legend entry does).
    let id = h.state().map_plot_id().expect("the map was laid out");
    let mut memory = egui_plot::PlotMemory::load(&h.ctx, id).expect("the plot's memory");
    memory
        .hidden_items
        .insert(egui_plot::ItemId::new(("class", 3usize)));
    memory.store(&h.ctx, id);
    h.step();
    export_tab_with_folder(&mut h, dir.path());
    let path = dir.path().join("mnist-latent2-map.png");
    export_and_wait(&mut h, ExportKind::Map, &path);
    let figure = image::open(&path).unwrap().to_rgb8();

    let app = h.state();
    let scale = app.settings.export_scale.clamp(1, 8);
    let plain = app
        .ws
        .map
        .render_png(app.ws.data.as_ref().unwrap(), 512 * scale)
        .unwrap();
    assert!(
        figure.width() > plain.width(),
        "the figure ({}x{}) is wider than the bare map ({}x{})",
        figure.width(),
        figure.height(),
        plain.width(),
        plain.height()
    );
    // Margins on every side of the plot: room for the title, ticks, axis names and legend.
    let (x0, y0, x1, y1) = plot_frame(&figure);
    let (w, hgt) = figure.dimensions();
    assert!(x0 > 40 * scale && y0 > 20 * scale, "plot at ({x0}, {y0})");
    assert!(
        w - x1 > 40 * scale && hgt - y1 > 30 * scale,
        "plot ends at ({x1}, {y1}) of {w}x{hgt}"
    );
    // Ticks and axis names: dark text left of and below the plot.
    let ink = |xs: std::ops::Range<u32>, ys: std::ops::Range<u32>| {
        xs.flat_map(|x| ys.clone().map(move |y| (x, y)))
            .filter(|&(x, y)| rgb(&figure, x, y).iter().all(|&c| c < 100))
            .count()
    };
    assert!(ink(0..x0, y0..y1) > 200, "no tick labels left of the plot");
    assert!(
        ink(x0..x1, y1 + 2..hgt) > 200,
        "no tick labels below the plot"
    );
    assert!(ink(0..w, 0..y0) > 200, "no title");
    // The legend, right of the plot: a swatch of every shown class in the map's colour...
    let swatch = (latent_explorer::gui::map_figure::SWATCH * scale - 2).pow(2) as usize;
    for class in (0..10u16).filter(|&c| c != 3) {
        let n = count_colour(&figure, x1 + 2, class_colour(Some(class)));
        assert!(
            n >= swatch,
            "class {class}: {n} legend pixels of its colour"
        );
    }
    // ...and class 3 nowhere: not in the legend, not among the points.
    assert_eq!(count_colour(&figure, 0, class_colour(Some(3))), 0);
    // The points are there in the other colours.
    assert!(count_colour(&figure, x0, class_colour(Some(1))) > 1_000);
}

#[test]
fn the_map_figure_coloured_by_score_shows_the_score_bands() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness();
    ready(&mut h);
    h.state_mut().settings.color_by = ColorBy::AnomalyScore;
    step_until(&mut h, "the scores", |a| a.ws.scores.scores.is_some());
    export_tab_with_folder(&mut h, dir.path());
    let path = dir.path().join("mnist-latent2-map.png");
    export_and_wait(&mut h, ExportKind::Map, &path);
    let figure = image::open(&path).unwrap().to_rgb8();
    let (_, _, x1, _) = plot_frame(&figure);
    let scale = h.state().settings.export_scale.clamp(1, 8);
    let swatch = (latent_explorer::gui::map_figure::SWATCH * scale - 2).pow(2) as usize;
    for (band, c) in BAND_COLOURS.iter().enumerate() {
        let [r, g, b, _] = c.to_array();
        let n = count_colour(&figure, x1 + 2, [r, g, b]);
        assert!(n >= swatch, "band {band}: {n} legend pixels of its colour");
    }
    // Not the class colours.
    assert_eq!(count_colour(&figure, x1 + 2, class_colour(Some(1))), 0);
}

/// Words like "CodesNumpy" or "OpenDatasetFile": a capital right after a small letter, other
/// than in the names of formats.
fn code_names(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !["NumPy", "PyTorch"].contains(w))
        .filter(|w| {
            w.chars()
                .zip(w.chars().skip(1))
                .any(|(a, b)| a.is_lowercase() && b.is_uppercase())
        })
        .collect()
}

#[test]
fn export_messages_use_words_and_a_bad_folder_is_named_with_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness();
    ready(&mut h);
    // A folder that is not there.
    let missing = dir.path().join("no-such-folder");
    export_tab_with_folder(&mut h, &missing);
    row_button(&h, ExportKind::CodesNumpy.title(), "Export").click();
    step_until(&mut h, "the error", |a| {
        a.ws.notices.errors().next().is_some()
    });
    let error = h.state().ws.notices.errors().next().unwrap().text.clone();
    assert!(
        error.contains(&missing.display().to_string()) && error.contains("does not exist"),
        "{error}"
    );
    assert!(!missing.exists(), "the folder was not created");
    // A file where the folder should be.
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    h.get_by_label("Folder:")
        .set_text_value_accesskit(&file.display().to_string());
    h.step();
    row_button(&h, ExportKind::Map.title(), "Export").click();
    step_until(&mut h, "the second error", |a| {
        a.ws.notices
            .errors()
            .any(|n| n.text.contains("not a folder"))
    });
    // No dialog on this desktop: "Export as…" says what to do instead.
    row_button(&h, ExportKind::CodesNumpy.title(), "Export as…").click();
    step_until(&mut h, "the dialog error", |a| {
        a.ws.notices
            .errors()
            .any(|n| n.text.contains("no file dialog"))
    });
    // Successful exports of every kind (their notes too).
    let good = dir.path().join("out");
    std::fs::create_dir(&good).unwrap();
    h.get_by_label("Folder:")
        .set_text_value_accesskit(&good.display().to_string());
    h.step();
    for kind in [ExportKind::Map, ExportKind::Codes, ExportKind::CodesNumpy] {
        let before = std::fs::read_dir(&good).unwrap().count();
        row_button(&h, kind.title(), "Export").click();
        step_until(&mut h, kind.title(), |_| {
            std::fs::read_dir(&good).unwrap().count() > before
        });
    }
    step_until(&mut h, "the notes", |a| {
        a.ws.notices
            .iter()
            .filter(|n| n.kind == NoticeKind::Info)
            .count()
            >= 3
    });
    let notices: Vec<String> = h
        .state()
        .ws
        .notices
        .iter()
        .map(|n| n.text.clone())
        .collect();
    assert!(notices.len() >= 6, "{notices:#?}");
    for text in &notices {
        // The temp folder's random name is not ours.
        let words = text.replace(&dir.path().display().to_string(), "<dir>");
        assert!(code_names(&words).is_empty(), "a code name in {text:?}");
    }
    assert!(
        notices
            .iter()
            .any(|n| n.contains("latent codes as NumPy") && n.contains(&good.display().to_string())),
        "{notices:#?}"
    );
    // The file's folder holds only whole files.
    let leftovers: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".latent-explorer-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn the_anomaly_list_ranks_every_sample_and_scrolls_to_the_last() {
    let mut h = harness();
    ready(&mut h);
    h.get_by_label("Anomalies").click();
    step_until(&mut h, "the ranking", |a| {
        a.ws.scores.scores.is_some() && !a.panels.anomalies.ranked.is_empty()
    });
    h.step();
    let app = h.state();
    let ranked = app.panels.anomalies.ranked.clone();
    let scores = app.ws.scores.scores.as_ref().unwrap();
    assert_eq!(ranked.len(), 70_000, "every sample is in the list");
    assert!(
        ranked.windows(2).all(|w| w[0].1 >= w[1].1),
        "scores in descending order"
    );
    // Each score is the sample's own.
    let kind = app.settings.anomaly_score;
    for &(i, v) in ranked.iter().step_by(997) {
        let k = scores.indices.iter().position(|&j| j == i).unwrap();
        assert_eq!(scores.value(k, kind), v);
    }
    assert_eq!(app.panels.anomalies.visible.start, 0);
    // The first row selects the most anomalous sample.
    h.get_by_label_contains("#1  sample").click();
    h.step();
    h.step();
    assert_eq!(h.state().ws.selection, Some(ranked[0].0));
    // To the end of the list: the last sample's row is drawn, and it selects too.
    h.get_by_label("Least anomalous").click();
    // The jump lands, then the scroll area settles at its end.
    for _ in 0..6 {
        h.step();
    }
    assert_eq!(h.state().panels.anomalies.visible.end, 70_000);
    let last = ranked[69_999];
    h.get_by_label_contains(&format!("#70000  sample {} ", last.0))
        .click();
    h.step();
    h.step();
    assert_eq!(h.state().ws.selection, Some(last.0));
    // The threshold row is in view after "Threshold".
    h.get_by_label("Threshold").click();
    h.step();
    h.step();
    let app = h.state();
    let t = app.settings.anomaly_threshold.unwrap();
    let above = ranked.iter().filter(|&&(_, v)| v > t).count();
    let visible = &app.panels.anomalies.visible;
    assert!(
        visible.start <= above && above <= visible.end,
        "{above} above, rows {visible:?} in view"
    );
    h.get_by_label_contains(&format!("{above} of 70000 above"));
}
