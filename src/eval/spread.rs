//! A swept point's headline metrics over several seeds: each one's mean with its 95 %
//! interval ([`Interval`], Student's t over the runs).

use super::stats::Interval;
use crate::report::metrics::SystemMetrics;
use serde::Serialize;

/// The headline metrics of one (scheduler, load) point over its seeds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    /// How many seeds.
    pub seeds: usize,
    /// SLA satisfaction (fraction).
    pub sla_satisfaction: Interval,
    /// System throughput.
    pub stp: Interval,
    /// Weighted system throughput.
    pub wstp: Interval,
    /// Average normalised turnaround time.
    pub antt: Interval,
    /// Fairness.
    pub fairness: Interval,
    /// Requests unfinished when the simulation ended.
    pub unfinished: Interval,
}

impl Spread {
    /// The spread of `runs`, one per seed (at least one).
    ///
    /// # Panics
    /// If `runs` is empty.
    pub fn of(runs: &[&SystemMetrics]) -> Spread {
        let over = |f: fn(&SystemMetrics) -> f64| {
            Interval::of(&runs.iter().map(|m| f(m)).collect::<Vec<_>>())
        };
        Spread {
            seeds: runs.len(),
            sla_satisfaction: over(|m| m.sla_satisfaction),
            stp: over(|m| m.stp),
            wstp: over(|m| m.wstp),
            antt: over(|m| m.antt),
            fairness: over(|m| m.fairness),
            unfinished: over(|m| m.unfinished as f64),
        }
    }
}
