//! Produces `docs/evaluation.md` and its plots: the three committed workloads on both presets
//! under every scheduler and CD-MSA's ablation, over several seeds with 95 % intervals; a
//! tournament on seeded random workloads; and the paper's three claims beside what was
//! measured.
//!
//! `cargo run --release --example evaluation [LOADS] [--seeds N] [--requests N]
//! [--min-span-slas X] [--tournament N] [--jobs N]` (defaults: loads 1:4:1, 3 seeds, 1 000
//! requests per run, more where the arrivals would span less than 10 times the longest SLA, of
//! which the first tenth warm up, 20 tournament workloads; threads one per core). Takes
//! about 80 minutes on 2 cores; a progress bar on stderr (when it is a terminal) counts the
//! sweeps' units.

use cdmsa::eval::{
    Interval, Outcome, Sweep, SweepResult, TournamentReport, TournamentSpec,
    sustainable_throughput_rps, tournament, with_jobs,
};
use cdmsa::report::plot;
use cdmsa::sched;
use cdmsa::sim::tenants;
use cdmsa::workload::{Stop, Workload};
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fmt::Write;
use std::num::NonZeroUsize;
use std::path::Path;

/// Arguments of the example.
#[derive(Parser)]
struct Args {
    /// Load factors A:B:STEP.
    #[arg(default_value = "1:4:1")]
    loads: String,
    /// Arrival seeds per point and per latency-bounded throughput.
    #[arg(long, default_value_t = 3)]
    seeds: usize,
    /// Requests per run of the committed workloads (the first tenth warm up).
    #[arg(long, default_value_t = 1000)]
    requests: u64,
    /// More requests where needed so that each run's arrivals span at least this many times
    /// the workload's longest SLA.
    #[arg(long, default_value_t = 10.0)]
    min_span_slas: f64,
    /// Random workloads in the tournament.
    #[arg(long, default_value_t = 20)]
    tournament: u64,
    /// The tournament generator's seed.
    #[arg(long, default_value_t = 7)]
    tournament_seed: u64,
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
/// The tournament's fixed loads and its runs' length.
const TOURNAMENT_LOADS: &[f64] = &[0.5, 1.0, 1.5];
const TOURNAMENT_REQUESTS: u64 = 300;

fn loads(spec: &str) -> Vec<f64> {
    let p: Vec<f64> = spec
        .split(':')
        .map(|x| x.parse().expect("LOADS is A:B:STEP"))
        .collect();
    let n = ((p[1] - p[0]) / p[2] + 1e-9).floor() as usize;
    (0..=n).map(|i| p[0] + p[2] * i as f64).collect()
}

fn pct(x: f64) -> String {
    format!("{:+.1} %", 100.0 * x)
}

fn ci(i: &Interval, scale: f64, digits: usize) -> String {
    format!(
        "{:.d$} ± {:.d$}",
        scale * i.mean,
        scale * i.half_width,
        d = digits
    )
}

fn ratio(x: f64, b: f64) -> f64 {
    if b > 0.0 { x / b - 1.0 } else { 0.0 }
}

/// CD-MSA against the best baseline on one sweep (means; outcomes by the 95 % intervals).
struct Gains {
    lbt: f64,
    lbt_outcome: Outcome,
    /// SLA gain (relative) at the first load and its outcome.
    sla_first: f64,
    sla_first_outcome: Outcome,
    /// WSTP gain at the first load.
    wstp_first: f64,
    /// The worst SLA difference over the loads (points) and the SLA losses outside the
    /// intervals.
    sla_worst: f64,
    sla_losses: usize,
    /// SLA gain (relative) at the highest load.
    sla_last: f64,
}

fn gains(results: &[SweepResult]) -> Gains {
    let get = |n: &str| {
        results
            .iter()
            .find(|r| r.scheduler == n)
            .expect("scheduler ran")
    };
    let cd = get("cd-msa");
    let base: Vec<&SweepResult> = BASELINES.iter().map(|b| get(b)).collect();
    let best_by = |f: &dyn Fn(&SweepResult) -> Interval| {
        base.iter()
            .map(|r| f(r))
            .max_by(|a, b| a.mean.total_cmp(&b.mean))
            .expect("baselines ran")
    };
    let lbt_best = best_by(&SweepResult::lbt);
    let sla_at = |i: usize| move |r: &SweepResult| r.points[i].sla();
    let wstp_at = |r: &SweepResult| {
        r.points[0]
            .over_seeds
            .map_or(Interval::of(&[r.points[0].metrics.wstp]), |s| s.wstp)
    };
    let last = cd.points.len() - 1;
    let (mut sla_worst, mut sla_losses) = (f64::INFINITY, 0);
    for i in 0..cd.points.len() {
        let (mine, best) = (cd.points[i].sla(), best_by(&sla_at(i)));
        sla_worst = sla_worst.min(mine.mean - best.mean);
        sla_losses += usize::from(Outcome::of(&mine, &best) == Outcome::Loss);
    }
    Gains {
        lbt: ratio(cd.lbt().mean, lbt_best.mean),
        lbt_outcome: Outcome::of(&cd.lbt(), &lbt_best),
        sla_first: ratio(cd.points[0].sla().mean, best_by(&sla_at(0)).mean),
        sla_first_outcome: Outcome::of(&cd.points[0].sla(), &best_by(&sla_at(0))),
        wstp_first: ratio(wstp_at(cd).mean, best_by(&wstp_at).mean),
        sla_worst,
        sla_losses,
        sla_last: ratio(cd.points[last].sla().mean, best_by(&sla_at(last)).mean),
    }
}

fn main() -> cdmsa::Result<()> {
    let args = Args::parse();
    with_jobs(args.jobs, || evaluate(&args))?
}

/// The committed workloads' sections, the headline table's rows and every sweep's gains.
fn committed(args: &Args, root: &Path) -> cdmsa::Result<(String, String, Vec<Gains>)> {
    let loads = loads(&args.loads);
    let mut names: Vec<String> = BASELINES.iter().map(|s| s.to_string()).collect();
    names.extend(sched::ABLATION.iter().map(|s| s.to_string()));
    let per_sweep = cdmsa::eval::seeded_units(names.len(), loads.len(), args.seeds).len();
    let bar = ProgressBar::with_draw_target(
        Some((WORKLOADS.len() * PRESETS.len() * per_sweep) as u64),
        ProgressDrawTarget::stderr(),
    );
    bar.set_style(
        ProgressStyle::with_template("{msg:24} {bar:40} {pos}/{len} units {elapsed}")
            .map_err(|e| cdmsa::Error::Invalid(e.to_string()))?,
    );
    let make = |n: &str| sched::by_name(n);
    let (mut doc, mut headline, mut all) = (String::new(), String::new(), Vec::new());
    let _ = writeln!(
        headline,
        "| workload | preset | LBT gain | SLA gain at load {first} | WSTP gain at load {first} | SLA gain at load {top} | worst SLA difference | SLA losses |\n|---|---|---|---|---|---|---|---|",
        first = loads[0],
        top = loads[loads.len() - 1]
    );
    let mut widest: f64 = 0.0;
    for (title, file) in WORKLOADS {
        for preset in PRESETS {
            let mut w = Workload::load(&root.join("workloads").join(format!("{file}.toml")))?;
            w.accel = Some(preset.to_string());
            w.stop = Stop::Requests(args.requests);
            w.warmup = args.requests / 10;
            w.min_span_slas = args.min_span_slas;
            let cfg = w.accelerator()?;
            let models = tenants(&w, &cfg, false)?;
            bar.set_message(format!("{title} on {preset}"));
            if bar.is_hidden() {
                eprintln!("{title} on {preset}: {per_sweep} units");
            }
            let sweep = Sweep {
                workload: &w,
                cfg: &cfg,
                tenants: &models,
                schedulers: &names,
                loads: &loads,
                seeds: args.seeds,
                make: &make,
            };
            let results = sweep.results(&|| bar.inc(1))?;
            let sustainable = sustainable_throughput_rps(&w, &models, &cfg);
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
            if let Some(s) = sustainable {
                let _ = writeln!(
                    doc,
                    "\nSustainable throughput of the mix (every array busy, or the DRAM at its peak, on all but the heaviest 1 % of the requests): {s:.0} req/s."
                );
            }
            let (first, top) = (0, loads.len() - 1);
            let _ = writeln!(
                doc,
                "\n| scheduler | LBT (req/s) | SLA % at load {} | SLA % at load {} | WSTP at load {} | ANTT at load {} | fairness at load {} |\n|---|---|---|---|---|---|---|",
                loads[first], loads[top], loads[first], loads[first], loads[first]
            );
            for r in &results {
                let spread = |i: usize| r.points[i].over_seeds.expect("several seeds");
                let s = spread(first);
                for p in &r.points {
                    widest = widest.max(p.sla().half_width);
                }
                let _ = writeln!(
                    doc,
                    "| {} | {}{} | {} | {} | {} | {} | {} |",
                    r.scheduler,
                    ci(&r.lbt(), 1.0, 0),
                    if r.exceeds_sustainable_throughput {
                        " †"
                    } else {
                        ""
                    },
                    ci(&r.points[first].sla(), 100.0, 1),
                    ci(&r.points[top].sla(), 100.0, 1),
                    ci(&s.wstp, 1.0, 3),
                    ci(&s.antt, 1.0, 3),
                    ci(&s.fairness, 1.0, 3),
                );
            }
            let svg = format!("evaluation-{file}-{preset}.svg");
            let series: Vec<plot::ErrorSeries> =
                results.iter().map(SweepResult::sla_error_series).collect();
            plot::lines_with_errors(
                &root.join("docs").join(&svg),
                &format!("{title} on {preset}"),
                "offered load (requests/s)",
                "SLA satisfaction (%), mean and 95 % interval",
                &series,
            )?;
            let _ = writeln!(doc, "\n![SLA satisfaction against load]({svg})");
            let g = gains(&results);
            let _ = writeln!(
                headline,
                "| {title} | {preset} | {} ({:?}) | {} ({:?}) | {} | {} | {:+.1} points | {} |",
                pct(g.lbt),
                g.lbt_outcome,
                pct(g.sla_first),
                g.sla_first_outcome,
                pct(g.wstp_first),
                pct(g.sla_last),
                100.0 * g.sla_worst,
                g.sla_losses
            );
            all.push(g);
        }
    }
    bar.finish_and_clear();
    let _ = writeln!(
        headline,
        "\nThe widest 95 % interval of any scheduler's SLA satisfaction at any point: ±{:.2} points.",
        100.0 * widest
    );
    Ok((doc, headline, all))
}

/// The tournament's section.
fn random(args: &Args) -> cdmsa::Result<(String, TournamentReport)> {
    let spec = TournamentSpec {
        workloads: args.tournament,
        seed: args.tournament_seed,
        requests: TOURNAMENT_REQUESTS,
        min_span_slas: args.min_span_slas,
        replicates: args.seeds,
        loads: TOURNAMENT_LOADS.to_vec(),
        schedulers: sched::ALL.iter().map(|s| s.to_string()).collect(),
        contender: "cd-msa".into(),
    };
    eprintln!("tournament: {} workloads", spec.workloads);
    let report = tournament(&spec, &|n: &str| sched::by_name(n))?;
    let mut s = String::new();
    let loads: Vec<String> = spec.loads.iter().map(|l| l.to_string()).collect();
    let _ = writeln!(
        s,
        "`cdmsa tournament --workloads {} --seed {} --requests {} --min-span-slas {} --replicates {} --loads {}`: \
         {} random workloads over the zoo (2–8 tenants; Poisson, periodic in and out of phase, \
         bursty on/off arrivals; SLAs 1.5–10× the isolated latency or MLPerf's bounds; every \
         preset), each under every scheduler at each load and by bisection for its LBT, over {} \
         seeds. CD-MSA wins or loses against the best other scheduler only when the 95 % \
         intervals are disjoint.\n",
        spec.workloads,
        spec.seed,
        spec.requests,
        spec.min_span_slas,
        spec.replicates,
        loads.join(","),
        spec.workloads,
        spec.replicates
    );
    let t =
        |x: &cdmsa::eval::Tally| format!("{} wins, {} ties, {} losses", x.wins, x.ties, x.losses);
    let _ = writeln!(
        s,
        "- SLA satisfaction at each load: {}\n- latency-bounded throughput: {}\n",
        t(&report.sla_totals),
        t(&report.lbt_totals)
    );
    // The worst cases: the lowest SLA differences (points) against the best other.
    let mut rows: Vec<(f64, String)> = Vec::new();
    for m in &report.matches {
        let mine = m.standing("cd-msa");
        for (i, v) in m.sla.iter().enumerate() {
            let theirs = m.standing(&v.best_other);
            let diff = mine.sla[i].mean - theirs.sla[i].mean;
            rows.push((
                diff,
                format!(
                    "| {} | {} | {} | {} | {} % | {} {} % | {:+.1} | {:?} |",
                    m.index,
                    m.accelerator,
                    m.tenants.join(", "),
                    spec.loads[i],
                    ci(&mine.sla[i], 100.0, 1),
                    v.best_other,
                    ci(&theirs.sla[i], 100.0, 1),
                    100.0 * diff,
                    v.outcome
                ),
            ));
        }
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let _ = writeln!(
        s,
        "The ten worst points for CD-MSA (SLA difference against the best other scheduler, in points):\n\n\
         | workload | preset | tenants | load | CD-MSA SLA | best other SLA | difference | outcome |\n|---|---|---|---|---|---|---|---|"
    );
    for (_, row) in rows.iter().take(10) {
        let _ = writeln!(s, "{row}");
    }
    Ok((s, report))
}

/// The paper's claims beside the measurements.
fn claims(committed: &[Gains], report: &TournamentReport) -> String {
    let max = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let lbt: Vec<f64> = committed.iter().map(|g| g.lbt).collect();
    let sla_last: Vec<f64> = committed.iter().map(|g| g.sla_last).collect();
    let wstp: Vec<f64> = committed.iter().map(|g| g.wstp_first).collect();
    let t_lbt: Vec<f64> = report
        .matches
        .iter()
        .map(|m| {
            ratio(
                m.standing("cd-msa").lbt_rps.mean,
                m.standing(&m.lbt.best_other).lbt_rps.mean,
            )
        })
        .collect();
    let last = report.spec.loads.len() - 1;
    let t_sla: Vec<f64> = report
        .matches
        .iter()
        .map(|m| {
            ratio(
                m.standing("cd-msa").sla[last].mean,
                m.standing(&m.sla[last].best_other).sla[last].mean,
            )
        })
        .collect();
    let span = |v: &[f64]| {
        format!(
            "{} to {} (median {})",
            pct(min(v)),
            pct(max(v)),
            pct(median(v))
        )
    };
    format!(
        "| claim (over the best prior scheduler) | paper | committed workloads (six sweeps) | tournament (per workload) |\n|---|---|---|---|\n\
         | latency-bounded throughput | up to +62 % | {} | {} |\n\
         | SLA satisfaction | up to +63 % | {} at the highest load | {} at load {} |\n\
         | weighted system throughput | up to +27 % | {} at the first load | not measured |\n",
        span(&lbt),
        span(&t_lbt),
        span(&sla_last),
        span(&t_sla),
        report.spec.loads[last],
        span(&wstp)
    )
}

fn evaluate(args: &Args) -> cdmsa::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (doc, headline, all) = committed(args, root)?;
    let (tourney, report) = random(args)?;
    let command = format!(
        "cargo run --release --example evaluation {} --seeds {} --requests {} --min-span-slas {} --tournament {} --tournament-seed {}",
        args.loads,
        args.seeds,
        args.requests,
        args.min_span_slas,
        args.tournament,
        args.tournament_seed
    );
    let text = format!(
        "# Evaluation\n\nProduced by `{command}` (timing mode). Loads scale every tenant's \
         arrival rate; every number is the mean over {seeds} arrival seeds with its 95 % \
         confidence interval (Student's t over the seeds); each run has {requests} requests, \
         the first {warm} of which warm up and are left out, or more where its arrivals would \
         span less than {span} times the longest SLA; requests unfinished when the run \
         ends count as missed. The latency-bounded throughput (LBT) is the highest offered \
         load with SLA satisfaction ≥ 99 %, found per seed by bisection; † marks an LBT above \
         the accelerator's sustainable throughput, with the heaviest 1 % of the requests left \
         unserved (a run too short to find the knee). Gains \
         are CD-MSA over the best of {baselines} at fixed loads, never a maximum over loads; a \
         win or loss (in brackets) needs disjoint intervals. A reading of the results is in \
         [evaluation-analysis.md](evaluation-analysis.md); language-model tenants served token \
         by token are in [evaluation-llm.md](evaluation-llm.md).\n\n\
         ## The paper's claims\n\n{claims}\n\
         ## CD-MSA against the best baseline on the committed workloads\n\n{headline}\n\
         ## A tournament on random workloads\n\n{tourney}\n\
         ## Per workload and preset\n\nEach table also holds CD-MSA with one mechanism switched \
         off and baselines given CD-MSA's task fusion (the ablation).\n{doc}",
        seeds = args.seeds,
        requests = args.requests,
        warm = args.requests / 10,
        span = args.min_span_slas,
        baselines = BASELINES.join(", "),
        claims = claims(&all, &report),
    );
    std::fs::write(root.join("docs/evaluation.md"), text).map_err(|source| cdmsa::Error::Io {
        path: root.join("docs/evaluation.md"),
        source,
    })?;
    eprintln!("wrote docs/evaluation.md");
    Ok(())
}
