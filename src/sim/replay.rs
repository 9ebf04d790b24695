//! The standing-order replay: a wrapper around the engine's decision point for policies
//! that offer [`Accelerated::standing_order`](crate::sched::Accelerated::standing_order).
//! While the policy's standing order holds and covers every idle array, it is the decision
//! and the policy is not asked; otherwise the policy decides as in the plain loop and may
//! leave a new order. The outcome is the plain loop's (tests/sim_fast_path.rs runs both).

use super::engine::Engine;
use super::machine::Changes;
use crate::error::Result;
use crate::sched::{Policy, Standing};
use crate::units::RequestId;

/// Whether standing order `s` survives `changes` (the one place an order ends, besides a
/// new decision replacing it): the requests and their layers are the same and no job was
/// preempted between K-tiles; for an open order no fused job completed; for a checked one
/// only jobs of its request and partner completed.
fn survives(s: &Standing, changes: &Changes) -> bool {
    let own = |&i: &usize| {
        let id = RequestId(i as u64);
        s.request == id || s.partner == Some(id)
    };
    !changes.reshaped
        && match s.checked {
            false => !changes.fused_completed,
            true => changes.completed.iter().all(own),
        }
}

impl Engine<'_, '_> {
    /// The decision point of a policy with speed hooks: the standing order when it stands,
    /// otherwise the plain decision and the policy's new standing order.
    pub(super) fn replay_or_decide(&mut self, policy: &mut dyn Policy) -> Result<()> {
        let changes = &self.machine.changes;
        self.standing = self.standing.filter(|s| survives(s, changes));
        self.machine.changes.clear();
        if let Some(s) = self.standing
            && self.follow(policy, s)
        {
            return Ok(());
        }
        if !self.ask(policy) {
            return Ok(());
        }
        // A promise covers decisions that drop and preempt nothing.
        let plain = self.decision.drop.is_empty() && self.decision.preempt.is_empty();
        let m = &self.machine;
        let view = m.views.view(m.now, m.sim.cfg);
        let standing = match policy.accelerated() {
            Some(a) if plain => a.standing_order(&view, &self.decision),
            _ => None,
        };
        let applied = self.apply(policy);
        // The decision's own dispatches change nothing the new order depends on.
        self.machine.changes.clear();
        self.standing = standing;
        applied
    }

    /// Dispatches standing order `s` to every idle array, when its request (and partner)
    /// have the jobs and, for a checked order, the policy confirms; `false` otherwise.
    fn follow(&mut self, policy: &mut dyn Policy, s: Standing) -> bool {
        let m = &self.machine;
        let (w, idle) = (s.request.0 as usize, m.arrays() - m.busy);
        let p = s.partner.map(|p| p.0 as usize);
        let ready = match p {
            None => m.ready_jobs(w) >= idle,
            Some(p) => idle == 1 && m.ready_jobs(w) > 0 && m.ready_jobs(p) > 0,
        };
        if !ready || (s.checked && !self.confirm(policy, w, p, idle)) {
            return false;
        }
        for array in 0..self.machine.arrays() {
            if self.machine.is_idle(array) {
                match p {
                    None => {
                        let job = self.machine.pick(array, w);
                        let job = job.expect("a ready job for every idle array");
                        self.dispatch(array, (w, job), None);
                    }
                    Some(p) => {
                        let job = self.machine.next_job(w).expect("a ready job");
                        let second = self.machine.next_job(p).expect("a ready partner job");
                        self.dispatch(array, (w, job), Some((p, second)));
                    }
                }
            }
        }
        true
    }

    /// Asks `policy` whether its checked standing order for request `w` (with partner `p`)
    /// holds now, with `idle` arrays idle; only their views can be out of date.
    fn confirm(
        &mut self,
        policy: &mut dyn Policy,
        w: usize,
        p: Option<usize>,
        idle: usize,
    ) -> bool {
        let m = &mut self.machine;
        for i in std::iter::once(w).chain(p) {
            let k = m.at(i);
            m.views.refresh(k, &m.active);
        }
        let view = m.views.view(m.now, m.sim.cfg);
        policy.accelerated().is_none_or(|a| a.confirm(&view, idle))
    }
}
