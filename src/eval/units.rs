//! A sweep's work units: which there are, computing any subset of them in parallel, and
//! assembling the per-scheduler results from all of their outputs.

use super::{PolicyFactory, SweepPoint, SweepResult, knee, point};
use crate::config::AcceleratorConfig;
use crate::error::{Error, Result};
use crate::sim::TenantModel;
use crate::workload::Workload;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// One independent piece of a sweep's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Scheduler `scheduler` at load `load` (indices into the sweep's lists).
    Point {
        /// Index of the scheduler.
        scheduler: usize,
        /// Index of the load.
        load: usize,
    },
    /// The latency-bounded-throughput bisection of scheduler `scheduler`.
    Knee {
        /// Index of the scheduler.
        scheduler: usize,
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
    Point(SweepPoint),
    /// A [`Unit::Knee`]'s highest offered load (requests/s) meeting the SLA target.
    LatencyBoundedThroughputRps(f64),
}

/// Every unit of a sweep of `schedulers` × `loads`, in index order: the points scheduler by
/// scheduler, each in load order, then one bisection per scheduler.
pub fn units(schedulers: usize, loads: usize) -> Vec<Unit> {
    let points = (0..schedulers)
        .flat_map(|scheduler| (0..loads).map(move |load| Unit::Point { scheduler, load }));
    points
        .chain((0..schedulers).map(|scheduler| Unit::Knee { scheduler }))
        .collect()
}

/// A sweep: a workload on an accelerator, under `schedulers`, at `loads` (factors on every
/// tenant's arrival rate).
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
    /// Builds a fresh policy by name.
    pub make: &'a PolicyFactory<'a>,
}

impl Sweep<'_> {
    /// Every unit of this sweep, in index order (see [`units`]).
    pub fn units(&self) -> Vec<Unit> {
        units(self.schedulers.len(), self.loads.len())
    }

    /// Computes one unit.
    pub fn compute(&self, unit: Unit) -> Result<UnitOutput> {
        match unit {
            Unit::Point { scheduler, load } => point(
                self.workload,
                self.cfg,
                self.tenants,
                &self.schedulers[scheduler],
                self.loads[load],
                self.make,
            )
            .map(UnitOutput::Point),
            Unit::Knee { scheduler } => {
                // The bisection starts from the highest swept load.
                let start = self
                    .loads
                    .iter()
                    .copied()
                    .fold(f64::NAN, f64::max)
                    .max(f64::MIN_POSITIVE);
                let factor = knee(
                    self.workload,
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

/// The per-scheduler results of a sweep from the outputs of all of its units, in index
/// order (as [`units`] lists them). An output of the wrong kind or a wrong count is an error.
pub fn assemble(
    schedulers: &[String],
    loads: usize,
    outputs: Vec<UnitOutput>,
) -> Result<Vec<SweepResult>> {
    let expected = units(schedulers.len(), loads);
    if outputs.len() != expected.len() {
        return Err(Error::Invalid(format!(
            "a sweep of {} schedulers × {loads} loads has {} units, not {}",
            schedulers.len(),
            expected.len(),
            outputs.len()
        )));
    }
    let mut results: Vec<SweepResult> = schedulers
        .iter()
        .map(|name| SweepResult {
            scheduler: name.clone(),
            points: Vec::with_capacity(loads),
            latency_bounded_throughput_rps: 0.0,
        })
        .collect();
    for (i, (unit, output)) in expected.into_iter().zip(outputs).enumerate() {
        match (unit, output) {
            // Points come in load order within each scheduler.
            (Unit::Point { scheduler, .. }, UnitOutput::Point(p)) => {
                results[scheduler].points.push(p);
            }
            (Unit::Knee { scheduler }, UnitOutput::LatencyBoundedThroughputRps(rps)) => {
                results[scheduler].latency_bounded_throughput_rps = rps;
            }
            (unit, _) => {
                return Err(Error::Invalid(format!(
                    "unit {i} ({unit:?}) has an output of another kind"
                )));
            }
        }
    }
    Ok(results)
}

/// Sweeps `loads` for every scheduler and finds each scheduler's latency-bounded
/// throughput: all units in parallel on the current rayon pool, results in order; `tick`
/// is called after each unit.
pub fn sweep(
    w: &Workload,
    cfg: &AcceleratorConfig,
    tenants: &[TenantModel],
    schedulers: &[String],
    loads: &[f64],
    make: &PolicyFactory,
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<SweepResult>> {
    let s = Sweep {
        workload: w,
        cfg,
        tenants,
        schedulers,
        loads,
        make,
    };
    let outputs = s.compute_where(|_| true, tick)?;
    assemble(
        schedulers,
        loads.len(),
        outputs.into_iter().map(|(_, o)| o).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::metrics::SystemMetrics;

    fn pt(load: f64) -> UnitOutput {
        UnitOutput::Point(SweepPoint {
            load,
            offered_rps: 10.0 * load,
            metrics: SystemMetrics {
                requests: 1,
                unfinished: 0,
                sla_satisfaction: 1.0,
                stp: 1.0,
                wstp: 1.0,
                antt: 1.0,
                fairness: 1.0,
                tenants: Vec::new(),
            },
        })
    }

    #[test]
    fn units_are_points_scheduler_by_scheduler_then_one_knee_each() {
        use Unit::*;
        assert_eq!(
            units(2, 2),
            vec![
                Point {
                    scheduler: 0,
                    load: 0
                },
                Point {
                    scheduler: 0,
                    load: 1
                },
                Point {
                    scheduler: 1,
                    load: 0
                },
                Point {
                    scheduler: 1,
                    load: 1
                },
                Knee { scheduler: 0 },
                Knee { scheduler: 1 },
            ]
        );
        assert!(units(0, 3).is_empty());
    }

    #[test]
    fn assemble_groups_points_by_scheduler_and_refuses_misplaced_outputs() {
        let names = vec!["a".to_string(), "b".to_string()];
        let knee = UnitOutput::LatencyBoundedThroughputRps;
        let outputs = vec![pt(1.0), pt(2.0), pt(3.0), pt(4.0), knee(5.0), knee(6.0)];
        let r = assemble(&names, 2, outputs.clone()).unwrap();
        assert_eq!(r[0].scheduler, "a");
        assert_eq!(
            r[1].points.iter().map(|p| p.load).collect::<Vec<_>>(),
            [3.0, 4.0]
        );
        assert_eq!(r[1].latency_bounded_throughput_rps, 6.0);
        let mut swapped = outputs.clone();
        swapped.swap(3, 4);
        assert!(assemble(&names, 2, swapped).is_err());
        assert!(assemble(&names, 2, outputs[..5].to_vec()).is_err());
    }
}
