//! Evaluation: load sweeps of a workload under several schedulers, and each scheduler's
//! latency-bounded throughput (the highest load at which SLA satisfaction stays ≥ 99 %).
//!
//! A sweep runs every (scheduler, load) point and every scheduler's throughput bisection
//! with one or several arrival seeds (the workload's seed plus 0, 1, …, [`replica`]); with
//! several, each point and each throughput is the mean over the seeds with its 95 %
//! interval ([`Interval`], [`Spread`]). A sweep is a list of independent work units
//! ([`units`]): one per (scheduler, load, seed) point and one per (scheduler, seed)
//! bisection. Any subset of them can be computed anywhere (a [`Shard`] picks a
//! deterministic one), and [`assemble`] turns all of their outputs, from one run or from
//! merged [`Part`] files, into the same [`SweepResult`]s, each latency-bounded throughput
//! checked against the accelerator's [`sustainable_throughput_rps`].
//! A [`tournament`] holds one scheduler against the best of the others on seeded random
//! workloads, every number over several seeds with its 95 % interval ([`Interval`]).
//! [`policies`] builds the schedulers a command names; [`table`] prints a sweep.

mod capacity;
mod csv;
mod part;
mod schedulers;
mod shard;
mod spread;
mod stats;
mod table;
mod tournament;
mod units;

pub use capacity::sustainable_throughput_rps;
pub use csv::csv;
pub use part::{FORMAT, Part, PartUnit, SweepIdentity, merge};
pub use schedulers::{policies, scheduler_names};
pub use shard::Shard;
pub use spread::{Spread, TokenSpread};
pub use stats::{Interval, Outcome, Tally};
pub use table::table;
pub use tournament::{Match, Standing, TournamentReport, TournamentSpec, Verdict, tournament};
pub use units::{Sweep, Unit, UnitOutput, assemble, seeded_units, sweep, units};

use crate::config::AcceleratorConfig;
use crate::error::{Error, Result};
use crate::report::metrics::{SystemMetrics, of_run};
use crate::report::plot;
use crate::sched::Policy;
use crate::sim::{Mode, SimOptions, TenantModel, requests, simulate_with};
use crate::workload::Workload;
use serde::{Deserialize, Serialize};
use std::num::NonZeroUsize;

/// SLA satisfaction that counts as meeting the latency bound.
pub const SLA_TARGET: f64 = 0.99;

/// The most arrival seeds a sweep may run per point.
pub const MAX_SEEDS: usize = 1000;

/// Bisection steps on the load factor (each halves the bracket).
const BISECTION_STEPS: usize = 10;

/// One scheduler at one load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// Factor applied to every tenant's arrival rate.
    pub load: f64,
    /// Offered requests per second over all tenants.
    pub offered_rps: f64,
    /// The metrics at that load, of the run with the workload's own seed (as a one-seed
    /// sweep gives them).
    #[serde(flatten)]
    pub metrics: SystemMetrics,
    /// With several seeds: the headline metrics' means over the seeds with their 95 %
    /// intervals (the unit of replication is the run).
    #[serde(default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub over_seeds: Option<Spread>,
    /// Each decoder tenant's token metrics over the seeds (as [`SweepPoint::over_seeds`];
    /// with one seed, its values with no interval).
    #[serde(default, skip_deserializing, skip_serializing_if = "Vec::is_empty")]
    pub tokens_over_seeds: Vec<TokenSpread>,
}

impl SweepPoint {
    /// SLA satisfaction over the seeds: the mean and its 95 % interval (one seed: its value,
    /// half-width 0).
    pub fn sla(&self) -> Interval {
        self.over_seeds
            .map_or(Interval::of(&[self.metrics.sla_satisfaction]), |s| {
                s.sla_satisfaction
            })
    }
}

/// One scheduler over the sweep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepResult {
    /// Scheduler name.
    pub scheduler: String,
    /// The sweep, in load order.
    pub points: Vec<SweepPoint>,
    /// Highest offered load (requests/s) found with SLA satisfaction ≥ 99 % (with several
    /// seeds, the mean of each seed's).
    pub latency_bounded_throughput_rps: f64,
    /// With several seeds: the latency-bounded throughput's mean and 95 % interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_bounded_throughput_over_seeds: Option<Interval>,
    /// Whether `latency_bounded_throughput_rps` exceeds the accelerator's sustainable
    /// throughput ([`sustainable_throughput_rps`]): a run too short to measure the knee.
    pub exceeds_sustainable_throughput: bool,
}

