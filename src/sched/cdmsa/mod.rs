//! CD-MSA: cooperative, deadline- and laxity-aware multi-systolic-array scheduling.
//!
//! At every decision point:
//! 1. **Admission** (at each arrival and completion): requests in deadline order join the
//!    admitted set; whenever the set fails the processor-demand test
//!    ([`super::demand::feasible`], each request's remaining work and parallelism), the
//!    request with the most remaining work leaves it (Moore–Hodgson, which maximises the
//!    number of met deadlines on one array; run incrementally by [`super::admission`]). The
//!    rest run best-effort, after every admitted request. The test sets aside the capacity
//!    the tenants' offered loads ([`super::TenantInfo::offered`]) will need for requests that
//!    arrive later and fall due within a request's window, as the schedulability test of
//!    sporadic tasks does: a request due far ahead is admitted only if it leaves room for
//!    the tight requests that will arrive before its deadline, instead of being admitted on
//!    capacity that looks free now and later, at zero laxity, taking every array from them.
//! 2. **Order**: admitted requests by deadline, except that a request whose laxity (with
//!    every array it can use) has reached zero is promoted to the front (zero-laxity
//!    promotion, as in EDZL); best-effort requests follow, those that can still meet their
//!    deadline first, by least remaining work. A best-effort request that cannot (laxity
//!    negative with every array it can use) is late whatever it gets: it waits while any
//!    admitted request is active, since its tile jobs would take DRAM bandwidth and
//!    scratchpad space from requests that can still meet their deadlines, and runs once none
//!    is (it counts as missed either way).
//! 3. **Cooperative allocation**: each admitted request first gets its minimum: one array
//!    when one meets its deadline by the estimate, else (a *tight* request) every array it
//!    can use. A minimum between the two, the fewest arrays the estimate allows, stretches a
//!    tight request to finish just in time: it holds only while no other request takes the
//!    arrays it leaves in a narrow layer, and estimates over several arrays are the least
//!    certain (layer granularity, DRAM sharing, waiting for arrays to free up). A request
//!    whose tenant has a request ahead of it holding arrays takes no minimum while one
//!    array meets its deadline: requests of one model run one after another over the
//!    arrays, each array keeping its share of the model's weights resident, where one array
//!    each would make every array stream all of them (a burst of MobileNetV2 requests at 8×
//!    their isolated latency met 81 % of its deadlines that way, against EDF's 100 %). The
//!    arrays left over cooperate on the most urgent requests (up to the jobs they have
//!    ready).
//! 4. **Bounded lending**: an admitted request that holds some arrays but fewer than it can
//!    use (it is between layers, or in a narrow one) lends the arrays it is not using to the
//!    requests behind it only within two bounds: a job lent an array must end within the
//!    lender's laxity (tile jobs are not preemptible, so a long job started now blocks that
//!    array for its whole length), and the arrays held behind the lender must leave it its
//!    minimum. Without the bounds a tight request's next wide layer finds every array
//!    running long jobs of later deadlines (an SSD vector job streaming a whole tensor, a
//!    VGG classifier tile), which is how plain EDF loses to spatial schedulers such as
//!    Planaria that hold arrays for a request. So a tight request lends nothing, for the
//!    reason its minimum is every array: the fewest arrays its estimate allows hold only if
//!    the estimate over several arrays does, and the jobs lent its arrays share the DRAM
//!    with it and evict its weight blocks from the scratchpads it comes back to. Two
//!    GPT-block tenants on `nnpi-msa`, every request tight and memory-bound, met 91.5 % of
//!    their deadlines when a tight request lent down to the fewest arrays its estimate
//!    allowed and 97.7 % when it lent nothing (PREMA, one request at a time: 99.9 %). The
//!    bounds come from the request's own deadline and estimate: there is no constant to
//!    tune.
//! 5. **Placement**: each request takes first the idle arrays that last ran its tenant, whose
//!    scratchpads most likely still hold its weight blocks.
//! 6. **Preemption** only at tile-job boundaries (the engine never cuts a job).
//!
//! Each mechanism can be switched off for ablation: without admission every request is
//! admitted; without cooperation a request runs on at most one array at a time.

mod definition;
mod standing;
mod tracked;

use super::admission::moore_hodgson;
use super::demand::Demand;
use super::{
    Accelerated, Decision, Offered, Place, Policy, RequestView, Standing, TenantInfo, View,
};
use crate::kernel::TileProfile;
use crate::units::{ArrayId, Cycles, RequestId, TenantId};
use standing::Promise;
use std::collections::HashSet;
use tracked::Tracked;

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
    /// The tenants' offered loads, where known: admission sets their future demand aside.
    offered: Vec<Offered>,
    /// The decoder tenants, whose sessions do not queue behind each other.
    decoders: Vec<TenantId>,
    /// Decides by the readable definition ([`definition::decide`]), without speed hooks.
    reference: bool,
    /// The readable definition's admission: the requests of the last admission with their
    /// deadlines (a decoder request's moves with its step), in view order, and whether each
    /// is admitted.
    known: Vec<(RequestId, Cycles)>,
    admitted: Vec<bool>,
    rejected: HashSet<RequestId>,
    /// The fast path's requests as of the last decision (admission included).
    tracked: Tracked,
    /// The view positions of the admitted requests in deadline order, at the last decision.
    admitted_by_deadline: Vec<usize>,
    /// Whether the last decision was told what changed ([`Policy::decide_changed`]), so that
    /// `tracked` is its view's.
    told: bool,
    /// Reused buffers: the admitted requests ranked (zero-laxity ones first, each group in
    /// deadline order), and those with laxity left while they are set aside.
    admitted_order: Vec<usize>,
    set_aside: Vec<usize>,
    /// Reused buffers: the grants of a decision, the requests it gave an array, and the view
    /// positions of the partners it fused (in `Decision::fuse` order).
    grants: Vec<Grant>,
    taken: Vec<RequestId>,
    partners: Vec<usize>,
    /// Reused buffer: the tenants with an admitted request holding arrays, in the first
    /// pass of the allocation.
    holding: Vec<TenantId>,
    /// What the last checked standing order holds to.
    promise: Promise,
}

