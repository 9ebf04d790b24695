//! The fast datapath: the same arithmetic as the PE-level model, in the same order per output,
//! without simulating registers. Parallel across output rows only.

use super::datapath::{Datapath, ExactProductF32, FloatRule, FusedF32, IntMac, Psum16};
use super::{ArraySpec, IntGemmOut, assert_operands};
use crate::kernel::{FloatFormat, GemmShape};
use rayon::prelude::*;

/// GEMMs with at least this many MACs are spread over rayon's threads, one output row per task.
const PARALLEL_MACS: u64 = 1 << 18;

/// Integer GEMM `bias + A·B` (see the [module docs](super) for the semantics).
///
/// `a` is `m×k` and `b` is `k×n`, row-major; `bias` has one value per output column. Any
/// `m, k, n ≥ 0`; the output is `m×n`, row-major.
///
/// # Panics
/// If a buffer is shorter than the shape needs, or the spec has no rows or columns.
pub fn gemm_int(
    spec: &ArraySpec,
    shape: GemmShape,
    a: &[i16],
    b: &[i16],
    bias: Option<&[i32]>,
) -> IntGemmOut {
    let exact = gemm(IntMac, spec, shape, a, b, bias);
    IntGemmOut::from_exact(exact)
}

/// Floating-point GEMM `bias + A·B` with `fmt` operands (see the [module docs](super)).
///
/// Operand values must be exactly representable in `fmt`. Shapes and layout as [`gemm_int`];
/// the output accumulators are returned as f32, `m×n` row-major.
///
/// # Panics
/// If a buffer is shorter than the shape needs, or the spec has no rows or columns.
pub fn gemm_float(
    spec: &ArraySpec,
    fmt: FloatFormat,
    shape: GemmShape,
    a: &[f32],
    b: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f32> {
    match (FloatRule::new(fmt, spec.psum), fmt) {
        // fp16 products are exact in f32, so a separate multiply and add is the fused MAC.
        (FloatRule::Fused, FloatFormat::Fp16) => gemm(ExactProductF32, spec, shape, a, b, bias),
        (FloatRule::Fused, _) => gemm(FusedF32, spec, shape, a, b, bias),
        (FloatRule::Psum16(half), _) => gemm(Psum16(half), spec, shape, a, b, bias),
    }
}

/// `bias + A·B` on datapath `d`, K-tiled as the spec's dataflow dictates.
fn gemm<D: Datapath>(
    d: D,
    spec: &ArraySpec,
    shape: GemmShape,
    a: &[D::Operand],
    b: &[D::Operand],
    bias: Option<&[D::Bias]>,
) -> Vec<D::Sum> {
    spec.assert_valid();
    let len = assert_operands(shape, a, b, bias);
    let GemmShape { k, n, .. } = shape;
    let mut out = vec![d.zero(); len];
    if n == 0 {
        return out;
    }
    // A K-tile longer than k is all of k; capping it keeps k_tile·n within the checked k·n.
    let k_tile = spec.k_tile(k).min(k.max(1));
    let rows = RowKernel {
        d,
        k_tile,
        n,
        b,
        bias,
    };
    if shape.macs() >= PARALLEL_MACS {
        out.par_chunks_mut(n).enumerate().for_each_init(
            || vec![d.zero(); n],
            |s, (i, row)| rows.run(&a[i * k..(i + 1) * k], row, s),
        );
    } else {
        let mut s = vec![d.zero(); n];
        for (i, row) in out.chunks_mut(n).enumerate() {
            rows.run(&a[i * k..(i + 1) * k], row, &mut s);
        }
    }
    out
}

/// Computes one output row; shared by the serial and the parallel loop.
struct RowKernel<'a, D: Datapath> {
    d: D,
    /// K-tile length, 1 ≤ k_tile ≤ max(k, 1).
    k_tile: usize,
    n: usize,
    b: &'a [D::Operand],
    bias: Option<&'a [D::Bias]>,
}

impl<D: Datapath> RowKernel<'_, D> {
    /// Fills `out` (one output row) from `a_row` (one row of A, length k), using `s` as the
    /// K-tile's partial sums.
    fn run(&self, a_row: &[D::Operand], out: &mut [D::Sum], s: &mut [D::Sum]) {
        let d = self.d;
        for (j, acc) in out.iter_mut().enumerate() {
            *acc = d.start(self.bias.map_or_else(Default::default, |bias| bias[j]));
        }
        let b_tiles = self.b.chunks(self.k_tile * self.n);
        for (a_tile, b_tile) in a_row.chunks(self.k_tile).zip(b_tiles) {
            s.fill(d.zero());
            for (&a, b_row) in a_tile.iter().zip(b_tile.chunks(self.n)) {
                for (sj, &w) in s.iter_mut().zip(b_row) {
                    *sj = d.mac(a, w, *sj);
                }
            }
            for (acc, &sj) in out.iter_mut().zip(s.iter()) {
                *acc = d.merge(*acc, sj);
            }
        }
    }
}
