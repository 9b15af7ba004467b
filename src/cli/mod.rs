//! The `latent-explorer` command line. Flags mean the same in every subcommand: `--data PATH`,
//! `--model PATH`, `--out PATH`, `--latent N`, `--epochs N`, `--seed N`, `--threads N`.
//! Errors print one line on stderr and exit with code 2. Without a subcommand (or with `open`)
//! the window opens, on the dataset and model given as paths, if any.

mod commands;
mod load;
mod open;
mod project;
mod sweep;

pub use commands::run_command;
pub use open::{NOT_FOUND, targets as open_targets};

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "latent-explorer",
    version,
    about = "Train, explore and export Variational Autoencoders",
    long_about = None
)]
pub struct Cli {
    /// Worker threads for the tensor maths (default: all cores).
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,

    /// Open the window on this dataset and/or model (as `open` does).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Open the window on a dataset and/or a model: a .safetensors file is a model, anything
    /// else (IDX file or folder, image folder, .npy / .npz, CSV) a dataset; at most one of each.
    /// Or on a saved session (a .lxsession.json file, alone): its files, view and selection.
    Open(OpenArgs),
    /// Train a VAE (new, or continue a checkpoint) and save it.
    Train(TrainArgs),
    /// Write each sample's posterior mean and log-variance to CSV, .npy or .npz, with labels.
    Encode(EncodeArgs),
    /// Decode samples from the prior, or from a Gaussian mixture fitted to a dataset's codes,
    /// into a PNG grid.
    Sample(SampleArgs),
    /// Decode the path between dataset samples into a PNG strip.
    Interpolate(InterpolateArgs),
    /// Originals above their reconstructions, as a PNG grid.
    Reconstruct(ReconstructArgs),
    /// Rank samples by how badly the model explains them: CSV of all, PNG grid of the top.
    Anomalies(AnomaliesArgs),
    /// Hide part of a sample and fill it in: PNG of original, masked and completed.
    Inpaint(InpaintArgs),
    /// ELBO and importance-weighted bound on log p(x) over a split (nats per sample), with
    /// per-sample figures as CSV.
    Evaluate(EvaluateArgs),
    /// Latent traversal: a PNG grid with a row per latent dimension (or principal direction)
    /// and a column per value, optionally an animated GIF sweeping each row in turn.
    Traverse(TraverseArgs),
    /// Attribute vector between two groups (classes or lists of samples), its quality, and a
    /// PNG analogy grid: the vector added in steps to a row of samples.
    Analogy(AnalogyArgs),
    /// Cluster a dataset's codes (k-means, or a Gaussian mixture): CSV of index, label,
    /// cluster; each cluster's size, majority label, purity and medoid on stdout.
    Cluster(ClusterArgs),
    /// Train one model per beta (and latent size) side by side, and measure each one's
    /// held-out rate (KL) and distortion (reconstruction): a rate-distortion sweep.
    Sweep(SweepArgs),
    /// Write every sample's 2D map position (PCA, t-SNE or UMAP of the codes) as CSV
    /// index,label,x,y.
    Project(project::ProjectArgs),
    /// Describe a checkpoint (and optionally a dataset).
    Info(InfoArgs),
    /// Measure training and inference speed; prints JSON lines.
    Bench(BenchArgs),
    /// Measure how costs grow with the number of samples: a training epoch, encoding, and the
    /// window's frame time with that many points on the map; prints JSON lines.
    BenchScale(BenchScaleArgs),
    /// Time t-SNE and UMAP of every code beside PCA, with how many neighbourhoods each map
    /// keeps, and the window's frame time while t-SNE runs; prints JSON lines.
    BenchMaps(BenchMapsArgs),
    /// Run the window's background load headless for a while and watch memory (JSON lines).
    Soak(SoakArgs),
}

