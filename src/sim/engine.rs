//! The event loop.

use super::queue::EventQueue;
use super::{Job, Mismatch, Mode, RequestSpec, SimOptions, SimOutcome, Slice, TenantModel};
use super::{RequestRecord, TenantCounters};
use crate::config::AcceleratorConfig;
use crate::config::Dataflow;
use crate::error::{Error, Result};
use crate::exec::{CostModel, Fault, Interpreter, JobCost, TileValues};
use crate::kernel::{GemmShape, TileProfile};
use crate::sched::fusible;
use crate::sched::{Decision, Outlook, Policy, RequestView, Standing, View};
use crate::units::{ArrayId, Cycles, RequestId};
use rayon::prelude::*;

/// A queued event (arrivals stream from a sorted list beside the queue).
enum Event {
    /// The job on an array ends; stale when the array's generation moved on (a cut job).
    Done(usize, u64),
}

/// A request in the system.
struct Active<'t> {
    id: RequestId,
    tenant: usize,
    arrival: Cycles,
    deadline: Cycles,
    start: Option<Cycles>,
    layer: usize,
    /// The current layer's jobs and the outlook after it (cached from the tenant).
    jobs: &'t [Job],
    after: &'t Outlook,
    next_job: usize,
    running: usize,
    remaining: Cycles,
    remaining_in_layer: Cycles,
    served: Cycles,
    interp: Option<Interpreter<'t>>,
    dropped: bool,
    /// Tile jobs cut at a K-tile boundary, waiting to resume (before any new job).
    resume: Vec<Resume>,
    /// Functional mode: the current layer's completed tile jobs, in completion order, with
    /// the fault injected into each; their values are computed when the layer ends.
    finished: Vec<(usize, Option<Fault>)>,
}

/// Sets the fields of request `a`'s view that change while it runs (the others are fixed at
/// its arrival); the view is then what [`Engine::view`] would build anew.
fn refresh_view<'t>(v: &mut RequestView<'t>, a: &Active<'t>) {
    v.remaining = a.remaining;
    v.ready = a.ready();
    v.running = a.running;
    v.served = a.served;
    v.after = a.after;
    v.remaining_in_layer = a.remaining_in_layer;
    v.next_tile = a.jobs.get(a.next_job).and_then(|j| j.profile);
}

impl Active<'_> {
    /// Jobs ready to dispatch: cut jobs waiting to resume and the layer's undispatched ones.
    fn ready(&self) -> usize {
        self.jobs.len() - self.next_job + self.resume.len()
    }
}

/// The outlook of a tenant without layers.
static NO_OUTLOOK: Outlook = Outlook {
    by_arrays: Vec::new(),
    widest: 0,
};

/// The policy's view of an accelerator `cfg` at `now`, from the engine's records of it (taken
/// field by field, so that the engine can lend its decision beside it).
fn view_of<'a>(
    now: Cycles,
    owners: &'a [Option<RequestId>],
    requests: &'a [RequestView<'a>],
    cfg: &AcceleratorConfig,
) -> View<'a> {
    View {
        now,
        arrays: owners,
        requests,
        fusion_geometry: (cfg.dataflow == Dataflow::Ws).then_some((cfg.rows, cfg.cols)),
    }
}

/// The rest of a tile job cut between K-tiles: its remaining folds, plus restoring the saved
/// partial sums.
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
/// is updated in place (the engine's hottest data).
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
    /// Cut between K-tiles (single jobs only): the rest resumes later instead of completing.
    cut: Option<Job>,
    start: Cycles,
    duration: Cycles,
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
        },
        cut: None,
        start: Cycles::ZERO,
        duration: Cycles::ZERO,
        generation: 0,
    };
}

struct Engine<'t, 'c> {
    sim: Sim<'t, 'c>,
    /// How many of the sorted arrivals have arrived.
    next_arrival: usize,
    /// Arrivals at positions `end..` are not this engine's (yet).
    end: usize,
    /// The first arrival position this engine simulates: its per-request state (`active`,
    /// `pos`, `is_stale`, `out.records`) covers the arrivals from here on, by position less
    /// `base`, and grows as they arrive, so that memory follows the requests simulated, not
    /// the requests times the segments.
    base: usize,
    now: Cycles,
    queue: EventQueue<Event>,
    /// Boxed, so that a finished request leaves only a pointer behind.
    active: Vec<Option<Box<Active<'t>>>>,
    /// Indices of active requests, in arrival order.
    order: Vec<usize>,
    /// The policy's view of each request in `order`, refreshed only when it changes.
    views: Vec<RequestView<'t>>,
    /// Position of each request in `order` (`usize::MAX` when not active).
    pos: Vec<usize>,
    /// Requests whose view changed since the last decision (each once, flagged in
    /// `is_stale`).
    stale: Vec<usize>,
    is_stale: Vec<bool>,
    arrays: Vec<Running>,
    /// Arrays running a job (the `Some` entries of `arrays`).
    busy: usize,
    /// Views in `views` with a ready job.
    ready_views: usize,
    last_owner: Vec<Option<usize>>,
    dispatched: u64,
    /// Bumped at every dispatch and cut, to recognise stale completion events.
    generation: u64,
    /// Record every job as a slice of the trace.
    slices: bool,
    /// For each array, the request whose job it runs (the first of a fused pair), as the
    /// policy sees it.
    owners: Vec<Option<RequestId>>,
    /// Reused buffer, so the steady-state loop does not allocate.
    refresh: Vec<usize>,
    /// The decision lent to the policy at every decision point.
    decision: Decision,
    /// The policy's standing order ([`Policy::standing_order`]) while it holds.
    standing: Option<Standing>,
    out: SimOutcome,
}

