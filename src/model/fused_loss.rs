//! Binary cross-entropy with logits, summed over each row, as one fused candle op.
//!
//! Written with candle's basic ops the stable form max(l, 0) - l x + log(1 + exp(-|l|)) and its
//! gradient take about a dozen passes over a [batch, pixels] tensor, each allocating a fresh
//! buffer; on the CPU those passes cost more than the network's matrix products. This op makes
//! one pass forward (straight to the per-sample sums) and one backward.

use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Result, Shape, Tensor, bail};
use rayon::prelude::*;

/// Rows per parallel task: small batches stay on one thread.
const ROWS_PER_TASK: usize = 16;

fn contiguous_f32<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
    let CpuStorage::F32(v) = s else {
        bail!("{what} must be f32")
    };
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => bail!("{what} must be contiguous"),
    }
}

fn rows_cols(l: &Layout, what: &str) -> Result<(usize, usize)> {
    match l.dims() {
        [r, c] => Ok((*r, *c)),
        d => bail!("{what} must be [batch, pixels], got {d:?}"),
    }
}

#[inline]
fn bce(l: f32, t: f32) -> f32 {
    l.max(0.0) - l * t + (-l.abs()).exp().ln_1p()
}

#[inline]
fn sigmoid(l: f32) -> f32 {
    if l >= 0.0 {
        1.0 / (1.0 + (-l).exp())
    } else {
        let e = l.exp();
        e / (1.0 + e)
    }
}

struct BceRows;

impl CustomOp2 for BceRows {
    fn name(&self) -> &'static str {
        "bce-with-logits-rows"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (rows, cols) = rows_cols(l1, "logits")?;
        if l2.dims() != l1.dims() {
            bail!(
                "targets {:?} do not match logits {:?}",
                l2.dims(),
                l1.dims()
            );
        }
        let logits = contiguous_f32(s1, l1, "logits")?;
        let targets = contiguous_f32(s2, l2, "targets")?;
        let mut out = vec![0f32; rows];
        out.par_chunks_mut(ROWS_PER_TASK)
            .enumerate()
            .for_each(|(task, sums)| {
                for (k, sum) in sums.iter_mut().enumerate() {
                    let r = task * ROWS_PER_TASK + k;
                    let (l, t) = (
                        &logits[r * cols..(r + 1) * cols],
                        &targets[r * cols..(r + 1) * cols],
                    );
                    *sum = l.iter().zip(t).map(|(&l, &t)| bce(l, t)).sum();
                }
            });
        Ok((CpuStorage::F32(out), Shape::from(rows)))
    }

    fn bwd(
        &self,
        logits: &Tensor,
        targets: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = logits.apply_op3_no_bwd(targets, &grad_res.contiguous()?, &BceRowsGrad)?;
        // The targets are data, not parameters: no gradient flows to them.
        Ok((Some(grad), None))
    }
}

/// d/dl of the row sums, times the incoming gradient of each row: (sigmoid(l) - t) g_row.
struct BceRowsGrad;

impl CustomOp3 for BceRowsGrad {
    fn name(&self) -> &'static str {
        "bce-with-logits-rows-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (rows, cols) = rows_cols(l1, "logits")?;
        let logits = contiguous_f32(s1, l1, "logits")?;
        let targets = contiguous_f32(s2, l2, "targets")?;
        let g = contiguous_f32(s3, l3, "row gradients")?;
        if targets.len() != logits.len() || g.len() != rows {
            bail!("bce gradient: mismatched sizes");
        }
        let mut out = vec![0f32; rows * cols];
        out.par_chunks_mut(ROWS_PER_TASK * cols)
            .enumerate()
            .for_each(|(task, block)| {
                for (k, row) in block.chunks_mut(cols).enumerate() {
                    let r = task * ROWS_PER_TASK + k;
                    let (l, t) = (
                        &logits[r * cols..(r + 1) * cols],
                        &targets[r * cols..(r + 1) * cols],
                    );
                    let gr = g[r];
                    for ((o, &l), &t) in row.iter_mut().zip(l).zip(t) {
                        *o = (sigmoid(l) - t) * gr;
                    }
                }
            });
        Ok((CpuStorage::F32(out), Shape::from((rows, cols))))
    }
}

/// Per-row sum of the numerically stable binary cross-entropy between `logits` and `targets`
/// ([batch, pixels] each) -> [batch], with a fused backward pass to the logits.
pub fn bce_with_logits_rows(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    if !logits.device().is_cpu() {
        // The fused op has only a CPU kernel; on a GPU candle's own ops (and autograd) do it.
        return bce_with_logits_rows_unfused(logits, targets);
    }
    logits
        .contiguous()?
        .apply_op2(&targets.contiguous()?, BceRows)
}

/// The same sums from candle's basic ops, for devices without the fused kernel.
fn bce_with_logits_rows_unfused(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let softplus_neg_abs = (logits.abs()?.neg()?.exp()? + 1.0)?.log()?;
    ((logits.relu()? - (logits * targets)?)? + softplus_neg_abs)?.sum(1)
}
