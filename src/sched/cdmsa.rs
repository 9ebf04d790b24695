//! CD-MSA: cooperative, deadline- and laxity-aware multi-systolic-array scheduling.
//!
//! At every decision point:
//! 1. **Admission** (at each arrival and completion): requests in deadline order join the
//!    admitted set; whenever the set fails the processor-demand test
//!    ([`super::demand::feasible`], each request's remaining work and parallelism), the
//!    request with the most remaining work leaves it (Moore–Hodgson, which maximises the
//!    number of met deadlines on one array; run incrementally by [`super::admission`]). The rest run best-effort, after every admitted
//!    request.
//! 2. **Order**: admitted requests by deadline, except that a request whose laxity (with
//!    every array it can use) has reached zero is promoted to the front (zero-laxity
//!    promotion, as in EDZL); best-effort requests follow by deadline.
//! 3. **Cooperative allocation**: each admitted request first gets the fewest arrays whose
//!    estimated finish still meets its deadline; the arrays left over cooperate on the most
//!    urgent requests (up to the jobs they have ready).
//! 4. **Preemption** only at tile-job boundaries (the engine never cuts a job).
//!
//! Each mechanism can be switched off for ablation: without admission every request is
//! admitted; without cooperation a request runs on at most one array at a time.

use super::admission::moore_hodgson;
use super::demand::Demand;
use super::{Decision, Policy, RequestView, View};
use crate::kernel::GemmShape;
use crate::units::{Cycles, RequestId};
use std::collections::HashSet;

/// Which CD-MSA mechanisms are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CdMsaOptions {
    /// The demand test decides admitted vs best-effort.
    pub admission: bool,
    /// Several arrays cooperate on one request.
    pub cooperation: bool,
    /// Under-filling tile jobs of different requests share an array.
    pub fusion: bool,
}

impl Default for CdMsaOptions {
    fn default() -> Self {
        CdMsaOptions {
            admission: true,
            cooperation: true,
            fusion: true,
        }
    }
}

/// The CD-MSA policy.
#[derive(Debug, Clone, Default)]
pub struct CdMsa {
    options: CdMsaOptions,
    /// The requests of the last admission, in view order.
    known: Vec<RequestId>,
    /// Whether `known[i]` is admitted.
    admitted: Vec<bool>,
    rejected: HashSet<RequestId>,
    /// Reused buffers: the admitted and the best-effort requests, ranked.
    admitted_order: Ranking<(bool, Cycles, Cycles, RequestId)>,
    best_effort_order: Ranking<(bool, Cycles, Cycles, RequestId)>,
    /// Reused buffers: the grants of a decision and the requests it gave an array.
    grants: Vec<Grant>,
    taken: Vec<RequestId>,
}

/// Indices ranked by unique keys, sorted only as far as they are read: a decision usually
/// reads the first few requests of a long queue.
#[derive(Debug, Clone)]
struct Ranking<K> {
    items: Vec<(K, usize)>,
    /// `items[..sorted]` is in final order.
    sorted: usize,
}

impl<K> Default for Ranking<K> {
    fn default() -> Self {
        Ranking {
            items: Vec::new(),
            sorted: 0,
        }
    }
}

impl<K: Ord + Copy> Ranking<K> {
    fn clear(&mut self) {
        self.items.clear();
        self.sorted = 0;
    }

    fn push(&mut self, key: K, index: usize) {
        self.items.push((key, index));
    }

    fn len(&self) -> usize {
        self.items.len()
    }

    /// The index at rank `pos`. Keys are unique, so the ranking is the full sort's.
    fn at(&mut self, pos: usize) -> usize {
        if pos >= self.sorted {
            let want = (pos + 1).max(2 * self.sorted).max(8).min(self.items.len());
            let rest = &mut self.items[self.sorted..];
            let take = want - self.sorted;
            if take < rest.len() {
                rest.select_nth_unstable(take - 1);
            }
            rest[..take].sort_unstable();
            self.sorted = want;
        }
        self.items[pos].1
    }
}

impl CdMsa {
    /// A CD-MSA policy with the given mechanisms.
    pub fn new(options: CdMsaOptions) -> CdMsa {
        CdMsa {
            options,
            ..CdMsa::default()
        }
    }

    /// Requests the demand test ever ran best-effort.
    pub fn rejected(&self) -> usize {
        self.rejected.len()
    }

    /// The mechanisms in use.
    pub fn options(&self) -> CdMsaOptions {
        self.options
    }

