//! What the window remembers between runs (eframe storage). Everything here is plain settings;
//! loaded data, models and textures are runtime-only and live in [`super::app::Session`].

use crate::latent::InterpolationKind;
use crate::model::{Architecture, Likelihood};
use crate::train::TrainConfig;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How the latent codes are laid out on the 2D map.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Projection {
    /// The first two principal components (for latent dims > 2).
    #[default]
    Pca,
    /// Two latent axes chosen by the user (the only choice, with x = 0 and y = 1, at latent 2).
    Axes,
    /// t-SNE of all the codes (computed on a thread of its own, drawn as it optimises).
    Tsne,
    /// UMAP of all the codes (likewise).
    Umap,
    /// x along an attribute vector, y the first principal component of the rest.
    Semantic,
}

impl Projection {
    /// The non-linear layout this projection needs, if any.
    pub fn layout_method(self) -> Option<crate::latent::layout::LayoutMethod> {
        use crate::latent::layout::LayoutMethod;
        match self {
            Projection::Tsne => Some(LayoutMethod::Tsne),
            Projection::Umap => Some(LayoutMethod::Umap),
            Projection::Pca | Projection::Axes | Projection::Semantic => None,
        }
    }
}

/// Settings for "New model".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewModelSettings {
    pub arch: Architecture,
    pub latent: usize,
    /// Hidden layer widths of an MLP, comma-separated.
    pub hidden: String,
    /// Channels of a conv model's stride-2 convolutions, comma-separated.
    pub channels: String,
    /// None: chosen from the dataset when the model is created.
    pub likelihood: Option<Likelihood>,
    pub beta: f64,
    /// A conditional model (MLP, labelled datasets): the label is an input of the encoder and
    /// the decoder.
    pub conditional: bool,
}

impl Default for NewModelSettings {
    fn default() -> Self {
        Self {
            arch: Architecture::Mlp,
            latent: 2,
            hidden: "400".into(),
            channels: "32,64,64".into(),
            likelihood: None,
            beta: 1.0,
            conditional: false,
        }
    }
}

/// What colours the points on the map.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ColorBy {
    #[default]
    Label,
    /// Score bands by quantile (the Anomalies tab's colouring).
    AnomalyScore,
    /// A per-sample value on a colour gradient (`Settings::color_value`).
    Value,
}

/// A per-sample value the map can be coloured by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ColourValue {
    #[default]
    ReconstructionError,
    Kl,
    NegativeElbo,
    /// The posterior's standard deviation, averaged over the latent dimensions.
    PosteriorSigma,
    /// The code's value in one latent dimension.
    LatentDim(usize),
}

impl ColourValue {
    pub fn label(self) -> String {
        match self {
            ColourValue::ReconstructionError => "reconstruction error".into(),
            ColourValue::Kl => "KL".into(),
            ColourValue::NegativeElbo => "negative ELBO".into(),
            ColourValue::PosteriorSigma => "posterior sigma".into(),
            ColourValue::LatentDim(k) => format!("z{k}"),
        }
    }

    /// Comes from the anomaly scores (the rest from the codes).
    pub fn needs_scores(self) -> bool {
        matches!(
            self,
            ColourValue::ReconstructionError | ColourValue::Kl | ColourValue::NegativeElbo
        )
    }
}

/// A direction in latent space with a name ("7 minus 1"): the difference of two groups' mean
/// codes; adding it to a code adds that attribute. Kept per model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttributeVector {
    pub name: String,
    pub vector: Vec<f32>,
    /// The model file it was made with (None: an unsaved model).
    pub model: Option<PathBuf>,
}

/// Which samples the map shows (hidden ones cannot be picked either).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SplitFilter {
    #[default]
    All,
    Train,
    Test,
}

impl SplitFilter {
    pub const ALL: [SplitFilter; 3] = [SplitFilter::All, SplitFilter::Train, SplitFilter::Test];

    pub fn label(self) -> &'static str {
        match self {
            SplitFilter::All => "all samples",
            SplitFilter::Train => "training set",
            SplitFilter::Test => "test set",
        }
    }

    pub fn keeps(self, split: crate::data::Split) -> bool {
        match self {
            SplitFilter::All => true,
            SplitFilter::Train => split == crate::data::Split::Train,
            SplitFilter::Test => split == crate::data::Split::Test,
        }
    }
}

/// The tab shown in the bottom panel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BottomTab {
    #[default]
    Interpolation,
    Generate,
    Anomalies,
    MissingData,
    Export,
    Traversal,
    Analogy,
    RateDistortion,
    Groups,
}

