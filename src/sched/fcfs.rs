//! FCFS: one request at a time on every array, non-preemptive (today's accelerators).

use super::{Accelerated, Decision, Policy, Standing, View};

/// First come, first served; the oldest request owns the whole accelerator until it finishes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fcfs;

impl Policy for Fcfs {
    fn name(&self) -> &'static str {
        "fcfs"
    }

    fn decide_into(&mut self, view: &View, out: &mut Decision) {
        // Requests are in arrival order; only the oldest may run.
        out.assign_greedy(view, view.requests.iter().take(1));
    }

    fn accelerated(&mut self) -> Option<&mut dyn Accelerated> {
        Some(self)
    }
}

impl Accelerated for Fcfs {
    /// The oldest request takes every idle array it has a ready job for.
    fn standing_order(&mut self, view: &View, _decision: &Decision) -> Option<Standing> {
        view.requests
            .first()
            .filter(|r| r.ready > 0)
            .map(|r| Standing::open(r.id))
    }

    /// Stateless.
    fn fork(&mut self) -> Option<Box<dyn Policy>> {
        Some(Box::new(*self))
    }
}
