//! Scheduling policies: the [`Policy`] trait, the read-only [`View`] of the accelerator a
//! policy decides on, and every scheduler. Policies decide who runs where; they never
//! compute values. A researcher adds a scheduler in one file implementing [`Policy`].

mod accelerated;
pub mod admission;
mod cdmsa;
pub mod demand;
mod edf;
mod fcfs;
mod keyed;
mod llf;
mod planaria;
mod prema;
mod static_partition;
mod tenants;
mod with_batching;
mod with_fusion;

pub use accelerated::{Accelerated, Standing};
pub use cdmsa::{CdMsa, CdMsaOptions};
pub use edf::Edf;
pub use fcfs::Fcfs;
pub use keyed::{Keyed, Ordered};
pub use llf::Llf;
pub use planaria::Planaria;
pub use prema::Prema;
pub use static_partition::StaticPartition;
pub use tenants::{Offered, TenantInfo, due_within};
pub use with_batching::WithBatching;
pub use with_fusion::WithFusion;

use crate::error::{Error, Result};
use crate::kernel::{GemmShape, TileProfile};
use crate::units::{ArrayId, Cycles, RequestId, TenantId};

/// The work profile of one layer of a request: its jobs and their total estimated cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerProfile {
    /// Jobs (tile jobs, or one vector job).
    pub jobs: usize,
    /// Σ of their estimated costs (cycles on one array, each job's bytes moved at an equal
    /// share of the DRAM among all arrays: the cost model's `JobCost::contended`).
    pub cost: Cycles,
}

/// What the layers after some layer hold: their estimated time with `k` arrays (each
/// layer's jobs in whole [`rounds`], layers one after another) and the most jobs any of
/// them has.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outlook {
    /// `by_arrays[k − 1]`: estimated time with `k` arrays.
    pub by_arrays: Vec<Cycles>,
    /// Jobs of the widest later layer.
    pub widest: usize,
}

impl Outlook {
    /// Estimated time with `k` arrays (more arrays than tabulated help no further).
    pub fn estimate(&self, k: usize) -> Cycles {
        match self.by_arrays.len() {
            0 => Cycles::ZERO,
            n => self.by_arrays[k.clamp(1, n) - 1],
        }
    }
}

/// The time `jobs` jobs of `work` in all take on `k` arrays: ⌈jobs / k⌉ rounds of the
/// average job (a layer's tile jobs are alike), so that 5 jobs on 4 arrays take two rounds,
/// not 5/4 of one.
pub fn rounds(work: Cycles, jobs: usize, k: usize) -> Cycles {
    let (jobs, k) = (jobs.max(1) as u64, k.max(1) as u64);
    match jobs.div_ceil(k) {
        // One array, or one job: all of it (no division).
        r if r == jobs => work,
        r => Cycles((u128::from(work.0) * u128::from(r)).div_ceil(u128::from(jobs)) as u64),
    }
}

/// For each layer of `profile`, the outlook of the layers after it on up to `arrays` arrays.
pub fn outlook(profile: &[LayerProfile], arrays: usize) -> Vec<Outlook> {
    let arrays = arrays.max(1);
    let mut out = vec![
        Outlook {
            by_arrays: vec![Cycles::ZERO; arrays],
            widest: 0
        };
        profile.len()
    ];
    for l in (0..profile.len().saturating_sub(1)).rev() {
        let next = &profile[l + 1];
        let jobs = next.jobs.max(1);
        let by_arrays = (1..=arrays)
            .map(|k| out[l + 1].by_arrays[k - 1] + rounds(next.cost, jobs, k))
            .collect();
        out[l] = Outlook {
            by_arrays,
            widest: out[l + 1].widest.max(next.jobs),
        };
    }
    out
}

/// Where a request stands in [`View::requests`], which lists the active requests by arrival,
/// ties by id: its arrival, then its id. A policy that keeps requests between decisions keeps
/// their places and finds their views again with [`View::find`].
pub type Place = (Cycles, RequestId);

