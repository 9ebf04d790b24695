//! Produces `docs/evaluation.md` and its plots: the three workloads on both presets under
//! every scheduler, CD-MSA's ablation, and the comparison with the paper's headline gains.
//!
//! `cargo run --release --example evaluation [LOADS] [--jobs N]` (default loads 0.5:8:0.5,
//! threads one per core; the workloads' zoo models are built in memory). Takes
//! several minutes on 2 cores; a progress bar on stderr (when it is a terminal) counts the
//! sweeps' units.

use cdmsa::eval::SweepPoint;
use cdmsa::eval::{SweepResult, sweep, units, with_jobs};
use cdmsa::report::plot;
use cdmsa::sched;
use cdmsa::sim::tenants;
use cdmsa::workload::Workload;
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fmt::Write;
use std::num::NonZeroUsize;
use std::path::Path;

/// Arguments of the example.
#[derive(Parser)]
struct Args {
    /// Load factors A:B:STEP.
    #[arg(default_value = "0.5:8:0.5")]
    loads: String,
    /// Threads (default: one per core); the results do not depend on it.
    #[arg(long)]
    jobs: Option<NonZeroUsize>,
}

const WORKLOADS: &[(&str, &str)] = &[
    ("A vision", "vision"),
    ("B language", "language"),
    ("C mixed", "mixed"),
];
const PRESETS: &[&str] = &["tpu-msa", "nnpi-msa"];
const BASELINES: &[&str] = &["fcfs", "prema", "planaria", "edf", "llf", "static"];

fn loads(spec: &str) -> Vec<f64> {
    let p: Vec<f64> = spec
        .split(':')
        .map(|x| x.parse().expect("LOADS is A:B:STEP"))
        .collect();
    let n = ((p[1] - p[0]) / p[2] + 1e-9).floor() as usize;
    (0..=n).map(|i| p[0] + p[2] * i as f64).collect()
}

/// The point of `r` nearest to `load`.
fn at(r: &SweepResult, load: f64) -> &SweepPoint {
    r.points
        .iter()
        .min_by(|a, b| (a.load - load).abs().total_cmp(&(b.load - load).abs()))
        .expect("a sweep has points")
}

fn pct(x: f64) -> String {
    format!("{:+.1} %", 100.0 * x)
}

/// Gains of CD-MSA over the best baseline: latency-bounded throughput; SLA and WSTP at
/// load 1; and the worst SLA difference and WSTP gain over the swept loads (negative:
/// below). Never a maximum over loads.
fn gains(results: &[SweepResult]) -> [f64; 5] {
    let get = |n: &str| {
        results
            .iter()
            .find(|r| r.scheduler == n)
            .expect("scheduler ran")
    };
    let cd = get("cd-msa");
    let base: Vec<&SweepResult> = BASELINES.iter().map(|b| get(b)).collect();
    let best = |f: &dyn Fn(&SweepResult) -> f64| base.iter().map(|r| f(r)).fold(0.0, f64::max);
    let ratio = |x: f64, b: f64| if b > 0.0 { x / b - 1.0 } else { 0.0 };
    let lbt = ratio(
        cd.latency_bounded_throughput_rps,
        best(&|r| r.latency_bounded_throughput_rps),
    );
    let sla_one = ratio(
        at(cd, 1.0).metrics.sla_satisfaction,
        best(&|r| at(r, 1.0).metrics.sla_satisfaction),
    );
    let wstp_one = ratio(at(cd, 1.0).metrics.wstp, best(&|r| at(r, 1.0).metrics.wstp));
    let (mut sla_worst, mut wstp_worst) = (f64::INFINITY, f64::INFINITY);
    for (i, p) in cd.points.iter().enumerate() {
        let best_sla = best(&|r| r.points[i].metrics.sla_satisfaction);
        let best_wstp = best(&|r| r.points[i].metrics.wstp);
        sla_worst = sla_worst.min(p.metrics.sla_satisfaction - best_sla);
        wstp_worst = wstp_worst.min(ratio(p.metrics.wstp, best_wstp));
    }
    [lbt, sla_one, wstp_one, sla_worst, wstp_worst]
}

fn main() -> cdmsa::Result<()> {
    let args = Args::parse();
    with_jobs(args.jobs, || evaluate(&args.loads))?
}