/// Simulates `requests` of `tenants` on `cfg` under `policy`, recording every job as a
/// [`Slice`] (see [`simulate_with`] to leave the trace out).
pub fn simulate(
    cfg: &AcceleratorConfig,
    tenants: &[TenantModel],
    requests: &[RequestSpec],
    policy: &mut dyn Policy,
    mode: Mode,
) -> Result<SimOutcome> {
    simulate_with(cfg, tenants, requests, policy, mode, SimOptions::default())
}

/// [`simulate`] with [`SimOptions`]: without the trace, memory stays bounded by the active
/// requests however long the run; every other output is the same.
///
/// In timing mode, when the policy can [`Policy::fork`] and rayon has several threads, the
/// busy periods are simulated in parallel: the arrivals are cut at long gaps into segments,
/// each simulated from an empty accelerator, and a segment's result is kept only if the
/// segment before it left the accelerator empty before it began (otherwise that segment
/// continues into it, as one pass would). Every output equals the single pass's.
pub fn simulate_with(
    cfg: &AcceleratorConfig,
    tenants: &[TenantModel],
    requests: &[RequestSpec],
    policy: &mut dyn Policy,
    mode: Mode,
    options: SimOptions,
) -> Result<SimOutcome> {
    if let Some(r) = requests.iter().find(|r| r.tenant >= tenants.len()) {
        return Err(Error::Invalid(format!(
            "request names tenant {} of {}",
            r.tenant,
            tenants.len()
        )));
    }
    if matches!(mode, Mode::Functional { .. }) && tenants.iter().any(|t| t.reference.is_none()) {
        return Err(Error::Invalid(
            "functional mode needs every tenant's isolated recording".into(),
        ));
    }
    policy.reset(
        &tenants
            .iter()
            .map(|t| (t.id, t.priority, t.weight))
            .collect::<Vec<_>>(),
        cfg.arrays,
    );
    // Arrivals stream from a list sorted by (time, index) instead of sitting in the queue:
    // at equal times they come before any completion, in index order, exactly as if they
    // had been queued first, and the queue holds only the few pending completions.
    let mut arrivals: Vec<usize> = (0..requests.len()).collect();
    arrivals.sort_by_key(|&i| requests[i].arrival);
    let mut rank = vec![0; requests.len()];
    for (k, &i) in arrivals.iter().enumerate() {
        rank[i] = k;
    }
    let starts = match mode {
        Mode::Timing if rayon::current_num_threads() > 1 => {
            segment_starts(requests, tenants, &arrivals, rayon::current_num_threads())
        }
        _ => Vec::new(),
    };
    let sim = Sim {
        cfg,
        tenants,
        requests,
        arrivals: &arrivals,
        rank: &rank,
        mode,
        options,
        costs: CostModel::new(cfg),
    };
    sim.run(policy, &starts)
}

/// One simulation's fixed inputs.
#[derive(Clone, Copy)]
struct Sim<'t, 'c> {
    cfg: &'c AcceleratorConfig,
    tenants: &'t [TenantModel],
    requests: &'c [RequestSpec],
    /// Request indices by (arrival, index).
    arrivals: &'c [usize],
    /// The position of each request in `arrivals`.
    rank: &'c [usize],
    mode: Mode,
    options: SimOptions,
    /// The cost of every job.
    costs: CostModel,
}

impl<'t, 'c> Sim<'t, 'c> {
    /// An empty accelerator whose first arrival is at position `base`.
    fn engine(&self, base: usize) -> Engine<'t, 'c> {
        Engine::new(*self, base)
    }

    /// Request `i`'s record before it arrives.
    fn record(&self, i: usize) -> RequestRecord {
        let r = self.requests[i];
        RequestRecord {
            tenant: self.tenants[r.tenant].id,
            request: RequestId(i as u64),
            arrival: r.arrival,
            start: None,
            finish: None,
            deadline: r.deadline,
            isolated: self.tenants[r.tenant].isolated,
        }
    }

    /// `out` with its records (by arrival position from 0) put in request order.
    fn in_request_order(&self, mut out: SimOutcome) -> SimOutcome {
        let mut records: Vec<RequestRecord> =
            (0..self.requests.len()).map(|i| self.record(i)).collect();
        for (k, r) in out.records.iter().enumerate() {
            records[self.arrivals[k]] = *r;
        }
        out.records = records;
        out
    }