/// What a thumbnail on the map shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ThumbnailSource {
    /// The sample's own image.
    #[default]
    Original,
    /// The model's reconstruction of it (its posterior mean decoded, on the worker).
    Reconstruction,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub dataset_path: Option<PathBuf>,
    /// How datasets are read: image size, pixel range, label column (as the CLI's flags).
    pub dataset_options: crate::data::LoadOptionsText,
    pub model_path: Option<PathBuf>,
    pub train: TrainConfig,
    pub new_model: NewModelSettings,
    pub projection: Projection,
    pub axis_x: usize,
    pub axis_y: usize,
    /// Perplexity (t-SNE), neighbours and minimum distance (UMAP), seed.
    pub layout: crate::latent::layout::LayoutParams,
    /// The attribute vector (index into `attributes`) semantic axes lay the map along.
    pub semantic_attribute: Option<usize>,
    pub point_radius: f32,
    pub loss_log_scale: bool,
    /// Exponential smoothing of the per-step loss curves, 0 (none) .. 0.99.
    pub loss_smoothing: f32,
    pub interp_steps: usize,
    pub interp_kind: InterpolationKind,
    pub grid_count: usize,
    pub temperature: f32,
    pub grid_seed: u64,
    pub export_scale: u32,
    /// Where plain "Export" writes (filled in with Pictures or home at start when unset).
    pub export_folder: Option<PathBuf>,
    pub bottom_tab: BottomTab,
    pub show_frame_time: bool,
    pub color_by: ColorBy,
    /// The decoder's sliders move the code along principal directions (models with 8 or more
    /// latent dimensions), else along the latent dimensions.
    pub principal_sliders: bool,
    /// The value the map is coloured by when `color_by` is `Value`.
    pub color_value: ColourValue,
    /// Draws per sample for the held-out likelihood estimate (the IW bound's k).
    pub likelihood_k: usize,
    /// Held-out samples it uses at most (0: all).
    pub likelihood_samples: usize,
    /// Which split the map shows.
    pub map_split: SplitFilter,
    /// Draw every tenth point's posterior as a 1-sigma ellipse.
    pub show_all_ellipses: bool,
    /// Fill the map's background with images decoded on a grid (following zoom and pan).
    pub show_manifold: bool,
    /// Shade the map by point density under the points.
    pub show_density: bool,
    /// Draw each visible point as its image once few enough are in view.
    pub show_thumbnails: bool,
    /// What the thumbnails show: the sample, or the model's reconstruction of it.
    #[serde(default)]
    pub thumbnail_source: ThumbnailSource,
    /// Draw the prior's 1, 2 and 3 sigma circles: where the decoder was trained to be good.
    pub show_prior: bool,
    /// Attribute vectors made so far (saved with the session).
    pub attributes: Vec<AttributeVector>,
    /// What the Missing data tab hides.
    pub inpaint_mask: crate::analysis::MaskKind,
    pub inpaint_iterations: usize,
    pub anomaly_score: crate::analysis::AnomalyScore,
    /// Draws per sample (k) when the score is the negative IW bound.
    pub anomaly_iw_k: usize,
    /// Samples scoring above this are counted (and listed first).
    pub anomaly_threshold: Option<f32>,
    /// The Traversal tab's controls.
    pub traversal: crate::gui::panels::traversal::TraversalSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            dataset_path: None,
            dataset_options: Default::default(),
            model_path: None,
            train: TrainConfig {
                epochs: 5,
                ..TrainConfig::default()
            },
            new_model: NewModelSettings::default(),
            projection: Projection::Pca,
            axis_x: 0,
            axis_y: 1,
            layout: Default::default(),
            semantic_attribute: None,
            point_radius: 1.5,
            loss_log_scale: true,
            loss_smoothing: 0.9,
            interp_steps: 10,
            interp_kind: InterpolationKind::Linear,
            grid_count: 64,
            temperature: 1.0,
            grid_seed: 1,
            export_scale: 4,
            export_folder: None,
            bottom_tab: BottomTab::Interpolation,
            show_frame_time: true,
            color_by: ColorBy::Label,
            map_split: SplitFilter::All,
            likelihood_k: 100,
            likelihood_samples: 1000,
            color_value: ColourValue::ReconstructionError,
            principal_sliders: false,
            show_all_ellipses: false,
            show_manifold: false,
            show_prior: false,
            show_thumbnails: true,
            thumbnail_source: ThumbnailSource::Original,
            show_density: false,
            attributes: Vec::new(),
            inpaint_mask: crate::analysis::MaskKind::BottomHalf,
            inpaint_iterations: 20,
            anomaly_score: crate::analysis::AnomalyScore::NegativeElbo,
            anomaly_iw_k: 10,
            anomaly_threshold: None,
            traversal: Default::default(),
        }
    }
}
