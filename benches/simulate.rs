//! Timing-mode simulation speed: the 10,000-request, 3-tenant zoo workload
//! (workloads/bench-10k.toml, tpu-msa, ~80 % load) under FCFS, EDF and CD-MSA, in events/s
//! and requests/s. Model loading and lowering are timed apart and excluded.
//!
//! Each scheduler runs three times in the same process: the fast path (`SimOptions { trace:
//! false }`, what `cdmsa simulate` uses without `--trace`) on the rayon pool, where the busy
//! periods are simulated in parallel; as the first baseline, the same on one thread (one
//! pass); and as the second, the same on the pool recording every job as a trace slice (what
//! `sim::simulate` and every `cdmsa simulate` run did before the fast path). Every policy's
//! fast run comes first, then the one-thread runs, then the traced ones. The ratios
//! baseline time / fast time are printed, with each policy's cost relative to FCFS.
//! Criterion then tracks a 1,000-request prefix under each scheduler.
//!
//! The overloaded case: workloads/bench-overload.toml, 10,000 requests of eight zoo tenants
//! on planaria-16 offered at 4× the accelerator's nominal capacity, so thousands of requests
//! queue; every scheduler runs it once (fast path) and its time is printed beside FCFS's from
//! the same run, against the goal of at most twice FCFS's time, with the time spent inside
//! the policy (every call the simulator makes to it, standing orders' confirmations
//! included, timed by a wrapper) apart from the engine's: how long the simulated machine
//! takes depends on the schedule (a policy that interleaves requests runs more DRAM streams
//! at once), while the policy's own share is what its time per decision bounds.
//!
//! `cargo bench --bench simulate` (the zoo models are built in memory);
//! `CDMSA_BENCH_REQUESTS=N` changes the request count of the headline runs,
//! `CDMSA_BENCH_OVERLOAD_REQUESTS=N` that of the overloaded case, and
//! `CDMSA_BENCH_OVERLOAD_ONLY=1` runs the overloaded case alone.

use cdmsa::config::AcceleratorConfig;
use cdmsa::eval::scheduler_names;
use cdmsa::sched::{self, Accelerated, Decision, Place, Policy, Standing, TenantInfo, View};
use cdmsa::sim::{Mode, RequestSpec, SimOptions, TenantModel, requests, simulate_with, tenants};
use cdmsa::workload::{Stop, Workload};
use criterion::Criterion;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

/// The allocator of the `cdmsa` binary, so that the timings are the CLI's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SCHEDULERS: &[&str] = &["fcfs", "edf", "cd-msa"];

/// CPU seconds this process has used, every thread counted (Linux; `None` elsewhere). With
/// other processes sharing the cores, wall time overstates the simulator's own cost.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which ends at the last ')'): utime and stime are the
    // 12th and 13th of them, in clock ticks of 1/100 s on Linux.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// A policy with the time spent in its calls counted (`Instant::now` costs some 20 ns a
/// call, against microseconds per decision).
struct Timed {
    inner: Box<dyn Policy>,
    spent: Duration,
    calls: u64,
}

impl Timed {
    fn new(inner: Box<dyn Policy>) -> Timed {
        Timed {
            inner,
            spent: Duration::ZERO,
            calls: 0,
        }
    }

    fn time<T>(&mut self, f: impl FnOnce(&mut dyn Policy) -> T) -> T {
        let start = Instant::now();
        let out = f(self.inner.as_mut());
        self.spent += start.elapsed();
        self.calls += 1;
        out
    }
}

impl Policy for Timed {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn reset(&mut self, tenants: &[TenantInfo], arrays: usize) {
        self.inner.reset(tenants, arrays);
    }
    fn decide_into(&mut self, view: &View, out: &mut Decision) {
        self.time(|p| p.decide_into(view, out));
    }
    fn decide_changed(&mut self, view: &View, changed: &[Place], out: &mut Decision) {
        self.time(|p| p.decide_changed(view, changed, out));
    }
    fn preempts_within_jobs(&self) -> bool {
        self.inner.preempts_within_jobs()
    }
    fn batches_decode(&self) -> bool {
        self.inner.batches_decode()
    }
    fn accelerated(&mut self) -> Option<&mut dyn Accelerated> {
        // Offered exactly when the inner policy offers hooks.
        self.inner.accelerated()?;
        Some(self)
    }
}

