//! EDF: global earliest-deadline-first at tile-job granularity over all arrays.

use super::{Decision, Policy, View};

/// Earliest deadline first; ties by arrival, then request id.
#[derive(Debug, Clone, Copy, Default)]
pub struct Edf;

impl Policy for Edf {
    fn name(&self) -> &'static str {
        "edf"
    }

    fn decide_into(&mut self, view: &View, out: &mut Decision) {
        out.assign_greedy_by_key(view, |r| (r.deadline, r.arrival, r.id));
    }
}
