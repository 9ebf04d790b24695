//! Depthwise products over whole channel planes (NC[H, W], a 1-D window being one of height
//! 1): every channel's `1 × k` by `k × positions` product as a stencil, where each tap is one
//! pass over a contiguous run of the channel's outputs. The tensors keep their own layout,
//! where [`super::depthwise`] (any rank) turns them channels-last and back.
//!
//! Per channel the input is laid out once by phase: for a stride `(sy, sx)`, block `(py, px)`
//! holds the padded input's rows `py, py + sy, …` and columns `px, px + sx, …`, zeros in the
//! padding. Tap `(ky, kx)` then reads, for output `(oy, ox)`, the element `(oy + ky·dy / sy,
//! ox + kx·dx / sx)` of block `(ky·dy mod sy, kx·dx mod sx)`: with the outputs stored
//! `cols` apart (`cols` the block's width), one contiguous run per tap for the whole plane.
//! The lanes of an output row past its width compute values that are dropped.
//!
//! The arithmetic per output is the array's, as in [`super::depthwise`]: taps in order, K-tiles
//! of `k_tile` taps whose partial sums start at the datapath's zero and merge into the
//! accumulator started at the bias; a tap in the padding multiplies a zero.

use super::{INT_K_CHUNK, Isa, PARALLEL_MACS, add_wrapping_one, in_int_range, unsign_zeros};
use crate::array::datapath::{Datapath, FloatRule, FusedF32, IntMac, Psum16};
use crate::array::{ArraySpec, IntGemmOut};
use crate::kernel::{FloatFormat, Window};
use crate::tensor::convert::copy_every;
use multiversion::multiversion;
use rayon::prelude::*;

/// A sliding window over 2-D planes: `[rows, columns]` per field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaneWindow {
    /// Channels: planes of the input, the weights and the output.
    pub channels: usize,
    /// Input plane size.
    pub input: [usize; 2],
    /// Output plane size.
    pub output: [usize; 2],
    /// Kernel size.
    pub kernel: [usize; 2],
    /// Stride.
    pub strides: [usize; 2],
    /// Dilation.
    pub dilations: [usize; 2],
    /// Padding before the first row and column (the padding after them is whatever the
    /// output size reads past the input).
    pub pad_begin: [usize; 2],
}

impl PlaneWindow {
    /// `win` over planes of `channels` channels, when it has one spatial dim (a row: height
    /// 1) or two.
    pub fn of(win: &Window, channels: usize) -> Option<PlaneWindow> {
        let pair = |v: &[usize], one: usize| match *v {
            [x] => Some([one, x]),
            [y, x] => Some([y, x]),
            _ => None,
        };
        Some(PlaneWindow {
            channels,
            input: pair(&win.input, 1)?,
            output: pair(&win.output, 1)?,
            kernel: pair(&win.kernel, 1)?,
            strides: pair(&win.strides, 1)?,
            dilations: pair(&win.dilations, 1)?,
            pad_begin: pair(&win.pad_begin, 0)?,
        })
    }

    /// Taps per output: the reduction length `k`.
    pub fn taps(&self) -> usize {
        self.kernel[0] * self.kernel[1]
    }

    fn plane_in(&self) -> usize {
        self.input[0] * self.input[1]
    }

    fn plane_out(&self) -> usize {
        self.output[0] * self.output[1]
    }

    /// Rows and columns of each phase block: the outputs' extent plus the taps' reach.
    fn block(&self) -> [usize; 2] {
        [0, 1].map(|d| {
            self.output[d] + (self.kernel[d] - 1) * self.dilations[d] / self.strides[d].max(1)
        })
    }

    /// Values of one channel's layout: every phase block, each with a row of slack that the
    /// dropped lanes of its last output row may read, and [`GRANULE`] values of slack after
    /// the last block for the lanes that round the outputs up to whole granules.
    fn laid_len(&self) -> usize {
        let [rows, cols] = self.block();
        self.strides[0] * self.strides[1] * (rows + 1) * cols + GRANULE
    }

    /// One channel's outputs held `cols` apart, rounded up to whole [`GRANULE`]s.
    fn wide_len(&self) -> usize {
        (self.output[0] * self.block()[1]).next_multiple_of(GRANULE)
    }