    /// Simulates every arrival under `policy`, the segments that begin at positions `starts`
    /// of the arrivals (increasing) in parallel when the policy forks; the outcome is the
    /// single pass's whatever the cuts.
    fn run(&self, policy: &mut dyn Policy, starts: &[usize]) -> Result<SimOutcome> {
        let arrivals = self.arrivals;
        let forks: Option<Vec<Box<dyn Policy>>> = starts.iter().map(|_| policy.fork()).collect();
        let Some(forks) = forks.filter(|f| !f.is_empty()) else {
            let mut e = self.engine(0);
            e.run(policy, arrivals.len(), None)?;
            return Ok(self.in_request_order(e.out));
        };
        // Segment k covers arrivals bounds[k]..bounds[k + 1] and stops at the next one's start.
        let bounds: Vec<usize> = std::iter::once(0)
            .chain(starts.iter().copied())
            .chain(std::iter::once(arrivals.len()))
            .collect();
        let horizon = |k: usize| starts.get(k).map(|&s| self.requests[arrivals[s]].arrival);
        let mut first = self.engine(0);
        let (head, rest) = rayon::join(
            || first.run(policy, bounds[1], horizon(0)),
            || {
                forks
                    .into_par_iter()
                    .enumerate()
                    .map(|(k, mut fork)| {
                        let mut e = self.engine(bounds[k + 1]);
                        e.run(fork.as_mut(), bounds[k + 2], horizon(k + 1))
                            .map(|()| (e, fork))
                    })
                    .collect::<Result<Vec<_>>>()
            },
        );
        head?;
        // Stitch: a segment's own result stands when the pass so far left the accelerator
        // empty before it began; otherwise the pass so far continues through it.
        let mut done: Vec<(Engine, usize, usize)> = Vec::new();
        let (mut current, mut from) = (first, 0);
        let mut current_fork: Option<Box<dyn Policy>> = None;
        for (k, (e, fork)) in rest?.into_iter().enumerate() {
            if current.is_empty() {
                done.push((current, from, bounds[k + 1]));
                if let Some(f) = current_fork.replace(fork) {
                    policy.join(f);
                }
                (current, from) = (e, bounds[k + 1]);
            } else {
                // The segment's own run is discarded, and its fork with it.
                match current_fork.as_mut() {
                    Some(f) => current.run(f.as_mut(), bounds[k + 2], horizon(k + 1))?,
                    None => current.run(policy, bounds[k + 2], horizon(k + 1))?,
                }
            }
        }
        if let Some(f) = current_fork {
            policy.join(f);
        }
        done.push((current, from, arrivals.len()));
        let first = std::mem::take(&mut done[0].0.out);
        let mut out = self.in_request_order(first);
        for (e, from, to) in &mut done[1..] {
            for (&i, r) in arrivals[*from..*to]
                .iter()
                .zip(&e.out.records[*from - e.base..])
            {
                out.records[i] = *r;
            }
            for (total, part) in out.counters.iter_mut().zip(&e.out.counters) {
                *total += *part;
            }
            out.slices.append(&mut e.out.slices);
            out.events += e.out.events;
        }
        Ok(out)
    }
}

/// Where to cut the arrivals into segments for `threads` threads (positions in `arrivals`,
/// increasing; empty: one pass): eight segments a thread, so that the threads finish close
/// together, each of at least [`MIN_SEGMENT`] requests. Each cut is where the accelerator is
/// most likely empty near the cut's ideal place: where the idle time before an arrival is
/// longest when every request occupies the whole accelerator for its isolated latency, one
/// after another (FCFS, as a single queue; policies that overlap requests empty the
/// accelerator sooner).
fn segment_starts(
    requests: &[RequestSpec],
    tenants: &[TenantModel],
    arrivals: &[usize],
    threads: usize,
) -> Vec<usize> {
    let segments = (8 * threads).min(arrivals.len() / MIN_SEGMENT);
    if segments < 2 {
        return Vec::new();
    }
    // idle[k]: cycles the single queue stands empty before arrival k (0 when it is busy).
    let mut idle = vec![0u64; arrivals.len()];
    let mut free_at = 0u64;
    for (k, &i) in arrivals.iter().enumerate() {
        let r = requests[i];
        idle[k] = r.arrival.0.saturating_sub(free_at);
        free_at = free_at.max(r.arrival.0) + tenants[r.tenant].isolated.0;
    }
    let window = arrivals.len() / segments / 2;
    let mut starts: Vec<usize> = (1..segments)
        .filter_map(|s| {
            let ideal = s * arrivals.len() / segments;
            (ideal - window..=ideal + window)
                .filter(|&k| k > 0 && k < arrivals.len() && idle[k] > 0)
                .max_by_key(|&k| (idle[k], std::cmp::Reverse(k)))
        })
        .collect();
    starts.dedup();
    starts
}

/// The fewest requests worth a segment of their own.
const MIN_SEGMENT: usize = 256;

