//! `cdmsa sweep`: a workload over a range of loads under several schedulers, with each
//! scheduler's latency-bounded throughput.

use super::{EXIT_PASS, JsonArg};
use crate::error::{Error, Result, write_file};
use crate::eval::{
    MAX_SEEDS, Part, Shard, Sweep, SweepIdentity, SweepResult, assemble, csv, scheduler_names,
    sustainable_throughput_rps, table, with_jobs,
};
use crate::report::{plot, write_json};
use crate::sched;
use crate::sim::tenants_within;
use crate::workload::Workload;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

/// Arguments of `cdmsa sweep`.
#[derive(clap::Args)]
pub struct SweepArgs {
    /// The workload TOML.
    workload: PathBuf,
    /// Load factors A:B:STEP applied to every tenant's arrival rate.
    #[arg(long, default_value = "0.25:2:0.25")]
    loads: String,
    /// Schedulers: a comma-separated list (any scheduler as NAME+batch batches decode steps), `all`, `ablation` or `batching`.
    #[arg(long, default_value = "all")]
    schedulers: String,
    /// Overrides the workload's accelerator.
    #[arg(long)]
    accel: Option<String>,
    /// More requests where needed so that each run's arrivals span at least this many times
    /// the workload's longest SLA, replacing the workload's `min_span_slas`.
    #[arg(long)]
    min_span_slas: Option<f64>,
    /// Arrival seeds per point and per throughput bisection (the workload's seed plus 0, 1,
    /// …): with more than one, every number is a mean with its 95 % confidence interval.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=MAX_SEEDS as u64))]
    seeds: u64,
    /// SVG plot of SLA satisfaction against offered load (with several seeds, the means
    /// with 95 % error bars).
    #[arg(long, conflicts_with = "shard")]
    plot: Option<PathBuf>,
    /// CSV of the points: each headline metric's mean and 95 % half-width.
    #[arg(long, conflicts_with = "shard")]
    csv: Option<PathBuf>,
    /// Threads to run the sweep on (default: one per core); the results do not depend on it.
    #[arg(long)]
    jobs: Option<NonZeroUsize>,
    /// Compute only shard I of N (I counted from 0: 0/3, 1/3, 2/3) and write its part of the
    /// results to --json, for `cdmsa merge`.
    #[arg(long, value_name = "I/N", requires = "json")]
    shard: Option<Shard>,
    #[command(flatten)]
    json: JsonArg,
    #[command(flatten)]
    limits: super::LimitArgs,
}

/// The largest load factor: a million times a workload's rates is far past any knee, and
/// keeps every scaled rate finite.
const MAX_LOAD: f64 = 1e6;

fn parse_loads(s: &str) -> Result<Vec<f64>> {
    let bad = || Error::Config {
        field: "loads".into(),
        msg: format!(
            "'{s}' is not A:B:STEP with 0 < A ≤ B ≤ {MAX_LOAD} (factors of the workload's rates) and STEP > 0"
        ),
    };
    let parts: Vec<f64> = s
        .split(':')
        .map(|p| p.trim().parse::<f64>().map_err(|_| bad()))
        .collect::<Result<_>>()?;
    let [a, b, step] = parts[..] else {
        return Err(bad());
    };
    if !(a > 0.0 && b >= a && b <= MAX_LOAD && step > 0.0) || (b - a) / step > 1000.0 {
        return Err(bad());
    }
    let n = ((b - a) / step + 1e-9).floor() as usize;
    Ok((0..=n).map(|i| a + step * i as f64).collect())
}

/// Where a whole sweep's report goes besides the table on stdout.
pub(super) struct Outputs<'a> {
    /// The SVG plot.
    pub plot: Option<&'a Path>,
    /// The JSON report.
    pub json: Option<&'a Path>,
    /// The CSV of the points.
    pub csv: Option<&'a Path>,
}

