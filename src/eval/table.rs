//! The text table of a sweep: every scheduler's points, then each one's latency-bounded
//! throughput, marked when it exceeds the accelerator's sustainable throughput. With several
//! seeds every number is a mean ± its 95 % half-width.

use super::SweepResult;
use super::stats::Interval;
use std::fmt::Write;

/// The table of `results`, scheduler by scheduler; `sustainable_rps` is the accelerator's
/// sustainable throughput, named under the throughputs that exceed it.
pub fn table(results: &[SweepResult], sustainable_rps: Option<f64>) -> String {
    let several = results
        .iter()
        .any(|r| r.latency_bounded_throughput_over_seeds.is_some());
    let mut s = if several {
        seeded_points(results)
    } else {
        points(results)
    };
    let _ = writeln!(
        s,
        "\n{:<20} {:>32}",
        "scheduler", "latency-bounded throughput (req/s)"
    );
    for r in results {
        let lbt = match r.latency_bounded_throughput_over_seeds {
            Some(i) => format!("{:.1} ± {:.1}", i.mean, i.half_width),
            None => format!("{:.1}", r.latency_bounded_throughput_rps),
        };
        let mark = if r.exceeds_sustainable_throughput {
            "  *"
        } else {
            ""
        };
        let _ = writeln!(s, "{:<20} {lbt:>32}{mark}", r.scheduler);
    }
    s.push_str(&tokens(results));
    if let Some(rps) = sustainable_rps
        && results.iter().any(|r| r.exceeds_sustainable_throughput)
    {
        let _ = writeln!(
            s,
            "* above the accelerator's sustainable {rps:.1} req/s (arrays or DRAM 100 % busy \
             on the nominal work of the lightest 99 % of the requests): the run is too short \
             to measure the knee"
        );
    }
    s
}

/// The points of a one-seed sweep.
fn points(results: &[SweepResult]) -> String {
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
    s
}

/// The points of a several-seed sweep: means ± 95 % half-widths.
fn seeded_points(results: &[SweepResult]) -> String {
    let pm = |i: Interval, scale: f64, digits: usize| {
        format!(
            "{:.digits$}±{:.digits$}",
            scale * i.mean,
            scale * i.half_width
        )
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<20} {:>8} {:>10} {:>12} {:>13} {:>13} {:>13}",
        "scheduler", "load", "offered/s", "SLA %", "WSTP", "ANTT", "fairness"
    );
    for r in results {
        for p in &r.points {
            let Some(o) = p.over_seeds else { continue };
            let _ = writeln!(
                s,
                "{:<20} {:>8.3} {:>10.1} {:>12} {:>13} {:>13} {:>13}",
                r.scheduler,
                p.load,
                p.offered_rps,
                pm(o.sla_satisfaction, 100.0, 1),
                pm(o.wstp, 1.0, 3),
                pm(o.antt, 1.0, 3),
                pm(o.fairness, 1.0, 3)
            );
        }
    }
    s
}

/// The decoder tenants' token metrics at every point (nothing without decoder tenants):
/// goodput and the TTFT and TPOT percentiles, means ± 95 % half-widths with several seeds.
fn tokens(results: &[SweepResult]) -> String {
    let mut s = String::new();
    if results
        .iter()
        .all(|r| r.points.iter().all(|p| p.tokens_over_seeds.is_empty()))
    {
        return s;
    }
    let pm = |i: Interval, scale: f64, digits: usize| match i.n {
        0 | 1 => format!("{:.digits$}", scale * i.mean),
        _ => format!(
            "{:.digits$}±{:.digits$}",
            scale * i.mean,
            scale * i.half_width
        ),
    };
    let _ = writeln!(
        s,
        "\n{:<20} {:>8} {:<12} {:>12} {:>15} {:>15} {:>13} {:>13}",
        "scheduler",
        "load",
        "decoder",
        "goodput %",
        "TTFT p50 ms",
        "TTFT p99 ms",
        "TPOT p50 ms",
        "TPOT p99 ms"
    );
    for r in results {
        for p in &r.points {
            for t in &p.tokens_over_seeds {
                let _ = writeln!(
                    s,
                    "{:<20} {:>8.3} {:<12} {:>12} {:>15} {:>15} {:>13} {:>13}",
                    r.scheduler,
                    p.load,
                    t.tenant.chars().take(12).collect::<String>(),
                    pm(t.goodput, 100.0, 1),
                    pm(t.ttft_p50_ms, 1.0, 1),
                    pm(t.ttft_p99_ms, 1.0, 1),
                    pm(t.tpot_p50_ms, 1.0, 2),
                    pm(t.tpot_p99_ms, 1.0, 2)
                );
            }
        }
    }
    s
}
