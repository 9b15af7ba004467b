//! Anomaly scores: a sample the model explains badly (high negative ELBO, high negative
//! importance-weighted bound, or high reconstruction error alone) is unlike the data it was
//! trained on.

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::Model;
use serde::{Deserialize, Serialize};

/// Which number ranks the samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AnomalyScore {
    /// Reconstruction error plus KL: the negative ELBO, a bound on -log p(x).
    #[default]
    NegativeElbo,
    /// Reconstruction error alone (ignores how unusual the code is).
    Reconstruction,
    /// The negative importance-weighted bound -L_k, a tighter bound on -log p(x) than the
    /// negative ELBO. Present only when [`AnomalyScores::with_iw_bound`] added it (it costs
    /// k decodes a sample); see [`AnomalyScores::has`].
    NegativeIwBound,
}

impl AnomalyScore {
    pub fn label(self) -> &'static str {
        match self {
            AnomalyScore::NegativeElbo => "negative ELBO",
            AnomalyScore::Reconstruction => "reconstruction error",
            AnomalyScore::NegativeIwBound => "negative IW bound",
        }
    }
}

impl std::str::FromStr for AnomalyScore {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "elbo" | "negative-elbo" | "nelbo" => Ok(AnomalyScore::NegativeElbo),
            "recon" | "reconstruction" => Ok(AnomalyScore::Reconstruction),
            "iw" | "iw-bound" | "negative-iw" => Ok(AnomalyScore::NegativeIwBound),
            other => Err(format!("unknown score '{other}' (elbo, recon or iw)")),
        }
    }
}

/// Per-sample scores of a set of samples.
#[derive(Clone, Debug, Default)]
pub struct AnomalyScores {
    /// Dataset indices, in the order scored.
    pub indices: Vec<usize>,
    /// Reconstruction error, averaged over the draws of z.
    pub recon: Vec<f32>,
    /// KL(q(z|x) || p(z)), exact.
    pub kl: Vec<f32>,
    /// The importance-weighted bound L_k per sample (nats, a log-likelihood), when computed.
    pub iw_bound: Option<Vec<f32>>,
}

impl AnomalyScores {
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// Whether these scores hold `kind` (the IW bound only once added).
    pub fn has(&self, kind: AnomalyScore) -> bool {
        kind != AnomalyScore::NegativeIwBound || self.iw_bound.is_some()
    }

    /// Adds the importance-weighted bound of the same samples, in the same order (refused
    /// otherwise).
    pub fn with_iw_bound(mut self, estimate: &super::LikelihoodEstimate) -> Result<Self> {
        if estimate.indices != self.indices {
            return Err(Error::InvalidArgument(
                "the IW bound was computed for other samples than these scores".into(),
            ));
        }
        self.iw_bound = Some(estimate.iw_bound.iter().map(|&v| v as f32).collect());
        Ok(self)
    }

    /// The score of the k-th scored sample; NaN for the IW bound when it was not added.
    pub fn value(&self, k: usize, kind: AnomalyScore) -> f32 {
        match kind {
            AnomalyScore::NegativeElbo => self.recon[k] + self.kl[k],
            AnomalyScore::Reconstruction => self.recon[k],
            AnomalyScore::NegativeIwBound => self.iw_bound.as_ref().map_or(f32::NAN, |b| -b[k]),
        }
    }

    pub fn values(&self, kind: AnomalyScore) -> Vec<f32> {
        (0..self.len()).map(|k| self.value(k, kind)).collect()
    }

    /// Positions (into `indices`) from the most to the least anomalous.
    pub fn ranked(&self, kind: AnomalyScore) -> Vec<usize> {
        let values = self.values(kind);
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
        order
    }

    /// How many samples score above `threshold`.
    pub fn count_above(&self, kind: AnomalyScore, threshold: f32) -> usize {
        (0..self.len())
            .filter(|&k| self.value(k, kind) > threshold)
            .count()
    }
}

/// Scores `indices` of `data`, averaging the reconstruction error over `draws` samples of z
/// from q(z|x) (the KL is exact), with seeded noise so the same call gives the same scores.
pub fn score_anomalies(
    model: &Model,
    data: &Dataset,
    indices: &[usize],
    draws: usize,
    seed: u64,
) -> Result<AnomalyScores> {
    if indices.is_empty() {
        return Err(Error::InvalidArgument("no samples to score".into()));
    }
    let draws = draws.clamp(1, 64);
    let mut recon = vec![0f32; indices.len()];
    let mut kl = Vec::new();
    for d in 0..draws {
        let s = model.score(data, indices, seed.wrapping_add(d as u64 * 7919))?;
        for (r, v) in recon.iter_mut().zip(&s.recon) {
            *r += v / draws as f32;
        }
        kl = s.kl;
    }
    Ok(AnomalyScores {
        indices: indices.to_vec(),
        recon,
        kl,
        iw_bound: None,
    })
}

/// Area under the ROC curve of `scores` for telling `positive` samples from the rest: the
/// probability that a random positive scores above a random negative (ties count half).
/// 0.5 when either class is empty.
pub fn roc_auc(scores: &[f32], positive: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len().min(positive.len())).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (n_pos, n_neg) = order.iter().fold((0f64, 0f64), |(p, n), &i| {
        if positive[i] {
            (p + 1.0, n)
        } else {
            (p, n + 1.0)
        }
    });
    if n_pos == 0.0 || n_neg == 0.0 {
        return 0.5;
    }
    // Mann-Whitney U from average ranks (ties share their rank).
    let mut rank_sum_pos = 0f64;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            if positive[k] {
                rank_sum_pos += avg_rank;
            }
        }
        i = j + 1;
    }
    (rank_sum_pos - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg)
}
