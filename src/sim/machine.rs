//! The accelerator's state and its transitions: a request arrives, a job is dispatched to an
//! array, a job completes, a tile job is preempted between K-tiles, a request is dropped.
//! Each transition updates the requests, the arrays, the outcome and the policy's view, and
//! notes in [`Changes`] what a standing order depends on; none of them knows the
//! policy; each busy array holds its one pending event, which the engine reads.

use super::dram::Dram;
use super::run::Sim;
use super::views::Views;
use super::{
    ArrayCounters, BandwidthSample, Job, Layer, Mode, SimOutcome, Slice, TenantCounters,
    TenantModel, Tokens, Traffic, check,
};
use crate::error::{Error, Result};
use crate::exec::{Fault, Interpreter, JobCost, JobTraffic, Scratchpad};
use crate::kernel::{GemmShape, TileProfile};
use crate::sched::{LayerProfile, Outlook};
use crate::units::{ArrayId, Cycles, RequestId};
use std::collections::HashMap;

mod memory;
mod steps;

use memory::Claim;
use steps::no_pass;

/// A request in the system.
pub(super) struct Active<'t> {
    pub(super) id: RequestId,
    pub(super) tenant: usize,
    pub(super) arrival: Cycles,
    pub(super) deadline: Cycles,
    pub(super) start: Option<Cycles>,
    /// Latency alone of the pass it runs (of its current step, for a decoder request).
    pub(super) isolated: Cycles,
    /// The pass it runs: its tenant's program, or its token loop's current step.
    layers: &'t [Layer],
    profile: &'t [LayerProfile],
    outlook: &'t [Outlook],
    /// A decoder request's token loop, and the step it is in.
    tokens: Option<(Tokens, usize)>,
    /// The requests (slots) riding in the batched decode iteration this one leads.
    members: Vec<usize>,
    /// Riding in another's iteration, or waiting for its tenant's to end: out of the
    /// policy's view.
    parked: bool,
    layer: usize,
    /// The current layer's jobs and the outlook after it (cached from the pass).
    pub(super) jobs: &'t [Job],
    pub(super) after: &'t Outlook,
    /// The first job of the layer not yet dispatched.
    pub(super) next_job: usize,
    /// The layer's jobs after `next_job` already dispatched (taken out of order to reuse a
    /// resident block, see [`Machine::pick`]), flagged by index, and how many there are.
    taken: Vec<bool>,
    ahead: usize,
    pub(super) running: usize,
    pub(super) remaining: Cycles,
    pub(super) remaining_in_layer: Cycles,
    pub(super) served: Cycles,
    interp: Option<Interpreter<'t>>,
    dropped: bool,
    /// Tile jobs preempted at a K-tile boundary, waiting to resume (before any new job).
    resume: Vec<Resume>,
    /// Functional mode: the current layer's completed tile jobs, in completion order, with
    /// the fault injected into each; their values are computed when the layer ends.
    finished: Vec<(usize, Option<Fault>)>,
}

impl Active<'_> {
    /// Jobs ready to dispatch: preempted jobs waiting to resume and the layer's undispatched
    /// ones.
    pub(super) fn ready(&self) -> usize {
        self.jobs.len() - self.next_job - self.ahead + self.resume.len()
    }

    /// Whether job `j` of the layer has been dispatched.
    fn is_taken(&self, j: usize) -> bool {
        j < self.next_job || self.taken.get(j).copied().unwrap_or(false)
    }

    /// Marks job `j` of the layer (not yet taken) dispatched.
    fn take(&mut self, j: usize) {
        if j != self.next_job {
            if self.taken.len() < self.jobs.len() {
                self.taken.resize(self.jobs.len(), false);
            }
            self.taken[j] = true;
            self.ahead += 1;
            return;
        }
        self.next_job += 1;
        while self.taken.get(self.next_job).copied().unwrap_or(false) {
            self.taken[self.next_job] = false;
            self.ahead -= 1;
            self.next_job += 1;
        }
    }
}

/// Which of a request's ready jobs a dispatch starts.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pick {
    /// The job (for a job resuming after a K-tile cut, its remaining folds).
    pub(super) job: Job,
    /// Its index in the layer; `None`: the first job waiting to resume.
    index: Option<usize>,
}

/// The last job an array started of some layer: the request and the job's index.
#[derive(Debug, Clone, Copy)]
struct LastJob {
    request: usize,
    job: usize,
}

