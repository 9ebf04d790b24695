//! The intermediate representation: a graph of typed ops over named values, independent of ONNX.

mod kind;
mod op;
pub mod ops;

pub use kind::{CONTRIB_DOMAIN, OpKind};
pub use op::Op;
pub use ops::{
    Activation, AspectPolicy, AutoPad, Cell, Comparison, ConvAttrs, ConvTransposeAttrs,
    CoordinateTransform, EpilogueAct, GemmAttrs, Logic, NearestMode, PadMode, PoolAttrs,
    RecurrentAttrs, RecurrentDirection, ReduceAttrs, Reduction, ResizeAttrs, ResizeMode, Unary,
    matmul_shape, promote_matmul,
};

use crate::tensor::{Constant, DType, Tensor};

/// Index of a value in [`Graph::values`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub usize);

/// A dimension as declared by the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dim {
    /// A fixed size.
    Fixed(usize),
    /// A named or unknown size, bound when an input is given.
    Symbolic(String),
}

/// A value (edge) of the graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// The ONNX name.
    pub name: String,
    /// Element type, when known.
    pub dtype: Option<DType>,
    /// Declared shape, when known.
    pub shape: Option<Vec<Dim>>,
    /// The constant it holds (initializer, Constant node or folded), if any; its values are
    /// decoded when first read.
    pub constant: Option<Constant>,
}

/// One operator application.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The node's name (ONNX name, or `<op>_<index>` when the model gives none).
    pub name: String,
    /// The operator and its attributes.
    pub op: Op,
    /// Positional inputs; `None` for an omitted optional input.
    pub inputs: Vec<Option<ValueId>>,
    /// Outputs.
    pub outputs: Vec<ValueId>,
}

impl Node {
    /// This node with another op (same name, inputs and outputs).
    pub fn with_op(&self, op: Op) -> Node {
        Node {
            name: self.name.clone(),
            op,
            inputs: self.inputs.clone(),
            outputs: self.outputs.clone(),
        }
    }

    /// Input `i`, or an error naming it when it is omitted.
    pub fn input(&self, i: usize) -> crate::error::Result<ValueId> {
        self.inputs
            .get(i)
            .copied()
            .flatten()
            .ok_or_else(|| crate::error::Error::Shape(format!("required input {i} is missing")))
    }
}

/// A model: nodes in topological order over values.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Graph {
    /// Every value; initializers carry their constant.
    pub values: Vec<Value>,
    /// Nodes, topologically sorted.
    pub nodes: Vec<Node>,
    /// Runtime inputs (graph inputs that are not initializers).
    pub inputs: Vec<ValueId>,
    /// Graph outputs.
    pub outputs: Vec<ValueId>,
    /// The default-domain opset the model was exported with.
    pub opset: i64,
    /// The resource bounds the model was loaded with; specialisation checks every inferred
    /// shape against them.
    pub limits: crate::limits::Limits,
}

impl Graph {
    /// The value with this id.
    pub fn value(&self, id: ValueId) -> &Value {
        &self.values[id.0]
    }

    /// The values of the constant held by a value, if it is one (decoded on first read).
    pub fn constant(&self, id: ValueId) -> Option<&Tensor> {
        self.values[id.0].constant.as_ref().map(Constant::tensor)
    }

    /// Whether a value is a constant (its values are not read).
    pub fn is_constant(&self, id: ValueId) -> bool {
        self.values[id.0].constant.is_some()
    }

    /// The value with this name.
    pub fn find(&self, name: &str) -> Option<ValueId> {
        self.values.iter().position(|v| v.name == name).map(ValueId)
    }

    /// Adds a value and returns its id.
    pub fn add_value(&mut self, value: Value) -> ValueId {
        self.values.push(value);
        ValueId(self.values.len() - 1)
    }
}

mod fold;
pub mod geometry;
mod infer;
pub mod recurrent;
pub mod rewrite;
mod rules;

pub use fold::Evaluator;
pub use infer::{Facts, InputBinding, specialize};

impl Graph {
    /// The runtime inputs as declared, symbolic dims bound to `batch`; an input larger than
    /// the graph's [`limits`](Graph::limits) is an error.
    pub fn declared_inputs(&self, batch: usize) -> crate::error::Result<Vec<InputBinding>> {
        self.declared_inputs_with(batch, &[])
    }

    /// [`Graph::declared_inputs`] with the symbolic dims `named` (name, size) bound to their
    /// sizes and the others to `batch`, e.g. a decoder's `past` and `seq`. A name that no
    /// input's shape uses is an error, so a misspelt one is not silently ignored.
    pub fn declared_inputs_with(
        &self,
        batch: usize,
        named: &[(String, usize)],
    ) -> crate::error::Result<Vec<InputBinding>> {
        use crate::error::Error;
        let symbolic = |name: &str| {
            self.inputs.iter().any(|&i| {
                let shape = self.value(i).shape.as_deref().unwrap_or_default();
                shape
                    .iter()
                    .any(|d| matches!(d, Dim::Symbolic(s) if s == name))
            })
        };
        if let Some((name, _)) = named.iter().find(|(name, _)| !symbolic(name)) {
            return Err(Error::Shape(format!(
                "no input of the model has a dimension named '{name}'"
            )));
        }
        let size = |d: &Dim| match d {
            Dim::Fixed(n) => *n,
            Dim::Symbolic(s) => named
                .iter()
                .find(|(name, _)| name == s)
                .map_or(batch, |&(_, n)| n),
        };
        self.inputs
            .iter()
            .map(|&i| {
                let v = self.value(i);
                let dtype = v.dtype.ok_or_else(|| {
                    Error::Shape(format!("input '{}' has no declared type", v.name))
                })?;
                let shape = v.shape.as_ref().ok_or_else(|| {
                    Error::Shape(format!("input '{}' has no declared shape", v.name))
                })?;
                let dims: Vec<usize> = shape.iter().map(size).collect();
                self.limits
                    .elements(&dims, &format!("input '{}'", v.name))?;
                Ok(InputBinding::shape_only(dtype, dims))
            })
            .collect()
    }
}
