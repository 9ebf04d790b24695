//! The weight-stationary array, cycle by cycle (see the [module docs](super#weight-stationary)).

use super::Job;
use crate::array::datapath::Datapath;
use crate::config::TimingMode;
use crate::kernel::GemmShape;
use crate::units::Cycles;

/// What row 0's feeder does in one cycle: send row `row` of A for fold `fold`.
#[derive(Debug, Clone, Copy)]
struct Feed {
    fold: usize,
    row: usize,
}

/// What column 0's weight loader does in one cycle: shift step `step` of fold `fold`'s preload.
#[derive(Debug, Clone, Copy)]
struct Shift {
    fold: usize,
    step: usize,
}

/// An activation in flight; `first` marks a fold's first row (switch to the shadow weight).
#[derive(Debug, Clone, Copy)]
struct Act<T> {
    value: T,
    first: bool,
}

/// One PE's registers.
#[derive(Clone, Copy)]
struct Pe<D: Datapath> {
    /// Preload chain: shifts down during a preload.
    chain: D::Operand,
    /// The next fold's weight, latched from the chain at the end of a preload.
    shadow: D::Operand,
    /// The weight the MACs use.
    weight: D::Operand,
    /// The activation, passed to the right-hand neighbour next cycle.
    act: Option<Act<D::Operand>>,
    /// The partial sum, passed to the PE below next cycle.
    psum: Option<D::Sum>,
}

/// Decides each cycle what row 0's feeder and column 0's weight loader do; the other rows and
/// columns replay these decisions with their skew.
struct Sequencer {
    timing: TimingMode,
    rows: usize,
    m: usize,
    folds: usize,
    /// The preload step to perform next, if a preload is under way.
    shifting: Option<Shift>,
    /// The fold whose weights are preloaded and waiting to stream.
    loaded: Option<usize>,
    /// The row to send next, if a fold is streaming.
    feeding: Option<Feed>,
    /// The next fold to stream.
    next_fold: usize,
}

impl Sequencer {
    fn new(timing: TimingMode, rows: usize, m: usize, folds: usize) -> Sequencer {
        Sequencer {
            timing,
            rows,
            m,
            folds,
            shifting: Some(Shift { fold: 0, step: 0 }),
            loaded: None,
            feeding: None,
            next_fold: 0,
        }
    }

    /// One cycle's decisions. A fold starts streaming once its preload has ended (in an
    /// earlier cycle) and the previous fold's last row has been sent.
    fn tick(&mut self) -> (Option<Feed>, Option<Shift>) {
        let feed = match self.feeding {
            Some(feed) => Some(feed),
            None if self.loaded == Some(self.next_fold) => {
                let fold = self.next_fold;
                self.loaded = None;
                self.next_fold += 1;
                if self.timing == TimingMode::Pipelined && fold + 1 < self.folds {
                    self.shifting = Some(Shift {
                        fold: fold + 1,
                        step: 0,
                    });
                }
                Some(Feed { fold, row: 0 })
            }
            None => None,
        };
        self.feeding = feed.filter(|f| f.row + 1 < self.m).map(|f| Feed {
            row: f.row + 1,
            ..f
        });
        let shift = self.shifting;
        if let Some(s) = shift {
            if s.step + 1 < self.rows {
                self.shifting = Some(Shift {
                    step: s.step + 1,
                    ..s
                });
            } else {
                self.shifting = None;
                self.loaded = Some(s.fold);
            }
        }
        (feed, shift)
    }

    /// Every output of `fold` has left the array (in the cycle just simulated).
    fn drained(&mut self, fold: usize) {
        if self.timing == TimingMode::Scalesim && fold + 1 < self.folds {
            self.shifting = Some(Shift {
                fold: fold + 1,
                step: 0,
            });
        }
    }
}

