//! What the window asks of the map's codes, run on the jobs thread: a Gaussian mixture to
//! sample from (Generate tab), a k-means clustering and the prior's holes (map overlays).
//! A request carries a copy of the codes; its answer is tagged with the generation and the
//! codes version it was made from, and dropped when either has moved on.

use crate::analysis::{
    ClusterSummary, Components, Covariance, HoleOptions, Holes, MixtureFit, MixtureOptions,
    aggregate_posterior_draws, find_holes, fit_mixture_components, kmeans, summarize_clusters,
};
use crate::model::Codes;
use std::sync::Arc;
use std::time::Instant;

/// What to compute from the codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodesRequest {
    Mixture {
        components: Components,
        covariance: Covariance,
    },
    Clusters {
        k: usize,
    },
    Holes,
}

/// A k-means clustering of the map's codes, summarised.
#[derive(Clone, Debug)]
pub struct Clustering {
    pub k: usize,
    /// The cluster of each map point, in map order.
    pub assignments: Vec<usize>,
    /// Majority label, purity and medoid (a map position) per cluster.
    pub summaries: Vec<ClusterSummary>,
}

pub enum CodesAnswer {
    Mixture(Arc<MixtureFit>),
    Clusters(Arc<Clustering>),
    Holes(Arc<Holes>),
}

/// An answer and what it took.
pub struct CodesResult {
    pub request: CodesRequest,
    pub answer: CodesAnswer,
    pub secs: f64,
}

/// Runs a request on the map's codes; `labels` are the map points' labels, if any. The
/// mixture and the clusters are fitted to the posterior means; holes are looked for against
/// one draw from each posterior (see [`crate::analysis::find_holes`] for why).
pub fn run(
    request: CodesRequest,
    codes: &Codes,
    labels: Option<&[u16]>,
) -> Result<CodesResult, String> {
    let dims = codes.latent;
    let means = &codes.mean[..];
    let started = Instant::now();
    let answer = match request {
        CodesRequest::Mixture {
            components,
            covariance,
        } => {
            let options = MixtureOptions {
                covariance,
                ..Default::default()
            };
            let fit = fit_mixture_components(means, dims, components, &options)
                .map_err(|e| format!("could not fit the mixture: {e}"))?;
            CodesAnswer::Mixture(Arc::new(fit))
        }
        CodesRequest::Clusters { k } => {
            let km = kmeans(means, dims, k, 1)
                .map_err(|e| format!("could not cluster the codes: {e}"))?;
            let summaries = summarize_clusters(means, dims, &km.assignments, k, labels, 1);
            CodesAnswer::Clusters(Arc::new(Clustering {
                k,
                assignments: km.assignments,
                summaries,
            }))
        }
        CodesRequest::Holes => {
            let draws = aggregate_posterior_draws(&codes.mean, &codes.logvar, 1);
            let holes = find_holes(&draws, dims, &HoleOptions::default())
                .map_err(|e| format!("could not look for holes: {e}"))?;
            CodesAnswer::Holes(Arc::new(holes))
        }
    };
    Ok(CodesResult {
        request,
        answer,
        secs: started.elapsed().as_secs_f64(),
    })
}

/// Where a request stands for the codes now on the map.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Progress {
    /// Not asked for these codes.
    Idle,
    Working,
    /// Done, in this many seconds.
    Ready(f64),
    Failed,
}

/// One kind of answer a panel keeps: what it asked for last, what it has, keyed by the map's
/// codes version and the request, so that an answer for older codes or another request is
/// never shown as current and a failed request is not asked again in a loop.
pub struct Cached<T> {
    asked: Option<(u64, CodesRequest)>,
    have: Option<(u64, CodesRequest, T, f64)>,
    failed: Option<(u64, CodesRequest)>,
}

impl<T> Default for Cached<T> {
    fn default() -> Self {
        Self {
            asked: None,
            have: None,
            failed: None,
        }
    }
}

impl<T> Cached<T> {
    /// The answer to `request` for codes `version`, if here.
    pub fn get(&self, version: u64, request: CodesRequest) -> Option<&T> {
        match &self.have {
            Some((v, r, t, _)) if *v == version && *r == request => Some(t),
            _ => None,
        }
    }

    pub fn progress(&self, version: u64, request: CodesRequest) -> Progress {
        let key = Some((version, request));
        match &self.have {
            Some((v, r, _, secs)) if (*v, *r) == (version, request) => Progress::Ready(*secs),
            _ if self.failed == key => Progress::Failed,
            _ if self.asked == key => Progress::Working,
            _ => Progress::Idle,
        }
    }

    /// Marks `request` as asked for codes `version`; false when it was already asked, is
    /// here, or failed (then there is nothing to send).
    pub fn ask(&mut self, version: u64, request: CodesRequest) -> bool {
        if self.progress(version, request) != Progress::Idle {
            return false;
        }
        self.asked = Some((version, request));
        true
    }

    /// Keeps an answer; true when it answers the newest request.
    pub fn accept(&mut self, version: u64, request: CodesRequest, value: T, secs: f64) -> bool {
        let newest = self.asked == Some((version, request));
        if newest {
            self.have = Some((version, request, value, secs));
        }
        newest
    }

    /// The newest request failed.
    pub fn fail(&mut self) {
        self.failed = self.asked;
    }
}
