//! Depthwise products taken across channels: every channel is its own `1 × k` by `k × n`
//! product (one row of weights, the channel's im2col), computed channels-last so that each tap
//! of each output position is one pass over all channels. A MobileNet's depthwise layers hold
//! hundreds of channels of 5×5 to 80×80 positions, where a GEMM call and an im2col per channel
//! cost more than the arithmetic.
//!
//! The arithmetic per output is the array's ([module docs](super)): taps in order, K-tiles of
//! `k_tile` taps whose partial sums start at +0 and are added into the accumulator started at
//! the bias; a tap outside the input multiplies a zero, as the im2col's padding does.

use super::{INT_K_CHUNK, Isa, PARALLEL_MACS, add_wrapping_each, in_int_range, unsign_zeros};
use crate::array::datapath::{Datapath, FloatRule, FusedF32, IntMac, Psum16};
use crate::array::{ArraySpec, IntGemmOut};
use crate::kernel::FloatFormat;
use multiversion::multiversion;
use rayon::prelude::*;

/// The input row of a tap outside the input: it reads zeros.
pub const TAP_PADDING: u32 = u32::MAX;

/// Where the taps of each output position read in a channels-last input (one row of
/// `channels` values per input position).
#[derive(Debug, Clone, Copy)]
pub struct Taps<'a> {
    /// Values per row of the input, the weights and the output.
    pub channels: usize,
    /// Taps per output position: the reduction length `k`.
    pub taps: usize,
    /// `rows[p·taps + t]`: the input row tap `t` of output position `p` reads, or
    /// [`TAP_PADDING`]. Its length is the number of output positions times `taps`.
    pub rows: &'a [u32],
}

impl Taps<'_> {
    /// The number of output positions.
    fn positions(&self) -> usize {
        self.rows.len() / self.taps.max(1)
    }

    /// # Panics
    /// If `rows` is not whole positions, or the weights, the bias or the input are too short
    /// for the taps and channels, or a row lies outside the input.
    fn assert_operands<T, B>(&self, w: &[T], x: &[T], bias: Option<&[B]>) {
        let c = self.channels;
        assert!(
            self.taps > 0 && self.rows.len().is_multiple_of(self.taps),
            "tap rows of whole positions"
        );
        assert!(
            w.len() >= self.taps * c,
            "weights shorter than taps × channels"
        );
        assert!(
            bias.is_none_or(|b| b.len() >= c),
            "bias shorter than channels"
        );
        let inputs = x.len() / c.max(1);
        assert!(
            self.rows
                .iter()
                .all(|&r| r == TAP_PADDING || (r as usize) < inputs),
            "a tap reads outside the input"
        );
    }
}

/// Integer depthwise product: output `(p, c) = bias[c] + Σ_t w[t][c] · x[row(p, t)][c]`,
/// positions × channels, row-major, wrapped to 32 bits with the overflow flag of
/// [`super::gemm_int`]. `w` is taps × channels and `x` input rows × channels, row-major.
///
/// # Panics
/// As [`Taps`]'s operands check.
pub fn depthwise_int(taps: &Taps<'_>, w: &[i16], x: &[i16], bias: Option<&[i32]>) -> IntGemmOut {
    depthwise_int_on(Isa::detected(), taps, w, x, bias)
}