impl<'t, 'c> Engine<'t, 'c> {
    /// An empty accelerator at cycle 0, before any arrival.
    fn new(sim: Sim<'t, 'c>, base: usize) -> Self {
        let Sim {
            cfg,
            tenants,
            options,
            ..
        } = sim;
        Engine {
            sim,
            next_arrival: base,
            end: base,
            base,
            now: Cycles::ZERO,
            queue: EventQueue::default(),
            active: Vec::new(),
            order: Vec::new(),
            views: Vec::new(),
            pos: Vec::new(),
            stale: Vec::new(),
            is_stale: Vec::new(),
            arrays: vec![Running::IDLE; cfg.arrays],
            busy: 0,
            ready_views: 0,
            last_owner: vec![None; cfg.arrays],
            dispatched: 0,
            generation: 0,
            slices: options.slices,
            owners: vec![None; cfg.arrays],
            refresh: Vec::new(),
            decision: Decision::default(),
            standing: None,
            out: SimOutcome {
                counters: vec![TenantCounters::default(); tenants.len()],
                ..SimOutcome::default()
            },
        }
    }

    /// Simulates the arrivals up to position `end` of the sorted list, and every event before
    /// `horizon` (all of them when `None`).
    fn run(&mut self, policy: &mut dyn Policy, end: usize, horizon: Option<Cycles>) -> Result<()> {
        self.end = end;
        loop {
            let arrival_at = self.sim.arrivals[self.next_arrival..end]
                .first()
                .map(|&i| self.sim.requests[i].arrival);
            let t = match (arrival_at, self.queue.peek_time()) {
                (Some(a), Some(q)) => a.min(q),
                (Some(a), None) => a,
                (None, Some(q)) => q,
                (None, None) => return Ok(()),
            };
            if horizon.is_some_and(|h| t >= h) {
                return Ok(());
            }
            self.now = t;
            let arrived = arrival_at == Some(t);
            while let Some(&i) = self.sim.arrivals[self.next_arrival..end].first()
                && arrived
                && self.sim.requests[i].arrival == t
            {
                self.next_arrival += 1;
                self.out.events += 1;
                self.arrive(i)?;
            }
            while self.queue.peek_time() == Some(t) {
                let (_, Event::Done(a, g)) = self.queue.pop().expect("peeked");
                self.out.events += 1;
                if self.arrays[a].busy && self.arrays[a].generation == g {
                    self.complete(a)?;
                }
            }
            self.schedule(policy, arrived)?;
        }
    }

    /// The position of request `i` (arrived at this engine) in its per-request state.
    #[inline(always)]
    fn at(&self, i: usize) -> usize {
        self.sim.rank[i] - self.base
    }

    /// [`Engine::at`] for a request that may not have arrived at this engine (`None` then).
    #[inline(always)]
    fn slot(&self, i: usize) -> Option<usize> {
        let k = self.sim.rank.get(i)?.checked_sub(self.base)?;
        (k < self.active.len()).then_some(k)
    }

    /// Every arrival of its own in, no request active, no array busy, no event pending: the
    /// accelerator as at cycle 0.
    fn is_empty(&self) -> bool {
        self.next_arrival == self.end
            && self.order.is_empty()
            && self.busy == 0
            && self.queue.peek_time().is_none()
    }

    fn arrive(&mut self, i: usize) -> Result<()> {
        let spec = self.sim.requests[i];
        let tenant = &self.sim.tenants[spec.tenant];
        let interp = match self.sim.mode {
            Mode::Timing => None,
            Mode::Functional { .. } => Some(Interpreter::new(
                &tenant.program,
                &tenant.inputs,
                self.sim.cfg,
            )?),
        };
        debug_assert_eq!(self.at(i), self.active.len(), "arrivals in order");
        self.out.records.push(self.sim.record(i));
        self.pos.push(usize::MAX);
        self.is_stale.push(false);
        self.active.push(Some(Box::new(Active {
            id: RequestId(i as u64),
            tenant: spec.tenant,
            arrival: spec.arrival,
            deadline: spec.deadline,
            start: None,
            layer: 0,
            jobs: tenant.layers.first().map_or(&[], |l| &l.jobs),
            after: tenant.outlook.first().unwrap_or(&NO_OUTLOOK),
            next_job: 0,
            running: 0,
            remaining: tenant.work(),
            remaining_in_layer: tenant.profile.first().map_or(Cycles::ZERO, |l| l.cost),
            served: Cycles::ZERO,
            interp,
            dropped: false,
            resume: Vec::new(),
            finished: Vec::new(),
        })));
        self.standing = None;
        let k = self.at(i);
        self.pos[k] = self.order.len();
        self.order.push(i);
        let view = self.view(i);
        self.ready_views += usize::from(view.ready > 0);
        self.views.push(view);
        self.mark_stale(i);
        self.enter_layer(i)
    }

    /// Starts the request's current layer; layers without jobs complete at once.
    fn enter_layer(&mut self, i: usize) -> Result<()> {
        self.standing = None;
        loop {
            let k = self.at(i);
            let a = self.active[k].as_mut().expect("active");
            let tenant = &self.sim.tenants[a.tenant];
            if a.layer == tenant.layers.len() {
                return self.finish(i);
            }
            let layer = &tenant.layers[a.layer];
            a.jobs = &layer.jobs;
            a.after = &tenant.outlook[a.layer];
            a.next_job = 0;
            a.remaining_in_layer = tenant.profile[a.layer].cost;
            if let Some(it) = a.interp.as_mut() {
                it.begin(layer.node)?;
            }
            if !layer.jobs.is_empty() {
                return Ok(());
            }
            self.leave_layer(i)?;
        }
    }

