//! `cdmsa inspect`: the lowered kernels of a model and their isolated cost.

use super::inputs::read_tensor;
use super::{AccelArg, EXIT_PASS, JsonArg};
use crate::error::Result;
use crate::exec::layer_costs;
use crate::ir::InputBinding;
use crate::kernel::Precision;
use crate::pipeline::Model;
use crate::report::inspect::InspectReport;
use crate::report::write_json;
use std::path::PathBuf;

/// Arguments of `cdmsa inspect`.
#[derive(clap::Args)]
pub struct InspectArgs {
    /// The model file.
    model: PathBuf,
    /// Batch size bound to symbolic dims.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    #[command(flatten)]
    dims: super::DimArgs,
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

/// Runs the command; returns the exit code.
pub fn run(args: InspectArgs) -> Result<i32> {
    let cfg = args.accel.load()?;
    let limits = args.limits.limits();
    let model = Model::load(&args.model, &limits)?;
    let bindings = if args.inputs.is_empty() {
        model.declared_inputs_with(args.batch, &args.dims.dims)?
    } else {
        args.inputs
            .iter()
            .map(|p| read_tensor(p, &limits).map(|t| InputBinding::of(&t)))
            .collect::<Result<_>>()?
    };
    let program = model.lower(&bindings, &cfg, Precision::Native)?;
    let report = InspectReport::new(
        args.model.display().to_string(),
        &cfg,
        layer_costs(&program, &cfg),
    );
    print!("{}", report.text(&bindings, &cfg));
    if let Some(p) = &args.json.json {
        write_json(p, &report)?;
    }
    Ok(EXIT_PASS)
}
