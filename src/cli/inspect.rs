//! `cdmsa inspect`: the lowered kernels of a model and their isolated cost.

use super::inputs::read_tensor;
use super::{AccelArg, EXIT_PASS, JsonArg};
use crate::error::Result;
use crate::exec::{LayerCost, layer_costs};
use crate::ir::InputBinding;
use crate::kernel::Precision;
use crate::pipeline::Model;
use crate::report::{layer_table, write_json};
use crate::units::Cycles;
use serde::Serialize;
use std::path::PathBuf;

/// Arguments of `cdmsa inspect`.
#[derive(clap::Args)]
pub struct InspectArgs {
    /// The model file.
    model: PathBuf,
    /// Batch size bound to symbolic dims.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Input tensors whose shapes to use instead of the declared ones.
    #[arg(long = "input")]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    accel: AccelArg,
    #[command(flatten)]
    json: JsonArg,
    #[command(flatten)]
    limits: super::LimitArgs,
}

#[derive(Serialize)]
struct InspectReport {
    model: String,
    accelerator: String,
    macs: u64,
    cycles: Cycles,
    latency_ms: f64,
    utilization: f64,
    tiles: usize,
    layers: Vec<LayerCost>,
}

/// Runs the command; returns the exit code.
pub fn run(args: InspectArgs) -> Result<i32> {
    let cfg = args.accel.load()?;
    let limits = args.limits.limits();
    let model = Model::load(&args.model, &limits)?;
    let bindings = if args.inputs.is_empty() {
        model.declared_inputs(args.batch)?
    } else {
        args.inputs
            .iter()
            .map(|p| read_tensor(p, &limits).map(|t| InputBinding::of(&t)))
            .collect::<Result<_>>()?
    };
    let program = model.lower(&bindings, &cfg, Precision::Native)?;
    let layers = layer_costs(&program, &cfg);
    let cycles: Cycles = layers.iter().map(|l| l.cycles).sum();
    let macs: u64 = layers.iter().map(|l| l.macs).sum();
    let peak = (cfg.arrays * cfg.rows * cfg.cols) as f64;
    let report = InspectReport {
        model: args.model.display().to_string(),
        accelerator: cfg.name.clone(),
        macs,
        cycles,
        latency_ms: cycles.to_ms(cfg.clock_mhz),
        utilization: if cycles.0 == 0 {
            0.0
        } else {
            macs as f64 / (cycles.0 as f64 * peak)
        },
        tiles: layers.iter().map(|l| l.tiles).sum(),
        layers,
    };
    println!(
        "model: {}  accelerator: {}  inputs: {:?}",
        report.model,
        report.accelerator,
        bindings
            .iter()
            .map(|b| format!("{}{:?}", b.dtype, b.shape))
            .collect::<Vec<_>>()
    );
    print!("{}", layer_table(&report.layers, peak));
    println!(
        "total: {} layers, {} tiles, {} MACs ({:.3} GMAC), {} cycles ({:.4} ms), utilization {:.2} %",
        report.layers.len(),
        report.tiles,
        report.macs,
        report.macs as f64 / 1e9,
        report.cycles,
        report.latency_ms,
        100.0 * report.utilization
    );
    if let Some(p) = &args.json.json {
        write_json(p, &report)?;
    }
    Ok(EXIT_PASS)
}
