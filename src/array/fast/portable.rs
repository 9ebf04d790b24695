//! The portable datapath: every output row computed with the scalar [`Datapath`] operations,
//! in the PE-level model's order. The fallback on CPUs without AVX2/FMA, the only path for
//! 16-bit partial sums, and the baseline the vector microkernels are benchmarked against.

use crate::array::Bias;
use crate::array::datapath::Datapath;
use rayon::prelude::*;

/// GEMMs with at least this many MACs are spread over rayon's threads, one output row per task.
const PARALLEL_MACS: u64 = 1 << 18;

/// `bias + A·B` on datapath `d` (`a` is `m×k`, `b` is `k×n`, `out` is `m×n`, all row-major),
/// with K-tiles of `k_tile` rows (`1 ≤ k_tile`).
#[allow(clippy::too_many_arguments)]
pub(super) fn gemm<D: Datapath>(
    d: D,
    k_tile: usize,
    (m, k, n): (usize, usize, usize),
    a: &[D::Operand],
    b: &[D::Operand],
    bias: Bias<'_, D::Bias>,
    out: &mut [D::Sum],
) {
    if n == 0 {
        return;
    }
    let rows = RowMicrokernel {
        d,
        k_tile,
        n,
        b,
        bias,
    };
    if m as u64 * k as u64 * n as u64 >= PARALLEL_MACS {
        out.par_chunks_mut(n).enumerate().for_each_init(
            || vec![d.zero(); n],
            |s, (i, row)| rows.run(i, &a[i * k..(i + 1) * k], row, s),
        );
    } else {
        let mut s = vec![d.zero(); n];
        for (i, row) in out.chunks_mut(n).enumerate() {
            rows.run(i, &a[i * k..(i + 1) * k], row, &mut s);
        }
    }
}

/// Computes one output row; shared by the serial and the parallel loop.
struct RowMicrokernel<'a, D: Datapath> {
    d: D,
    /// K-tile length, 1 ≤ k_tile.
    k_tile: usize,
    n: usize,
    b: &'a [D::Operand],
    bias: Bias<'a, D::Bias>,
}

impl<D: Datapath> RowMicrokernel<'_, D> {
    /// Fills `out` (output row `i`) from `a_row` (row `i` of A, length k), using `s` as the
    /// K-tile's partial sums.
    fn run(&self, i: usize, a_row: &[D::Operand], out: &mut [D::Sum], s: &mut [D::Sum]) {
        let d = self.d;
        for (j, acc) in out.iter_mut().enumerate() {
            *acc = d.start(self.bias.at(i, j));
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