/// Runs one weight-stationary tile job; returns the outputs and the cycle the last one left.
///
/// # Panics
/// If `n > C`.
pub(super) fn run<D: Datapath>(job: &Job<D>, timing: TimingMode) -> (Vec<D::Sum>, Cycles) {
    let (rows, cols) = (job.rows, job.cols);
    let GemmShape { m, k, n } = job.shape;
    assert!(
        n <= cols,
        "a weight-stationary tile job has n ≤ {cols}, got {n}"
    );
    let folds = k.div_ceil(rows);
    let zero = D::Operand::default();
    let idle = Pe::<D> {
        chain: zero,
        shadow: zero,
        weight: zero,
        act: None,
        psum: None,
    };
    let mut grid = vec![idle; rows * cols];
    let mut next = grid.clone();
    let mut sequencer = Sequencer::new(timing, rows, m, folds);
    // The sequencer's decisions by cycle; row r and column c act on them r or c cycles late.
    let mut feeds: Vec<Option<Feed>> = Vec::new();
    let mut shifts: Vec<Option<Shift>> = Vec::new();
    let mut out = job.start_outputs();
    let mut emitted = vec![0usize; cols];
    let mut drained = 0;
    while drained < folds {
        let (feed, shift) = sequencer.tick();
        feeds.push(feed);
        shifts.push(shift);
        // The index of the cycle being simulated (cycle `now + 1`).
        let now = feeds.len() - 1;
        let left: Vec<_> = (0..rows)
            .map(|r| {
                delayed(&feeds, now, r).map(|f| Act {
                    value: job.a(f.row, f.fold * rows + r),
                    first: f.row == 0,
                })
            })
            .collect();
        let top: Vec<_> = (0..cols).map(|c| delayed(&shifts, now, c)).collect();
        clock(job, &grid, &mut next, &left, &top);
        std::mem::swap(&mut grid, &mut next);
        for (c, count) in emitted.iter_mut().enumerate() {
            if let Some(s) = grid[(rows - 1) * cols + c].psum {
                // Outputs leave a column in order: fold by fold, rows ascending.
                let i = *count % m;
                if c < n {
                    out[i * n + c] = job.d.merge(out[i * n + c], s);
                }
                *count += 1;
            }
        }
        while drained < folds && emitted.iter().all(|&e| e >= (drained + 1) * m) {
            sequencer.drained(drained);
            drained += 1;
        }
    }
    (out, Cycles(feeds.len() as u64))
}

/// One clock edge: every PE's registers in `next`, from `grid`, the activations entering each
/// row at the left edge, and the preload step each column performs.
fn clock<D: Datapath>(
    job: &Job<D>,
    grid: &[Pe<D>],
    next: &mut [Pe<D>],
    left: &[Option<Act<D::Operand>>],
    top: &[Option<Shift>],
) {
    let (d, rows, cols) = (job.d, job.rows, job.cols);
    for r in 0..rows {
        for c in 0..cols {
            let here = grid[r * cols + c];
            let act = if c == 0 {
                left[r]
            } else {
                grid[r * cols + c - 1].act
            };
            let psum_in = if r == 0 {
                act.map(|_| d.zero())
            } else {
                grid[(r - 1) * cols + c].psum
            };
            let weight = match act {
                Some(Act { first: true, .. }) => here.shadow,
                _ => here.weight,
            };
            let psum = match (act, psum_in) {
                (Some(a), Some(s)) => Some(d.mac(a.value, weight, s)),
                (None, None) => None,
                _ => unreachable!("activations and partial sums travel in lockstep"),
            };
            let (chain, shadow) = match top[c] {
                Some(s) => {
                    let chain = if r == 0 {
                        // The bottom row's weight goes in first.
                        job.b(s.fold * rows + (rows - 1 - s.step), c)
                    } else {
                        grid[(r - 1) * cols + c].chain
                    };
                    let last_step = s.step + 1 == rows;
                    (chain, if last_step { chain } else { here.shadow })
                }
                None => (here.chain, here.shadow),
            };
            next[r * cols + c] = Pe {
                chain,
                shadow,
                weight,
                act,
                psum,
            };
        }
    }
}

/// The decision taken `lag` cycles before cycle index `now`, if there was one.
fn delayed<T: Copy>(log: &[Option<T>], now: usize, lag: usize) -> Option<T> {
    now.checked_sub(lag).and_then(|t| log[t])
}