/// [`depthwise_int`] on microkernel family `isa`: the portable one runs the PE's integer MAC
/// one value at a time, the others 32-bit lanes (exact for operands within `[-255, 255]`).
///
/// # Panics
/// As [`depthwise_int`], and if this CPU does not support `isa`.
pub fn depthwise_int_on(
    isa: Isa,
    taps: &Taps<'_>,
    w: &[i16],
    x: &[i16],
    bias: Option<&[i32]>,
) -> IntGemmOut {
    assert!(isa.supported(), "{isa:?} needs CPU features this CPU lacks");
    taps.assert_operands(w, x, bias);
    let (c, k) = (taps.channels, taps.taps);
    let w = &w[..k * c];
    let vector = isa != Isa::Portable && k <= INT_K_CHUNK && in_int_range(w) && in_int_range(x);
    if !vector {
        let mut exact = vec![0i64; taps.positions() * c];
        by_positions(taps, &mut exact, |p0, block| {
            generic(IntMac, k, taps, p0, w, x, bias, block);
            false
        });
        return IntGemmOut::from_exact(exact);
    }
    let mut acc = vec![0i32; taps.positions() * c];
    let wrapped = by_positions(taps, &mut acc, |p0, block| {
        int_sums(taps, p0, w, x, block);
        let Some(bias) = bias else { return false };
        block
            .chunks_mut(c)
            .fold(false, |w, row| add_wrapping_each(row, bias) | w)
    });
    IntGemmOut {
        acc,
        overflow: wrapped,
    }
}