#[derive(Args, Debug)]
pub struct OpenArgs {
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct DataArg {
    /// Dataset: an IDX file, a .npy / .npz array, a CSV of pixel rows, a folder of IDX files, or
    /// a folder of images (default: bundled MNIST).
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,
    /// Resize folder images to this size, e.g. 32x32 (default: their most common size).
    #[arg(long, value_name = "HxW")]
    pub image_size: Option<String>,
    /// Pixel scale of the data: auto (the rule in the README), unit ([0, 1]), byte (0..255) or
    /// max:N (0..N); values outside a scale given here are clamped and counted.
    #[arg(long, value_name = "RANGE", default_value = "auto")]
    pub pixel_range: latent_explorer::data::PixelRange,
    /// CSV label column: auto (by header name, else the README's rule), first, last, none or
    /// a column number counting from 1.
    #[arg(long, value_name = "COLUMN", default_value = "auto")]
    pub label_column: latent_explorer::data::LabelColumn,
    /// No progress bars (reading an image folder, training, evaluating); the result lines
    /// still print.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// Where to save the trained model (.safetensors); written after every epoch.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Continue training this checkpoint instead of starting a new model.
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// Latent dimensions of a new model (1..=64).
    #[arg(long, default_value_t = 20)]
    pub latent: usize,
    /// Architecture of a new model: mlp (fully connected) or conv (strided convolutions).
    #[arg(long, default_value = "mlp")]
    pub arch: latent_explorer::model::Architecture,
    /// Hidden layer widths of a new MLP model, comma-separated.
    #[arg(long, default_value = "400", value_delimiter = ',')]
    pub hidden: Vec<usize>,
    /// Channels of a new conv model's stride-2 convolutions, comma-separated (1 to 4 layers).
    #[arg(long, default_value = "32,64,64", value_delimiter = ',')]
    pub channels: Vec<usize>,
    /// bernoulli (binary cross-entropy) or gaussian (squared error); default: chosen from the
    /// data (bernoulli when most values are near 0 or 1, as in MNIST, else gaussian).
    #[arg(long)]
    pub likelihood: Option<latent_explorer::model::Likelihood>,
    #[arg(long, default_value_t = 1.0)]
    pub beta: f64,
    /// A new conditional MLP model: the one-hot label is an input to the encoder and to the
    /// decoder, so the code holds the style (the dataset must have labels).
    #[arg(long)]
    pub conditional: bool,
    /// How beta moves: constant, warmup:EPOCHS (from 0 up to beta) or cyclical:EPOCHS.
    #[arg(long, default_value = "constant")]
    pub beta_schedule: latent_explorer::train::BetaSchedule,
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    #[arg(long = "lr", default_value_t = 1e-3)]
    pub learning_rate: f64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Fraction held out when the dataset has no test split.
    #[arg(long, default_value_t = 0.1)]
    pub holdout: f64,
    /// Use only the first N training samples (and N/6 held-out ones).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SplitArg {
    All,
    Train,
    Test,
}

#[derive(Args, Debug)]
pub struct EncodeArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// Checkpoint to use (default: the bundled latent-2 MNIST model).
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// File to write, by extension: .csv; .npy (means, float32 N x L, labels in
    /// <stem>.labels.npy); .npz (mean, logvar, index, labels).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value = "all")]
    pub split: SplitArg,
}

