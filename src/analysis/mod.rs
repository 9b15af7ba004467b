//! What a VAE is used for beyond pictures: scoring samples as anomalies by how badly the model
//! explains them, estimating log p(x) with the importance-weighted bound, filling in missing
//! pixels, and finding where the codes are: a Gaussian mixture fitted to them (to sample where
//! the data is), a k-means clustering, and the holes the prior covers but the codes do not.

mod anomaly;
mod holes;
mod inpaint;
mod kmeans;
mod likelihood;
mod mixture;

pub use anomaly::{AnomalyScore, AnomalyScores, roc_auc, score_anomalies};
pub use holes::{HoleOptions, Holes, aggregate_posterior_draws, find_holes};
pub use inpaint::{Inpainting, MaskKind, inpaint, make_mask};
pub use kmeans::{
    ClusterSummary, KMeans, MAX_CLUSTERS, MEDOID_CANDIDATES, MEDOID_SAMPLE, check_clusters, kmeans,
    overall_purity, summarize_clusters,
};
pub use likelihood::{
    LikelihoodEstimate, MAX_IW_SAMPLES, MIN_IW_SAMPLES, check_iw_samples,
    importance_weighted_bound, log_mean_exp, recon_constant,
};
pub use mixture::{
    BIC_SAMPLE, Components, Covariance, DEFAULT_BIC_MAX, GaussianMixture, MixtureFit,
    MixtureOptions, fit_mixture, fit_mixture_components, log_sum_exp,
};
