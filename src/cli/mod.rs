//! The command line (DESIGN section 7): parses arguments and calls the library; no logic here.

mod conformance;
mod inputs;
mod inspect;
mod merge;
mod run;
mod simulate;
mod sweep;
mod tournament;
mod zoo;

use crate::config::{AcceleratorConfig, PRESETS, Rewrites};
use crate::error::Result;
use crate::limits::Limits;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Exit code: everything verified.
pub const EXIT_PASS: i32 = 0;
/// Exit code: an output did not match its reference.
pub const EXIT_MISMATCH: i32 = 1;
/// Exit code: bad input or any other error.
pub const EXIT_ERROR: i32 = 2;

#[derive(Parser)]
#[command(
    name = "cdmsa",
    version,
    about = "Bit-accurate multi-systolic-array DNN accelerator emulator"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a model on the arrays and verify its outputs (no argument: the embedded digits model).
    Run(run::RunArgs),
    /// Run every ONNX backend-test directory under the given directories.
    Conformance(conformance::ConformanceArgs),
    /// Show the lowered kernels, tiles, MACs and isolated cycles of a model.
    Inspect(inspect::InspectArgs),
    /// Simulate a multi-tenant workload under one scheduler or all (no argument: the embedded default).
    Simulate(simulate::SimulateArgs),
    /// Sweep a workload's load under several schedulers; latency-bounded throughput per scheduler.
    Sweep(sweep::SweepArgs),
    /// Merge the parts written by `sweep --shard` into the whole sweep's report.
    Merge(merge::MergeArgs),
    /// One scheduler (CD-MSA) against the best of the others on seeded random workloads
    Tournament(tournament::TournamentArgs),
    /// List the accelerator presets.
    Presets,
    /// Write the timing model zoo's networks as ONNX files (workloads name them `zoo:NAME`).
    Zoo(zoo::ZooArgs),
}

/// Accelerator selection shared by the subcommands.
#[derive(clap::Args)]
struct AccelArg {
    /// A preset name (see `cdmsa presets`) or a TOML file.
    #[arg(long, default_value = "tpu-msa")]
    accel: String,
    /// The graph rewrites the lowering runs, replacing the accelerator's `[rewrites]`: all,
    /// none, default, names to run only those (fold_batchnorm, absorb_qdq, qdq_movement,
    /// drop_no_ops, cancel_transposes, fold_pad, fuse_relu; all but fuse_relu by default), or
    /// no-NAME to drop one from the default; comma-separated.
    #[arg(long)]
    rewrites: Option<String>,
}

impl AccelArg {
    fn load(&self) -> Result<AcceleratorConfig> {
        let mut cfg = AcceleratorConfig::load(&self.accel)?;
        if let Some(list) = &self.rewrites {
            cfg.rewrites = Rewrites::parse(list)?;
        }
        Ok(cfg)
    }
}

/// Resource bounds on the models a command loads (see [`Limits`]).
#[derive(clap::Args)]
struct LimitArgs {
    /// The most elements any one tensor of a model may have (declared, stored or inferred).
    #[arg(long, default_value_t = Limits::default().max_tensor_elements)]
    max_tensor_elements: usize,
    /// The most nodes (and initializers) a model's graph may have.
    #[arg(long, default_value_t = Limits::default().max_nodes)]
    max_nodes: usize,
    /// The most bytes a model file, and all the tensors of one run together, may take.
    #[arg(long, default_value_t = Limits::default().max_bytes)]
    max_bytes: u64,
}

impl LimitArgs {
    fn limits(&self) -> Limits {
        Limits {
            max_tensor_elements: self.max_tensor_elements,
            max_nodes: self.max_nodes,
            max_bytes: self.max_bytes,
        }
    }
}

/// Optional JSON output file.
/// Symbolic dims bound by name.
#[derive(clap::Args)]
struct DimArgs {
    /// A symbolic dim bound by name, NAME=SIZE (repeatable), e.g. a decoder's
    /// `--dim past=6 --dim seq=1`; the others take --batch.
    #[arg(long = "dim", value_name = "NAME=SIZE", value_parser = parse_dim)]
    dims: Vec<(String, usize)>,
}

/// `NAME=SIZE`.
fn parse_dim(s: &str) -> std::result::Result<(String, usize), String> {
    match s.split_once('=') {
        Some((name, size)) if !name.trim().is_empty() => size
            .trim()
            .parse()
            .map(|n| (name.trim().to_string(), n))
            .map_err(|_| format!("'{size}' is not a size")),
        _ => Err(format!("'{s}' is not NAME=SIZE")),
    }
}

#[derive(clap::Args)]
struct JsonArg {
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn presets() -> Result<i32> {
    println!(
        "{:<12} {:>6} {:>9} {:>4} {:>10} {:>5} {:>9} {:>10} {:>8}",
        "preset",
        "arrays",
        "array",
        "flow",
        "timing",
        "psum",
        "clock MHz",
        "DRAM B/cyc",
        "SRAM KiB"
    );
    for (name, _) in PRESETS {
        let c = AcceleratorConfig::preset(name)?;
        println!(
            "{:<12} {:>6} {:>9} {:>4} {:>10} {:>5} {:>9} {:>10} {:>8}",
            c.name,
            c.arrays,
            format!("{}×{}", c.rows, c.cols),
            format!("{:?}", c.dataflow).to_lowercase(),
            format!("{:?}", c.timing).to_lowercase(),
            format!("{:?}", c.psum).to_lowercase(),
            c.clock_mhz,
            c.dram_bytes_per_cycle,
            c.sram_kib_per_array
        );
    }
    Ok(EXIT_PASS)
}

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                EXIT_ERROR
            } else {
                EXIT_PASS
            };
            let _ = e.print();
            return code;
        }
    };
    let result = match cli.command {
        Command::Run(a) => run::run(a),
        Command::Conformance(a) => conformance::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Simulate(a) => simulate::run(a),
        Command::Sweep(a) => sweep::run(a),
        Command::Merge(a) => merge::run(a),
        Command::Tournament(a) => tournament::run(a),
        Command::Presets => presets(),
        Command::Zoo(a) => zoo::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_ERROR
        }
    }
}
