//! Data movement that feeds the arrays: im2col (and its transpose for convolutions computed
//! in the weights' layout), weight packing, batch selection, and the scatter of GEMM results
//! back into the output tensor's layout.

use crate::kernel::Window;
use crate::kernel::{GemmKernel, GemmLayout};
use crate::tensor::convert::copy_every;
use rayon::prelude::*;

pub(super) use super::transpose::{Tiled, transpose};
use std::borrow::Cow;

/// im2col matrices of at least this many values are filled on the thread pool, by rows.
const PARALLEL_VALUES: usize = 1 << 16;

/// The A matrix (rows × k, row-major) of problem `p`.
pub fn lhs<T: Tiled + Send + Sync>(
    k: &GemmKernel,
    x: &[T],
    x_shape: &[usize],
    p: usize,
    pad: T,
) -> Vec<T> {
    match &k.layout {
        GemmLayout::Conv {
            window,
            transposed,
            batch,
            cin_per_group,
            ..
        } => im2col(
            x,
            x_shape[1],
            *batch,
            window,
            *transposed,
            p * cin_per_group,
            *cin_per_group,
            pad,
        ),
        GemmLayout::MatMul {
            trans_a, a_batch, ..
        } => {
            let (m, kk) = (k.shape.m, k.shape.k);
            if a_batch.len() == 1 && k.problems == 1 && !trans_a {
                return x[..m * kk].to_vec();
            }
            let base = a_batch[p] * m * kk;
            let mat = &x[base..base + m * kk];
            if *trans_a {
                transpose(mat, kk, m)
            } else {
                mat.to_vec()
            }
        }
    }
}

/// The B matrix (k × n, row-major) of problem `p`; `w` is the weight/second operand.
pub fn rhs<T: Tiled>(k: &GemmKernel, w: &[T], p: usize) -> Vec<T> {
    let (kk, n) = (k.shape.k, k.shape.n);
    match &k.layout {
        // Weights [cout, cin/g, taps…]: group p's rows, transposed to k × n.
        GemmLayout::Conv {
            transposed: false, ..
        } => transpose(&w[p * n * kk..(p + 1) * n * kk], n, kk),
        // Weights [cin, cout/g, taps…]: group p's input channels, each [n × taps] turned
        // into rows (channel, tap) of n columns.
        GemmLayout::Conv { window, .. } => {
            let taps = window.kernel_size();
            w[p * kk * n..(p + 1) * kk * n]
                .chunks((n * taps).max(1))
                .flat_map(|per_channel| transpose(per_channel, n, taps))
                .collect()
        }
        GemmLayout::MatMul {
            trans_b, b_batch, ..
        } => {
            let base = b_batch[p] * kk * n;
            let mat = &w[base..base + kk * n];
            if *trans_b {
                transpose(mat, n, kk)
            } else {
                mat.to_vec()
            }
        }
    }
}

/// The A matrices of every problem: `x` itself, moved rather than copied, when it is the one
/// untransposed A of a single-problem MatMul; else [`lhs`] of each problem.
pub fn lhs_all<T: Tiled + Send + Sync>(
    k: &GemmKernel,
    x: Cow<'_, [T]>,
    x_shape: &[usize],
    pad: T,
) -> Vec<Vec<T>> {
    let whole = matches!(&k.layout, GemmLayout::MatMul { trans_a: false, .. })
        && k.problems == 1
        && x.len() == k.shape.m * k.shape.k;
    if whole {
        return vec![x.into_owned()];
    }
    (0..k.problems)
        .map(|p| lhs(k, &x, x_shape, p, pad))
        .collect()
}

/// The B matrices of every problem: `w` itself, moved rather than copied, when it is the one
/// untransposed B of a single-problem MatMul; else [`rhs`] of each problem.
pub fn rhs_all<T: Tiled>(k: &GemmKernel, w: Cow<'_, [T]>) -> Vec<Vec<T>> {
    let whole = matches!(&k.layout, GemmLayout::MatMul { trans_b: false, .. })
        && k.problems == 1
        && w.len() == k.shape.k * k.shape.n;
    if whole {
        return vec![w.into_owned()];
    }
    (0..k.problems).map(|p| rhs(k, &w, p)).collect()
}

