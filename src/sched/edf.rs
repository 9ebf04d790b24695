//! EDF: global earliest-deadline-first at tile-job granularity over all arrays.

use super::{Accelerated, Decision, Ordered, Policy, RequestView, Standing, View};
use crate::units::{Cycles, RequestId};

/// EDF's order: deadline, then arrival, then request id (fixed for a request's lifetime).
fn key(r: &RequestView) -> (Cycles, Cycles, RequestId) {
    (r.deadline, r.arrival, r.id)
}

/// Earliest deadline first; ties by arrival, then request id.
#[derive(Debug, Clone, Copy, Default)]
pub struct Edf;

impl Policy for Edf {
    fn name(&self) -> &'static str {
        "edf"
    }

    fn decide_into(&mut self, view: &View, out: &mut Decision) {
        out.assign_greedy_by_key(view, key);
    }

    fn accelerated(&mut self) -> Option<&mut dyn Accelerated> {
        Some(self)
    }
}

impl Ordered for Edf {
    type Key = (Cycles, Cycles, RequestId);
    const FIXED: bool = true;
    fn key(&self, r: &RequestView, _arrays: usize) -> Self::Key {
        key(r)
    }
}

impl Accelerated for Edf {
    /// Keys never change, and meanwhile only the chosen request's ready jobs run out: the
    /// earliest-deadline request with a ready job keeps taking every idle array it has a
    /// ready job for.
    fn standing_order(&mut self, view: &View, _decision: &Decision) -> Option<Standing> {
        view.requests
            .iter()
            .filter(|r| r.ready > 0)
            .min_by_key(|r| key(r))
            .map(|r| Standing::open(r.id))
    }

    /// Stateless.
    fn fork(&mut self) -> Option<Box<dyn Policy>> {
        Some(Box::new(*self))
    }
}
