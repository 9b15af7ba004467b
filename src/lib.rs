//! # Latent Explorer
//!
//! Train, load and explore Variational Autoencoders. This crate is the headless core that the
//! desktop window, the `latent-explorer` command line and the tests all share:
//!
//! - [`data`]: datasets (MNIST-family IDX files, folders of images) as bytes with labels;
//! - [`model`]: the VAE in candle, per-sample inference, safetensors checkpoints;
//! - [`train`]: the training loop with pause / resume / stop and an event sink;
//! - [`latent`]: prior sampling, interpolation, PCA projection, traversals;
//! - [`analysis`]: anomaly scores and their ROC AUC;
//! - [`render`]: images to PNG strips and grids;
//! - [`figure`]: labelled grids and animated GIFs (traversals, analogies);
//! - [`assets`]: where the bundled dataset and models are;
//! - [`session`]: an exploration saved to a session file and opened again;
//! - [`gui`] (cargo feature `gui`, on by default): the explorer window, panels on top of the
//!   core.
//!
//! The command line, the benchmarks and the soak run live in the `latent-explorer` binary
//! (`src/main.rs`), not here. Built with `--no-default-features` the library needs none of
//! the window's or the command line's crates (eframe, egui, egui_plot, rfd, clap, indicatif).

pub mod analysis;
pub mod assets;
pub mod atomic;
pub mod budget;
pub mod data;
pub mod device;
pub mod error;
pub mod figure;
#[cfg(feature = "gui")]
pub mod gui;
pub mod kernels;
pub mod latent;
pub mod model;
pub mod npy;
pub mod recovery;
pub mod render;
pub mod session;
pub mod train;

pub use error::{Error, Result};