impl CdMsa {
    /// A CD-MSA policy with the given mechanisms.
    pub fn new(options: CdMsaOptions) -> CdMsa {
        CdMsa {
            options,
            tracked: Tracked::new(!options.admission),
            ..CdMsa::default()
        }
    }

    /// CD-MSA deciding by its readable definition: the same decisions as [`CdMsa::new`]
    /// (a test proves it), each by a full sort and one array at a time, and no speed hooks.
    pub fn reference(options: CdMsaOptions) -> CdMsa {
        CdMsa {
            reference: true,
            ..CdMsa::new(options)
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

    /// Re-runs admission when the set of requests or a deadline changed (an arrival, a
    /// completion, a decoder request's next step), over every request of the view.
    fn admit(&mut self, view: &View) {
        let same = self.known.len() == view.requests.len()
            && self
                .known
                .iter()
                .zip(view.requests)
                .all(|(k, r)| *k == (r.id, r.deadline));
        if same {
            return;
        }
        self.known.clear();
        self.known
            .extend(view.requests.iter().map(|r| (r.id, r.deadline)));
        self.admitted.clear();
        self.admitted
            .resize(view.requests.len(), !self.options.admission);
        if !self.options.admission {
            return;
        }
        let mut every: Vec<usize> = (0..view.requests.len()).collect();
        let (admitted, rejected) = admit_among(view, &mut every, &self.offered);
        for i in admitted {
            self.admitted[i] = true;
        }
        self.rejected.extend(rejected);
    }
}

/// Admission among `candidates` (view positions, in any order): Moore–Hodgson on the demand
/// test, with the `offered` loads' future arrivals set aside. They join in deadline order
/// (ties by arrival, then id); whenever the set fails the test, the request with the most
/// remaining work leaves it (optimal for the number of met deadlines on one array). Returns
/// the positions admitted and the ids given up on.
fn admit_among(
    view: &View,
    candidates: &mut [usize],
    offered: &[Offered],
) -> (Vec<usize>, Vec<RequestId>) {
    let rs = view.requests;
    candidates.sort_unstable_by_key(|&i| (rs[i].deadline, rs[i].arrival, rs[i].id));
    let tasks: Vec<(RequestId, Demand)> = candidates
        .iter()
        .map(|&i| {
            let r = &rs[i];
            let demand = Demand {
                deadline: r.deadline,
                work: r.remaining,
                parallelism: r.parallelism(),
            };
            (r.id, demand)
        })
        .collect();
    let (admitted, rejected) = moore_hodgson(view.now, &tasks, view.num_arrays(), offered);
    (admitted.iter().map(|&p| candidates[p]).collect(), rejected)
}

/// Whether `r` is tight at `now`: by the estimate it cannot meet its deadline on one array.
#[inline]
fn is_tight(r: &RequestView, now: Cycles) -> bool {
    r.estimate(1).0 > r.deadline.0.saturating_sub(now.0)
}

/// The arrays `r` holds at its minimum at `now`: one when one array meets its deadline by
/// the estimate, else every array it can use (`cap`). A tight request is not stretched to
/// the fewest arrays the estimate allows: that minimum would hold only while no other
/// request took an array it left in a narrow layer, and estimates over several arrays are
/// the least certain (layer granularity, DRAM sharing, waiting for arrays to free up).
#[inline]
fn minimum(r: &RequestView, now: Cycles, cap: usize) -> usize {
    if is_tight(r, now) { cap } else { 1 }
}

/// Whether `r`'s laxity with `k` arrays is positive, without dividing when the slack exceeds
/// even the current layer's work on one array (the estimate's largest first term).
fn has_laxity(r: &RequestView, now: Cycles, k: usize) -> bool {
    let bound = now
        .0
        .saturating_add(r.remaining_in_layer.0)
        .saturating_add(r.after.estimate(k).0);
    r.deadline.0 > bound || r.laxity(now, k) > 0
}

/// The idle arrays granted to one request in a decision.
#[derive(Debug, Clone, Copy)]
struct Grant {
    /// The request's rank in the priority order.
    rank: usize,
    /// Its position in the view.
    index: usize,
    id: RequestId,
    /// Idle arrays granted (at least one).
    granted: usize,
}

/// Idle arrays handed out request by request.
struct Allocation<'g> {
    idle: usize,
    /// One entry per request granted an array.
    grants: &'g mut Vec<Grant>,
}

impl Allocation<'_> {
    /// The arrays `r`, at view position `index`, holds: running its jobs or granted to it.
    fn held(&self, r: &RequestView, index: usize) -> usize {
        let granted = self.grants.iter().find(|g| g.index == index);
        r.running + granted.map_or(0, |g| g.granted)
    }

