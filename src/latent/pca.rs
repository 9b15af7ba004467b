//! Principal component analysis of latent codes, for a 2D map of latent spaces with more than
//! two dimensions, and its inverse, to decode a position on that map.

use crate::error::{Error, Result};
use nalgebra::{DMatrix, SymmetricEigen};

/// A fitted projection onto the top `k` principal axes.
#[derive(Clone, Debug, PartialEq)]
pub struct Pca {
    pub dims: usize,
    pub mean: Vec<f32>,
    /// `k` unit axes of `dims` values each, largest variance first.
    pub components: Vec<Vec<f32>>,
    /// Variance along each axis.
    pub explained_variance: Vec<f32>,
    /// Total variance of the data (sum over all dims).
    pub total_variance: f32,
}

impl Pca {
    /// Fits on `n` rows of `dims` values (row-major).
    pub fn fit(data: &[f32], dims: usize, k: usize) -> Result<Self> {
        if dims == 0 || data.is_empty() || !data.len().is_multiple_of(dims) {
            return Err(Error::InvalidArgument(format!(
                "PCA needs rows of {dims} values, got {} values",
                data.len()
            )));
        }
        let n = data.len() / dims;
        let k = k.min(dims);
        let mut mean = vec![0f64; dims];
        for row in data.chunks_exact(dims) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += v as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut cov = DMatrix::<f64>::zeros(dims, dims);
        for row in data.chunks_exact(dims) {
            for i in 0..dims {
                let di = row[i] as f64 - mean[i];
                for j in i..dims {
                    cov[(i, j)] += di * (row[j] as f64 - mean[j]);
                }
            }
        }
        let denom = (n.max(2) - 1) as f64;
        for i in 0..dims {
            for j in i..dims {
                let v = cov[(i, j)] / denom;
                cov[(i, j)] = v;
                cov[(j, i)] = v;
            }
        }
        let total_variance = (0..dims).map(|i| cov[(i, i)]).sum::<f64>() as f32;
        let eig = SymmetricEigen::new(cov);
        let mut order: Vec<usize> = (0..dims).collect();
        order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
        let components: Vec<Vec<f32>> = order[..k]
            .iter()
            .map(|&c| {
                let mut axis: Vec<f32> = eig
                    .eigenvectors
                    .column(c)
                    .iter()
                    .map(|&v| v as f32)
                    .collect();
                // Fix the sign so the same data always gives the same picture.
                let biggest = axis
                    .iter()
                    .copied()
                    .fold(0f32, |m, v| if v.abs() > m.abs() { v } else { m });
                if biggest < 0.0 {
                    axis.iter_mut().for_each(|v| *v = -*v);
                }
                axis
            })
            .collect();
        let explained_variance = order[..k]
            .iter()
            .map(|&c| eig.eigenvalues[c].max(0.0) as f32)
            .collect();
        Ok(Self {
            dims,
            mean: mean.into_iter().map(|m| m as f32).collect(),
            components,
            explained_variance,
            total_variance,
        })
    }

    /// Coordinates of one code on the principal axes.
    pub fn project(&self, code: &[f32]) -> Vec<f32> {
        self.components
            .iter()
            .map(|axis| {
                axis.iter()
                    .zip(code.iter().zip(&self.mean))
                    .map(|(a, (c, m))| a * (c - m))
                    .sum()
            })
            .collect()
    }

    /// Projects `n` rows at once (row-major in, row-major [n, k] out).
    pub fn project_all(&self, data: &[f32]) -> Vec<f32> {
        data.chunks_exact(self.dims)
            .flat_map(|row| self.project(row))
            .collect()
    }

    /// The code at a map position: the mean plus the position along each axis.
    pub fn inverse(&self, coords: &[f32]) -> Vec<f32> {
        let mut code = self.mean.clone();
        for (axis, &c) in self.components.iter().zip(coords) {
            for (v, a) in code.iter_mut().zip(axis) {
                *v += a * c;
            }
        }
        code
    }

    /// Fraction of the total variance each axis explains.
    pub fn explained_ratio(&self) -> Vec<f32> {
        let t = self.total_variance.max(f32::MIN_POSITIVE);
        self.explained_variance.iter().map(|v| v / t).collect()
    }
}
