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

use super::{Decision, Policy, View};
use crate::units::{Cycles, RequestId, TenantId};
use std::collections::HashMap;

/// The priority levels, highest first: the candidate threshold is the first one reached.
const LEVELS: [f64; 3] = [9.0, 3.0, 1.0];

/// A request's token and when it was last brought up to date.
#[derive(Debug, Clone, Copy)]
struct Token {
    value: f64,
    updated: Cycles,
}

/// PREMA's predictive, token-based, preemptive temporal scheduler.
#[derive(Debug, Clone, Default)]
pub struct Prema {
    tokens: HashMap<RequestId, Token>,
    current: Option<RequestId>,
}

impl Prema {
    /// A request's token as of the last decision (`None`: not seen, or gone).
    pub fn token(&self, id: RequestId) -> Option<f64> {
        self.tokens.get(&id).map(|t| t.value)
    }

    /// Brings every active request's token up to `view.now` and forgets requests that left
    /// (those not brought up to date), in time linear in the requests.
    fn update_tokens(&mut self, view: &View) {
        for r in view.requests {
            let t = self.tokens.entry(r.id).or_insert(Token {
                value: f64::from(r.priority),
                updated: r.arrival,
            });
            if self.current != Some(r.id) {
                let waited = (view.now - t.updated).0 as f64;
                t.value += f64::from(r.priority) * waited / r.isolated.0.max(1) as f64;
            }
            t.updated = view.now;
        }
        // Every active request's token is now dated `view.now`; a request that left earlier
        // has an older date (one that left at this very instant goes at the next decision).
        self.tokens.retain(|_, t| t.updated == view.now);
    }

    /// The request to run: the shortest estimated remaining time among those whose token
    /// reaches the threshold.
    fn select(&self, view: &View) -> Option<RequestId> {
        let token = |id| self.token(id).unwrap_or(0.0);
        let top = view
            .requests
            .iter()
            .map(|r| token(r.id))
            .fold(f64::NEG_INFINITY, f64::max);
        // Tokens start at the priority, so level 1 is reached unless every priority is 0;
        // then every request is a candidate.
        let threshold = LEVELS
            .into_iter()
            .find(|&l| top >= l)
            .unwrap_or(f64::NEG_INFINITY);
        let n = view.num_arrays();
        view.requests
            .iter()
            .filter(|r| token(r.id) >= threshold)
            .min_by_key(|r| (r.estimate(n), r.arrival, r.id))
            .map(|r| r.id)
    }
}

impl Policy for Prema {
    fn name(&self) -> &'static str {
        "prema"
    }

    fn reset(&mut self, _tenants: &[(TenantId, u8, f64)], _arrays: usize) {
        *self = Prema::default();
    }

    fn decide_into(&mut self, view: &View, out: &mut Decision) {
        self.update_tokens(view);
        self.current = self.select(view);
        let chosen = view.requests.iter().filter(|r| Some(r.id) == self.current);
        out.assign_greedy(view, chosen);
    }
}
