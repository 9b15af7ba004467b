//! Encoding whole datasets (the map's 70,000 points) without candle: the MLP encoder on flat
//! weights, with the first layer visiting only each image's non-zero pixels when the images
//! are sparse (MNIST: a fifth of the pixels), and the work split into chunks across threads.
//! Gives the same means and log-variances as `Vae::encode` (tests compare them).

use super::{MlpRole, Model};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::kernels::dense::{self, Weights};
use crate::kernels::elementwise::{bytes_to_unit, relu_in_place};
use crate::kernels::sparse::{SPARSE_DENSITY_LIMIT, SparseRows, sparse_times_dense};
use gemm::Parallelism;
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
    /// A conditional model's one-hot width: the first layer's last inputs (0 otherwise).
    classes: usize,
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
        let (mut hidden, mut heads) = (Vec::new(), Vec::new());
        for layer in c.mlp_layers() {
            match layer.role {
                MlpRole::EncoderHidden(i) => {
                    let mut w = get(&layer.weight_name())?;
                    // The first layer is stored [inp, out] for the sparse product.
                    let input_major = i == 0;
                    if input_major {
                        w = crate::kernels::transpose(&w, layer.out, layer.inp);
                    }
                    hidden.push(FlatLayer {
                        inp: layer.inp,
                        out: layer.out,
                        input_major,
                        w,
                        b: get(&layer.bias_name())?,
                    });
                }
                MlpRole::Mean | MlpRole::Logvar => heads.push(layer),
                MlpRole::DecoderHidden(_) | MlpRole::Output => {}
            }
        }
        // The two heads ([latent, h] each, mean first) stacked into one [2 * latent, h] layer.
        let mut w = Vec::new();
        let mut b = Vec::new();
        for head in &heads {
            w.extend(get(&head.weight_name())?);
            b.extend(get(&head.bias_name())?);
        }
        let h = heads.first().map_or(c.input.len(), |l| l.inp);
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
            classes: c.condition_width(),
        })
    }

    /// Means and log-variances ([n, latent] each, row-major) of the images at `indices`; a
    /// conditional model's encoder also reads each one's label from `labels` (the dataset's,
    /// checked against its classes by the caller).
    pub fn encode(
        &self,
        data: &Dataset,
        indices: &[usize],
        labels: Option<&[u16]>,
    ) -> (Vec<f32>, Vec<f32>) {
        let l = self.latent;
        let sparse = !self.hidden.is_empty() && mostly_zeros(data, indices);
        let mut mean = vec![0f32; indices.len() * l];
        let mut logvar = vec![0f32; indices.len() * l];
        // Buffers are reused across a thread's chunks: allocating megabytes per chunk costs
        // more in page faults than the arithmetic.
        indices
            .par_chunks(CHUNK)
            .zip(mean.par_chunks_mut(CHUNK * l))
            .zip(logvar.par_chunks_mut(CHUNK * l))
            .for_each_init(Workspace::default, |ws, ((chunk, m), lv)| {
                self.encode_chunk(data, chunk, labels, sparse, ws, m, lv)
            });
        (mean, logvar)
    }

    #[allow(clippy::too_many_arguments)]
    fn encode_chunk(
        &self,
        data: &Dataset,
        chunk: &[usize],
        labels: Option<&[u16]>,
        sparse: bool,
        ws: &mut Workspace,
        mean: &mut [f32],
        logvar: &mut [f32],
    ) {
        let n = chunk.len();
        let d = data.shape.len();
        let c = self.classes;
        let label = |i: usize| labels.map_or(0, |l| l[i] as usize);
        let table = &ws.table;
        if sparse {
            ws.sparse
                .fill_from_bytes(chunk.iter().map(|&i| data.image_bytes(i)), d, table);
        } else {
            ws.input.clear();
            for &i in chunk {
                // Converted in vector registers, not looked up a byte at a time: 4% of a
                // dense encode (Fashion-MNIST, 1 thread, Intel), the same values as the table.
                let start = ws.input.len();
                let bytes = data.image_bytes(i);
                ws.input.resize(start + bytes.len(), 0.0);
                bytes_to_unit(bytes, &mut ws.input[start..]);
                // A conditional model's one-hot: the input row's last columns.
                if c > 0 {
                    let start = ws.input.len();
                    ws.input.resize(start + c, 0.0);
                    ws.input[start + label(i)] = 1.0;
                }
            }
        }
        for (i, layer) in self.hidden.iter().enumerate() {
            ws.next.clear();
            ws.next.resize(n * layer.out, 0.0);
            if i == 0 && sparse {
                sparse_times_dense(&ws.sparse, &layer.w, layer.out, &layer.b, &mut ws.next);
                if c > 0 {
                    // The one-hot's single 1 adds its weight row (input-major: row d + label).
                    for (row, &i) in ws.next.chunks_exact_mut(layer.out).zip(chunk) {
                        let w = &layer.w[(d + label(i)) * layer.out..][..layer.out];
                        row.iter_mut().zip(w).for_each(|(y, w)| *y += w);
                    }
                }
            } else {
                let input = if i == 0 { &ws.input } else { &ws.act };
                dense_forward(layer, input, n, &mut ws.next);
            }
            relu_in_place(&mut ws.next);
            std::mem::swap(&mut ws.act, &mut ws.next);
        }
        ws.heads.clear();
        ws.heads.resize(n * self.heads.out, 0.0);
        let h = if self.hidden.is_empty() {
            &ws.input
        } else {
            &ws.act
        };
        dense_forward(&self.heads, h, n, &mut ws.heads);
        let l = self.latent;
        for ((row, m), lv) in ws
            .heads
            .chunks_exact(2 * l)
            .zip(mean.chunks_exact_mut(l))
            .zip(logvar.chunks_exact_mut(l))
        {
            m.copy_from_slice(&row[..l]);
            lv.copy_from_slice(&row[l..]);
        }
    }
}

