//! One systolic array: the PE-level model that defines values and cycles, the fast datapath
//! proven bit-equal to it, and the closed-form timing of a tile job.
//!
//! # Values
//!
//! For output element `(i, j)` of `C[m×n] = A[m×k] · B[k×n]` (row-major operands):
//!
//! * **int**: operands are zero-point-shifted values in `[-255, 255]` held as `i16`.
//!   `acc = bias[j] + Σ_k a[i][k]·b[k][j]` in a 32-bit accumulator that wraps. Wrapping
//!   addition is addition modulo 2^32, so the result is the exact sum reduced modulo 2^32 in
//!   any order; [`IntGemmOut::overflow`] reports that the exact sum of some output lies
//!   outside the i32 range (the wrapped value is then not the true one).
//! * **float**: operands are f32 values exactly representable in the operand format
//!   ([`FloatFormat`]). The reduction is cut into **K-tiles** of `rows` consecutive `k` for
//!   the weight- and input-stationary dataflows (one K-tile per fold of the array's rows);
//!   output-stationary keeps all of `k` in one chain. Within a K-tile a partial sum `s`
//!   starts at `+0` and takes the products for `k` ascending:
//!   - fp32 partial sums (and always for fp32 operands): `s = a·b + s` with one rounding to
//!     f32 (a fused multiply-add);
//!   - 16-bit partial sums ([`PsumType::Fp16`] with fp16 or bf16 operands): `s = a·b + s`
//!     computed exactly and rounded once to the operand's 16-bit format.
//!
//!   The output accumulator starts at `bias[j]` (or `bias[i]` for a [`Bias::Rows`]; `+0` without bias; rounded to the 16-bit
//!   format when partial sums are 16-bit) and adds each K-tile's `s` in K-tile order: an f32
//!   addition, or an exact addition rounded once to the 16-bit format. The result is returned
//!   as f32; the caller rounds it to the output format once when writing. With `k = 0` the
//!   output is the (rounded) bias.
//!
//! The PE-level model ([`pe`]) performs exactly these operations inside its PEs and output
//! accumulators, in the order its dataflow imposes; the fast datapath ([`gemm_int`],
//! [`gemm_float`]) performs them in the same order per output and is tested bit-equal to it.
//! Parallelism is only across output rows, never inside a reduction.
//!
//! # Cycles
//!
//! See [`tile_cycles`] for the closed forms and [`pe`] for the simulation they are tested
//! against.
//!
//! # Memory traffic
//!
//! [`scalesim_traffic`] gives the SRAM and DRAM traffic SCALE-Sim v3 counts for a GEMM on
//! one array.

mod datapath;
mod fast;
pub mod output;
pub mod pe;
mod scalesim_traffic;
mod spec;
mod timing;
pub mod vector;

pub use fast::{
    Isa, PackedF32B, PackedIntA, PackedIntB, PlaneWindow, RowFinish, TAP_PADDING, Taps,
    depthwise_float, depthwise_float_on, depthwise_float_planes, depthwise_int, depthwise_int_on,
    depthwise_int_planes, gemm_float, gemm_float_on, gemm_float_packed, gemm_int, gemm_int_on,
    gemm_int_packed, gemm_int_packed_a, gemm_int_packed_a_within,
};

pub(crate) use fast::unsign_zeros;
pub use scalesim_traffic::{ScalesimSram, ScalesimTraffic, scalesim_traffic, scalesim_traffic_for};
pub use spec::ArraySpec;
pub use timing::tile_cycles;

use crate::kernel::GemmShape;
#[cfg(doc)]
use crate::{config::PsumType, kernel::FloatFormat};

/// The values the output accumulators start from.
///
/// A physical array adds a bias per output column (per output channel of `C = A·B`). The fast
/// datapath also takes one per output row, for the transposed product `Cᵀ = Bᵀ·Aᵀ`: each
/// output's arithmetic is symmetric in its two operands (products commute, the reduction order
/// over `k` is the same), so computing `Cᵀ` with row biases gives every output the bits the
/// array gives it in `C` with column biases.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bias<'a, T> {
    /// No bias: accumulators start at zero.
    None,
    /// One value per output column.
    Columns(&'a [T]),
    /// One value per output row.
    Rows(&'a [T]),
}

impl<T: Copy + Default> Bias<'_, T> {
    /// The start value of output `(i, j)` (`T::default()` without bias).
    pub fn at(&self, i: usize, j: usize) -> T {
        match self {
            Bias::None => T::default(),
            Bias::Columns(b) => b[j],
            Bias::Rows(b) => b[i],
        }
    }

    /// The start values of an `m×n` output, row-major.
    fn fill(&self, m: usize, n: usize) -> Vec<T> {
        match self {
            Bias::None => vec![T::default(); m * n],
            Bias::Columns(b) => b[..n].repeat(m),
            Bias::Rows(b) => {
                let mut out = Vec::with_capacity(m * n);
                for &v in &b[..m] {
                    out.resize(out.len() + n, v);
                }
                out
            }
        }
    }
}

impl<'a, T> From<Option<&'a [T]>> for Bias<'a, T> {
    /// A per-column bias, or none.
    fn from(bias: Option<&'a [T]>) -> Self {
        bias.map_or(Bias::None, Bias::Columns)
    }
}

/// Output of an integer GEMM: wrapped 32-bit accumulators, row-major `m×n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntGemmOut {
    /// `bias + Σ a·b` per output, wrapped to 32 bits.
    pub acc: Vec<i32>,
    /// Whether the exact value of some output lies outside the i32 range (so it wrapped).
    pub overflow: bool,
}

impl IntGemmOut {
    /// Wraps exact sums to 32 bits, noting whether any of them did not fit.
    fn from_exact(exact: Vec<i64>) -> IntGemmOut {
        let overflow = exact.iter().any(|&v| i32::try_from(v).is_err());
        let acc = exact.into_iter().map(|v| v as i32).collect();
        IntGemmOut { acc, overflow }
    }
}

/// Checks the operand buffers against the shape (the lowering guarantees these lengths) and
/// returns the number of outputs, `m·n`.
///
/// # Panics
/// If `a` is shorter than `m·k`, `b` shorter than `k·n`, a column (row) bias shorter than `n`
/// (`m`), or `m·n` overflows.
fn assert_operands<T, B>(shape: GemmShape, a: &[T], b: &[T], bias: Bias<'_, B>) -> usize {
    let fits = |len: usize, x: usize, y: usize| x.checked_mul(y).is_some_and(|need| len >= need);
    assert!(
        fits(a.len(), shape.m, shape.k),
        "A holds {} values, {shape:?} needs m·k",
        a.len()
    );
    assert!(
        fits(b.len(), shape.k, shape.n),
        "B holds {} values, {shape:?} needs k·n",
        b.len()
    );
    match bias {
        Bias::None => {}
        Bias::Columns(bias) => assert!(
            bias.len() >= shape.n,
            "bias holds {} values, {shape:?} needs n",
            bias.len()
        ),
        Bias::Rows(bias) => assert!(
            bias.len() >= shape.m,
            "bias holds {} values, {shape:?} needs m",
            bias.len()
        ),
    }
    let Some(outputs) = shape.m.checked_mul(shape.n) else {
        panic!("{shape:?} has more than usize::MAX outputs");
    };
    outputs
}