/// What a policy sees of one active (arrived, unfinished, not dropped) request.
#[derive(Debug, Clone)]
pub struct RequestView<'a> {
    /// The request.
    pub id: RequestId,
    /// Its tenant.
    pub tenant: TenantId,
    /// Tenant priority (1, 3 or 9).
    pub priority: u8,
    /// Tenant weight.
    pub weight: f64,
    /// Arrival time.
    pub arrival: Cycles,
    /// Absolute deadline.
    pub deadline: Cycles,
    /// Latency when run alone on the whole accelerator.
    pub isolated: Cycles,
    /// Σ estimated cost of every job not yet dispatched or running.
    pub remaining: Cycles,
    /// Jobs that can be dispatched now.
    pub ready: usize,
    /// Jobs running now.
    pub running: usize,
    /// Array-cycles of service received so far.
    pub served: Cycles,
    /// What the layers after the current one hold (see [`outlook`]).
    pub after: &'a Outlook,
    /// Undispatched work of the current layer.
    pub remaining_in_layer: Cycles,
    /// The next ready job when it is a tile job (what fusion packs).
    pub next_tile: Option<TileProfile>,
}

impl RequestView<'_> {
    /// Its place in [`View::requests`].
    pub fn place(&self) -> Place {
        (self.arrival, self.id)
    }

    /// Estimated time to finish with `k` arrays: each layer's jobs in whole [`rounds`] on the
    /// arrays, layers one after another.
    pub fn estimate(&self, k: usize) -> Cycles {
        let jobs = self.ready + self.running;
        rounds(self.remaining_in_layer, jobs, k) + self.after.estimate(k)
    }

    /// The most arrays the request can use at once from now on.
    pub fn parallelism(&self) -> usize {
        self.after.widest.max(self.ready + self.running).max(1)
    }

    /// The fewest of `arrays` arrays with which the estimated time to finish fits the slack
    /// (deadline − now) at `now`; `None` when no number does. The estimate never grows with
    /// `k` (each layer's work is divided by more arrays, or by as many), so the fewest is
    /// found by bisection.
    pub fn fewest_arrays(&self, now: Cycles, arrays: usize) -> Option<usize> {
        let slack = i128::from(self.deadline.0) - i128::from(now.0);
        let fits = |k: usize| i128::from(self.estimate(k).0) <= slack;
        // The fewest k in lo..=hi that fits, if any fits; every k below lo does not.
        let (mut lo, mut hi) = (1, arrays);
        if arrays == 0 || !fits(hi) {
            return None;
        }
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if fits(mid) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Some(lo)
    }

    /// Laxity with `k` arrays: deadline − now − estimated time to finish (negative: late),
    /// saturating at the ends of `i64`.
    pub fn laxity(&self, now: Cycles, k: usize) -> i64 {
        let lax = i128::from(self.deadline.0) - i128::from(now.0) - i128::from(self.estimate(k).0);
        i64::try_from(lax).unwrap_or(if lax > 0 { i64::MAX } else { i64::MIN })
    }

    /// Whether the request misses its deadline even with every array it can use of `arrays`
    /// (its laxity with them is negative): late, whatever it is given.
    pub fn is_late(&self, now: Cycles, arrays: usize) -> bool {
        self.laxity(now, self.parallelism().min(arrays)) < 0
    }
}

/// The accelerator as a policy sees it at a decision point.
#[derive(Debug, Clone)]
pub struct View<'a> {
    /// Now.
    pub now: Cycles,
    /// For each array, the request whose job it runs (`None`: idle).
    pub arrays: &'a [Option<RequestId>],
    /// For each array, the tenant whose job it ran last in this busy period (`None`: none
    /// yet): the tenant whose weight blocks its scratchpad most likely holds.
    pub last_tenant: &'a [Option<TenantId>],
    /// Active requests, by arrival order, ties by id (sorted by [`RequestView::place`]).
    pub requests: &'a [RequestView<'a>],
    /// Rows and columns of every array, when its dataflow allows fusing two tile jobs
    /// (weight-stationary); `None` otherwise.
    pub fusion_geometry: Option<(usize, usize)>,
}

impl<'a> View<'a> {
    /// The active request at `place`, found by bisection (`None`: it is not active).
    pub fn find(&self, place: Place) -> Option<&'a RequestView<'a>> {
        Some(&self.requests[self.position(place)?])
    }

    /// The position in [`View::requests`] of the active request at `place`, found by
    /// bisection (`None`: it is not active).
    pub fn position(&self, place: Place) -> Option<usize> {
        self.requests
            .binary_search_by_key(&place, RequestView::place)
            .ok()
    }

