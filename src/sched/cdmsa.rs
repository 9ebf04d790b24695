//! CD-MSA: cooperative, deadline- and laxity-aware multi-systolic-array scheduling.
//!
//! At every decision point:
//! 1. **Admission** (at each arrival and completion): requests in deadline order join the
//!    admitted set; whenever the set fails the processor-demand test
//!    ([`super::demand::feasible`], each request's remaining work and parallelism), the
//!    request with the most remaining work leaves it (Moore–Hodgson, which maximises the
//!    number of met deadlines on one array). The rest run best-effort, after every admitted
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

use super::demand::{Demand, feasible};
use super::{Decision, Policy, RequestView, View};
use crate::units::RequestId;
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
    admitted: HashSet<RequestId>,
    known: Vec<RequestId>,
    rejected: HashSet<RequestId>,
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
        let ids: Vec<RequestId> = view.requests.iter().map(|r| r.id).collect();
        if ids == self.known {
            return;
        }
        self.known = ids;
        self.admitted.clear();
        let mut by_deadline: Vec<&RequestView> = view.requests.iter().collect();
        by_deadline.sort_by_key(|r| (r.deadline, r.arrival, r.id));
        // Moore–Hodgson on the demand test: add in deadline order; when the set fails,
        // give up the request with the most remaining work (optimal for the number of met
        // deadlines on one array).
        let mut set: Vec<(RequestId, Demand)> = Vec::new();
        for r in by_deadline {
            set.push((
                r.id,
                Demand {
                    deadline: r.deadline,
                    work: r.remaining,
                    parallelism: r.parallelism(),
                },
            ));
            let demands: Vec<Demand> = set.iter().map(|(_, d)| *d).collect();
            if self.options.admission && !feasible(view.now, &demands, view.num_arrays()) {
                let (longest, _) = set
                    .iter()
                    .enumerate()
                    .max_by_key(|(_, (id, d))| (d.work, std::cmp::Reverse(*id)))
                    .expect("non-empty");
                let (id, _) = set.remove(longest);
                self.rejected.insert(id);
            }
        }
        self.admitted = set.into_iter().map(|(id, _)| id).collect();
    }

    /// Fewest arrays with which `r` is estimated to meet its deadline (its parallelism if none).
    fn arrays_needed(r: &RequestView, view: &View) -> usize {
        let max = r.parallelism().min(view.num_arrays()).max(1);
        let slack = r.deadline.0.saturating_sub(view.now.0);
        (1..=max).find(|&k| r.estimate(k).0 <= slack).unwrap_or(max)
    }
}

/// Idle arrays handed out request by request.
struct Allocation {
    idle: usize,
    /// (request, arrays it holds including running jobs, idle arrays granted now).
    grants: Vec<(RequestId, usize, usize)>,
}

impl Allocation {
    /// Grants `r` idle arrays until it holds `limit` or has no ready job left.
    fn grant(&mut self, r: &RequestView, limit: usize) {
        let i = match self.grants.iter().position(|g| g.0 == r.id) {
            Some(i) => i,
            None => {
                self.grants.push((r.id, r.running, 0));
                self.grants.len() - 1
            }
        };
        let g = &mut self.grants[i];
        while self.idle > 0 && g.1 < limit && g.2 < r.ready {
            g.1 += 1;
            g.2 += 1;
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

    fn decide(&mut self, view: &View) -> Decision {
        self.admit(view);
        let n = view.num_arrays();
        let (mut admitted, mut best_effort): (Vec<&RequestView>, Vec<&RequestView>) = view
            .requests
            .iter()
            .partition(|r| self.admitted.contains(&r.id));
        let urgent = |r: &RequestView| r.laxity(view.now, r.parallelism().min(n)) <= 0;
        admitted.sort_by_cached_key(|r| (!urgent(r), r.deadline, r.arrival, r.id));
        // Best-effort: those that can still make their deadline first, shortest first (most
        // deadlines met per cycle); hopeless ones last.
        let hopeless = |r: &RequestView| r.laxity(view.now, r.parallelism().min(n)) < 0;
        best_effort.sort_by_cached_key(|r| (hopeless(r), r.remaining, r.deadline, r.id));
        let cap = if self.options.cooperation { n } else { 1 };
        let mut plan = Allocation {
            idle: view.idle().count(),
            grants: Vec::new(),
        };
        // First each admitted request's minimum, then what is left to the most urgent.
        for r in &admitted {
            plan.grant(r, Self::arrays_needed(r, view).min(cap));
        }
        for r in admitted.iter().chain(best_effort.iter()) {
            plan.grant(r, cap);
        }
        let mut arrays = view.idle();
        let assign: Vec<_> = plan
            .grants
            .iter()
            .flat_map(|&(id, _, k)| std::iter::repeat_n(id, k))
            .filter_map(|id| arrays.next().map(|a| (a, id)))
            .collect();
        let priority: Vec<&RequestView> = admitted.into_iter().chain(best_effort).collect();
        if self.options.fusion {
            fuse(view, assign, &priority)
        } else {
            Decision {
                assign,
                ..Decision::default()
            }
        }
    }
}

/// Dynamic task fusion: a request granted a single array this round whose next tile job
/// under-fills it takes along the most urgent request that got no array and whose next
/// tile job fits beside it (block-diagonally).
fn fuse(
    view: &View,
    assign: Vec<(crate::units::ArrayId, RequestId)>,
    priority: &[&RequestView],
) -> Decision {
    let granted = |id: RequestId| assign.iter().filter(|(_, r)| *r == id).count();
    let mut taken: HashSet<RequestId> = assign.iter().map(|(_, r)| *r).collect();
    let mut d = Decision::default();
    for &(array, id) in &assign {
        let shape = priority
            .iter()
            .find(|r| r.id == id)
            .and_then(|r| r.next_tile);
        let partner = shape.filter(|_| granted(id) == 1).and_then(|a| {
            priority.iter().find(|p| {
                !taken.contains(&p.id)
                    && p.ready > 0
                    && p.next_tile.is_some_and(|b| view.fusible(a, b))
            })
        });
        match partner {
            Some(p) => {
                taken.insert(p.id);
                d.fuse.push((array, id, p.id));
            }
            None => d.assign.push((array, id)),
        }
    }
    d
}
