//! Runs a lowered `Program` alone on one accelerator: values through the array datapath and
//! vector unit, cycles from the timing model.

mod cost;
mod gemm;
mod operands;

pub use cost::{LayerCost, layer_costs};

use crate::array::{ArraySpec, vector};
use crate::config::AcceleratorConfig;
use crate::error::{Error, Result};
use crate::kernel::{Kernel, Program};
use crate::tensor::Tensor;

/// What one run produced.
#[derive(Debug, Clone)]
pub struct Execution {
    /// The graph outputs, in order.
    pub outputs: Vec<Tensor>,
    /// Nodes whose i32 accumulators overflowed (wrapped).
    pub overflowed: Vec<String>,
}

/// Runs `program` on `inputs` (one tensor per graph input, in order).
pub fn execute(program: &Program, inputs: &[Tensor], cfg: &AcceleratorConfig) -> Result<Execution> {
    let g = &program.graph;
    if inputs.len() != g.inputs.len() {
        return Err(Error::Shape(format!(
            "the model has {} inputs, {} given",
            g.inputs.len(),
            inputs.len()
        )));
    }
    let spec = ArraySpec::from_config(cfg);
    let mut values: Vec<Option<Tensor>> = vec![None; g.values.len()];
    for (&id, t) in g.inputs.iter().zip(inputs) {
        if t.shape() != program.facts.shape(id) || t.dtype() != program.facts.dtype(id) {
            return Err(Error::Shape(format!(
                "input '{}' was lowered for {} {:?}, got {} {:?}",
                g.value(id).name,
                program.facts.dtype(id),
                program.facts.shape(id),
                t.dtype(),
                t.shape()
            )));
        }
        if g.constant(id).is_some_and(|bound| bound != t) {
            return Err(Error::Shape(format!(
                "input '{}' differs from the value the program was specialised to",
                g.value(id).name
            )));
        }
        values[id.0] = Some(t.clone());
    }
    let mut overflowed = Vec::new();
    for (node, kernel) in g.nodes.iter().zip(&program.kernels) {
        let ins: Vec<Option<&Tensor>> = node
            .inputs
            .iter()
            .map(|i| i.and_then(|v| values[v.0].as_ref().or(g.constant(v))))
            .collect();
        let fail = |e: Error| match e {
            e @ (Error::Node { .. } | Error::Unsupported { .. }) => e,
            e => Error::node(&node.name, node.op.name(), e.to_string()),
        };
        let out = node.outputs[0];
        let result = match kernel {
            Kernel::Gemm(k) => {
                let (t, overflow) = gemm::run(
                    node,
                    k,
                    &ins,
                    program.facts.dtype(out),
                    program.facts.shape(out),
                    &spec,
                )
                .map_err(fail)?;
                if overflow {
                    overflowed.push(node.name.clone());
                }
                t
            }
            Kernel::Vector(_) => vector::eval(&node.op, &ins).map_err(fail)?,
        };
        values[out.0] = Some(result);
    }
    let outputs = g
        .outputs
        .iter()
        .map(|&o| {
            values[o.0]
                .clone()
                .or_else(|| g.constant(o).cloned())
                .ok_or_else(|| {
                    Error::Shape(format!("output '{}' was not computed", g.value(o).name))
                })
        })
        .collect::<Result<_>>()?;
    Ok(Execution {
        outputs,
        overflowed,
    })
}
