//! The two data movements of a 4x4, stride-2, padding-1 convolution on channels-last
//! (N x H x W x C) grids, for the fused conv trainer (`train::fused_conv`):
//!
//! - [`im2col_s2`] gathers, for every output pixel of the halved grid, its 4x4 input patch into
//!   one row of (ky, kx, c) values (zeros outside the grid). The forward convolution is then
//!   one product with the kernel; the same gather of an output gradient is the backward pass
//!   of a transposed convolution.
//! - [`col2im_s2`] is its adjoint: every patch row is added back onto the grid. It is the input
//!   gradient of a convolution, and the forward pass of a transposed convolution (each input
//!   pixel's 4x4 contribution added to the doubled grid).
//!
//! Pixel (oy, ox) of the halved grid reads rows 2*oy + ky - 1 and columns 2*ox + kx - 1 of the
//! full grid, ky, kx in 0..4. Channels are the innermost, contiguous run, so both loops move
//! runs of C values (the compiler vectorises the adds).

use super::multiversion;

/// Kernel side.
pub const K: usize = 4;

// The runs moved here are 4 * C values (C channels). Written as loops of run-time length,
// the compiler turns each into a `memcpy` call, which for the first layer's runs of 4 values
// (16 bytes) costs several times the copy. The bodies are therefore instantiated for the
// common channel counts, where a run's length is a constant: short runs are copied inline
// with vector moves. (Runs of 512 bytes and more stay `memcpy` calls; an inline copy striding
// across pixels instead was measured no faster on an Intel Xeon: those copies are bound by
// the stores.) With the ReLU masks made branch-free, conv training on that Xeon went from
// about 2,000 to 2,300-2,600 samples/s on one thread.

#[inline(always)]
fn copy_run(dst: &mut [f32], src: &[f32]) {
    dst.copy_from_slice(src);
}

#[inline(always)]
fn add_run(dst: &mut [f32], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += *s;
    }
}

/// Runs `$body::<C>` with C the channel count when it is one of the common ones (so that
/// `c` is a constant inside), and `$body::<0>` (run-time `c`) otherwise.
macro_rules! by_channels {
    ($body:ident, $c:expr, $($arg:expr),*) => {
        match $c {
            1 => $body::<1>($($arg),*),
            3 => $body::<3>($($arg),*),
            16 => $body::<16>($($arg),*),
            32 => $body::<32>($($arg),*),
            64 => $body::<64>($($arg),*),
            128 => $body::<128>($($arg),*),
            _ => $body::<0>($($arg),*),
        }
    };
}

// Both loops go through a copy of one image row with C zeros on each side ("padded row"):
// there, the four kernel columns of output column ox are one run of 4C values starting at
// column 2*ox, the same for every ox, with no edge cases.

#[inline(always)]
fn im2col_body(x: &[f32], n: usize, h: usize, w: usize, c: usize, cols: &mut [f32]) {
    by_channels!(im2col_channels, c, x, n, h, w, c, cols)
}

/// [`im2col_body`] with `c == C` when C > 0.
#[inline(always)]
fn im2col_channels<const C: usize>(
    x: &[f32],
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    cols: &mut [f32],
) {
    let c = if C > 0 { C } else { c };
    let (ho, wo) = (h / 2, w / 2);
    let row = K * K * c;
    assert!(h.is_multiple_of(2) && w.is_multiple_of(2) && x.len() >= n * h * w * c);
    assert!(cols.len() >= n * ho * wo * row);
    let mut padded = vec![0f32; (w + 2) * c];
    for b in 0..n {
        let image = &x[b * h * w * c..(b + 1) * h * w * c];
        let out = &mut cols[b * ho * wo * row..(b + 1) * ho * wo * row];
        for iy_padded in 0..h + 2 {
            // Padded row iy_padded is image row iy_padded - 1; it feeds output rows oy with
            // 2*oy + ky = iy_padded.
            let inside = (1..=h).contains(&iy_padded);
            if inside {
                let iy = iy_padded - 1;
                copy_run(
                    &mut padded[c..(w + 1) * c],
                    &image[iy * w * c..(iy + 1) * w * c],
                );
            }
            for ky in 0..K {
                if iy_padded < ky || (iy_padded - ky) % 2 != 0 || (iy_padded - ky) / 2 >= ho {
                    continue;
                }
                let oy = (iy_padded - ky) / 2;
                let first = (oy * wo) * row + ky * K * c;
                for ox in 0..wo {
                    let dst = &mut out[first + ox * row..][..K * c];
                    if inside {
                        copy_run(dst, &padded[2 * ox * c..(2 * ox + K) * c]);
                    } else {
                        dst.fill(0.0);
                    }
                }
            }
        }
    }
}

#[inline(always)]
fn col2im_body(
    cols: &[f32],
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    bias: Option<&[f32]>,
    x: &mut [f32],
) {
    by_channels!(col2im_channels, c, cols, n, h, w, c, bias, x)
}

