//! Semantic axes: a map whose x is each code's position along a named direction (an attribute
//! vector such as "7 minus 1") and whose y is the first principal component of what is left
//! once that direction is taken out. It is a linear map like PCA's, so it is returned as a
//! [`Pca`] with those two axes: projecting, the inverse (decoding a map position) and the
//! projected posterior ellipses all work unchanged.

use super::Pca;
use crate::error::{Error, Result};

/// The two axes for `n` codes (`data` row-major [n, dims]) and the direction `vector`.
pub fn semantic_axes(data: &[f32], dims: usize, vector: &[f32]) -> Result<Pca> {
    if vector.len() != dims {
        return Err(Error::InvalidArgument(format!(
            "the direction has {} values, the codes {dims}",
            vector.len()
        )));
    }
    let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt();
    if !norm.is_finite() || norm < 1e-12 {
        return Err(Error::InvalidArgument(
            "the direction is zero: it has no axis to lay the map along".into(),
        ));
    }
    if dims < 2 {
        return Err(Error::InvalidArgument(
            "semantic axes need at least two latent dims".into(),
        ));
    }
    let unit: Vec<f32> = vector.iter().map(|v| v / norm).collect();
    let full = Pca::fit(data, dims, 1)?;
    // The codes with their component along the direction removed (about the mean).
    let mut rest = Vec::with_capacity(data.len());
    let mut along_var = 0f64;
    for row in data.chunks_exact(dims) {
        let t: f32 = row
            .iter()
            .zip(&full.mean)
            .zip(&unit)
            .map(|((c, m), u)| (c - m) * u)
            .sum();
        along_var += (t as f64) * (t as f64);
        rest.extend(row.iter().zip(&unit).map(|(c, u)| c - t * u));
    }
    let n = data.len() / dims;
    let rest_pca = Pca::fit(&rest, dims, 1)?;
    let mut second = rest_pca.components[0].clone();
    // Numerically the residual's axis is already orthogonal to the direction; make it exact.
    let overlap: f32 = second.iter().zip(&unit).map(|(a, b)| a * b).sum();
    second
        .iter_mut()
        .zip(&unit)
        .for_each(|(s, u)| *s -= overlap * u);
    let len = second.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
    second.iter_mut().for_each(|s| *s /= len);
    Ok(Pca {
        dims,
        mean: full.mean,
        components: vec![unit, second],
        explained_variance: vec![
            (along_var / (n.max(2) - 1) as f64) as f32,
            rest_pca.explained_variance[0],
        ],
        total_variance: full.total_variance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_is_the_position_along_the_direction_and_y_is_orthogonal() {
        // Codes spread along (1, 1, 0) mostly and (0, 0, 1) a little.
        let mut data = Vec::new();
        for i in 0..200 {
            let a = (i as f32 * 0.37).sin() * 3.0;
            let b = (i as f32 * 0.91).cos();
            data.extend([a + 1.0, a + 1.0, b]);
        }
        let axes = semantic_axes(&data, 3, &[0.0, 0.0, 2.0]).unwrap();
        assert_eq!(axes.components[0], vec![0.0, 0.0, 1.0]);
        let y = &axes.components[1];
        assert!(y[2].abs() < 1e-6, "{y:?}");
        assert!((y[0].abs() - 0.5f32.sqrt()).abs() < 1e-3, "{y:?}");
        let p = axes.project(&[1.0, 1.0, 0.5]);
        let mean_z = axes.mean[2];
        assert!((p[0] - (0.5 - mean_z)).abs() < 1e-5);
        // The inverse puts a map position back on the plane of the two axes.
        let back = axes.inverse(&p);
        assert!((axes.project(&back)[0] - p[0]).abs() < 1e-5);
        assert!(semantic_axes(&data, 3, &[0.0, 0.0, 0.0]).is_err());
        assert!(semantic_axes(&data, 3, &[1.0, 0.0]).is_err());
    }
}
