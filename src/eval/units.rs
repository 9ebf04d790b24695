//! A sweep's work units: which there are, computing any subset of them in parallel, and
//! assembling the per-scheduler results from all of their outputs.

use super::spread::{Spread, TokenSpread};
use super::stats::Interval;
use super::{PolicyFactory, SweepPoint, SweepResult, knee, point, replica};
use crate::config::AcceleratorConfig;
use crate::error::{Error, Result};
use crate::report::metrics::SystemMetrics;
use crate::sim::TenantModel;
use crate::workload::Workload;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// One independent piece of a sweep's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Scheduler `scheduler` at load `load` with arrival seed `seed` (indices into the
    /// sweep's lists; seed `r` is the workload's seed plus `r`).
    Point {
        /// Index of the scheduler.
        scheduler: usize,
        /// Index of the load.
        load: usize,
        /// Replicate: the workload's seed plus this.
        seed: usize,
    },
    /// The latency-bounded-throughput bisection of scheduler `scheduler` with arrival seed
    /// `seed`.
    Knee {
        /// Index of the scheduler.
        scheduler: usize,
        /// Replicate: the workload's seed plus this.
        seed: usize,
    },
}

impl Unit {
    /// Whether `output` is of the kind this unit yields.
    pub fn yields(&self, output: &UnitOutput) -> bool {
        matches!(
            (self, output),
            (Unit::Point { .. }, UnitOutput::Point(_))
                | (
                    Unit::Knee { .. },
                    UnitOutput::LatencyBoundedThroughputRps(_)
                )
        )
    }
}

/// What computing a [`Unit`] yields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitOutput {
    /// A [`Unit::Point`]'s metrics.
    Point(Box<SweepPoint>),
    /// A [`Unit::Knee`]'s highest offered load (requests/s) meeting the SLA target.
    LatencyBoundedThroughputRps(f64),
}

/// Every unit of a one-seed sweep of `schedulers` × `loads` (see [`seeded_units`]).
pub fn units(schedulers: usize, loads: usize) -> Vec<Unit> {
    seeded_units(schedulers, loads, 1)
}

/// Every unit of a sweep of `schedulers` × `loads` with `seeds` arrival seeds, in index
/// order: the points scheduler by scheduler, each in load order, each load seed by seed;
/// then the bisections scheduler by scheduler, seed by seed. With one seed the units and
/// their indices are those of a sweep without seeds.
pub fn seeded_units(schedulers: usize, loads: usize, seeds: usize) -> Vec<Unit> {
    let points = (0..schedulers).flat_map(|scheduler| {
        (0..loads).flat_map(move |load| {
            (0..seeds).map(move |seed| Unit::Point {
                scheduler,
                load,
                seed,
            })
        })
    });
    let knees = (0..schedulers)
        .flat_map(|scheduler| (0..seeds).map(move |seed| Unit::Knee { scheduler, seed }));
    points.chain(knees).collect()
}

/// A sweep: a workload on an accelerator, under `schedulers`, at `loads` (factors on every
/// tenant's arrival rate), with `seeds` arrival seeds.
pub struct Sweep<'a> {
    /// The workload at load 1.
    pub workload: &'a Workload,
    /// The accelerator.
    pub cfg: &'a AcceleratorConfig,
    /// The workload's tenants on `cfg`.
    pub tenants: &'a [TenantModel],
    /// Scheduler names, each accepted by `make`.
    pub schedulers: &'a [String],
    /// Load factors, in sweep order.
    pub loads: &'a [f64],
    /// Arrival seeds per point and per bisection: the workload's seed plus 0, 1, …
    pub seeds: usize,
    /// Builds a fresh policy by name.
    pub make: &'a PolicyFactory<'a>,
}