    /// Grants `r`, at view position `index` and rank `rank`, idle arrays until it holds
    /// `limit` (its running jobs included) or has no ready job left; returns how many.
    fn grant(&mut self, r: &RequestView, rank: usize, index: usize, limit: usize) -> usize {
        let entry = self.grants.iter().position(|g| g.index == index);
        let before = entry.map_or(0, |e| self.grants[e].granted);
        let take = self
            .idle
            .min(limit.saturating_sub(r.running + before))
            .min(r.ready.saturating_sub(before));
        if take == 0 {
            return 0;
        }
        self.idle -= take;
        match entry {
            Some(e) => self.grants[e].granted += take,
            None => self.grants.push(Grant {
                rank,
                index,
                id: r.id,
                granted: take,
            }),
        }
        take
    }
}

/// The estimated cost of one of `r`'s ready jobs: its current layer's average.
#[inline]
fn job(r: &RequestView) -> i64 {
    i64::try_from(r.remaining_in_layer.0 / r.ready.max(1) as u64).unwrap_or(i64::MAX)
}

/// What the admitted requests ahead in a pass of the allocation lend to those behind them.
/// A *lender* is an admitted request that holds some arrays but fewer than it can use (one
/// that holds none waits for nothing a lent array would block, and would only stall the
/// requests behind it): a job lent an array must end within the lender's laxity, and the
/// arrays held behind it must leave it its [`minimum`]. A lender's spare arrays less those
/// held behind it is `c − total`, with `c` its spare arrays plus those held up to it in the
/// ranking.
#[derive(Debug, Clone, Copy)]
struct Lending {
    /// Arrays held by every request (running their jobs or granted).
    total: usize,
    /// Arrays held by the requests passed in this pass.
    prefix: usize,
    /// The least `c` of the lenders passed (`None`: no lender).
    least: Option<usize>,
    /// Their least laxity.
    laxity: i64,
}

impl Lending {
    /// No lender yet, with `total` arrays held.
    fn new(total: usize) -> Lending {
        Lending {
            total,
            prefix: 0,
            least: None,
            laxity: i64::MAX,
        }
    }

    /// A new pass over the ranking.
    fn restart(&mut self) {
        *self = Lending::new(self.total);
    }

    /// The most arrays `r`, holding `held`, may hold when it wants `want`.
    #[inline]
    fn limit(&self, r: &RequestView, held: usize, want: usize) -> usize {
        match self.least {
            None => want,
            Some(c) if job(r) <= self.laxity => want.min(held + c.saturating_sub(self.total)),
            Some(_) => want.min(held),
        }
    }

    /// Whether the requests ahead lend nothing more to any request behind: no later grant in
    /// this pass can take an array.
    fn exhausted(&self) -> bool {
        self.least.is_some_and(|c| c <= self.total)
    }

    /// Counts `arrays` more granted.
    fn granted(&mut self, arrays: usize) {
        self.total += arrays;
    }

