//! Products whose left side is mostly zeros: a batch of images times the first layer's weights
//! (forward), and the batch transposed times the layer's output gradient (weight gradient).
//! An MNIST digit has ~150 non-zero pixels of 784, so visiting only those does a fifth of a
//! dense product's arithmetic. The weights are kept input-major ([inputs, outputs]) so each
//! non-zero pixel adds one contiguous row.

use super::{Simd, multiversion};
use std::mem::MaybeUninit;

/// Entries past a row's own that the compress kernels may write (one register of 16).
const COMPRESS_SLACK: usize = 16;

/// Batches denser than this go through the dense product instead: past it, the dense kernel's
/// better use of registers wins over skipping zeros (measured on MNIST-like data: the sparse
/// kernels run at ~40% of the dense kernel's arithmetic rate).
pub const SPARSE_DENSITY_LIMIT: f64 = 0.3;

/// The non-zero entries of a row-major [n, d] matrix, by row and (after `index_columns`) by
/// column. Buffers are reused from batch to batch.
#[derive(Clone, Debug, Default)]
pub struct SparseRows {
    n: usize,
    d: usize,
    row_start: Vec<u32>,
    cols: Vec<u32>,
    vals: Vec<f32>,
    col_start: Vec<u32>,
    col_rows: Vec<u32>,
    col_vals: Vec<f32>,
}

impl SparseRows {
    /// Indexes the non-zeros of x[n, d] by row.
    pub fn fill(&mut self, x: &[f32], n: usize, d: usize) {
        assert!(
            x.len() >= n * d,
            "x holds {} values, not {n} x {d}",
            x.len()
        );
        assert!(n * d <= u32::MAX as usize, "batch too large to index");
        self.n = n;
        self.d = d;
        self.row_start.clear();
        self.cols.clear();
        self.vals.clear();
        self.row_start.push(0);
        for row in x[..n * d].chunks_exact(d) {
            self.push_row(row.len(), |cols, vals| compress_floats(row, cols, vals));
        }
        self.col_start.clear();
    }

    /// Indexes the non-zeros of images stored as bytes, each byte read as `table[byte]`
    /// (skips building the dense float batch when the images are sparse).
    pub fn fill_from_bytes<'a>(
        &mut self,
        images: impl Iterator<Item = &'a [u8]>,
        d: usize,
        table: &[f32; 256],
    ) {
        self.d = d;
        self.n = 0;
        self.row_start.clear();
        self.cols.clear();
        self.vals.clear();
        self.row_start.push(0);
        for image in images {
            assert_eq!(
                image.len(),
                d,
                "image of {} bytes, expected {d}",
                image.len()
            );
            self.push_row(d, |cols, vals| compress_bytes(image, table, cols, vals));
            self.n += 1;
        }
        assert!(self.n * d <= u32::MAX as usize, "batch too large to index");
        self.col_start.clear();
    }

    /// Appends one row's non-zeros, written by `compress` into spare room for `d` entries (plus
    /// a vector's slack: the SIMD kernels store whole registers), and closes the row.
    /// `compress` returns how many entries it wrote; they are the first ones of each buffer.
    fn push_row(
        &mut self,
        d: usize,
        compress: impl FnOnce(&mut [MaybeUninit<u32>], &mut [MaybeUninit<f32>]) -> usize,
    ) {
        let room = d + COMPRESS_SLACK;
        self.cols.reserve(room);
        self.vals.reserve(room);
        let at = self.cols.len();
        debug_assert_eq!(at, self.vals.len());
        let count = compress(
            &mut self.cols.spare_capacity_mut()[..room],
            &mut self.vals.spare_capacity_mut()[..room],
        );
        assert!(count <= d, "{count} non-zeros in a row of {d}");
        // SAFETY: `compress` initialised the first `count` spare entries of each (its
        // contract), and count <= room <= the spare capacity just reserved.
        unsafe {
            self.cols.set_len(at + count);
            self.vals.set_len(at + count);
        }
        self.row_start.push(self.cols.len() as u32);
    }

    /// Fraction of entries that are non-zero.
    pub fn density(&self) -> f64 {
        self.cols.len() as f64 / (self.n * self.d).max(1) as f64
    }

    pub fn rows(&self) -> usize {
        self.n
    }

    fn row(&self, r: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.row_start[r] as usize, self.row_start[r + 1] as usize);
        (&self.cols[a..b], &self.vals[a..b])
    }

    /// Builds the by-column index (a counting sort of the by-row one).
    pub fn index_columns(&mut self) {
        let d = self.d;
        self.col_start.clear();
        self.col_start.resize(d + 1, 0);
        for &c in &self.cols {
            self.col_start[c as usize + 1] += 1;
        }
        for c in 0..d {
            self.col_start[c + 1] += self.col_start[c];
        }
        let nnz = self.cols.len();
        self.col_rows.resize(nnz, 0);
        self.col_vals.resize(nnz, 0.0);
        let mut next: Vec<u32> = self.col_start[..d].to_vec();
        for r in 0..self.n {
            let (a, b) = (self.row_start[r] as usize, self.row_start[r + 1] as usize);
            for k in a..b {
                let c = self.cols[k] as usize;
                let at = next[c] as usize;
                self.col_rows[at] = r as u32;
                self.col_vals[at] = self.vals[k];
                next[c] += 1;
            }
        }
    }

    fn column(&self, c: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.col_start[c] as usize, self.col_start[c + 1] as usize);
        (&self.col_rows[a..b], &self.col_vals[a..b])
    }
}

