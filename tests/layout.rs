//! t-SNE and UMAP maps from the library core: on real codes (2,000 MNIST test images through
//! the bundled latent-16 model) they keep far more neighbourhoods than PCA; clusters apart in
//! code space stay apart on the map; decoding on top of a point gives that point's
//! reconstruction; a cancelled run stops.

mod common;

use common::mnist_dir;
use latent_explorer::assets::{MODEL_LATENT16, source_tree_path};
use latent_explorer::data::{LoadOptions, Split, load_dataset};
use latent_explorer::latent::Pca;
use latent_explorer::latent::layout::{
    CancelFlag, LayoutLookup, LayoutMethod, LayoutParams, Stage, compute_layout,
    compute_layout_from, neighbour_preservation,
};
use latent_explorer::model::Model;
use rand::{SeedableRng, rngs::StdRng};
use rand_distr::{Distribution, StandardNormal};
use std::sync::{Arc, OnceLock};

const POINTS: usize = 2000;

struct Real {
    model: Model,
    codes: Vec<f32>,
    dims: usize,
}

/// The first 2,000 MNIST test images' codes, once per file.
fn real() -> &'static Real {
    static REAL: OnceLock<Real> = OnceLock::new();
    REAL.get_or_init(|| {
        let data = load_dataset(&mnist_dir(), &LoadOptions::default()).expect("bundled MNIST");
        let indices: Vec<usize> = data.indices(Split::Test)[..POINTS].to_vec();
        let model = Model::load(&source_tree_path(MODEL_LATENT16)).expect("latent-16 model");
        let codes = model.encode(&data, &indices).expect("encode");
        Real {
            dims: codes.latent,
            codes: codes.mean,
            model,
        }
    })
}

fn layout(codes: &[f32], dims: usize, method: LayoutMethod) -> Vec<[f32; 2]> {
    let params = LayoutParams::default();
    let mut epochs_seen = 0;
    let coords = compute_layout(codes, dims, method, &params, &CancelFlag::new(), &mut |p| {
        if p.stage == Stage::Optimising {
            epochs_seen = p.done;
            let live = p.coords.expect("live layouts while optimising");
            assert_eq!(live.len(), codes.len() / dims * 2);
        }
    })
    .expect("valid parameters")
    .expect("not cancelled");
    assert!(epochs_seen > 0, "{method:?} reported no epochs");
    assert!(coords.iter().all(|p| p[0].is_finite() && p[1].is_finite()));
    coords
}

fn pca_coords(codes: &[f32], dims: usize) -> Vec<[f32; 2]> {
    let pca = Pca::fit(codes, dims, 2).unwrap();
    codes
        .chunks_exact(dims)
        .map(|c| {
            let p = pca.project(c);
            [p[0], p[1]]
        })
        .collect()
}

#[test]
fn tsne_and_umap_keep_far_more_neighbourhoods_than_pca_on_real_codes() {
    let r = real();
    let pca = neighbour_preservation(
        &r.codes,
        r.dims,
        &pca_coords(&r.codes, r.dims),
        10,
        POINTS,
        1,
    );
    for method in [LayoutMethod::Tsne, LayoutMethod::Umap] {
        let coords = layout(&r.codes, r.dims, method);
        let kept = neighbour_preservation(&r.codes, r.dims, &coords, 10, POINTS, 1);
        eprintln!("{method:?}: {kept:.3} of 10-neighbourhoods kept, PCA {pca:.3}");
        assert!(
            kept > pca + 0.15,
            "{method:?} keeps {kept:.3} of neighbourhoods, PCA {pca:.3}"
        );
    }
}

/// Eight clusters of 150 codes in 16 dims, each centred on its own axis: the codes, each
/// code's cluster, and the dims.
fn eight_clusters() -> (Vec<f32>, Vec<usize>, usize) {
    let (clusters, per, dims) = (8, 150, 16);
    let mut rng = StdRng::seed_from_u64(5);
    let mut codes = Vec::new();
    let mut cluster = Vec::new();
    for c in 0..clusters {
        for _ in 0..per {
            for d in 0..dims {
                let noise: f32 = StandardNormal.sample(&mut rng);
                let centre = if d == c { 6.0 } else { 0.0 };
                codes.push(centre + 0.5 * noise);
            }
            cluster.push(c);
        }
    }
    (codes, cluster, dims)
}

/// Pearson correlation of two equally long series.
fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