    /// Ends the request's current layer (values checked against the isolated run) and moves on.
    fn leave_layer(&mut self, i: usize) -> Result<()> {
        let k = self.at(i);
        let a = self.active[k].as_mut().expect("active");
        let tenant = &self.sim.tenants[a.tenant];
        let node = tenant.layers[a.layer].node;
        if let Some(it) = a.interp.as_mut() {
            let reference = tenant.reference.as_ref().expect("checked at start");
            // The layer's tiles read only its inputs: computed at once, on the rayon threads
            // (the accelerator's arrays working in parallel), then checked and accepted in
            // completion order.
            let values: Vec<TileValues> = a
                .finished
                .par_iter()
                .map(|&(tile, fault)| it.compute_tile(tile, fault))
                .collect();
            for (&(tile, fault), v) in a.finished.iter().zip(values) {
                if !v.bit_identical(&reference.tiles[node][tile]) {
                    self.out.mismatches.push(Mismatch {
                        tenant: tenant.id,
                        request: a.id,
                        layer: tenant.program.graph.nodes[node].name.clone(),
                        tile: Some(tile),
                        what: "tile values differ from the isolated run".into(),
                    });
                }
                it.accept_tile(tile, &v, fault);
            }
            a.finished.clear();
            it.end(node)?;
            if !it
                .node_output(node)
                .is_some_and(|t| t.bit_identical(&reference.nodes[node]))
            {
                self.out.mismatches.push(Mismatch {
                    tenant: tenant.id,
                    request: a.id,
                    layer: tenant.program.graph.nodes[node].name.clone(),
                    tile: None,
                    what: "node output differs from the isolated run".into(),
                });
            }
        }
        a.layer += 1;
        Ok(())
    }

    fn finish(&mut self, i: usize) -> Result<()> {
        let k = self.at(i);
        let a = self.active[k].take().expect("active");
        self.forget(i);
        let rec = &mut self.out.records[k];
        rec.start = a.start.or(Some(self.now));
        rec.finish = Some(self.now);
        if let Some(it) = a.interp {
            let tenant = &self.sim.tenants[a.tenant];
            let outputs = it.finish()?.outputs;
            self.out.checked += 1;
            if outputs != tenant.reference.as_ref().expect("checked at start").outputs {
                self.out.mismatches.push(Mismatch {
                    tenant: tenant.id,
                    request: a.id,
                    layer: "graph outputs".into(),
                    tile: None,
                    what: "outputs differ from the isolated run".into(),
                });
            }
        }
        Ok(())
    }

    #[inline(always)]
    fn complete(&mut self, array: usize) -> Result<()> {
        let run = &mut self.arrays[array];
        debug_assert!(run.busy, "a job was running");
        run.busy = false;
        // Field by field: the whole record is too large to copy at every completion.
        let (first, fused) = (run.parts[0], run.fused);
        self.owners[array] = None;
        self.busy -= 1;
        if fused && self.standing.is_some_and(|s| !s.checked) {
            self.standing = None;
        }
        self.complete_part(first, array)?;
        if fused {
            self.complete_part(self.arrays[array].parts[1], array)?;
        }
        Ok(())
    }

    /// Completes `run`, a part of the job on `array` (or, when the job was cut, saves the rest).
    #[inline(always)]
    fn complete_part(&mut self, run: Part, array: usize) -> Result<()> {
        self.mark_stale(run.request);
        let own = |s: Standing| {
            let id = RequestId(run.request as u64);
            s.request == id || s.partner == Some(id)
        };
        if self.standing.is_some_and(|s| s.checked && !own(s)) {
            self.standing = None;
        }
        let k = self.at(run.request);
        let Some(a) = self.active[k].as_mut() else {
            return Ok(());
        };
        a.running -= 1;
        if a.dropped {
            return Ok(());
        }
        if let Some(rest) = self.arrays[array].cut {
            // Cut between K-tiles: the rest waits (first in line) with its values.
            self.standing = None;
            let nominal = rest.cost.nominal(self.sim.cfg.dram_bytes_per_cycle);
            a.remaining += nominal;
            a.remaining_in_layer += nominal;
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
            self.leave_layer(run.request)?;
            self.enter_layer(run.request)?;
        }
        Ok(())
    }