/// Writes the non-zero entries of `row` (their columns and values) to the front of `cols` and
/// `vals`, which hold at least `row.len() + COMPRESS_SLACK` entries, and returns how many.
fn compress_floats(
    row: &[f32],
    cols: &mut [MaybeUninit<u32>],
    vals: &mut [MaybeUninit<f32>],
) -> usize {
    assert!(cols.len() >= row.len() + COMPRESS_SLACK && vals.len() >= row.len() + COMPRESS_SLACK);
    #[cfg(target_arch = "x86_64")]
    if Simd::detect() == Simd::Avx512 {
        // SAFETY: the CPU has AVX-512F; room as asserted.
        return unsafe { avx512::compress_floats(row, cols, vals) };
    }
    let mut k = 0;
    for (c, &v) in row.iter().enumerate() {
        // Written every time, kept only when non-zero: no branch to mispredict.
        cols[k].write(c as u32);
        vals[k].write(v);
        k += usize::from(v != 0.0);
    }
    k
}

/// As [`compress_floats`] for an image of bytes, each non-zero byte read as `table[byte]`.
fn compress_bytes(
    image: &[u8],
    table: &[f32; 256],
    cols: &mut [MaybeUninit<u32>],
    vals: &mut [MaybeUninit<f32>],
) -> usize {
    assert!(
        cols.len() >= image.len() + COMPRESS_SLACK && vals.len() >= image.len() + COMPRESS_SLACK
    );
    #[cfg(target_arch = "x86_64")]
    if Simd::detect() == Simd::Avx512 {
        // SAFETY: the CPU has AVX-512F; room as asserted.
        return unsafe { avx512::compress_bytes(image, table, cols, vals) };
    }
    let mut k = 0;
    for (c, &b) in image.iter().enumerate() {
        cols[k].write(c as u32);
        vals[k].write(table[b as usize]);
        k += usize::from(b != 0);
    }
    k
}

/// y[r, :] = bias + sum over the non-zeros (c, v) of row r of v * w[c, :], with w row-major
/// [d, out] and y row-major [n, out].
pub fn sparse_times_dense(x: &SparseRows, w: &[f32], out: usize, bias: &[f32], y: &mut [f32]) {
    assert!(w.len() >= x.d * out && y.len() >= x.n * out && bias.len() >= out);
    for (r, y_row) in y[..x.n * out].chunks_exact_mut(out).enumerate() {
        let (idx, vals) = x.row(r);
        gather_accumulate(idx, vals, w, out, Some(&bias[..out]), y_row);
    }
}

/// g[c, :] = sum over the non-zeros (r, v) of column c of v * dy[r, :], with dy row-major
/// [n, out] and g row-major [d, out] (the weight gradient, input-major). Needs
/// [`SparseRows::index_columns`] first.
pub fn sparse_transpose_times_dense(x: &SparseRows, dy: &[f32], out: usize, g: &mut [f32]) {
    assert_eq!(x.col_start.len(), x.d + 1, "index_columns was not called");
    assert!(dy.len() >= x.n * out && g.len() >= x.d * out);
    for (c, g_row) in g[..x.d * out].chunks_exact_mut(out).enumerate() {
        let (idx, vals) = x.column(c);
        gather_accumulate(idx, vals, dy, out, None, g_row);
    }
}

