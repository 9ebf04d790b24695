//! The PE-level model: a cycle-by-cycle register-transfer simulation of `R×C` PEs. It is the
//! definition of the array's values and cycles; the fast datapath and [`super::tile_cycles`]
//! are tested against it. Meant for small arrays (tests), not for speed.
//!
//! A tile job occupies the whole physical array: rows and columns it does not use hold zero
//! weights (or zero operands) and the data still crosses all `R` rows and `C` columns, so the
//! cycle count does not depend on how full the tile is. Cycles are numbered from 1; the count
//! is the cycle in which the last result leaves the array (weight-stationary) or becomes final
//! in its PE (output-stationary), found by running the simulation until it happens.
//!
//! Weight- and output-stationary arrays are modelled as described below. Input-stationary has
//! no PE model: its values follow the weight-stationary K-tiling and its timing is the closed
//! form only.
//!
//! # Weight-stationary
//!
//! Each PE has a weight-shift register (the preload chain), a shadow weight, the active
//! weight, an activation register (passed right) and a partial-sum register (passed down).
//! A job of `F = ⌈k/R⌉` folds: fold `f` holds weights `B[fR + r][c]` in PE `(r, c)`.
//!
//! * Preload: a column's chain shifts down one row per cycle for `R` cycles, bottom row's
//!   weight first, and on the last shift every PE of the column latches its chain value into
//!   its shadow weight. Column `c` runs `c` cycles after column 0, like the data, so that a
//!   PE latches the next fold's weight only once the current fold's first row has made it
//!   switch to the current one.
//! * Streaming: row `i` of A enters PE row `r` at the left edge `i + r` cycles after the
//!   fold's first row entered row 0 (the feeders are skewed), and moves right one PE per
//!   cycle. The first row of a fold carries a flag: a PE seeing it copies its shadow weight
//!   into the active weight before its MAC. Row-0 PEs start a partial sum at zero; every PE
//!   computes `a·w + s` and passes it down; the bottom PE of column `c` emits output
//!   `(i, c)`, which the column's output accumulator (started at the bias) adds in fold order.
//! * `Scalesim` timing: a fold's preload starts the cycle after all outputs of the previous
//!   fold have left; its first row enters the cycle after its preload ends.
//! * `Pipelined` timing: fold `f+1`'s preload starts in the cycle fold `f`'s first row enters,
//!   and fold `f+1`'s first row enters in the first cycle after both fold `f`'s last row
//!   has entered and that preload has ended.
//!
//! # Output-stationary
//!
//! PE `(r, c)` holds the partial sum of output `(r, c)`. Row `r` of A enters the left edge
//! from cycle `r + 1` on, one `k` per cycle, and moves right; column `c` of B enters the top
//! from cycle `c + 1` on and moves down; so PE `(r, c)` performs its MAC for `k` in cycle
//! `k + r + c + 1`. When every PE has done its `k` MACs, each output accumulator adds its
//! PE's sum to the bias.

mod os;
mod ws;

use super::datapath::{Datapath, FloatRule, FusedF32, IntMac, Psum16};
use super::{ArraySpec, IntGemmOut, assert_operands};
use crate::config::Dataflow;
use crate::kernel::{FloatFormat, GemmShape};
use crate::units::Cycles;

/// Integer tile job on the PE-level model: values as [`super::gemm_int`], and the cycle count.
///
/// # Panics
/// If the shape is not one tile job for the dataflow (WS: `n ≤ C`; OS: `m ≤ R` and `n ≤ C`),
/// if `m` or `k` is 0, if a buffer is shorter than the shape needs, or for input-stationary.
pub fn run_int(
    spec: &ArraySpec,
    shape: GemmShape,
    a: &[i16],
    b: &[i16],
    bias: Option<&[i32]>,
) -> (IntGemmOut, Cycles) {
    let (exact, cycles) = run(IntMac, spec, shape, a, b, bias);
    (IntGemmOut::from_exact(exact), cycles)
}

/// Floating-point tile job on the PE-level model: values as [`super::gemm_float`], and the
/// cycle count.
///
/// # Panics
/// As [`run_int`].
pub fn run_float(
    spec: &ArraySpec,
    fmt: FloatFormat,
    shape: GemmShape,
    a: &[f32],
    b: &[f32],
    bias: Option<&[f32]>,
) -> (Vec<f32>, Cycles) {
    match FloatRule::new(fmt, spec.psum) {
        FloatRule::Fused => run(FusedF32, spec, shape, a, b, bias),
        FloatRule::Psum16(half) => run(Psum16(half), spec, shape, a, b, bias),
    }
}

/// The operands of one tile job, as the simulations read them.
struct Job<'a, D: Datapath> {
    d: D,
    rows: usize,
    cols: usize,
    shape: GemmShape,
    a: &'a [D::Operand],
    b: &'a [D::Operand],
    bias: Option<&'a [D::Bias]>,
}

impl<D: Datapath> Job<'_, D> {
    /// `A[i][kk]`, or zero past the end of the reduction.
    fn a(&self, i: usize, kk: usize) -> D::Operand {
        if kk < self.shape.k {
            self.a[i * self.shape.k + kk]
        } else {
            D::Operand::default()
        }
    }

    /// `B[kk][c]`, or zero past the reduction or in a column the job does not use.
    fn b(&self, kk: usize, c: usize) -> D::Operand {
        if kk < self.shape.k && c < self.shape.n {
            self.b[kk * self.shape.n + c]
        } else {
            D::Operand::default()
        }
    }

    /// The output accumulators before any partial sum arrives, `m×n` row-major.
    fn start_outputs(&self) -> Vec<D::Sum> {
        let start = |j: usize| {
            self.d
                .start(self.bias.map_or_else(Default::default, |bias| bias[j]))
        };
        (0..self.shape.m * self.shape.n)
            .map(|idx| start(idx % self.shape.n))
            .collect()
    }
}

fn run<D: Datapath>(
    d: D,
    spec: &ArraySpec,
    shape: GemmShape,
    a: &[D::Operand],
    b: &[D::Operand],
    bias: Option<&[D::Bias]>,
) -> (Vec<D::Sum>, Cycles) {
    spec.assert_valid();
    assert_operands(shape, a, b, bias.into());
    assert!(
        shape.m >= 1 && shape.k >= 1,
        "the PE-level model needs m ≥ 1 and k ≥ 1, got {shape:?}"
    );
    let job = Job {
        d,
        rows: spec.rows,
        cols: spec.cols,
        shape,
        a,
        b,
        bias,
    };
    match spec.dataflow {
        Dataflow::Ws => ws::run(&job, spec.timing),
        Dataflow::Os => os::run(&job),
        Dataflow::Is => {
            panic!("the PE-level model covers weight- and output-stationary arrays only")
        }
    }
}
