//! The app under eframe (the window) and without one (benchmarks, tests). Both drive the same
//! two steps each frame: [`ExplorerApp::logic_pass`] (events, dropped files, derived state) and
//! [`ExplorerApp::ui_pass`] (layout, then the panels' commands). Headless, [`ExplorerApp::run_frame`]
//! does what eframe does around them: one egui pass over the given input.

use super::{AppOptions, ExplorerApp};
use std::time::Instant;

impl ExplorerApp {
    /// The app in eframe's window (`gui::run`, egui_kittest's `build_eframe`).
    pub fn new(cc: &eframe::CreationContext<'_>, options: AppOptions) -> Self {
        Self::with_context(cc.egui_ctx.clone(), cc.storage, options)
    }

    /// A headless app: no window, no saved settings, on its own egui context. Drive it with
    /// [`ExplorerApp::run_frame`] on the same context.
    ///
    /// ```no_run
    /// use latent_explorer::gui::{AppOptions, ExplorerApp};
    /// let ctx = egui::Context::default();
    /// let mut app = ExplorerApp::headless(ctx.clone(), AppOptions::default());
    /// let output = app.run_frame(&ctx, egui::RawInput::default());
    /// let _triangles = ctx.tessellate(output.shapes, output.pixels_per_point);
    /// ```
    pub fn headless(ctx: egui::Context, options: AppOptions) -> Self {
        Self::with_context(ctx, None, options)
    }

    /// One frame without a window: a whole egui pass over `input` (events, screen size, time)
    /// running [`ExplorerApp::logic_pass`] then [`ExplorerApp::ui_pass`], as eframe's `logic()`
    /// and `ui()` do. Returns egui's output (shapes to tessellate, repaint requests). The pass's
    /// CPU time becomes `frame_ms` (eframe's figure also counts tessellation).
    pub fn run_frame(&mut self, ctx: &egui::Context, input: egui::RawInput) -> egui::FullOutput {
        let start = Instant::now();
        let output = ctx.run_ui(input, |ui| {
            self.logic_pass(ui.ctx());
            self.ui_pass(ui);
        });
        self.frame_ms = start.elapsed().as_secs_f32() * 1000.0;
        output
    }
}

impl eframe::App for ExplorerApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.logic_pass(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        // eframe's figure for the previous frame: the whole pass, tessellation included.
        self.frame_ms = frame.info().cpu_usage.unwrap_or(0.0) * 1000.0;
        self.ui_pass(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.settings);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        // Closing with unsaved training keeps it for the next start.
        self.write_recovery();
        self.ws.likelihood.cancel();
    }
}
