//! The specialised graph, with one kernel per node, as a plain-data `kernel::Program`.

use crate::ir::{Facts, Graph, ValueId};
use crate::kernel::{Kernel, Program, ProgramNode, ProgramValue};

/// `g`'s values and nodes (typed by `facts`) with `kernels[i]` running node `i`.
pub fn assemble(g: Graph, facts: &Facts, kernels: Vec<Kernel>) -> Program {
    let values = (g.values.into_iter().enumerate())
        .map(|(i, v)| ProgramValue {
            name: v.name,
            typed: facts.typed(ValueId(i)).cloned(),
            constant: v.constant,
        })
        .collect();
    let nodes = (g.nodes.into_iter())
        .map(|n| ProgramNode {
            op: n.op.name(),
            name: n.name,
            inputs: n.inputs.iter().map(|i| i.map(|v| v.0)).collect(),
            outputs: n.outputs.iter().map(|o| o.0).collect(),
        })
        .collect();
    let ids = |v: Vec<ValueId>| v.into_iter().map(|v| v.0).collect();
    Program {
        values,
        inputs: ids(g.inputs),
        outputs: ids(g.outputs),
        nodes,
        kernels,
    }
}