/// The rest of a tile job preempted between K-tiles: its remaining folds, plus restoring the
/// saved partial sums.
struct Resume {
    job: usize,
    rest: Job,
    fault: Option<Fault>,
}

/// One request's job on an array (two of them when fused).
#[derive(Debug, Clone, Copy, Default)]
struct Part {
    request: usize,
    job: usize,
    fault: Option<Fault>,
    /// Its slice in the trace, when recorded.
    slice: Option<usize>,
}

/// What an array runs: one job, or two tile jobs of different requests fused. Each array's
/// is updated in place (the engine's hottest data). The job ends when its compute is done
/// and the DRAM has moved its bytes, whichever is later.
#[derive(Debug, Clone, Copy)]
struct Running {
    /// Whether the array is running it (otherwise it is idle and the rest is stale).
    busy: bool,
    /// `parts[0]`, and `parts[1]` when fused.
    parts: [Part; 2],
    fused: bool,
    /// The job as dispatched: a single request's (a resumed job's remaining folds), or the
    /// fused pair's joint tile.
    job: Job,
    /// Preempted between K-tiles (single jobs only): the rest resumes later instead of
    /// completing.
    rest: Option<Job>,
    start: Cycles,
    /// When its compute is done.
    compute_end: Cycles,
    /// Its pending event: when its stream will have moved its bytes, or else when it ends.
    next: Cycles,
    /// The duration credited to its requests at dispatch (corrected when it ends).
    credited: Cycles,
    generation: u64,
}

impl Running {
    /// An idle array.
    const IDLE: Running = Running {
        busy: false,
        parts: [Part {
            request: 0,
            job: 0,
            fault: None,
            slice: None,
        }; 2],
        fused: false,
        job: Job {
            tile: None,
            profile: None,
            cost: JobCost {
                compute: Cycles::ZERO,
                bytes: 0,
            },
            traffic: JobTraffic {
                weights: None,
                inputs: None,
                streamed: 0,
                writes: 0,
                keep: false,
            },
        },
        rest: None,
        start: Cycles::ZERO,
        compute_end: Cycles::ZERO,
        next: Cycles::ZERO,
        credited: Cycles::ZERO,
        generation: 0,
    };
}

/// What changed since the last decision point that a standing order depends on.
#[derive(Debug, Default)]
pub(super) struct Changes {
    /// The active requests changed, a request changed layer, or a job was preempted between
    /// K-tiles.
    pub(super) reshaped: bool,
    /// A fused job completed.
    pub(super) fused_completed: bool,
    /// The requests a job of which completed.
    pub(super) completed: Vec<usize>,
}

impl Changes {
    /// Forgets every change (keeping the memory).
    pub(super) fn clear(&mut self) {
        self.reshaped = false;
        self.fused_completed = false;
        self.completed.clear();
    }
}

/// The outlook of a tenant without layers.
static NO_OUTLOOK: Outlook = Outlook {
    by_arrays: Vec::new(),
    widest: 0,
};

/// The accelerator at `now`: its requests, its arrays and what they have produced.
pub(super) struct Machine<'t, 'c> {
    pub(super) sim: Sim<'t, 'c>,
    /// The first arrival position this machine simulates: its per-request state (`active`,
    /// the views, `out.records`) covers the arrivals from here on, by position less `base`,
    /// and grows as they arrive, so that memory follows the requests simulated, not the
    /// requests times the segments.
    pub(super) base: usize,
    pub(super) now: Cycles,
    /// Boxed, so that a finished request leaves only a pointer behind.
    pub(super) active: Vec<Option<Box<Active<'t>>>>,
    arrays: Vec<Running>,
    /// Arrays running a job.
    pub(super) busy: usize,
    /// Each array's scratchpad.
    pads: Vec<Scratchpad>,
    /// The DRAM and its streams.
    dram: Dram,
    /// The DRAM's re-rates seen by [`Machine::retime`].
    rates_seen: u64,
    /// Scratch space for the bandwidth samples.
    by_tenant: Vec<f64>,
    last_owner: Vec<Option<usize>>,
    /// Per array, per layer (by the address of its jobs, which live as long as the
    /// machine): the last fresh (not resumed) job the array started of it, alone or first of
    /// a fused pair. Forgotten with the scratchpads.
    last_job: Vec<HashMap<usize, LastJob>>,
    dispatched: u64,
    /// Bumped at every dispatch and preemption, to recognise stale completion events.
    generation: u64,
    /// The policy's view of the active requests and the arrays.
    pub(super) views: Views<'t>,
    /// What changed since the last decision point.
    pub(super) changes: Changes,
    /// Per tenant, the leader of its batched decode iteration running, if one is.
    iterations: Vec<Option<usize>>,
    /// Per tenant, the requests waiting at a decode step for its iteration to end.
    waiting: Vec<Vec<usize>>,
    /// KV-cache memory free for decoder requests (`None`: unbounded).
    kv_free: Option<u64>,
    /// Per tenant, the KV-cache bytes its admitted requests hold.
    kv_held: Vec<u64>,
    /// Decoder requests waiting for KV-cache memory, in arrival order.
    kv_queue: std::collections::VecDeque<usize>,
    pub(super) out: SimOutcome,
}

