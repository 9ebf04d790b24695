//! `cdmsa merge`: the parts written by `cdmsa sweep --shard` into the whole sweep's report.

use super::EXIT_PASS;
use super::sweep::{Outputs, present};
use crate::error::Result;
use crate::eval::{Part, assemble, merge};
use std::path::PathBuf;

/// Arguments of `cdmsa merge`.
#[derive(clap::Args)]
pub struct MergeArgs {
    /// The part files, one per shard, in any order.
    #[arg(required = true)]
    parts: Vec<PathBuf>,
    /// The sweep's JSON report, as `cdmsa sweep --json` writes it.
    #[arg(long)]
    json: PathBuf,
    /// SVG plot of SLA satisfaction against offered load.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// CSV of the points, as `cdmsa sweep --csv` writes it.
    #[arg(long)]
    csv: Option<PathBuf>,
}

/// Runs the command; returns the exit code.
pub fn run(args: MergeArgs) -> Result<i32> {
    let parts = args
        .parts
        .iter()
        .map(|path| Ok((path.clone(), Part::read(path)?)))
        .collect::<Result<Vec<_>>>()?;
    let (identity, outputs) = merge(parts)?;
    let results = assemble(
        &identity.schedulers,
        identity.loads.len(),
        identity.seeds,
        identity.sustainable_throughput_rps,
        outputs,
    )?;
    let to = Outputs {
        plot: args.plot.as_deref(),
        json: Some(&args.json),
        csv: args.csv.as_deref(),
    };
    present(&identity, &results, to)?;
    Ok(EXIT_PASS)
}
