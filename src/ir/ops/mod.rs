//! One home per op family: each file holds its ops' attributes, shape and type inference and
//! which inputs must be known constants. [`super::infer`] dispatches to them.

pub mod conv;
pub mod elementwise;
pub mod gemm;
pub mod generate;
pub mod movement;
pub mod norm;
pub mod pad;
pub mod pool;
pub mod quant;
pub mod recurrent;
pub mod reduce;
pub mod resize;

pub use conv::{AutoPad, ConvAttrs, ConvTransposeAttrs};
pub use elementwise::{Comparison, Logic, Unary};
pub use gemm::{EpilogueAct, GemmAttrs, GemmInputs, matmul_shape, promote_matmul};
pub use pad::PadMode;
pub use pool::PoolAttrs;
pub use recurrent::{Activation, Cell, RecurrentAttrs, RecurrentDirection};
pub use reduce::{ReduceAttrs, Reduction};
pub use resize::{AspectPolicy, CoordinateTransform, NearestMode, ResizeAttrs, ResizeMode};

use super::{Facts, Graph, Node, ValueId};
use crate::error::{Error, Result};
use crate::tensor::DType;

/// The element type and shape of each output of a node.
pub type Typed = Vec<(DType, Vec<usize>)>;

/// A node under inference: the graph (for its constant inputs) and the facts known so far.
pub struct Infer<'a> {
    /// The graph, whose constants a node's shape may depend on.
    pub g: &'a Graph,
    /// Types and shapes of the values inferred so far.
    pub f: &'a Facts,
    /// The node.
    pub node: &'a Node,
}

impl Infer<'_> {
    /// Input `i`, or an error naming it when it is omitted.
    pub fn input(&self, i: usize) -> Result<ValueId> {
        self.node.input(i)
    }

    /// Input `i` when it is given.
    pub fn optional(&self, i: usize) -> Option<ValueId> {
        self.node.inputs.get(i).copied().flatten()
    }

    /// Shape of input `i`.
    pub fn shape(&self, i: usize) -> Result<&[usize]> {
        Ok(self.f.shape(self.input(i)?))
    }

    /// Element type of input `i`.
    pub fn dtype(&self, i: usize) -> Result<DType> {
        Ok(self.f.dtype(self.input(i)?))
    }

    /// One output of input 0's type and the given shape.
    pub fn same(&self, shape: Vec<usize>) -> Result<Typed> {
        Ok(vec![(self.dtype(0)?, shape)])
    }

    /// One output of input 0's type and shape.
    pub fn unchanged(&self) -> Result<Typed> {
        self.same(self.shape(0)?.to_vec())
    }

    /// The integers of constant input `i` (`None` when it is omitted); a computed input is an
    /// error naming `what`.
    pub fn const_ints(&self, i: usize, what: &str) -> Result<Option<Vec<i64>>> {
        self.constant(i, what)?.map(|t| t.to_i64_vec()).transpose()
    }

    /// The values of constant input `i` as f64 (`None` when it is omitted).
    pub fn const_floats(&self, i: usize, what: &str) -> Result<Option<Vec<f64>>> {
        Ok(self
            .constant(i, what)?
            .map(|t| t.to_f64().iter().copied().collect()))
    }

    fn constant(&self, i: usize, what: &str) -> Result<Option<&crate::tensor::Tensor>> {
        match self.optional(i) {
            None => Ok(None),
            Some(v) => self.g.constant(v).map(Some).ok_or_else(|| {
                Error::Shape(format!(
                    "{what} must be a constant (dynamic shapes are not supported)"
                ))
            }),
        }
    }
}
