//! Latent-space maths: sampling the prior, paths between codes, 2D projections (PCA, and
//! t-SNE / UMAP in `layout`), traversals along dimensions, attribute vectors between groups
//! and analogies; lasso selection and named groups; codes written for numpy.

mod attribute;
mod export;
mod groups;
mod interpolate;
pub mod layout;
mod pca;
mod selection;
mod semantic;
mod traverse;

pub use attribute::{
    AnalogyGrid, AttributeQuality, analogy_amounts, analogy_grid, attribute_quality,
    attribute_vector,
};
pub use export::{CodesFormat, csv_field, labels_path, numpy_files};
pub use groups::{
    GROUP_COLOURS, Group, GroupStats, MAX_PICTURE_MEMBERS, codes_at, group_csv, group_numpy_files,
    group_picture, group_stats, indices_path, nearest_rows, next_colour,
};
pub use interpolate::{InterpolationKind, interpolate, interpolate_path, lerp, slerp};
pub use pca::Pca;
pub use selection::{
    Polygon, SelectMode, combine, point_in_polygon, select_in_polygon, select_in_rect,
};
pub use semantic::semantic_axes;
pub use traverse::{
    DimSelection, Direction, MAX_STEPS, TraversalGrid, TraversalPlan, TraversalRange, TraversalRow,
    TraversalSpec, plan_traversal, traverse, traverse_as,
};

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