impl<'t, 'c> Machine<'t, 'c> {
    /// An empty accelerator at cycle 0 whose first arrival is at position `base`.
    pub(super) fn new(sim: Sim<'t, 'c>, base: usize) -> Self {
        Machine {
            sim,
            base,
            now: Cycles::ZERO,
            active: Vec::new(),
            arrays: vec![Running::IDLE; sim.cfg.arrays],
            busy: 0,
            pads: vec![Scratchpad::new(sim.cfg); sim.cfg.arrays],
            dram: Dram::new(sim.cfg, sim.tenants.iter().map(|t| t.name.as_str())),
            rates_seen: 0,
            by_tenant: vec![0.0; sim.tenants.len()],
            last_owner: vec![None; sim.cfg.arrays],
            last_job: vec![HashMap::new(); sim.cfg.arrays],
            dispatched: 0,
            generation: 0,
            views: Views::new(sim.cfg.arrays),
            changes: Changes::default(),
            iterations: vec![None; sim.tenants.len()],
            waiting: vec![Vec::new(); sim.tenants.len()],
            kv_free: sim.cfg.kv_cache_mib.map(|m| m << 20),
            kv_held: vec![0; sim.tenants.len()],
            kv_queue: Default::default(),
            out: SimOutcome {
                counters: vec![TenantCounters::default(); sim.tenants.len()],
                arrays: vec![ArrayCounters::default(); sim.cfg.arrays],
                layers: sim
                    .tenants
                    .iter()
                    .map(|t| vec![Traffic::default(); t.program.nodes.len()])
                    .collect(),
                ..SimOutcome::default()
            },
        }
    }

    /// Arrays.
    pub(super) fn arrays(&self) -> usize {
        self.arrays.len()
    }

    /// Whether `array` exists and is idle.
    pub(super) fn is_idle(&self, array: usize) -> bool {
        self.arrays.get(array).is_some_and(|a| !a.busy)
    }

    /// The position of request `i` (arrived here) in the per-request state.
    #[inline(always)]
    pub(super) fn at(&self, i: usize) -> usize {
        self.sim.rank[i] - self.base
    }

    /// [`Machine::at`] for a request that may not have arrived here (`None` then).
    #[inline(always)]
    fn slot(&self, i: usize) -> Option<usize> {
        let k = self.sim.rank.get(i)?.checked_sub(self.base)?;
        (k < self.active.len()).then_some(k)
    }

    /// No request active and no array busy.
    pub(super) fn is_idle_everywhere(&self) -> bool {
        self.views.is_empty() && self.busy == 0
    }

    /// When no request is active and no array busy, the scratchpads are cleared: a busy
    /// period starts from cold scratchpads, as at cycle 0, so that busy periods are
    /// independent of each other (an input block dies with its request anyway; only weight
    /// blocks could outlive an idle spell).
    pub(super) fn clear_when_idle(&mut self) {
        if self.is_idle_everywhere() {
            self.pads.iter_mut().for_each(Scratchpad::clear);
            self.last_job.iter_mut().for_each(HashMap::clear);
            self.views.forget_tenants();
        }
    }

    /// Request `i` arrives (in arrival order): it enters its first layer, or waits for KV-cache
    /// memory, or is refused it ([`Claim`]).
    pub(super) fn arrive(&mut self, i: usize) -> Result<()> {
        let k = self.at(i);
        debug_assert_eq!(k, self.active.len(), "arrivals in order");
        self.out.records.push(self.sim.record(i));
        self.active.push(None);
        self.views.reserve(k);
        match self.claim_kv(i) {
            Claim::Granted => self.admit(i),
            Claim::Waits => {
                self.kv_queue.push_back(i);
                Ok(())
            }
            Claim::Refused => Ok(()),
        }
    }