    /// Where each tap, in order, starts reading in a channel's layout.
    fn tap_starts(&self) -> Vec<usize> {
        let [rows, cols] = self.block();
        let ([kh, kw], [sy, sx], [dy, dx]) = (self.kernel, self.strides, self.dilations);
        (0..kh * kw)
            .map(|t| {
                let (cy, cx) = ((t / kw) * dy, (t % kw) * dx);
                let block = (cy % sy) * sx + cx % sx;
                block * (rows + 1) * cols + (cy / sy) * cols + cx / sx
            })
            .collect()
    }

    /// # Panics
    /// If a size, stride or dilation is zero, or the weights, the bias or the input are too
    /// short for the channels.
    fn assert_operands<T, B>(&self, w: &[T], x: &[T], bias: Option<&[B]>) {
        assert!(
            [self.kernel, self.strides, self.dilations]
                .iter()
                .all(|v| v.iter().all(|&s| s > 0)),
            "kernel, strides and dilations of at least 1"
        );
        let c = self.channels;
        assert!(
            w.len() >= c * self.taps(),
            "weights shorter than channels × taps"
        );
        assert!(
            x.len() >= c * self.plane_in(),
            "input shorter than its planes"
        );
        assert!(
            bias.is_none_or(|b| b.len() >= c),
            "bias shorter than channels"
        );
    }

    /// Lays out channel plane `x` (`input` row-major) by phase into `laid` (see the
    /// [module docs](self)); `laid` must hold [`Self::laid_len`] zeros.
    fn lay_out<T: Copy>(&self, x: &[T], laid: &mut [T]) {
        let [rows, cols] = self.block();
        let ([h, w], [sy, sx]) = (self.input, self.strides);
        let [pad_y, pad_x] = self.pad_begin;
        for py in 0..sy {
            for px in 0..sx {
                let block = &mut laid[(py * sx + px) * (rows + 1) * cols..][..rows * cols];
                // Columns i whose input column i·sx + px − pad_x lies in 0..w.
                let first = pad_x.saturating_sub(px).div_ceil(sx);
                let end = (w + pad_x).saturating_sub(px).div_ceil(sx).min(cols);
                if first >= end {
                    continue;
                }
                for (r, dst) in block.chunks_mut(cols).enumerate() {
                    let Some(y) = (r * sy + py).checked_sub(pad_y).filter(|&y| y < h) else {
                        continue;
                    };
                    let (dst, src) = (&mut dst[first..end], &x[y * w..(y + 1) * w]);
                    copy_every(dst, &src[first * sx + px - pad_x..], sx);
                }
            }
        }
    }

    /// Copies the outputs held `cols` apart in `wide` into `out` (`output` row-major).
    fn narrow<T: Copy>(&self, wide: &[T], out: &mut [T]) {
        let cols = self.block()[1];
        let width = self.output[1];
        for (dst, src) in out.chunks_mut(width.max(1)).zip(wide.chunks(cols)) {
            dst.copy_from_slice(&src[..width]);
        }
    }
}

/// Integer depthwise product: output `(c, p) = bias[c] + Σ_t w[c][t] · x[c][row(p, t)]`,
/// channels × output positions (NC[H, W]), wrapped to 32 bits with the overflow flag of
/// [`super::gemm_int`]. `w` is channels × taps and `x` channels × input positions. Each
/// channel's plane then takes `finish(channel, plane)` (the output unit, say) while it is in
/// cache; the flag is of the sums before it.
///
/// # Panics
/// As [`PlaneWindow`]'s operands check, and if this CPU does not support `isa`.
pub fn depthwise_int_planes(
    isa: Isa,
    win: &PlaneWindow,
    w: &[i16],
    x: &[i16],
    bias: Option<&[i32]>,
    finish: &(dyn Fn(usize, &mut [i32]) + Sync),
) -> IntGemmOut {
    assert!(isa.supported(), "{isa:?} needs CPU features this CPU lacks");
    win.assert_operands(w, x, bias);
    let k = win.taps();
    let (c, plane) = (win.channels, win.plane_out());
    let (w, x) = (&w[..c * k], &x[..c * win.plane_in()]);
    if isa == Isa::Portable || k > INT_K_CHUNK || !in_int_range(w) || !in_int_range(x) {
        let starts = win.tap_starts();
        let mut exact = vec![0i64; c * plane];
        by_channels(win, &mut exact, |ch, laid, wide, out| {
            win.lay_out(&x[ch * win.plane_in()..][..win.plane_in()], laid);
            let b = bias.map_or(0, |b| b[ch]);
            stencil(IntMac, k, &starts, &w[ch * k..][..k], b, laid, wide);
            win.narrow(wide, out);
            false
        });
        let mut out = IntGemmOut::from_exact(exact);
        for (ch, plane) in out.acc.chunks_mut(plane.max(1)).enumerate() {
            finish(ch, plane);
        }
        return out;
    }
    let starts = win.tap_starts();
    let mut acc = vec![0i32; c * plane];
    let overflow = by_channels(win, &mut acc, |ch, laid, wide, out| {
        win.lay_out(&x[ch * win.plane_in()..][..win.plane_in()], laid);
        int_sums(&starts, &w[ch * k..][..k], laid, wide);
        win.narrow(wide, out);
        let wrapped = bias.is_some_and(|b| add_wrapping_one(out, b[ch]));
        finish(ch, out);
        wrapped
    });
    IntGemmOut { acc, overflow }
}