impl Accelerated for Timed {
    fn standing_order(&mut self, view: &View, decision: &Decision) -> Option<Standing> {
        self.time(|p| p.accelerated()?.standing_order(view, decision))
    }
    fn confirm(&mut self, view: &View, idle: usize) -> bool {
        self.time(|p| p.accelerated().is_none_or(|a| a.confirm(view, idle)))
    }
    fn fork(&mut self) -> Option<Box<dyn Policy>> {
        let fork = self.inner.accelerated()?.fork()?;
        Some(Box::new(Timed::new(fork)))
    }
    fn join(&mut self, fork: Box<dyn Policy>) {
        let fork: Box<dyn std::any::Any> = fork;
        if let Ok(fork) = fork.downcast::<Timed>() {
            self.spent += fork.spent;
            self.calls += fork.calls;
            if let Some(a) = self.inner.accelerated() {
                a.join(fork.inner);
            }
        }
    }
}

/// One timed run, the policy's own time counted: (wall s, policy s, policy calls, events,
/// requests finished).
fn run_timed(
    cfg: &AcceleratorConfig,
    models: &[TenantModel],
    reqs: &[RequestSpec],
    name: &str,
) -> (f64, f64, u64, u64, usize) {
    let mut policy = Timed::new(sched::by_name(name).expect("a scheduler"));
    let start = Instant::now();
    let out = simulate_with(
        cfg,
        models,
        reqs,
        &mut policy,
        Mode::Timing,
        SimOptions { trace: false },
    )
    .expect("the workload simulates");
    let wall = start.elapsed().as_secs_f64();
    let finished = out.records.iter().filter(|r| r.finish.is_some()).count();
    (
        wall,
        policy.spent.as_secs_f64(),
        policy.calls,
        black_box(out).events,
        finished,
    )
}

/// One timed run: (wall s, CPU s, events, requests finished).
fn run(
    cfg: &AcceleratorConfig,
    models: &[TenantModel],
    reqs: &[RequestSpec],
    name: &str,
    slices: bool,
) -> (f64, Option<f64>, u64, usize) {
    let mut policy = sched::by_name(name).expect("a scheduler");
    let (cpu0, start) = (cpu_seconds(), Instant::now());
    let out = simulate_with(
        cfg,
        models,
        reqs,
        policy.as_mut(),
        Mode::Timing,
        SimOptions { trace: slices },
    )
    .expect("the workload simulates");
    let wall = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds().zip(cpu0).map(|(b, a)| b - a);
    let finished = out.records.iter().filter(|r| r.finish.is_some()).count();
    (wall, cpu, black_box(out).events, finished)
}

/// The workload `workloads/NAME`, with its request count from the environment variable `env`
/// when set.
fn workload(name: &str, env: &str) -> Workload {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut w = Workload::load(&root.join("workloads").join(name)).expect("the workload");
    if let Some(n) = std::env::var(env).ok().and_then(|n| n.parse().ok()) {
        w.stop = Stop::Requests(n);
    }
    w
}

/// `workloads/NAME` (request count from `env` when set) ready to simulate: its accelerator,
/// tenants and requests, and the seconds loading, lowering and the isolated runs took.
fn setup(name: &str, env: &str) -> (AcceleratorConfig, Vec<TenantModel>, Vec<RequestSpec>, f64) {
    let w = workload(name, env);
    let cfg = w.accelerator().expect("its accelerator");
    let start = Instant::now();
    let models = tenants(&w, &cfg, false).expect("the zoo models");
    let setup = start.elapsed().as_secs_f64();
    let reqs = requests(&w, &models, &cfg).expect("its requests");
    (cfg, models, reqs, setup)
}

