//! Encoding whole datasets (the map's 70,000 points) without candle: the MLP encoder on flat
//! weights, with the first layer visiting only each image's non-zero pixels when the images
//! are sparse (MNIST: a fifth of the pixels), and the work split into chunks across threads.
//! Gives the same means and log-variances as `Vae::encode` (tests compare them).

use super::Model;
use crate::data::{BatchBuffer, Dataset};
use crate::error::{Error, Result};
use crate::kernels::sparse::{SPARSE_DENSITY_LIMIT, SparseRows, sparse_times_dense};
use gemm::{Parallelism, gemm};
use rayon::prelude::*;

/// Images per parallel task: big enough that the products keep the registers busy, small
/// enough that two threads share 70k images evenly.
const CHUNK: usize = 512;

/// A dense layer as flat buffers: weights [out, inp] (or [inp, out] when `input_major`).
struct FlatLayer {
    inp: usize,
    out: usize,
    input_major: bool,
    w: Vec<f32>,
    b: Vec<f32>,
}

/// The encoder's layers, the two heads stacked into one [2L, h] layer.
pub(super) struct FlatEncoder {
    hidden: Vec<FlatLayer>,
    heads: FlatLayer,
    latent: usize,
}

impl FlatEncoder {
    /// Copies the encoder's weights out of the model (about a millisecond for MNIST's).
    pub fn from_model(model: &Model) -> Result<Self> {
        let c = model.config();
        let tensors: std::collections::HashMap<String, candle_core::Tensor> =
            model.named_tensors().into_iter().collect();
        let get = |name: &str| -> Result<Vec<f32>> {
            let t = tensors
                .get(name)
                .ok_or_else(|| Error::InvalidConfig(format!("the model has no weight {name}")))?;
            Ok(t.flatten_all()?.to_vec1::<f32>()?)
        };
        let mut widths = vec![c.input.len()];
        widths.extend(&c.hidden);
        let mut hidden = Vec::new();
        for (i, w) in widths.windows(2).enumerate() {
            let (inp, out) = (w[0], w[1]);
            let mut weights = get(&format!("encoder.hidden.{i}.weight"))?;
            let input_major = i == 0;
            if input_major {
                weights = crate::kernels::transpose(&weights, out, inp);
            }
            hidden.push(FlatLayer {
                inp,
                out,
                input_major,
                w: weights,
                b: get(&format!("encoder.hidden.{i}.bias"))?,
            });
        }
        let h = *widths.last().unwrap_or(&c.input.len());
        let mut w = get("encoder.mean.weight")?;
        w.extend(get("encoder.logvar.weight")?);
        let mut b = get("encoder.mean.bias")?;
        b.extend(get("encoder.logvar.bias")?);
        Ok(Self {
            hidden,
            heads: FlatLayer {
                inp: h,
                out: 2 * c.latent,
                input_major: false,
                w,
                b,
            },
            latent: c.latent,
        })
    }

    /// Means and log-variances ([n, latent] each, row-major) of the images at `indices`.
    pub fn encode(&self, data: &Dataset, indices: &[usize]) -> (Vec<f32>, Vec<f32>) {
        let l = self.latent;
        let parts: Vec<(Vec<f32>, Vec<f32>)> = indices
            .par_chunks(CHUNK)
            .map(|chunk| self.encode_chunk(data, chunk))
            .collect();
        let mut mean = Vec::with_capacity(indices.len() * l);
        let mut logvar = Vec::with_capacity(indices.len() * l);
        for (m, lv) in parts {
            mean.extend(m);
            logvar.extend(lv);
        }
        (mean, logvar)
    }

    fn encode_chunk(&self, data: &Dataset, chunk: &[usize]) -> (Vec<f32>, Vec<f32>) {
        let n = chunk.len();
        let mut batch = BatchBuffer::new();
        let x = batch.fill(data, chunk);
        let d = data.shape.len();
        let mut sparse = SparseRows::default();
        let mut act = x.to_vec();
        for (i, layer) in self.hidden.iter().enumerate() {
            let mut y = vec![0f32; n * layer.out];
            let use_sparse = i == 0 && {
                sparse.fill(x, n, d);
                sparse.density() < SPARSE_DENSITY_LIMIT
            };
            if use_sparse {
                sparse_times_dense(&sparse, &layer.w, layer.out, &layer.b, &mut y);
            } else {
                dense_forward(layer, &act, n, &mut y);
            }
            y.iter_mut().for_each(|v| *v = v.max(0.0));
            act = y;
        }
        let mut heads = vec![0f32; n * self.heads.out];
        dense_forward(&self.heads, &act, n, &mut heads);
        let l = self.latent;
        let mut mean = Vec::with_capacity(n * l);
        let mut logvar = Vec::with_capacity(n * l);
        for row in heads.chunks_exact(2 * l) {
            mean.extend_from_slice(&row[..l]);
            logvar.extend_from_slice(&row[l..]);
        }
        (mean, logvar)
    }
}

/// y[n, out] = x[n, inp] W^T + b, on this thread.
fn dense_forward(l: &FlatLayer, x: &[f32], n: usize, y: &mut [f32]) {
    assert!(x.len() >= n * l.inp && y.len() >= n * l.out && l.w.len() >= l.inp * l.out);
    for row in y[..n * l.out].chunks_exact_mut(l.out) {
        row.copy_from_slice(&l.b);
    }
    let (w_cs, w_rs) = if l.input_major {
        (1, l.out as isize)
    } else {
        (l.inp as isize, 1)
    };
    // SAFETY: the assert above: x is n x inp, y n x out (row-major), W inp * out values.
    unsafe {
        gemm(
            n,
            l.out,
            l.inp,
            y.as_mut_ptr(),
            1,
            l.out as isize,
            true,
            x.as_ptr(),
            1,
            l.inp as isize,
            l.w.as_ptr(),
            w_cs,
            w_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}