/// A map redone from a previous layout (as after training) keeps that layout's arrangement:
/// started from a mirror image of the first map, the clusters come out mirrored, each still
/// apart; a start that does not fit is not used.
#[test]
fn a_layout_started_from_a_previous_one_keeps_its_arrangement() {
    let (codes, cluster, dims) = eight_clusters();
    let centroids = |coords: &[[f32; 2]], axis: usize| -> Vec<f64> {
        (0..8)
            .map(|c| {
                let members: Vec<f64> = (0..cluster.len())
                    .filter(|&i| cluster[i] == c)
                    .map(|i| coords[i][axis] as f64)
                    .collect();
                members.iter().sum::<f64>() / members.len() as f64
            })
            .collect()
    };
    let params = LayoutParams::default();
    for method in [LayoutMethod::Tsne, LayoutMethod::Umap] {
        let first = layout(&codes, dims, method);
        let mirrored: Vec<[f32; 2]> = first.iter().map(|p| [-p[0], p[1]]).collect();
        let run = |start: Option<&[[f32; 2]]>| {
            compute_layout_from(
                &codes,
                dims,
                method,
                &params,
                start,
                &CancelFlag::new(),
                &mut |_| {},
            )
            .unwrap()
            .unwrap()
        };
        let again = run(Some(&mirrored));
        let (rx, ry) = (
            correlation(&centroids(&again, 0), &centroids(&mirrored, 0)),
            correlation(&centroids(&again, 1), &centroids(&mirrored, 1)),
        );
        eprintln!("{method:?} from a mirrored start: centroid correlation x {rx:.3}, y {ry:.3}");
        assert!(rx > 0.8 && ry > 0.8, "{method:?}: x {rx:.3}, y {ry:.3}");
        // A start of another length is not used (the codes' PCA starts it): a whole map still.
        let fallback = run(Some(&mirrored[1..]));
        assert_eq!(fallback.len(), cluster.len());
        assert!(
            fallback
                .iter()
                .all(|p| p[0].is_finite() && p[1].is_finite())
        );
    }
}

/// Eight clusters in 16 dims, each centred on its own axis (all centres equally far apart,
/// each cluster far tighter than that): a 2D PCA can show only a few of those directions and
/// lays some clusters over each other (about 94% of its map neighbours share the cluster);
/// the non-linear maps keep all eight apart (each point's nearest map neighbours are of its
/// own cluster).
#[test]
fn clusters_apart_in_code_space_stay_apart_on_the_map() {
    let (codes, cluster, dims) = eight_clusters();
    let n = cluster.len();
    let same_cluster_share = |coords: &[[f32; 2]]| {
        let mut same = 0;
        for i in 0..n {
            let mut d: Vec<(f32, usize)> = (0..n)
                .filter(|&j| j != i)
                .map(|j| {
                    let (a, b) = (coords[i], coords[j]);
                    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2), j)
                })
                .collect();
            d.select_nth_unstable_by(4, |a, b| a.0.total_cmp(&b.0));
            same += d[..5].iter().filter(|p| cluster[p.1] == cluster[i]).count();
        }
        same as f64 / (n * 5) as f64
    };
    let pca = same_cluster_share(&pca_coords(&codes, dims));
    for method in [LayoutMethod::Tsne, LayoutMethod::Umap] {
        let share = same_cluster_share(&layout(&codes, dims, method));
        eprintln!("{method:?}: {share:.3} of map neighbours in the same cluster, PCA {pca:.3}");
        assert!(share > 0.99, "{method:?}: only {share:.3}");
        assert!(share > pca, "{method:?}: {share:.3}, PCA {pca:.3}");
    }
}

#[test]
fn decoding_on_a_point_of_a_umap_map_gives_that_points_reconstruction() {
    let r = real();
    let coords = layout(&r.codes, r.dims, LayoutMethod::Umap);
    let lookup = LayoutLookup::new(Arc::new(r.codes.clone()), r.dims, coords.clone());
    let span = coords
        .iter()
        .fold(0f32, |m, p| m.max(p[0].abs()).max(p[1].abs()));
    for k in [0usize, 17, 999, 1500] {
        let own = &r.codes[k * r.dims..(k + 1) * r.dims];
        let want = r.model.decode(own).unwrap();
        // Exactly on the point: its own code.
        assert_eq!(lookup.code_at(coords[k]), own.to_vec());
        // A hair beside it (1/10,000 of the map's extent): still nearly its reconstruction.
        let beside = [coords[k][0] + span * 1e-4, coords[k][1]];
        let got = r.model.decode(&lookup.code_at(beside)).unwrap();
        let mean_diff = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .sum::<f32>()
            / want.len() as f32;
        assert!(
            mean_diff < 0.05,
            "point {k}: decoded beside it differs by {mean_diff:.3} per pixel"
        );
        // And the point's code lands back on the point.
        assert_eq!(lookup.position_of(own), coords[k]);
    }
}

#[test]
fn a_cancelled_run_stops_and_answers_none() {
    let r = real();
    for method in [LayoutMethod::Tsne, LayoutMethod::Umap] {
        let cancel = CancelFlag::new();
        let mut epochs = 0;
        let out = compute_layout(
            &r.codes,
            r.dims,
            method,
            &LayoutParams::default(),
            &cancel,
            &mut |p| {
                if p.stage == Stage::Optimising {
                    epochs = p.done;
                    if p.done >= 10 {
                        cancel.cancel();
                    }
                }
            },
        )
        .unwrap();
        assert!(out.is_none(), "{method:?} finished despite the cancel");
        assert!(
            epochs < 30,
            "{method:?} ran {epochs} epochs after the cancel"
        );
    }
}

#[test]
fn bad_parameters_are_errors_before_any_work() {
    let r = real();
    let params = LayoutParams {
        perplexity: 1000.0,
        ..LayoutParams::default()
    };
    let e = compute_layout(
        &r.codes,
        r.dims,
        LayoutMethod::Tsne,
        &params,
        &CancelFlag::new(),
        &mut |_| panic!("no work for bad parameters"),
    )
    .unwrap_err();
    assert!(e.to_string().contains("perplexity"), "{e}");
}