    /// Request `i`, arrived and holding what it needs, enters the system and its first layer.
    fn admit(&mut self, i: usize) -> Result<()> {
        let spec = self.sim.requests[i];
        let tenant = &self.sim.tenants[spec.tenant];
        let ((layers, profile, outlook), isolated, deadline) = match (spec.tokens, &tenant.decoder)
        {
            (None, _) => (
                (&tenant.layers[..], &tenant.profile[..], &tenant.outlook[..]),
                tenant.isolated,
                spec.deadline,
            ),
            (Some(t), Some(d)) => {
                let (pass, isolated) = d.pass(t.prompt, 0).ok_or_else(|| no_pass(tenant, &t))?;
                (pass.parts(), *isolated, t.deadline(spec.arrival, 0))
            }
            (Some(_), None) => {
                return Err(Error::Invalid(format!(
                    "request {i} is a token loop of tenant '{}', which is not a decoder",
                    tenant.name
                )));
            }
        };
        let interp = match self.sim.mode {
            Mode::Timing => None,
            Mode::Functional { .. } => Some(Interpreter::new(
                &tenant.program,
                &tenant.inputs,
                self.sim.cfg,
            )?),
        };
        let k = self.at(i);
        self.active[k] = Some(Box::new(Active {
            id: RequestId(i as u64),
            tenant: spec.tenant,
            arrival: spec.arrival,
            deadline,
            start: None,
            isolated,
            layers,
            profile,
            outlook,
            tokens: spec.tokens.map(|t| (t, 0)),
            members: Vec::new(),
            parked: false,
            layer: 0,
            jobs: layers.first().map_or(&[], |l| &l.jobs),
            after: outlook.first().unwrap_or(&NO_OUTLOOK),
            next_job: 0,
            taken: Vec::new(),
            ahead: 0,
            running: 0,
            remaining: profile.iter().map(|l| l.cost).sum(),
            remaining_in_layer: profile.first().map_or(Cycles::ZERO, |l| l.cost),
            served: Cycles::ZERO,
            interp,
            dropped: false,
            resume: Vec::new(),
            finished: Vec::new(),
        }));
        self.changes.reshaped = true;
        let a = self.active[k].as_ref().expect("just arrived");
        self.views.restore(k, a, tenant);
        self.views.touch(k);
        self.enter_layer(k)
    }

    /// Starts the current layer of the request in slot `k`; layers without jobs complete at
    /// once.
    fn enter_layer(&mut self, k: usize) -> Result<()> {
        self.changes.reshaped = true;
        loop {
            let a = self.active[k].as_mut().expect("active");
            if a.layer == a.layers.len() && !self.end_pass(k)? {
                return Ok(());
            }
            let a = self.active[k].as_mut().expect("active");
            let layer = &a.layers[a.layer];
            a.jobs = &layer.jobs;
            a.after = &a.outlook[a.layer];
            a.next_job = 0;
            a.taken.clear();
            a.ahead = 0;
            a.remaining_in_layer = a.profile[a.layer].cost;
            if let Some(it) = a.interp.as_mut() {
                it.begin(layer.node)?;
            }
            if !layer.jobs.is_empty() {
                return Ok(());
            }
            self.leave_layer(k)?;
        }
    }

    /// Ends the current layer of the request in slot `k` (its values checked against the
    /// isolated run) and moves on.
    fn leave_layer(&mut self, k: usize) -> Result<()> {
        let a = self.active[k].as_mut().expect("active");
        let tenant = &self.sim.tenants[a.tenant];
        let node = a.layers[a.layer].node;
        if let Some(it) = a.interp.as_mut() {
            check::layer(it, tenant, a.id, node, &mut a.finished, &mut self.out)?;
        }
        a.layer += 1;
        Ok(())
    }

    /// The request in slot `k` has finished its last layer.
    fn finish(&mut self, k: usize) -> Result<()> {
        let a = self.active[k].take().expect("active");
        self.forget(k);
        let rec = &mut self.out.records[k];
        rec.start = a.start.or(Some(self.now));
        rec.finish = Some(self.now);
        if let Some(it) = a.interp {
            check::outputs(it, &self.sim.tenants[a.tenant], a.id, &mut self.out)?;
        }
        self.release_kv(a.id.0 as usize)
    }

    /// Removes the request in slot `k` from the policy's view.
    fn forget(&mut self, k: usize) {
        self.changes.reshaped = true;
        self.views.remove(k);
    }

