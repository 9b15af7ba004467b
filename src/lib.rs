//! # Latent Explorer
//!
//! Train, load and explore Variational Autoencoders. This crate is the headless core that the
//! desktop window, the `latent-explorer` command line and the tests all share:
//!
//! - [`data`]: datasets (MNIST-family IDX files, folders of images) as bytes with labels;
//! - [`model`]: the VAE in candle, per-sample inference, safetensors checkpoints;
//! - [`train`]: the training loop with pause / resume / stop and an event sink;
//! - [`latent`]: prior sampling, interpolation, PCA projection;
//! - [`analysis`]: anomaly scores and their ROC AUC;
//! - [`render`]: images to PNG strips and grids;
//! - [`gui`]: the explorer window, panels on top of the core.

pub mod analysis;
pub mod assets;
pub mod atomic;
pub mod bench;
pub mod bench_scale;
pub mod budget;
pub mod cli;
pub mod data;
pub mod device;
pub mod error;
pub mod gui;
pub mod kernels;
pub mod latent;
pub mod model;
pub mod npy;
pub mod recovery;
pub mod render;
pub mod soak;
pub mod train;

pub use error::{Error, Result};