#[derive(Args, Debug)]
pub struct SampleArgs {
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// PNG file to write.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    #[arg(long, default_value_t = 64)]
    pub count: usize,
    /// Columns of the grid (default: close to square).
    #[arg(long)]
    pub columns: Option<usize>,
    /// Scale of the prior's standard deviation.
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f32,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Integer upscaling of each pixel.
    #[arg(long, default_value_t = 2)]
    pub scale: u32,
    /// The class every sample is drawn as, 0..classes (conditional models only, and they need
    /// it).
    #[arg(long, value_name = "K")]
    pub class: Option<u16>,
    /// Where the codes come from: prior (N(0, I)) or mixture (a Gaussian mixture fitted to
    /// the codes of --data's --split, so that samples land where the data is).
    #[arg(long, value_enum, default_value = "prior")]
    pub from: SampleFrom,
    /// Components of the mixture: a number (1..=64), bic (the number in 1..=20 with the
    /// lowest BIC) or bic:MAX. Only with --from mixture (default: bic).
    #[arg(long, value_name = "K|bic")]
    pub components: Option<latent_explorer::analysis::Components>,
    /// Covariance of each mixture component: full or diagonal.
    #[arg(long, default_value = "full")]
    pub covariance: latent_explorer::analysis::Covariance,
    /// Dataset whose codes the mixture is fitted to (default: bundled MNIST).
    #[command(flatten)]
    pub data: DataArg,
    /// The samples whose codes the mixture is fitted to (all, when the split is empty).
    #[arg(long, value_enum, default_value = "train")]
    pub split: SplitArg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SampleFrom {
    Prior,
    Mixture,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ClusterMethod {
    /// k-means (Lloyd's, from k-means++).
    Kmeans,
    /// A Gaussian mixture (full covariance); a code belongs to its most responsible component.
    Mixture,
}

#[derive(Args, Debug)]
pub struct ClusterArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// Checkpoint whose codes are clustered (default: the bundled latent-2 MNIST model).
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// Number of clusters (1..=64).
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    #[arg(long, value_enum, default_value = "kmeans")]
    pub method: ClusterMethod,
    #[arg(long, value_enum, default_value = "all")]
    pub split: SplitArg,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// CSV of index, label, cluster per sample.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct SweepArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// Folder the models and sweep.csv are written to (made if missing; its parent must exist).
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
    /// The betas to train, comma-separated.
    #[arg(long, default_value = "0.25,0.5,1,2,4,8", value_delimiter = ',')]
    pub beta: Vec<f64>,
    /// Latent sizes to train (each with every beta), comma-separated.
    #[arg(long, default_value = "16", value_delimiter = ',')]
    pub latent: Vec<usize>,
    /// Hidden layer widths of the MLP models, comma-separated.
    #[arg(long, default_value = "400", value_delimiter = ',')]
    pub hidden: Vec<usize>,
    /// bernoulli or gaussian (default: chosen from the data, as `train` does).
    #[arg(long)]
    pub likelihood: Option<latent_explorer::model::Likelihood>,
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    #[arg(long = "lr", default_value_t = 1e-3)]
    pub learning_rate: f64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Fraction held out when the dataset has no test split.
    #[arg(long, default_value_t = 0.1)]
    pub holdout: f64,
    /// Use only the first N training samples (and N/6 held-out ones).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

#[derive(Args, Debug)]
pub struct InterpolateArgs {
    #[command(flatten)]
    pub data: DataArg,
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Dataset index of the first end.
    #[arg(long)]
    pub from: usize,
    /// Dataset index of the last end.
    #[arg(long)]
    pub to: usize,
    /// Further anchors visited in order between --from and --to (A -> C -> ... -> B).
    #[arg(long, value_delimiter = ',')]
    pub via: Vec<usize>,
    /// Frames per leg, ends included (2..=256).
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// Spherical instead of linear interpolation.
    #[arg(long)]
    pub slerp: bool,
    #[arg(long, default_value_t = 2)]
    pub scale: u32,
}

#[derive(Args, Debug)]
pub struct ReconstructArgs {
    #[command(flatten)]
    pub data: DataArg,
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Dataset indices to show (default: the first --count of the test split).
    #[arg(long, value_delimiter = ',')]
    pub indices: Vec<usize>,
    #[arg(long, default_value_t = 16)]
    pub count: usize,
    #[arg(long, default_value_t = 2)]
    pub scale: u32,
}

#[derive(Args, Debug)]
pub struct AnomaliesArgs {
    #[command(flatten)]
    pub data: DataArg,
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// CSV of every scored sample, most anomalous first.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// PNG grid of the top samples (default: the CSV's name with .png).
    #[arg(long, value_name = "PATH")]
    pub grid: Option<PathBuf>,
    /// How many samples the grid shows.
    #[arg(long, default_value_t = 25)]
    pub top: usize,
    /// elbo (reconstruction + KL), recon (reconstruction error alone) or iw (the negative
    /// importance-weighted bound, with --iw-samples draws a sample).
    #[arg(long, default_value = "elbo")]
    pub score: latent_explorer::analysis::AnomalyScore,
    /// Draws of z per sample for --score iw (1..=5000).
    #[arg(long, value_name = "K", default_value_t = 100)]
    pub iw_samples: usize,
    #[arg(long, value_enum, default_value = "test")]
    pub split: SplitArg,
    /// Draws of z averaged per sample.
    #[arg(long, default_value_t = 4)]
    pub draws: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, default_value_t = 2)]
    pub scale: u32,
}

