//! What a VAE is used for beyond pictures: scoring samples as anomalies by how badly the model
//! explains them.

mod anomaly;

pub use anomaly::{AnomalyScore, AnomalyScores, roc_auc, score_anomalies};