    /// The places of every active request, in order.
    pub fn places(&self) -> impl Iterator<Item = Place> + '_ {
        self.requests.iter().map(RequestView::place)
    }

    /// The idle arrays.
    pub fn idle(&self) -> impl Iterator<Item = ArrayId> + '_ {
        self.arrays
            .iter()
            .enumerate()
            .filter(|(_, a)| a.is_none())
            .map(|(i, _)| ArrayId(i))
    }

    /// Number of arrays.
    pub fn num_arrays(&self) -> usize {
        self.arrays.len()
    }

    /// Whether a tile job of shape `a` leaves rows and columns free for a partner (see
    /// [`View::fusible`]).
    pub fn has_room(&self, a: &GemmShape) -> bool {
        self.fusion_geometry
            .is_some_and(|(rows, cols)| has_room(rows, cols, a))
    }

    /// Whether tile jobs of shapes `a` and `b` fit block-diagonally on one array.
    pub fn fusible(&self, a: TileProfile, b: TileProfile) -> bool {
        self.fusion_geometry
            .is_some_and(|(rows, cols)| fusible(rows, cols, a, b))
    }
}

/// Whether a tile job of shape `a` leaves rows and columns of a `rows × cols` array free for
/// a partner.
pub fn has_room(rows: usize, cols: usize, a: &GemmShape) -> bool {
    a.k < rows && a.n < cols
}

/// Two tile jobs fit block-diagonally on a `rows × cols` weight-stationary array when they run
/// on the same datapath (one array computes one operand and partial-sum type at a time), each
/// is a single fold and their K-tiles and N-blocks together fit the array ([`fits_diagonally`]).
pub fn fusible(rows: usize, cols: usize, a: TileProfile, b: TileProfile) -> bool {
    a.datapath == b.datapath && fits_diagonally(rows, cols, a.shape, b.shape)
}

/// Whether two GEMM tiles fit block-diagonally on a `rows × cols` array: A's weights in rows
/// `0..kA` × columns `0..nA`, B's in rows `kA..kA+kB` × columns `nA..nA+nB`, the off-diagonal
/// PEs unloaded. Each task's outputs then equal its outputs alone.
pub fn fits_diagonally(rows: usize, cols: usize, a: GemmShape, b: GemmShape) -> bool {
    a.k + b.k <= rows && a.n + b.n <= cols && a.k > 0 && b.k > 0
}

/// A policy's decision: which idle array starts a job of which request, which pairs of tile
/// jobs share an array, and which requests are dropped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    /// (idle array, request with a ready job): the array starts that request's next job.
    pub assign: Vec<(ArrayId, RequestId)>,
    /// (idle array, request, request): the array runs both requests' next tile jobs fused
    /// (they must be [`View::fusible`]).
    pub fuse: Vec<(ArrayId, RequestId, RequestId)>,
    /// Requests given up on (they count as missed).
    pub drop: Vec<RequestId>,
    /// Busy arrays whose tile job should stop at its next K-tile boundary (finer preemption:
    /// the partial sums are saved to DRAM and restored when the rest of the job resumes, both
    /// charged as DRAM traffic).
    pub preempt: Vec<ArrayId>,
}

impl Decision {
    /// Empties every list, keeping the memory for the next decision.
    pub fn clear(&mut self) {
        self.assign.clear();
        self.fuse.clear();
        self.drop.clear();
        self.preempt.clear();
    }

    /// Gives idle arrays, in order, to `order`'s requests, each taking as many as it has
    /// ready jobs (the greedy list scheduling every priority-ordered policy shares); appends
    /// to [`Decision::assign`].
    pub fn assign_greedy<'v>(
        &mut self,
        view: &View,
        order: impl IntoIterator<Item = &'v RequestView<'v>>,
    ) {
        let mut idle = view.idle();
        'outer: for r in order {
            for _ in 0..r.ready {
                match idle.next() {
                    Some(a) => self.assign.push((a, r.id)),
                    None => break 'outer,
                }
            }
        }
    }

    /// [`Decision::assign_greedy`] over the requests with ready jobs in increasing
    /// `(key, position)` order. Each idle array needs at most one more request, so the
    /// requests are picked one at a time, each the least `(key, position)` after the one
    /// before (a selection of the few the idle arrays reach, without sorting or allocating):
    /// the order is the sorted order's, since `(key, position)` pairs are all distinct.
    pub fn assign_greedy_by_key<K: Ord + Copy>(
        &mut self,
        view: &View,
        key: impl Fn(&RequestView) -> K,
    ) {
        let mut idle = view.idle().peekable();
        let mut last: Option<(K, usize)> = None;
        while idle.peek().is_some() {
            let next = view
                .requests
                .iter()
                .enumerate()
                .filter(|(_, r)| r.ready > 0)
                .map(|(i, r)| (key(r), i))
                .filter(|k| last.is_none_or(|l| *k > l))
                .min();
            let Some((k, i)) = next else {
                break;
            };
            last = Some((k, i));
            let r = &view.requests[i];
            for _ in 0..r.ready {
                match idle.next() {
                    Some(a) => self.assign.push((a, r.id)),
                    None => break,
                }
            }
        }
    }
}

