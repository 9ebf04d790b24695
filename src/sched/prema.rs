//! PREMA (Choi and Rhu, HPCA'20): token-based predictive scheduling of one task at a time.
//!
//! Each request holds a token that starts at its priority (1, 3 or 9). At every decision each
//! waiting request (active, but not the one PREMA last chose to run) gains
//! `priority × waited / isolated`, its slowdown over the interval weighted by its priority,
//! `waited` being the cycles since its token was last updated (the previous decision, or its
//! arrival). The threshold is the highest of the levels 9, 3, 1 that some token reaches; among
//! the requests whose token is at or above it, the one with the shortest estimated remaining
//! time on the whole accelerator runs. Ties go to the earlier arrival, then the lower id.
//!
//! Temporal multitasking: the chosen request gets every idle array its ready jobs can use, and
//! no other request starts a job beside it.
//!
//! Preemption mechanism. PREMA chooses per preemption between CHECKPOINT (save the running
//! task's partial state to DRAM and restore it later, paying for both transfers), DRAIN (stop
//! issuing its work and let what is in flight finish) and KILL (discard its work and redo it).
//! Here a request runs as tile jobs, each with all its K-tiles, so a tile job leaves no partial
//! sum behind: every tile-job boundary is a checkpoint of size zero. Preemption therefore
//! drains, at tile granularity: when the chosen request changes, the old one's running tile
//! jobs finish (at most one tile job per array) and the arrays they free go to the new one,
//! which meanwhile starts on the idle arrays. Nothing is saved, restored or recomputed, so no
//! choice of CHECKPOINT or KILL could cost less.
//!
//! Bounded decisions. A token is `priority × (1 + waited / isolated)`, `waited` the cycles the
//! request has been active and not chosen: a linear function of time while it waits, frozen
//! while it is chosen. So the moment a token reaches a level is known in advance, in integers
//! (`priority × (isolated + waited) ≥ level × isolated`), and each level keeps a heap of those
//! moments and the set of requests that have reached it, ranked by estimated remaining time.
//! A decision moves the requests whose moment has come, re-ranks the requests that changed
//! ([`Policy::decide_changed`]) and takes the first of the highest non-empty level: amortised
//! O((a + c) log n) for `a` arrays, `c` changed and `n` queued requests. Computing a token
//! once from its exact waited cycles, instead of summing one rounded gain per decision, can
//! only move a level crossing that the summed rounding errors placed a cycle off it.

use super::{Decision, Place, Policy, TenantInfo, View};
use crate::units::{Cycles, RequestId};
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};

/// The priority levels, highest first: the candidate threshold is the first one reached.
const LEVELS: [u64; 3] = [9, 3, 1];

/// A request's rank among the candidates: estimated remaining time on the whole accelerator,
/// then arrival, then id.
type Rank = (Cycles, Cycles, RequestId);

/// What PREMA keeps of an active request.
#[derive(Debug, Clone, Copy)]
struct Entry {
    priority: u8,
    /// Isolated latency (at least 1 cycle).
    isolated: u64,
    /// Cycles it was the chosen request, its token frozen.
    held: u64,
    /// Which levels its token has reached.
    reached: [bool; 3],
    /// The moment queued in each level's heap (the only one that counts).
    queued: [Option<Cycles>; 3],
    /// Its rank in the candidate sets.
    rank: Rank,
}

impl Entry {
    /// The first cycle at which the token, arrived at `arrival`, reaches level `j` if the
    /// request waits from now on (`None`: never, a priority of 0).
    fn reaches(&self, arrival: Cycles, j: usize) -> Option<Cycles> {
        let p = u128::from(self.priority);
        if p == 0 {
            return None;
        }
        let iso = u128::from(self.isolated);
        // priority × (isolated + waited) ≥ level × isolated.
        let waited = (u128::from(LEVELS[j]) * iso)
            .div_ceil(p)
            .saturating_sub(iso);
        let at = u128::from(arrival.0) + u128::from(self.held) + waited;
        Some(Cycles(u64::try_from(at).unwrap_or(u64::MAX)))
    }
}

/// PREMA's predictive, token-based, preemptive temporal scheduler.
#[derive(Debug, Clone, Default)]
pub struct Prema {
    /// The active requests as of the last decision.
    entries: HashMap<Place, Entry>,
    /// For each level, the moments at which waiting requests reach it.
    moments: [BinaryHeap<Reverse<(Cycles, Place)>>; 3],
    /// For each level, the requests that have reached it; then every request (the candidates
    /// when no token reaches level 1).
    candidates: [BTreeSet<Rank>; 4],
    /// The request chosen at the last decision.
    current: Option<Place>,
    /// The last decision's time.
    last: Cycles,
}

