//! `cdmsa simulate`: a multi-tenant workload under one scheduler or all of them.

use super::{EXIT_MISMATCH, EXIT_PASS, JsonArg};
use crate::error::{Error, Result, write_file};
use crate::eval::policies;
use crate::report::simulation::{
    SchedulerReport, TraceRun, chrome_trace, comparison_table, requests_csv, scheduler_text,
    traffic_csv,
};
use crate::report::write_json;
use crate::sched::CdMsaOptions;
use crate::sim::{Mode, SimOptions, requests, simulate_with, tenants_within};
use crate::workload::Workload;
use serde_json::json;
use std::path::PathBuf;

/// Arguments of `cdmsa simulate`.
#[derive(clap::Args)]
pub struct SimulateArgs {
    /// The workload TOML; none runs the embedded default.
    workload: Option<PathBuf>,
    /// A scheduler name (`NAME+batch` batches decoder tenants' decode steps), a
    /// comma-separated list, `all`, `ablation` (CD-MSA with each mechanism switched off in
    /// turn) or `batching` (every scheduler with batched decode).
    #[arg(long, default_value = "all")]
    scheduler: String,
    /// CD-MSA without dynamic task fusion.
    #[arg(long)]
    no_fusion: bool,
    /// CD-MSA without the admission (demand) test.
    #[arg(long)]
    no_admission: bool,
    /// CD-MSA without cooperative multi-array allocation.
    #[arg(long)]
    no_cooperation: bool,
    /// `timing` (job costs only) or `functional` (values computed and checked).
    #[arg(long, default_value = "timing")]
    mode: String,
    /// Overrides the workload's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Overrides the workload's accelerator (preset name or TOML file).
    #[arg(long)]
    accel: Option<String>,
    /// Per-request CSV output.
    #[arg(long)]
    csv: Option<PathBuf>,
    /// DRAM traffic and scratchpad hits as CSV: a row per tenant, per array and per layer.
    #[arg(long)]
    traffic_csv: Option<PathBuf>,
    /// Chrome trace output (one track per array; open in Perfetto).
    #[arg(long)]
    trace: Option<PathBuf>,
    #[command(flatten)]
    json: JsonArg,
    #[command(flatten)]
    limits: super::LimitArgs,
}

/// Runs the command; returns the exit code.
pub fn run(args: SimulateArgs) -> Result<i32> {
    let mut w = match &args.workload {
        Some(p) => Workload::load(p)?,
        None => Workload::default_embedded(),
    };
    if let Some(seed) = args.seed {
        w.seed = seed;
    }
    if let Some(a) = &args.accel {
        w.accel = Some(a.clone());
    }
    let cfg = w.accelerator()?;
    let mode = match args.mode.as_str() {
        "timing" => Mode::Timing,
        "functional" => Mode::Functional { fault: None },
        m => {
            return Err(Error::Config {
                field: "mode".into(),
                msg: format!("'{m}' is not timing or functional"),
            });
        }
    };
    let functional = mode != Mode::Timing;
    let options = CdMsaOptions {
        fusion: !args.no_fusion,
        admission: !args.no_admission,
        cooperation: !args.no_cooperation,
    };
    let mut policies = policies(&args.scheduler, options)?;
    let models = tenants_within(&w, &cfg, functional, &args.limits.limits())?;
    let reqs = requests(&w, &models, &cfg).map_err(|e| match &args.workload {
        Some(p) => e.in_file(p),
        None => e,
    })?;
    let source = args.workload.as_ref().map_or(
        "embedded default (workloads/default.toml)".to_string(),
        |p| p.display().to_string(),
    );
    println!(
        "workload: {source}  accelerator: {} ({} × {}×{})  requests: {}  mode: {}",
        cfg.name,
        cfg.arrays,
        cfg.rows,
        cfg.cols,
        reqs.len(),
        args.mode
    );
    for t in &models {
        println!(
            "  tenant {:<16} priority {} weight {} isolated {} cycles ({:.4} ms)",
            t.name,
            t.priority,
            t.weight,
            t.isolated,
            t.isolated.to_ms(cfg.clock_mhz)
        );
    }
    let mut reports = Vec::new();
    let mut traces = Vec::new();
    for p in policies.iter_mut() {
        let options = SimOptions {
            trace: args.trace.is_some(),
        };
        let mut out = simulate_with(&cfg, &models, &reqs, p.as_mut(), mode, options)?;
        traces.push((
            p.name(),
            std::mem::take(&mut out.slices),
            std::mem::take(&mut out.bandwidth),
        ));
        let r = SchedulerReport::new(p.name(), out, &models, cfg.clock_mhz, w.warmup);
        print!("\n{}", scheduler_text(&r, functional));
        reports.push(r);
    }
    if reports.len() > 1 {
        print!("\n{}", comparison_table(&reports));
    }
    if let Some(path) = &args.json.json {
        write_json(
            path,
            &json!({"workload": source, "accelerator": cfg.name, "mode": args.mode, "requests": reqs.len(), "results": reports}),
        )?;
    }
    if let Some(path) = &args.csv {
        write_file(path, requests_csv(&reports).as_bytes())?;
    }
    if let Some(path) = &args.traffic_csv {
        write_file(path, traffic_csv(&reports).as_bytes())?;
    }
    if let Some(path) = &args.trace {
        let runs: Vec<TraceRun> = traces
            .iter()
            .map(|(scheduler, slices, bandwidth)| TraceRun {
                scheduler,
                slices,
                bandwidth,
            })
            .collect();
        write_json(
            path,
            &chrome_trace(&runs, cfg.arrays, &models, cfg.clock_mhz),
        )?;
    }
    let mismatched = reports.iter().any(|r| !r.mismatches.is_empty());
    Ok(if mismatched { EXIT_MISMATCH } else { EXIT_PASS })
}
