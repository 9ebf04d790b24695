//! The output-stationary array, cycle by cycle (see the [module docs](super#output-stationary)).

use super::Job;
use crate::array::datapath::Datapath;
use crate::kernel::GemmShape;
use crate::units::Cycles;

/// One PE's registers.
#[derive(Clone, Copy)]
struct Pe<D: Datapath> {
    /// The A value, passed to the right-hand neighbour next cycle.
    a: Option<D::Operand>,
    /// The B value, passed to the PE below next cycle.
    b: Option<D::Operand>,
    /// The partial sum of this PE's output.
    sum: D::Sum,
    /// MACs performed so far.
    macs: usize,
}

/// Runs one output-stationary tile job; returns the outputs and the cycle the last PE
/// performed its last MAC.
///
/// # Panics
/// If `m > R` or `n > C`.
pub(super) fn run<D: Datapath>(job: &Job<D>) -> (Vec<D::Sum>, Cycles) {
    let d = job.d;
    let (rows, cols) = (job.rows, job.cols);
    let GemmShape { m, k, n } = job.shape;
    assert!(
        m <= rows && n <= cols,
        "an output-stationary tile job has m ≤ {rows} and n ≤ {cols}, got {m}×{n}"
    );
    let idle = Pe::<D> {
        a: None,
        b: None,
        sum: d.zero(),
        macs: 0,
    };
    let mut grid = vec![idle; rows * cols];
    let mut next = grid.clone();
    let zero = D::Operand::default();
    // Row r of A (zeros for rows the job does not use) enters from cycle index r on.
    let left = |t: usize, r: usize| {
        let kk = t.checked_sub(r).filter(|&kk| kk < k)?;
        Some(if r < m { job.a(r, kk) } else { zero })
    };
    // Column c of B (zeros for unused columns) enters from cycle index c on.
    let top = |t: usize, c: usize| t.checked_sub(c).filter(|&kk| kk < k).map(|kk| job.b(kk, c));
    let mut finished = 0;
    // Cycles simulated so far; the one being simulated is cycle `now + 1`.
    let mut now = 0usize;
    while finished < rows * cols {
        for r in 0..rows {
            for c in 0..cols {
                let here = grid[r * cols + c];
                let a = if c == 0 {
                    left(now, r)
                } else {
                    grid[r * cols + c - 1].a
                };
                let b = if r == 0 {
                    top(now, c)
                } else {
                    grid[(r - 1) * cols + c].b
                };
                let (sum, macs) = match (a, b) {
                    (Some(a), Some(b)) => (d.mac(a, b, here.sum), here.macs + 1),
                    (None, None) => (here.sum, here.macs),
                    _ => unreachable!("A and B values meet in lockstep"),
                };
                if macs == k && here.macs < k {
                    finished += 1;
                }
                next[r * cols + c] = Pe { a, b, sum, macs };
            }
        }
        std::mem::swap(&mut grid, &mut next);
        now += 1;
    }
    let mut out = job.start_outputs();
    for (idx, acc) in out.iter_mut().enumerate() {
        let (i, j) = (idx / n, idx % n);
        *acc = d.merge(*acc, grid[i * cols + j].sum);
    }
    (out, Cycles(now as u64))
}