    /// Re-runs admission when the set of requests changed (an arrival or a completion).
    fn admit(&mut self, view: &View) {
        let same = self.known.len() == view.requests.len()
            && self
                .known
                .iter()
                .zip(view.requests)
                .all(|(k, r)| *k == r.id);
        if same {
            return;
        }
        self.known.clear();
        self.known.extend(view.requests.iter().map(|r| r.id));
        let mut by_deadline: Vec<usize> = (0..view.requests.len()).collect();
        by_deadline.sort_by_key(|&i| {
            let r = &view.requests[i];
            (r.deadline, r.arrival, r.id)
        });
        self.admitted.clear();
        self.admitted
            .resize(view.requests.len(), !self.options.admission);
        if !self.options.admission {
            return;
        }
        // Moore–Hodgson on the demand test: add in deadline order; when the set fails,
        // give up the request with the most remaining work (optimal for the number of met
        // deadlines on one array).
        let tasks: Vec<(RequestId, Demand)> = by_deadline
            .iter()
            .map(|&i| {
                let r = &view.requests[i];
                let demand = Demand {
                    deadline: r.deadline,
                    work: r.remaining,
                    parallelism: r.parallelism(),
                };
                (r.id, demand)
            })
            .collect();
        let (admitted, rejected) = moore_hodgson(view.now, &tasks, view.num_arrays());
        for p in admitted {
            self.admitted[by_deadline[p]] = true;
        }
        self.rejected.extend(rejected);
    }

    /// Fewest arrays with which `r` is estimated to meet its deadline (its parallelism if none).
    fn arrays_needed(r: &RequestView, view: &View) -> usize {
        let max = r.parallelism().min(view.num_arrays()).max(1);
        let slack = r.deadline.0.saturating_sub(view.now.0);
        (1..=max).find(|&k| r.estimate(k).0 <= slack).unwrap_or(max)
    }
}

/// What one request is granted in a decision.
#[derive(Debug, Clone, Copy)]
struct Grant {
    /// Its position in the view.
    index: usize,
    id: RequestId,
    /// Arrays it holds, running jobs included.
    held: usize,
    /// Idle arrays granted now.
    granted: usize,
}

/// Idle arrays handed out request by request.
struct Allocation<'g> {
    idle: usize,
    /// In the order the requests were first granted.
    grants: &'g mut Vec<Grant>,
}

impl Allocation<'_> {
    /// Grants `rs[index]` idle arrays until it holds `limit` or has no ready job left.
    fn grant(&mut self, rs: &[RequestView], index: usize, limit: usize) {
        let r = &rs[index];
        let i = match self.grants.iter().position(|g| g.id == r.id) {
            Some(i) => i,
            None => {
                self.grants.push(Grant {
                    index,
                    id: r.id,
                    held: r.running,
                    granted: 0,
                });
                self.grants.len() - 1
            }
        };
        let g = &mut self.grants[i];
        while self.idle > 0 && g.held < limit && g.granted < r.ready {
            g.held += 1;
            g.granted += 1;
            self.idle -= 1;
        }
    }
}

