//! `cdmsa tournament`: one scheduler against the best of the others on seeded random
//! workloads, with 95 % intervals over seeds.

use super::{EXIT_PASS, JsonArg};
use crate::error::{Error, Result, write_file};
use crate::eval::{TournamentSpec, scheduler_names, tournament, with_jobs};
use crate::report::write_json;
use crate::sched;
use std::num::NonZeroUsize;
use std::path::PathBuf;

/// Arguments of `cdmsa tournament`.
#[derive(clap::Args)]
pub struct TournamentArgs {
    /// How many random workloads.
    #[arg(long, default_value_t = 50)]
    workloads: u64,
    /// The generator's seed: the same seed gives the same workloads.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Requests per simulation, at least.
    #[arg(long, default_value_t = 400)]
    requests: u64,
    /// More requests where needed so that each run's arrivals span at least this many times
    /// the workload's longest SLA (0: the request count alone).
    #[arg(long, default_value_t = 10.0)]
    min_span_slas: f64,
    /// Seeds per swept point and per latency-bounded throughput.
    #[arg(long, default_value_t = 3)]
    replicates: usize,
    /// Load factors, comma-separated (1 fills the accelerator nominally).
    #[arg(long, default_value = "0.5,0.75,1,1.25,1.5")]
    loads: String,
    /// Schedulers: a comma-separated list (any scheduler as NAME+batch batches decode steps), `all`, `ablation` or `batching`.
    #[arg(long, default_value = "all")]
    schedulers: String,
    /// The scheduler held against the best of the others.
    #[arg(long, default_value = "cd-msa")]
    contender: String,
    /// Threads (default: one per core); the results do not depend on it.
    #[arg(long)]
    jobs: Option<NonZeroUsize>,
    /// Also write every generated workload as DIR/workload-INDEX.toml.
    #[arg(long, value_name = "DIR")]
    write_workloads: Option<PathBuf>,
    #[command(flatten)]
    json: JsonArg,
}

fn parse_loads(s: &str) -> Result<Vec<f64>> {
    s.split(',')
        .map(|p| match p.trim().parse::<f64>() {
            Ok(x) if x > 0.0 && x.is_finite() => Ok(x),
            _ => Err(Error::Config {
                field: "loads".into(),
                msg: format!("'{p}' in '{s}' is not a positive load factor"),
            }),
        })
        .collect()
}

/// Runs the command; returns the exit code.
pub fn run(args: TournamentArgs) -> Result<i32> {
    if args.replicates == 0 || args.requests == 0 {
        return Err(Error::Config {
            field: "replicates".into(),
            msg: "replicates and requests must be at least 1".into(),
        });
    }
    crate::workload::non_negative(args.min_span_slas, "min-span-slas")?;
    let spec = TournamentSpec {
        workloads: args.workloads,
        seed: args.seed,
        requests: args.requests,
        min_span_slas: args.min_span_slas,
        replicates: args.replicates,
        loads: parse_loads(&args.loads)?,
        schedulers: scheduler_names(&args.schedulers)?,
        contender: args.contender,
    };
    let report = with_jobs(args.jobs, || tournament(&spec, &sched::by_name))??;
    print!("{}", report.text());
    if let Some(dir) = &args.write_workloads {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
        for m in &report.matches {
            let path = dir.join(format!("workload-{}.toml", m.index));
            write_file(&path, m.workload_toml.as_bytes())?;
        }
    }
    if let Some(path) = &args.json.json {
        write_json(path, &report)?;
    }
    Ok(EXIT_PASS)
}
