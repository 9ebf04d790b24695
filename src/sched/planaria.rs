//! Planaria (Ghodrati et al., MICRO'20): spatial multi-tenancy by architecture fission. Every
//! request gets its own set of arrays, sized to its slack, and keeps it until the next
//! arrival or completion.
//!
//! At each scheduling event (the set of active requests changed since the last decision):
//!
//! 1. Each request's minimum is the fewest arrays `k` whose estimated remaining time
//!    `estimate(k)` fits its slack (deadline − now). A request that no `k` fits is hopeless.
//! 2. If no request is hopeless and the minimums fit the accelerator, each gets its minimum
//!    and the spare arrays go out in proportion to `priority / estimate(minimum)`.
//! 3. Otherwise the requests that have a minimum rank by `priority / (slack × minimum)` and
//!    take their minimums in that order while arrays last (the last one may get fewer); any
//!    arrays left go to them in proportion to that score, and what they still leave goes to
//!    the hopeless ones in proportion to `priority / estimate(all arrays)`.
//!
//! The scores are the ones of the authors' released scheduler (he-actlab/planaria.code,
//! `scheduler/scheduler.py`). Where it differs in detail, this version is deterministic:
//! proportional shares are rounded by largest remainder, ties going to the higher score, then
//! the earlier arrival, then the lower id (the released code rounds each share and settles the
//! difference on the highest- or lowest-priority tasks, picking at random among equals); no
//! request gets more arrays than it can ever use (`parallelism`), the excess going to the
//! others; and hopeless requests share the leftovers by the rule the released code applies
//! when every request is hopeless.
//!
//! Reallocation takes effect at tile boundaries: an array whose job belongs to a request that
//! lost it finishes that job, then takes its new owner's next ready job. An array whose owner
//! has no ready job stays idle until the owner has one or the next scheduling event: Planaria
//! holds a task's subarrays for it between events and lends none, and so does this policy.
//! No task fusion, no admission test, no drops.
//!
//! Cost. A scheduling event re-plans every active request (the definition): O(n log n) for `n`
//! active requests, at most two events per request. Between events, told which requests
//! changed ([`Policy::decide_changed`]), a decision only hands each idle array to its owner:
//! O((a + c) log n) for `a` arrays and `c` changed requests.

use super::{Decision, Place, Policy, RequestView, TenantInfo, View};
use crate::units::{Cycles, RequestId};
use std::collections::{HashMap, HashSet};

/// Planaria's slack-driven spatial allocation of arrays to requests.
#[derive(Debug, Clone, Default)]
pub struct Planaria {
    /// The request each array is allocated to.
    owner: Vec<Option<RequestId>>,
    /// Its place.
    owner_place: Vec<Option<Place>>,
    /// The active requests when `owner` was computed.
    active: HashSet<Place>,
    /// Their places by id.
    ids: HashMap<RequestId, Place>,
    /// Jobs given out in the decision being made, by request.
    given: Vec<(RequestId, usize)>,
}

impl Planaria {
    /// The fewest of `arrays` arrays with which `r`'s estimated remaining time fits its slack
    /// at `now` (`None`: hopeless); see [`RequestView::fewest_arrays`].
    pub fn min_arrays(r: &RequestView, now: Cycles, arrays: usize) -> Option<usize> {
        r.fewest_arrays(now, arrays)
    }

