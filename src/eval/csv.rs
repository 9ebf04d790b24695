//! The CSV of a sweep: a row per (scheduler, load) point with each headline metric's mean
//! over the seeds and the half-width of its 95 % interval (empty for one seed, whose
//! interval is unknown), then the scheduler's latency-bounded throughput in the same way.

use super::SweepResult;
use super::spread::Spread;
use super::stats::Interval;
use crate::report::metrics::SystemMetrics;
use std::fmt::Write;

/// The header of [`csv`].
const HEADER: &str = "scheduler,load,offered_rps,seeds,sla_satisfaction,sla_satisfaction_ci95,\
stp,stp_ci95,wstp,wstp_ci95,antt,antt_ci95,fairness,fairness_ci95,unfinished,unfinished_ci95,\
latency_bounded_throughput_rps,latency_bounded_throughput_rps_ci95,\
exceeds_sustainable_throughput";

/// `results` as CSV, scheduler by scheduler, each in load order. Every value is written
/// in full (Rust's shortest round-trip form).
pub fn csv(results: &[SweepResult]) -> String {
    let mut s = format!("{HEADER}\n");
    for r in results {
        let lbt = r.lbt();
        for p in &r.points {
            let spread = p.over_seeds.unwrap_or_else(|| one(&p.metrics));
            let cells: Vec<String> = [
                spread.sla_satisfaction,
                spread.stp,
                spread.wstp,
                spread.antt,
                spread.fairness,
                spread.unfinished,
                lbt,
            ]
            .iter()
            .map(|i| cell(*i))
            .collect();
            let _ = writeln!(
                s,
                "{},{},{},{},{},{}",
                r.scheduler,
                p.load,
                p.offered_rps,
                spread.seeds,
                cells.join(","),
                r.exceeds_sustainable_throughput
            );
        }
    }
    s
}

/// The spread of a single run.
fn one(m: &SystemMetrics) -> Spread {
    Spread::of(&[m])
}

/// `mean,half_width`, the half-width empty for a single replicate.
fn cell(i: Interval) -> String {
    if i.n > 1 {
        format!("{},{}", i.mean, i.half_width)
    } else {
        format!("{},", i.mean)
    }
}
