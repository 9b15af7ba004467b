//! Helpers shared by the window's test files.

use egui_kittest::Harness;
use latent_explorer::gui::ExplorerApp;
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