    /// How many arrays each of `view`'s requests gets, in `view.requests` order.
    pub fn shares(view: &View) -> Vec<usize> {
        let n = view.num_arrays();
        let rs = view.requests;
        let min: Vec<Option<usize>> = rs
            .iter()
            .map(|r| Planaria::min_arrays(r, view.now, n))
            .collect();
        let cap: Vec<usize> = rs.iter().map(|r| r.parallelism().min(n)).collect();
        let priority = |i: usize| f64::from(rs[i].priority);
        let per_cycle = |c: Cycles| 1.0 / c.0.max(1) as f64;
        let all: Option<Vec<usize>> = min.iter().copied().collect();
        if let Some(min) = all
            && min.iter().sum::<usize>() <= n
        {
            let score: Vec<f64> = (0..rs.len())
                .map(|i| priority(i) * per_cycle(rs[i].estimate(min[i])))
                .collect();
            let group = ranked(rs, &score, 0..rs.len());
            let spare = n - min.iter().sum::<usize>();
            let mut counts = min;
            share(&mut counts, &cap, &score, &group, spare);
            return counts;
        }
        let slack = |i: usize| (i128::from(rs[i].deadline.0) - i128::from(view.now.0)).max(1);
        let score: Vec<f64> = (0..rs.len())
            .map(|i| match min[i] {
                Some(k) => priority(i) / (slack(i) as f64 * k as f64),
                None => priority(i) * per_cycle(rs[i].estimate(n)),
            })
            .collect();
        // Each fitting request's minimum is at least one array: past the first `n` of the
        // ranking every array is taken and the rest get none (the shares of no spare arrays
        // change nothing), so only those are ranked in full.
        let fitting = ranked_first(rs, &score, (0..rs.len()).filter(|&i| min[i].is_some()), n);
        let mut counts = vec![0; rs.len()];
        let mut left = n;
        for &i in &fitting {
            let k = min[i].map_or(0, |k| k.min(left));
            counts[i] = k;
            left -= k;
        }
        if left == 0 {
            return counts;
        }
        let left = share(&mut counts, &cap, &score, &fitting, left);
        if left == 0 {
            return counts;
        }
        let hopeless = ranked(rs, &score, (0..rs.len()).filter(|&i| min[i].is_none()));
        share(&mut counts, &cap, &score, &hopeless, left);
        counts
    }

    /// The request each array is allocated to, as of the last decision.
    pub fn allocation(&self) -> &[Option<RequestId>] {
        &self.owner
    }

    /// Maps `counts` onto arrays, moving as few as possible: an array stays with the request
    /// whose job it runs, else with the one it was allocated to, while that request's share
    /// lasts; the rest of each share comes from the arrays left, idle ones first.
    fn place(&mut self, view: &View, counts: &[usize]) {
        let n = view.num_arrays();
        let mut need = counts.to_vec();
        let mut owner: Vec<Option<RequestId>> = vec![None; n];
        let running: Vec<Option<RequestId>> = view.arrays.to_vec();
        let previous: Vec<Option<RequestId>> = (0..n)
            .map(|a| self.owner.get(a).copied().flatten())
            .collect();
        // A request's position in the view, by bisection on its place.
        let ids = &self.ids;
        let index = |id: &RequestId| {
            let place = ids.get(id)?;
            view.requests
                .binary_search_by_key(place, RequestView::place)
                .ok()
        };
        for source in [running, previous] {
            for (slot, id) in owner.iter_mut().zip(source) {
                if let (None, Some(id)) = (*slot, id)
                    && let Some(i) = index(&id)
                    && need[i] > 0
                {
                    *slot = Some(id);
                    need[i] -= 1;
                }
            }
        }
        let mut free: Vec<usize> = (0..n).filter(|&a| owner[a].is_none()).collect();
        free.sort_by_key(|&a| view.arrays[a].is_some());
        let mut free = free.into_iter();
        for (r, k) in view.requests.iter().zip(need) {
            for a in free.by_ref().take(k) {
                owner[a] = Some(r.id);
            }
        }
        self.owner_place = owner
            .iter()
            .map(|o| o.and_then(|id| self.ids.get(&id).copied()))
            .collect();
        self.owner = owner;
    }
}

/// Planaria's ranking: descending score, then arrival, then id.
fn by_rank(rs: &[RequestView], score: &[f64], a: usize, b: usize) -> std::cmp::Ordering {
    score[b]
        .total_cmp(&score[a])
        .then(rs[a].arrival.cmp(&rs[b].arrival))
        .then(rs[a].id.cmp(&rs[b].id))
}