/// Prints a whole sweep's table and writes its plot, JSON report and CSV: the same for one
/// run and for merged shards.
pub(super) fn present(
    identity: &SweepIdentity,
    results: &[SweepResult],
    to: Outputs,
) -> Result<()> {
    print!("{}", table(results, identity.sustainable_throughput_rps));
    if let Some(path) = to.plot {
        let series: Vec<plot::ErrorSeries> =
            results.iter().map(SweepResult::sla_error_series).collect();
        let title = format!("{} on {}", identity.workload, identity.accelerator);
        plot::lines_with_errors(
            path,
            &title,
            "offered load (requests/s)",
            "SLA satisfaction (%)",
            &series,
        )?;
    }
    if let Some(path) = to.json {
        write_json(path, &identity.report(results))?;
    }
    if let Some(path) = to.csv {
        write_file(path, csv(results).as_bytes())?;
    }
    Ok(())
}

/// A progress bar of `len` units on stderr, hidden when stderr is not a terminal.
fn progress(len: usize) -> Result<ProgressBar> {
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} units {elapsed}")
            .map_err(|e| Error::Invalid(e.to_string()))?,
    );
    Ok(bar)
}

/// Runs the command; returns the exit code.
pub fn run(args: SweepArgs) -> Result<i32> {
    let mut w = Workload::load(&args.workload)?;
    if let Some(a) = &args.accel {
        w.accel = Some(a.clone());
    }
    if let Some(x) = args.min_span_slas {
        crate::workload::non_negative(x, "min-span-slas")?;
        w.min_span_slas = x;
    }
    let cfg = w.accelerator()?;
    let loads = parse_loads(&args.loads)?;
    let names = scheduler_names(&args.schedulers)?;
    let models = tenants_within(&w, &cfg, false, &args.limits.limits())?;
    // The parser keeps it within 1..=MAX_SEEDS.
    let seeds = args.seeds as usize;
    let sweep = Sweep {
        workload: &w,
        cfg: &cfg,
        tenants: &models,
        schedulers: &names,
        loads: &loads,
        seeds,
        make: &sched::by_name,
    };
    let identity = SweepIdentity {
        workload: args.workload.display().to_string(),
        accelerator: cfg.name.clone(),
        loads: loads.clone(),
        schedulers: names.clone(),
        seeds,
        sustainable_throughput_rps: sustainable_throughput_rps(&w, &models, &cfg),
    };
    let shard = args.shard.unwrap_or(Shard { index: 0, count: 1 });
    let total = sweep.units().len();
    let bar = progress((0..total).filter(|&i| shard.contains(i)).count())?;
    let outputs = with_jobs(args.jobs, || {
        sweep.compute_where(|i| shard.contains(i), &|| bar.inc(1))
    })??;
    bar.finish_and_clear();
    match (args.shard, &args.json.json) {
        (None, json) => {
            let outputs = outputs.into_iter().map(|(_, o)| o).collect();
            let results = assemble(
                &names,
                loads.len(),
                seeds,
                identity.sustainable_throughput_rps,
                outputs,
            )?;
            let to = Outputs {
                plot: args.plot.as_deref(),
                json: json.as_deref(),
                csv: args.csv.as_deref(),
            };
            present(&identity, &results, to)?;
        }
        (Some(shard), Some(path)) => {
            let count = outputs.len();
            write_json(path, &Part::new(identity, shard, outputs))?;
            println!(
                "shard {shard}: {count} of {total} units written to {}",
                path.display()
            );
        }
        // Refused by the argument parser.
        (Some(_), None) => return Err(Error::Invalid("--shard needs --json".into())),
    }
    Ok(EXIT_PASS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_parse_inclusive_ranges_and_reject_nonsense() {
        assert_eq!(parse_loads("0.5:2:0.5").unwrap(), vec![0.5, 1.0, 1.5, 2.0]);
        assert_eq!(parse_loads("1:1:1").unwrap(), vec![1.0]);
        for bad in [
            "0:1:0.5",
            "2:1:0.5",
            "1:2:0",
            "1:2",
            "a:b:c",
            "1:1e9:1e-9",
            "1e308:1e308:1",
            "1:inf:1",
        ] {
            assert!(parse_loads(bad).is_err(), "{bad}");
        }
    }
}