/// A scheduling policy: what a researcher implements to add a scheduler. The simulator asks
/// it at every decision point; the optional [`Accelerated`] hooks only make that faster.
pub trait Policy: Send + std::any::Any {
    /// The name used on the command line and in reports.
    fn name(&self) -> &'static str;
    /// Called once before a simulation with the tenants.
    fn reset(&mut self, _tenants: &[TenantInfo], _arrays: usize) {}
    /// Decides at a decision point (an arrival or a job completion with an array idle),
    /// writing the decision into `out`, which the caller lends empty: the simulator reuses
    /// one [`Decision`] for every decision point, so deciding allocates nothing once its
    /// lists have grown.
    fn decide_into(&mut self, view: &View, out: &mut Decision);
    /// [`Policy::decide_into`], told the places of the requests whose views may differ from
    /// the last view this policy was asked on this way since [`Policy::reset`]: those that
    /// arrived, changed or left (any other request's view is as it was then). A policy that
    /// keeps its requests ordered between decisions updates only these, which keeps its time
    /// per decision independent of how many requests queue. The simulator asks this way; the
    /// default decides on the view alone. It must decide as [`Policy::decide_into`] does.
    fn decide_changed(&mut self, view: &View, changed: &[Place], out: &mut Decision) {
        let _ = changed;
        self.decide_into(view, out);
    }
    /// [`Policy::decide_into`] into a new [`Decision`].
    fn decide(&mut self, view: &View) -> Decision {
        let mut d = Decision::default();
        self.decide_into(view, &mut d);
        d
    }
    /// Whether the policy also decides at arrivals while every array is busy (to preempt
    /// between K-tiles); most policies wait for a tile-job boundary.
    fn preempts_within_jobs(&self) -> bool {
        false
    }
    /// Whether a decoder tenant's decode steps run batched in iterations (continuous
    /// batching, see [`crate::sim::Decoder`]) under this policy; the default no: each
    /// request's steps run as its own passes.
    fn batches_decode(&self) -> bool {
        false
    }
    /// The policy's speed hooks, when it offers them. The default (`None`): the simulator
    /// asks the policy at every decision point, in one pass. Whether hooks are offered must
    /// not change after [`Policy::reset`]: the simulator asks once per run.
    fn accelerated(&mut self) -> Option<&mut dyn Accelerated> {
        None
    }
}

/// The CD-MSA ablation variants, each with one mechanism switched off, and baselines given
/// CD-MSA's task fusion ([`WithFusion`]), so that what the scheduler adds beyond fusion
/// shows.
pub const ABLATION: &[&str] = &[
    "cd-msa",
    "cd-msa-nofusion",
    "cd-msa-noadmission",
    "cd-msa-nocoop",
    "edf+fusion",
    "planaria+fusion",
    "prema+fusion",
];

/// Every scheduler's command-line name.
pub const ALL: &[&str] = &[
    "fcfs", "prema", "planaria", "edf", "llf", "static", "cd-msa",
];

/// Every scheduler with continuous batching of decode steps ([`WithBatching`]).
pub const BATCHING: &[&str] = &[
    "fcfs+batch",
    "prema+batch",
    "planaria+batch",
    "edf+batch",
    "llf+batch",
    "static+batch",
    "cd-msa+batch",
];

