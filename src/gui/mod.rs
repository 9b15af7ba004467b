//! The explorer window (eframe + egui). It adds panels on top of the headless core: the shared
//! state is a [`Workspace`], each panel owns its own state, background work runs on named
//! threads (see `worker`), and panels ask for changes with [`Command`]s.

mod app;
pub mod codes_analysis;
mod command;
mod crash;
mod dialogs;
pub mod export_files;
pub mod iw_scores;
pub mod likelihood;
pub mod map_figure;
pub mod map_layouts;
pub mod map_raster;
mod map_view;
mod notices;
pub mod panels;
mod snapshot_encoder;
mod state;
pub mod sweep;
mod textures;
mod trained_codes;
mod worker;
mod workspace;

pub use app::{AppOptions, ExplorerApp, MAP_POINTS, Snapshot};
pub use command::{Command, GroupEdit, GroupSource};
pub use dialogs::{DialogPurpose, DialogStart, ExportKind, FileDialogs, NativeDialogs};
pub use map_view::{Ellipse, MapState, class_colour};
pub use notices::{Notice, NoticeKind, Notices, Topic};
pub use state::{
    BottomTab, ColorBy, ColourValue, Projection, Settings, SplitFilter, ThumbnailSource,
};
pub use textures::ImageView;
pub use worker::{JobHook, JobKind, TrainHook};
pub use workspace::{Generation, Workspace};

/// Opens the window and runs until it is closed.
pub fn run(options: AppOptions) -> Result<(), String> {
    crash::install_panic_hook();
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