impl SweepResult {
    /// Latency-bounded throughput over the seeds: the mean and its 95 % interval (one seed:
    /// its value, half-width 0).
    pub fn lbt(&self) -> Interval {
        self.latency_bounded_throughput_over_seeds
            .unwrap_or(Interval::of(&[self.latency_bounded_throughput_rps]))
    }

    /// SLA satisfaction (%) against offered load (requests/s): one plot line.
    pub fn sla_series(&self) -> (String, Vec<(f64, f64)>) {
        (
            self.scheduler.clone(),
            self.points
                .iter()
                .map(|p| (p.offered_rps, 100.0 * p.metrics.sla_satisfaction))
                .collect(),
        )
    }

    /// Mean SLA satisfaction (%) over the seeds against offered load (requests/s), with the
    /// 95 % half-width (0 for one seed): one plot line with error bars.
    pub fn sla_error_series(&self) -> plot::ErrorSeries {
        plot::ErrorSeries {
            name: self.scheduler.clone(),
            points: self
                .points
                .iter()
                .map(|p| {
                    let sla = p.sla();
                    (p.offered_rps, 100.0 * sla.mean, 100.0 * sla.half_width)
                })
                .collect(),
        }
    }
}

/// Workload `w` with its arrival seed advanced by `r`: replicate `r` of a several-seed
/// measurement (replicate 0 is `w` itself).
pub fn replica(w: &Workload, r: u64) -> Workload {
    Workload {
        seed: w.seed.wrapping_add(r),
        ..w.clone()
    }
}

/// Builds a fresh policy by name.
pub type PolicyFactory<'a> = dyn Fn(&str) -> Result<Box<dyn Policy>> + Sync + 'a;

/// Simulates `w` scaled by `load` under a fresh `scheduler` and computes its metrics (its
/// warm-up requests left out).
pub fn point(
    w: &Workload,
    cfg: &AcceleratorConfig,
    tenants: &[TenantModel],
    scheduler: &str,
    load: f64,
    make: &PolicyFactory,
) -> Result<SweepPoint> {
    let scaled = w.scaled(load);
    let reqs = requests(&scaled, tenants, cfg)?;
    let mut policy = make(scheduler)?;
    // Sweeps need metrics only: no trace.
    let options = SimOptions { trace: false };
    let out = simulate_with(cfg, tenants, &reqs, policy.as_mut(), Mode::Timing, options)?;
    Ok(SweepPoint {
        load,
        offered_rps: scaled.offered_rps(),
        metrics: of_run(&out, tenants, cfg.clock_mhz, w.warmup),
        over_seeds: None,
        tokens_over_seeds: Vec::new(),
    })
}

/// The highest load factor with SLA ≥ 99 %, by bracketing then bisection.
pub(crate) fn knee(
    w: &Workload,
    cfg: &AcceleratorConfig,
    tenants: &[TenantModel],
    scheduler: &str,
    start: f64,
    make: &PolicyFactory,
) -> Result<f64> {
    let ok = |load: f64| -> Result<bool> {
        Ok(point(w, cfg, tenants, scheduler, load, make)?
            .metrics
            .sla_satisfaction
            >= SLA_TARGET)
    };
    let (mut lo, mut hi) = (0.0, start);
    // Grow or shrink the bracket until `lo` passes and `hi` fails (two octaves up at most:
    // a scheduler still meeting 99 % at 4× the highest swept load is reported at that bound).
    for _ in 0..2 {
        if ok(hi)? {
            lo = hi;
            hi *= 2.0;
        } else {
            break;
        }
    }
    if lo == 0.0 {
        let mut probe = hi / 2.0;
        for _ in 0..8 {
            if ok(probe)? {
                lo = probe;
                break;
            }
            hi = probe;
            probe /= 2.0;
        }
    }
    for _ in 0..BISECTION_STEPS {
        let mid = (lo + hi) / 2.0;
        if ok(mid)? {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

/// Runs `f` on a fresh rayon pool of `jobs` threads (`None`: one per core), so every
/// parallel loop inside it, the simulator's included, shares those threads.
pub fn with_jobs<T: Send>(jobs: Option<NonZeroUsize>, f: impl FnOnce() -> T + Send) -> Result<T> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.map_or(0, NonZeroUsize::get))
        .build()
        .map_err(|e| Error::Invalid(format!("thread pool: {e}")))?;
    Ok(pool.install(f))
}
