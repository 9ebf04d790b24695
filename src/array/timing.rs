//! Closed-form cycle counts of a tile job, per dataflow and timing mode (SCALE-Sim v2's
//! mapping), each tested against the PE-level model's own count.

use super::ArraySpec;
use crate::config::{Dataflow, TimingMode};
use crate::kernel::GemmShape;
use crate::units::Cycles;

/// Cycles of a tile job `shape` on an `R×C` array.
///
/// * **WS**: the job streams `m` rows of A through `F = ⌈k/R⌉` folds of preloaded weights.
///   One fold takes `2R + C + m − 2` cycles (R of them preload). `Scalesim`: folds back to
///   back, `F·(2R + C + m − 2)`. `Pipelined`: the next fold's weights preload into shadow
///   registers while the current fold streams, and its first row enters once the current
///   fold's last row has entered and the preload is done: `R + (F−1)·max(m, R) + m + R + C − 2`.
///   A shape with `n > C` counts as `⌈n/C⌉` separate tile jobs, summed.
/// * **IS**: as WS with the roles of `m` and `n` swapped (inputs are stationary, `n` weight
///   columns stream): `⌈m/C⌉` jobs of `⌈k/R⌉` folds streaming `n` vectors each.
/// * **OS**: `⌈m/R⌉·⌈n/C⌉` jobs (one when `m ≤ R` and `n ≤ C`), each `R + C + k − 2` in
///   both modes.
///
/// SCALE-Sim prints "Total Cycles" as this `Scalesim` count minus one. A shape with no work
/// (`m`, `k` or `n` zero) takes 0 cycles. Arithmetic saturates at `u64::MAX`.
///
/// # Panics
/// If the spec has no rows or columns.
pub fn tile_cycles(spec: &ArraySpec, shape: GemmShape) -> Cycles {
    spec.assert_valid();
    let (r, c) = (spec.rows as u64, spec.cols as u64);
    let (m, k, n) = (shape.m as u64, shape.k as u64, shape.n as u64);
    if m == 0 || k == 0 || n == 0 {
        return Cycles::ZERO;
    }
    let cycles = match spec.dataflow {
        Dataflow::Ws => n
            .div_ceil(c)
            .saturating_mul(folded(spec.timing, r, c, k.div_ceil(r), m)),
        Dataflow::Is => m
            .div_ceil(c)
            .saturating_mul(folded(spec.timing, r, c, k.div_ceil(r), n)),
        Dataflow::Os => m
            .div_ceil(r)
            .saturating_mul(n.div_ceil(c))
            .saturating_mul(sum(&[r, c, k]).saturating_sub(2)),
    };
    Cycles(cycles)
}

/// One job of `folds ≥ 1` folds of preloaded operands, each streaming `len ≥ 1` vectors.
fn folded(timing: TimingMode, r: u64, c: u64, folds: u64, len: u64) -> u64 {
    match timing {
        TimingMode::Scalesim => folds.saturating_mul(sum(&[r, r, c, len]).saturating_sub(2)),
        TimingMode::Pipelined => {
            let overlapped = (folds - 1).saturating_mul(len.max(r));
            sum(&[r, overlapped, len, r, c]).saturating_sub(2)
        }
    }
}

/// Saturating sum.
fn sum(terms: &[u64]) -> u64 {
    terms.iter().fold(0, |acc, &t| acc.saturating_add(t))
}