/// Columns `n0..n0+n` of a row-major `rows × cols` matrix.
pub fn columns<T: Copy>(b: &[T], cols: usize, n0: usize, n: usize) -> Vec<T> {
    b.chunks(cols.max(1))
        .flat_map(|row| row[n0..n0 + n].iter().copied())
        .collect()
}

/// Output channel (or column) of element `(p, j)`: the index of its per-channel parameters.
pub fn channel(k: &GemmKernel, p: usize, j: usize) -> usize {
    match &k.layout {
        GemmLayout::Conv { cout_per_group, .. } => p * cout_per_group + j,
        GemmLayout::MatMul { .. } => j,
    }
}

/// Flat index in the output tensor of element `(p, i, j)` of the GEMM results.
pub fn out_index(k: &GemmKernel, p: usize, i: usize, j: usize) -> usize {
    match &k.layout {
        GemmLayout::Conv {
            window,
            groups,
            cout_per_group,
            ..
        } => {
            let plane = window.output_size();
            let (b, o) = (i / plane, i % plane);
            (b * groups * cout_per_group + p * cout_per_group + j) * plane + o
        }
        GemmLayout::MatMul { .. } => (p * k.shape.m + i) * k.shape.n + j,
    }
}

/// Writes problem `p`'s results (`m×n`, row-major) to their places in the output tensor:
/// [`out_index`] for every element, computed once per row.
pub fn scatter<T: Copy>(k: &GemmKernel, p: usize, acc: &[T], out: &mut [T]) {
    let n = k.shape.n;
    if n == 0 {
        return;
    }
    match &k.layout {
        GemmLayout::Conv { .. } => {
            // Consecutive columns of a row are one output plane apart.
            let plane = if n > 1 {
                out_index(k, p, 0, 1) - out_index(k, p, 0, 0)
            } else {
                1
            };
            for (i, row) in acc.chunks(n).enumerate() {
                let base = out_index(k, p, i, 0);
                for (j, &v) in row.iter().enumerate() {
                    out[base + j * plane] = v;
                }
            }
        }
        GemmLayout::MatMul { .. } => {
            let base = out_index(k, p, 0, 0);
            out[base..base + acc.len()].copy_from_slice(acc);
        }
    }
}

/// The input coordinate tap `k` of output coordinate `o` reads along spatial dim `d`, or `None`
/// outside the input. A convolution reads `o·stride + k·dilation − pad`; a transposed one reads
/// `(o + pad − k·dilation) / stride` when that divides exactly (between the inserted zeros).
fn tap_coord(win: &Window, transposed: bool, d: usize, o: usize, k: usize) -> Option<usize> {
    let (s, dil, pad) = (
        win.strides[d] as isize,
        win.dilations[d] as isize,
        win.pad_begin[d] as isize,
    );
    let c = if transposed {
        let num = o as isize + pad - k as isize * dil;
        if num < 0 || num % s != 0 {
            return None;
        }
        num / s
    } else {
        o as isize * s + k as isize * dil - pad
    };
    usize::try_from(c).ok().filter(|&c| c < win.input[d])
}

/// An input offset of [`tap_offsets`] that lies in the padding.
pub(super) const PADDING: usize = usize::MAX;