    /// Passes `r`, which holds `held` arrays after its grant.
    #[inline]
    fn passed(&mut self, r: &RequestView, admitted: bool, held: usize, cap: usize, now: Cycles) {
        self.prefix += held;
        let k = r.parallelism().min(cap);
        if admitted && held > 0 && held < k {
            let c = k - minimum(r, now, k) + self.prefix;
            self.least = Some(self.least.map_or(c, |l| l.min(c)));
            self.laxity = self.laxity.min(r.laxity(now, k));
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

    fn reset(&mut self, tenants: &[TenantInfo], _arrays: usize) {
        *self = CdMsa {
            reference: self.reference,
            offered: tenants.iter().filter_map(|t| t.offered).collect(),
            decoders: tenants.iter().filter(|t| t.decoder).map(|t| t.id).collect(),
            ..CdMsa::new(self.options)
        };
    }

    fn accelerated(&mut self) -> Option<&mut dyn Accelerated> {
        (!self.reference).then_some(self as &mut dyn Accelerated)
    }

    fn decide_into(&mut self, view: &View, out: &mut Decision) {
        self.told = false;
        if self.reference {
            self.admit(view);
            definition::decide(self.options, &self.decoders, &self.admitted, view, out);
        } else {
            // Every request may have changed, and any tracked one may have left.
            let places: Vec<Place> = view.places().chain(self.tracked.places()).collect();
            self.tracked.update(view, places);
            self.decide_tracked(view, out);
        }
    }

    /// Updates only the requests that changed.
    fn decide_changed(&mut self, view: &View, changed: &[Place], out: &mut Decision) {
        if self.reference || !self.told {
            self.decide_into(view, out);
        } else {
            self.tracked.update(view, changed.iter().copied());
            self.decide_tracked(view, out);
        }
        self.told = !self.reference;
    }
}

impl Accelerated for CdMsa {
    /// With cooperation, a request that alone has ready jobs takes every idle array it has a
    /// job for: no other request can be granted one or join it fused, and its grant is
    /// capped only by the arrays. Only a layer change, an arrival or a finish gives another
    /// request a ready job. When others have ready jobs too, a decision that gave every
    /// array it granted to one request stands, checked, for as long as the others' laxities
    /// and slacks allow (see [`standing`]).
    fn standing_order(&mut self, view: &View, decision: &Decision) -> Option<Standing> {
        if !self.options.cooperation {
            return None;
        }
        // An open order stands while other requests' jobs complete: only when no other
        // admitted request could come to lend it arrays.
        let mut ready = view.requests.iter().filter(|r| r.ready > 0);
        if let (Some(only), None) = (ready.next(), ready.next()) {
            let alone = self.tracked.admitted().all(|place| place.1 == only.id);
            if alone {
                return Some(Standing::open(only.id));
            }
        }
        let [g] = self.grants[..] else {
            return None;
        };
        match decision.fuse[..] {
            [] => {
                self.promise.renew(g.index, None);
                Some(Standing::checked(g.id))
            }
            [(_, r, p)] if r == g.id && decision.assign.is_empty() => {
                let q = *self.partners.first()?;
                debug_assert_eq!(view.requests[q].id, p);
                self.promise.renew(g.index, Some(q));
                Some(Standing::fused(g.id, p))
            }
            _ => None,
        }
    }

    fn confirm(&mut self, view: &View, idle: usize) -> bool {
        self.holds(view, idle)
    }

    /// Between busy periods only the rejections carry over, and they decide nothing: the
    /// admission reruns at the first decision of a new set of requests.
    fn fork(&mut self) -> Option<Box<dyn Policy>> {
        Some(Box::new(CdMsa {
            offered: self.offered.clone(),
            decoders: self.decoders.clone(),
            ..CdMsa::new(self.options)
        }))
    }

    fn join(&mut self, fork: Box<dyn Policy>) {
        let fork: Box<dyn std::any::Any> = fork;
        if let Ok(fork) = fork.downcast::<CdMsa>() {
            self.rejected.extend(fork.rejected);
        }
    }
}

impl CdMsa {
    /// Admission when the set of requests changed, then [`CdMsa::decide_fast`], on the
    /// tracked requests brought up to date with `view`.
    fn decide_tracked(&mut self, view: &View, out: &mut Decision) {
        let changed_set = self.tracked.unadmitted();
        if changed_set {
            let rejected = &mut self.rejected;
            self.tracked.admit(view, &self.offered, &mut |id| {
                rejected.insert(id);
            });
        }
        // The set of requests changes only with an admission: view positions stand until then.
        if changed_set || !self.told {
            self.admitted_by_deadline.clear();
            self.admitted_by_deadline
                .extend(self.tracked.admitted().filter_map(|p| view.position(p)));
        }
        self.tracked.advance(view.now);
        self.decide_fast(view, out);
    }

    /// [`definition::decide`], fast: the best-effort requests as `tracked` keeps them ranked,
    /// passed only until the idle arrays run out, grants whole, a fusion partner looked for
    /// among the admitted requests and then per next tile.
    fn decide_fast(&mut self, view: &View, out: &mut Decision) {
        let n = view.num_arrays();
        let rs = view.requests;
        let mut admitted = std::mem::take(&mut self.admitted_order);
        admitted.clear();
        self.set_aside.clear();
        for &i in &self.admitted_by_deadline {
            // Zero-laxity promotion, then deadline order: the admitted requests go in
            // deadline order, those with laxity left set aside after the others. Each lends,
            // so those without a ready job are ranked too.
            let r = &rs[i];
            if has_laxity(r, view.now, r.parallelism().min(n)) {
                self.set_aside.push(i);
            } else {
                admitted.push(i);
            }
        }
        admitted.extend_from_slice(&self.set_aside);
        let cap = if self.options.cooperation { n } else { 1 };
        self.grants.clear();
        let mut plan = Allocation {
            idle: view.idle().count(),
            grants: &mut self.grants,
        };
        // First each admitted request's minimum, then what is left to the most urgent (once
        // no array is left, further grants give nothing); every grant within what the
        // requests ahead lend.
        let mut lending = Lending::new(self.tracked.running());
        self.holding.clear();
        for (pos, &i) in admitted.iter().enumerate() {
            if plan.idle == 0 {
                break;
            }
            let r = &rs[i];
            let mut want = minimum(r, view.now, cap);
            if want == 1 && self.holding.contains(&r.tenant) && !self.decoders.contains(&r.tenant) {
                want = 0;
            }
            let limit = lending.limit(r, plan.held(r, i), want);
            lending.granted(plan.grant(r, pos, i, limit));
            let held = plan.held(r, i);
            if held > 0 && !self.holding.contains(&r.tenant) {
                self.holding.push(r.tenant);
            }
            lending.passed(r, true, held, cap, view.now);
        }
        lending.restart();
        for (pos, &i) in admitted.iter().enumerate() {
            if plan.idle == 0 {
                break;
            }
            let r = &rs[i];
            let limit = lending.limit(r, plan.held(r, i), cap);
            lending.granted(plan.grant(r, pos, i, limit));
            lending.passed(r, true, plan.held(r, i), cap, view.now);
        }
        // Then the best-effort requests with a ready job (one without is neither granted an
        // array nor taken as a partner), as ranked.
        for (k, place) in self.tracked.ranked().enumerate() {
            if plan.idle == 0 || lending.exhausted() {
                break;
            }
            let Some(i) = view.position(place) else {
                continue;
            };
            let pos = admitted.len() + k;
            let r = &rs[i];
            if !admitted.is_empty() && r.is_late(view.now, n) {
                // The rest are late: they wait while an admitted request is active.
                break;
            }
            let limit = lending.limit(r, plan.held(r, i), cap);
            lending.granted(plan.grant(r, pos, i, limit));
            lending.passed(r, false, plan.held(r, i), cap, view.now);
        }
        // The arrays go out in priority order (the order requests were first considered).
        self.grants.sort_unstable_by_key(|g| g.rank);
        // Every grant gets its arrays: together they take at most the idle arrays.
        let first = out.assign.len();
        self.taken.clear();
        self.partners.clear();
        place(view, &self.grants, out, &mut self.taken);
        if self.options.fusion {
            let ranked = Ranked {
                admitted: &admitted,
                best_effort: &self.tracked,
            };
            fuse(
                view,
                first,
                &self.grants,
                &mut self.taken,
                out,
                ranked,
                &mut self.partners,
            );
        }
        self.admitted_order = admitted;
    }
}

/// Hands the idle arrays to `grants`, one `out.assign` entry per array, grants in order
/// (see [`pick_arrays`]); `taken` gets each array's request.
fn place(view: &View, grants: &[Grant], out: &mut Decision, taken: &mut Vec<RequestId>) {
    let wants = grants
        .iter()
        .map(|g| (view.requests[g.index].tenant, g.granted));
    let arrays = pick_arrays(view, wants);
    let mut arrays = arrays.iter();
    for g in grants {
        for &a in arrays.by_ref().take(g.granted) {
            out.assign.push((a, g.id));
            taken.push(g.id);
        }
    }
}

/// The idle arrays for grants of (tenant, count), in grant order, each grant's in index
/// order: every grant first takes the idle arrays that last ran its tenant (whose
/// scratchpads most likely hold its weight blocks), then the grants in order take the
/// lowest-numbered arrays left. A grant gets fewer when the arrays run out.
pub(super) fn pick_arrays(
    view: &View,
    wants: impl Iterator<Item = (TenantId, usize)> + Clone,
) -> Vec<ArrayId> {
    let mut free: Vec<(ArrayId, Option<TenantId>)> = view
        .idle()
        .map(|a| (a, view.last_tenant.get(a.0).copied().flatten()))
        .collect();
    let mut own: Vec<Vec<ArrayId>> = Vec::new();
    for (tenant, count) in wants.clone() {
        let mine: Vec<ArrayId> = free
            .iter()
            .filter(|f| f.1 == Some(tenant))
            .take(count)
            .map(|f| f.0)
            .collect();
        free.retain(|f| !mine.contains(&f.0));
        own.push(mine);
    }
    let mut rest = free.into_iter().map(|f| f.0);
    for (mine, (_, count)) in own.iter_mut().zip(wants) {
        let short = count.saturating_sub(mine.len());
        mine.extend(rest.by_ref().take(short));
        mine.sort_unstable();
    }
    own.concat()
}

/// The priority order of a decision: the admitted requests ranked, then the best-effort ones
/// with a ready job as `tracked` ranks them.
#[derive(Clone, Copy)]
struct Ranked<'a> {
    admitted: &'a [usize],
    best_effort: &'a Tracked,
}

impl Ranked<'_> {
    /// The view position of the first request in the order with a ready job, not yet
    /// `taken`, whose next tile fits beside `a`.
    fn partner(&self, view: &View, a: TileProfile, taken: &[RequestId]) -> Option<usize> {
        let rs = view.requests;
        let free = |i: usize| !taken.contains(&rs[i].id);
        let admitted = self.admitted.iter().copied().find(|&i| {
            let p = &rs[i];
            p.ready > 0 && p.next_tile.is_some_and(|b| view.fusible(a, b)) && free(i)
        });
        admitted.or_else(|| {
            let place = self
                .best_effort
                .partner(|b| view.fusible(a, b), |p| taken.contains(&p.1))?;
            view.position(place)
        })
    }
}