/// dst = init (or 0) + sum_k vals[k] * src[idx[k] * stride .. + dst.len()].
/// Callers guarantee every idx[k] * stride + dst.len() <= src.len().
fn gather_accumulate(
    idx: &[u32],
    vals: &[f32],
    src: &[f32],
    stride: usize,
    init: Option<&[f32]>,
    dst: &mut [f32],
) {
    debug_assert!(
        idx.iter()
            .all(|&i| i as usize * stride + dst.len() <= src.len())
    );
    #[cfg(target_arch = "x86_64")]
    if Simd::detect() == Simd::Avx512 {
        // SAFETY: the CPU has AVX-512F; bounds as promised by the callers (their asserts).
        unsafe { avx512::gather_accumulate(idx, vals, src, stride, init, dst) };
        return;
    }
    gather_accumulate_vectorised(idx, vals, src, stride, init, dst);
}

#[inline(always)]
fn gather_accumulate_body(
    idx: &[u32],
    vals: &[f32],
    src: &[f32],
    stride: usize,
    init: Option<&[f32]>,
    dst: &mut [f32],
) {
    match init {
        Some(b) => dst.copy_from_slice(&b[..dst.len()]),
        None => dst.fill(0.0),
    }
    let w = dst.len();
    for (&i, &v) in idx.iter().zip(vals) {
        let row = &src[i as usize * stride..i as usize * stride + w];
        for (d, s) in dst.iter_mut().zip(row) {
            *d += v * s;
        }
    }
}