fn evaluate(load_spec: &str) -> cdmsa::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let loads = loads(load_spec);
    let mut names: Vec<String> = BASELINES.iter().map(|s| s.to_string()).collect();
    names.extend(sched::ABLATION.iter().map(|s| s.to_string()));
    let per_sweep = units(names.len(), loads.len()).len();
    let bar = ProgressBar::with_draw_target(
        Some((WORKLOADS.len() * PRESETS.len() * per_sweep) as u64),
        ProgressDrawTarget::stderr(),
    );
    bar.set_style(
        ProgressStyle::with_template("{msg:24} {bar:40} {pos}/{len} units {elapsed}")
            .map_err(|e| cdmsa::Error::Invalid(e.to_string()))?,
    );
    let make = |n: &str| sched::by_name(n);
    let mut doc = String::new();
    let mut headline = String::new();
    let _ = writeln!(
        headline,
        "| workload | preset | LBT gain | SLA gain at load 1 | WSTP gain at load 1 | worst SLA difference | worst WSTP gain |\n|---|---|---|---|---|---|---|"
    );
    for (title, file) in WORKLOADS {
        for preset in PRESETS {
            let mut w = Workload::load(&root.join("workloads").join(format!("{file}.toml")))?;
            w.accel = Some(preset.to_string());
            let cfg = w.accelerator()?;
            let models = tenants(&w, &cfg, false)?;
            bar.set_message(format!("{title} on {preset}"));
            if bar.is_hidden() {
                eprintln!("{title} on {preset}: {per_sweep} units");
            }
            let results = sweep(&w, &cfg, &models, &names, &loads, &make, &|| bar.inc(1))?;
            let _ = writeln!(doc, "\n### {title} on `{preset}`\n");
            let _ = writeln!(
                doc,
                "Tenants (isolated latency on the whole accelerator):\n"
            );
            for t in &models {
                let _ = writeln!(
                    doc,
                    "- `{}`: {:.3} ms, priority {}",
                    t.name,
                    t.isolated.to_ms(cfg.clock_mhz),
                    t.priority
                );
            }
            let _ = writeln!(
                doc,
                "\n| scheduler | latency-bounded throughput (req/s) | SLA at load 1 | SLA at load {} | WSTP at load 1 | ANTT at load 1 | fairness at load 1 |\n|---|---|---|---|---|---|---|",
                loads[loads.len() - 1]
            );
            for r in &results {
                let (one, last) = (at(r, 1.0), &r.points[r.points.len() - 1]);
                let _ = writeln!(
                    doc,
                    "| {} | {:.1} | {:.1} % | {:.1} % | {:.3} | {:.3} | {:.3} |",
                    r.scheduler,
                    r.latency_bounded_throughput_rps,
                    100.0 * one.metrics.sla_satisfaction,
                    100.0 * last.metrics.sla_satisfaction,
                    one.metrics.wstp,
                    one.metrics.antt,
                    one.metrics.fairness
                );
            }
            let svg = format!("evaluation-{file}-{preset}.svg");
            let series: Vec<(String, Vec<(f64, f64)>)> =
                results.iter().map(SweepResult::sla_series).collect();
            plot::lines(
                &root.join("docs").join(&svg),
                &format!("{title} on {preset}"),
                "offered load (requests/s)",
                "SLA satisfaction (%)",
                &series,
            )?;
            let _ = writeln!(doc, "\n![SLA satisfaction against load]({svg})");
            let g = gains(&results).map(pct);
            let _ = writeln!(
                headline,
                "| {title} | {preset} | {} | {} | {} | {} | {} |",
                g[0], g[1], g[2], g[3], g[4]
            );
        }
    }
    let text = format!(
        "# Evaluation\n\nProduced by `cargo run --release --example evaluation {load_spec}` (timing mode; \
         loads scale every tenant's Poisson rate; latency-bounded throughput is the highest offered \
         load with SLA satisfaction ≥ 99 %, found by bisection). A reading of the results is in [evaluation-analysis.md](evaluation-analysis.md); \
         language-model tenants served token by token are in [evaluation-llm.md](evaluation-llm.md).\n\n## CD-MSA against the best baseline\n\n\
         The paper reports up to +62 % latency-bounded throughput, +63 % SLA satisfaction and +27 % \
         WSTP over the best prior work. Gains below are CD-MSA over the best of {} per column, at \
         load 1 or at the worst swept load, never a maximum over loads; \"worst SLA difference\" is \
         CD-MSA's SLA minus the best baseline's, in points (negative means below).\n\n{headline}\n## Per workload and preset\n{doc}",
        BASELINES.join(", ")
    );
    bar.finish_and_clear();
    std::fs::write(root.join("docs/evaluation.md"), text).map_err(|source| cdmsa::Error::Io {
        path: root.join("docs/evaluation.md"),
        source,
    })?;
    eprintln!("wrote docs/evaluation.md");
    Ok(())
}