/// Per (output position, kernel tap), row-major over both: the offset within an input plane
/// that the tap reads, or [`PADDING`].
pub(super) fn tap_offsets(win: &Window, transposed: bool) -> Vec<usize> {
    let rank = win.input.len();
    // Per dim: the input coordinate of (output coordinate, kernel tap), times the dim's stride
    // in a plane, or None in the padding.
    let mut stride = 1usize;
    let mut coords = vec![Vec::new(); rank];
    for d in (0..rank).rev() {
        coords[d] = (0..win.output[d])
            .flat_map(|o| (0..win.kernel[d]).map(move |kd| (o, kd)))
            .map(|(o, kd)| tap_coord(win, transposed, d, o, kd).map(|c| c * stride))
            .collect::<Vec<_>>();
        stride *= win.input[d];
    }
    // Per (output position, tap), row-major over both: the sum over dims of their offsets,
    // built one dim at a time (the sum is separable), or PADDING when some dim falls in it.
    let mut offsets = vec![0usize];
    let (mut outer_outs, mut outer_taps) = (1usize, 1usize);
    for (d, coords) in coords.iter().enumerate() {
        let (od, kd) = (win.output[d], win.kernel[d]);
        let mut next = Vec::with_capacity(outer_outs * od * outer_taps * kd);
        for o in 0..outer_outs {
            for a in 0..od {
                let along = &coords[a * kd..(a + 1) * kd];
                for &base in &offsets[o * outer_taps..(o + 1) * outer_taps] {
                    next.extend(along.iter().map(|c| match c {
                        Some(c) if base != PADDING => base + c,
                        _ => PADDING,
                    }));
                }
            }
        }
        offsets = next;
        (outer_outs, outer_taps) = (outer_outs * od, outer_taps * kd);
    }
    offsets
}

/// im2col of channels `c0..c0+cin` of an NC[spatial…] tensor: rows (batch, output position),
/// columns (channel, kernel tap); taps outside the input read `pad`.
#[allow(clippy::too_many_arguments)]
fn im2col<T: Tiled + Send + Sync>(
    x: &[T],
    channels: usize,
    batch: usize,
    win: &Window,
    transposed: bool,
    c0: usize,
    cin: usize,
    pad: T,
) -> Vec<T> {
    let plane: usize = win.input.iter().product();
    let (outs, taps) = (win.output_size(), win.kernel_size());
    if !transposed && is_pointwise(win) {
        // A 1×1 convolution with unit strides and no padding reads every input position once:
        // im2col is the transpose of each image's channels × positions.
        let mut out = Vec::with_capacity(batch * outs * cin);
        for b in 0..batch {
            let base = (b * channels + c0) * plane;
            out.extend(transpose(&x[base..base + cin * plane], cin, plane));
        }
        return out;
    }
    // A tap in the padding reads the pad value stored after each plane below.
    let mut offsets = tap_offsets(win, transposed);
    offsets
        .iter_mut()
        .filter(|o| **o == PADDING)
        .for_each(|o| *o = plane);
    // Each plane of the group's channels followed by the pad value, so that every tap is one
    // load with no test.
    let mut padded = Vec::with_capacity(batch * cin * (plane + 1));
    for b in 0..batch {
        for c in 0..cin {
            let base = (b * channels + c0 + c) * plane;
            padded.extend_from_slice(&x[base..base + plane]);
            padded.push(pad);
        }
    }
    let row = cin * taps;
    let mut out = vec![pad; batch * outs * row];
    let fill = |(r, dst): (usize, &mut [T])| {
        let (b, o) = (r / outs.max(1), r % outs.max(1));
        let offs = &offsets[o * taps..(o + 1) * taps];
        for (c, taps_of_c) in dst.chunks_mut(taps.max(1)).enumerate() {
            let src = &padded[(b * cin + c) * (plane + 1)..][..plane + 1];
            for (d, &off) in taps_of_c.iter_mut().zip(offs) {
                *d = src[off];
            }
        }
    };
    if out.len() >= PARALLEL_VALUES {
        out.par_chunks_mut(row.max(1)).enumerate().for_each(fill);
    } else {
        out.chunks_mut(row.max(1)).enumerate().for_each(fill);
    }
    out
}

/// Whether `win` is a 1×1 window with unit strides and no padding: each output position
/// reads the input position it sits on.
pub fn is_pointwise(win: &Window) -> bool {
    win.kernel_size() == 1
        && win.strides.iter().all(|&s| s == 1)
        && win.pad_begin.iter().all(|&p| p == 0)
        && win.output == win.input
}

/// The number of rows of `win`'s output: positions along every spatial dim but the last.
pub fn output_rows(win: &Window) -> usize {
    win.output_size() / win.output.last().copied().unwrap_or(1).max(1)
}

