//! The event loop, which defines a simulation: arrivals and job completions in time order,
//! each a [`Machine`] transition, then a decision point at which the policy is asked and its
//! decision carried out. The standing-order replay ([`super::replay`]) wraps the decision
//! point for policies that offer standing orders; it changes how often the policy is asked,
//! never the outcome.

use super::machine::Machine;
use super::machine::Pick;
use super::run::Sim;
use crate::config::Dataflow;
use crate::error::{Error, Result};
use crate::sched::{Decision, Policy, Standing, fusible};
use crate::units::{ArrayId, Cycles};

/// One pass of the simulation over a range of the sorted arrivals.
pub(super) struct Engine<'t, 'c> {
    /// The accelerator.
    pub(super) machine: Machine<'t, 'c>,
    /// How many of the sorted arrivals have arrived.
    next_arrival: usize,
    /// Arrivals at positions `end..` are not this engine's (yet).
    end: usize,
    /// The decision lent to the policy at every decision point.
    pub(super) decision: Decision,
    /// The policy's standing order while it holds (see [`super::replay`]).
    pub(super) standing: Option<Standing>,
    /// Whether the policy offers speed hooks ([`Policy::accelerated`]), asked once per run.
    accelerated: bool,
}

impl<'t, 'c> Engine<'t, 'c> {
    /// An empty accelerator at cycle 0 whose first arrival is at position `base`.
    pub(super) fn new(sim: Sim<'t, 'c>, base: usize) -> Self {
        Engine {
            machine: Machine::new(sim, base),
            next_arrival: base,
            end: base,
            decision: Decision::default(),
            standing: None,
            accelerated: false,
        }
    }

    /// Simulates the arrivals up to position `end` of the sorted list, and every event before
    /// `horizon` (all of them when `None`).
    pub(super) fn run(
        &mut self,
        policy: &mut dyn Policy,
        end: usize,
        horizon: Option<Cycles>,
    ) -> Result<()> {
        self.end = end;
        self.accelerated = policy.accelerated().is_some();
        let sim = self.machine.sim;
        loop {
            let arrival_at = sim.arrivals[self.next_arrival..end]
                .first()
                .map(|&i| sim.requests[i].arrival);
            let t = match (arrival_at, self.machine.next_event().map(|e| e.0)) {
                (Some(a), Some(q)) => a.min(q),
                (Some(a), None) => a,
                (None, Some(q)) => q,
                (None, None) => return Ok(()),
            };
            if horizon.is_some_and(|h| t >= h) {
                return Ok(());
            }
            debug_assert!(t >= self.machine.now, "events in time order");
            self.machine.now = t;
            let arrived = arrival_at == Some(t);
            while let Some(&i) = sim.arrivals[self.next_arrival..end].first()
                && arrived
                && sim.requests[i].arrival == t
            {
                self.next_arrival += 1;
                self.machine.out.events += 1;
                self.machine.arrive(i)?;
            }
            // Each busy array's pending event (a stream's last byte or a job's end) is
            // kept on the array, so no event is ever stale.
            let mut completed = false;
            while let Some((at, array)) = self.machine.next_event()
                && at == t
            {
                self.machine.out.events += 1;
                completed |= self.machine.event(array)?;
            }
            self.machine.clear_when_idle();
            // A stream's last byte frees no array and readies no job: the policy is asked at
            // arrivals and completions only.
            if arrived || completed {
                self.decision_point(policy, arrived)?;
            }
        }
    }

    /// Every arrival of its own in, no request active, no array busy (so no event pending):
    /// the accelerator as at cycle 0.
    pub(super) fn is_empty(&self) -> bool {
        self.next_arrival == self.end && self.machine.is_idle_everywhere()
    }

    /// A decision point: with an array idle (or at an arrival, for a policy that preempts
    /// between K-tiles) the policy decides, or its standing order stands in for it.
    #[inline(always)]
    fn decision_point(&mut self, policy: &mut dyn Policy, arrived: bool) -> Result<()> {
        let has_idle = self.machine.busy < self.machine.arrays();
        let asks = has_idle || (arrived && policy.preempts_within_jobs());
        if !asks {
            return Ok(());
        }
        if self.accelerated {
            return self.replay_or_decide(policy);
        }
        self.machine.changes.clear();
        if self.ask(policy) {
            self.apply(policy)?;
        }
        Ok(())
    }

