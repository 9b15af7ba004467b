//! Helpers shared by the window's test files.
#![allow(dead_code)]

use egui_kittest::Harness;
use latent_explorer::gui::{AppOptions, DialogPurpose, ExplorerApp, FileDialogs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Steps the window (letting background threads work) until `done` or a minute has passed.
pub fn step_until(
    h: &mut Harness<'static, ExplorerApp>,
    what: &str,
    done: impl Fn(&ExplorerApp) -> bool,
) {
    let start = Instant::now();
    while !done(h.state()) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    h.step();
}

/// A desktop with no portal: every dialog "returns" at once with nothing.
pub struct NoDialogs;

impl FileDialogs for NoDialogs {
    fn pick(&self, _: DialogPurpose) -> Option<PathBuf> {
        None
    }
}

/// The app on the bundled pair, quiet, with no recovery folder unless one is given.
pub fn quiet_harness(options: AppOptions, size: egui::Vec2) -> Harness<'static, ExplorerApp> {
    Harness::builder()
        .with_size(size)
        .build_eframe(move |cc| ExplorerApp::new(cc, options))
}

pub fn quiet_options() -> AppOptions {
    AppOptions {
        dialogs: Arc::new(NoDialogs),
        restore_settings: false,
        recovery: None,
        log: false,
        ..AppOptions::default()
    }
}

/// What must hold after every frame, whatever was done: every sample index shown is inside
/// the dataset, every code has the model's latent size, the panels' state belongs to the
/// current dataset and model, and no background task panicked.
pub fn check_invariants(app: &ExplorerApp) -> Result<(), String> {
    let ws = &app.ws;
    let n = ws.data.as_ref().map_or(0, |d| d.len());
    let latent = app.latent();
    let index_ok = |what: &str, i: usize| -> Result<(), String> {
        if i < n {
            Ok(())
        } else {
            Err(format!("{what} {i} is outside the dataset of {n}"))
        }
    };
    let code_ok = |what: &str, c: &[f32]| -> Result<(), String> {
        if c.len() == latent {
            Ok(())
        } else {
            Err(format!("{what} has {} values, the model {latent}", c.len()))
        }
    };
    if let Some(i) = ws.selection {
        index_ok("the selection", i)?;
    }
    for &i in &ws.history {
        index_ok("a history entry", i)?;
    }
    if let Some(&last) = ws.map.indices.last() {
        index_ok("a map index", last)?;
    }
    if let Some(codes) = &ws.map.codes {
        if codes.latent != latent {
            return Err(format!(
                "map codes of latent {} with a latent-{latent} model",
                codes.latent
            ));
        }
        if codes.len() != ws.map.indices.len() {
            return Err("map codes and indices differ in number".into());
        }
    }
    if ws.model.is_some() && !ws.probe.is_empty() {
        code_ok("the probe", &ws.probe)?;
    }
    let p = &app.panels;
    if p.made_for() != ws.generation() {
        return Err("the panels' state is from another dataset or model".into());
    }
    for &i in &p.interpolation.anchors {
        index_ok("an anchor", i)?;
    }
    for f in &p.interpolation.frames {
        code_ok("a strip frame", f)?;
    }
    for c in &p.generate.codes {
        code_ok("a generated code", c)?;
    }
    for &(i, _) in &p.decoder.neighbours {
        index_ok("a neighbour", i)?;
    }
    for &(i, _) in &p.anomalies.ranked {
        index_ok("an anomaly", i)?;
    }
    if let Some(i) = p.missing.filled.sample {
        index_ok("the filled-in sample", i)?;
    }
    for c in &p.missing.filled.path {
        code_ok("a fill-in path code", c)?;
    }
    if let Some(g) = &p.traversal.grid {
        if g.plan.latent != latent {
            return Err(format!(
                "a traversal of latent {} with a latent-{latent} model",
                g.plan.latent
            ));
        }
        if g.images.len() != g.rows() * g.columns() * g.shape.len() {
            return Err("the traversal's images do not fill its rows and columns".into());
        }
    }
    for &i in &ws.multi_selection {
        index_ok("a selected sample", i as usize)?;
    }
    for g in &ws.groups {
        for &i in &g.indices {
            index_ok(&format!("a member of group {:?}", g.name), i as usize)?;
        }
    }
    if let Some((_, _, nearest, _)) = &p.groups.nearest {
        for &i in nearest {
            index_ok("a group's nearest sample", i)?;
        }
    }
    if let Some(e) = ws
        .notices
        .iter()
        .find(|n| n.text.contains("internal error"))
    {
        return Err(format!("a background task panicked: {}", e.text));
    }
    Ok(())
}

/// Steps until no background work is left (asserting it ends within `secs`).
pub fn settle(h: &mut Harness<'static, ExplorerApp>, secs: u64) {
    let start = Instant::now();
    while h.state().pending_events() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "still busy after {secs} s: {}",
            h.state().busy_report()
        );
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    h.step();
}

/// The button labelled `button` on the same row as the label `row` (the Export tab has an
/// "Export" and an "Export as…" on every row).
pub fn row_button<'a>(
    h: &'a Harness<'static, ExplorerApp>,
    row: &'a str,
    button: &'a str,
) -> egui_kittest::Node<'a> {
    use egui_kittest::kittest::Queryable;
    let y = h.get_by_label(row).rect().center().y;
    h.get_all_by_label(button)
        .find(|n| (n.rect().center().y - y).abs() < 8.0)
        .unwrap_or_else(|| panic!("no {button:?} button on the row {row:?}"))
}