/// The transpose of im2col for image `b`, channels `c0..c0+cin` of an NC[spatial…] tensor,
/// at the output positions of output rows `rows` (rows of the last spatial dim, see
/// [`output_rows`]): rows (channel, kernel tap), columns those output positions; taps outside
/// the input read `pad`. A 1×1 convolution with unit strides and no padding reads the
/// channels' planes as they are, so all of its rows are borrowed. Not for transposed
/// convolutions.
#[allow(clippy::too_many_arguments)]
pub fn im2col_t<'x, T: Copy>(
    x: &'x [T],
    channels: usize,
    b: usize,
    win: &Window,
    c0: usize,
    cin: usize,
    pad: T,
    rows: std::ops::Range<usize>,
) -> Cow<'x, [T]> {
    let plane: usize = win.input.iter().product();
    let base = (b * channels + c0) * plane;
    if is_pointwise(win) && rows == (0..output_rows(win)) {
        return Cow::Borrowed(&x[base..base + cin * plane]);
    }
    let n = rows.len() * win.output.last().copied().unwrap_or(1);
    let mut out = vec![pad; cin * win.kernel_size() * n];
    im2col_t_into(x, channels, b..b + 1, win, (c0, cin), rows, &mut out);
    Cow::Owned(out)
}

/// [`im2col_t`] of images `images` side by side (one product of them) written into `dst`:
/// row `r` (channel, kernel tap) holds each image's columns in turn. Only the taps inside the
/// input are written, so `dst` must hold the pad value already.
pub fn im2col_t_into<T: Copy>(
    x: &[T],
    channels: usize,
    images: std::ops::Range<usize>,
    win: &Window,
    (c0, cin): (usize, usize),
    rows: std::ops::Range<usize>,
    dst: &mut [T],
) {
    let plane: usize = win.input.iter().product();
    let taps = win.kernel_size();
    let rank = win.input.len();
    let last = rank - 1;
    let (ow, iw) = (win.output[last], win.input[last]);
    let (s, dil, pb) = (
        win.strides[last],
        win.dilations[last],
        win.pad_begin[last] as isize,
    );
    // Per tap: its kernel coordinates (row-major over the dims), and along the last dim the
    // offset `off` at which output `o` reads input `o·s + off`, inside for `o` in `lo..hi`.
    let mut k_idx = vec![0usize; taps * rank];
    let mut spans = Vec::with_capacity(taps);
    for (t, k) in k_idx.chunks_mut(rank).enumerate() {
        let mut rem = t;
        for d in (0..rank).rev() {
            k[d] = rem % win.kernel[d];
            rem /= win.kernel[d];
        }
        let off = (k[last] * dil) as isize - pb;
        let lo = if off < 0 {
            ((-off) as usize).div_ceil(s)
        } else {
            0
        };
        let hi = if (iw as isize) > off {
            ((iw as isize - off) as usize).div_ceil(s).min(ow)
        } else {
            0
        };
        spans.push((off, lo, hi));
    }
    // Each image's columns, and a row of all of them.
    let n = rows.len() * ow;
    let ld = images.len() * n;
    let mut o_idx = vec![0usize; rank];
    for (i, r) in rows.enumerate() {
        let mut rem = r;
        for d in (0..last).rev() {
            o_idx[d] = rem % win.output[d];
            rem /= win.output[d];
        }
        for (t, &(off, lo, hi)) in spans.iter().enumerate() {
            if lo >= hi {
                continue;
            }
            // The input offset of this output row's outer coordinates, or None in the padding.
            let mut row_base = Some(0usize);
            let mut stride = iw;
            for d in (0..last).rev() {
                let k = k_idx[t * rank + d];
                row_base = row_base
                    .zip(tap_coord(win, false, d, o_idx[d], k))
                    .map(|(acc, coord)| acc + coord * stride);
                stride *= win.input[d];
            }
            let Some(rb) = row_base else { continue };
            let first = (rb as isize + lo as isize * s as isize + off) as usize;
            for (image, b) in images.clone().enumerate() {
                let base = (b * channels + c0) * plane;
                for c in 0..cin {
                    let src = &x[base + c * plane + first..];
                    let row = (c * taps + t) * ld + image * n + i * ow;
                    copy_every(&mut dst[row + lo..row + hi], src, s);
                }
            }
        }
    }
}