multiversion! {
    fn gather_accumulate_vectorised(
        idx: &[u32],
        vals: &[f32],
        src: &[f32],
        stride: usize,
        init: Option<&[f32]>,
        dst: &mut [f32],
    ) => gather_accumulate_body
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;
    use std::mem::MaybeUninit;

    /// Columns of `dst` are done in blocks of up to 16 registers of 16 floats that stay in
    /// registers while every source row is added, so each non-zero costs one load and one
    /// fused multiply-add per register, with no stores until the block is done.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn gather_accumulate(
        idx: &[u32],
        vals: &[f32],
        src: &[f32],
        stride: usize,
        init: Option<&[f32]>,
        dst: &mut [f32],
    ) {
        let w = dst.len();
        let mut j = 0;
        // SAFETY: (all calls) j + the block's width <= w, and the caller's bounds.
        unsafe {
            while j + 256 <= w {
                block::<16>(idx, vals, src, stride, init, dst, j);
                j += 256;
            }
            if j + 128 <= w {
                block::<8>(idx, vals, src, stride, init, dst, j);
                j += 128;
            }
            if j + 64 <= w {
                block::<4>(idx, vals, src, stride, init, dst, j);
                j += 64;
            }
            if j + 32 <= w {
                block::<2>(idx, vals, src, stride, init, dst, j);
                j += 32;
            }
            if j + 16 <= w {
                block::<1>(idx, vals, src, stride, init, dst, j);
                j += 16;
            }
            if j < w {
                tail(idx, vals, src, stride, init, dst, j);
            }
        }
    }

    #[inline(always)]
    unsafe fn block<const V: usize>(
        idx: &[u32],
        vals: &[f32],
        src: &[f32],
        stride: usize,
        init: Option<&[f32]>,
        dst: &mut [f32],
        j: usize,
    ) {
        // SAFETY: `gather_accumulate` keeps j + 16 * V <= dst.len(), and every row it names
        // within src (the caller's bounds).
        unsafe {
            let mut acc = [_mm512_setzero_ps(); V];
            if let Some(b) = init {
                for (v, a) in acc.iter_mut().enumerate() {
                    *a = _mm512_loadu_ps(b.as_ptr().add(j + 16 * v));
                }
            }
            let base = src.as_ptr().add(j);
            for (&i, &x) in idx.iter().zip(vals) {
                let xv = _mm512_set1_ps(x);
                let row = base.add(i as usize * stride);
                for (v, a) in acc.iter_mut().enumerate() {
                    *a = _mm512_fmadd_ps(xv, _mm512_loadu_ps(row.add(16 * v)), *a);
                }
            }
            for (v, a) in acc.iter().enumerate() {
                _mm512_storeu_ps(dst.as_mut_ptr().add(j + 16 * v), *a);
            }
        }
    }

    /// The non-zero entries of a row of floats (see [`compress_with`]).
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn compress_floats(
        row: &[f32],
        cols: &mut [MaybeUninit<u32>],
        vals: &mut [MaybeUninit<f32>],
    ) -> usize {
        // SAFETY: loads stay within row (c + 16 <= row.len()); room is the caller's.
        unsafe {
            compress_with(
                row.len(),
                cols,
                vals,
                |c| {
                    let v = _mm512_loadu_ps(row.as_ptr().add(c));
                    (_mm512_cmp_ps_mask::<_CMP_NEQ_UQ>(v, _mm512_setzero_ps()), v)
                },
                |c| (row[c] != 0.0, row[c]),
            )
        }
    }

    /// The non-zero entries of an image of bytes, each one read as `table[byte]` (a gather
    /// through the table, only for registers with a non-zero byte).
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn compress_bytes(
        image: &[u8],
        table: &[f32; 256],
        cols: &mut [MaybeUninit<u32>],
        vals: &mut [MaybeUninit<f32>],
    ) -> usize {
        // SAFETY: loads stay within image; the gathered offsets are bytes, < 256 =
        // table.len(); room is the caller's.
        unsafe {
            compress_with(
                image.len(),
                cols,
                vals,
                |c| {
                    let v = _mm512_cvtepu8_epi32(_mm_loadu_si128(image.as_ptr().add(c).cast()));
                    let m = _mm512_test_epi32_mask(v, v);
                    let looked_up = if m == 0 {
                        _mm512_setzero_ps()
                    } else {
                        _mm512_i32gather_ps::<4>(v, table.as_ptr())
                    };
                    (m, looked_up)
                },
                |c| (image[c] != 0, table[image[c] as usize]),
            )
        }
    }

    /// Sixteen entries at a time: `load(c)` gives entries c..c + 16's non-zero mask and
    /// values; the non-zero lanes' column numbers and values are packed to the front of a
    /// register (`vpcompressd` in its register form: the memory form is slow on AMD's Zen 4)
    /// and the whole register stored; the next store starts where they end. The last
    /// (< 16) entries go through `scalar(c)`.
    #[inline(always)]
    unsafe fn compress_with(
        d: usize,
        cols: &mut [MaybeUninit<u32>],
        vals: &mut [MaybeUninit<f32>],
        load: impl Fn(usize) -> (__mmask16, __m512),
        scalar: impl Fn(usize) -> (bool, f32),
    ) -> usize {
        let (cp, vp) = (
            cols.as_mut_ptr().cast::<u32>(),
            vals.as_mut_ptr().cast::<f32>(),
        );
        let mut k = 0;
        let mut c = 0;
        // SAFETY: stores write 16 entries at k <= c < d, and the caller gives d + 16 of room.
        unsafe {
            let iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            while c + 16 <= d {
                let (m, v) = load(c);
                if m != 0 {
                    let idx = _mm512_add_epi32(iota, _mm512_set1_epi32(c as i32));
                    _mm512_storeu_si512(cp.add(k).cast(), _mm512_maskz_compress_epi32(m, idx));
                    _mm512_storeu_ps(vp.add(k), _mm512_maskz_compress_ps(m, v));
                    k += m.count_ones() as usize;
                }
                c += 16;
            }
            for c in c..d {
                let (non_zero, v) = scalar(c);
                *cp.add(k) = c as u32;
                *vp.add(k) = v;
                k += usize::from(non_zero);
            }
        }
        k
    }

    /// The last (< 16) columns, through masked loads and stores.
    #[inline(always)]
    unsafe fn tail(
        idx: &[u32],
        vals: &[f32],
        src: &[f32],
        stride: usize,
        init: Option<&[f32]>,
        dst: &mut [f32],
        j: usize,
    ) {
        let mask: __mmask16 = (1u32 << (dst.len() - j)) as u16 - 1;
        // SAFETY: the mask covers only the dst.len() - j < 16 columns left; the rows are the
        // caller's bounds.
        unsafe {
            let mut acc = match init {
                Some(b) => _mm512_maskz_loadu_ps(mask, b.as_ptr().add(j)),
                None => _mm512_setzero_ps(),
            };
            let base = src.as_ptr().add(j);
            for (&i, &x) in idx.iter().zip(vals) {
                let row = _mm512_maskz_loadu_ps(mask, base.add(i as usize * stride));
                acc = _mm512_fmadd_ps(_mm512_set1_ps(x), row, acc);
            }
            _mm512_mask_storeu_ps(dst.as_mut_ptr().add(j), mask, acc);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dense_reference(x: &[f32], n: usize, d: usize, w: &[f32], out: usize) -> Vec<f32> {
        let mut y = vec![0f32; n * out];
        for r in 0..n {
            for c in 0..d {
                for j in 0..out {
                    y[r * out + j] += x[r * d + c] * w[c * out + j];
                }
            }
        }
        y
    }

    #[test]
    fn bytes_and_floats_index_the_same_non_zeros_as_a_plain_scan() {
        // Row lengths below, at and past a register of 16, with runs of zeros and a table
        // that is not the identity.
        let table: [f32; 256] = std::array::from_fn(|b| b as f32 * 0.5 + 0.25);
        for &d in &[1usize, 15, 16, 17, 33, 784] {
            let images: Vec<Vec<u8>> = (0..4)
                .map(|r| {
                    (0..d)
                        .map(|c| {
                            if (c * 7 + r) % 5 < 2 {
                                ((c + r) % 255) as u8 + 1
                            } else {
                                0
                            }
                        })
                        .collect()
                })
                .collect();
            let mut from_bytes = SparseRows::default();
            from_bytes.fill_from_bytes(images.iter().map(Vec::as_slice), d, &table);
            let floats: Vec<f32> = images
                .iter()
                .flatten()
                .map(|&b| if b == 0 { 0.0 } else { table[b as usize] })
                .collect();
            let mut from_floats = SparseRows::default();
            from_floats.fill(&floats, images.len(), d);
            for (r, image) in images.iter().enumerate() {
                let want: Vec<(u32, f32)> = image
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| **b != 0)
                    .map(|(c, &b)| (c as u32, table[b as usize]))
                    .collect();
                for got in [from_bytes.row(r), from_floats.row(r)] {
                    let got: Vec<(u32, f32)> =
                        got.0.iter().copied().zip(got.1.iter().copied()).collect();
                    assert_eq!(got, want, "row {r} of width {d}");
                }
            }
            assert_eq!(from_bytes.rows(), images.len());
        }
    }

    #[test]
    fn sparse_products_match_dense_ones() {
        // Widths that exercise every block size and the masked tail.
        for &(n, d, out) in &[(5, 37, 400), (3, 20, 7), (4, 9, 150), (2, 11, 16)] {
            let x: Vec<f32> = (0..n * d)
                .map(|i| {
                    if i % 3 == 0 {
                        (i % 11) as f32 / 10.0
                    } else {
                        0.0
                    }
                })
                .collect();
            let w: Vec<f32> = (0..d * out).map(|i| ((i * 13) % 17) as f32 - 8.0).collect();
            let bias: Vec<f32> = (0..out).map(|j| j as f32 * 0.5).collect();
            let mut sparse = SparseRows::default();
            sparse.fill(&x, n, d);
            let mut y = vec![f32::NAN; n * out];
            sparse_times_dense(&sparse, &w, out, &bias, &mut y);
            let want = dense_reference(&x, n, d, &w, out);
            for (k, (a, b)) in y.iter().zip(&want).enumerate() {
                assert!((a - b - bias[k % out]).abs() < 1e-3, "y[{k}] {a} vs {b}");
            }
            // g = x^T dy, against the dense formula.
            let dy: Vec<f32> = (0..n * out).map(|i| ((i * 7) % 5) as f32 - 2.0).collect();
            sparse.index_columns();
            let mut g = vec![f32::NAN; d * out];
            sparse_transpose_times_dense(&sparse, &dy, out, &mut g);
            let mut xt = vec![0f32; d * n];
            for r in 0..n {
                for c in 0..d {
                    xt[c * n + r] = x[r * d + c];
                }
            }
            let want = dense_reference(&xt, d, n, &dy, out);
            for (k, (a, b)) in g.iter().zip(&want).enumerate() {
                assert!((a - b).abs() < 1e-3, "g[{k}] {a} vs {b}");
            }
        }
    }
}