#[derive(Args, Debug)]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// Checkpoint to evaluate (default: the bundled latent-2 MNIST model).
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// The samples evaluated (a dataset without a held-out split is evaluated whole).
    #[arg(long, value_enum, default_value = "test")]
    pub split: SplitArg,
    /// Draws k from q(z|x) per sample for the importance-weighted bound (1..=5000).
    #[arg(long, value_name = "K", default_value_t = 100)]
    pub iw_samples: usize,
    /// Only the first N samples of the split.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// CSV of index, label, elbo, iw_bound per sample (nats).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct InpaintArgs {
    #[command(flatten)]
    pub data: DataArg,
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// PNG: original, masked and completed, side by side (a row per sample).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Dataset indices to fill in (default: the first 8 of the test split).
    #[arg(long, value_delimiter = ',')]
    pub indices: Vec<usize>,
    /// What to hide: left, right, top, bottom, random:FRACTION or rect:TOP,LEFT,H,W.
    #[arg(long, default_value = "bottom")]
    pub hide: latent_explorer::analysis::MaskKind,
    #[arg(long, default_value_t = 20)]
    pub iterations: usize,
    #[arg(long, default_value_t = 2)]
    pub scale: u32,
}

#[derive(Args, Debug)]
pub struct TraverseArgs {
    /// The samples whose codes give the spread, min-max, KL order and principal directions
    /// (read only when one of those or --from-sample is asked for).
    #[command(flatten)]
    pub data: DataArg,
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// PNG grid to write (rows labelled with dimension and KL, columns with values).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Also write an animated GIF: each row swept forward and back in turn.
    #[arg(long, value_name = "PATH")]
    pub gif: Option<PathBuf>,
    /// Hold the other coordinates at this sample's code (default: the prior's centre, zeros).
    #[arg(long, value_name = "INDEX")]
    pub from_sample: Option<usize>,
    /// prior (+-K), spread (the codes' mean +-K standard deviations of the aggregate
    /// posterior) or minmax (the codes' smallest to largest mean).
    #[arg(long, default_value = "prior")]
    pub range: latent_explorer::latent::TraversalRange,
    /// K for --range prior (default 3) or spread (default 2).
    #[arg(long, value_name = "K")]
    pub sigmas: Option<f32>,
    /// Values per row, ends included (2..=64).
    #[arg(long, default_value_t = 9)]
    pub steps: usize,
    /// all, active (mean KL above 0.01 nats) or a list like 0,3,5.
    #[arg(long, default_value = "all")]
    pub dims: latent_explorer::latent::DimSelection,
    /// Rows along the principal directions of the codes instead of the latent axes.
    #[arg(long)]
    pub pca: bool,
    /// Keep the dimensions in index order instead of by KL, most informative first.
    #[arg(long)]
    pub no_kl_order: bool,
    #[arg(long, default_value_t = 2)]
    pub scale: u32,
    /// How long each GIF frame shows, in milliseconds (20..=10000).
    #[arg(long, default_value_t = 120)]
    pub frame_ms: u32,
}