    /// Gives up on request `i` (nothing when it is not active here); dropping a batched
    /// decode iteration's leader drops its members, and the requests waiting for it form the
    /// next.
    pub(super) fn drop_request(&mut self, i: usize) -> Result<()> {
        let Some(k) = self.slot(i) else {
            return Ok(());
        };
        let Some(a) = self.active[k].as_mut() else {
            return Ok(());
        };
        let (tenant, members) = (a.tenant, std::mem::take(&mut a.members));
        for m in std::iter::once(k).chain(members) {
            if let Some(a) = self.active[m].as_mut() {
                a.dropped = true;
                self.out.records[m].start = a.start;
                let id = a.id.0 as usize;
                self.forget(m);
                self.release_kv(id)?;
            }
        }
        if self.iterations[tenant] == Some(k) {
            self.iterations[tenant] = None;
            let waiting = std::mem::take(&mut self.waiting[tenant]);
            self.form_iteration(tenant, waiting, None)?;
        }
        Ok(())
    }

    /// How many jobs request `i` has ready.
    pub(super) fn ready_jobs(&self, i: usize) -> usize {
        self.slot(i)
            .and_then(|k| self.active[k].as_ref())
            .filter(|a| !a.dropped)
            .map_or(0, |a| a.ready())
    }

    /// The next ready job of request `i`: the first waiting to resume, else the layer's first
    /// not yet dispatched.
    pub(super) fn next_job(&self, i: usize) -> Option<Pick> {
        let a = self.active[self.slot(i)?].as_ref().filter(|a| !a.dropped)?;
        if let Some(r) = a.resume.first() {
            return Some(Pick {
                job: r.rest,
                index: None,
            });
        }
        let job = *a.jobs.get(a.next_job)?;
        Some(Pick {
            job,
            index: Some(a.next_job),
        })
    }

    /// The ready job of request `i` that `array` starts alone: of a few candidates, the one
    /// with the most bytes resident in the array's scratchpad; ties go to the first of them
    /// in this order:
    /// 1. the array's home job: the layer's weight blocks are dealt round-robin over the
    ///    arrays ([`Layer::homes`](super::Layer)), and this is the first job not yet
    ///    dispatched whose block is the array's, so that the requests of a tenant keep each
    ///    block on one array however they interleave, as a compiler's static tile-to-array
    ///    mapping does;
    /// 2. where the array left off in this layer (its last job of it, of any request): the
    ///    first job not yet dispatched that reads that job's weight block, and, same request,
    ///    the next one that reads its input block;
    /// 3. [`Machine::next_job`].
    pub(super) fn pick(&self, array: usize, i: usize) -> Option<Pick> {
        let first = self.next_job(i)?;
        let (Some(j), Some(pad)) = (first.index, self.pads.get(array)) else {
            return Some(first);
        };
        let a = self.active[self.at(i)]
            .as_ref()
            .expect("a request with a ready job");
        let layer = &a.layers[a.layer];
        let untaken = |c: &usize| !a.is_taken(*c);
        let home = layer.homes[array].iter().map(|&c| c as usize).find(untaken);
        let last = self.last_job[array].get(&(a.jobs.as_ptr() as usize));
        let (weights, inputs) = match last {
            None => (None, None),
            Some(last) => {
                let mut chain = std::iter::successors(Some(last.job), |&c| {
                    Some(layer.same_weights[c] as usize).filter(|&n| n != last.job)
                });
                let inputs = a.jobs[last.job]
                    .traffic
                    .inputs
                    .filter(|_| last.request == i);
                let same_inputs = inputs.and_then(|b| {
                    (last.job + 1..a.jobs.len())
                        .take_while(|&c| a.jobs[c].traffic.inputs == Some(b))
                        .find(untaken)
                });
                (chain.find(untaken), same_inputs)
            }
        };
        let id = self.sim.tenants[a.tenant].id.0.into();
        let node = layer.node as u32;
        let resident = |c: usize| pad.resident_bytes(&a.jobs[c].traffic, id, i as u64, node);
        let mut best: Option<(u64, usize)> = None;
        for c in [home, weights, inputs, Some(j)].into_iter().flatten() {
            let r = resident(c);
            if best.is_none_or(|(b, _)| r > b) {
                best = Some((r, c));
            }
        }
        let c = best.map_or(j, |(_, c)| c);
        Some(Pick {
            job: a.jobs[c],
            index: Some(c),
        })
    }