/// Images sampled to choose the first layer's path once for a whole encode.
const DENSITY_SAMPLE: usize = 64;

/// Whether the images at `indices` are mostly zeros (fewer non-zero pixels than
/// [`SPARSE_DENSITY_LIMIT`] in an even sample of them), so that the first layer's sparse
/// product pays. Chosen once: compressing every chunk only to find it dense cost 4% of
/// encoding Fashion-MNIST. Both paths give the same codes.
fn mostly_zeros(data: &Dataset, indices: &[usize]) -> bool {
    let step = (indices.len() / DENSITY_SAMPLE).max(1);
    let (mut nonzero, mut total) = (0usize, 0usize);
    for &i in indices.iter().step_by(step).take(DENSITY_SAMPLE) {
        let bytes = data.image_bytes(i);
        nonzero += bytes.iter().filter(|&&b| b != 0).count();
        total += bytes.len();
    }
    total > 0 && (nonzero as f64) < SPARSE_DENSITY_LIMIT * total as f64
}

/// One thread's buffers.
struct Workspace {
    table: [f32; 256],
    sparse: SparseRows,
    input: Vec<f32>,
    act: Vec<f32>,
    next: Vec<f32>,
    heads: Vec<f32>,
}

impl Default for Workspace {
    fn default() -> Self {
        Self {
            // As `bytes_to_unit` converts the dense path's bytes.
            table: std::array::from_fn(|b| b as f32 / 255.0),
            sparse: SparseRows::default(),
            input: Vec::new(),
            act: Vec::new(),
            next: Vec::new(),
            heads: Vec::new(),
        }
    }
}

/// y[n, out] = x[n, inp] W^T + b, on this thread.
fn dense_forward(l: &FlatLayer, x: &[f32], n: usize, y: &mut [f32]) {
    let weights = Weights {
        w: &l.w,
        b: &l.b,
        inp: l.inp,
        out: l.out,
        input_major: l.input_major,
    };
    dense::forward(weights, x, n, y, Parallelism::None);
}