impl Policy for CdMsa {
    fn name(&self) -> &'static str {
        match (
            self.options.admission,
            self.options.cooperation,
            self.options.fusion,
        ) {
            (true, true, true) => "cd-msa",
            (true, true, false) => "cd-msa-nofusion",
            (false, true, true) => "cd-msa-noadmission",
            (true, false, true) => "cd-msa-nocoop",
            _ => "cd-msa-ablated",
        }
    }

    fn reset(&mut self, _tenants: &[(crate::units::TenantId, u8, f64)], _arrays: usize) {
        *self = CdMsa::new(self.options);
    }

    /// With cooperation, a request that alone has ready jobs takes every idle array it has a
    /// job for: no other request can be granted one or join it fused, and its grant is
    /// capped only by the arrays. Only a layer change, an arrival or a finish gives another
    /// request a ready job.
    fn standing_order(&self, view: &View) -> Option<RequestId> {
        if !self.options.cooperation {
            return None;
        }
        let mut ready = view.requests.iter().filter(|r| r.ready > 0);
        match (ready.next(), ready.next()) {
            (Some(only), None) => Some(only.id),
            _ => None,
        }
    }

    /// Between busy periods only the rejections carry over, and they decide nothing: the
    /// admission reruns at the first decision of a new set of requests.
    fn fork(&self) -> Option<Box<dyn Policy>> {
        Some(Box::new(CdMsa::new(self.options)))
    }

    fn join(&mut self, fork: Box<dyn Policy>) {
        let fork: Box<dyn std::any::Any> = fork;
        if let Ok(fork) = fork.downcast::<CdMsa>() {
            self.rejected.extend(fork.rejected);
        }
    }

    fn decide_into(&mut self, view: &View, out: &mut Decision) {
        self.admit(view);
        let n = view.num_arrays();
        let rs = view.requests;
        let (mut admitted, mut best_effort) = (
            std::mem::take(&mut self.admitted_order),
            std::mem::take(&mut self.best_effort_order),
        );
        admitted.clear();
        best_effort.clear();
        for (i, r) in rs.iter().enumerate() {
            let laxity = r.laxity(view.now, r.parallelism().min(n));
            if self.admitted[i] {
                // Zero-laxity promotion, then deadline order.
                admitted.push((laxity > 0, r.deadline, r.arrival, r.id), i);
            } else {
                // Best-effort: those that can still make their deadline first, shortest
                // first (most deadlines met per cycle); hopeless ones last.
                best_effort.push((laxity < 0, r.remaining, r.deadline, r.id), i);
            }
        }
        let cap = if self.options.cooperation { n } else { 1 };
        self.grants.clear();
        let mut plan = Allocation {
            idle: view.idle().count(),
            grants: &mut self.grants,
        };
        // First each admitted request's minimum, then what is left to the most urgent (once
        // no array is left, further grants give nothing).
        for pos in 0..admitted.len() {
            if plan.idle == 0 {
                break;
            }
            let i = admitted.at(pos);
            plan.grant(rs, i, Self::arrays_needed(&rs[i], view).min(cap));
        }
        for pos in 0..admitted.len() + best_effort.len() {
            if plan.idle == 0 {
                break;
            }
            let i = rank(&mut admitted, &mut best_effort, pos);
            plan.grant(rs, i, cap);
        }
        // Every grant gets its arrays: together they take at most the idle arrays.
        let first = out.assign.len();
        let mut arrays = view.idle();
        for g in &self.grants {
            for _ in 0..g.granted {
                if let Some(a) = arrays.next() {
                    out.assign.push((a, g.id));
                }
            }
        }
        if self.options.fusion {
            self.taken.clear();
            self.taken
                .extend(out.assign[first..].iter().map(|&(_, id)| id));
            fuse(
                view,
                first,
                &self.grants,
                &mut self.taken,
                out,
                &mut admitted,
                &mut best_effort,
            );
        }
        self.admitted_order = admitted;
        self.best_effort_order = best_effort;
    }
}

/// The request at rank `pos` of the priority order: admitted first, then best-effort.
fn rank<K: Ord + Copy>(
    admitted: &mut Ranking<K>,
    best_effort: &mut Ranking<K>,
    pos: usize,
) -> usize {
    if pos < admitted.len() {
        admitted.at(pos)
    } else {
        best_effort.at(pos - admitted.len())
    }
}

/// Dynamic task fusion: a request granted a single array this round whose next tile job
/// under-fills it takes along the most urgent request that got no array and whose next
/// tile job fits beside it (block-diagonally). `out.assign[first..]` holds the arrays
/// granted, one entry per array in grant order; `taken` starts as the requests they went
/// to. An array whose request finds a partner moves from `out.assign` to `out.fuse`.
fn fuse<K: Ord + Copy>(
    view: &View,
    first: usize,
    grants: &[Grant],
    taken: &mut Vec<RequestId>,
    out: &mut Decision,
    admitted: &mut Ranking<K>,
    best_effort: &mut Ranking<K>,
) {
    let rs = view.requests;
    let total = admitted.len() + best_effort.len();
    // Only a tile that leaves rows and columns free can take a partner.
    let room = |a: &GemmShape| {
        view.fusion_geometry
            .is_some_and(|(rows, cols)| a.k < rows && a.n < cols)
    };
    // Entries of `out.assign` are kept in place or moved to `out.fuse`, in order.
    let mut kept = first;
    let mut entry = first;
    for g in grants {
        // A request granted one array appears once in `out.assign`; its entries follow the
        // grants' order.
        let single = g.granted == 1;
        for _ in 0..g.granted {
            let Some(&(array, id)) = out.assign.get(entry) else {
                break;
            };
            entry += 1;
            let shape = rs[g.index].next_tile;
            let partner = shape.filter(|a| single && room(a)).and_then(|a| {
                (0..total)
                    .map(|pos| &rs[rank(admitted, best_effort, pos)])
                    .find(|p| {
                        !taken.contains(&p.id)
                            && p.ready > 0
                            && p.next_tile.is_some_and(|b| view.fusible(a, b))
                    })
            });
            match partner {
                Some(p) => {
                    taken.push(p.id);
                    out.fuse.push((array, id, p.id));
                }
                None => {
                    out.assign[kept] = (array, id);
                    kept += 1;
                }
            }
        }
    }
    out.assign.truncate(kept);
}