/// Float depthwise product with `fmt` operands on `spec`'s datapath: output
/// `(c, p) = bias[c] + Σ_t w[c][t] · x[c][row(p, t)]` in the array's order and rounding,
/// channels × output positions (see [`depthwise_int_planes`] for the layouts and `finish`).
/// Operand values must be exactly representable in `fmt`.
///
/// # Panics
/// As [`depthwise_int_planes`].
pub fn depthwise_float_planes(
    isa: Isa,
    (spec, fmt): (&ArraySpec, FloatFormat),
    win: &PlaneWindow,
    w: &[f32],
    x: &[f32],
    bias: Option<&[f32]>,
    finish: &(dyn Fn(usize, &mut [f32]) + Sync),
) -> Vec<f32> {
    assert!(isa.supported(), "{isa:?} needs CPU features this CPU lacks");
    spec.assert_valid();
    win.assert_operands(w, x, bias);
    let k = win.taps();
    let k_tile = spec.k_tile(k).min(k);
    let (c, plane) = (win.channels, win.plane_out());
    let (starts, unsign) = (win.tap_starts(), spec.pads_last_k_tile(k));
    let mut out = vec![0f32; c * plane];
    by_channels(win, &mut out, |ch, laid, wide, out| {
        win.lay_out(&x[ch * win.plane_in()..][..win.plane_in()], laid);
        let (w, b) = (&w[ch * k..][..k], bias.map_or(0.0, |b| b[ch]));
        let t = &starts;
        match FloatRule::new(fmt, spec.psum) {
            FloatRule::Psum16(half) => stencil(Psum16(half), k_tile, t, w, b, laid, wide),
            FloatRule::Fused if isa == Isa::Portable => {
                stencil(FusedF32, k_tile, t, w, b, laid, wide)
            }
            FloatRule::Fused => fused(k_tile, t, w, b, laid, wide),
        }
        win.narrow(wide, out);
        if unsign {
            unsign_zeros(out);
        }
        finish(ch, out);
        false
    });
    out
}

/// Runs `f(channel, layout, wide outputs, its output plane)` for every channel, in parallel
/// when the product is large (each plane is disjoint, so the bits do not depend on the
/// threads), with `layout` and `wide outputs` scratch of one channel. The layout's padding is
/// zero once and stays so: every channel writes the same places. Returns whether any call
/// returned true.
fn by_channels<O: Copy + Default, S: Copy + Default + Send>(
    win: &PlaneWindow,
    out: &mut [S],
    f: impl Fn(usize, &mut [O], &mut [S], &mut [S]) -> bool + Sync,
) -> bool {
    let plane = win.plane_out().max(1);
    let wide = win.wide_len();
    let run = |c0: usize, planes: &mut [S]| {
        let mut laid = vec![O::default(); win.laid_len()];
        let mut sums = vec![S::default(); wide];
        planes
            .chunks_mut(plane)
            .enumerate()
            .fold(false, |any, (i, out)| {
                f(c0 + i, &mut laid, &mut sums, out) | any
            })
    };
    let macs = (win.channels * win.plane_out() * win.taps()) as u64;
    let threads = rayon::current_num_threads();
    if macs < PARALLEL_MACS || threads == 1 || win.channels < 2 {
        return run(0, out);
    }
    let per_block = win.channels.div_ceil(4 * threads);
    out.par_chunks_mut(per_block * plane)
        .enumerate()
        .map(|(i, planes)| run(i * per_block, planes))
        .reduce(|| false, |a, b| a | b)
}