    /// The next pending event: the busy array whose event comes first, equal times in the
    /// order the events were set (by generation). Each busy array has exactly one.
    #[inline(always)]
    pub(super) fn next_event(&self) -> Option<(Cycles, usize)> {
        let mut best: Option<(Cycles, u64, usize)> = None;
        for (a, run) in self.arrays.iter().enumerate() {
            if run.busy && best.is_none_or(|b| (run.next, run.generation) < (b.0, b.1)) {
                best = Some((run.next, run.generation, a));
            }
        }
        best.map(|(at, _, a)| (at, a))
    }

    /// The event of the job on `array` (its pending one, now): its stream has moved its
    /// bytes (the DRAM re-rates), and the job completes when its compute is done too.
    /// Returns whether it completed.
    #[inline(always)]
    pub(super) fn event(&mut self, array: usize) -> Result<bool> {
        let drained = self.dram.drain(self.now, array);
        if !drained || self.now < self.arrays[array].compute_end {
            self.retime(Some(array));
            return Ok(false);
        }
        self.complete(array)?;
        self.retime(None);
        Ok(true)
    }

    /// The job on `array` completes now.
    #[inline(always)]
    fn complete(&mut self, array: usize) -> Result<()> {
        let run = &mut self.arrays[array];
        run.busy = false;
        // Field by field: the whole record is too large to copy at every completion.
        let (first, fused) = (run.parts[0], run.fused);
        let (took, credited) = (self.now - run.start, run.credited);
        self.views.set_owner(array, None);
        self.busy -= 1;
        self.out.arrays[array].busy_cycles += took.0;
        self.changes.fused_completed |= fused;
        self.settle_part(first, took, credited);
        self.complete_part(first, array)?;
        if fused {
            let second = self.arrays[array].parts[1];
            self.settle_part(second, took, credited);
            self.complete_part(second, array)?;
        }
        Ok(())
    }

    /// Corrects the service credited to `run`'s request and tenant at dispatch (`credited`)
    /// to what the job took.
    #[inline(always)]
    fn settle_part(&mut self, run: Part, took: Cycles, credited: Cycles) {
        if took == credited {
            return;
        }
        if let Some(slice) = run.slice {
            self.out.slices[slice].duration = took;
        }
        let k = self.at(run.request);
        if let Some(a) = self.active[k].as_mut() {
            a.served = a.served - credited + took;
            let c = &mut self.out.counters[a.tenant];
            c.busy_cycles = c.busy_cycles - credited.0 + took.0;
        }
    }

    /// Brings every busy array's pending event up to date after the DRAM re-rated (or only
    /// `array`'s, when it did not); an event set anew takes a new generation.
    #[inline(always)]
    fn retime(&mut self, array: Option<usize>) {
        let version = self.dram.rerates();
        let all = version != self.rates_seen;
        self.rates_seen = version;
        if self.sim.options.trace && all {
            self.sample_bandwidth();
        }
        for a in 0..self.arrays.len() {
            if !(all || array == Some(a)) || !self.arrays[a].busy {
                continue;
            }
            let run = &mut self.arrays[a];
            let next = self.dram.done_at(a).unwrap_or(run.compute_end);
            if next != run.next || array == Some(a) {
                self.generation += 1;
                run.generation = self.generation;
                run.next = next;
            }
        }
    }

    /// Completes `run`, a part of the job on `array` (or, when the job was preempted, saves
    /// the rest).
    #[inline(always)]
    fn complete_part(&mut self, run: Part, array: usize) -> Result<()> {
        let k = self.at(run.request);
        self.views.touch(k);
        self.changes.completed.push(run.request);
        let Some(a) = self.active[k].as_mut() else {
            return Ok(());
        };
        a.running -= 1;
        if a.dropped {
            return Ok(());
        }
        if let Some(rest) = self.arrays[array].rest {
            // Preempted between K-tiles: the rest waits (first in line) with its values.
            self.changes.reshaped = true;
            let estimate = rest
                .cost
                .contended(self.sim.cfg.dram_bytes_per_cycle, self.sim.cfg.arrays);
            a.remaining += estimate;
            a.remaining_in_layer += estimate;
            // Counted as a preemption when another request takes the array.
            a.resume.push(Resume {
                job: run.job,
                rest,
                fault: run.fault,
            });
            return Ok(());
        }
        if a.interp.is_some()
            && let Some(tile) = a.jobs[run.job].tile
        {
            a.finished.push((tile, run.fault));
        }
        if a.next_job == a.jobs.len() && a.running == 0 && a.resume.is_empty() {
            self.leave_layer(k)?;
            self.enter_layer(k)?;
        }
        Ok(())
    }

