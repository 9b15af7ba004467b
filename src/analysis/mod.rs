//! What a VAE is used for beyond pictures: scoring samples as anomalies by how badly the model
//! explains them, estimating log p(x) with the importance-weighted bound, and filling in
//! missing pixels.

mod anomaly;
mod inpaint;
mod likelihood;

pub use anomaly::{AnomalyScore, AnomalyScores, roc_auc, score_anomalies};
pub use inpaint::{Inpainting, MaskKind, inpaint, make_mask};
pub use likelihood::{
    LikelihoodEstimate, MAX_IW_SAMPLES, MIN_IW_SAMPLES, check_iw_samples,
    importance_weighted_bound, log_mean_exp, recon_constant,
};
