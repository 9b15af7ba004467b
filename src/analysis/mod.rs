//! What a VAE is used for beyond pictures: scoring samples as anomalies by how badly the model
//! explains them, and filling in missing pixels.

mod anomaly;
mod inpaint;

pub use anomaly::{AnomalyScore, AnomalyScores, roc_auc, score_anomalies};
pub use inpaint::{Inpainting, MaskKind, inpaint, make_mask};