    /// Starts a ready job of `first`'s request on idle `array`, fused with one of `second`'s
    /// when given; each comes with the job picked ([`Machine::pick`], [`Machine::next_job`]).
    /// Its operands not resident in the array's scratchpad and its outputs stream over the
    /// DRAM.
    #[inline(always)]
    pub(super) fn dispatch(
        &mut self,
        array: usize,
        (i, pick): (usize, Pick),
        second: Option<(usize, Pick)>,
    ) {
        let (fused, first) = (second.is_some(), &pick.job);
        let job = match &second {
            None => *first,
            Some((_, second)) => {
                let second = &second.job;
                let none = GemmShape { m: 0, k: 0, n: 0 };
                let shape = |j: &Job| j.profile.map_or(none, |t| t.shape);
                let (joint, cost) = self
                    .sim
                    .costs
                    .fused((shape(first), first.cost), (shape(second), second.cost));
                Job {
                    tile: None,
                    profile: first.profile.map(|t| TileProfile {
                        shape: joint,
                        datapath: t.datapath,
                    }),
                    cost,
                    traffic: first.traffic,
                }
            }
        };
        let mut moved = self.fetch(array, i, first);
        if let Some((j, second)) = &second {
            moved += self.fetch(array, *j, &second.job);
        }
        let tenant = self.active[self.at(i)].as_ref().expect("active").tenant;
        self.dram.start(self.now, array, tenant, moved);
        let compute_end = self.now + job.cost.compute;
        let duration = self.end(array, compute_end) - self.now;
        if let Some(j) = pick.index {
            let a = self.active[self.at(i)].as_ref().expect("active");
            let last = LastJob { request: i, job: j };
            self.last_job[array].insert(a.jobs.as_ptr() as usize, last);
        }
        let part = self.start_part(array, i, pick, duration, fused);
        self.arrays[array].parts[0] = part;
        if let Some((j, second)) = second {
            let part = self.start_part(array, j, second, duration, fused);
            self.arrays[array].parts[1] = part;
        }
        self.views.set_owner(array, Some(RequestId(i as u64)));
        self.views.set_tenant(array, self.sim.tenants[tenant].id);
        self.busy += 1;
        let run = &mut self.arrays[array];
        run.busy = true;
        run.fused = fused;
        run.job = job;
        run.rest = None;
        run.start = self.now;
        run.compute_end = compute_end;
        run.credited = duration;
        self.retime(Some(array));
    }

    /// When the job on `array`, computing until `compute_end`, ends at the DRAM's present
    /// rates: when its compute is done or its stream has moved its bytes, whichever is later.
    fn end(&self, array: usize, compute_end: Cycles) -> Cycles {
        self.dram
            .done_at(array)
            .map_or(compute_end, |t| t.max(compute_end))
    }

    /// Fetches what request `i`'s job `own` on `array` reads and is not resident there, and
    /// counts its traffic; returns the bytes it moves over the DRAM (reads and writes).
    #[inline(always)]
    fn fetch(&mut self, array: usize, i: usize, own: &Job) -> u64 {
        let a = self.active[self.at(i)].as_ref().expect("active");
        let (tenant, node) = (a.tenant, a.layers[a.layer].node);
        let id = self.sim.tenants[tenant].id;
        let traffic = self.pads[array].fetch_job(&own.traffic, id.0.into(), i as u64, node as u32);
        self.count(tenant, node, array, traffic);
        traffic.dram_read_bytes + traffic.dram_write_bytes
    }

    /// Records the DRAM bandwidth in use from now on (replacing a sample of the same cycle,
    /// leaving out one that changes nothing).
    fn sample_bandwidth(&mut self) {
        let total = self.dram.in_use(&mut self.by_tenant);
        let samples = &mut self.out.bandwidth;
        if samples.last().is_some_and(|b| b.at == self.now) {
            samples.pop();
        }
        if samples
            .last()
            .is_some_and(|b| b.total == total && b.by_tenant == self.by_tenant)
        {
            return;
        }
        samples.push(BandwidthSample {
            at: self.now,
            total,
            by_tenant: self.by_tenant.clone(),
        });
    }

