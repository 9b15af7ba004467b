//! The shortcuts, in a window over the map (`?` or the top bar's "?" opens it; `?` or Esc
//! closes it). It lists only what the window really does: the tests press each of them.

use egui::{Key, RichText, Ui};

/// (what you do, what happens).
pub const SHORTCUTS: [(&str, &str); 20] = [
    ("Mouse wheel", "zoom the map about the cursor"),
    ("Ctrl + wheel, pinch", "zoom the map too"),
    ("Drag", "pan the map (the Pan tool, above the map)"),
    (
        "Shift + drag, right-drag",
        "zoom into the box drawn (the Pan tool)",
    ),
    (
        "Ctrl + drag",
        "draw a lasso: the points inside become the selection",
    ),
    (
        "Lasso or Rectangle tool: drag",
        "select the points inside the shape drawn",
    ),
    (
        "Shift / Alt while selecting",
        "add to / take away from the selection",
    ),
    ("Double-click", "fit every point in view (selects nothing)"),
    (
        "Click a point",
        "select that sample (the sliders move to its code)",
    ),
    (
        "Click empty space",
        "move the probe there (decode that spot)",
    ),
    ("Drag the white diamond", "move the probe"),
    ("Legend: click", "hide or show a class"),
    (
        "Legend: Alt + click",
        "show only that class (again: show all)",
    ),
    ("Click a slider, then Left / Right", "step its value"),
    (
        "Click a picture",
        "move the probe there; right-click for more",
    ),
    (
        "Go to (above the map)",
        "a sample number, or a class name to show only it",
    ),
    ("Ctrl + O", "open a session"),
    ("Ctrl + S", "save the session"),
    ("Ctrl + Shift + S", "save the session as another file"),
    ("?  /  Esc", "open / close this list"),
];

#[derive(Default)]
pub struct HelpPanel {
    pub open: bool,
}

impl HelpPanel {
    /// `?` toggles the list unless a text field is being typed into; Esc closes it.
    pub fn handle_keys(&mut self, ctx: &egui::Context) {
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        let (question, escape) = ctx.input(|i| {
            let typed = i
                .events
                .iter()
                .any(|e| matches!(e, egui::Event::Text(t) if t == "?"));
            (
                typed || i.key_pressed(Key::Questionmark),
                i.key_pressed(Key::Escape),
            )
        });
        if question {
            self.open = !self.open;
        } else if escape {
            self.open = false;
        }
    }

    pub fn ui(&mut self, ctx: &egui::Context) {
        let mut open = self.open;
        egui::Window::new("Shortcuts")
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
            .show(ctx, |ui: &mut Ui| {
                egui::Grid::new("shortcuts")
                    .num_columns(2)
                    .striped(true)
                    .show(ui, |ui| {
                        for (keys, what) in SHORTCUTS {
                            ui.label(RichText::new(keys).strong());
                            ui.label(what);
                            ui.end_row();
                        }
                    });
            });
        self.open &= open;
    }
}
