//! The text table of a sweep: every scheduler's points, then each one's latency-bounded
//! throughput.

use super::SweepResult;
use std::fmt::Write;

/// The table of `results`, scheduler by scheduler.
pub fn table(results: &[SweepResult]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<20} {:>8} {:>10} {:>7} {:>7} {:>7} {:>9}",
        "scheduler", "load", "offered/s", "SLA", "WSTP", "ANTT", "fairness"
    );
    for r in results {
        for p in &r.points {
            let m = &p.metrics;
            let _ = writeln!(
                s,
                "{:<20} {:>8.3} {:>10.1} {:>6.1}% {:>7.3} {:>7.3} {:>9.3}",
                r.scheduler,
                p.load,
                p.offered_rps,
                100.0 * m.sla_satisfaction,
                m.wstp,
                m.antt,
                m.fairness
            );
        }
    }
    let _ = writeln!(
        s,
        "\n{:<20} {:>32}",
        "scheduler", "latency-bounded throughput (req/s)"
    );
    for r in results {
        let _ = writeln!(
            s,
            "{:<20} {:>32.1}",
            r.scheduler, r.latency_bounded_throughput_rps
        );
    }
    s
}