    #[inline(always)]
    fn schedule(&mut self, policy: &mut dyn Policy, arrived: bool) -> Result<()> {
        let has_idle = self.busy < self.arrays.len();
        let asks = has_idle || (arrived && policy.preempts_within_jobs());
        if !asks {
            return Ok(());
        }
        // While the policy's standing order holds and covers every idle array, it is the
        // decision (see `Policy::standing_order`): the policy is not asked.
        if let Some(s) = self.standing {
            let (w, idle) = (s.request.0 as usize, self.arrays.len() - self.busy);
            let p = s.partner.map(|p| p.0 as usize);
            let ready = match p {
                None => self.ready_jobs(w) >= idle,
                Some(p) => idle == 1 && self.ready_jobs(w) > 0 && self.ready_jobs(p) > 0,
            };
            if ready && (!s.checked || self.confirm(policy, w, p, idle)) {
                for array in 0..self.arrays.len() {
                    if !self.arrays[array].busy {
                        let job = self.next_job(w).expect("a ready job for every idle array");
                        match p {
                            None => self.dispatch(array, (w, &job), None),
                            Some(p) => {
                                let second = self.next_job(p).expect("a ready partner job");
                                self.dispatch(array, (w, &job), Some((p, &second)));
                            }
                        }
                    }
                }
                return Ok(());
            }
        }
        std::mem::swap(&mut self.stale, &mut self.refresh);
        for r in 0..self.refresh.len() {
            let i = self.refresh[r];
            let k = self.at(i);
            self.is_stale[k] = false;
            self.refresh_view(i);
        }
        self.refresh.clear();
        if self.ready_views == 0 {
            return Ok(());
        }
        self.decision.clear();
        let view = view_of(self.now, &self.owners, &self.views, self.sim.cfg);
        policy.decide_into(&view, &mut self.decision);
        // A promise covers decisions that drop and cut nothing.
        let plain = self.decision.drop.is_empty() && self.decision.preempt.is_empty();
        let standing = plain
            .then(|| policy.standing_order(&view, &self.decision))
            .flatten();
        let applied = self.apply(policy);
        self.standing = standing;
        applied
    }

    /// Brings request `i`'s view up to date (nothing when it is not in the view).
    #[inline(always)]
    fn refresh_view(&mut self, i: usize) {
        let k = self.at(i);
        if let Some(&pos) = self.pos.get(k).filter(|&&p| p != usize::MAX) {
            let a = self.active[k].as_ref().expect("active");
            let v = &mut self.views[pos];
            let was_ready = v.ready > 0;
            refresh_view(v, a);
            self.ready_views = self.ready_views + usize::from(v.ready > 0) - usize::from(was_ready);
        }
    }

    /// Asks `policy` whether its checked standing order for request `w` (with partner `p`)
    /// holds now, with `idle` arrays idle ([`Policy::confirm`]; only their views can be out
    /// of date).
    fn confirm(
        &mut self,
        policy: &mut dyn Policy,
        w: usize,
        p: Option<usize>,
        idle: usize,
    ) -> bool {
        self.refresh_view(w);
        if let Some(p) = p {
            self.refresh_view(p);
        }
        policy.confirm(
            &view_of(self.now, &self.owners, &self.views, self.sim.cfg),
            idle,
        )
    }

    /// Removes request `i` from the active order and the policy's view.
    fn forget(&mut self, i: usize) {
        self.standing = None;
        let k = self.at(i);
        let pos = std::mem::replace(&mut self.pos[k], usize::MAX);
        if pos < self.order.len() {
            self.order.remove(pos);
            let view = self.views.remove(pos);
            self.ready_views -= usize::from(view.ready > 0);
            for (p, &j) in self.order.iter().enumerate().skip(pos) {
                let kj = self.sim.rank[j] - self.base;
                self.pos[kj] = p;
            }
        }
    }

    /// Notes that request `i`'s view must be refreshed before the next decision.
    fn mark_stale(&mut self, i: usize) {
        let k = self.at(i);
        if !std::mem::replace(&mut self.is_stale[k], true) {
            self.stale.push(i);
        }
    }