    /// Asks `policy` on the views brought up to date, into `self.decision`; `false` (not
    /// asked) when no request has a ready job.
    #[inline(always)]
    pub(super) fn ask(&mut self, policy: &mut dyn Policy) -> bool {
        let m = &mut self.machine;
        m.views.refresh_stale(&m.active);
        if !m.views.any_ready() {
            return false;
        }
        self.decision.clear();
        let view = m.views.view(m.now, m.sim.cfg);
        policy.decide_changed(&view, m.views.changed(), &mut self.decision);
        m.views.clear_changed();
        true
    }

    /// Starts `first`'s request's next job on `array` (fused with `second`'s).
    #[inline(always)]
    pub(super) fn dispatch(
        &mut self,
        array: usize,
        first: (usize, Pick),
        second: Option<(usize, Pick)>,
    ) {
        self.machine.dispatch(array, first, second);
    }

    /// Carries out `self.decision`, which `policy` made; a decision the accelerator cannot
    /// carry out is an error naming the scheduler.
    pub(super) fn apply(&mut self, policy: &dyn Policy) -> Result<()> {
        // Entries are read by position: dispatching needs the engine mutably.
        for k in 0..self.decision.drop.len() {
            self.machine
                .drop_request(self.decision.drop[k].0 as usize)?;
        }
        for k in 0..self.decision.preempt.len() {
            let ArrayId(array) = self.decision.preempt[k];
            if array >= self.machine.arrays() {
                return Err(Error::Invalid(format!(
                    "scheduler '{}' preempted array {array} of {}",
                    policy.name(),
                    self.machine.arrays()
                )));
            }
            self.machine.preempt_between_k_tiles(array);
        }
        for k in 0..self.decision.assign.len() {
            let (ArrayId(array), r) = self.decision.assign[k];
            let i = r.0 as usize;
            match self.machine.pick(array, i) {
                Some(job) if self.machine.is_idle(array) => self.dispatch(array, (i, job), None),
                _ => {
                    return Err(Error::Invalid(format!(
                        "scheduler '{}' assigned array {array} to request {i}, which cannot take it",
                        policy.name()
                    )));
                }
            }
        }
        for k in 0..self.decision.fuse.len() {
            let (ArrayId(array), r1, r2) = self.decision.fuse[k];
            let (i, j) = (r1.0 as usize, r2.0 as usize);
            let cfg = self.machine.sim.cfg;
            let fits = |a: &Pick, b: &Pick| match (a.job.profile, b.job.profile) {
                (Some(a), Some(b)) => {
                    cfg.dataflow == Dataflow::Ws && fusible(cfg.rows, cfg.cols, a, b)
                }
                _ => false,
            };
            match (self.machine.next_job(i), self.machine.next_job(j)) {
                (Some(a), Some(b)) if self.machine.is_idle(array) && i != j && fits(&a, &b) => {
                    self.dispatch(array, (i, a), Some((j, b)));
                }
                _ => {
                    return Err(Error::Invalid(format!(
                        "scheduler '{}' fused requests {i} and {j} on array {array}, whose next jobs do not fit together",
                        policy.name()
                    )));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::segments::tests::setup;
    use super::super::{Mode, simulate};
    use crate::sched::{Decision, Policy, View};
    use crate::units::ArrayId;

    /// A policy that makes one kind of impossible decision.
    struct Rogue(u8);

    impl Policy for Rogue {
        fn name(&self) -> &'static str {
            "rogue"
        }

        fn decide_into(&mut self, view: &View, out: &mut Decision) {
            let r = view.requests[0].id;
            match self.0 {
                0 => out.assign.push((ArrayId(99), r)),
                1 => out.fuse.push((ArrayId(0), r, r)),
                _ => out.preempt.push(ArrayId(99)),
            }
        }
    }

    /// A decision the accelerator cannot carry out is an error naming the scheduler, the
    /// array and the requests, not a panic or a silent skip.
    #[test]
    fn impossible_decisions_are_errors() {
        let (cfg, models, reqs) = setup(2_000);
        for (kind, what) in [
            (0, "assigned array 99 to request 0"),
            (1, "fused requests 0 and 0 on array 0"),
            (2, "preempted array 99"),
        ] {
            let err = simulate(&cfg, &models, &reqs, &mut Rogue(kind), Mode::Timing)
                .expect_err("impossible decision");
            let msg = err.to_string();
            assert!(
                msg.contains("scheduler 'rogue'") && msg.contains(what),
                "{msg}"
            );
        }
    }
}