/// Float depthwise product with `fmt` operands on `spec`'s datapath: output
/// `(p, c) = bias[c] + Σ_t w[t][c] · x[row(p, t)][c]` in the array's order and rounding,
/// positions × channels, row-major (see [`depthwise_int`] for the layouts). Operand values
/// must be exactly representable in `fmt`.
///
/// # Panics
/// As [`depthwise_int`].
pub fn depthwise_float(
    spec: &ArraySpec,
    fmt: FloatFormat,
    taps: &Taps<'_>,
    w: &[f32],
    x: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f32> {
    depthwise_float_on(Isa::detected(), spec, fmt, taps, w, x, bias)
}

/// [`depthwise_float`] on microkernel family `isa`: the portable one runs the PE's MAC one
/// value at a time, the others vector fused multiply-adds (16-bit partial sums: always the
/// PE's MAC).
///
/// # Panics
/// As [`depthwise_float`], and if this CPU does not support `isa`.
pub fn depthwise_float_on(
    isa: Isa,
    spec: &ArraySpec,
    fmt: FloatFormat,
    taps: &Taps<'_>,
    w: &[f32],
    x: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f32> {
    assert!(isa.supported(), "{isa:?} needs CPU features this CPU lacks");
    spec.assert_valid();
    taps.assert_operands(w, x, bias);
    let k = taps.taps;
    let k_tile = spec.k_tile(k).min(k);
    let w = &w[..k * taps.channels];
    let mut out = vec![0f32; taps.positions() * taps.channels];
    by_positions(taps, &mut out, |p0, block| {
        match FloatRule::new(fmt, spec.psum) {
            FloatRule::Psum16(half) => generic(Psum16(half), k_tile, taps, p0, w, x, bias, block),
            FloatRule::Fused if isa == Isa::Portable => {
                generic(FusedF32, k_tile, taps, p0, w, x, bias, block)
            }
            FloatRule::Fused => fused(k_tile, taps, p0, w, x, bias, block),
        }
        false
    });
    if spec.pads_last_k_tile(k) {
        unsign_zeros(&mut out);
    }
    out
}

/// Runs `f(first position, its block of output rows)` over blocks of whole positions, in
/// parallel when the product is large (each block is disjoint, so the bits do not depend on
/// the threads). Returns whether any call returned true.
fn by_positions<T: Send>(
    taps: &Taps<'_>,
    out: &mut [T],
    f: impl Fn(usize, &mut [T]) -> bool + Sync,
) -> bool {
    let c = taps.channels.max(1);
    let positions = taps.positions();
    let macs = (taps.rows.len() * c) as u64;
    let threads = rayon::current_num_threads();
    if macs < PARALLEL_MACS || threads == 1 || positions < 2 {
        return f(0, out);
    }
    let per_block = positions.div_ceil(4 * threads);
    out.par_chunks_mut(per_block * c)
        .enumerate()
        .map(|(i, block)| f(i * per_block, block))
        .reduce(|| false, |a, b| a | b)
}

/// The input row tap `r` reads, or `zeros` for the padding.
fn row<'x, T>(x: &'x [T], zeros: &'x [T], r: u32, c: usize) -> &'x [T] {
    if r == TAP_PADDING {
        zeros
    } else {
        &x[r as usize * c..][..c]
    }
}

/// The PE's arithmetic one value at a time: per output the accumulator starts at the bias,
/// and each K-tile's partial sum, from the datapath's zero, takes one MAC per tap.
#[allow(clippy::too_many_arguments)]
fn generic<D: Datapath>(
    d: D,
    k_tile: usize,
    taps: &Taps<'_>,
    p0: usize,
    w: &[D::Operand],
    x: &[D::Operand],
    bias: Option<&[D::Bias]>,
    out: &mut [D::Sum],
) {
    let (c, k) = (taps.channels, taps.taps);
    let zeros = vec![D::Operand::default(); c];
    let mut s = vec![d.zero(); c];
    for (p, acc) in (p0..).zip(out.chunks_mut(c.max(1))) {
        for (j, a) in acc.iter_mut().enumerate() {
            *a = d.start(bias.map_or_else(D::Bias::default, |b| b[j]));
        }
        let rows = &taps.rows[p * k..(p + 1) * k];
        for (tile_w, tile_rows) in w.chunks(k_tile * c).zip(rows.chunks(k_tile)) {
            s.fill(d.zero());
            for (wr, &r) in tile_w.chunks(c).zip(tile_rows) {
                for ((sj, &wv), &xv) in s.iter_mut().zip(wr).zip(row(x, &zeros, r, c)) {
                    *sj = d.mac(wv, xv, *sj);
                }
            }
            for (a, &sj) in acc.iter_mut().zip(&s) {
                *a = d.merge(*a, sj);
            }
        }
    }
}

/// f32 partial sums by fused multiply-adds in vector lanes, one lane per channel: the order
/// per output is [`generic`]'s with [`FusedF32`].
#[multiversion(targets = "simd")]
fn fused(
    k_tile: usize,
    taps: &Taps<'_>,
    p0: usize,
    w: &[f32],
    x: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
) {
    let (c, k) = (taps.channels, taps.taps);
    let zeros = vec![0f32; c];
    let mut s = vec![0f32; c];
    for (p, acc) in (p0..).zip(out.chunks_mut(c.max(1))) {
        match bias {
            Some(b) => acc.copy_from_slice(&b[..c]),
            None => acc.fill(0.0),
        }
        let rows = &taps.rows[p * k..(p + 1) * k];
        for (tile_w, tile_rows) in w.chunks(k_tile * c).zip(rows.chunks(k_tile)) {
            s.fill(0.0);
            for (wr, &r) in tile_w.chunks(c).zip(tile_rows) {
                for ((sj, &wv), &xv) in s.iter_mut().zip(wr).zip(row(x, &zeros, r, c)) {
                    *sj = wv.mul_add(xv, *sj);
                }
            }
            for (a, &sj) in acc.iter_mut().zip(&s) {
                *a += sj;
            }
        }
    }
}

/// Exact integer sums in 32-bit lanes, one per channel (operands within `[-255, 255]`, at most
/// [`INT_K_CHUNK`] taps). Padding taps add nothing.
#[multiversion(targets = "simd")]
fn int_sums(taps: &Taps<'_>, p0: usize, w: &[i16], x: &[i16], out: &mut [i32]) {
    let (c, k) = (taps.channels, taps.taps);
    for (p, acc) in (p0..).zip(out.chunks_mut(c.max(1))) {
        acc.fill(0);
        let rows = &taps.rows[p * k..(p + 1) * k];
        for (wr, &r) in w.chunks(c).zip(rows) {
            if r == TAP_PADDING {
                continue;
            }
            for ((a, &wv), &xv) in acc.iter_mut().zip(wr).zip(&x[r as usize * c..][..c]) {
                *a += i32::from(wv) * i32::from(xv);
            }
        }
    }
}
