//! `Program`: a lowered model as plain data: its values, and per node the values it reads and
//! writes and the kernel it runs as.

use super::Kernel;
use crate::tensor::{Constant, DType, Tensor};

/// One value of a program.
#[derive(Debug, Clone)]
pub struct ProgramValue {
    /// Its name, for reports and errors.
    pub name: String,
    /// Its element type and shape (`None` for a value no node reads or writes).
    pub typed: Option<(DType, Vec<usize>)>,
    /// Its value, when it is a constant (its prepared forms are kept with it).
    pub constant: Option<Constant>,
}

/// One node of a program.
#[derive(Debug, Clone)]
pub struct ProgramNode {
    /// Its name, for reports and errors.
    pub name: String,
    /// Its ONNX op type, for reports and errors.
    pub op: &'static str,
    /// The values it reads (positional, `None` for an omitted optional input).
    pub inputs: Vec<Option<usize>>,
    /// The values it writes.
    pub outputs: Vec<usize>,
}

/// A lowered model: its values, its nodes in order, and one kernel per node.
#[derive(Debug, Clone)]
pub struct Program {
    /// Every value, by id.
    pub values: Vec<ProgramValue>,
    /// The model's inputs.
    pub inputs: Vec<usize>,
    /// The model's outputs.
    pub outputs: Vec<usize>,
    /// The nodes, in an order that computes every input before it is read.
    pub nodes: Vec<ProgramNode>,
    /// `kernels[i]` runs `nodes[i]`.
    pub kernels: Vec<Kernel>,
}

impl Program {
    /// The element type of value `v`.
    pub fn dtype(&self, v: usize) -> DType {
        self.typed(v).0
    }

    /// The shape of value `v`.
    pub fn shape(&self, v: usize) -> &[usize] {
        &self.typed(v).1
    }

    /// The constant value `v` holds, if any.
    pub fn constant(&self, v: usize) -> Option<&Tensor> {
        self.values[v].constant.as_ref().map(Constant::tensor)
    }

    fn typed(&self, v: usize) -> &(DType, Vec<usize>) {
        self.values[v]
            .typed
            .as_ref()
            .expect("lowering types every value a node reads or writes")
    }
}