impl Sweep<'_> {
    /// Every unit computed (in parallel on the current rayon pool; `tick` after each) and
    /// assembled into each scheduler's results, every latency-bounded throughput checked
    /// against the accelerator's sustainable throughput.
    pub fn results(&self, tick: &(dyn Fn() + Sync)) -> Result<Vec<SweepResult>> {
        let outputs = self.compute_where(|_| true, tick)?;
        assemble(
            self.schedulers,
            self.loads.len(),
            self.seeds,
            super::sustainable_throughput_rps(self.workload, self.tenants, self.cfg),
            outputs.into_iter().map(|(_, o)| o).collect(),
        )
    }

    /// Every unit of this sweep, in index order (see [`seeded_units`]).
    pub fn units(&self) -> Vec<Unit> {
        seeded_units(self.schedulers.len(), self.loads.len(), self.seeds)
    }

    /// Computes one unit.
    pub fn compute(&self, unit: Unit) -> Result<UnitOutput> {
        match unit {
            Unit::Point {
                scheduler,
                load,
                seed,
            } => point(
                &replica(self.workload, seed as u64),
                self.cfg,
                self.tenants,
                &self.schedulers[scheduler],
                self.loads[load],
                self.make,
            )
            .map(|p| UnitOutput::Point(Box::new(p))),
            Unit::Knee { scheduler, seed } => {
                // The bisection starts from the highest swept load.
                let start = self
                    .loads
                    .iter()
                    .copied()
                    .fold(f64::NAN, f64::max)
                    .max(f64::MIN_POSITIVE);
                let factor = knee(
                    &replica(self.workload, seed as u64),
                    self.cfg,
                    self.tenants,
                    &self.schedulers[scheduler],
                    start,
                    self.make,
                )?;
                Ok(UnitOutput::LatencyBoundedThroughputRps(
                    factor * self.workload.offered_rps(),
                ))
            }
        }
    }

    /// Computes the units whose indices pass `select`, in parallel on the current rayon
    /// pool; returns (index, output) in index order. `tick` is called after each unit.
    pub fn compute_where(
        &self,
        select: impl Fn(usize) -> bool,
        tick: &(dyn Fn() + Sync),
    ) -> Result<Vec<(usize, UnitOutput)>> {
        let chosen: Vec<(usize, Unit)> = self
            .units()
            .into_iter()
            .enumerate()
            .filter(|&(i, _)| select(i))
            .collect();
        chosen
            .into_par_iter()
            .map(|(i, unit)| {
                let out = self.compute(unit);
                tick();
                out.map(|o| (i, o))
            })
            .collect()
    }
}

/// The per-scheduler results of a sweep of `schedulers` × `loads` loads × `seeds` seeds
/// from the outputs of all of its units, in index order (as [`seeded_units`] lists them).
/// With several seeds each point carries its [`Spread`] and each throughput its interval;
/// a throughput above `sustainable_rps` is marked. An output of the wrong kind or a wrong
/// count is an error.
pub fn assemble(
    schedulers: &[String],
    loads: usize,
    seeds: usize,
    sustainable_rps: Option<f64>,
    outputs: Vec<UnitOutput>,
) -> Result<Vec<SweepResult>> {
    if seeds == 0 {
        return Err(Error::Invalid("a sweep needs at least one seed".into()));
    }
    let expected = seeded_units(schedulers.len(), loads, seeds);
    if outputs.len() != expected.len() {
        return Err(Error::Invalid(format!(
            "a sweep of {} schedulers × {loads} loads × {seeds} seeds has {} units, not {}",
            schedulers.len(),
            expected.len(),
            outputs.len()
        )));
    }
    // Per scheduler, per load, the seeds' points; per scheduler, the seeds' throughputs.
    let mut points: Vec<Vec<Vec<SweepPoint>>> = vec![vec![Vec::new(); loads]; schedulers.len()];
    let mut knees: Vec<Vec<f64>> = vec![Vec::new(); schedulers.len()];
    for (i, (unit, output)) in expected.into_iter().zip(outputs).enumerate() {
        match (unit, output) {
            // Seeds come in order within each point.
            (
                Unit::Point {
                    scheduler, load, ..
                },
                UnitOutput::Point(p),
            ) => points[scheduler][load].push(*p),
            (Unit::Knee { scheduler, .. }, UnitOutput::LatencyBoundedThroughputRps(rps)) => {
                knees[scheduler].push(rps);
            }
            (unit, _) => {
                return Err(Error::Invalid(format!(
                    "unit {i} ({unit:?}) has an output of another kind"
                )));
            }
        }
    }
    let several = seeds > 1;
    Ok(schedulers
        .iter()
        .zip(points.into_iter().zip(knees))
        .map(|(name, (points, knees))| {
            let lbt = Interval::of(&knees);
            SweepResult {
                scheduler: name.clone(),
                points: points
                    .into_iter()
                    .map(|runs| combine(runs, several))
                    .collect(),
                latency_bounded_throughput_rps: lbt.mean,
                latency_bounded_throughput_over_seeds: several.then_some(lbt),
                exceeds_sustainable_throughput: sustainable_rps.is_some_and(|s| lbt.mean > s),
            }
        })
        .collect())
}

/// One point from its seeds' runs (at least one, seed 0 first): seed 0's metrics, and with
/// `several` seeds their spread.
fn combine(runs: Vec<SweepPoint>, several: bool) -> SweepPoint {
    let metrics: Vec<&SystemMetrics> = runs.iter().map(|p| &p.metrics).collect();
    let spread = several.then(|| Spread::of(&metrics));
    let tokens = TokenSpread::of(&metrics);
    let mut first = runs.into_iter().next().expect("every point has a seed");
    first.over_seeds = spread;
    first.tokens_over_seeds = tokens;
    first
}

