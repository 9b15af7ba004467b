//! The dense layer product both the trainer and the dataset encoder use, through `gemm`.

use gemm::{Parallelism, gemm};

/// A layer's weights: [out, inp] as candle and PyTorch store them, or [inp, out]
/// (`input_major`, the layout the sparse kernels want for a first layer).
#[derive(Clone, Copy)]
pub struct Weights<'a> {
    pub w: &'a [f32],
    pub b: &'a [f32],
    pub inp: usize,
    pub out: usize,
    pub input_major: bool,
}

impl Weights<'_> {
    /// gemm's (column, row) strides for reading W as the right-hand side [inp, out] of x W^T.
    pub fn as_rhs_strides(&self) -> (isize, isize) {
        if self.input_major {
            (1, self.out as isize)
        } else {
            (self.inp as isize, 1)
        }
    }
}

/// y[n, out] = x[n, inp] W^T + b.
pub fn forward(l: Weights, x: &[f32], n: usize, y: &mut [f32], par: Parallelism) {
    assert!(
        x.len() >= n * l.inp
            && y.len() >= n * l.out
            && l.w.len() >= l.inp * l.out
            && l.b.len() >= l.out
    );
    for row in y[..n * l.out].chunks_exact_mut(l.out) {
        row.copy_from_slice(&l.b[..l.out]);
    }
    let (w_cs, w_rs) = l.as_rhs_strides();
    // SAFETY: the assert above: x is n x inp and y n x out, row-major; W holds inp * out
    // values addressed by the strides of its layout.
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
            par,
        );
    }
}