    /// Counts `traffic` for `tenant`'s node `node` on `array`.
    #[inline(always)]
    fn count(&mut self, tenant: usize, node: usize, array: usize, traffic: Traffic) {
        self.out.counters[tenant].traffic += traffic;
        self.out.arrays[array].traffic += traffic;
        self.out.layers[tenant][node] += traffic;
    }

    /// Starts request `i`'s job `pick` on `array` for `duration` (alone or fused): advances
    /// the request and counts the service.
    #[inline(always)]
    fn start_part(
        &mut self,
        array: usize,
        i: usize,
        pick: Pick,
        duration: Cycles,
        fused: bool,
    ) -> Part {
        let own = &pick.job;
        let bw = self.sim.cfg.dram_bytes_per_cycle;
        let fault = match self.sim.mode {
            Mode::Functional {
                fault: Some((f, n)),
            } if n == self.dispatched => Some(f),
            _ => None,
        };
        self.dispatched += 1;
        let k = self.at(i);
        self.views.touch(k);
        self.count_preemption(array, i);
        self.last_owner[array] = Some(i);
        let a = self.active[k].as_mut().expect("active");
        let (job, fault) = match pick.index {
            None => {
                let r = a.resume.remove(0);
                (r.job, r.fault)
            }
            Some(j) => {
                a.take(j);
                (j, fault)
            }
        };
        let estimate = own.cost.contended(bw, self.sim.cfg.arrays);
        a.start.get_or_insert(self.now);
        a.running += 1;
        a.remaining = a.remaining - estimate;
        a.remaining_in_layer = a.remaining_in_layer - estimate;
        a.served += duration;
        let counters = &mut self.out.counters[a.tenant];
        counters.busy_cycles += duration.0;
        counters.fused_tiles += u64::from(fused);
        let mut slice = None;
        if self.sim.options.trace {
            let tenant = &self.sim.tenants[a.tenant];
            slice = Some(self.out.slices.len());
            self.out.slices.push(Slice {
                array: ArrayId(array),
                tenant: tenant.id,
                request: a.id,
                node: a.layers[a.layer].node,
                tile: own.tile,
                start: self.now,
                duration,
                fused,
            });
        }
        Part {
            request: i,
            job,
            fault,
            slice,
        }
    }

    /// Preempts the single tile job on `array` at its next K-tile (fold) boundary, as its
    /// timing stands now: its stream stops (the rest of its blocks is the rest's to read),
    /// its partial sums are written to DRAM and the array frees up then; the rest of the job
    /// (remaining folds, the rest of its blocks, reading the partial sums back) resumes
    /// later. Fused jobs, single-fold jobs and jobs already in their last fold run on.
    pub(super) fn preempt_between_k_tiles(&mut self, array: usize) {
        let run = &self.arrays[array];
        let (true, false, Some(profile), None) = (run.busy, run.fused, run.job.profile, run.rest)
        else {
            return;
        };
        let (part, start, job) = (run.parts[0], run.start, run.job);
        let end = self.end(array, run.compute_end);
        let Some(split) = self.sim.costs.split_k(
            profile.shape,
            job.cost,
            &job.traffic,
            self.now - start,
            end - start,
            self.sim.cfg.dram_bytes_per_cycle,
        ) else {
            return;
        };
        self.dram.stop(self.now, array);
        let run = &mut self.arrays[array];
        run.rest = Some(Job {
            tile: job.tile,
            profile: Some(TileProfile {
                shape: split.rest_shape,
                ..profile
            }),
            cost: split.rest,
            traffic: split.rest_traffic,
        });
        run.compute_end = start + split.until_free;
        let k = self.at(part.request);
        if let Some(a) = self.active[k].as_ref() {
            let saved = Traffic {
                dram_write_bytes: split.saved,
                ..Traffic::default()
            };
            let (tenant, node) = (a.tenant, a.layers[a.layer].node);
            self.count(tenant, node, array, saved);
        }
        self.retime(Some(array));
    }

    /// Counts a preemption when `array` passes from a request that still has ready jobs (a
    /// job cut between K-tiles included) to another.
    #[inline(always)]
    fn count_preemption(&mut self, array: usize, next: usize) {
        if let Some(prev) = self.last_owner[array]
            && prev != next
            && let Some(p) = self.slot(prev).and_then(|k| self.active[k].as_ref())
            && !p.dropped
            && (p.next_job < p.jobs.len() || !p.resume.is_empty())
        {
            let t = p.tenant;
            self.out.counters[t].preemptions += 1;
        }
    }
}