/// The PE's arithmetic one value at a time over one channel's layout: per output the
/// accumulator starts at the bias, and each K-tile's partial sum, from the datapath's zero,
/// takes one MAC per tap (tap `t` reading from `starts[t]`). `wide` receives the outputs
/// `cols` apart.
fn stencil<D: Datapath>(
    d: D,
    k_tile: usize,
    starts: &[usize],
    w: &[D::Operand],
    bias: D::Bias,
    laid: &[D::Operand],
    wide: &mut [D::Sum],
) {
    let mut s = vec![d.zero(); wide.len()];
    wide.fill(d.start(bias));
    for (tile_starts, tile_w) in starts.chunks(k_tile).zip(w.chunks(k_tile)) {
        s.fill(d.zero());
        for (&start, &wv) in tile_starts.iter().zip(tile_w) {
            for (sj, &xv) in s.iter_mut().zip(&laid[start..]) {
                *sj = d.mac(wv, xv, *sj);
            }
        }
        for (a, &sj) in wide.iter_mut().zip(&s) {
            *a = d.merge(*a, sj);
        }
    }
}

/// Outputs one pass of a vector stencil keeps in registers.
const STRIP: usize = 64;

/// The outputs of a channel are computed in whole granules (a vector's lanes): `wide` is
/// rounded up to them.
const GRANULE: usize = 16;

/// Runs `strip(first output, its outputs)` over `wide` in strips of [`STRIP`] outputs, then
/// of [`GRANULE`] (`wide` holds whole granules).
#[inline(always)]
fn by_strips<T>(
    wide: &mut [T],
    mut long: impl FnMut(usize, &mut [T; STRIP]),
    mut short: impl FnMut(usize, &mut [T; GRANULE]),
) {
    let mut strips = wide.chunks_exact_mut(STRIP);
    let mut j0 = 0;
    for out in &mut strips {
        long(j0, out.try_into().expect("a whole strip"));
        j0 += STRIP;
    }
    for out in strips.into_remainder().chunks_exact_mut(GRANULE) {
        short(j0, out.try_into().expect("a whole granule"));
        j0 += GRANULE;
    }
}

/// [`stencil`] with [`FusedF32`] in vector lanes, a strip of outputs in registers: f32
/// partial sums by fused multiply-adds.
#[multiversion(targets = "simd")]
fn fused(k_tile: usize, starts: &[usize], w: &[f32], bias: f32, laid: &[f32], wide: &mut [f32]) {
    #[inline(always)]
    fn strip<const L: usize>(
        (k_tile, starts, w, bias, laid): (usize, &[usize], &[f32], f32, &[f32]),
        j0: usize,
        out: &mut [f32; L],
    ) {
        let mut acc = [bias; L];
        for (tile_starts, tile_w) in starts.chunks(k_tile).zip(w.chunks(k_tile)) {
            let mut s = [0f32; L];
            for (&start, &wv) in tile_starts.iter().zip(tile_w) {
                let xs: &[f32; L] = laid[start + j0..][..L].try_into().expect("L values");
                for (sj, &xv) in s.iter_mut().zip(xs) {
                    *sj = wv.mul_add(xv, *sj);
                }
            }
            for (a, sj) in acc.iter_mut().zip(s) {
                *a += sj;
            }
        }
        *out = acc;
    }
    let args = (k_tile, starts, w, bias, laid);
    by_strips(
        wide,
        |j0, out| strip(args, j0, out),
        |j0, out| strip(args, j0, out),
    );
}

/// Exact integer sums in 32-bit lanes over one channel's layout (operands within
/// `[-255, 255]`, at most [`INT_K_CHUNK`] taps), without the bias, a strip of outputs in
/// registers.
#[multiversion(targets = "simd")]
fn int_sums(starts: &[usize], w: &[i16], laid: &[i16], wide: &mut [i32]) {
    #[inline(always)]
    fn strip<const L: usize>(
        (starts, w, laid): (&[usize], &[i16], &[i16]),
        j0: usize,
        out: &mut [i32; L],
    ) {
        let mut acc = [0i32; L];
        for (&start, &wv) in starts.iter().zip(w) {
            let xs: &[i16; L] = laid[start + j0..][..L].try_into().expect("L values");
            let wv = i32::from(wv);
            for (a, &xv) in acc.iter_mut().zip(xs) {
                *a += wv * i32::from(xv);
            }
        }
        *out = acc;
    }
    let args = (starts, w, laid);
    by_strips(
        wide,
        |j0, out| strip(args, j0, out),
        |j0, out| strip(args, j0, out),
    );
}
