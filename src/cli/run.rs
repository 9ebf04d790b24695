//! `cdmsa run`: a model (or the embedded default, or a backend-test directory) on the arrays.

use super::inputs::{self, DataSet, data_sets, embedded, read_tensor};
use super::{AccelArg, EXIT_MISMATCH, EXIT_PASS, JsonArg};
use crate::error::{Error, Result};
use crate::kernel::Precision;
use crate::pipeline::Model;
use crate::report::{run_text, write_json};
use crate::tensor::Tensor;
use crate::tensor::npy::write_npy;
use crate::verify::{RunReport, RunRequest, Tolerance, verified_run};
use std::path::{Path, PathBuf};

/// Arguments of `cdmsa run`.
#[derive(clap::Args)]
pub struct RunArgs {
    /// A model file or an onnx backend-test directory; none runs the embedded default.
    model: Option<PathBuf>,
    /// Input tensors (.pb or .npy), one per graph input, in order.
    #[arg(long = "input")]
    inputs: Vec<PathBuf>,
    /// Reference outputs (.pb or .npy), one per graph output, in order.
    #[arg(long = "reference")]
    references: Vec<PathBuf>,
    /// Labels (.pb or .npy, int64) to report top-1 accuracy of the first output.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Tolerance: exact, ulp:N, close:RTOL,ATOL or norm:REL (default by output type and
    /// datapath, the same as `conformance`; see docs/reliability.md).
    #[arg(long)]
    tolerance: Option<String>,
    /// Batch size bound to symbolic dims when no input is given.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    #[command(flatten)]
    dims: super::DimArgs,
    /// Seed of the synthetic input used when no input is given.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Datapath of the float GEMMs: native (the model's own types), fp32, fp16, bf16, or
    /// int8 (timing only for float models).
    #[arg(long, value_enum, default_value = "native")]
    precision: Precision,
    /// Print the per-layer table.
    #[arg(long)]
    layers: bool,
    /// Write every graph output as .npy into this directory.
    #[arg(long)]
    output_dir: Option<PathBuf>,
    #[command(flatten)]
    accel: AccelArg,
    #[command(flatten)]
    json: JsonArg,
    #[command(flatten)]
    limits: super::LimitArgs,
}

fn write_outputs(dir: &Path, report: &RunReport, outputs: &[Tensor]) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for ((name, _), t) in report.output_shapes.iter().zip(outputs) {
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        write_npy(&dir.join(format!("{safe}.npy")), t)?;
    }
    Ok(())
}

/// Runs the command; returns the exit code.
pub fn run(args: RunArgs) -> Result<i32> {
    let cfg = args.accel.load()?;
    let limits = args.limits.limits();
    let tolerance = args
        .tolerance
        .as_deref()
        .map(Tolerance::parse)
        .transpose()?;
    let labels = args
        .labels
        .as_deref()
        .map(|p| read_tensor(p, &limits))
        .transpose()?;
    let mut references = args
        .references
        .iter()
        .map(|p| read_tensor(p, &limits))
        .collect::<Result<Vec<_>>>()?;
    let (model, name, mut sets, labels) = match &args.model {
        None => {
            let (g, input, output, labels) = inputs::embedded_default(&limits)?;
            (
                g,
                embedded::NAME.to_string(),
                vec![DataSet {
                    dir: PathBuf::from("<embedded>"),
                    inputs: vec![input],
                    outputs: vec![output],
                }],
                Some(labels),
            )
        }
        Some(p) if p.is_dir() => {
            let g = Model::load(&p.join("model.onnx"), &limits)?;
            let sets = if args.inputs.is_empty() {
                data_sets(p, &limits)?
            } else {
                Vec::new()
            };
            (g, p.display().to_string(), sets, labels)
        }
        Some(p) => (
            Model::load(p, &limits)?,
            p.display().to_string(),
            Vec::new(),
            labels,
        ),
    };
    // References given with a model's own data set (a directory's, the embedded default's)
    // replace its outputs: they are never ignored in favour of the set's own.
    if !references.is_empty() && !sets.is_empty() {
        if sets.len() > 1 {
            return Err(Error::Invalid(format!(
                "{name}: --reference gives one data set's outputs, but the directory holds {} \
                 test_data_set_*; pass --input as well",
                sets.len()
            )));
        }
        sets[0].outputs = std::mem::take(&mut references);
    }
    let sets = if sets.is_empty() {
        let inputs = if args.inputs.is_empty() {
            model
                .graph
                .declared_inputs_with(args.batch, &args.dims.dims)
                .map_err(|e| e.in_file(args.model.as_deref().unwrap_or(Path::new("<embedded>"))))?
                .iter()
                .map(|b| Tensor::seeded(b.dtype, &b.shape, args.seed))
                .collect()
        } else {
            args.inputs
                .iter()
                .map(|p| read_tensor(p, &limits))
                .collect::<Result<Vec<_>>>()?
        };
        vec![DataSet {
            dir: PathBuf::from("."),
            inputs,
            outputs: references,
        }]
    } else {
        sets
    };
    let mut all_pass = true;
    let mut reports = Vec::new();
    for set in &sets {
        let req = RunRequest {
            model: if sets.len() > 1 {
                format!("{name} [{}]", set.dir.display())
            } else {
                name.clone()
            },
            graph: &model.graph,
            inputs: &set.inputs,
            references: &set.outputs,
            tolerance,
            labels: labels.as_ref(),
            precision: args.precision,
        };
        let (report, outputs) = verified_run(&req, &cfg).map_err(|e| match &args.model {
            Some(p) => e.in_file(p),
            None => e,
        })?;
        print!("{}", run_text(&report, &cfg, args.layers));
        if let Some(dir) = &args.output_dir {
            write_outputs(dir, &report, &outputs)?;
        }
        all_pass &= report.pass;
        reports.push(report);
    }
    if let Some(path) = &args.json.json {
        if reports.len() == 1 {
            write_json(path, &reports[0])?;
        } else {
            write_json(path, &reports)?;
        }
    }
    Ok(if all_pass { EXIT_PASS } else { EXIT_MISMATCH })
}