/// The overloaded case: every scheduler once on workloads/bench-overload.toml, its wall time
/// and its ratio to FCFS's in this run.
fn overload() {
    let (cfg, models, reqs, setup) = setup("bench-overload.toml", "CDMSA_BENCH_OVERLOAD_REQUESTS");
    println!(
        "bench-overload: {} requests, {} tenants on {} ({} arrays) at 4x nominal load; loading + lowering + isolated runs: {setup:.2} s (excluded)",
        reqs.len(),
        models.len(),
        cfg.name,
        cfg.arrays,
    );
    println!(
        "{:<9} {:>10} {:>8} {:>9} {:>9} {:>10} {:>9} {:>8}",
        "policy", "events", "wall s", "policy s", "engine s", "us/call", "finished", "vs fcfs"
    );
    let names = scheduler_names("all").expect("the schedulers");
    let mut fcfs = None;
    for name in &names {
        let (wall, policy, calls, events, finished) = run_timed(&cfg, &models, &reqs, name);
        let base = *fcfs.get_or_insert(wall);
        println!(
            "{name:<9} {events:>10} {wall:>8.2} {policy:>9.2} {:>9.2} {:>10.2} {finished:>9} {:>7.2}x{}",
            wall - policy,
            1e6 * policy / calls.max(1) as f64,
            wall / base,
            if wall > 2.0 * base {
                "  (over 2x FCFS)"
            } else {
                ""
            },
        );
    }
    println!(
        "('policy s': time inside the policy's calls; 'engine s': the rest; 'us/call': policy \
         time per call (decisions, standing orders, confirmations); 'vs fcfs': this policy's \
         wall time / FCFS's in this run; the bound is 2x)"
    );
}

fn main() {
    if std::env::var_os("CDMSA_BENCH_OVERLOAD_ONLY").is_some() {
        overload();
        return;
    }
    let (cfg, models, reqs, setup) = setup("bench-10k.toml", "CDMSA_BENCH_REQUESTS");
    println!(
        "bench-10k: {} requests, {} tenants on {} ({} × {}×{}); loading + lowering + isolated runs: {setup:.2} s (excluded)",
        reqs.len(),
        models.len(),
        cfg.name,
        cfg.arrays,
        cfg.rows,
        cfg.cols
    );
    println!(
        "{:<8} {:>10} {:>8} {:>8} {:>11} {:>10} {:>9} {:>9} {:>9} {:>9} {:>8}",
        "policy",
        "events",
        "wall s",
        "cpu s",
        "events/s",
        "requests/s",
        "1-thr s",
        "vs 1-thr",
        "traced s",
        "vs traced",
        "vs fcfs"
    );
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool");
    // Every policy's fast run first, then the baselines: the traced runs allocate gigabytes,
    // which no fast run should find the heap in the wake of.
    let fast: Vec<_> = SCHEDULERS
        .iter()
        .map(|name| run(&cfg, &models, &reqs, name, false))
        .collect();
    let single: Vec<_> = SCHEDULERS
        .iter()
        .map(|name| one_thread.install(|| run(&cfg, &models, &reqs, name, false)))
        .collect();
    let traced: Vec<_> = SCHEDULERS
        .iter()
        .map(|name| run(&cfg, &models, &reqs, name, true))
        .collect();
    let fcfs = fast[0].0;
    for (k, &name) in SCHEDULERS.iter().enumerate() {
        let (wall, cpu, events, finished) = fast[k];
        let (single, _, single_events, _) = single[k];
        let (traced, _, traced_events, _) = traced[k];
        assert_eq!(events, single_events, "one pass or segments, the same run");
        assert_eq!(events, traced_events, "the trace changes nothing else");
        println!(
            "{name:<8} {events:>10} {wall:>8.2} {:>8} {:>11.3e} {:>10.0} {single:>9.2} {:>8.2}x {traced:>9.2} {:>8.2}x {:>7.2}x",
            cpu.map_or("-".into(), |c| format!("{c:.2}")),
            events as f64 / wall,
            finished as f64 / wall,
            single / wall,
            traced / wall,
            wall / fcfs,
        );
    }
    println!(
        "(events/s and requests/s from wall time; cpu s: every thread of the process; \
         'vs 1-thr': the same run on one thread (one pass), time ratio; 'vs traced': the same \
         run recording the trace, time ratio; 'vs fcfs': this policy's time / FCFS's)"
    );

    println!();
    overload();

    // Criterion: a 1,000-request prefix per scheduler, for regressions.
    let prefix = &reqs[..reqs.len().min(1000)];
    let mut c = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    let mut g = c.benchmark_group("simulate_1k");
    for &name in SCHEDULERS {
        g.bench_function(name, |b| b.iter(|| run(&cfg, &models, prefix, name, false)));
    }
    g.finish();
    c.final_summary();
}
