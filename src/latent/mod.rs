//! Latent-space maths: sampling the prior, paths between codes, and 2D projections (PCA, and
//! t-SNE / UMAP in `layout`); codes written for numpy.

mod export;
mod interpolate;
pub mod layout;
mod pca;
mod semantic;

pub use export::{CodesFormat, csv_field, labels_path, numpy_files};
pub use interpolate::{InterpolationKind, interpolate, interpolate_path, lerp, slerp};
pub use pca::Pca;
pub use semantic::semantic_axes;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};

/// `n` codes from the prior N(0, I) scaled by `temperature` (1 = the prior itself; lower
/// stays nearer the centre, where samples look cleaner), row-major [n, latent].
pub fn sample_prior(n: usize, latent: usize, temperature: f32, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n * latent)
        .map(|_| {
            let v: f32 = StandardNormal.sample(&mut rng);
            v * temperature
        })
        .collect()
}