    fn view(&self, i: usize) -> RequestView<'t> {
        let a = self.active[self.at(i)].as_ref().expect("active");
        let t = &self.sim.tenants[a.tenant];
        let mut v = RequestView {
            id: a.id,
            tenant: t.id,
            priority: t.priority,
            weight: t.weight,
            arrival: a.arrival,
            deadline: a.deadline,
            isolated: t.isolated,
            remaining: Cycles::ZERO,
            ready: 0,
            running: 0,
            served: Cycles::ZERO,
            after: a.after,
            remaining_in_layer: Cycles::ZERO,
            next_tile: None,
        };
        refresh_view(&mut v, a);
        v
    }

    /// How many jobs request `i` has ready.
    fn ready_jobs(&self, i: usize) -> usize {
        self.slot(i)
            .and_then(|k| self.active[k].as_ref())
            .filter(|a| !a.dropped)
            .map_or(0, |a| a.ready())
    }

    /// The next ready job of request `i`.
    fn next_job(&self, i: usize) -> Option<Job> {
        let a = self.active[self.slot(i)?].as_ref().filter(|a| !a.dropped)?;
        if let Some(r) = a.resume.first() {
            return Some(r.rest);
        }
        a.jobs.get(a.next_job).copied()
    }

    /// Carries out the decision in `self.decision`, which `policy` made.
    fn apply(&mut self, policy: &dyn Policy) -> Result<()> {
        // Entries are read by position: dispatching needs the engine mutably.
        for k in 0..self.decision.drop.len() {
            let i = self.decision.drop[k].0 as usize;
            if let Some(k) = self.slot(i)
                && let Some(a) = self.active[k].as_mut()
            {
                a.dropped = true;
                self.out.records[k].start = a.start;
                self.forget(i);
            }
        }
        for k in 0..self.decision.preempt.len() {
            let ArrayId(array) = self.decision.preempt[k];
            if array >= self.arrays.len() {
                return Err(Error::Invalid(format!(
                    "scheduler '{}' preempted array {array} of {}",
                    policy.name(),
                    self.arrays.len()
                )));
            }
            self.cut(array);
        }
        let idle = |e: &Self, array: usize| array < e.arrays.len() && !e.arrays[array].busy;
        for k in 0..self.decision.assign.len() {
            let (ArrayId(array), r) = self.decision.assign[k];
            let i = r.0 as usize;
            match self.next_job(i) {
                Some(job) if idle(self, array) => self.dispatch(array, (i, &job), None),
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
            let fits = |a: &Job, b: &Job| match (a.profile, b.profile) {
                (Some(a), Some(b)) => {
                    self.sim.cfg.dataflow == Dataflow::Ws
                        && fusible(self.sim.cfg.rows, self.sim.cfg.cols, a, b)
                }
                _ => false,
            };
            match (self.next_job(i), self.next_job(j)) {
                (Some(a), Some(b)) if idle(self, array) && i != j && fits(&a, &b) => {
                    self.dispatch(array, (i, &a), Some((j, &b)));
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

    /// Starts `first`'s request's next job on `array`, fused with `second`'s when given; each
    /// comes with that job ([`Engine::next_job`]).
    #[inline(always)]
    fn dispatch(&mut self, array: usize, first: (usize, &Job), second: Option<(usize, &Job)>) {
        let sharing = 1 + self.busy;
        let bw = self.sim.cfg.dram_bytes_per_cycle;
        let ((i, first), fused) = (first, second.is_some());
        let job = match second {
            None => *first,
            Some((_, second)) => {
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
                }
            }
        };
        let duration = job.cost.shared(bw, sharing);
        let part = self.start_part(array, i, first, duration, fused);
        self.arrays[array].parts[0] = part;
        if let Some((j, second)) = second {
            let part = self.start_part(array, j, second, duration, fused);
            self.arrays[array].parts[1] = part;
        }
        self.owners[array] = Some(RequestId(i as u64));
        self.generation += 1;
        self.busy += 1;
        let run = &mut self.arrays[array];
        run.busy = true;
        run.fused = fused;
        run.job = job;
        run.cut = None;
        run.start = self.now;
        run.duration = duration;
        run.generation = self.generation;
        self.queue
            .push(self.now + duration, Event::Done(array, self.generation));
    }

    /// Starts request `i`'s next job, `own`, on `array` for `duration` (alone or fused):
    /// advances the request and counts the service.
    #[inline(always)]
    fn start_part(
        &mut self,
        array: usize,
        i: usize,
        own: &Job,
        duration: Cycles,
        fused: bool,
    ) -> Part {
        let bw = self.sim.cfg.dram_bytes_per_cycle;
        let fault = match self.sim.mode {
            Mode::Functional {
                fault: Some((f, n)),
            } if n == self.dispatched => Some(f),
            _ => None,
        };
        self.dispatched += 1;
        self.mark_stale(i);
        self.count_preemption(array, i);
        self.last_owner[array] = Some(i);
        let k = self.at(i);
        let a = self.active[k].as_mut().expect("active");
        let (job, fault) = match a.resume.is_empty() {
            false => {
                let r = a.resume.remove(0);
                (r.job, r.fault)
            }
            true => {
                a.next_job += 1;
                (a.next_job - 1, fault)
            }
        };
        let nominal = own.cost.nominal(bw);
        a.start.get_or_insert(self.now);
        a.running += 1;
        a.remaining = a.remaining - nominal;
        a.remaining_in_layer = a.remaining_in_layer - nominal;
        a.served += duration;
        let counters = &mut self.out.counters[a.tenant];
        counters.busy_cycles += duration.0;
        counters.fused_tiles += u64::from(fused);
        let mut slice = None;
        if self.slices {
            let tenant = &self.sim.tenants[a.tenant];
            slice = Some(self.out.slices.len());
            self.out.slices.push(Slice {
                array: ArrayId(array),
                tenant: tenant.id,
                request: a.id,
                node: tenant.layers[a.layer].node,
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

    /// Cuts the single tile job on `array` at its next K-tile (fold) boundary: its partial
    /// sums are written to DRAM and the array frees up then; the rest of the job (remaining
    /// folds, plus reading the partial sums back) resumes later. Fused jobs, single-fold jobs
    /// and jobs already in their last fold run on.
    fn cut(&mut self, array: usize) {
        let run = &mut self.arrays[array];
        if !run.busy {
            return;
        }
        let (false, Some(profile), None) = (run.fused, run.job.profile, run.cut) else {
            return;
        };
        let part = run.parts[0];
        let Some(split) = self.sim.costs.split_k(
            profile.shape,
            run.job.cost,
            self.now - run.start,
            run.duration,
            self.sim.cfg.dram_bytes_per_cycle,
        ) else {
            return;
        };
        let end = run.start.0 + split.until_free.0;
        run.cut = Some(Job {
            tile: run.job.tile,
            profile: Some(TileProfile {
                shape: split.rest_shape,
                ..profile
            }),
            cost: split.rest,
        });
        let shortened = Cycles(run.duration.0.saturating_sub(end - run.start.0));
        run.duration = Cycles(end - run.start.0);
        if let Some(slice) = part.slice {
            self.out.slices[slice].duration = run.duration;
        }
        let request = part.request;
        self.generation += 1;
        run.generation = self.generation;
        self.queue
            .push(Cycles(end), Event::Done(array, self.generation));
        let k = self.at(request);
        if let Some(a) = self.active[k].as_mut() {
            a.served = a.served - shortened;
            self.out.counters[a.tenant].busy_cycles -= shortened.0;
        }
    }

    /// Counts a preemption when `array` passes from a request that still has ready jobs to another.
    #[inline(always)]
    fn count_preemption(&mut self, array: usize, next: usize) {
        if let Some(prev) = self.last_owner[array]
            && prev != next
            && let Some(p) = self.slot(prev).and_then(|k| self.active[k].as_ref())
            && !p.dropped
            && p.next_job < p.jobs.len()
        {
            let t = p.tenant;
            self.out.counters[t].preemptions += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sched;
    use crate::workload::Workload;
    use std::path::Path;

    /// The two digits models on `tiny`, each request `gap` cycles after the one before, in
    /// tied pairs.
    fn setup(gap: u64) -> (AcceleratorConfig, Vec<TenantModel>, Vec<RequestSpec>) {
        let text = r#"
seed = 1
requests = 1
accel = "tiny"
[[tenants]]
name = "int8"
model = "models/digits/int8_qop/model.onnx"
sla_factor = 3.0
arrival = { kind = "poisson", rate_per_s = 1.0 }
[[tenants]]
name = "fp32"
model = "models/digits/fp32/model.onnx"
sla_factor = 3.0
arrival = { kind = "poisson", rate_per_s = 1.0 }
"#;
        let w = Workload::from_toml(text, Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
        let cfg = w.accelerator().unwrap();
        let models = crate::sim::tenants(&w, &cfg, false).unwrap();
        let reqs = (0..120u64)
            .map(|i| {
                let tenant = (i % 2) as usize;
                let arrival = Cycles(i / 2 * gap);
                RequestSpec {
                    tenant,
                    arrival,
                    deadline: arrival + Cycles(models[tenant].isolated.0 * 2),
                }
            })
            .collect();
        (cfg, models, reqs)
    }

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

    /// A segment's engine keeps state only for its own arrivals (memory grows with the
    /// requests, not with the requests times the segments), and none is left active at the end.
    #[test]
    fn a_segment_holds_only_its_own_requests() {
        let (cfg, models, reqs) = setup(200_000);
        let arrivals: Vec<usize> = (0..reqs.len()).collect();
        let sim = Sim {
            cfg: &cfg,
            tenants: &models,
            requests: &reqs,
            arrivals: &arrivals,
            rank: &arrivals,
            mode: Mode::Timing,
            options: SimOptions::default(),
            costs: CostModel::new(&cfg),
        };
        let mut e = sim.engine(60);
        e.run(sched::by_name("fcfs").unwrap().as_mut(), 90, None)
            .unwrap();
        assert_eq!(e.active.len(), 30);
        assert_eq!(e.out.records.len(), 30);
        assert!(e.active.iter().all(Option::is_none));
        assert_eq!(e.out.records[0].request, RequestId(60));
        assert!(e.out.records.iter().all(|r| r.finish.is_some()));
    }

    /// Cuts anywhere (between tied arrivals, inside busy periods, between idle ones) give the
    /// single pass's outcome: the stitching, not the choice of cuts, makes it exact.
    #[test]
    fn any_cuts_give_the_single_pass() {
        for gap in [2_000u64, 20_000, 200_000] {
            let (cfg, models, reqs) = setup(gap);
            let mut arrivals: Vec<usize> = (0..reqs.len()).collect();
            arrivals.sort_by_key(|&i| reqs[i].arrival);
            let mut rank = vec![0; reqs.len()];
            for (k, &i) in arrivals.iter().enumerate() {
                rank[i] = k;
            }
            let sim = Sim {
                cfg: &cfg,
                tenants: &models,
                requests: &reqs,
                arrivals: &arrivals,
                rank: &rank,
                mode: Mode::Timing,
                options: SimOptions::default(),
                costs: CostModel::new(&cfg),
            };
            for name in ["fcfs", "edf", "cd-msa", "static"] {
                let one = sim
                    .run(sched::by_name(name).unwrap().as_mut(), &[])
                    .unwrap();
                for starts in [
                    vec![1, 2, 3],
                    vec![7, 30, 31, 90],
                    vec![60],
                    vec![2, 4, 118],
                ] {
                    let split = sim
                        .run(sched::by_name(name).unwrap().as_mut(), &starts)
                        .unwrap();
                    let at = format!("{name}, gap {gap}, cuts {starts:?}");
                    assert_eq!(one.records, split.records, "{at}");
                    assert_eq!(one.counters, split.counters, "{at}");
                    assert_eq!(one.slices, split.slices, "{at}");
                    assert_eq!(one.events, split.events, "{at}");
                }
            }
        }
    }
}