/// Sweeps `loads` for every scheduler with the workload's own seed and finds each
/// scheduler's latency-bounded throughput: all units in parallel on the current rayon
/// pool, results in order; `tick` is called after each unit.
pub fn sweep(
    w: &Workload,
    cfg: &AcceleratorConfig,
    tenants: &[TenantModel],
    schedulers: &[String],
    loads: &[f64],
    make: &PolicyFactory,
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<SweepResult>> {
    Sweep {
        workload: w,
        cfg,
        tenants,
        schedulers,
        loads,
        seeds: 1,
        make,
    }
    .results(tick)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::metrics::SystemMetrics;

    fn pt(load: f64, sla: f64) -> UnitOutput {
        UnitOutput::Point(Box::new(SweepPoint {
            load,
            offered_rps: 10.0 * load,
            metrics: SystemMetrics {
                requests: 1,
                unfinished: 0,
                sla_satisfaction: sla,
                stp: 1.0,
                wstp: 1.0,
                antt: 1.0,
                fairness: 1.0,
                tenants: Vec::new(),
            },
            over_seeds: None,
            tokens_over_seeds: Vec::new(),
        }))
    }

    #[test]
    fn units_are_points_scheduler_by_scheduler_then_one_knee_each() {
        use Unit::*;
        let p = |scheduler, load| Point {
            scheduler,
            load,
            seed: 0,
        };
        let k = |scheduler| Knee { scheduler, seed: 0 };
        assert_eq!(
            units(2, 2),
            vec![p(0, 0), p(0, 1), p(1, 0), p(1, 1), k(0), k(1)]
        );
        assert!(units(0, 3).is_empty());
        // Seeds innermost: 2 schedulers × 1 load × 2 seeds, then 2 × 2 bisections.
        let seeded: Vec<(usize, usize)> = seeded_units(2, 1, 2)
            .into_iter()
            .map(|u| match u {
                Point {
                    scheduler, seed, ..
                } => (scheduler, seed),
                Knee { scheduler, seed } => (10 + scheduler, seed),
            })
            .collect();
        assert_eq!(
            seeded,
            [
                (0, 0),
                (0, 1),
                (1, 0),
                (1, 1),
                (10, 0),
                (10, 1),
                (11, 0),
                (11, 1)
            ]
        );
    }

    #[test]
    fn assemble_groups_points_by_scheduler_and_refuses_misplaced_outputs() {
        let names = vec!["a".to_string(), "b".to_string()];
        let knee = UnitOutput::LatencyBoundedThroughputRps;
        let outputs = vec![
            pt(1.0, 1.0),
            pt(2.0, 1.0),
            pt(3.0, 1.0),
            pt(4.0, 1.0),
            knee(5.0),
            knee(6.0),
        ];
        let r = assemble(&names, 2, 1, Some(5.5), outputs.clone()).unwrap();
        assert_eq!(r[0].scheduler, "a");
        assert_eq!(
            r[1].points.iter().map(|p| p.load).collect::<Vec<_>>(),
            [3.0, 4.0]
        );
        assert_eq!(r[1].latency_bounded_throughput_rps, 6.0);
        // One seed: no spreads; only b's 6 req/s is above 5.5.
        assert!(r[1].points[0].over_seeds.is_none());
        assert!(r[1].latency_bounded_throughput_over_seeds.is_none());
        assert!(!r[0].exceeds_sustainable_throughput);
        assert!(r[1].exceeds_sustainable_throughput);
        let mut swapped = outputs.clone();
        swapped.swap(3, 4);
        assert!(assemble(&names, 2, 1, None, swapped).is_err());
        assert!(assemble(&names, 2, 1, None, outputs[..5].to_vec()).is_err());
        assert!(assemble(&names, 2, 0, None, Vec::new()).is_err());
    }

    /// Three seeds of one point with SLA 0.97, 0.98, 0.99: mean 0.98, sample standard
    /// deviation 0.01, half-width t(0.975, 2) · 0.01 / √3 = 4.303 · 0.005774 = 0.024843;
    /// bisections 100, 110, 120 req/s: mean 110, half-width 4.303 · 10 / √3 = 24.843.
    #[test]
    fn several_seeds_give_each_point_and_throughput_its_interval() {
        let names = vec!["a".to_string()];
        let knee = UnitOutput::LatencyBoundedThroughputRps;
        let outputs = vec![
            pt(1.0, 0.97),
            pt(1.0, 0.98),
            pt(1.0, 0.99),
            knee(100.0),
            knee(110.0),
            knee(120.0),
        ];
        let r = assemble(&names, 1, 3, Some(109.0), outputs).unwrap();
        let p = &r[0].points[0];
        // The flattened metrics are the workload's own seed's.
        assert_eq!(p.metrics.sla_satisfaction, 0.97);
        let sla = p.over_seeds.unwrap().sla_satisfaction;
        assert_eq!(sla.n, 3);
        assert!((sla.mean - 0.98).abs() < 1e-12);
        assert!((sla.half_width - 0.024843).abs() < 1e-6, "{sla:?}");
        assert_eq!(p.sla(), sla);
        let lbt = r[0].latency_bounded_throughput_over_seeds.unwrap();
        assert_eq!(r[0].latency_bounded_throughput_rps, 110.0);
        assert!((lbt.half_width - 24.843).abs() < 1e-3, "{lbt:?}");
        // The mean, 110, is above 109.
        assert!(r[0].exceeds_sustainable_throughput);
    }
}
