//! A policy that preempts between K-tiles, for the tests that cut tile jobs.

use cdmsa::sched::{Decision, Edf, Policy, View};
use cdmsa::units::ArrayId;

/// EDF that, when a request with a ready job waits while every array is busy, cuts the job
/// of the latest-deadline running request at its next K-tile boundary.
pub struct KTileEdf;

impl Policy for KTileEdf {
    fn name(&self) -> &'static str {
        "edf-ktile"
    }

    fn preempts_within_jobs(&self) -> bool {
        true
    }

    fn decide_into(&mut self, view: &View, out: &mut Decision) {
        Edf.decide_into(view, out);
        if view.idle().next().is_some() {
            return;
        }
        let deadline = |id| {
            view.requests
                .iter()
                .find(|r| r.id == id)
                .map(|r| r.deadline)
        };
        let waiting = (view.requests.iter())
            .filter(|r| r.ready > 0)
            .map(|r| r.deadline)
            .min();
        let latest = (view.arrays.iter().enumerate())
            .filter_map(|(a, r)| r.and_then(deadline).map(|d| (d, a)))
            .max();
        if let (Some(w), Some((running, a))) = (waiting, latest)
            && w < running
        {
            out.preempt.push(ArrayId(a));
        }
    }
}