/// Dynamic task fusion: a request granted a single array this round whose next tile job
/// under-fills it takes along the most urgent request that got no array and whose next
/// tile job fits beside it (block-diagonally). `out.assign[first..]` holds the arrays
/// granted, one entry per array in grant order; `taken` starts as the requests they went
/// to. An array whose request finds a partner moves from `out.assign` to `out.fuse`, and
/// the partner's view position goes to `partners`.
fn fuse(
    view: &View,
    first: usize,
    grants: &[Grant],
    taken: &mut Vec<RequestId>,
    out: &mut Decision,
    ranked: Ranked,
    partners: &mut Vec<usize>,
) {
    let rs = view.requests;
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
            let partner = shape
                .filter(|a| single && view.has_room(&a.shape))
                .and_then(|a| ranked.partner(view, a, taken));
            match partner {
                Some(p) => {
                    taken.push(rs[p].id);
                    out.fuse.push((array, id, rs[p].id));
                    partners.push(p);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{Datapath, GemmShape, TileProfile};
    use crate::sched::Outlook;
    use crate::sched::tenants::offered_loads;
    use crate::units::{ArrayId, TenantId};
    use proptest::prelude::*;

    /// A request: (deadline, arrival, remaining in layer, ready, running, outlook, next tile).
    type Raw = (u64, u64, u64, usize, usize, usize, Option<(usize, usize)>);

    /// The views of `raw`, in the simulator's order (by place); raw request `i` has id
    /// `(5·i) mod 23`.
    fn views<'a>(raw: &[Raw], outlooks: &'a [Outlook]) -> Vec<RequestView<'a>> {
        let ids: Vec<u64> = (0..raw.len() as u64).map(|i| (i * 5) % 23).collect();
        views_of(raw, &ids, outlooks)
    }

    /// The views of `raw`, raw request `i` with id `ids[i]`, by place.
    fn views_of<'a>(raw: &[Raw], ids: &[u64], outlooks: &'a [Outlook]) -> Vec<RequestView<'a>> {
        let mut views: Vec<RequestView> = raw
            .iter()
            .enumerate()
            .map(
                |(i, &(deadline, arrival, ril, ready, running, after, tile))| RequestView {
                    id: RequestId(ids[i]),
                    tenant: TenantId(i as u32 % 3),
                    priority: 1,
                    weight: 1.0,
                    arrival: Cycles(arrival),
                    deadline: Cycles(deadline),
                    isolated: Cycles(1),
                    remaining: Cycles(ril + 3 * after as u64),
                    ready,
                    running,
                    served: Cycles(0),
                    after: &outlooks[after % outlooks.len()],
                    remaining_in_layer: Cycles(ril),
                    next_tile: tile.map(|(k, n)| TileProfile {
                        shape: GemmShape { m: 4, k, n },
                        datapath: Datapath::Int8,
                    }),
                },
            )
            .collect();
        views.sort_by_key(RequestView::place);
        views
    }

    /// Two idle arrays; two admitted requests of tenant 0, each due far ahead (one array meets
    /// its deadline) with two ready jobs. The second waits behind the first, which takes both
    /// arrays, unless tenant 0 is a decoder: then each session takes its own array. Worked by
    /// hand; the fast path and the readable definition both.
    #[test]
    fn a_decoders_sessions_do_not_queue_behind_each_other() {
        let outlooks = [Outlook {
            by_arrays: vec![],
            widest: 0,
        }];
        // Requests 0 and 3 are tenant 0's (ids 0 and 15); 1 and 2 have no ready job.
        let raw: Vec<Raw> = vec![
            (1000, 0, 10, 2, 0, 0, None),
            (5000, 0, 10, 0, 0, 0, None),
            (5000, 0, 10, 0, 0, 0, None),
            (2000, 1, 10, 2, 0, 0, None),
        ];
        let rs = views(&raw, &outlooks);
        let view = View {
            now: Cycles(0),
            arrays: &[None, None],
            last_tenant: &[None, None],
            requests: &rs,
            fusion_geometry: None,
        };
        let options = CdMsaOptions {
            admission: true,
            cooperation: true,
            fusion: false,
        };
        let arrays_of =
            |d: &Decision, id: u64| d.assign.iter().filter(|(_, r)| *r == RequestId(id)).count();
        for (decoders, first, second) in [(vec![], 2, 0), (vec![TenantId(0)], 1, 1)] {
            for reference in [false, true] {
                let mut policy = CdMsa {
                    reference,
                    decoders: decoders.clone(),
                    ..CdMsa::new(options)
                };
                let d = policy.decide(&view);
                let got = (arrays_of(&d, 0), arrays_of(&d, 15));
                assert_eq!(
                    got,
                    (first, second),
                    "decoders {decoders:?}, reference {reference}"
                );
            }
        }
    }

    fn outlook() -> impl Strategy<Value = Outlook> {
        // Arbitrary tables, not only the non-increasing ones `outlook` builds.
        (proptest::collection::vec(0u64..12, 0..5), 0usize..6).prop_map(|(t, widest)| Outlook {
            by_arrays: t.into_iter().map(Cycles).collect(),
            widest,
        })
    }

    fn request() -> impl Strategy<Value = Raw> {
        // Small ranges, so that laxities and slacks often tie.
        (
            0u64..50,
            0u64..6,
            0u64..20,
            0usize..4,
            0usize..3,
            0usize..3,
            proptest::option::of((1usize..9, 1usize..9)),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn decisions_equal_the_definition(
            first in proptest::collection::vec(request(), 1..9),
            second in proptest::collection::vec(request(), 1..9),
            outlooks in proptest::collection::vec(outlook(), 1..4),
            owners in proptest::collection::vec(proptest::option::of(0u64..3), 1..6),
            lasts in proptest::collection::vec(proptest::option::of(0u32..3), 0..6),
            now in 0u64..30,
            changes in proptest::collection::vec((any::<usize>(), 0usize..8, 0u64..4), 8),
            options in (any::<bool>(), any::<bool>(), any::<bool>()),
            // Tenants' offered loads, whose future arrivals admission sets aside.
            offered in offered_loads(1..20, 0..10, 0..30),
            // Decoder tenants, whose requests do not queue behind each other.
            decoders in proptest::collection::vec(0u32..3, 0..2),
        ) {
            let (admission, cooperation, fusion) = options;
            let options = CdMsaOptions { admission, cooperation, fusion };
            let decoders: Vec<TenantId> = decoders.into_iter().map(TenantId).collect();
            let with_load = || CdMsa {
                offered: offered.clone(),
                decoders: decoders.clone(),
                ..CdMsa::new(options)
            };
            let owners: Vec<Option<RequestId>> = owners.iter().map(|o| o.map(RequestId)).collect();
            let last: Vec<Option<TenantId>> = lasts.iter().map(|t| t.map(TenantId)).collect();
            // One policy decides again and again as the requests progress: each time a
            // little later, with one field of one request's progress changed (or all of
            // them), a request gone or one arrived; deadlines and arrivals are fixed for a
            // request, and deadlines pass. So reused buffers are covered. The reference admits
            // the same way: anew only when the ids change. A third policy is told which
            // request changed (`Policy::decide_changed`, as the simulator asks), so it updates
            // only that one and admits over the requests still due (`tracked::Tracked::admit`).
            let (mut policy, mut reference, mut told) = (with_load(), with_load(), with_load());
            let (mut raw, mut now, mut known) = (first, now, Vec::new());
            let mut numbers: Vec<u64> = (0..raw.len() as u64).map(|i| (i * 5) % 23).collect();
            let mut changed: Vec<Place> = Vec::new();
            for (k, (pick, field, step)) in changes.into_iter().enumerate() {
                let rs = views_of(&raw, &numbers, &outlooks);
                let view = View {
                    now: Cycles(now),
                    arrays: &owners,
                    last_tenant: &last,
                    requests: &rs,
                    fusion_geometry: Some((8, 8)),
                };
                let decided = policy.decide(&view);
                let ids: Vec<RequestId> = rs.iter().map(|r| r.id).collect();
                if ids != known {
                    reference.admit(&view);
                    known = ids;
                }
                let mut defined = Decision::default();
                definition::decide(options, &decoders, &reference.admitted, &view, &mut defined);
                prop_assert_eq!(&decided, &defined);
                let mut incremental = Decision::default();
                told.decide_changed(&view, &changed, &mut incremental);
                prop_assert_eq!(&incremental, &defined);
                prop_assert_eq!(told.rejected(), reference.rejected());
                let (c, b) = (pick % raw.len(), second[pick % second.len()]);
                changed = vec![(Cycles(raw[c].1), RequestId(numbers[c]))];
                if field == 6 && raw.len() > 1 {
                    raw.remove(c);
                    numbers.remove(c);
                    now += step;
                    continue;
                }
                if field == 7 {
                    raw.push(b);
                    numbers.push(23 + k as u64);
                    changed = vec![(Cycles(b.1), RequestId(23 + k as u64))];
                    now += step;
                    continue;
                }
                let r = &mut raw[c];
                match field {
                    0 => r.2 = b.2,
                    1 => r.3 = b.3,
                    2 => r.4 = b.4,
                    3 => r.5 = b.5,
                    4 => r.6 = b.6,
                    _ => (r.2, r.3, r.4, r.5, r.6) = (b.2, b.3, b.4, b.5, b.6),
                }
                now += step;
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10000))]

        /// A checked standing order is kept: while only its request (and partner) progress
        /// as the engine lets them, within their layer, every decision point the policy
        /// confirms is decided as the order says.
        #[test]
        fn promises_are_kept(
            raw in proptest::collection::vec(request(), 2..8),
            outlooks in proptest::collection::vec(outlook(), 1..4),
            n in 1usize..6,
            idle in 1usize..3,
            now in 0u64..30,
            steps in proptest::collection::vec(
                (
                    (0u64..4, any::<bool>()),
                    (0u64..4, 0usize..2, 0usize..4),
                    proptest::option::of(proptest::option::of((1usize..9, 1usize..9))),
                    1usize..3,
                ),
                1..12,
            ),
            options in (any::<bool>(), any::<bool>()),
            lasts in proptest::collection::vec(proptest::option::of(0u32..3), 0..6),
        ) {
            let (admission, fusion) = options;
            let options = CdMsaOptions { admission, cooperation: true, fusion };
            // The first `idle` arrays idle, the rest busy.
            let arrays = |idle: usize| -> Vec<Option<RequestId>> {
                (0..n).map(|a| (a >= idle).then_some(RequestId(0))).collect()
            };
            let mut policy = CdMsa::new(options);
            let rs = views(&raw, &outlooks);
            let owners = arrays(idle);
            let lasts: Vec<Option<TenantId>> = (0..n).map(|a| lasts.get(a).copied().flatten().map(TenantId)).collect();
            let view = View { now: Cycles(now), arrays: &owners, last_tenant: &lasts, requests: &rs, fusion_geometry: Some((12, 12)) };
            let decided = policy.decide(&view);
            let Some(order) = policy.standing_order(&view, &decided).filter(|s| s.checked) else {
                return Ok(());
            };
            // Raw positions of the order's request and partner.
            let id_of = |i: usize| RequestId((i as u64 * 5) % 23);
            let position = |id: RequestId| (0..raw.len()).find(|&i| id_of(i) == id).expect("active");
            let r = position(order.request);
            let p = order.partner.map(position);
            let (mut raw, mut now) = (raw, now);
            for ((step, partner), (done, served, running), tile, idle) in steps {
                // One of the two progresses: fewer ready jobs, less work left in the layer.
                let who = match p {
                    Some(p) if partner => p,
                    _ => r,
                };
                let w = &mut raw[who];
                w.3 = w.3.saturating_sub(served);
                w.2 = w.2.saturating_sub(done);
                w.4 = running;
                if let Some(tile) = tile {
                    w.6 = tile;
                }
                now += step;
                // r runs on some of the busy arrays.
                let idle = idle.min(n);
                raw[r].4 = raw[r].4.min(n - idle);
                let owners = arrays(idle);
                let rs = views(&raw, &outlooks);
                let view = View { now: Cycles(now), arrays: &owners, last_tenant: &lasts, requests: &rs, fusion_geometry: Some((12, 12)) };
                // The engine uses the order only when its jobs are ready.
                let ready = |i: usize| rs.iter().find(|v| v.id == id_of(i)).expect("active").ready;
                let usable = match p {
                    None => ready(r) >= idle,
                    Some(p) => idle == 1 && ready(r) > 0 && ready(p) > 0,
                };
                if !usable || !policy.confirm(&view, idle) {
                    continue;
                }
                let mut want = Decision::default();
                match p {
                    None => want.assign.extend((0..idle).map(|a| (ArrayId(a), id_of(r)))),
                    Some(p) => want.fuse.push((ArrayId(0), id_of(r), id_of(p))),
                }
                prop_assert_eq!(policy.clone().decide(&view), want);
            }
        }
    }

    /// Two requests with 4 ready jobs each on 4 idle arrays, `a` first in deadline order.
    /// Their current layers are their last: 4 jobs of 100 cycles (400 on one array).
    fn pair(a_deadline: u64, b_deadline: u64) -> Vec<Raw> {
        vec![
            (a_deadline, 0, 400, 4, 0, 0, None),
            (b_deadline, 0, 400, 4, 0, 0, None),
        ]
    }

    fn decide_on(raw: &[Raw], last: &[Option<TenantId>]) -> Decision {
        let outlooks = [Outlook::default()];
        let rs = views(raw, &outlooks);
        let owners = vec![None; 4];
        let view = View {
            now: Cycles(0),
            arrays: &owners,
            last_tenant: last,
            requests: &rs,
            fusion_geometry: None,
        };
        let mut fast = CdMsa::new(CdMsaOptions::default());
        let decided = fast.decide(&view);
        let mut reference = CdMsa::reference(CdMsaOptions::default());
        assert_eq!(
            decided,
            reference.decide(&view),
            "the definition decides the same"
        );
        decided
    }

    fn arrays_of(d: &Decision, id: RequestId) -> Vec<usize> {
        d.assign
            .iter()
            .filter(|(_, r)| *r == id)
            .map(|(a, _)| a.0)
            .collect()
    }

    #[test]
    fn a_request_that_one_array_serves_in_time_gets_one_and_a_tight_one_gets_the_rest() {
        // Ids are (position · 5) mod 23: 0 and 5. Both fit one array (400 ≤ 1 000): each
        // gets its minimum of one, then the most urgent, 0, the two left.
        let d = decide_on(&pair(1_000, 2_000), &[]);
        assert_eq!(arrays_of(&d, RequestId(0)), [0, 1, 2]);
        assert_eq!(arrays_of(&d, RequestId(5)), [3]);
        // Request 0 due at 399 is tight (one array takes 400): it takes every array it has
        // a job for, before 5's minimum.
        let d = decide_on(&pair(399, 2_000), &[]);
        assert_eq!(arrays_of(&d, RequestId(0)), [0, 1, 2, 3]);
        assert!(arrays_of(&d, RequestId(5)).is_empty());
    }

    /// Request 0 runs one job on array 0 between layers (nothing ready) and its later layers
    /// take 1 200, 600, 400 or 300 cycles on 1–4 arrays; request 5 has three ready jobs of
    /// `job` cycles each and a far deadline. Arrays 1–3 are idle. Returns the arrays 5 gets.
    /// Worked by hand; the fast path and the readable definition both.
    fn lent(deadline: u64, job: u64) -> Vec<usize> {
        let outlooks = [
            Outlook::default(),
            Outlook {
                by_arrays: [1_200, 600, 400, 300].map(Cycles).to_vec(),
                widest: 4,
            },
        ];
        let raw: [Raw; 2] = [
            (deadline, 0, 0, 0, 1, 1, None),
            (100_000, 0, 3 * job, 3, 0, 0, None),
        ];
        let rs = views(&raw, &outlooks);
        let owners = [Some(RequestId(0)), None, None, None];
        let view = View {
            now: Cycles(0),
            arrays: &owners,
            last_tenant: &[],
            requests: &rs,
            fusion_geometry: None,
        };
        let decided = CdMsa::new(CdMsaOptions::default()).decide(&view);
        let reference = CdMsa::reference(CdMsaOptions::default()).decide(&view);
        assert_eq!(decided, reference, "the definition decides the same");
        arrays_of(&decided, RequestId(5))
    }

    #[test]
    fn arrays_are_lent_within_the_lenders_laxity_and_spare_arrays() {
        // Due at 1 500: one array meets the deadline (1 200 ≤ 1 500), so request 0 keeps one
        // of its 4 and spares 3; its laxity with 4 arrays is 1 500 − 300 = 1 200, so request
        // 5 takes its three 500-cycle jobs.
        assert_eq!(lent(1_500, 500), [1, 2, 3]);
        // A 1 300-cycle job would outlast the laxity: nothing is lent, arrays stay idle.
        assert!(lent(1_500, 1_300).is_empty());
        // Due at 1 000, request 0 is tight (one array takes 1 200): it keeps all 4, although
        // 2 would meet its deadline by the estimate (600 ≤ 1 000) and a 100-cycle job would
        // end well within its laxity of 700.
        assert!(lent(1_000, 100).is_empty());
    }

    #[test]
    fn a_late_best_effort_request_waits_while_an_admitted_one_is_active() {
        // Id 0: four ready jobs of 2 500 cycles due at 100, late with every array (the
        // demand test rejects it); id 5: one ready job of 400 due at 100 000, admitted. Id 5
        // takes one array and the other three stay idle rather than run id 0's jobs.
        let late = (100, 0, 10_000, 4, 0, 0, None);
        let d = decide_on(&[late, (100_000, 0, 400, 1, 0, 0, None)], &[]);
        assert_eq!(arrays_of(&d, RequestId(5)), [0]);
        assert!(arrays_of(&d, RequestId(0)).is_empty());
        // Alone, it runs on every array it has a job for.
        let d = decide_on(&[late], &[]);
        assert_eq!(arrays_of(&d, RequestId(0)), [0, 1, 2, 3]);
    }

    #[test]
    fn arrays_go_first_to_the_tenant_they_last_ran() {
        // Position 1 (id 5) is tenant 1: array 2 ran it last, so its one array is array 2;
        // request 0 (tenant 0) gets the others, in index order.
        let last = [
            Some(TenantId(0)),
            None,
            Some(TenantId(1)),
            Some(TenantId(2)),
        ];
        let d = decide_on(&pair(1_000, 2_000), &last);
        assert_eq!(arrays_of(&d, RequestId(5)), [2]);
        assert_eq!(arrays_of(&d, RequestId(0)), [0, 1, 3]);
    }
}
