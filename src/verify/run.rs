//! One verified run: lower, execute, compare every output with its reference, cost the layers.

use super::{Comparison, Tolerance, argmax_rows, compare};
use crate::config::AcceleratorConfig;
use crate::error::{Error, Result};
use crate::exec::{LayerCost, execute, layer_costs};
use crate::ir::{Graph, InputBinding};
use crate::kernel::Precision;
use crate::kernel::{Datapath, Kernel};
use crate::lower::lower_at;
use crate::tensor::{DType, Tensor};
use crate::units::Cycles;
use serde::Serialize;

/// Everything a verified run reports (DESIGN section 7: `run`).
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The model, as the user named it.
    pub model: String,
    /// Accelerator preset or file name.
    pub accelerator: String,
    /// Per output: the comparison with its reference (empty when there is none).
    pub outputs: Vec<Comparison>,
    /// Names and shapes of the outputs computed.
    pub output_shapes: Vec<(String, Vec<usize>)>,
    /// Every comparison passed (true when there was nothing to compare).
    pub pass: bool,
    /// Whether references were given.
    pub verified: bool,
    /// Isolated latency on the whole accelerator.
    pub cycles: Cycles,
    /// Milliseconds at the accelerator's clock.
    pub latency_ms: f64,
    /// Multiply-accumulates on the arrays.
    pub macs: u64,
    /// MACs / (cycles × arrays × rows × cols).
    pub utilization: f64,
    /// Nodes whose int32 accumulators wrapped.
    pub accumulator_overflows: Vec<String>,
    /// Top-1 accuracy when labels were given: (correct, total).
    pub accuracy: Option<(usize, usize)>,
    /// Per-layer costs.
    pub layers: Vec<LayerCost>,
}

/// The one default tolerance, used by `run` and `conformance` alike, for an output of `dtype`
/// computed at `precision`: int8-datapath models and integer outputs must be bit-exact; fp32
/// within numpy's `allclose(rtol=1e-3, atol=1e-7)`, the tolerance of the ONNX backend tests;
/// fp16 within 1 % and bf16 within 4 % of the output's largest magnitude (normwise: a
/// reduced-precision model's error accumulates over layers, so elementwise bounds fail on
/// outputs near zero). Under every tolerance an infinite or NaN element must match in class
/// (see [`compare`]).
pub fn default_tolerance(dtype: DType, integer_model: bool, precision: Precision) -> Tolerance {
    let dtype = match precision {
        Precision::Fp16 => DType::F16,
        Precision::Bf16 => DType::BF16,
        _ => dtype,
    };
    match dtype {
        _ if integer_model => Tolerance::Exact,
        DType::F32 => Tolerance::Close {
            rtol: 1e-3,
            atol: 1e-7,
        },
        DType::F16 => Tolerance::Norm { rel: 1e-2 },
        DType::BF16 => Tolerance::Norm { rel: 4e-2 },
        _ => Tolerance::Exact,
    }
}

/// What to run and check.
pub struct RunRequest<'a> {
    /// The model's display name.
    pub model: String,
    /// The decoded model.
    pub graph: &'a Graph,
    /// One tensor per graph input.
    pub inputs: &'a [Tensor],
    /// One reference per graph output, or none.
    pub references: &'a [Tensor],
    /// Overrides the default tolerance.
    pub tolerance: Option<Tolerance>,
    /// Labels for top-1 accuracy on the first output.
    pub labels: Option<&'a Tensor>,
    /// The datapath of the float GEMMs.
    pub precision: Precision,
}

/// Runs `req` on `cfg` and checks it.
pub fn verified_run(req: &RunRequest, cfg: &AcceleratorConfig) -> Result<(RunReport, Vec<Tensor>)> {
    let bindings: Vec<InputBinding> = req.inputs.iter().map(InputBinding::of).collect();
    let program = lower_at(req.graph, &bindings, cfg, req.precision)?;
    let exec = execute(&program, req.inputs, cfg)?;
    let integer_model = program
        .kernels
        .iter()
        .any(|k| matches!(k, Kernel::Gemm(g) if g.datapath == Datapath::Int8));
    let names: Vec<String> = program
        .outputs
        .iter()
        .map(|&o| program.values[o].name.clone())
        .collect();
    if !req.references.is_empty() && req.references.len() != exec.outputs.len() {
        return Err(Error::Shape(format!(
            "{} references for {} outputs",
            req.references.len(),
            exec.outputs.len()
        )));
    }
    let outputs = req
        .references
        .iter()
        .zip(&exec.outputs)
        .zip(&names)
        .map(|((want, got), name)| {
            compare(
                name,
                got,
                want,
                req.tolerance.unwrap_or_else(|| {
                    default_tolerance(got.dtype(), integer_model, req.precision)
                }),
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let accuracy = match (req.labels, exec.outputs.first()) {
        (Some(labels), Some(out)) => {
            let pred = argmax_rows(out)?;
            let truth = labels.to_i64_vec()?;
            if truth.len() != pred.len() {
                return Err(Error::Shape(format!(
                    "{} labels for {} predictions",
                    truth.len(),
                    pred.len()
                )));
            }
            Some((
                pred.iter()
                    .zip(&truth)
                    .filter(|(p, t)| **p as i64 == **t)
                    .count(),
                truth.len(),
            ))
        }
        _ => None,
    };
    let layers = layer_costs(&program, cfg);
    let cycles: Cycles = layers.iter().map(|l| l.cycles).sum();
    let macs: u64 = layers.iter().map(|l| l.macs).sum();
    let peak = (cfg.arrays * cfg.rows * cfg.cols) as f64;
    let report = RunReport {
        model: req.model.clone(),
        accelerator: cfg.name.clone(),
        pass: outputs.iter().all(|c| c.pass),
        verified: !outputs.is_empty(),
        outputs,
        output_shapes: names
            .into_iter()
            .zip(exec.outputs.iter().map(|t| t.shape().to_vec()))
            .collect(),
        cycles,
        latency_ms: cycles.to_ms(cfg.clock_mhz),
        macs,
        utilization: if cycles.0 == 0 {
            0.0
        } else {
            macs as f64 / (cycles.0 as f64 * peak)
        },
        accumulator_overflows: exec.overflowed,
        accuracy,
        layers,
    };
    Ok((report, exec.outputs))
}