impl Prema {
    /// A request's token as of the last decision (`None`: not seen, or gone).
    pub fn token(&self, id: RequestId) -> Option<f64> {
        let (&(arrival, _), e) = self.entries.iter().find(|(p, _)| p.1 == id)?;
        let waited = self.last.0.saturating_sub(arrival.0).saturating_sub(e.held);
        let p = f64::from(e.priority);
        Some(p + p * waited as f64 / e.isolated as f64)
    }

    /// Forgets the request at `place`.
    fn forget(&mut self, place: Place) {
        if let Some(e) = self.entries.remove(&place) {
            for (j, set) in self.candidates.iter_mut().enumerate() {
                if j == 3 || e.reached[j] {
                    set.remove(&e.rank);
                }
            }
        }
    }

    /// Queues the moments at which the request at `place` reaches the levels it has not.
    fn queue(&mut self, place: Place) {
        let Some(e) = self.entries.get_mut(&place) else {
            return;
        };
        for j in 0..LEVELS.len() {
            if !e.reached[j] {
                e.queued[j] = e.reaches(place.0, j);
                if let Some(at) = e.queued[j] {
                    self.moments[j].push(Reverse((at, place)));
                }
            }
        }
    }

    /// Brings the entries up to `view` for the requests at `changed` (arrived, changed or
    /// left) and moves every token that reached a level by now into its candidates.
    fn update(&mut self, view: &View, changed: &[Place]) {
        let n = view.num_arrays();
        if let Some(e) = self.current.and_then(|c| self.entries.get_mut(&c)) {
            e.held += view.now.0.saturating_sub(self.last.0);
        }
        self.last = view.now;
        for &place in changed {
            let Some(r) = view.find(place) else {
                self.forget(place);
                continue;
            };
            let rank = (r.estimate(n), r.arrival, r.id);
            match self.entries.get_mut(&place) {
                Some(e) => {
                    if e.rank != rank {
                        for (j, set) in self.candidates.iter_mut().enumerate() {
                            if j == 3 || e.reached[j] {
                                set.remove(&e.rank);
                                set.insert(rank);
                            }
                        }
                        e.rank = rank;
                    }
                }
                None => {
                    let e = Entry {
                        priority: r.priority,
                        isolated: r.isolated.0.max(1),
                        held: 0,
                        reached: [false; 3],
                        queued: [None; 3],
                        rank,
                    };
                    self.entries.insert(place, e);
                    self.candidates[3].insert(rank);
                    self.queue(place);
                }
            }
        }
        for j in 0..LEVELS.len() {
            while let Some(&Reverse((at, place))) = self.moments[j].peek()
                && at <= view.now
            {
                self.moments[j].pop();
                let current = self.current == Some(place);
                let Some(e) = self.entries.get_mut(&place) else {
                    continue;
                };
                if e.reached[j] || e.queued[j] != Some(at) {
                    continue;
                }
                if current {
                    // Frozen: queued again when it stops being chosen.
                    e.queued[j] = None;
                    continue;
                }
                e.reached[j] = true;
                self.candidates[j].insert(e.rank);
            }
        }
    }

    /// The request to run: the shortest estimated remaining time among those whose token
    /// reaches the threshold, the highest level some token reaches.
    fn select(&self) -> Option<Place> {
        let set = self.candidates.iter().find(|s| !s.is_empty())?;
        set.first().map(|&(_, arrival, id)| (arrival, id))
    }

    /// Chooses `chosen`: the request chosen before waits again, from now.
    fn choose(&mut self, chosen: Option<Place>) {
        if chosen != self.current {
            if let Some(old) = self.current {
                self.queue(old);
            }
            self.current = chosen;
        }
    }
}

impl Policy for Prema {
    fn name(&self) -> &'static str {
        "prema"
    }

    fn reset(&mut self, _tenants: &[TenantInfo], _arrays: usize) {
        *self = Prema::default();
    }

    /// Every request changed, and every request kept that is not in `view` left.
    fn decide_into(&mut self, view: &View, out: &mut Decision) {
        let mut all: Vec<Place> = view.places().collect();
        all.extend(self.entries.keys().filter(|&&p| view.find(p).is_none()));
        self.decide_changed(view, &all, out);
    }

    fn decide_changed(&mut self, view: &View, changed: &[Place], out: &mut Decision) {
        self.update(view, changed);
        let chosen = self.select();
        self.choose(chosen);
        let chosen = chosen.and_then(|p| view.find(p));
        out.assign_greedy(view, chosen);
    }
}