/// A fresh scheduler by name; `NAME+batch` is `NAME` with continuous batching of decode
/// steps.
pub fn by_name(name: &str) -> Result<Box<dyn Policy>> {
    if let Some(&batched) = BATCHING.iter().find(|&&b| b == name) {
        let inner = by_name(name.trim_end_matches("+batch"))?;
        return Ok(Box::new(WithBatching::new(inner, batched)));
    }
    Ok(match name {
        "fcfs" => Box::new(Fcfs),
        "edf" => Box::new(Keyed::new(Edf)),
        "llf" => Box::new(Keyed::new(Llf)),
        "static" => Box::new(StaticPartition::default()),
        "cd-msa" => Box::new(CdMsa::new(CdMsaOptions::default())),
        "cd-msa-nofusion" => Box::new(CdMsa::new(CdMsaOptions {
            fusion: false,
            ..CdMsaOptions::default()
        })),
        "cd-msa-noadmission" => Box::new(CdMsa::new(CdMsaOptions {
            admission: false,
            ..CdMsaOptions::default()
        })),
        "cd-msa-nocoop" => Box::new(CdMsa::new(CdMsaOptions {
            cooperation: false,
            ..CdMsaOptions::default()
        })),
        "prema" => Box::new(Prema::default()),
        "planaria" => Box::new(Planaria::default()),
        "edf+fusion" => Box::new(WithFusion::new(by_name("edf")?, "edf+fusion")),
        "planaria+fusion" => Box::new(WithFusion::new(by_name("planaria")?, "planaria+fusion")),
        "prema+fusion" => Box::new(WithFusion::new(by_name("prema")?, "prema+fusion")),
        other => {
            return Err(Error::Config {
                field: "scheduler".into(),
                msg: format!(
                    "no scheduler '{other}' (schedulers: {}, each also as NAME+batch; all)",
                    ALL.join(", ")
                ),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 5 jobs of 100 cycles: one array runs them in 500, two in ⌈5/2⌉ = 3 rounds (300), four
    /// in 2 rounds (200), five or more in one (100); work that does not divide evenly rounds up.
    #[test]
    fn jobs_take_whole_rounds() {
        let w = Cycles(500);
        let got: Vec<u64> = [1, 2, 4, 5, 8].iter().map(|&k| rounds(w, 5, k).0).collect();
        assert_eq!(got, [500, 300, 200, 100, 100]);
        assert_eq!(rounds(Cycles(10), 3, 2), Cycles(7)); // 2 rounds of 10/3
        assert_eq!(rounds(Cycles(10), 0, 2), Cycles(10)); // no job counted: all of it
    }
    use proptest::prelude::*;
    use std::cmp::Reverse;

    /// The definition of [`Decision::assign_greedy_by_key`]: sort every request with a
    /// ready job by `(key, position)`, then hand out the idle arrays greedily.
    fn by_sorting<K: Ord>(view: &View, key: impl Fn(&RequestView) -> K) -> Decision {
        let mut ready: Vec<(K, usize)> = view
            .requests
            .iter()
            .enumerate()
            .filter(|(_, r)| r.ready > 0)
            .map(|(i, r)| (key(r), i))
            .collect();
        ready.sort();
        let mut d = Decision::default();
        d.assign_greedy(view, ready.iter().map(|&(_, i)| &view.requests[i]));
        d
    }

    proptest! {
        #[test]
        fn selection_equals_the_sorted_order(
            arrays in proptest::collection::vec(proptest::option::of(0u64..6), 1..9),
            requests in proptest::collection::vec((0u64..5, 0usize..4), 0..12),
        ) {
            let after = Outlook::default();
            let views: Vec<RequestView> = requests
                .iter()
                .enumerate()
                .map(|(i, &(deadline, ready))| RequestView {
                    id: RequestId(i as u64),
                    tenant: TenantId(0),
                    priority: 1,
                    weight: 1.0,
                    arrival: Cycles(0),
                    deadline: Cycles(deadline),
                    isolated: Cycles(1),
                    remaining: Cycles(1),
                    ready,
                    running: 0,
                    served: Cycles(0),
                    after: &after,
                    remaining_in_layer: Cycles(1),
                    next_tile: None,
                })
                .collect();
            let owners: Vec<Option<RequestId>> =
                arrays.iter().map(|a| a.map(RequestId)).collect();
            let view = View {
                now: Cycles(0),
                arrays: &owners,
                last_tenant: &vec![None; owners.len()],
                requests: &views,
                fusion_geometry: None,
            };
            // A key with ties (the deadline alone), broken by position, and a unique one.
            let mut d = Decision::default();
            d.assign_greedy_by_key(&view, |r| r.deadline);
            prop_assert_eq!(&d, &by_sorting(&view, |r| r.deadline));
            let mut d = Decision::default();
            d.assign_greedy_by_key(&view, |r| (Reverse(r.ready), r.id));
            prop_assert_eq!(&d, &by_sorting(&view, |r| (Reverse(r.ready), r.id)));
        }
    }
}