#[derive(Args, Debug)]
pub struct AnalogyArgs {
    #[command(flatten)]
    pub data: DataArg,
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// PNG grid to write: a row per sample, a column per amount of the vector.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// The group the vector points to: a class (name or number).
    #[arg(long, value_name = "CLASS", required_unless_present = "plus_samples")]
    pub plus: Option<String>,
    /// ...or a list of dataset indices.
    #[arg(
        long,
        value_name = "I,J,...",
        value_delimiter = ',',
        conflicts_with = "plus"
    )]
    pub plus_samples: Vec<usize>,
    /// The group the vector points from: a class (name or number).
    #[arg(long, value_name = "CLASS", required_unless_present = "minus_samples")]
    pub minus: Option<String>,
    /// ...or a list of dataset indices.
    #[arg(
        long,
        value_name = "I,J,...",
        value_delimiter = ',',
        conflicts_with = "minus"
    )]
    pub minus_samples: Vec<usize>,
    /// The samples the vector is added to, a row each (default: the first 6 of the minus
    /// group).
    #[arg(long, value_name = "I,J,...", value_delimiter = ',')]
    pub samples: Vec<usize>,
    /// Amounts of the vector per row (2..=32), from 0 (or -reach with --both-ways) to reach.
    #[arg(long, default_value_t = 7)]
    pub steps: usize,
    /// The largest amount of the vector added (1: the whole difference of the means).
    #[arg(long, default_value_t = 1.5)]
    pub reach: f32,
    /// Also subtract the vector: amounts from -reach to reach.
    #[arg(long)]
    pub both_ways: bool,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, default_value_t = 2)]
    pub scale: u32,
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// Also describe this dataset and whether the model fits it.
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// No progress bar while reading an image folder.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// MNIST folder with the train and test IDX files (default: bundled MNIST).
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,
    /// Training epochs per configuration.
    #[arg(long, default_value_t = 1)]
    pub epochs: usize,
    /// Latent sizes to measure, comma-separated.
    #[arg(long, default_value = "2,20", value_delimiter = ',')]
    pub latent: Vec<usize>,
    /// Thread counts to measure when --threads is not given, comma-separated.
    #[arg(long, default_value = "1,2", value_delimiter = ',')]
    pub thread_counts: Vec<usize>,
    /// Single-sample decode calls timed.
    #[arg(long, default_value_t = 1000)]
    pub decode_calls: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Architecture: mlp (784-400-L-400-784, as ../shared/bench/torch_vae.py) or conv (the
    /// default 32-64-64 channels, as ../shared/bench/torch_conv_vae.py).
    #[arg(long, default_value = "mlp")]
    pub arch: latent_explorer::model::Architecture,
    /// Train on the first N training images only (0: all), as the PyTorch scripts' --limit;
    /// the held-out set stays whole.
    #[arg(long, default_value_t = 0)]
    pub limit: usize,
}

#[derive(Args, Debug)]
pub struct BenchScaleArgs {
    /// Dataset (default: bundled MNIST, 70,000 images).
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,
    /// Checkpoint the window maps with (default: the bundled latent-2 model).
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// Sample counts to measure, comma-separated.
    #[arg(long, default_value = "10000,35000,70000", value_delimiter = ',')]
    pub sizes: Vec<usize>,
    /// Frames timed per phase (pan, zoom, idle, pan while training).
    #[arg(long, default_value_t = 240)]
    pub frames: usize,
    /// Latent size of the model trained for the epoch timing.
    #[arg(long, default_value_t = 2)]
    pub latent: usize,
    /// Epochs trained in the window, each just after one of the same model by the library.
    #[arg(long, default_value_t = 3)]
    pub window_rounds: usize,
}

#[derive(Args, Debug)]
pub struct BenchMapsArgs {
    /// Dataset (default: bundled MNIST, 70,000 images).
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,
    /// Checkpoint (default: the bundled latent-16 model).
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// Points the neighbour figure is averaged over (searched exactly among all).
    #[arg(long, default_value_t = 2000)]
    pub sample: usize,
    /// Only the library timings, not the window's frames.
    #[arg(long)]
    pub no_frames: bool,
    /// Only the window's frames while t-SNE runs.
    #[arg(long, conflicts_with = "no_frames")]
    pub frames_only: bool,
}

#[derive(Args, Debug)]
pub struct SoakArgs {
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,
    /// How long to run.
    #[arg(long, default_value_t = 10.0)]
    pub minutes: f64,
    #[arg(long, default_value_t = 2)]
    pub latent: usize,
    /// Seconds between memory reports.
    #[arg(long, default_value_t = 30.0)]
    pub report_every: f64,
}

/// The bundled MNIST folder (from the source tree, or written from this binary).
pub fn default_data_path() -> latent_explorer::Result<PathBuf> {
    crate::bundled::dataset()
}

/// The bundled latent-2 MNIST model (from the source tree, or written from this binary).
pub fn default_model_path() -> latent_explorer::Result<PathBuf> {
    crate::bundled::model()
}

/// `path`, or the bundled dataset.
pub fn data_or_default(path: Option<PathBuf>) -> latent_explorer::Result<PathBuf> {
    path.map_or_else(default_data_path, Ok)
}

/// `path`, or the bundled model.
pub fn model_or_default(path: Option<PathBuf>) -> latent_explorer::Result<PathBuf> {
    path.map_or_else(default_model_path, Ok)
}
