//! The conv VAE's two convolutions (4x4, stride 2, padding 1, and its transpose) written as
//! one matrix product each plus reshapes, on N x H x W x C tensors. candle's CPU convolutions
//! (and the transposed convolutions its autograd uses for their gradients) are direct loops;
//! these build only from ops whose gradients candle already has (pad, narrow, stack, reshape,
//! matmul), so autograd differentiates them, and the arithmetic runs in the gemm kernels.
//! Tests check both against candle's `conv2d` / `conv_transpose2d`.
//!
//! The trick for stride 2: a padded side of even length 2(S + 1) reshaped to (S + 1, 2) puts
//! input row 2*y + k at block y + k/2, parity k%2, so every kernel offset is a plain slice.

use candle_core::{Result, Tensor};

const K: usize = 4;

/// y = conv2d(x, w, stride 2, padding 1) + b, with x [N, H, W, Cin] (H, W even),
/// w [Cout, Cin, 4, 4] (PyTorch's layout), b [Cout]; y [N, H/2, W/2, Cout].
pub fn conv_down(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (n, h, wd, c_in) = x.dims4()?;
    let c_out = w.dim(0)?;
    let (ho, wo) = (h / 2, wd / 2);
    let padded = x.pad_with_zeros(1, 1, 1)?.pad_with_zeros(2, 1, 1)?;
    let blocks = padded.reshape((n, ho + 1, 2, wo + 1, 2, c_in))?;
    let mut taps = Vec::with_capacity(K * K);
    for ky in 0..K {
        let rows = blocks.narrow(1, ky / 2, ho)?.narrow(2, ky % 2, 1)?;
        for kx in 0..K {
            let tap = rows.narrow(3, kx / 2, wo)?.narrow(4, kx % 2, 1)?;
            taps.push(tap.reshape((n, ho, wo, c_in))?);
        }
    }
    // [N*Ho*Wo, (ky, kx, cin)] times the kernel laid out the same way.
    let cols = Tensor::stack(&taps, 3)?.reshape((n * ho * wo, K * K * c_in))?;
    let kernel = w
        .permute((0, 2, 3, 1))?
        .reshape((c_out, K * K * c_in))?
        .t()?;
    cols.matmul(&kernel)?
        .broadcast_add(b)?
        .reshape((n, ho, wo, c_out))
}

/// y = conv_transpose2d(x, w, stride 2, padding 1) + b, with x [N, H, W, Cin],
/// w [Cin, Cout, 4, 4] (PyTorch's layout), b [Cout]; y [N, 2H, 2W, Cout].
pub fn conv_up(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (n, h, wd, c_in) = x.dims4()?;
    let c_out = w.dim(1)?;
    // Each input pixel's contribution to the 4x4 output patch it touches.
    let kernel = w.permute((0, 2, 3, 1))?.reshape((c_in, K * K * c_out))?;
    let patches = x
        .reshape((n * h * wd, c_in))?
        .matmul(&kernel)?
        .reshape((n, h, wd, K, K, c_out))?;
    // Output row 2*y + ky - 1 sits, in the output padded by 1, at block y + ky/2, parity ky%2:
    // sum the four kernel offsets of each parity into its (H+1) x (W+1) block grid.
    let tap = |ky: usize, kx: usize| -> Result<Tensor> {
        patches
            .narrow(3, ky, 1)?
            .narrow(4, kx, 1)?
            .reshape((n, h, wd, c_out))?
            .pad_with_zeros(1, ky / 2, 1 - ky / 2)?
            .pad_with_zeros(2, kx / 2, 1 - kx / 2)
    };
    let mut by_parity = Vec::with_capacity(2);
    for py in 0..2 {
        let mut row = Vec::with_capacity(2);
        for px in 0..2 {
            let sum =
                (((tap(py, px)? + tap(py, px + 2)?)? + tap(py + 2, px)?)? + tap(py + 2, px + 2)?)?;
            row.push(sum);
        }
        // [N, H+1, W+1, 2 (px), Cout]
        by_parity.push(Tensor::stack(&row, 3)?);
    }
    // [N, H+1, 2 (py), W+1, 2 (px), Cout] -> the padded output, then drop the padding.
    let full = Tensor::stack(&by_parity, 2)?.reshape((n, 2 * h + 2, 2 * wd + 2, c_out))?;
    full.narrow(1, 1, 2 * h)?
        .narrow(2, 1, 2 * wd)?
        .broadcast_add(&b.reshape((1, 1, 1, c_out))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn random(shape: &[usize], seed: u64) -> Tensor {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n)
            .map(|i| ((i as u64 * 2654435761 + seed * 97) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    /// The two outputs agree, and so do the gradients of a weighted sum of them with respect
    /// to each of `vars`.
    fn assert_same(ours: &Tensor, theirs: &Tensor, vars: &[&Var], seed: u64) {
        assert!(max_diff(ours, theirs) < 1e-4);
        let weights = random(ours.dims(), seed);
        let grads = |t: &Tensor| {
            (t * &weights)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap()
        };
        let (g1, g2) = (grads(ours), grads(theirs));
        for v in vars {
            assert!(max_diff(g1.get(v).unwrap(), g2.get(v).unwrap()) < 1e-3);
        }
    }

    /// Values and gradients (input, kernel, bias) agree with candle's own convolutions.
    #[test]
    fn products_match_candle_convolutions_forward_and_backward() {
        let (n, h, w, c_in, c_out) = (3, 6, 10, 5, 7);
        let x = Var::from_tensor(&random(&[n, h, w, c_in], 1)).unwrap();
        let k = Var::from_tensor(&random(&[c_out, c_in, 4, 4], 2)).unwrap();
        let b = Var::from_tensor(&random(&[c_out], 3)).unwrap();
        let ours = conv_down(&x, &k, &b).unwrap();
        let nchw = x.permute((0, 3, 1, 2)).unwrap();
        let theirs = nchw
            .conv2d(&k, 1, 2, 1, 1)
            .unwrap()
            .broadcast_add(&b.reshape((1, c_out, 1, 1)).unwrap())
            .unwrap()
            .permute((0, 2, 3, 1))
            .unwrap();
        assert_same(&ours, &theirs, &[&x, &k, &b], 4);

        let x = Var::from_tensor(&random(&[n, h, w, c_in], 5)).unwrap();
        let k = Var::from_tensor(&random(&[c_in, c_out, 4, 4], 6)).unwrap();
        let ours = conv_up(&x, &k, &b).unwrap();
        let theirs = x
            .permute((0, 3, 1, 2))
            .unwrap()
            .conv_transpose2d(&k, 1, 0, 2, 1)
            .unwrap()
            .broadcast_add(&b.reshape((1, c_out, 1, 1)).unwrap())
            .unwrap()
            .permute((0, 2, 3, 1))
            .unwrap();
        assert_eq!(ours.dims(), [n, 2 * h, 2 * w, c_out]);
        assert_same(&ours, &theirs, &[&x, &k, &b], 7);
    }
}
