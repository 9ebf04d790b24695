//! LLF: global least-laxity-first, re-decided only at tile-job boundaries (the usual guard
//! against thrashing between equal-laxity tasks).

use super::{Accelerated, Decision, Policy, View};

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

impl Accelerated for Llf {
    /// Stateless.
    fn fork(&mut self) -> Option<Box<dyn Policy>> {
        Some(Box::new(*self))
    }
}
