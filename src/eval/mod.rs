//! Evaluation: load sweeps of a workload under several schedulers, and each scheduler's
//! latency-bounded throughput (the highest load at which SLA satisfaction stays ≥ 99 %).

use crate::config::AcceleratorConfig;
use crate::error::Result;
use crate::report::metrics::{SystemMetrics, compute};
use crate::sched::Policy;
use crate::sim::{Mode, SimOptions, TenantModel, requests, simulate_with};
use crate::workload::Workload;
use rayon::prelude::*;
use serde::Serialize;

/// SLA satisfaction that counts as meeting the latency bound.
pub const SLA_TARGET: f64 = 0.99;

/// Bisection steps on the load factor (each halves the bracket).
const BISECTION_STEPS: usize = 10;

/// One scheduler at one load.
#[derive(Debug, Clone, Serialize)]
pub struct SweepPoint {
    /// Factor applied to every tenant's arrival rate.
    pub load: f64,
    /// Offered requests per second over all tenants.
    pub offered_rps: f64,
    /// The metrics at that load.
    #[serde(flatten)]
    pub metrics: SystemMetrics,
}

/// One scheduler over the sweep.
#[derive(Debug, Clone, Serialize)]
pub struct SweepResult {
    /// Scheduler name.
    pub scheduler: String,
    /// The sweep, in load order.
    pub points: Vec<SweepPoint>,
    /// Highest offered load (requests/s) found with SLA satisfaction ≥ 99 %.
    pub latency_bounded_throughput_rps: f64,
}

impl SweepResult {
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
}

/// Builds a fresh policy by name.
pub type PolicyFactory<'a> = dyn Fn(&str) -> Result<Box<dyn Policy>> + Sync + 'a;

/// Simulates `w` scaled by `load` under a fresh `scheduler` and computes its metrics.
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
    let options = SimOptions { slices: false };
    let out = simulate_with(cfg, tenants, &reqs, policy.as_mut(), Mode::Timing, options)?;
    let info: Vec<_> = tenants
        .iter()
        .zip(&out.counters)
        .map(|(t, c)| (t.id, t.name.clone(), t.weight, *c))
        .collect();
    Ok(SweepPoint {
        load,
        offered_rps: scaled.offered_rps(),
        metrics: compute(&out.records, &info, cfg.clock_mhz),
    })
}

/// The highest load factor with SLA ≥ 99 %, by bracketing then bisection.
fn knee(
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

/// Sweeps `loads` for every scheduler (points in parallel, results in order) and finds each
/// scheduler's latency-bounded throughput; `tick` is called after each simulated point.
pub fn sweep(
    w: &Workload,
    cfg: &AcceleratorConfig,
    tenants: &[TenantModel],
    schedulers: &[String],
    loads: &[f64],
    make: &PolicyFactory,
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<SweepResult>> {
    let jobs: Vec<(usize, f64)> = (0..schedulers.len())
        .flat_map(|s| loads.iter().map(move |&l| (s, l)))
        .collect();
    let points: Vec<SweepPoint> = jobs
        .par_iter()
        .map(|&(s, load)| {
            let p = point(w, cfg, tenants, &schedulers[s], load, make);
            tick();
            p
        })
        .collect::<Result<_>>()?;
    let start = loads
        .iter()
        .copied()
        .fold(f64::NAN, f64::max)
        .max(f64::MIN_POSITIVE);
    let knees: Vec<f64> = schedulers
        .par_iter()
        .map(|s| {
            let k = knee(w, cfg, tenants, s, start, make);
            tick();
            k
        })
        .collect::<Result<_>>()?;
    let base_rps = w.offered_rps();
    Ok(schedulers
        .iter()
        .enumerate()
        .map(|(s, name)| SweepResult {
            scheduler: name.clone(),
            points: points[s * loads.len()..(s + 1) * loads.len()].to_vec(),
            latency_bounded_throughput_rps: knees[s] * base_rps,
        })
        .collect())
}
