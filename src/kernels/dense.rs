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

/// dst[m, n] (+)= op(a)[m, k] op(b)[k, n], all row-major; `a_t`: a is stored [k, m]; `b_t`:
/// b is stored [n, k]. `accumulate` adds to what dst holds instead of overwriting it.
#[allow(clippy::too_many_arguments)]
pub fn product(
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    accumulate: bool,
    a: &[f32],
    a_t: bool,
    b: &[f32],
    b_t: bool,
    par: Parallelism,
) {
    // The product below addresses exactly these extents: checked in release builds too.
    assert!(
        dst.len() >= m * n && a.len() >= m * k && b.len() >= k * n,
        "product buffers smaller than the product reads"
    );
    let (a_cs, a_rs) = if a_t { (m, 1) } else { (1, k) };
    let (b_cs, b_rs) = if b_t { (k, 1) } else { (1, n) };
    // SAFETY: the assert above; each matrix is addressed within its m*k, k*n, m*n values by
    // the row-major (or transposed row-major) strides computed here.
    unsafe {
        gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}
