//! LLF: global least-laxity-first, re-decided only at tile-job boundaries (the usual guard
//! against thrashing between equal-laxity tasks).

use super::{Accelerated, Decision, Ordered, Policy, RequestView, View};
use crate::units::{Cycles, RequestId};

/// Least laxity first; laxity uses every array the request could use.
#[derive(Debug, Clone, Copy, Default)]
pub struct Llf;

impl Policy for Llf {
    fn name(&self) -> &'static str {
        "llf"
    }

    fn decide_into(&mut self, view: &View, out: &mut Decision) {
        let n = view.num_arrays();
        out.assign_greedy_by_key(view, |r| {
            (r.laxity(view.now, n.min(r.parallelism())), r.deadline, r.id)
        });
    }

    fn accelerated(&mut self) -> Option<&mut dyn Accelerated> {
        Some(self)
    }
}

impl Ordered for Llf {
    type Key = (i128, Cycles, RequestId);
    const FIXED: bool = false;
    /// Laxity plus the decision's time, `deadline − estimate`, then deadline and id, as
    /// [`Llf`] ranks: the shift is the same for every request at a decision, so the ranking
    /// is laxity's. (Laxity saturates at ±2^63 cycles, so requests whose deadlines lie beyond
    /// 2^63 cycles, centuries at any preset's clock, could rank otherwise among themselves.)
    fn key(&self, r: &RequestView, arrays: usize) -> Self::Key {
        let k = arrays.min(r.parallelism());
        (
            i128::from(r.deadline.0) - i128::from(r.estimate(k).0),
            r.deadline,
            r.id,
        )
    }
}

impl Accelerated for Llf {
    /// Stateless.
    fn fork(&mut self) -> Option<Box<dyn Policy>> {
        Some(Box::new(*self))
    }
}
