//! Latent maths: interpolation end points and norms, PCA against known answers, prior samples.

use latent_explorer::latent::{
    InterpolationKind, Pca, interpolate, interpolate_path, lerp, sample_prior, slerp,
};

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

fn close(a: &[f32], b: &[f32], tol: f32) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
}

#[test]
fn interpolation_end_points_equal_the_codes() {
    let a = vec![1.5f32, -2.0, 0.25, 3.0];
    let b = vec![-0.5f32, 1.0, 2.0, -1.0];
    for kind in [InterpolationKind::Linear, InterpolationKind::Spherical] {
        for steps in [2usize, 3, 10, 32] {
            let path = interpolate(&a, &b, steps, kind);
            assert_eq!(path.len(), steps);
            assert!(close(&path[0], &a, 1e-5), "{kind:?} start {:?}", path[0]);
            assert!(
                close(&path[steps - 1], &b, 1e-5),
                "{kind:?} end {:?}",
                path[steps - 1]
            );
        }
    }
    assert_eq!(lerp(&a, &b, 0.0), a);
    assert_eq!(lerp(&a, &b, 1.0), b);
    assert!(close(&lerp(&a, &b, 0.5), &[0.5, -0.5, 1.125, 1.0], 1e-6));
}

#[test]
fn slerp_keeps_norms_and_moves_along_the_circle() {
    let a = vec![2.0f32, 0.0, 0.0];
    let b = vec![0.0f32, 2.0, 0.0];
    for k in 0..=10 {
        let t = k as f32 / 10.0;
        let s = slerp(&a, &b, t);
        assert!((norm(&s) - 2.0).abs() < 1e-5, "t {t}: norm {}", norm(&s));
        // The angle from a grows linearly with t: 90 degrees in all.
        let angle = (s[0] / norm(&s)).clamp(-1.0, 1.0).acos();
        assert!((angle - t * std::f32::consts::FRAC_PI_2).abs() < 1e-4);
    }
    // Different norms: the norm moves linearly from |a| to |b|.
    let c = vec![0.0f32, 0.0, 4.0];
    let mid = slerp(&a, &c, 0.5);
    assert!((norm(&mid) - 3.0).abs() < 1e-5);
    // Linear interpolation cuts through the middle instead.
    assert!(norm(&lerp(&a, &b, 0.5)) < 1.5);
    // Parallel or zero codes fall back to a straight line, without NaN.
    let p = slerp(&a, &[4.0, 0.0, 0.0], 0.5);
    assert!(close(&p, &[3.0, 0.0, 0.0], 1e-5));
    assert!(slerp(&[0.0; 3], &b, 0.3).iter().all(|v| v.is_finite()));
}

#[test]
fn a_path_through_anchors_visits_each_once() {
    let anchors = vec![vec![0.0f32, 0.0], vec![1.0, 0.0], vec![1.0, 1.0]];
    let path = interpolate_path(&anchors, 5, InterpolationKind::Linear);
    assert_eq!(path.len(), 9);
    assert_eq!(path[0], anchors[0]);
    assert_eq!(path[4], anchors[1]);
    assert_eq!(path[8], anchors[2]);
    assert!(close(&path[6], &[1.0, 0.5], 1e-6));
}

#[test]
fn pca_finds_a_known_direction() {
    // Points spread along (1, 2, 2)/3 with variance 9, plus a small spread along (2, -1, 0)/sqrt5.
    let u = [1.0f32 / 3.0, 2.0 / 3.0, 2.0 / 3.0];
    let v = [2.0f32 / 5f32.sqrt(), -1.0 / 5f32.sqrt(), 0.0];
    let offset = [10.0f32, -5.0, 2.0];
    let mut data = Vec::new();
    let n = 2001;
    for i in 0..n {
        let t = (i as f32 / (n - 1) as f32 - 0.5) * 2.0 * 3f32.sqrt() * 3.0; // uniform, var 9
        let s = if i % 2 == 0 { 0.5 } else { -0.5 }; // var ~0.25
        for d in 0..3 {
            data.push(offset[d] + t * u[d] + s * v[d]);
        }
    }
    let pca = Pca::fit(&data, 3, 2).unwrap();
    assert!(close(&pca.mean, &offset, 1e-2), "mean {:?}", pca.mean);
    let c0 = &pca.components[0];
    let dot: f32 = c0.iter().zip(&u).map(|(a, b)| a * b).sum();
    assert!(dot.abs() > 0.9999, "first axis {c0:?}");
    let dot1: f32 = pca.components[1].iter().zip(&v).map(|(a, b)| a * b).sum();
    assert!(dot1.abs() > 0.999, "second axis {:?}", pca.components[1]);
    assert!(
        (pca.explained_variance[0] - 9.0).abs() < 0.1,
        "{:?}",
        pca.explained_variance
    );
    assert!((pca.explained_variance[1] - 0.25).abs() < 0.01);
    let ratio = pca.explained_ratio();
    assert!(ratio[0] > 0.97 && ratio[0] + ratio[1] > 0.999);
    // Projecting then inverting returns the point (it lies in the plane of the two axes).
    let p = &data[300..303];
    let back = pca.inverse(&pca.project(p));
    assert!(close(&back, p, 1e-3), "{back:?} vs {p:?}");
    // The same data gives the same signs every time.
    assert_eq!(Pca::fit(&data, 3, 2).unwrap(), pca);
    assert_eq!(pca.project_all(&data).len(), n * 2);
    assert!(Pca::fit(&data[..4], 3, 2).is_err());
}

#[test]
fn prior_samples_are_seeded_standard_normal_times_temperature() {
    let a = sample_prior(5000, 4, 1.0, 9);
    assert_eq!(a, sample_prior(5000, 4, 1.0, 9));
    assert_ne!(a, sample_prior(5000, 4, 1.0, 10));
    let mean = a.iter().sum::<f32>() / a.len() as f32;
    let var = a.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / a.len() as f32;
    assert!(
        mean.abs() < 0.03 && (var - 1.0).abs() < 0.05,
        "mean {mean} var {var}"
    );
    let half = sample_prior(5000, 4, 0.5, 9);
    assert!(close(
        &half,
        &a.iter().map(|x| x * 0.5).collect::<Vec<_>>(),
        1e-6
    ));
}