/// [`col2im_body`] with `c == C` when C > 0.
#[inline(always)]
fn col2im_channels<const C: usize>(
    cols: &[f32],
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    bias: Option<&[f32]>,
    x: &mut [f32],
) {
    let c = if C > 0 { C } else { c };
    let (ho, wo) = (h / 2, w / 2);
    let row = K * K * c;
    assert!(h.is_multiple_of(2) && w.is_multiple_of(2) && x.len() >= n * h * w * c);
    assert!(cols.len() >= n * ho * wo * row);
    assert!(bias.is_none_or(|b| b.len() >= c));
    let mut padded = vec![0f32; (w + 2) * c];
    for b in 0..n {
        let image = &mut x[b * h * w * c..(b + 1) * h * w * c];
        let patches = &cols[b * ho * wo * row..(b + 1) * ho * wo * row];
        for iy in 0..h {
            // Image row iy is padded row iy + 1 = 2*oy + ky: two (oy, ky) pairs feed it.
            // The sums start from the bias: no pass over the layer's output to add it after.
            match bias {
                Some(b) => padded
                    .chunks_exact_mut(c)
                    .for_each(|px| px.copy_from_slice(&b[..c])),
                None => padded.fill(0.0),
            }
            let iy_padded = iy + 1;
            for ky in 0..K {
                if iy_padded < ky || (iy_padded - ky) % 2 != 0 || (iy_padded - ky) / 2 >= ho {
                    continue;
                }
                let oy = (iy_padded - ky) / 2;
                for ox in 0..wo {
                    let src = &patches[(oy * wo + ox) * row + ky * K * c..][..K * c];
                    add_run(&mut padded[2 * ox * c..(2 * ox + K) * c], src);
                }
            }
            copy_run(
                &mut image[iy * w * c..(iy + 1) * w * c],
                &padded[c..(w + 1) * c],
            );
        }
    }
}

multiversion! {
    /// cols[n*(h/2)*(w/2), 16*c] = the 4x4 patches (ky, kx, c order) of x[n, h, w, c] around
    /// each pixel of the halved grid (stride 2, padding 1; zeros outside). h and w are even.
    pub fn im2col_s2(x: &[f32], n: usize, h: usize, w: usize, c: usize, cols: &mut [f32])
        => im2col_body
}

multiversion! {
    /// x[n, h, w, c] = `bias` (or 0) + the sum of every patch row of cols[n*(h/2)*(w/2), 16*c]
    /// added back at the pixels it was gathered from (the adjoint of [`im2col_s2`]; x is
    /// overwritten).
    pub fn col2im_s2(
        cols: &[f32],
        n: usize,
        h: usize,
        w: usize,
        c: usize,
        bias: Option<&[f32]>,
        x: &mut [f32],
    ) => col2im_body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len as u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761) ^ seed) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }

    /// The gather against its definition, pixel by pixel.
    #[test]
    fn im2col_gathers_each_patch_with_zero_padding() {
        let (n, h, w, c) = (2, 6, 8, 3);
        let x = values(n * h * w * c, 1);
        let mut cols = vec![f32::NAN; n * (h / 2) * (w / 2) * 16 * c];
        im2col_s2(&x, n, h, w, c, &mut cols);
        for b in 0..n {
            for oy in 0..h / 2 {
                for ox in 0..w / 2 {
                    for ky in 0..4 {
                        for kx in 0..4 {
                            for ch in 0..c {
                                let (iy, ix) = (2 * oy as isize + ky - 1, 2 * ox as isize + kx - 1);
                                let want = if (0..h as isize).contains(&iy)
                                    && (0..w as isize).contains(&ix)
                                {
                                    x[((b * h + iy as usize) * w + ix as usize) * c + ch]
                                } else {
                                    0.0
                                };
                                let r = (b * (h / 2) + oy) * (w / 2) + ox;
                                let got = cols[r * 16 * c + ((ky * 4 + kx) as usize) * c + ch];
                                assert_eq!(got, want);
                            }
                        }
                    }
                }
            }
        }
    }

    /// col2im is the adjoint of im2col: <im2col(x), y> = <x, col2im(y)> for any x, y.
    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        for (n, h, w, c) in [(1, 2, 2, 1), (2, 4, 6, 5), (3, 8, 8, 16)] {
            let x = values(n * h * w * c, 2);
            let y = values(n * (h / 2) * (w / 2) * 16 * c, 3);
            let mut cols = vec![0.0; y.len()];
            im2col_s2(&x, n, h, w, c, &mut cols);
            let mut back = vec![f32::NAN; x.len()];
            col2im_s2(&y, n, h, w, c, None, &mut back);
            let left: f64 = cols.iter().zip(&y).map(|(a, b)| (a * b) as f64).sum();
            let right: f64 = x.iter().zip(&back).map(|(a, b)| (a * b) as f64).sum();
            assert!(
                (left - right).abs() < 1e-3 * left.abs().max(1.0),
                "{left} vs {right}"
            );
            // With a bias, every pixel's channels start from it instead of zero.
            let bias: Vec<f32> = (0..c).map(|k| k as f32 - 0.5).collect();
            let mut with_bias = vec![f32::NAN; x.len()];
            col2im_s2(&y, n, h, w, c, Some(&bias), &mut with_bias);
            for (k, (&a, &b)) in with_bias.iter().zip(&back).enumerate() {
                assert!((a - b - bias[k % c]).abs() < 1e-5, "value {k}: {a} vs {b}");
            }
        }
    }
}