/// `members` in rank order.
fn ranked(rs: &[RequestView], score: &[f64], members: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut v: Vec<usize> = members.collect();
    v.sort_by(|&a, &b| by_rank(rs, score, a, b));
    v
}

/// The first `first` of `members` in rank order (all of them when fewer), in linear time
/// plus the sort of those.
fn ranked_first(
    rs: &[RequestView],
    score: &[f64],
    members: impl Iterator<Item = usize>,
    first: usize,
) -> Vec<usize> {
    let mut v: Vec<usize> = members.collect();
    if first < v.len() {
        v.select_nth_unstable_by(first, |&a, &b| by_rank(rs, score, a, b));
        v.truncate(first);
    }
    v.sort_by(|&a, &b| by_rank(rs, score, a, b));
    v
}

/// Hands `spare` arrays to `group` in proportion to `score` (largest remainder, taken one
/// array at a time: each goes to the member furthest below its quota, the earlier in `group`
/// on a tie), no member beyond its `cap`. Returns the arrays no member could take.
fn share(
    counts: &mut [usize],
    cap: &[usize],
    score: &[f64],
    group: &[usize],
    spare: usize,
) -> usize {
    let total: f64 = group.iter().map(|&i| score[i]).sum();
    let quota = |i: usize| {
        if total > 0.0 {
            score[i] / total * spare as f64
        } else {
            0.0
        }
    };
    let mut given = vec![0usize; counts.len()];
    for left in (1..=spare).rev() {
        let mut best: Option<(usize, f64)> = None;
        for &i in group.iter().filter(|&&i| counts[i] < cap[i]) {
            let deficit = quota(i) - given[i] as f64;
            if best.is_none_or(|(_, d)| deficit > d) {
                best = Some((i, deficit));
            }
        }
        let Some((i, _)) = best else {
            return left;
        };
        counts[i] += 1;
        given[i] += 1;
    }
    0
}

impl Policy for Planaria {
    fn name(&self) -> &'static str {
        "planaria"
    }

    fn reset(&mut self, _tenants: &[TenantInfo], _arrays: usize) {
        *self = Planaria::default();
    }

    fn decide_into(&mut self, view: &View, out: &mut Decision) {
        let active: HashSet<Place> = view.places().collect();
        if active != self.active || self.owner.len() != view.num_arrays() {
            self.ids = view.requests.iter().map(|r| (r.id, r.place())).collect();
            self.active = active;
            self.place(view, &Planaria::shares(view));
        }
        self.assign(view, out);
    }

    /// As [`Policy::decide_into`], keeping the active requests from the ones that changed.
    fn decide_changed(&mut self, view: &View, changed: &[Place], out: &mut Decision) {
        // A scheduling event: a request arrived or left since the allocation.
        let mut event = false;
        for &p in changed {
            if view.find(p).is_some() {
                if self.active.insert(p) {
                    self.ids.insert(p.1, p);
                    event = true;
                }
            } else if self.active.remove(&p) {
                self.ids.remove(&p.1);
                event = true;
            }
        }
        if event || self.owner.len() != view.num_arrays() {
            self.place(view, &Planaria::shares(view));
        }
        self.assign(view, out);
    }
}

impl Planaria {
    /// Each idle array starts a ready job of the request it is allocated to.
    fn assign(&mut self, view: &View, out: &mut Decision) {
        self.given.clear();
        for a in view.idle() {
            let Some(r) = self.owner_place[a.0].and_then(|p| view.find(p)) else {
                continue;
            };
            let given = match self.given.iter_mut().find(|g| g.0 == r.id) {
                Some(g) => &mut g.1,
                None => {
                    self.given.push((r.id, 0));
                    &mut self.given.last_mut().expect("pushed").1
                }
            };
            if *given < r.ready {
                *given += 1;
                out.assign.push((a, r.id));
            }
        }
    }
}
