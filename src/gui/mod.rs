//! The explorer window (eframe + egui). It adds panels on top of the headless core; the model
//! and data live in the app's session, background work on named threads (see `worker`).

mod app;
mod dialogs;
pub mod map_raster;
mod map_view;
mod panels;
mod state;
mod textures;
mod worker;

pub use app::{AppOptions, Command, ExplorerApp, MAP_POINTS, Notice, NoticeKind, Session};
pub use dialogs::{DialogPurpose, ExportKind, FileDialogs, NativeDialogs};
pub use map_view::MapState;
pub use state::{BottomTab, ColorBy, Projection, Settings};
pub use textures::ImageView;

/// Opens the window and runs until it is closed.
pub fn run(options: AppOptions) -> Result<(), String> {
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Latent Explorer")
            .with_inner_size([1400.0, 900.0])
            .with_min_inner_size([900.0, 600.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "latent-explorer",
        native,
        Box::new(move |cc| Ok(Box::new(ExplorerApp::new(cc, options)))),
    )
    .map_err(|e| format!("could not open the window: {e}"))
}
