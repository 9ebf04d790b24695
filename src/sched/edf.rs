//! EDF: global earliest-deadline-first at tile-job granularity over all arrays.

use super::{Decision, Policy, View};

/// Earliest deadline first; ties by arrival, then request id.
#[derive(Debug, Clone, Copy, Default)]
pub struct Edf;

impl Policy for Edf {
    fn name(&self) -> &'static str {
        "edf"
    }

    fn decide(&mut self, view: &View) -> Decision {
        let mut order: Vec<_> = view.requests.iter().collect();
        order.sort_by_key(|r| (r.deadline, r.arrival, r.id));
        Decision::greedy(view, order)
    }
}
