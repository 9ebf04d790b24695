//! `ArraySpec`: the geometry and modes of one array, as the datapath and timing need them.

use crate::config::{AcceleratorConfig, Dataflow, PsumType, TimingMode};

/// The array's geometry and mode, from [`AcceleratorConfig`].
///
/// `rows` and `cols` must be at least 1 (a validated configuration guarantees it); every
/// function taking a spec asserts this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArraySpec {
    /// PE rows `R` (the K-tile length of the weight- and input-stationary dataflows).
    pub rows: usize,
    /// PE columns `C`.
    pub cols: usize,
    /// Which operand stays in the PEs.
    pub dataflow: Dataflow,
    /// How consecutive folds overlap.
    pub timing: TimingMode,
    /// Partial-sum type of the fp16/bf16 datapaths.
    pub psum: PsumType,
}

impl ArraySpec {
    /// The spec of each array of an accelerator.
    pub fn from_config(c: &AcceleratorConfig) -> ArraySpec {
        ArraySpec {
            rows: c.rows,
            cols: c.cols,
            dataflow: c.dataflow,
            timing: c.timing,
            psum: c.psum,
        }
    }

    /// The length of one K-tile for a reduction of length `k`: `rows` for weight- and
    /// input-stationary, all of `k` (at least 1) for output-stationary.
    pub(crate) fn k_tile(&self, k: usize) -> usize {
        match self.dataflow {
            Dataflow::Ws | Dataflow::Is => self.rows,
            Dataflow::Os => k.max(1),
        }
    }

    /// Whether a reduction of length `k` ends in a K-tile shorter than the array's rows, so
    /// that the rows below it multiply zeros into the partial sums.
    pub(crate) fn pads_last_k_tile(&self, k: usize) -> bool {
        !k.is_multiple_of(self.k_tile(k))
    }

    /// # Panics
    /// If the array has no rows or no columns.
    pub(crate) fn assert_valid(&self) {
        assert!(
            self.rows >= 1 && self.cols >= 1,
            "array of {}×{} PEs",
            self.rows,
            self.cols
        );
    }
}
